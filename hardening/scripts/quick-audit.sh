#!/usr/bin/env bash
# The seed's quick audit (~/.openclaw/skills/secureclaw/scripts/quick-audit.sh): Tropic's host audit,
# offline, printing the same findings the dashboard shows. Arguments go to the audit (--json, ...).
# TROPIC_HARDENING_CLI is the command that runs hardening/src/cli.ts on this host (set by whoever
# installs this script; e.g. "node --import tsx /opt/tropic/hardening/src/cli.ts"; on a Tropic host the
# agent bundle: "<node> <agent bundle> --hardening-cli").
set -euo pipefail
# The instance agent installs this script with its host's CLI as the default (TROPIC_HARDENING_CLI overrides it).
TROPIC_HARDENING_CLI=${TROPIC_HARDENING_CLI:-}
: "${TROPIC_HARDENING_CLI:?set TROPIC_HARDENING_CLI to the command that runs the Tropic hardening CLI}"
STATE_DIR=${OPENCLAW_STATE_DIR:-$HOME/.openclaw}
# shellcheck disable=SC2086 # the command is deliberately split into words
exec $TROPIC_HARDENING_CLI audit --state-dir "$STATE_DIR" "$@"
