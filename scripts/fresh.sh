#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run a command as on a machine where nothing was set up, whatever this one
# has left behind: a private mount namespace (nothing leaks back) with
#   - no bpffs at /sys/fs/bpf,
#   - no cgroup mounts (v1 or v2),
#   - an empty /run (no /run/mplb, no /run/netns; /run/lock and /run/user
#     as a fresh boot has them),
# and a PATH without the sbin directories. Namespaces a test creates in here
# vanish with it. Usage: scripts/fresh.sh CMD [ARGS...]
set -euo pipefail
if [ -z "${MPLB_FRESH_INSIDE:-}" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "fresh: needs root (unshare -m)" >&2; exit 1; }
	exec unshare --mount --propagation private env MPLB_FRESH_INSIDE=1 bash "$0" "$@"
fi

while mountpoint -q /sys/fs/bpf; do umount /sys/fs/bpf; done
# cgroup mounts, deepest first (v1 controllers under a tmpfs, or v2 alone)
for m in $(awk '$3 == "cgroup" || $3 == "cgroup2" {print $2}' /proc/self/mounts | sort -r); do
	umount "$m"
done
if mountpoint -q /sys/fs/cgroup && [ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ]; then
	umount /sys/fs/cgroup
fi
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /run/lock /run/user
chmod 1777 /run/lock

PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v 'sbin' | paste -sd: -)
export PATH
echo "fresh: private mount namespace: no bpffs, no cgroup mounts, empty /run, PATH without sbin" >&2
exec "$@"
