// The posture score (issue 18) as a ring gauge, with its band in words (never colour alone): good at
// 90 and above, fair from 70, poor below. Used on each instance card and on its Security page.
import type { Instance } from "../api.ts";
import { Link } from "../router.tsx";
import { timeAgo } from "./ui.tsx";
import "./posture.css";

export type Band = "good" | "fair" | "poor";

export function postureBand(score: number): Band {
  return score >= 90 ? "good" : score >= 70 ? "fair" : "poor";
}

export const BAND_TEXT: Record<Band, string> = { good: "Good", fair: "Fair", poor: "Poor" };

/** A ring filled to `score` of 100; `null` draws an empty ring ("not audited yet"). */
export function PostureGauge({ score, size = 44 }: { score: number | null; size?: number }) {
  const stroke = Math.max(4, Math.round(size / 9));
  const r = (size - stroke) / 2;
  const c = 2 * Math.PI * r;
  const s = score === null ? 0 : Math.max(0, Math.min(100, score));
  const band = score === null ? "none" : postureBand(s);
  const label = score === null ? "Posture score: not audited yet" : `Posture score ${s} of 100`;
  return (
    <svg
      className={`posture-gauge band-${band}`}
      role="img"
      aria-label={label}
      width={size}
      height={size}
      viewBox={`0 0 ${size} ${size}`}
      data-testid="posture-gauge"
      data-score={score ?? ""}
    >
      <circle className="track" cx={size / 2} cy={size / 2} r={r} strokeWidth={stroke} fill="none" />
      {score !== null ? (
        <circle
          className="fill"
          cx={size / 2}
          cy={size / 2}
          r={r}
          strokeWidth={stroke}
          fill="none"
          strokeLinecap="round"
          strokeDasharray={`${(s / 100) * c} ${c}`}
          // (from twelve o'clock, clockwise)
          transform={`rotate(-90 ${size / 2} ${size / 2})`}
        />
      ) : null}
      <text x="50%" y="50%" textAnchor="middle" dominantBaseline="central" fontSize={size * (score === null ? 0.3 : 0.34)}>
        {score === null ? "–" : s}
      </text>
    </svg>
  );
}

/** The instance card's line: gauge, band and age of the last audit, open integrity alerts; it opens the Security page. */
export function CardPosture({ instance }: { instance: Instance }) {
  const p = instance.posture ?? null;
  const open = p?.openIncidents ?? 0;
  return (
    <Link to={`/instances/${instance.id}/security`} className="posture-link">
      <PostureGauge score={p ? p.score : null} size={40} />
      <span className="posture-words">
        <strong>Security</strong>
        {p ? `: ${BAND_TEXT[postureBand(p.score)]}` : null}
        <span className="muted">{p ? `audited ${timeAgo(p.at)} ago` : "not audited yet"}</span>
      </span>
      {open > 0 ? (
        <span className="incident-badge" data-testid="incident-badge">
          {open} integrity alert{open === 1 ? "" : "s"}
        </span>
      ) : null}
    </Link>
  );
}
