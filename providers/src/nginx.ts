// The instance VM's nginx site (deploy/nginx/openclaw-site.conf), rendered for one VM: where it
// listens, the gateway's port, and the only Referer origin it lets through (the control plane's).
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const NGINX_SITE_TEMPLATE = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "deploy", "nginx", "openclaw-site.conf");

export interface NginxSiteOptions {
  /** nginx `listen` value; the VM: "80" */
  listen?: string;
  /** the gateway's loopback port; the VM: 18789 */
  gatewayPort?: number;
  /** the control plane's public URL; only requests whose Referer is on its origin get through */
  refererUrl: string;
}

export function renderNginxSite(o: NginxSiteOptions): string {
  const origin = new URL(o.refererUrl).origin;
  const listen = o.listen ?? "80";
  const port = o.gatewayPort ?? 18789;
  if (!/^[\w.:[\]]+$/.test(listen)) throw new Error(`nginx listen value is invalid: ${listen}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`gateway port is invalid: ${port}`);
  // A regex literal inside a double-quoted nginx string: escape regex metacharacters, refuse quotes.
  const regex = origin.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  if (/["\s;]/.test(regex)) throw new Error(`referer origin is invalid: ${origin}`);
  return readFileSync(NGINX_SITE_TEMPLATE, "utf8")
    .replaceAll("{{LISTEN}}", listen)
    .replaceAll("{{GATEWAY_PORT}}", String(port))
    .replaceAll("{{REFERER_ORIGIN_REGEX}}", regex);
}
