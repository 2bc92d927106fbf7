// An icon of the marketplace (a template's or a skill's), as inline SVG: it renders in every browser
// with no font to install. The shapes are in icon-shapes.ts.
import { FALLBACK_ICON, ICON_SHAPES } from "./icon-shapes.ts";

export function Icon({ name, size = 24, className }: { name: string | undefined; size?: number; className?: string }) {
  const known = name !== undefined && Object.hasOwn(ICON_SHAPES, name);
  const paths = known ? ICON_SHAPES[name]! : FALLBACK_ICON;
  return (
    <svg
      className={className ? `icon-svg ${className}` : "icon-svg"}
      data-icon={known ? name : "fallback"}
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth={1.8}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      {paths.map((d) => (
        <path key={d} d={d} />
      ))}
    </svg>
  );
}
