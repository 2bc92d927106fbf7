#!/usr/bin/env bash
# The seed's emergency response (~/.openclaw/skills/secureclaw/scripts/emergency-response.sh): a
# 7-point diagnostic, printed and logged to ~/.openclaw/.secureclaw/emergency-<timestamp>.txt with a
# line in events.log. It only reads; stopping the gateway is left to the person (step 7 says how).
# TROPIC_HARDENING_CLI: see quick-audit.sh.
set -uo pipefail
# The instance agent installs this script with its host's CLI as the default (TROPIC_HARDENING_CLI overrides it).
TROPIC_HARDENING_CLI=${TROPIC_HARDENING_CLI:-}
: "${TROPIC_HARDENING_CLI:?set TROPIC_HARDENING_CLI to the command that runs the Tropic hardening CLI}"
STATE_DIR=${OPENCLAW_STATE_DIR:-$HOME/.openclaw}
DIR="$STATE_DIR/.secureclaw"
umask 077
mkdir -p "$DIR"
TS=$(date -u +%Y-%m-%dT%H-%M-%SZ)
OUT="$DIR/emergency-$TS.txt"
PORT=${OPENCLAW_GATEWAY_PORT:-18789}
# shellcheck disable=SC2086
cli() { $TROPIC_HARDENING_CLI "$@" --state-dir "$STATE_DIR"; }
{
  echo "Tropic emergency response $TS on $(uname -n)"
  echo
  echo "[1/7] Gateway processes"
  ps -eo pid,user,etime,rss,args 2>/dev/null | grep -E '[o]penclaw' || echo "no openclaw process found"
  echo
  echo "[2/7] Listening sockets (non-loopback are exposure; the gateway port is $PORT)"
  if command -v ss >/dev/null 2>&1; then ss -Hltn 2>/dev/null | awk '{print $4}' | sort -u; else awk 'NR>1 && $4=="0A"{print $2}' /proc/net/tcp /proc/net/tcp6 2>/dev/null; fi
  echo
  echo "[3/7] Integrity of identity files, gate files and protected config"
  cli integrity
  echo
  echo "[4/7] Host audit (score and open findings)"
  cli audit | grep -E '^(Posture score|\[CRIT\]|\[HIGH\])' || true
  echo
  echo "[5/7] Last 20 gate decisions that were not ALLOW (~/.openclaw/.sondera/audit.log)"
  if [ -f "$STATE_DIR/.sondera/audit.log" ]; then grep -v '"decision":"ALLOW"' "$STATE_DIR/.sondera/audit.log" | tail -n 20; else echo "no gate audit log"; fi
  echo
  echo "[6/7] Recently changed state files (last 24 h)"
  find "$STATE_DIR" -xdev -maxdepth 3 -type f -mmin -1440 ! -path "$DIR/*" -printf '%TY-%Tm-%Td %TH:%TM  %m  %p\n' 2>/dev/null | sort | tail -n 30
  echo
  echo "[7/7] Kill switch"
  echo "Tell the agent: stop (OpenClaw's stop words always reach it)."
  echo "Stop the gateway: from the dashboard (Stop), or on this host: sudo systemctl stop openclaw-gateway (systemctl --user stop openclaw-gateway where it is a user unit)."
  echo "Then rotate the gateway token and any key found above, and accept or restore changed files."
} 2>&1 | tee "$OUT"
printf '{"ts":"%s","type":"emergency","report":"%s"}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$OUT" >> "$DIR/events.log"
