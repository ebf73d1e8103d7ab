#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mplb decode -j against tshark's MPTCP dissector on real kernel traffic.
#
# Two namespaces (client, server) joined by two veth paths, IPv4 + IPv6 on
# both. The server announces 10.71.2.2 (ADD_ADDR without port), 10.71.2.3
# port 20001 (with port) and later fd71:2::2; the client has subflow
# endpoints on path 2 (MP_JOIN). Three connections:
#   1. IPv4, server C flag set: client endpoint -> backup (MP_PRIO), server
#      endpoint deleted (REMOVE_ADDR), normal close (DATA_FIN)
#   2. IPv6, C flag clear, normal close
#   3. IPv4, closed with SO_LINGER {1,0} (MP_FASTCLOSE + MP_TCPRST)
# Captures: server "-i any" (Linux cooked v2) and client path 1 (Ethernet).
# compare_tshark.py pairs every MPTCP option with tshark's and compares every
# field; each required category must be present and agree.
# The same capture re-encapsulated (SLL, raw IP, NULL, LOOP, 802.1Q, QinQ,
# pcapng) must decode to the same options.
. "$(dirname "$0")/../../tests/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
TRAFFIC=$HERE/mptcp_traffic.py
W=$T_TMP
NSC=mplbt-dec-$$-c
NSS=mplbt-dec-$$-s
PORT=8080

need_root "decode vs tshark" || exit 0
for tool in tshark tcpdump editcap; do
	if ! command -v $tool >/dev/null; then skip "decode vs tshark" "$tool not installed"; exit 0; fi
done
if [ ! -x "$MPLB" ]; then fail "decode vs tshark" "$MPLB missing (make build/mplb)"; exit 1; fi

# Bounded wait: wait_until SECONDS CMD...
wait_until() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.1
	done
}
# Start a background process inside a namespace, recording its real PID
# (platform-cookbook §10.9: $! of "ip netns exec" would be a wrapper).
ns_spawn() { # NAME NS CMD...
	local name=$1 ns=$2; shift 2
	ip netns exec "$ns" sh -c 'echo $$ > "$0"; exec "$@"' "$W/$name.pid" "$@" \
		>"$W/$name.out" 2>&1 &
	wait_until 5 test -s "$W/$name.pid"
}
stop_pid() { # NAME [SIGNAL]: signal, then wait (bounded) for it to exit
	local f=$W/$1.pid pid
	[ -s "$f" ] || return 0
	pid=$(cat "$f")
	kill -"${2:-TERM}" "$pid" 2>/dev/null
	wait_until 5 sh -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null
	rm -f "$f"
}
on_exit "ip netns del $NSC; ip netns del $NSS"
on_exit "stop_pid server; stop_pid cap_any INT; stop_pid cap_eth INT"
on_exit 'kill ${CLIENT_PID:-} 2>/dev/null'

setup() {
	ip netns add $NSC && ip netns add $NSS || return 1
	for ns in $NSC $NSS; do
		ip -n $ns link set lo up
		ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
		ip -n $ns mptcp limits set subflows 8 add_addr_accepted 8
	done
	ip link add c1 netns $NSC type veth peer s1 netns $NSS &&
	ip link add c2 netns $NSC type veth peer s2 netns $NSS || return 1
	ip -n $NSC addr add 10.71.1.1/24 dev c1 && ip -n $NSS addr add 10.71.1.2/24 dev s1 &&
	ip -n $NSC addr add 10.71.2.1/24 dev c2 && ip -n $NSS addr add 10.71.2.2/24 dev s2 &&
	ip -n $NSS addr add 10.71.2.3/24 dev s2 &&
	ip -n $NSC addr add fd71:1::1/64 dev c1 nodad && ip -n $NSS addr add fd71:1::2/64 dev s1 nodad &&
	ip -n $NSC addr add fd71:2::1/64 dev c2 nodad && ip -n $NSS addr add fd71:2::2/64 dev s2 nodad || return 1
	for l in c1 c2; do ip -n $NSC link set $l up; done
	for l in s1 s2; do ip -n $NSS link set $l up; done
	# Joins are denied to the server's initial address while this is 0 (C flag).
	ip netns exec $NSS sysctl -qw net.mptcp.allow_join_initial_addr_port=0 &&
	ip -n $NSS mptcp endpoint add 10.71.2.2 dev s2 id 1 signal &&
	ip -n $NSS mptcp endpoint add 10.71.2.3 dev s2 id 2 port 20001 signal &&
	ip -n $NSC mptcp endpoint add 10.71.2.1 dev c2 id 1 subflow
}

# client NAME ADDR EXTRA_SUBFLOWS [--linger0]; then the caller acts and calls go NAME
client_start() {
	local name=$1 addr=$2 subflows=$3; shift 3
	mkdir -p "$W/$name"
	# timeout: a backstop; the client bounds its own waits (about 15 s at most)
	timeout 25 ip netns exec $NSC $PY "$TRAFFIC" client "$addr" $PORT --subflows "$subflows" \
		--marks "$W/$name" "$@" >"$W/$name.out" 2>&1 &
	CLIENT_PID=$!
	if ! wait_until 8 test -s "$W/$name/connected"; then
		fail "traffic $name" "client did not connect: $(tail -2 "$W/$name.out" | tr '\n' ' ')"
		kill $CLIENT_PID 2>/dev/null; wait $CLIENT_PID 2>/dev/null
		return 1
	fi
}
client_finish() {
	local name=$1 rc
	touch "$W/$name/go"
	wait $CLIENT_PID; rc=$?
	if [ $rc -eq 0 ]; then
		pass "traffic $name ($(cat "$W/$name/connected" | tr -d '\n') extra subflows)"
	else
		fail "traffic $name" "client exit $rc: $(tail -2 "$W/$name.out" | tr '\n' ' ')"
	fi
}

if ! setup; then fail "namespace setup"; exit 1; fi
# -s 256: headers and options only; -B: a full-size snaplen with the default
# buffer leaves a handful of ring slots and the kernel drops bursts.
ns_spawn cap_any $NSS tcpdump -Z root --immediate-mode -U -B 8192 -s 256 -i any -w "$W/any.pcap" tcp
ns_spawn cap_eth $NSC tcpdump -Z root --immediate-mode -U -B 8192 -s 256 -i c1 -w "$W/eth.pcap" tcp
ns_spawn server $NSS $PY "$TRAFFIC" server $PORT --lifetime 60
wait_until 5 grep -q listening "$W/server.out" || { fail "server start" "$(cat "$W/server.out")"; exit 1; }
wait_until 5 grep -q listening "$W/cap_any.out"
wait_until 5 grep -q listening "$W/cap_eth.out"

# 1: IPv4, C flag, MP_PRIO, REMOVE_ADDR
if client_start conn1 10.71.1.2 2; then
	ip -n $NSC mptcp endpoint change id 1 backup
	sleep 0.3
	ip -n $NSS mptcp endpoint delete id 1
	sleep 0.3
	client_finish conn1
fi
# 2: IPv6, C flag clear, IPv6 announcement and joins
ip netns exec $NSS sysctl -qw net.mptcp.allow_join_initial_addr_port=1
ip -n $NSS mptcp endpoint add fd71:2::2 dev s2 id 3 signal
ip -n $NSC mptcp endpoint add fd71:2::1 dev c2 id 2 subflow
if client_start conn2 fd71:1::2 2; then client_finish conn2; fi
# 3: IPv4, abortive close -> MP_FASTCLOSE
if client_start conn3 10.71.1.2 1 --linger0; then client_finish conn3; fi
sleep 0.3
stop_pid cap_any INT
stop_pid cap_eth INT
stop_pid server

# ---- compare ----
REQUIRED=(
	"ipv4 MP_CAPABLE SYN/SYN-ACK/ACK" "ipv4 MP_CAPABLE syn" "ipv4 MP_CAPABLE synack" "ipv4 MP_CAPABLE ack"
	"ipv6 MP_CAPABLE SYN/SYN-ACK/ACK" "ipv6 MP_CAPABLE syn" "ipv6 MP_CAPABLE synack" "ipv6 MP_CAPABLE ack"
	"first data"
	"ipv4 MP_JOIN SYN/SYN-ACK/ACK" "ipv4 MP_JOIN syn" "ipv4 MP_JOIN synack" "ipv4 MP_JOIN ack"
	"ipv6 MP_JOIN SYN/SYN-ACK/ACK" "ipv6 MP_JOIN syn" "ipv6 MP_JOIN synack" "ipv6 MP_JOIN ack"
	"DSS data ACK only" "DSS mapping with data ACK"
	"ADD_ADDR without port" "ADD_ADDR with port" "ADD_ADDR echo" "ADD_ADDR IPv6 address"
	"REMOVE_ADDR" "MP_PRIO" "MP_FASTCLOSE" "MP_CAPABLE C flag set" "MP_CAPABLE C flag clear"
	"packet fields (frame, time, addresses, ports, flags)"
)

# judge LABEL REPORT: PASS/FAIL per required category, info for the rest
judge() {
	local label=$1 report=$2 cat line fields bad
	for cat in "${REQUIRED[@]}"; do
		line=$(awk -F'\t' -v c="$cat" '$1 == c' "$report")
		if [ -z "$line" ]; then
			fail "$label: $cat" "not present in the capture"
			continue
		fi
		fields=$(echo "$line" | cut -f2); bad=$(echo "$line" | cut -f3)
		if [ "$bad" = 0 ] && [ "$fields" -gt 0 ]; then
			pass "$label: $cat fields agree ($fields fields)"
		else
			fail "$label: $cat" "$bad of $fields fields disagree"
		fi
	done
	# categories that are not required (kernel-dependent) still must agree
	local req=$(printf '%s\n' "${REQUIRED[@]}")
	while read -r cat; do
		grep -qxF "$cat" <<<"$req" || fail "$label: $cat" "fields disagree"
	done < <(awk -F'\t' 'NF == 4 && $3 != 0 { print $1 }' "$report")
	awk -F'\t' 'NF == 4 { printf "    %s: %d fields\n", $1, $2 }' "$report"
	grep -E '^(MISMATCH|fields compared|total)' "$report" | head -30 | sed 's/^/    /'
}

for cap in any eth; do
	if [ ! -s "$W/$cap.pcap" ]; then fail "capture $cap" "empty: $(cat "$W/cap_$cap.out")"; continue; fi
	"$MPLB" decode -j "$W/$cap.pcap" >"$W/$cap.jsonl" 2>"$W/$cap.err"
	rc=$?
	expect_eq "decode -j $cap.pcap exit status" "$rc" 0
	grep -q ' 0 malformed' "$W/$cap.err" || fail "decode $cap.pcap" "$(cat "$W/$cap.err")"
	$PY "$HERE/compare_tshark.py" "$W/$cap.pcap" "$W/$cap.jsonl" >"$W/$cap.report" 2>&1
	rc=$?
	if [ "$cap" = any ]; then
		judge "sll2 capture" "$W/$cap.report"
	else
		fields=$(awk -F'\t' '$1 == "all options" { print $2 }' "$W/$cap.report")
		if [ $rc -eq 0 ] && [ "${fields:-0}" -gt 0 ]; then
			pass "ethernet capture (client path 1) agrees with tshark ($fields option fields)"
		else
			fail "ethernet capture agrees with tshark" "$(grep -E 'MISMATCH|total|failed' "$W/$cap.report" | head -5 | tr '\n' ' ')"
		fi
	fi
done

# Negative control: one corrupted field must be caught.
if [ -s "$W/any.jsonl" ]; then
	$PY "$HERE/compare_tshark.py" --corrupt "$W/any.pcap" "$W/any.jsonl" >"$W/neg.report" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -q 'MISMATCH.*sendkey' "$W/neg.report" &&
	   grep -q '^total mismatches: 1$' "$W/neg.report"; then
		pass "negative control: a corrupted sender_key is reported"
	else
		fail "negative control" "comparator exit $rc: $(grep -E 'corrupted|MISMATCH|total' "$W/neg.report" | head -3 | tr '\n' ' ')"
	fi

	# Text output: one line per option as in JSON, and readable.
	"$MPLB" decode "$W/any.pcap" >"$W/any.txt" 2>/dev/null
	expect_eq "text output has one line per JSON record" "$(wc -l <"$W/any.txt")" "$(wc -l <"$W/any.jsonl")"
	check "text output shows MP_CAPABLE with C=1 and a key" \
		grep -qE '^frame [0-9]+ 10\.71\.1\.2:8080 > 10\.71\.1\.1:[0-9]+ \[S\.\] MP_CAPABLE v1 .*C=1 H=1 sender_key 0x[0-9a-f]{16}$' "$W/any.txt"

	# Same packets, other encapsulations: identical decode.
	for lt in sll raw null loop vlan qinq; do
		$PY "$HERE/pcapgen.py" relink "$W/any.pcap" "$W/re-$lt.pcap" $lt 2>"$W/re-$lt.err" ||
			{ fail "relink $lt" "$(cat "$W/re-$lt.err")"; continue; }
		"$MPLB" decode -j "$W/re-$lt.pcap" >"$W/re-$lt.jsonl" 2>/dev/null
		if cmp -s "$W/any.jsonl" "$W/re-$lt.jsonl"; then
			pass "link type $lt decodes identically"
		else
			fail "link type $lt decodes identically" "$(diff "$W/any.jsonl" "$W/re-$lt.jsonl" | head -3 | tr '\n' ' ')"
		fi
	done
	editcap -F pcapng "$W/any.pcap" "$W/any.pcapng" 2>/dev/null
	"$MPLB" decode -j "$W/any.pcapng" >"$W/ng.jsonl" 2>/dev/null
	if cmp -s "$W/any.jsonl" "$W/ng.jsonl"; then pass "pcapng decodes identically"
	else fail "pcapng decodes identically" "$(diff "$W/any.jsonl" "$W/ng.jsonl" | head -3 | tr '\n' ' ')"; fi
fi
exit $((T_FAILED > 0))
