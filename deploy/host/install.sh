#!/bin/sh
# Tropic host installer: makes this Linux or macOS machine a Tropic instance.
#
#   curl -fsSL __TROPIC_URL__/install/host.sh | sh -s -- --token <enrolment token>
#
# Everything comes from the control plane that served this script (no other download): its manifest,
# then this platform's bundle (Node, the pinned OpenClaw, the instance agent, the gate plugin and
# tropic-host), whose sha256 is checked before anything is extracted. The bundle goes to
# <prefix>/<version> (default /opt/tropic), <prefix>/current points at it, and `tropic-host install`
# from the bundle enrols this machine (the token travels in a POST body, never in a URL or a log),
# creates the instance's users and starts the services. Running it again upgrades in place.
set -eu

TROPIC_URL="${TROPIC_URL:-__TROPIC_URL__}"
TOKEN=""
PREFIX="/opt/tropic"
SKIP_ENROL=""

say() { printf '%s\n' "tropic: $*" >&2; }
die() { say "error: $*"; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --token) [ $# -ge 2 ] || die "--token needs a value"; TOKEN="$2"; shift 2 ;;
    --token=*) TOKEN="${1#--token=}"; shift ;;
    # (the sudo re-run: the token in a 0600 file of the invoking user, not on a command line)
    --token-file) [ $# -ge 2 ] || die "--token-file needs a value"; TOKEN="$(cat "$2")"; rm -f "$2"; shift 2 ;;
    --url) [ $# -ge 2 ] || die "--url needs a value"; TROPIC_URL="$2"; shift 2 ;;
    --url=*) TROPIC_URL="${1#--url=}"; shift ;;
    --prefix) [ $# -ge 2 ] || die "--prefix needs a value"; PREFIX="$2"; shift 2 ;;
    --prefix=*) PREFIX="${1#--prefix=}"; shift ;;
    # download, verify and extract only (tests; an image build that enrols later)
    --no-enrol) SKIP_ENROL=1; shift ;;
    -h|--help)
      echo "usage: curl -fsSL <tropic url>/install/host.sh | sh -s -- --token <enrolment token> [--prefix /opt/tropic]"
      exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

case "$TROPIC_URL" in
  http://*|https://*) ;;
  *) die "the control plane's URL is not set (pass --url https://your-tropic)" ;;
esac
TROPIC_URL="${TROPIC_URL%/}"
[ -n "$TOKEN" ] || [ -n "$SKIP_ENROL" ] || die "an enrolment token is needed: --token <t> (Add Instance → Connect local machine shows the whole command)"

# Root: users, services and /opt. Re-run under sudo when it is there; the token goes to the re-run in a
# 0600 file (a command line is visible to every user in ps, and sudo logs it).
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "this installer needs root (users, services, $PREFIX); run it as root"
  say "root is needed (users, services, $PREFIX): running again with sudo"
  tmp_self="$(mktemp)"
  # This script came through a pipe: fetch it once more to run it under sudo.
  curl -fsSL "$TROPIC_URL/install/host.sh" -o "$tmp_self" || die "could not download the installer again from $TROPIC_URL"
  TROPIC_INVOKING_USER="$(id -un)" export TROPIC_INVOKING_USER
  set -- --url "$TROPIC_URL" --prefix "$PREFIX"
  [ -n "$SKIP_ENROL" ] && set -- "$@" --no-enrol
  if [ -n "$TOKEN" ]; then
    tok="$(mktemp)"
    chmod 600 "$tok"
    printf '%s' "$TOKEN" > "$tok"
    set -- "$@" --token-file "$tok"
  fi
  exec sudo TROPIC_INVOKING_USER="$TROPIC_INVOKING_USER" sh "$tmp_self" "$@"
fi

os="$(uname -s)"
arch="$(uname -m)"
case "$os" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) die "unsupported operating system $os (Linux and macOS are)" ;;
esac
case "$arch" in
  x86_64|amd64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) die "unsupported architecture $arch (x86_64 and arm64 are)" ;;
esac
platform="$os-$arch"
command -v curl >/dev/null 2>&1 || die "curl is needed"
command -v tar >/dev/null 2>&1 || die "tar is needed"
if command -v sha256sum >/dev/null 2>&1; then sha256() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
else die "sha256sum or shasum is needed to verify the bundle"; fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT INT TERM

say "fetching the manifest from $TROPIC_URL"
curl -fsSL "$TROPIC_URL/install/manifest.json" -o "$work/manifest.json" || die "could not download $TROPIC_URL/install/manifest.json"
# The manifest is one JSON object written by the control plane: {"version":"…","platforms":{"linux-x64":{"file":"…","sha256":"…","bytes":N},…}}
manifest="$(tr -d '\n' < "$work/manifest.json")"
version="$(printf '%s' "$manifest" | sed -n 's/.*"version":"\([^"]*\)".*/\1/p')"
entry="$(printf '%s' "$manifest" | sed -n "s/.*\"$platform\":{\([^}]*\)}.*/\1/p")"
[ -n "$version" ] || die "the manifest names no version"
[ -n "$entry" ] || die "this control plane has no bundle for $platform (see $TROPIC_URL/install/manifest.json)"
file="$(printf '%s' "$entry" | sed -n 's/.*"file":"\([^"]*\)".*/\1/p')"
want="$(printf '%s' "$entry" | sed -n 's/.*"sha256":"\([0-9a-f]*\)".*/\1/p')"
case "$file" in
  tropic-host-*.tar.gz) ;;
  *) die "the manifest names an unexpected bundle file" ;;
esac
case "$version" in
  */*|.*|"") die "the manifest names an unexpected version" ;;
esac
[ ${#want} -eq 64 ] || die "the manifest has no sha256 for $platform"

dest="$PREFIX/$version"
if [ -f "$dest/.complete" ] && [ "$(cat "$dest/.complete")" = "$want" ]; then
  say "Tropic host $version ($platform) is already here"
else
  say "downloading $file"
  progress=-sS
  [ -t 2 ] && progress=--progress-bar
  curl -fL "$progress" "$TROPIC_URL/install/bundles/$file" -o "$work/bundle.tar.gz" || die "could not download $TROPIC_URL/install/bundles/$file"
  got="$(sha256 "$work/bundle.tar.gz")"
  if [ "$got" != "$want" ]; then
    die "the bundle's sha256 is $got but the manifest says $want: refusing to install it (a damaged download, or not the bundle the control plane published). Nothing was changed."
  fi
  say "sha256 verified ($want)"
  mkdir -p "$PREFIX"
  rm -rf "$dest.partial"
  mkdir -p "$dest.partial"
  tar -xzf "$work/bundle.tar.gz" -C "$dest.partial" || die "could not extract the bundle"
  printf '%s\n' "$want" > "$dest.partial/.complete"
  rm -rf "$dest"
  mv "$dest.partial" "$dest"
fi
ln -sfn "$version" "$PREFIX/current"
say "installed in $dest ($PREFIX/current)"

if [ -n "$SKIP_ENROL" ]; then
  say "--no-enrol: not enrolling this machine"
  exit 0
fi
# The token reaches tropic-host on its standard input, never on a command line others can read (ps).
printf '%s\n' "$TOKEN" | "$PREFIX/current/bin/tropic-host" install --url "$TROPIC_URL" --token-stdin --prefix "$PREFIX"
