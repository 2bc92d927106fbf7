#!/bin/sh
# Tropic VM image: the first-boot enrolment, run by tropic-enrol.service (user-data starts it; it stays
# enabled and is retried until the VM is enrolled). See docs/vm-image.md.
#   1. the instance's nginx site (user-data wrote it) replaces the image's placeholder;
#   2. the enrolment token is read from SSM with the instance role (ssm-credential.mjs) into a 0600 file
#      on a tmpfs (/run), read again at every try: a newer token the provider put there wins;
#   3. the control plane's own installer (/install/host.sh) runs with that file (--token-file: it reads
#      and deletes it), exactly as on a user's machine: the bundle baked in /opt/tropic is reused when the
#      control plane still serves its version (else the new one is downloaded and verified); tropic-host
#      enrols (agent.json, 0600 root), makes the users and starts the agent and the gateway;
#   4. the desktop and headed Chrome start (when the image has them).
set -eu

CFG=/etc/tropic/vm.json
LIB=/usr/local/lib/tropic-image
PREFIX=/opt/tropic
RUN=/run/tropic-enrol

say() { printf '%s\n' "tropic-enrol: $*" >&2; }
die() { say "error: $*"; exit 1; }

[ -f "$CFG" ] || die "$CFG is missing (user-data writes it)"
case "$(uname -m)" in x86_64|amd64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) die "unsupported architecture $(uname -m)" ;; esac
NODE="$PREFIX/current/runtime/node_modules/node-linux-$arch/bin/node"
[ -x "$NODE" ] || die "the image has no host bundle ($NODE)"
url="$(sed -n 's/^ *"controlPlaneUrl": *"\([^"]*\)".*/\1/p' "$CFG" | head -n1)"
case "$url" in
  http://*|https://*) ;;
  *) die "$CFG names no usable controlPlaneUrl" ;;
esac
case "$url" in *[!A-Za-z0-9:/._~%-]*) die "$CFG: controlPlaneUrl has characters a URL of the control plane does not" ;; esac

# 1. nginx: the instance's site (the Referer check) instead of the placeholder.
site=/etc/nginx/sites-available/tropic-openclaw
if [ -f "$site" ] && [ ! -e /etc/nginx/sites-enabled/tropic-openclaw ]; then
  ln -sfn "$site" /etc/nginx/sites-enabled/tropic-openclaw
  rm -f /etc/nginx/sites-enabled/tropic-placeholder
  if nginx -t -q; then
    systemctl reload-or-restart nginx.service
    say "nginx serves the instance's site"
  else
    rm -f /etc/nginx/sites-enabled/tropic-openclaw
    ln -sfn /etc/nginx/sites-available/tropic-placeholder /etc/nginx/sites-enabled/tropic-placeholder
    die "the instance's nginx site does not load (nginx -t): kept the placeholder"
  fi
fi

# 2. The token, on a tmpfs, 0600 root.
umask 077
mkdir -p "$RUN"
chmod 700 "$RUN"
token="$RUN/token"
rm -f "$token"
trap 'rm -f "$token"' EXIT INT TERM
"$NODE" "$LIB/ssm-credential.mjs" --config "$CFG" --out "$token"

# 3. The control plane's installer, as on any machine (the token reaches it in the file, never an argument).
curl -fsS --retry 5 --retry-connrefused --retry-delay 2 "$url/install/host.sh" -o "$RUN/host.sh" ||
  die "could not download the installer from $url"
sh "$RUN/host.sh" --url "$url" --prefix "$PREFIX" --token-file "$token"
[ -f /var/lib/tropic/agent.json ] || die "the installer finished but this VM is not enrolled"
say "enrolled"

# 4. The desktop and headed Chrome (their units skip themselves when the image has no desktop).
systemctl start --no-block tropic-desktop.service chrome-headed.service || true
