#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `mplb lab`: up/status/exec/down, connectivity over every uplink, an MPTCP
# connection through the VIP, XDP on the LB host, idempotence, refusals,
# other sizes, interruption and crash leftovers. Uses its own lab name so a
# user's lab is never touched.
source "$(dirname "$0")/../../tests/lib.sh"
need_root "lab suite" || exit 0

N=mplbt-lab
PY=/usr/bin/python3
lab() { timeout 30 "$MPLB" lab "$@"; }
# jget EXPR: evaluate a Python expression over the JSON document on stdin (d).
jget() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# nothing_left: no namespace, no process, no run directory of lab $N.
nothing_left() {
	local ns pids_alive=""
	ns=$(ip netns list | grep -E "^$N-" || true)
	# A zombie waiting for init to reap it is not a live process.
	for p in ${SAVED_PIDS:-}; do
		[ -e "/proc/$p" ] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && pids_alive+=" $p"
	done
	# The backends' server agents (default --server-pm per-server): their
	# state, journal, lock and pins live outside the lab's directory.
	local agent
	agent=$(ls -d /run/mplb/server-"$N"-* /sys/fs/bpf/mplb/server-"$N"-* 2>/dev/null | tr '\n' ' ')
	[ -z "$ns" ] && [ -z "$pids_alive" ] && [ ! -e "/run/mplb/$N" ] && [ -z "$agent" ] && return 0
	echo "namespaces: [$ns] processes alive: [$pids_alive] run dir: $(ls -d /run/mplb/$N 2>/dev/null) agent files: [$agent]"
	return 1
}
on_exit "$MPLB lab down --name $N"
"$MPLB" lab down --name "$N" >/dev/null 2>&1 # leftovers of an aborted run

# --- up with defaults, status -------------------------------------------
t0=$(date +%s.%N)
check "up with defaults" lab up --name "$N"
up_secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b - a}')
if awk -v s="$up_secs" 'BEGIN{exit !(s < 5)}'; then pass "up takes ${up_secs}s (< 5 s)"; else fail "up took ${up_secs}s"; fi

state=$(lab status --name "$N" -j)
expect_eq "status -j lists every host, all namespaces present" \
	"$(echo "$state" | jget '" ".join(h["id"] for h in d["hosts"] if h["netns_exists"])')" \
	"rt c1 c2 lb1 b1 b2 b3 b4"
expect_eq "status -j roles" \
	"$(echo "$state" | jget '" ".join(h["role"] for h in d["hosts"])')" \
	"router client client lb backend backend backend backend"
expect_eq "status -j per-server address of b3" \
	"$(echo "$state" | jget '[h for h in d["hosts"] if h["id"]=="b3"][0]["per_server"]["ipv4"]')" "10.100.2.3"
SAVED_PIDS=$(echo "$state" | jget '" ".join(str(p["pid"]) for h in d["hosts"] for p in h["processes"])')
check "status table prints" sh -c "'$MPLB' lab status --name $N | grep -q 'lb1 .*lb'"
expect_eq "default: the server agent (per-server) runs ready on every backend" \
	"$(echo "$state" | jget 'sum(1 for h in d["hosts"] if h.get("agent", {}).get("ready") and h["agent"]["scheme"] == "per-server")')" 4

# --- exec passes exit status and stdin ------------------------------------
lab exec --name "$N" c1 -- sh -c 'exit 7'
expect_eq "exec passes the exit status" "$?" 7
expect_eq "exec passes stdin/stdout" "$(echo hello | lab exec --name "$N" c1 -- cat)" hello
expect_eq "exec runs in the client's namespace" \
	"$(lab exec --name "$N" c1 -- ip -br -4 addr show dev eth2 | awk '{print $3}')" "10.2.1.2/24"

# --- connectivity over each uplink ---------------------------------------
for j in 1 2; do
	check "c1 uplink $j: ping router 10.$j.1.1" lab exec --name "$N" c1 -- ping -c1 -W2 -I "10.$j.1.2" "10.$j.1.1"
	check "c1 uplink $j: ping backend 10.100.2.2" lab exec --name "$N" c1 -- ping -c1 -W2 -I "10.$j.1.2" 10.100.2.2
	check "c1 uplink $j: ping6 router fd00:$j:1::1" lab exec --name "$N" c1 -- ping -6 -c1 -W2 -I "fd00:$j:1::2" "fd00:$j:1::1"
	check "c1 uplink $j: ping6 backend fd00:100::2:2" lab exec --name "$N" c1 -- ping -6 -c1 -W2 -I "fd00:$j:1::2" fd00:100::2:2
	# The path really is uplink j: policy routing by source address.
	expect_eq "c1 source 10.$j.1.2 routes via eth$j" \
		"$(lab exec --name "$N" c1 -- ip route get 10.100.2.2 from "10.$j.1.2" | grep -o 'dev eth[0-9]*')" "dev eth$j"
done

# --- MPTCP through the VIP -----------------------------------------------
serve_alive=$(lab status --name "$N" -j | jget 'sum(p["alive"] for h in d["hosts"] for p in h["processes"] if p["name"] == "serve")')
if [ "$serve_alive" = 4 ] && "$MPLB" probe --help >/dev/null 2>&1; then
	check "MPTCP to the IPv4 VIP reaches a backend, 3 subflows over 2 uplinks (mplb probe)" \
		lab exec --name "$N" c1 -- "$MPLB" probe --timeout 5 -n 2 -s 200000 --subflows 3 10.200.0.1:80
	check "MPTCP to the IPv6 VIP reaches a backend, 5 subflows over 2 uplinks (mplb probe)" \
		lab exec --name "$N" c2 -- "$MPLB" probe --timeout 5 -n 2 -s 200000 --subflows 5 '[fd00:200::1]:80'
else
	# mplb serve is not usable yet: a Python MPTCP listener per backend.
	for m in 1 2 3 4; do
		lab exec --name "$N" "b$m" -- "$PY" -c "
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM, 262)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('::', 80)); s.listen(16)
while True:
    c, _ = s.accept(); c.sendall(b'backend $m\n'); c.close()
" >/dev/null 2>&1 &
	done
	sleep 0.3
	check "MPTCP to the IPv4 VIP reaches a backend (python)" lab exec --name "$N" c1 -- "$PY" -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
s.settimeout(3); s.connect(('10.200.0.1', 80))
s.getsockopt(284, 1, 256)  # MPTCP_INFO: fails if the connection fell back to TCP
assert s.recv(64).startswith(b'backend ')
"
fi

# --- XDP on the LB host ----------------------------------------------------
# Default --lb mplb: the balancer's xdp_lb replaced xdp_pass on lb1 eth0.
mode=$(lab status --name "$N" -j | jget 'd["xdp"]["attached"]')
prog=$(lab status --name "$N" -j | jget '[h for h in d["hosts"] if h["id"]=="lb1"][0]["xdp"]["program"]')
expect_eq "default balancer is the XDP balancer (xdp_lb on lb1)" "$prog" xdp_lb
link=$(ip -n "$N-lb1" link show eth0)
case "$mode" in
native) echo "$link" | grep -q "prog/xdp .*name $prog" && ! echo "$link" | grep -q xdpgeneric &&
	pass "XDP $prog on lb1 eth0 in the recorded mode ($mode)" || fail "XDP on lb1" "$mode: $link" ;;
generic) echo "$link" | grep -q "prog/xdp .*name $prog" && echo "$link" | grep -q xdpgeneric &&
	pass "XDP $prog on lb1 eth0 in the recorded mode ($mode)" || fail "XDP on lb1" "$mode: $link" ;;
*) fail "XDP on lb1" "recorded mode '$mode'" ;;
esac
if [ "$mode" = native ]; then
	check "native: dummy XDP on the router-side peer lb1" sh -c "ip -n $N-rt link show lb1 | grep -q 'prog/xdp'"
	check "native: tx checksum offload off on lb1" sh -c "ip netns exec $N-rt ethtool -k lb1 | grep -q 'tx-checksum-ip-generic: off'"
fi
check "balancer maps pinned under the lab's directory" test -e "/sys/fs/bpf/mplb/$N/lb1/lb_stats"

# --- idempotence and refusal -----------------------------------------------
eps_before=$(ip -n "$N-c1" mptcp endpoint show | wc -l)
out=$(lab up --name "$N" 2>&1)
rc=$?
expect_eq "second up with same options exits 0" "$rc" 0
check "second up says already up" grep -q "already up" <<<"$out"
expect_eq "second up changes nothing (client endpoints)" "$(ip -n "$N-c1" mptcp endpoint show | wc -l)" "$eps_before"
expect_eq "second up changes nothing (serve pids)" \
	"$(lab status --name "$N" -j | jget '" ".join(str(p["pid"]) for h in d["hosts"] for p in h["processes"])')" "$SAVED_PIDS"
out=$(lab up --name "$N" --backends 3 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && grep -q "different options" <<<"$out" && grep -q "down" <<<"$out"; then
	pass "up with different options is refused and says to run down"
else
	fail "up with different options is refused" "rc=$rc: $out"
fi

# --- down -------------------------------------------------------------------
check "down" lab down --name "$N"
check "down leaves nothing (namespaces, processes, run dir)" nothing_left
check "down removes the balancer's pins" test ! -e "/sys/fs/bpf/mplb/$N"
out=$(lab down --name "$N" 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && grep -q "nothing up" <<<"$out"; then pass "down when nothing is up"; else fail "down when nothing is up" "rc=$rc: $out"; fi

# --- not root ------------------------------------------------------------
bin=$T_TMP/bin/mplb
mkdir -p "$T_TMP/bin" && cp "$MPLB" "$bin" && chmod 755 "$T_TMP" "$T_TMP/bin" "$bin"
t0=$(date +%s.%N)
out=$(timeout 5 setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" lab up --name "$N" 2>&1)
rc=$?
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b - a}')
if [ "$rc" -ne 0 ] && grep -q "root" <<<"$out" && awk -v s="$secs" 'BEGIN{exit !(s < 1)}'; then
	pass "non-root up fails fast (${secs}s) naming root"
else
	fail "non-root up fails fast" "rc=$rc ${secs}s: $out"
fi
check "non-root up created nothing" nothing_left

# --- sizes: 3 clients x 3 uplinks x 2 LBs x 5 backends ---------------------
check "up 3x3 clients/uplinks, 2 LBs, 5 backends, --lb kernel" \
	lab up --name "$N" --clients 3 --uplinks 3 --lbs 2 --backends 5 --lb kernel
check "--lb kernel keeps xdp_pass on the LB hosts" sh -c "ip -n $N-lb2 link show eth0 | grep -q 'name xdp_pass'"
expect_eq "sizes: all 11 namespaces" "$(ip netns list | grep -cE "^$N-")" 11
expect_eq "sizes: router spreads the VIP over 2 LBs (ECMP)" \
	"$(ip -n "$N-rt" route show 10.200.0.1 | grep -c 'nexthop via 10.100.1')" 2
expect_eq "sizes: LB spreads the VIP over 5 backends" \
	"$(ip -n "$N-lb2" route show 10.200.0.1 | grep -c 'nexthop via 10.100.2')" 5
check "sizes: c3 uplink 3 reaches backend 5" lab exec --name "$N" c3 -- ping -c1 -W2 -I 10.3.3.2 10.100.2.5
SAVED_PIDS=$(lab status --name "$N" -j | jget '" ".join(str(p["pid"]) for h in d["hosts"] for p in h["processes"])')
check "sizes: down" lab down --name "$N"
check "sizes: nothing left" nothing_left

# --- SIGINT in the middle of up ---------------------------------------------
"$MPLB" lab up --name "$N" --clients 3 --uplinks 3 --lbs 2 --backends 5 >"$T_TMP/int.log" 2>&1 &
up_pid=$!
sleep 0.06
kill -INT "$up_pid" 2>/dev/null
wait "$up_pid"
rc=$?
if [ "$rc" -ne 0 ]; then
	# Interrupted before it finished: it must have removed what it made.
	check "interrupted up removed what it created itself (rc=$rc)" nothing_left
else
	pass "interrupted up finished before the signal (rc=0); down must clean up"
fi
lab down --name "$N" >/dev/null 2>&1
check "interrupted up: nothing left after down" nothing_left

# --- leftovers of a crashed up --------------------------------------------
ip netns add "$N-c1" && ip netns add "$N-rt"
ip netns exec "$N-c1" sleep 30 &
sleeper=$!
out=$(lab up --name "$N" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && grep -q "down" <<<"$out"; then pass "up refuses over leftovers"; else fail "up refuses over leftovers" "rc=$rc: $out"; fi
check "down removes leftovers of a crashed up" lab down --name "$N"
SAVED_PIDS=$sleeper
sleep 0.1
check "leftovers: namespaces and their processes gone" nothing_left
wait "$sleeper" 2>/dev/null

exit 0
