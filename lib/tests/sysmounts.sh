#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# First-run preconditions (lib/sysmounts.c), each in a private mount
# namespace where they are missing, whatever this machine has mounted:
# bpffs is mounted when absent, once, with one note, also when several mplb
# processes start together; `ip netns exec` (a private /sys) is refused with
# the nsenter fix instead of pinning where nobody else looks; cgroup v2 is
# mounted at /run/mplb/cgroup2 when none is; sbin is found without PATH.
source "$(dirname "$0")/../../tests/lib.sh"
need_root "sysmounts" || exit 0
command -v unshare >/dev/null || { skip "sysmounts" "unshare (util-linux) missing"; exit 0; }

# fresh CMD: run CMD (a bash snippet) in a private mount namespace without bpffs or cgroups.
fresh() {
	MPLB="$MPLB" unshare --mount --propagation private bash -c '
		while mountpoint -q /sys/fs/bpf; do umount /sys/fs/bpf; done
		for m in $(awk '\''$3 == "cgroup" || $3 == "cgroup2" {print $2}'\'' /proc/self/mounts | sort -r); do umount "$m"; done
		mount -t tmpfs tmpfs /run
		'"$1"
}

out=$(fresh '"$MPLB" server cleanup -n sysmounts-none 2>&1; stat -f -c "fs=%T" /sys/fs/bpf; "$MPLB" server cleanup -n sysmounts-none 2>&1')
n=$(grep -c "mounted bpffs at /sys/fs/bpf" <<<"$out")
if [ "$n" = 1 ] && grep -q "fs=bpf_fs" <<<"$out"; then pass "bpffs missing: mounted, and said so once"
else fail "bpffs missing: mounted once" "$n notes: $out"; fi

out=$(fresh 'for i in 1 2 3 4 5 6; do "$MPLB" server cleanup -n sysmounts-none$i 2>&1 & done; wait; grep -c " /sys/fs/bpf bpf " /proc/self/mounts')
notes=$(grep -c "mounted bpffs" <<<"$out"); mounts=$(tail -1 <<<"$out")
expect_eq "6 processes at once: one note, one bpffs mount (no stacking)" "$notes/$mounts" "1/1"

NS=mplbt-sysm-$$
on_exit "ip netns del $NS"
ip netns add "$NS"
ip -n "$NS" link set lo up
cat >"$T_TMP/lb.ini" <<INI
[lb]
name = sysmounts-$$
interface = lo
xdp = generic
[vip v]
address = 10.99.0.1
port = 80
[backend b]
id = 1
mac = 02:00:00:00:00:01
INI
out=$(ip netns exec "$NS" "$MPLB" lb run -c "$T_TMP/lb.ini" 2>&1); rc=$?
if [ $rc -ne 0 ] && grep -q "private /sys" <<<"$out" && grep -q "nsenter --net" <<<"$out" &&
	! ip -n "$NS" link show lo | grep -q xdp; then
	pass "lb run under ip netns exec: refused with the nsenter fix, nothing attached"
else fail "lb run under ip netns exec" "rc=$rc $out"; fi
out=$(ip netns exec "$NS" "$MPLB" server cleanup -n sysmounts-x 2>&1); rc=$?
if [ $rc -ne 0 ] && grep -q "nsenter --net" <<<"$out"; then pass "server cleanup under ip netns exec: refused with the fix"
else fail "server cleanup under ip netns exec" "rc=$rc $out"; fi
out=$("$MPLB" lb stats -n sysmounts-absent 2>&1); rc=$?
if [ $rc -ne 0 ] && grep -q "no balancer maps\|no bpffs" <<<"$out"; then pass "lb stats of no balancer: says so"
else fail "lb stats of no balancer" "rc=$rc $out"; fi

# cgroup v2 missing: the tsecr agent mounts one for its sock_ops program.
cat >"$T_TMP/srv.ini" <<INI
[server]
name = sysmounts-$$
id = 1
interface = lo
tsecr_key = 000102030405060708090a0b0c0d0e0f
health_port = 0
[vip t]
address = 127.0.0.1
port = 7
scheme = tsecr
INI
out=$(fresh 'nsenter --net=/run/netns/'"$NS"' true 2>/dev/null
	ip netns add '"$NS"'-c && ip -n '"$NS"'-c link set lo up
	nsenter --net=/run/netns/'"$NS"'-c timeout -s INT 3 "$MPLB" server run -c '"$T_TMP"'/srv.ini 2>&1
	grep -c " /run/mplb/cgroup2 cgroup2 " /proc/self/mounts
	ip netns del '"$NS"'-c')
if grep -q "mounted cgroup v2 at /run/mplb/cgroup2" <<<"$out" && [ "$(tail -1 <<<"$out")" = 1 ] &&
	! grep -q "sock_ops not attached\|no cgroup v2" <<<"$out"; then
	pass "cgroup v2 missing: mounted at /run/mplb/cgroup2, sock_ops attached"
else fail "cgroup v2 missing" "$out"; fi

# sbin missing from PATH: mplb finds ip, tc and sysctl itself.
out=$(env PATH=/usr/bin:/bin "$MPLB" lab up --name sysm$$ --clients 1 --backends 1 --lb kernel --xdp none \
	--server-pm none --uplink-rate 10mbit 2>&1); rc=$?
env PATH=/usr/bin:/bin "$MPLB" lab down --name sysm$$ >/dev/null 2>&1
if [ $rc -eq 0 ]; then pass "lab up with PATH=/usr/bin:/bin (tc, sysctl from sbin)"
else fail "lab up without sbin in PATH" "$(tail -3 <<<"$out")"; fi
exit $((T_FAILED > 0))
