// MOCK (tests only): a stand-in for OpenClaw's WhatsApp channel plugin (@openclaw/whatsapp). WhatsApp's
// servers cannot be reached from tests, so this channel, registered under the same id ("whatsapp"),
// implements the same gateway adapter the real plugin does: loginWithQrStart / loginWithQrWait (which
// OpenClaw's core web.login.start / web.login.wait dispatch to), logoutAccount, and a status summary
// with `linked` and `self.e164` as the real one reports them. A login shows a NEW QR (a PNG data URL)
// every WA_STANDIN_QR_MS (default 3 s) and "connects" once WA_STANDIN_QRS QRs (default 3) were shown.
// The linked state is kept in the instance's state directory, so it survives a gateway restart.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { qrPng } from "./qr-png.js";
import { createChannelPluginBase, createChatChannelPlugin, defineChannelPluginEntry } from "openclaw/plugin-sdk/channel-core";

const QR_MS = Number(process.env.WA_STANDIN_QR_MS) || 3000;
const QRS = Number(process.env.WA_STANDIN_QRS) || 3;
const NUMBER = process.env.WA_STANDIN_NUMBER || "+15550001234";
const LOGIN_TTL_MS = 3 * 60_000;

const stateFile = () => join(process.env.OPENCLAW_STATE_DIR || join(process.env.HOME || "/tmp", ".openclaw"), "credentials", "whatsapp-standin.json");
function readLinked() {
  try {
    return JSON.parse(readFileSync(stateFile(), "utf8"));
  } catch {
    return null;
  }
}
function writeLinked(v) {
  const f = stateFile();
  if (v === null) return rmSync(f, { force: true });
  mkdirSync(join(f, ".."), { recursive: true });
  writeFileSync(f, JSON.stringify(v));
}

/** the login in progress: its start and a seed so every login's QRs differ */
let login = null;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const qrIndex = (l) => Math.floor((Date.now() - l.startedAt) / QR_MS);
const currentQr = (l) => qrPng(l.seed * 1000 + qrIndex(l));

function summary() {
  const linked = readLinked();
  return {
    configured: true,
    linked: Boolean(linked),
    self: { e164: linked?.e164 ?? null, jid: linked ? `${linked.e164.slice(1)}@s.whatsapp.net` : null, lid: null },
    connected: Boolean(linked),
  };
}

const base = createChannelPluginBase({
  id: "whatsapp",
  meta: {
    id: "whatsapp",
    label: "WhatsApp",
    selectionLabel: "WhatsApp (QR link)",
    detailLabel: "WhatsApp Web",
    blurb: "MOCK stand-in",
    docsPath: "/channels/whatsapp",
  },
  capabilities: { chatTypes: ["direct"] },
  config: {
    listAccountIds: () => ["default"],
    defaultAccountId: () => "default",
    resolveAccount: (cfg, accountId) => {
      const s = cfg?.channels?.whatsapp ?? {};
      return {
        accountId: accountId ?? "default",
        enabled: s.enabled !== false,
        configured: true,
        dmPolicy: s.dmPolicy,
        allowFrom: s.allowFrom ?? [],
      };
    },
    inspectAccount: (cfg) => ({ enabled: cfg?.channels?.whatsapp?.enabled !== false, configured: true }),
    isConfigured: () => true,
  },
  setup: { applyAccountConfig: ({ cfg }) => cfg },
});

export const standinPlugin = createChatChannelPlugin({
  base: {
    ...base,
    status: {
      buildChannelSummary: async ({ snapshot }) => ({ ...summary(), running: snapshot?.running ?? false }),
      buildAccountSnapshot: ({ account, runtime }) => ({
        accountId: account.accountId,
        enabled: account.enabled,
        configured: true,
        ...summary(),
        running: runtime?.running ?? false,
        dmPolicy: account.dmPolicy,
        allowFrom: account.allowFrom,
      }),
    },
    gateway: {
      startAccount: async (ctx) => {
        ctx.setStatus?.({ accountId: ctx.accountId, running: true, connected: Boolean(readLinked()) });
        await new Promise((resolve) => ctx.abortSignal?.addEventListener("abort", resolve, { once: true }));
      },
      loginWithQrStart: async ({ force } = {}) => {
        const linked = readLinked();
        if (linked && !force) return { message: `WhatsApp is already linked (${linked.e164}).` };
        if (force) writeLinked(null);
        if (!force && login && Date.now() - login.startedAt < LOGIN_TTL_MS)
          return { qrDataUrl: currentQr(login), message: "QR already active. Scan it in WhatsApp → Linked Devices." };
        login = { startedAt: Date.now(), seed: Math.floor(Math.random() * 1e6) };
        return { qrDataUrl: currentQr(login), message: "Scan this QR in WhatsApp → Linked Devices." };
      },
      loginWithQrWait: async ({ timeoutMs, currentQrDataUrl } = {}) => {
        const until = Date.now() + Math.min(Number(timeoutMs) || 30_000, 30_000);
        for (;;) {
          if (!login) return { connected: false, message: "No active WhatsApp login in progress." };
          if (Date.now() - login.startedAt > LOGIN_TTL_MS) {
            login = null;
            return { connected: false, message: "The login QR expired. Ask me to generate a new one." };
          }
          if (qrIndex(login) >= QRS) {
            login = null;
            writeLinked({ e164: NUMBER, linkedAt: new Date().toISOString() });
            return { connected: true, message: "✅ Linked! WhatsApp is ready." };
          }
          const qr = currentQr(login);
          if (currentQrDataUrl && qr !== currentQrDataUrl)
            return { connected: false, message: "QR refreshed. Scan the latest code in WhatsApp → Linked Devices.", qrDataUrl: qr };
          if (Date.now() >= until) return { connected: false, message: "Still waiting for the QR scan." };
          await sleep(200);
        }
      },
      logoutAccount: async () => {
        const had = existsSync(stateFile());
        writeLinked(null);
        login = null;
        return { cleared: had, loggedOut: had };
      },
    },
  },
});

export default defineChannelPluginEntry({
  id: "whatsapp",
  name: "WhatsApp",
  description: "MOCK stand-in for @openclaw/whatsapp",
  plugin: standinPlugin,
});
