#!/bin/sh
# Tropic's instance VM image (issue 17, docs/vm-image.md): the ONE provisioning script. Packer runs it on
# an Ubuntu 22.04 build VM (deploy/image/tropic-vm.pkr.hcl); the tests run it on a Debian bookworm root
# filesystem before its first boot (server/test/vm-image.e2e.test.ts). What it leaves behind:
#   - the Tropic host bundle (Node, the pinned OpenClaw, the instance agent, the gate plugin, tropic-host)
#     in /opt/tropic/<version>, exactly where the host installer puts it, so enrolment at first boot
#     downloads nothing when the control plane still serves that version (it verifies and upgrades when not);
#   - nginx with a placeholder site (503 until user-data brings the instance's site: the seed's Referer check);
#   - the seed's table of services that waste RAM on a 1 GB box, disabled AND masked;
#   - headed Chrome on XFCE (a virtual display) as chrome-headed.service (--skip-desktop: the units and
#     their launchers only, no packages: the tests, where XFCE and Chrome are too heavy);
#   - tropic-enrol.service, which user-data starts at first boot: the enrolment token from SSM, then the
#     control plane's own installer (docs/vm-image.md); a firewall that keeps the metadata service (the
#     instance role's credentials) to root and the gateway's port to loopback; 2 GB of swap on first boot.
#
#   provision.sh (--bundle FILE | --url URL) [--skip-desktop] [--test-endpoints FILE] [--seal]
#     --bundle FILE     the host bundle tarball (tropic-host-linux-<arch>-<hash>.tar.gz; Packer uploads it)
#     --url URL         or fetch it from a control plane with its installer (/install/host.sh --no-enrol)
#     --skip-desktop    install no XFCE or Chrome (the units and launchers are still installed)
#     --test-endpoints FILE  a TEST build: bakes FILE as /etc/tropic/aws-endpoints.json, the metadata
#                       service's and SSM's addresses (the tests' MOCK ones). Never in a production image:
#                       see "Endpoints" in docs/vm-image.md
#     --seal            the last step of an image build: cloud-init state, machine-id, logs and apt caches
#                       removed so every VM launched from the image is a first boot
set -eu

HERE="$(cd "$(dirname "$0")" && pwd)"
BUNDLE=""
URL=""
SKIP_DESKTOP=""
TEST_ENDPOINTS=""
SEAL=""
PREFIX=/opt/tropic
LIB=/usr/local/lib/tropic-image

say() { printf '%s\n' "provision: $*" >&2; }
die() { say "error: $*"; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) [ $# -ge 2 ] || die "--bundle needs a file"; BUNDLE="$2"; shift 2 ;;
    --url) [ $# -ge 2 ] || die "--url needs a value"; URL="$2"; shift 2 ;;
    --skip-desktop) SKIP_DESKTOP=1; shift ;;
    --test-endpoints) [ $# -ge 2 ] || die "--test-endpoints needs a file"; TEST_ENDPOINTS="$2"; shift 2 ;;
    --seal) SEAL=1; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "run as root"
[ -n "$BUNDLE" ] || [ -n "$URL" ] || die "--bundle FILE or --url URL is needed (the host bundle the image bakes)"
for f in enrol.sh ssm-credential.mjs; do [ -f "$HERE/$f" ] || die "$HERE/$f is missing (run provision.sh from deploy/image/)"; done

. /etc/os-release
say "provisioning $PRETTY_NAME"
export DEBIAN_FRONTEND=noninteractive

# 1. Packages. Only what is missing is installed, so a root filesystem that has them all (the tests'
# booted host, which has no network) needs no apt at all.
need=""
for p in nginx cloud-init nftables curl ca-certificates; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
if [ -n "$need" ]; then
  say "installing$need"
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $need
fi

# 2. The host bundle, where the host installer puts it (<prefix>/<version>, .complete holding the
# tarball's sha256, <prefix>/current → it), so the installer at enrolment finds it current.
if [ -n "$BUNDLE" ]; then
  [ -f "$BUNDLE" ] || die "no bundle at $BUNDLE"
  case "$(basename "$BUNDLE")" in tropic-host-linux-*.tar.gz) ;; *) die "$BUNDLE is not a tropic-host-linux-*.tar.gz bundle" ;; esac
  sum="$(sha256sum "$BUNDLE" | cut -d' ' -f1)"
  mkdir -p "$PREFIX"
  part="$PREFIX/.image.partial"
  rm -rf "$part"
  mkdir -p "$part"
  tar -xzf "$BUNDLE" -C "$part" || die "could not extract $BUNDLE"
  version="$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$part/bundle.json" | head -n1)"
  case "$version" in ""|*/*|.*) rm -rf "$part"; die "$BUNDLE has no usable version in bundle.json" ;; esac
  printf '%s\n' "$sum" > "$part/.complete"
  rm -rf "${PREFIX:?}/$version"
  mv "$part" "$PREFIX/$version"
  ln -sfn "$version" "$PREFIX/current"
  say "baked the host bundle $version (sha256 $sum)"
else
  curl -fsSL "${URL%/}/install/host.sh" | sh -s -- --url "${URL%/}" --prefix "$PREFIX" --no-enrol
fi
[ -x "$PREFIX/current/bin/tropic-host" ] || die "the bundle has no bin/tropic-host"

# 3. The first-boot enrolment (user-data starts tropic-enrol.service; docs/vm-image.md).
install -d -m 0755 "$LIB" /etc/tropic
install -m 0755 "$HERE/enrol.sh" "$LIB/enrol.sh"
install -m 0644 "$HERE/ssm-credential.mjs" "$LIB/ssm-credential.mjs"
rm -f /etc/tropic/aws-endpoints.json
if [ -n "$TEST_ENDPOINTS" ]; then
  install -m 0644 -o root -g root "$TEST_ENDPOINTS" /etc/tropic/aws-endpoints.json
  say "TEST BUILD: the metadata service and SSM are at the addresses in /etc/tropic/aws-endpoints.json"
fi
testbuild=false
[ -n "$TEST_ENDPOINTS" ] && testbuild=true
printf '{"builtAt":"%s","os":"%s","testBuild":%s,"desktop":%s}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$PRETTY_NAME" "$testbuild" \
  "$([ -n "$SKIP_DESKTOP" ] && echo false || echo true)" > /etc/tropic/image.json
cat > /etc/systemd/system/tropic-enrol.service <<'EOF'
# Tropic: enrols this VM at its first boot (user-data starts it; docs/vm-image.md). Stays enabled until
# the VM is enrolled, so a failed try is retried, across reboots too.
[Unit]
Description=Tropic instance enrolment (the token from SSM, then the control plane's installer)
Wants=network-online.target
After=network-online.target cloud-config.service nginx.service
ConditionPathExists=/etc/tropic/vm.json
ConditionPathExists=!/var/lib/tropic/agent.json
StartLimitIntervalSec=0

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/lib/tropic-image/enrol.sh
Restart=on-failure
RestartSec=5s
TimeoutStartSec=15min
UMask=0077

[Install]
WantedBy=multi-user.target
EOF

# 4. The firewall of the VM itself (the security group is the other layer): the metadata service, which
# hands out the instance role's credentials (and with them the SSM parameter), answers root only; the
# gateway's port answers loopback only, whatever bind it is ever given.
imds_ip=169.254.169.254
imds_port=80
if [ -n "$TEST_ENDPOINTS" ]; then
  hostport="$(sed -n 's/.*"imds": *"http:\/\/\([^"/]*\).*/\1/p' "$TEST_ENDPOINTS" | head -n1)"
  imds_ip="${hostport%:*}"
  imds_port="${hostport##*:}"
fi
cat > /etc/tropic/vm-firewall.nft <<EOF
# Tropic VM firewall (deploy/image/provision.sh). Loaded by tropic-vm-firewall.service.
table inet tropic_vm
delete table inet tropic_vm
table inet tropic_vm {
  chain output {
    type filter hook output priority 0; policy accept;
    # the instance role's credentials: root only (tropic-enrol, the agent); never the gateway's user
    ip daddr $imds_ip tcp dport $imds_port meta skuid != 0 reject with tcp reset
  }
  chain input {
    type filter hook input priority 0; policy accept;
    # the gateway binds loopback (docs/vm-image.md: no bind override); this holds whatever it binds
    tcp dport 18789 iifname != "lo" drop
  }
}
EOF
cat > /etc/systemd/system/tropic-vm-firewall.service <<'EOF'
[Unit]
Description=Tropic VM firewall (the metadata service for root only, the gateway's port for loopback only)
DefaultDependencies=no
Before=network-pre.target cloud-init.service tropic-enrol.service
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/nft -f /etc/tropic/vm-firewall.nft

[Install]
WantedBy=multi-user.target
EOF

# 5. Swap: the seed's "1 GB + 2 GB swap" (t3.micro), made at the first boot (not in the image: it would
# be 2 GB of every snapshot). A container cannot swap on (the tests' booted host): skipped there.
cat > /etc/systemd/system/tropic-swap.service <<'EOF'
[Unit]
Description=Tropic: 2 GB of swap (the seed's t3.micro is 1 GB + 2 GB swap)
ConditionVirtualization=!container
ConditionPathExists=!/swapfile

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'fallocate -l 2G /swapfile && chmod 600 /swapfile && mkswap /swapfile && swapon /swapfile && echo "/swapfile none swap sw 0 0" >> /etc/fstab'

[Install]
WantedBy=multi-user.target
EOF

# 6. nginx: the placeholder until user-data brings the instance's site (503: the health check's
# "initializing"). The instance's site (deploy/nginx/openclaw-site.conf) is enabled by enrol.sh.
rm -f /etc/nginx/sites-enabled/default
cat > /etc/nginx/sites-available/tropic-placeholder <<'EOF'
# Tropic: this VM is not configured yet (user-data brings the instance's site).
server {
  listen 80 default_server;
  server_name _;
  server_tokens off;
  location / {
    return 503;
  }
}
EOF
ln -sfn /etc/nginx/sites-available/tropic-placeholder /etc/nginx/sites-enabled/tropic-placeholder
nginx -t -q

# 7. Gateway bind override. The seed applies 0.0.0.0 in three places (this script, the unit's --bind lan,
# a sed patch for existing VMs) because WireGuard peers reach the gateway on 18789. Tropic's proxy reaches
# the gateway through nginx on this VM (127.0.0.1:18789) or the agent's outbound tunnel, so there are no
# such peers: the image keeps OpenClaw's loopback bind (tropic-host's unit: --bind loopback), applies no
# override, and the firewall above drops 18789 from anything but loopback. SecureClaw's bind check passes.

# 8. Headed Chrome on XFCE: a virtual display (Xvfb) with an XFCE session, and Chrome on it with its
# DevTools port on loopback for OpenClaw's browser tool. They run as the gateway's user (tropic-gw, made
# at enrolment), so they start once the VM is enrolled.
cat > "$LIB/desktop.sh" <<'EOF'
#!/bin/sh
# Tropic: the VM's desktop, XFCE on a virtual display (:99). Run by tropic-desktop.service.
set -eu
command -v Xvfb >/dev/null 2>&1 || { echo "Xvfb is not installed (an image built with --skip-desktop)" >&2; exit 1; }
command -v startxfce4 >/dev/null 2>&1 || { echo "XFCE is not installed (an image built with --skip-desktop)" >&2; exit 1; }
Xvfb :99 -screen 0 1280x800x24 -nolisten tcp -nolisten unix -listen local &
xvfb=$!
trap 'kill $xvfb 2>/dev/null' EXIT INT TERM
for _ in $(seq 50); do [ -e /tmp/.X11-unix/X99 ] && break; sleep 0.1; done
DISPLAY=:99 dbus-run-session startxfce4
EOF
cat > "$LIB/chrome-headed.sh" <<'EOF'
#!/bin/sh
# Tropic: headed Chrome on the VM's desktop (:99), DevTools on 127.0.0.1:18800. Run by chrome-headed.service.
set -eu
for c in google-chrome-stable google-chrome chromium; do
  if command -v "$c" >/dev/null 2>&1; then
    exec "$c" --no-first-run --no-default-browser-check --disable-dev-shm-usage --disable-background-networking \
      --user-data-dir="$HOME/.config/chrome-headed" --remote-debugging-address=127.0.0.1 --remote-debugging-port=18800 about:blank
  fi
done
echo "no Chrome is installed (an image built with --skip-desktop)" >&2
exit 1
EOF
chmod 0755 "$LIB/desktop.sh" "$LIB/chrome-headed.sh"
cat > /etc/systemd/system/tropic-desktop.service <<'EOF'
[Unit]
Description=Tropic: XFCE on a virtual display for headed Chrome
After=network.target
ConditionPathExists=/var/lib/tropic/agent.json
ConditionPathExists=/usr/bin/Xvfb

[Service]
User=tropic-gw
Group=tropic-gw
Environment=HOME=/var/lib/tropic/home
PrivateTmp=no
ExecStart=/usr/local/lib/tropic-image/desktop.sh
Restart=on-failure
RestartSec=5s
MemoryHigh=15%
MemoryMax=20%

[Install]
WantedBy=multi-user.target
EOF
cat > /etc/systemd/system/chrome-headed.service <<'EOF'
[Unit]
Description=Tropic: headed Chrome on the VM's desktop (OpenClaw's browser, DevTools on 127.0.0.1:18800)
Requires=tropic-desktop.service
After=tropic-desktop.service
ConditionPathExists=/var/lib/tropic/agent.json
ConditionPathExists=/usr/bin/Xvfb

[Service]
User=tropic-gw
Group=tropic-gw
Environment=DISPLAY=:99
Environment=HOME=/var/lib/tropic/home
ExecStart=/usr/local/lib/tropic-image/chrome-headed.sh
Restart=on-failure
RestartSec=5s
NoNewPrivileges=yes
MemoryHigh=30%
MemoryMax=40%

[Install]
WantedBy=multi-user.target
EOF
if [ -z "$SKIP_DESKTOP" ]; then
  say "installing XFCE and Chrome"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends xfce4 xfce4-terminal dbus-x11 xvfb fonts-liberation
  if [ "${ID:-}" = ubuntu ]; then
    # Ubuntu's chromium is a snap; Google's Chrome comes from Google's repository (its key pinned in a keyring).
    install -d -m 0755 /etc/apt/keyrings
    curl -fsSL https://dl.google.com/linux/linux_signing_key.pub | gpg --dearmor -o /etc/apt/keyrings/google-chrome.gpg
    echo "deb [arch=amd64 signed-by=/etc/apt/keyrings/google-chrome.gpg] https://dl.google.com/linux/chrome/deb/ stable main" > /etc/apt/sources.list.d/google-chrome.list
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends google-chrome-stable
  else
    apt-get install -y -qq --no-install-recommends chromium
  fi
else
  say "--skip-desktop: no XFCE or Chrome installed (tropic-desktop.service and chrome-headed.service are, and say so if started)"
fi

# 9. The seed's disabled services (RAM on a 1 GB box): disabled, stopped where running, and masked so no
# package or dependency starts them again. Units absent here (Debian has no multipathd or packagekit by
# default) are masked all the same, which also keeps a later install of them from starting.
for u in apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service unattended-upgrades.service \
  multipathd.service multipathd.socket rtkit-daemon.service packagekit.service packagekit-offline-update.service \
  udisks2.service avahi-daemon.service avahi-daemon.socket; do
  systemctl disable --now "$u" >/dev/null 2>&1 || true
  systemctl mask "$u" >/dev/null 2>&1 || die "could not mask $u"
done
# PipeWire runs per user session: masked for every user.
for u in pipewire.service pipewire.socket pipewire-pulse.service pipewire-pulse.socket wireplumber.service; do
  systemctl --global disable "$u" >/dev/null 2>&1 || true
  systemctl --global mask "$u" >/dev/null 2>&1 || die "could not mask the user unit $u"
done

# 10. Enabled at boot (nginx, the firewall, swap, the desktop and Chrome; tropic-enrol only when user-data says).
systemctl enable nginx.service tropic-vm-firewall.service tropic-swap.service tropic-desktop.service chrome-headed.service >/dev/null 2>&1 ||
  die "could not enable the image's services"
systemctl daemon-reload >/dev/null 2>&1 || true

# 11. Sealed for an image: the next boot is every VM's first.
if [ -n "$SEAL" ]; then
  cloud-init clean --logs --machine-id 2>/dev/null || { rm -rf /var/lib/cloud/instances /var/lib/cloud/instance; : > /etc/machine-id; }
  apt-get clean
  rm -rf /var/lib/apt/lists/* /tmp/* /var/tmp/*
  say "sealed"
fi
say "done"
