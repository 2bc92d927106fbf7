// A small History-API router: the dashboard has a handful of flat pages.
import { type MouseEvent, type ReactNode, useEffect, useState } from "react";

const listeners = new Set<() => void>();

export function navigate(to: string, replace = false) {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  for (const l of listeners) l();
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const on = () => setPath(location.pathname);
    listeners.add(on);
    window.addEventListener("popstate", on);
    return () => {
      listeners.delete(on);
      window.removeEventListener("popstate", on);
    };
  }, []);
  return path;
}

export function useQuery(): URLSearchParams {
  usePath();
  return new URLSearchParams(location.search);
}

export function Link(props: { to: string; children: ReactNode; className?: string; "aria-current"?: "page" | undefined }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.to);
  };
  return (
    <a href={props.to} className={props.className} aria-current={props["aria-current"]} onClick={onClick}>
      {props.children}
    </a>
  );
}

/**
 * `next` (where sign-in returns to) when it is a path on this server, else null: "/…", never
 * "//host" or "/\host" (another host to a browser), no backslash, whitespace or control character
 * (browsers drop tabs and newlines: "/\t/host" would become "//host"), and it must resolve to this
 * origin. Anything else (an absolute URL above all) would make sign-in an open redirect. The server
 * drops such a `next` too (server/src/routes/web.ts safeNextPath).
 */
export function safeNext(next: string | null | undefined): string | null {
  if (!next || next.length > 2048 || !next.startsWith("/") || next.startsWith("//")) return null;
  if (/[\s\\\u0000-\u001f\u007f]/.test(next)) return null;
  try {
    const u = new URL(next, location.origin);
    return u.origin === location.origin ? `${u.pathname}${u.search}${u.hash}` : null;
  } catch {
    return null;
  }
}

/** Pages the dashboard draws itself; any other path (the gateway proxy /i/…) is a full page load. */
export function isDashboardPath(path: string): boolean {
  return !path.startsWith("/i/") && !path.startsWith("/api/") && !path.startsWith("/auth/");
}
