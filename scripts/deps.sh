#!/usr/bin/env bash
# Install the Debian packages mplb needs to build, test and run its lab.
# Idempotent: prints nothing and touches nothing when every package is present.
set -euo pipefail

PKGS=(
  # build
  make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev
  # userspace libraries (see README "Libraries")
  libmnl-dev libssl-dev libpcap-dev libjansson-dev libcmocka-dev libinih-dev libsystemd-dev libmicrohttpd-dev
  # BGP and BFD in the lab (the LB tier)
  bird2
  # fuzzing and sanitizers (clang's runtime: libFuzzer, ASan, UBSan)
  libclang-rt-14-dev
  # lab, demo and tests
  iproute2 ethtool nftables tcpdump tshark iputils-ping procps xxd util-linux
  # benchmark plots
  gnuplot-nox python3
  # operations: man pages, the Debian package, Prometheus' promtool (tests), systemd-analyze
  scdoc debhelper dpkg-dev fakeroot lintian prometheus systemd
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing Debian packages: ${missing[*]}" >&2
  echo "deps: run as root (sudo make ...) or install them: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Daemons among them (bird2) must not start on the host as a side effect:
# the lab runs its own in namespaces. policy-rc.d exit 101 = "do not start".
guard=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  guard=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\n# mplb deps.sh: no service starts during this install\nexit 101\n' >"$guard"
  chmod 755 "$guard"
  trap 'rm -f "$guard"' EXIT
fi
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
