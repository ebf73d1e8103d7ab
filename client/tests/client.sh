#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mplb client end to end: a client ns with K uplinks (veths) to a router ns,
# a server ns behind the router with an "initial" address (stands in for a
# VIP) and a per-server address it announces, the C bit set. Checks that
# `mplb client` joins the per-server address from every uplink (K = 2, 3;
# IPv4, IPv6), never the initial address, keeps the kernel echoing ADD_ADDRs,
# re-creates an uplink's subflow within 1 s of the link returning; and, as a
# negative control, that the stock in-kernel PM with `subflow` endpoints
# makes one join from one uplink.
source "$(dirname "$0")/../../tests/lib.sh"
need_root "client e2e" || exit 0
for t in ip python3 ss nstat; do
	command -v $t >/dev/null || { skip "client e2e" "$t missing"; exit 0; }
done
[ -x "$MPLB" ] || { fail "client e2e" "build/mplb missing (make build/mplb)"; exit 1; }
if ! grep -qw userspace /proc/sys/net/mptcp/available_path_managers 2>/dev/null; then
	skip "client e2e" "kernel without the userspace path manager"; exit 0
fi

P=mplbt-cli-$$
C=$P-c R=$P-r S=$P-s
PORT=8080
V4_VIP=10.81.100.2 V4_PS=10.81.101.2
V6_VIP=fd81:100::2 V6_PS=fd81:101::2
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

cleanup_ns() {
	[ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null
	[ -n "${SPID:-}" ] && kill "$SPID" 2>/dev/null
	sleep 0.2
	for ns in $C $R $S; do ip netns del "$ns" 2>/dev/null; done
}
on_exit cleanup_ns
# Keep the daemon's log for a post-mortem when asked to.
[ -n "${MPLB_TEST_KEEP:-}" ] && on_exit "cp $T_TMP/daemon.log $T_TMP/srv.log /tmp/ 2>/dev/null; ip netns exec $C ss -tnai > /tmp/mplb-cli-ss.txt"

# ---- topology ---------------------------------------------------------------
for ns in $C $R $S; do
	ip netns add "$ns"
	nsx "$ns" ip link set lo up
	nsx "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv6.conf.all.keep_addr_on_down=1 net.ipv6.conf.default.keep_addr_on_down=1
done
nsx $R sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip link add sv netns $S type veth peer rs netns $R
nsx $S ip link set sv up; nsx $R ip link set rs up
nsx $R ip addr add 10.81.100.1/24 dev rs; nsx $R ip addr add fd81:100::1/64 dev rs nodad
nsx $S ip addr add $V4_VIP/24 dev sv; nsx $S ip addr add $V6_VIP/64 dev sv nodad
nsx $S ip addr add $V4_PS/32 dev sv; nsx $S ip addr add $V6_PS/128 dev sv nodad
nsx $S ip route add default via 10.81.100.1; nsx $S ip -6 route add default via fd81:100::1
nsx $R ip route add $V4_PS/32 via $V4_VIP; nsx $R ip -6 route add $V6_PS/128 via $V6_VIP
# Server: C bit, room for joins, the per-server address signalled.
nsx $S sysctl -qw net.mptcp.allow_join_initial_addr_port=0
nsx $S ip mptcp limits set subflows 8 add_addr_accepted 8

add_uplink() { # N: client cN 10.81.N.2 <-> router rN 10.81.N.1, table 100+N
	local n=$1
	ip link add c$n netns $C type veth peer r$n netns $R
	nsx $R ip addr add 10.81.$n.1/24 dev r$n; nsx $R ip addr add fd81:$n::1/64 dev r$n nodad
	nsx $R ip link set r$n up
	nsx $C ip addr add 10.81.$n.2/24 dev c$n; nsx $C ip addr add fd81:$n::2/64 dev c$n nodad
	nsx $C ip link set c$n up
	uplink_routes $n
	nsx $C ip rule add from 10.81.$n.2 table $((100 + n))
	nsx $C ip -6 rule add from fd81:$n::2 table $((100 + n))
	# Pace every path so each subflow can carry bytes (equal veths would idle them).
	nsx $C tc qdisc add dev c$n root tbf rate 100mbit burst 32kb latency 50ms 2>/dev/null || true
}
uplink_routes() { # the per-uplink tables; IPv4 drops them when the link goes down
	local n=$1
	nsx $C ip route replace default via 10.81.$n.1 dev c$n table $((100 + n))
	nsx $C ip -6 route replace default via fd81:$n::1 dev c$n table $((100 + n))
}
add_uplink 1; add_uplink 2
nsx $C ip route add default via 10.81.1.1
nsx $C ip -6 route add default via fd81:1::1

# ---- traffic ----------------------------------------------------------------
cat >"$T_TMP/srv.py" <<'EOF'
import socket, sys, threading, time
def serve(c):
    # ~2 MB/s paced for up to `secs`, stop early when the client closes.
    try:
        c.settimeout(30)
        secs = float(c.recv(16).decode() or "2")
        end = time.time() + secs
        chunk = b"x" * 16384
        while time.time() < end:
            c.sendall(chunk); time.sleep(0.008)
    except OSError:
        pass
    c.close()
for fam, addr in ((socket.AF_INET6, "::"),):
    s = socket.socket(fam, socket.SOCK_STREAM, 262)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # v4 and v6 in one
    s.bind((addr, int(sys.argv[1]))); s.listen(16)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
cat >"$T_TMP/cli.py" <<'EOF'
import socket, sys
host, port, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM, 262)
s.settimeout(30)
s.connect((host, port)); s.sendall(secs.encode())
n = 0
while True:
    b = s.recv(65536)
    if not b: break
    n += len(b)
print(n, flush=True)
EOF
nsx $S sh -c "echo \$\$ > $T_TMP/srv.pid; exec python3 $T_TMP/srv.py $PORT" >"$T_TMP/srv.log" 2>&1 &
for _ in $(seq 50); do grep -q listening "$T_TMP/srv.log" && break; sleep 0.1; done
SPID=$(cat "$T_TMP/srv.pid")

signal_addr() { # server announces exactly this per-server address
	nsx $S ip mptcp endpoint flush
	nsx $S ip mptcp endpoint add "$1" dev sv signal
}

# Joined source addresses toward DST:PORT (established subflows, from ss).
ssdst() { if [[ $1 == *:* ]]; then echo "[$1]"; else echo "$1"; fi; }
srcs_to() {
	nsx $C ss -tnH state established "dst $(ssdst "$1")" 2>/dev/null |
		awk -v p=":$PORT" '$4 ~ p"$" {a=$3; sub(/:[0-9]+$/, "", a); sub(/%.*$/, "", a); gsub(/[][]/, "", a); print a}' |
		sort -u | tr '\n' ' ' | sed 's/ $//'
}
count_to() { nsx $C ss -tnH state established "dst $(ssdst "$1")" 2>/dev/null | awk -v p=":$PORT" '$4 ~ p"$"' | wc -l; }
# wait_count DST WANT SECS: a wall-clock bound, not an iteration count: each
# `ip netns exec` costs more on a machine with many mounts, and a loop of 40
# of them once outlasted the 3 s connection it was watching (0 subflows left).
wait_count() {
	local deadline=$(( ${EPOCHREALTIME/./} + $3 * 1000000 ))
	while [ "${EPOCHREALTIME/./}" -lt "$deadline" ]; do
		[ "$(count_to "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

start_daemon() {
	"$MPLB" client run --netns $C -j >"$T_TMP/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 50); do [ -s /run/mplb/client-$C.json ] && break; sleep 0.1; done
	[ "$(nsx $C cat /proc/sys/net/mptcp/path_manager)" = userspace ]
}
stop_daemon() {
	kill -TERM "$DPID" 2>/dev/null
	local rc=0
	wait "$DPID" || rc=$?
	DPID=
	return $rc
}

# run_case NAME VIP PERSERVER K: one connection; expect K joins to PERSERVER
# (one per uplink) and none to the initial address beyond the initial subflow.
run_case() {
	local name=$1 vip=$2 ps=$3 k=$4 want
	nsx $C python3 "$T_TMP/cli.py" "$vip" $PORT 3 >"$T_TMP/cli.out" 2>&1 &
	local cpid=$!
	wait_count "$ps" "$k" 3
	local got srcs vipn
	got=$(count_to "$ps"); srcs=$(srcs_to "$ps"); vipn=$(count_to "$vip")
	want=$(for ((n = 1; n <= k; n++)); do
		if [[ $ps == *:* ]]; then echo "fd81:$n::2"; else echo "10.81.$n.2"; fi
	done | sort -u | tr '\n' ' ' | sed 's/ $//')
	echo "# $name: $got subflow(s) to $ps from [$srcs], $vipn to $vip"
	expect_eq "$name: one subflow per uplink to the per-server address" "$srcs/$got" "$want/$k"
	expect_eq "$name: no join to the initial address (C bit)" "$vipn" 1
	wait $cpid
	local bytes; bytes=$(tail -1 "$T_TMP/cli.out")
	if [ "${bytes:-0}" -gt 1000000 ] 2>/dev/null; then pass "$name: bytes flow ($bytes)"
	else fail "$name: bytes flow" "client got '${bytes}'"; fi
}

# ---- stock client sanity (no daemon) -----------------------------------------
signal_addr $V4_PS
out=$(nsx $C python3 "$T_TMP/cli.py" $V4_VIP $PORT 1 2>&1 | tail -1)
if [ "${out:-0}" -gt 100000 ] 2>/dev/null; then pass "stock client: connection works ($out bytes)"
else fail "stock client: connection works" "$out"; fi

# ---- the daemon: 2 uplinks, IPv4 ---------------------------------------------
# Client limits at 0: shows whether `ip mptcp limits` binds the userspace PM.
nsx $C ip mptcp limits set subflows 0 add_addr_accepted 0
if start_daemon; then pass "daemon starts and selects the userspace PM"
else fail "daemon starts and selects the userspace PM" "$(tail -3 "$T_TMP/daemon.log")"; fi
nsx $C nstat -az >/dev/null 2>&1
run_case "2 uplinks IPv4" $V4_VIP $V4_PS 2
addaddr=$(nsx $C nstat -az MPTcpExtAddAddr | awk '/MPTcpExtAddAddr /{print $2}')
echo_tx=$(nsx $C nstat -az MPTcpExtEchoAddTx | awk '/MPTcpExtEchoAddTx /{print $2}')
drop=$(nsx $C nstat -az MPTcpExtAddAddrDrop | awk '/MPTcpExtAddAddrDrop /{print $2}')
echo "# client counters: AddAddr $addaddr EchoAddTx $echo_tx AddAddrDrop $drop"
if [ "${echo_tx:-0}" -ge 1 ] && [ "${drop:-0}" -eq 0 ]; then pass "subscribed daemon keeps ADD_ADDR echoed (EchoAddTx $echo_tx, AddAddrDrop 0)"
else fail "subscribed daemon keeps ADD_ADDR echoed" "AddAddr $addaddr EchoAddTx $echo_tx AddAddrDrop $drop"; fi

st=$("$MPLB" client status --netns $C 2>&1)
if echo "$st" | grep -q "created subflow c2 → $V4_PS:$PORT: announced address, uplink c2 had none"; then
	pass "status explains decisions"; else fail "status explains decisions" "$(echo "$st" | tail -3)"; fi

# ---- 2 uplinks, IPv6 (ADD_ADDR without port fits beside timestamps) ----------
signal_addr $V6_PS
run_case "2 uplinks IPv6" $V6_VIP $V6_PS 2

# ---- a third uplink appears while the daemon runs ----------------------------
add_uplink 3
sleep 0.3
signal_addr $V4_PS
run_case "3 uplinks IPv4" $V4_VIP $V4_PS 3
signal_addr $V6_PS
run_case "3 uplinks IPv6" $V6_VIP $V6_PS 3

# ---- uplink down mid-connection, then up: re-created within 1 s --------------
signal_addr $V4_PS
nsx $C python3 "$T_TMP/cli.py" $V4_VIP $PORT 8 >"$T_TMP/cli.out" 2>&1 &
cpid=$!
if wait_count $V4_PS 3 3; then
	nsx $C ip link set c2 down
	gone=no
	for _ in $(seq 40); do
		srcs_to $V4_PS | grep -qw 10.81.2.2 || { gone=yes; break; }
		sleep 0.05
	done
	expect_eq "link down: its subflow closes" "$gone" yes
	sleep 0.5
	t0=$(date +%s.%N)
	nsx $C ip link set c2 up
	uplink_routes 2
	back=no
	for _ in $(seq 100); do
		srcs_to $V4_PS | grep -qw 10.81.2.2 && { back=yes; break; }
		sleep 0.02
	done
	t1=$(date +%s.%N)
	dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
	echo "# re-created subflow on c2 $dt s after 'ip link set c2 up'"
	grep 'subflow established c2' "$T_TMP/daemon.log" | tail -1 | sed 's/^/# daemon: /'
	if [ $back = yes ] && awk -v d="$dt" 'BEGIN{exit !(d < 1.0)}'; then
		pass "link up: subflow re-created within 1 s ($dt s)"
	else fail "link up: subflow re-created within 1 s" "back=$back after $dt s"; fi
else
	fail "link down/up" "initial 3 joins did not come up"
fi
wait $cpid
bytes=$(tail -1 "$T_TMP/cli.out")
if [ "${bytes:-0}" -gt 1000000 ] 2>/dev/null; then pass "connection survived the link flap ($bytes bytes)"
else fail "connection survived the link flap" "$bytes"; fi

if stop_daemon; then pass "daemon exits 0 on SIGTERM"; else fail "daemon exits 0 on SIGTERM"; fi
expect_eq "path_manager restored" "$(nsx $C cat /proc/sys/net/mptcp/path_manager)" kernel
[ -e /run/mplb/client-$C.json ] && fail "state file removed on exit" || pass "state file removed on exit"

# ---- negative control: stock in-kernel PM with `subflow` endpoints ----------
# The client namespace as a fresh one would be: kernel PM, no endpoints.
nsx $C ip mptcp endpoint flush
nsx $C ip mptcp limits set subflows 8 add_addr_accepted 8
for n in 1 2 3; do nsx $C ip mptcp endpoint add 10.81.$n.2 dev c$n subflow; done
mib() { nsx $C nstat -az "$@" | awk 'NR > 1 && $1 != "#kernel" {printf "%s=%s ", substr($1, 9), $2}'; }
mib0=$(mib MPTcpExtMPCapableSYNTX MPTcpExtMPJoinSynTx MPTcpExtAddAddr MPTcpExtMPCapableSYNTXDisabled)
nsx $C python3 "$T_TMP/cli.py" $V4_VIP $PORT 6 >"$T_TMP/cli.out" 2>&1 &
cpid=$!
# The join follows the server's ADD_ADDR: up to 4 s for it, then 0.5 s for a
# second one, all well inside the 6 s the connection lasts.
wait_count $V4_PS 1 4 && sleep 0.5
stock=$(count_to $V4_PS); stock_srcs=$(srcs_to $V4_PS)
echo "# stock in-kernel PM, 3 uplinks: $stock subflow(s) to $V4_PS from [$stock_srcs]"
if [ "$stock" != 1 ]; then
	echo "# client MIB before: $mib0"
	echo "# client MIB after:  $(mib MPTcpExtMPCapableSYNTX MPTcpExtMPJoinSynTx MPTcpExtAddAddr MPTcpExtMPCapableSYNTXDisabled)"
	echo "# $(nsx $C ip mptcp limits show | tr '\n' ' ') pm=$(nsx $C cat /proc/sys/net/mptcp/path_manager)"
	nsx $C ss -Mni | sed 's/^/# /'
fi
expect_eq "stock PM: one join to the announced address, one uplink" "$stock" 1
wait $cpid

exit $((T_FAILED > 0))
