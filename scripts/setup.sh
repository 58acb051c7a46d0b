#!/usr/bin/env bash
# Idempotent set-up for netspan on Debian 12 as root: Debian packages, tracefs,
# npm dependencies and the TypeScript build. Quiet when everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v bpftrace >/dev/null 2>&1 || need+=(bpftrace)
command -v kcat >/dev/null 2>&1 || need+=(kcat)
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v sysctl >/dev/null 2>&1 || need+=(procps)
# Go's text/template + sprig render the Helm chart in tests (no helm binary here).
command -v go >/dev/null 2>&1 || need+=(golang-go)
[ -d /usr/share/gocode/src/github.com/Masterminds/sprig ] || need+=(golang-github-masterminds-sprig-dev)
[ -d /usr/share/gocode/src/github.com/ghodss/yaml ] || need+=(golang-github-ghodss-yaml-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -d /sys/kernel/tracing/events ] && [ ! -d /sys/kernel/debug/tracing/events ]; then
  echo "setup: mounting tracefs at /sys/kernel/tracing" >&2
  mount -t tracefs nodev /sys/kernel/tracing
fi

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.netspan-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  cp package-lock.json "$stamp"
fi

npx --no-install tsc -p tsconfig.json
