#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Address attributes end to end: `mplb advert` on a server announces backup,
# priority and community next to its ADD_ADDRs; `mplb client` learns them
# from the wire and applies its policy units. Real kernels, namespaces
# mplbt-adv-<pid>-{c,r,s}, every byte verified by client/tests/mptcp_xfer.py.
#
#   client c1 10.82.1.2 fd82:1::2 ──┐            ┌── s1 10.82.100.2 (primary)  fd82:100::2
#          c2 10.82.2.2 fd82:2::2 ──┴─ router ──┤      10.82.100.3 (backup-hi, same interface)
#     (tbf 50mbit router->client)               └── s2 10.82.200.2 (backup-lo)  fd82:200::2
#
# Checks: make-after-break (MAB_RUNS runs: failover time distribution, and the
# stock in-kernel PM on the same scenario), make-before-break, priorities
# (byte share), communities (dual-stack server: 2 subflows), a server without
# mplb, and malformed attribute options (test hook of mplb advert).
source "$(dirname "$0")/../../tests/lib.sh"
need_root "address attributes e2e" || exit 0
for t in ip python3 nstat tc; do
	command -v $t >/dev/null || { skip "address attributes e2e" "$t missing"; exit 0; }
done
[ -x "$MPLB" ] || { fail "address attributes e2e" "build/mplb missing (make build/mplb)"; exit 1; }
if ! grep -qw userspace /proc/sys/net/mptcp/available_path_managers 2>/dev/null; then
	skip "address attributes e2e" "kernel without the userspace path manager"; exit 0
fi

MAB_RUNS=${MAB_RUNS:-5}
STOCK_RUNS=${STOCK_RUNS:-3}
P=mplbt-adv-$$
C=$P-c R=$P-r S=$P-s
PORT=8080
PRIMARY=10.82.100.2 BK_HI=10.82.100.3 BK_LO=10.82.200.2
PRIMARY6=fd82:100::2 S2_6=fd82:200::2
XFER="$MPLB_ROOT/client/tests/mptcp_xfer.py"
STATE=$T_TMP/run
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

DPID= APID= SPID=
cleanup_ns() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null
	[ -n "$APID" ] && kill "$APID" 2>/dev/null
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	sleep 0.3
	for ns in $C $R $S; do ip netns del "$ns" 2>/dev/null; done
}
on_exit cleanup_ns
[ -n "${MPLB_TEST_KEEP:-}" ] && on_exit "mkdir -p /tmp/mplb-addr-attrs; cp -r $T_TMP/* /tmp/mplb-addr-attrs/"

# ---- topology ----------------------------------------------------------------
for ns in $C $R $S; do
	ip netns add "$ns"
	nsx "$ns" ip link set lo up
	nsx "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv6.conf.all.keep_addr_on_down=1 net.ipv6.conf.default.keep_addr_on_down=1
done
nsx $R sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
uplink_routes() { # N: per-uplink tables (IPv4 routes vanish when the link goes down)
	local n=$1
	nsx $C ip route replace default via 10.82.$n.1 dev c$n table $((100 + n))
	nsx $C ip -6 route replace default via fd82:$n::1 dev c$n table $((100 + n))
	if [ "$n" = 1 ]; then
		nsx $C ip route replace default via 10.82.1.1
		nsx $C ip -6 route replace default via fd82:1::1
	fi
}
for n in 1 2; do
	ip link add c$n netns $C type veth peer r$n netns $R
	nsx $C ip addr add 10.82.$n.2/24 dev c$n; nsx $C ip addr add fd82:$n::2/64 dev c$n nodad
	nsx $R ip addr add 10.82.$n.1/24 dev r$n; nsx $R ip addr add fd82:$n::1/64 dev r$n nodad
	nsx $C ip link set c$n up; nsx $R ip link set r$n up
	uplink_routes $n
	nsx $C ip rule add from 10.82.$n.2 table $((100 + n))
	nsx $C ip -6 rule add from fd82:$n::2 table $((100 + n))
	# Rate-limit each path toward the client: transfers last, and the
	# scheduler has a reason to use more than one subflow.
	nsx $R tc qdisc add dev r$n root tbf rate 50mbit burst 64kb latency 50ms
done
for n in 1 2; do
	ip link add s$n netns $S type veth peer rs$n netns $R
	nsx $S ip link set s$n up; nsx $R ip link set rs$n up
done
nsx $S ip addr add $PRIMARY/24 dev s1; nsx $S ip addr add $BK_HI/32 dev s1
nsx $S ip addr add $PRIMARY6/64 dev s1 nodad
nsx $S ip addr add $BK_LO/24 dev s2; nsx $S ip addr add $S2_6/64 dev s2 nodad
nsx $R ip addr add 10.82.100.1/24 dev rs1; nsx $R ip addr add fd82:100::1/64 dev rs1 nodad
nsx $R ip addr add 10.82.200.1/24 dev rs2; nsx $R ip addr add fd82:200::1/64 dev rs2 nodad
nsx $R ip route add $BK_HI/32 via $PRIMARY
nsx $S ip route add default via 10.82.100.1; nsx $S ip -6 route add default via fd82:100::1
# Replies from s2's addresses leave by s2: the community is a real shared fate.
nsx $S ip route add default via 10.82.200.1 dev s2 table 200
nsx $S ip -6 route add default via fd82:200::1 dev s2 table 200
nsx $S ip rule add from $BK_LO table 200; nsx $S ip -6 rule add from $S2_6 table 200
nsx $S ip mptcp limits set subflows 8 add_addr_accepted 8

signal() { # the server's kernel PM announces exactly these addresses
	nsx $S ip mptcp endpoint flush
	local a dev
	for a in "$@"; do
		case $a in 10.82.200.*|fd82:200:*) dev=s2 ;; *) dev=s1 ;; esac
		nsx $S ip mptcp endpoint add "$a" dev $dev signal
	done
}

nsx $S sh -c "echo \$\$ > $T_TMP/srv.pid; exec python3 $XFER serve $PORT" >"$T_TMP/srv.log" 2>&1 &
for _ in $(seq 50); do grep -q listening "$T_TMP/srv.log" 2>/dev/null && break; sleep 0.1; done
SPID=$(cat "$T_TMP/srv.pid")

advert_start() { # CONFIG [extra args]
	local conf=$1; shift
	"$MPLB" advert run -c "$conf" --netns $S "$@" >"$T_TMP/advert.log" 2>&1 &
	APID=$!
	for _ in $(seq 50); do [ -s /run/mplb/advert-$S.json ] && break; sleep 0.1; done
	[ -s /run/mplb/advert-$S.json ]
}
advert_stop() { [ -n "$APID" ] && kill "$APID" 2>/dev/null && wait "$APID" 2>/dev/null; APID=; }

client_start() { # CONFIG
	"$MPLB" client run -c "$1" --netns $C -j >"$T_TMP/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 50); do [ -s $STATE/client-$C.json ] && break; sleep 0.1; done
	[ -s $STATE/client-$C.json ]
}
N_DAEMON=0
client_stop() {
	[ -n "$DPID" ] || return 0
	kill -TERM "$DPID" 2>/dev/null
	local rc=0
	wait "$DPID" || rc=$?
	N_DAEMON=$((N_DAEMON + 1))
	cp "$T_TMP/daemon.log" "$T_TMP/daemon-$N_DAEMON.log" 2>/dev/null # for MPLB_TEST_KEEP
	DPID=
	return $rc
}
client_conf() { # NAME POLICY [extra lines...]: writes $T_TMP/NAME.ini
	local name=$1 policy=$2; shift 2
	{
		echo "[client]"; echo "policy = $policy"; echo "state_dir = $STATE"
		for l in "$@"; do echo "$l"; done
	} >"$T_TMP/$name.ini"
}
status_json() { "$MPLB" client status -f $STATE/client-$C.json -j; }
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

# fetch NAME HOST SIZE: download in the background into $T_TMP/NAME.json
fetch_bg() {
	nsx $C python3 "$XFER" fetch "$2" $PORT "$3" --seed $RANDOM >"$T_TMP/$1.json" 2>"$T_TMP/$1.err" &
	FETCH_PID=$!
}
# Take uplink c1 down. T_DOWN: just before the `ip` that does it, in the same
# shell (the link goes down within ~2 ms after): a lower bound, so the times
# measured from it err on the slow side, and nothing that reacts to the break
# can be seen before it.
link_down() { T_DOWN=$(nsx $C sh -c 'date +%s.%N; exec ip link set c1 down'); }
# with_break NAME HOST SIZE DELAY: fetch, take uplink c1 down after DELAY s,
# wait for the end, bring c1 back. T_DOWN = time of the break.
with_break() {
	fetch_bg "$1" "$2" "$3"
	sleep "$4"
	link_down
	wait $FETCH_PID
	nsx $C ip link set c1 up
	uplink_routes 1
	sleep 0.3 # the daemon sees c1 again before the next connection
}
cat >"$T_TMP/advert-mab.ini" <<EOF
[advert]
interfaces = s1, s2
[address primary]
address = $PRIMARY
priority = 7
community = 1
[address backup-hi]
address = $BK_HI
backup = yes
priority = 6
community = 1
[address backup-lo]
address = $BK_LO
backup = yes
priority = 3
community = 2
EOF

# ---- 1. make-after-break -----------------------------------------------------
# The server announces a primary and two backups; the client keeps one
# subflow. Uplink c1 (the active path) goes down mid-transfer: the failover
# must go to the best backup in ANOTHER community (backup-lo, prio 3, not
# backup-hi, prio 6, which shares the primary's community) out of c2.
signal $BK_HI $BK_LO
advert_start "$T_TMP/advert-mab.ini" || fail "advert starts" "$(tail -3 "$T_TMP/advert.log")"
client_conf mab make-after-break "keep = one"
if client_start "$T_TMP/mab.ini"; then pass "client starts with make-after-break"
else fail "client starts with make-after-break" "$(tail -3 "$T_TMP/daemon.log")"; fi

sf_up=() first_rx=() resume=() first_new=() good=0
for i in $(seq "$MAB_RUNS"); do
	with_break mab$i $PRIMARY 12000000 0.8
	rep=$(python3 "$XFER" report "$T_TMP/mab$i.json" "$T_DOWN" "$BK_LO:$PORT" "10.82.1.2:" 2>&1)
	up=$(grep -o 'failover subflow to [^ ]* up [0-9]* ms' "$T_TMP/daemon.log" | tail -1 | awk '{print $6}')
	read -r ok nb before after frx res bkb fnew < <(echo "$rep" | jq_py '
rb=d["rx_before_by_remote"]
print(d["ok"], d["bytes"], len(d["subflows_before"]), ",".join(d["subflows_after"]) or "-",
      d["first_rx_ms"], d["resume_ms"], rb.get("'"$BK_HI"'", 0) + rb.get("'"$BK_LO"'", 0), d["first_new_ms"])')
	echo "# run $i: ok $ok bytes $nb, subflows before the break $before (bytes on backup paths $bkb), after: $after; failover subflow up ${up:-?} ms (daemon's clock), first bytes on it ${frx} ms, first new data ${fnew} ms, delivery resumed ${res} ms"
	if [ "$ok" = True ] && [ "$before" = 1 ] && [ "$bkb" = 0 ] && [[ $after == 10.82.2.2:*">$BK_LO:$PORT" ]] &&
	   [ "$frx" != None ] && [ "$res" != None ] &&
	   awk -v a="$frx" -v b="$res" 'BEGIN{exit !(a < 1000 && b < 1000)}'; then
		good=$((good + 1))
		sf_up+=("${up:-0}") first_rx+=("$frx") resume+=("$res") first_new+=("$fnew")
	fi
done
dist() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {if (!NR) {print "n/a"; exit}
	m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "min %s / median %s / max %s ms (n=%d)", v[1], m, v[NR], NR}'; }
echo "# make-after-break failover, $good/$MAB_RUNS runs:"
echo "#   failover subflow established: $(dist "${sf_up[@]}")"
echo "#   first bytes on it:            $(dist "${first_rx[@]}")"
echo "#   in-order delivery resumed:    $(dist "${resume[@]}") (128 KiB past the break)"
echo "#   first new data read:          $(dist "${first_new[@]}")"
expect_eq "make-after-break: every run byte-exact, 1 subflow before, c2 -> backup-lo after, within 1 s" "$good" "$MAB_RUNS"
st=$(status_json)
if echo "$st" | jq_py '
t=[x["text"] for x in d["decisions"]]
ok = any("is a backup address, used only after a break" in s for s in t) and \
     any("failover to backup '"$BK_LO"':'"$PORT"'" in s and "another community than the lost path" in s for s in t) and \
     any("withdrew local address id 0" in s for s in t)
sys.exit(0 if ok else 1)'; then pass "status explains the make-after-break decisions"
else fail "status explains the make-after-break decisions" "$(echo "$st" | head -c 600)"; fi
if echo "$st" | jq_py '
b=d["attributes"]["bpf"]
sys.exit(0 if d["attributes"]["pairs"] >= 3 and b["pairs"] >= 3 and not any(b[k] for k in b if k.startswith("bad_")) else 1)'; then
	pass "attributes came from the wire, none malformed"
else fail "attributes came from the wire, none malformed" "$(echo "$st" | jq_py 'print(d["attributes"])')"; fi
client_stop || fail "client exits 0 on SIGTERM"

# For comparison (no assertion): the same failover without withdrawing the
# lost address; the server then waits for its stale detection.
client_conf mab-nowd make-after-break "keep = one" "withdraw_lost = no"
client_start "$T_TMP/mab-nowd.ini" || fail "client starts (withdraw_lost = no)"
with_break mabnowd $PRIMARY 12000000 0.8
read -r ok res < <(python3 "$XFER" report "$T_TMP/mabnowd.json" "$T_DOWN" "$BK_LO:$PORT" | jq_py 'print(d["ok"], d["resume_ms"])')
echo "# make-after-break without the RM_ADDR withdrawal: ok $ok, delivery resumed ${res} ms after the break"
client_stop

# Same scenario, stock in-kernel PM with a `subflow` endpoint per uplink.
nsx $C ip mptcp limits set subflows 8 add_addr_accepted 8
nsx $C ip mptcp endpoint add 10.82.1.2 dev c1 subflow
nsx $C ip mptcp endpoint add 10.82.2.2 dev c2 subflow
s_resume=() s_subflows=() s_syn=() s_bk=() s_ok=0
for i in $(seq "$STOCK_RUNS"); do
	syn0=$(nsx $C nstat -az MPTcpExtMPJoinSynTx | awk '/MPJoinSynTx/{print $2}')
	with_break stock$i $PRIMARY 12000000 0.8
	syn1=$(nsx $C nstat -az MPTcpExtMPJoinSynTx | awk '/MPJoinSynTx/{print $2}')
	rep=$(python3 "$XFER" report "$T_TMP/stock$i.json" "$T_DOWN" "$PRIMARY:$PORT" "10.82.1.2:")
	read -r ok nsf res bk tot bkb < <(echo "$rep" | jq_py '
r=d["rx_by_remote"]; rb=d["rx_before_by_remote"]
print(d["ok"], len(d["subflows_before"]) + len(d["subflows_after"]), d["resume_ms"],
      r.get("'"$BK_HI"'", 0) + r.get("'"$BK_LO"'", 0), sum(r.values()),
      rb.get("'"$BK_HI"'", 0) + rb.get("'"$BK_LO"'", 0))')
	echo "# stock run $i: ok $ok, subflows $nsf, MPJoinSynTx $((syn1 - syn0)), bytes on backup paths $bk of $tot ($bkb before the break), delivery resumed ${res} ms after the break"
	[ "$ok" = True ] && s_ok=$((s_ok + 1))
	s_subflows+=("$nsf") s_syn+=("$((syn1 - syn0))") s_bk+=("$bk")
	[ "$res" != None ] && s_resume+=("$res")
done
echo "# stock in-kernel PM, same scenario ($STOCK_RUNS runs): subflows ${s_subflows[*]}, MPJoinSynTx ${s_syn[*]}, bytes on backup paths ${s_bk[*]}"
echo "#   in-order delivery resumed: $(dist "${s_resume[@]}")"
echo "# mplb make-after-break: subflows 2 (1 + the failover), MPJoinSynTx 1, bytes on backup paths only after the break"
expect_eq "stock PM: transfers byte-exact" "$s_ok" "$STOCK_RUNS"
nsx $C ip mptcp endpoint flush
nsx $C ip mptcp limits set subflows 2 add_addr_accepted 0

# ---- 1b. breaks past the client's uplinks ----------------------------------------
# The client's uplinks stay up; the active path fails elsewhere:
#   server   the server-side link of the active path (router port rs1) goes down;
#   blackhole the router drops everything to and from the primary address;
#   oneway   the router drops only what the primary address sends (100% loss,
#            one direction);
#   oneway_up the router drops only what is sent to the primary address (the
#            client's ACKs and probes; the other direction).
# The daemon sees it in the subflow's tcp_info (no data after a stream and an
# unanswered probe, or data in flight and no ACK) and fails over as for an
# uplink loss. Measured at the application: the first byte read that had not
# reached the client by the break, and delivery 128 KiB past it. The path is
# repaired REPAIR_S after the break, so every transfer ends.
DARK_RUNS=${DARK_RUNS:-3}
DARK_KINDS=${DARK_KINDS:-server blackhole oneway oneway_up}
REPAIR_S=${REPAIR_S:-2}
break_on() { # KIND: the active path fails; T_DOWN is taken just before
	case $1 in
	client) T_DOWN=$(nsx $C sh -c 'date +%s.%N; exec ip link set c1 down') ;;
	server) T_DOWN=$(nsx $R sh -c 'date +%s.%N; exec ip link set rs1 down') ;;
	blackhole) T_DOWN=$(nsx $R sh -c "date +%s.%N; ip rule add to $PRIMARY blackhole pref 5; exec ip rule add from $PRIMARY blackhole pref 6") ;;
	oneway) T_DOWN=$(nsx $R sh -c "date +%s.%N; exec ip rule add from $PRIMARY blackhole pref 6") ;;
	oneway_up) T_DOWN=$(nsx $R sh -c "date +%s.%N; exec ip rule add to $PRIMARY blackhole pref 5") ;;
	esac
}
break_off() { # KIND: the repair
	case $1 in
	client) nsx $C ip link set c1 up; uplink_routes 1 ;;
	server) nsx $R ip link set rs1 up; nsx $R ip route replace $BK_HI/32 via $PRIMARY 2>/dev/null ;;
	blackhole) nsx $R ip rule del pref 5; nsx $R ip rule del pref 6 ;;
	oneway) nsx $R ip rule del pref 6 ;;
	oneway_up) nsx $R ip rule del pref 5 ;;
	esac
}
# dark_run NAME KIND: a 12 MB fetch, the break after 0.8 s, the repair REPAIR_S later.
dark_run() {
	fetch_bg "$1" $PRIMARY 12000000
	sleep 0.8
	break_on "$2"
	sleep "$REPAIR_S"
	break_off "$2"
	wait $FETCH_PID
	sleep 0.5 # repaired paths settle (neighbours, routes) before the next run
}
# The subflows a break kills: their bytes, drained after the break, are not new data.
dead_of() { # KIND
	case $1 in client) echo "10.82.1.2:" ;; server) echo ">10.82.100." ;; *) echo ">$PRIMARY:" ;; esac
}
# dark_report NAME KIND: "ok first_new resume subflows_before bytes_on_backups_before after"
dark_report() {
	python3 "$XFER" report "$T_TMP/$1.json" "$T_DOWN" "$BK_LO:$PORT" "$(dead_of "$2")" | jq_py '
rb=d["rx_before_by_remote"]
print(d["ok"], d["first_new_ms"], d["resume_ms"], len(d["subflows_before"]),
      rb.get("'"$BK_HI"'", 0) + rb.get("'"$BK_LO"'", 0), ",".join(d["subflows_after"]) or "-")'
}
p95() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {if (!NR) {print "n/a"; exit}
	i = int(0.95 * NR + 0.999); if (i > NR) i = NR; m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2
	printf "p50 %s / p95 %s / max %s ms (n=%d)", m, v[i], v[NR], NR}'; }
echo "# ---- breaks past the client's uplinks: $DARK_RUNS runs per kind and policy"
: >"$T_TMP/dark.tsv"
for pol in make-after-break make-before-break; do
	client_conf dark-$pol $pol "keep = one"
	client_start "$T_TMP/dark-$pol.ini" || fail "client starts ($pol, dark paths)" "$(tail -3 "$T_TMP/daemon.log")"
	for kind in $DARK_KINDS; do
		fn=() good=0
		for i in $(seq "$DARK_RUNS"); do
			dark_run dark-$pol-$kind$i $kind
			read -r ok fnew res before bkb after < <(dark_report dark-$pol-$kind$i $kind)
			echo "# $pol $kind run $i: ok $ok, subflows before $before (backup bytes $bkb), after: $after; first new data ${fnew} ms, delivery resumed ${res} ms"
			echo "$pol $kind $i $ok $fnew $res" >>"$T_TMP/dark.tsv"
			if [ "$ok" = True ] && [ "$fnew" != None ] && [ "$bkb" = 0 ] &&
			   awk -v a="$fnew" 'BEGIN{exit !(a < 1000)}'; then
				good=$((good + 1)); fn+=("$fnew")
			fi
		done
		echo "# $pol, $kind: first new data after the break $(p95 "${fn[@]}")"
		expect_eq "$pol, break $kind: byte-exact, nothing on backups before, new data within 1 s" "$good" "$DARK_RUNS"
	done
	if [ "$DARK_KINDS" = client ]; then :; # an uplink event, no dark path to name
	elif grep -q 'is dark: ' "$T_TMP/daemon.log"; then pass "$pol: the daemon names the dark path and why"
	else fail "$pol: the daemon names the dark path and why" "$(tail -3 "$T_TMP/daemon.log")"; fi
	# Back to the primary once it recovers: a longer transfer, the blackhole lifted 2 s in.
	fetch_bg dark-$pol-return $PRIMARY 40000000
	sleep 0.8
	break_on blackhole
	sleep 2
	break_off blackhole
	wait $FETCH_PID
	read -r ok pb pa < <(python3 "$XFER" report "$T_TMP/dark-$pol-return.json" "$T_DOWN" "$BK_LO:$PORT" | jq_py '
print(d["ok"], d["rx_before_by_remote"].get("'"$PRIMARY"'", 0), d["rx_by_remote"].get("'"$PRIMARY"'", 0))')
	trials=$(grep -c 'trying .* again' "$T_TMP/daemon.log")
	echo "# $pol: bytes from the primary before the break $pb, in all $pa; trials of the primary $trials"
	if [ "$ok" = True ] && [ "$pa" -gt $((pb + 1000000)) ] && grep -q 'is back (up' "$T_TMP/daemon.log" && [ "$trials" -le 3 ]; then
		pass "$pol: back on the primary after it recovers (at most 3 trials)"
	else fail "$pol: back on the primary after it recovers" "ok $ok, primary bytes $pb -> $pa, trials $trials"; fi
	client_stop || fail "client exits 0 on SIGTERM ($pol, dark paths)"
done
# Probes on a live path are harmless: a paced download (64 KiB every 1.6 s) leaves the subflow
# idle between chunks, so the daemon probes it (idle and after each chunk); every probe must be
# answered, nothing declared dark, the transfer byte-exact, and no MPTCP reset or MP_FAIL on
# either side.
client_conf probes make-after-break "keep = one"
client_start "$T_TMP/probes.ini" || fail "client starts (probes)" "$(tail -3 "$T_TMP/daemon.log")"
nsx $S sh -c "exec python3 $XFER serve $((PORT + 1)) --pace 40000" >"$T_TMP/srv-pace.log" 2>&1 &
PPID2=$!
for _ in $(seq 50); do grep -q listening "$T_TMP/srv-pace.log" 2>/dev/null && break; sleep 0.1; done
mib() { nsx "$1" nstat -az "$2" | awk -v k="$2" '$1 == k {print $2}'; }
c_rst0=$(mib $C MPTcpExtMPRstTx) s_rst0=$(mib $S MPTcpExtMPRstTx) s_fail0=$(mib $S MPTcpExtMPFailTx)
s_oow0=$(mib $S TcpExtTCPACKSkippedSeq)
nsx $C python3 "$XFER" fetch $PRIMARY $((PORT + 1)) 327680 --seed 7 >"$T_TMP/probes.json" 2>"$T_TMP/probes.err"
pok=$(jq_py 'print(d["ok"])' <"$T_TMP/probes.json" 2>/dev/null)
kill "$PPID2" 2>/dev/null; wait "$PPID2" 2>/dev/null
c_rst=$(( $(mib $C MPTcpExtMPRstTx) - c_rst0 )) s_rst=$(( $(mib $S MPTcpExtMPRstTx) - s_rst0 ))
s_fail=$(( $(mib $S MPTcpExtMPFailTx) - s_fail0 )) s_oow=$(( $(mib $S TcpExtTCPACKSkippedSeq) - s_oow0 ))
ndark=$(grep -c 'is dark: ' "$T_TMP/daemon.log")
sleep 1.1 # the state file is rewritten every second
read -r nprobe nans < <(status_json | jq_py 'h=d["health"]; print(h["probes"], h["answered"])')
echo "# probes on a live path: transfer ok $pok; probes $nprobe, answered $nans; dark paths $ndark; MP_RST sent client $c_rst server $s_rst, MP_FAIL $s_fail; server answers held back by its rate limit $s_oow"
if [ "$pok" = True ] && [ "$ndark" = 0 ] && [ "$c_rst" = 0 ] && [ "$s_rst" = 0 ] && [ "$s_fail" = 0 ] &&
   [ "${nprobe:-0}" -ge 2 ] && [ "$nans" = "$nprobe" ]; then
	pass "probes on a live, idle path: answered, nothing dark, byte-exact, no MPTCP reset or MP_FAIL"
else fail "probes on a live path" "ok $pok dark $ndark rst $c_rst/$s_rst fail $s_fail"; fi
client_stop
advert_stop
# The stock in-kernel PM, the server's endpoints flagged backup, the same breaks.
nsx $S ip mptcp endpoint flush
for a in $BK_HI $BK_LO; do
	case $a in 10.82.200.*) dev=s2 ;; *) dev=s1 ;; esac
	nsx $S ip mptcp endpoint add "$a" dev $dev signal backup
done
nsx $C ip mptcp limits set subflows 8 add_addr_accepted 8
nsx $C ip mptcp endpoint add 10.82.1.2 dev c1 subflow
nsx $C ip mptcp endpoint add 10.82.2.2 dev c2 subflow
for kind in $DARK_KINDS; do
	fn=()
	for i in $(seq "${STOCK_DARK_RUNS:-1}"); do
		dark_run stock-$kind$i $kind
		read -r ok fnew res before bkb after < <(dark_report stock-$kind$i $kind)
		echo "# stock $kind run $i: ok $ok, first new data ${fnew} ms, delivery resumed ${res} ms"
		echo "stock $kind $i $ok $fnew $res" >>"$T_TMP/dark.tsv"
		[ "$fnew" != None ] && fn+=("$fnew")
	done
	echo "# stock PM (backup endpoints), $kind: first new data $(p95 "${fn[@]}")"
done
nsx $C ip mptcp endpoint flush
nsx $C ip mptcp limits set subflows 2 add_addr_accepted 0
signal $BK_HI $BK_LO
advert_start "$T_TMP/advert-mab.ini" || fail "advert starts again" "$(tail -3 "$T_TMP/advert.log")"
[ -n "${MPLB_DARK_TSV:-}" ] && cp "$T_TMP/dark.tsv" "$MPLB_DARK_TSV"

# ---- 2. make-before-break -----------------------------------------------------
client_conf mbb make-before-break "keep = one"
client_start "$T_TMP/mbb.ini" || fail "client starts with make-before-break" "$(tail -3 "$T_TMP/daemon.log")"
fetch_bg mbb $PRIMARY 12000000
sleep 0.8
sb=$(status_json | jq_py '
c=d["connections"][0]
s=[x for x in c["subflows"] if x.get("standby")]
print(len(s), s[0]["remote"] if s else "-", s[0]["uplink"] if s else "-", s[0]["backup"] if s else "-", s[0]["state"] if s else "-")')
echo "# make-before-break before the break: standby count, remote, uplink, backup, state: $sb"
expect_eq "make-before-break: one standby to the best backup in another community (another uplink, backup flag)" "$sb" "1 $BK_LO:$PORT c2 True established"
link_down
wait $FETCH_PID
nsx $C ip link set c1 up; uplink_routes 1
rep=$(python3 "$XFER" report "$T_TMP/mbb.json" "$T_DOWN" "$BK_LO:$PORT" "10.82.1.2:")
read -r ok res < <(echo "$rep" | jq_py 'print(d["ok"], d["resume_ms"])')
echo "# make-before-break: ok $ok, delivery resumed ${res} ms after the break"
if [ "$ok" = True ] && [ "$res" != None ] && awk -v r="$res" 'BEGIN{exit !(r < 1000)}' &&
   grep -q 'standby promoted' "$T_TMP/daemon.log"; then
	pass "make-before-break: standby promoted (MP_PRIO), byte-exact, resumed within 1 s"
else fail "make-before-break: standby promoted" "ok $ok resume $res; $(grep -o 'make-before-break[^"]*' "$T_TMP/daemon.log" | tail -3)"; fi
client_stop
advert_stop
sleep 0.3

# ---- 3. priorities -------------------------------------------------------------
# Three non-backup addresses, priorities 7, 4, 1. Spread opens a subflow from
# each uplink to each; the priority unit flags all but the priority-7 ones
# backup, so the server's scheduler sends on those only.
cat >"$T_TMP/advert-prio.ini" <<EOF
[advert]
interfaces = s1, s2
[address primary]
address = $PRIMARY
priority = 7
community = 1
[address mid]
address = $BK_HI
priority = 4
community = 1
[address low]
address = $BK_LO
priority = 1
community = 2
EOF
advert_start "$T_TMP/advert-prio.ini" || fail "advert starts (priorities)"
share() { # FETCH_JSON: share of bytes received from $PRIMARY, in percent
	python3 "$XFER" shares "$1" | jq_py 'print("%.1f" % (100.0 * d.get("'"$PRIMARY"'", 0) / max(1, sum(d.values()))), len(d))'
}
for pol in spread priority; do
	client_conf prio-$pol $pol
	client_start "$T_TMP/prio-$pol.ini" || fail "client starts ($pol)"
	fetch_bg prio-$pol $PRIMARY 20000000
	wait $FETCH_PID
	read -r pct nrem < <(share "$T_TMP/prio-$pol.json")
	ok=$(jq_py 'print(d["ok"])' <"$T_TMP/prio-$pol.json")
	nsf=$(jq_py 'print(len(d["subflows"]))' <"$T_TMP/prio-$pol.json")
	echo "# policy $pol: $nsf subflows to $nrem addresses, $pct% of the bytes from the priority-7 address (byte-exact: $ok)"
	eval "pct_$pol=$pct ok_$pol=$ok"
	if [ $pol = priority ]; then
		flags="$(grep -c 'created subflow.*\[backup\]' "$T_TMP/daemon.log") opened with the backup flag, $(grep -c 'backup (MP_PRIO)' "$T_TMP/daemon.log") marked backup later"
	fi
	client_stop
done
echo "# priority: subflows to lower priorities: ${flags:-?}"
if [ "$ok_priority" = True ] && awk -v p="$pct_priority" 'BEGIN{exit !(p >= 90)}'; then
	pass "priorities: the highest-priority address carries >= 90% of the bytes ($pct_priority%, spread alone: $pct_spread%)"
else fail "priorities: >= 90% on the highest-priority address" "priority $pct_priority% (ok $ok_priority), spread $pct_spread%"; fi
advert_stop
sleep 0.3

# ---- 4. communities (dual-stack server, the draft's example) ------------------
# Two server interfaces, IPv4 and IPv6 on each (community 1 on s1, 2 on s2).
# The client connects over IPv6 to s1 and may use IPv4 subflows (dual-stack
# socket, cross_family): spread would open to every address from every
# uplink; the community unit opens exactly one more, into s2's community.
cat >"$T_TMP/advert-comm.ini" <<EOF
[advert]
interfaces = s1, s2
[address s1-v4]
address = $PRIMARY
community = 1
priority = 5
[address s1-v6]
address = $PRIMARY6
community = 1
priority = 5
[address s2-v4]
address = $BK_LO
community = 2
priority = 5
[address s2-v6]
address = $S2_6
community = 2
priority = 5
EOF
signal $PRIMARY $BK_LO $S2_6
advert_start "$T_TMP/advert-comm.ini" || fail "advert starts (communities)"
for pol in spread community; do
	client_conf comm-$pol $pol "cross_family = yes"
	client_start "$T_TMP/comm-$pol.ini" || fail "client starts ($pol)"
	fetch_bg comm-$pol $PRIMARY6 4000000
	wait $FETCH_PID
	sleep 0.2
	res=$(jq_py '
rs=sorted(set(k.split(">")[1].rsplit(":",1)[0] for k in d["subflows"]))
s1={"'"$PRIMARY"'","'"$PRIMARY6"'"}; s2={"'"$BK_LO"'","'"$S2_6"'"}
print(d["ok"], len(d["subflows"]), sum(r in s1 for r in rs), sum(r in s2 for r in rs), ",".join(rs))' <"$T_TMP/comm-$pol.json")
	echo "# policy $pol (cross_family): ok, subflows, to s1, to s2, addresses: $res"
	eval "comm_$pol=\"$res\""
	client_stop
done
read -r ok nsf n1 n2 _ <<<"$comm_community"
if [ "$ok" = True ] && [ "$nsf" = 2 ] && [ "$n1" = 1 ] && [ "$n2" = 1 ]; then
	pass "communities: dual-stack server gets exactly 2 subflows, one per interface (spread: $(echo "$comm_spread" | awk '{print $2}'))"
else fail "communities: exactly 2 subflows, one per interface" "$comm_community"; fi
advert_stop

# ---- 5. a server without mplb ---------------------------------------------------
# No advert: the client's units work on plain addresses (legacy: priority 0,
# own community), nothing is counted as malformed, transfers are byte-exact.
signal $BK_HI $BK_LO
client_conf stock-srv "community, priority, make-after-break" "attr_wait_ms = 100"
client_start "$T_TMP/stock-srv.ini" || fail "client starts (stock server)"
with_break stocksrv $PRIMARY 8000000 0.6
rep=$(python3 "$XFER" report "$T_TMP/stocksrv.json" "$T_DOWN" "$BK_HI:$PORT")
read -r ok res < <(echo "$rep" | jq_py 'print(d["ok"], d["resume_ms"])')
st=$(status_json)
read -r pairs bad waited < <(echo "$st" | jq_py '
a=d["attributes"]; b=a.get("bpf", {})
print(a["pairs"], sum(v for k, v in b.items() if k.startswith("bad_")), a["decided_without"])')
echo "# server without mplb: ok $ok, resumed ${res} ms after the break, attribute pairs $pairs, malformed $bad, addresses decided without attributes $waited"
if [ "$ok" = True ] && [ "$pairs" = 0 ] && [ "$bad" = 0 ] && ! grep -qi '"kind":"error"\|mplb: error' "$T_TMP/daemon.log"; then
	pass "server without mplb: works, no attributes, nothing malformed, no errors logged"
else fail "server without mplb" "ok $ok pairs $pairs bad $bad"; fi
client_stop

# ---- 6. malformed attribute options (mplb advert's test hook) ------------------
client_conf malformed make-after-break "attr_wait_ms = 100"
declare -A reason=([short]=bad_short [odd]=bad_odd [overlong]=bad_truncated [empty]=empty [dup]=bad_dup_id)
signal $BK_LO
for kind in short odd overlong empty dup; do
	advert_start "$T_TMP/advert-mab.ini" --test-malform $kind || fail "advert starts (--test-malform $kind)"
	client_start "$T_TMP/malformed.ini" || fail "client starts (malformed $kind)"
	fetch_bg mal-$kind $PRIMARY 3000000
	wait $FETCH_PID
	sleep 0.3
	ok=$(jq_py 'print(d["ok"])' <"$T_TMP/mal-$kind.json")
	read -r cnt pairs_bk alive < <(status_json | jq_py '
b=d["attributes"]["bpf"]
rs=[r for c in d["connections"] for r in c["remote_addresses"] if r["address"] == "'"$BK_LO"'"]
print(b["'"${reason[$kind]}"'"], sum(1 for r in rs if r["attributes"] and r["attributes"]["source"] == "wire"), 1)')
	echo "# malformed '$kind': ${reason[$kind]} $cnt, wire attributes applied to $BK_LO: $pairs_bk, transfer ok $ok"
	if [ "$ok" = True ] && [ "${cnt:-0}" -ge 1 ] && [ "$pairs_bk" = 0 ] && kill -0 "$DPID" 2>/dev/null; then
		pass "malformed '$kind' option: counted as ${reason[$kind]}, ignored, connection fine"
	else fail "malformed '$kind' option" "count ${cnt:-?} applied ${pairs_bk:-?} ok $ok"; fi
	client_stop
	advert_stop
done

exit $((T_FAILED > 0))
