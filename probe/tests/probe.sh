#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mplb serve + mplb probe end to end over kernel MPTCP, in two namespaces:
#
#   client ns  prbc1 10.71.1.1/24 fd71:1::1/64 ---- prbs1 10.71.1.2 fd71:1::2  server ns
#              prbc2 10.71.2.1/24 fd71:2::1/64 ---- prbs2 10.71.2.2 fd71:2::2
#
# Scenario A: client `subflow` endpoint on prbc2 (join from the 2nd uplink to
# the server's initial address). Scenario B: server `signal` endpoint on prbs2
# (the client joins the announced address). Negative controls: too many
# subflows expected, a corrupting server, no listener, refused joins, usage.
. "$(dirname "$0")/../../tests/lib.sh"

need_root "probe e2e" || exit 0
if [ ! -x "$MPLB" ]; then
	fail "probe: binary" "$MPLB missing: run make build/mplb"
	exit 1
fi

C=mplbt-prb-$$-c
S=mplbt-prb-$$-s
X=mplbt-prb-$$-x
BYTES=4000000

topo_up() {
	ip netns add $C && ip netns add $S || return 1
	on_exit "ip netns del $C"
	on_exit "ip netns del $S"
	ip -n $C link set lo up && ip -n $S link set lo up &&
	ip link add prbc1 netns $C type veth peer prbs1 netns $S &&
	ip link add prbc2 netns $C type veth peer prbs2 netns $S &&
	ip -n $C addr add 10.71.1.1/24 dev prbc1 && ip -n $S addr add 10.71.1.2/24 dev prbs1 &&
	ip -n $C addr add 10.71.2.1/24 dev prbc2 && ip -n $S addr add 10.71.2.2/24 dev prbs2 &&
	ip -n $C addr add fd71:1::1/64 dev prbc1 nodad && ip -n $S addr add fd71:1::2/64 dev prbs1 nodad &&
	ip -n $C addr add fd71:2::1/64 dev prbc2 nodad && ip -n $S addr add fd71:2::2/64 dev prbs2 nodad &&
	ip -n $C link set prbc1 up && ip -n $C link set prbc2 up &&
	ip -n $S link set prbs1 up && ip -n $S link set prbs2 up || return 1
	# A subflow bound to prbc2 towards the server's first subnet needs a route
	# out of prbc2; the higher metric keeps the initial subflow on prbc1.
	ip -n $C route add 10.71.1.0/24 via 10.71.2.2 dev prbc2 metric 100 &&
	ip -n $C -6 route add fd71:1::/64 via fd71:2::2 dev prbc2 metric 1000 &&
	ip -n $C mptcp limits set subflows 8 add_addr_accepted 8 &&
	ip -n $S mptcp limits set subflows 8 add_addr_accepted 8
}

# start_server NAME ARGS...: mplb serve in the server ns, pid in $T_TMP/NAME.pid,
# output in $T_TMP/NAME.log; waits (bounded) for its "listening" line.
start_server() {
	local name=$1 i
	shift
	ip netns exec $S sh -c 'echo $$ > "$0"; exec "$@"' "$T_TMP/$name.pid" \
		"$MPLB" serve "$@" >"$T_TMP/$name.log" 2>&1 &
	on_exit "kill \$(cat $T_TMP/$name.pid)"
	for i in $(seq 50); do
		grep -q listening "$T_TMP/$name.log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "server $name did not start: $(tail -3 "$T_TMP/$name.log")"
	return 1
}

# probe OUT ARGS...: run the probe in the client ns, bounded; stdout to OUT,
# stderr to OUT.err, exit status in $PROBE_RC.
probe() {
	local out=$1
	shift
	timeout 60 ip netns exec $C "$MPLB" probe "$@" >"$out" 2>"$out.err"
	PROBE_RC=$?
}

# check_json NAME FILE MODE: the assertions of a good run.
check_json() {
	local out
	if out=$(python3 - "$2" "$3" 3 $BYTES 7 <<'EOF' 2>&1
import json, sys
path, mode, nconn, nbytes, backend = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
doc = json.load(open(path))
s, conns, errs = doc["summary"], doc["connections"], []
def want(cond, msg):
    if not cond:
        errs.append(msg)
want(s["connections"] == nconn, f"connections {s['connections']} != {nconn}")
want(s["connections_verified"] == nconn, f"verified {s['connections_verified']}/{nconn}")
want(s["subflows_established"] == s["subflows_expected"] == 2 * nconn,
     f"subflows {s['subflows_established']}/{s['subflows_expected']}")
want(s["join_failures"] == 0, f"join_failures {s['join_failures']}")
want(s["paths_used"] == s["paths_expected"] == 2 * nconn, f"paths {s['paths_used']}/{s['paths_expected']}")
for key in ("bytes", "goodput_bps", "join_attempts"):
    want(key in s, f"summary lacks {key}")
for c in conns:
    i = c["index"]
    want(c["backend_id"] == backend, f"conn {i}: backend {c['backend_id']}")
    want(c["verified"] and c["error"] is None, f"conn {i}: not verified: {c['error']}")
    est = [f for f in c["subflows"] if f["established"]]
    want(len(est) == 2, f"conn {i}: {len(est)} established subflows")
    ips = {f["local"].rsplit(":", 1)[0] for f in est}
    want(len(ips) == 2, f"conn {i}: local addresses not distinct: {sorted(ips)}")
    want(all(f["interface"] in ("prbc1", "prbc2") for f in est), f"conn {i}: interfaces {[f['interface'] for f in est]}")
    rx = sum(f["rx_bytes"] for f in c["subflows"])
    tx = sum(f["tx_bytes"] for f in c["subflows"])
    moved = tx if mode == "upload" else rx
    want(moved >= nbytes, f"conn {i}: subflow byte counters {moved} < {nbytes}")
    want(c["server_status"]["result"] == "ok", f"conn {i}: server status {c['server_status']}")
print("; ".join(errs))
sys.exit(1 if errs else 0)
EOF
	); then pass "$1"; else fail "$1" "$out"; fi
}

if ! topo_up; then
	fail "probe: topology" "could not build namespaces $C/$S"
	exit 1
fi
# Scenario A: the client opens a second subflow from prbc2.
ip -n $C mptcp endpoint add 10.71.2.1 dev prbc2 subflow
ip -n $C mptcp endpoint add fd71:2::1 dev prbc2 subflow

# Default listen address ([::]:80, dual-stack) with JSON logs.
if ! start_server main --id 7 -j; then
	fail "probe: serve starts" "$(cat "$T_TMP/main.log")"
	exit 1
fi
pass "probe: serve listens on [::]:80 by default"

for fam in 4 6; do
	[ $fam = 4 ] && vip=10.71.1.2:80 || vip='[fd71:1::2]:80'
	for mode in bulk upload rr; do
		name="probe: A ipv$fam $mode (subflow endpoint)"
		probe "$T_TMP/a$fam$mode.json" -j -n 3 -s $BYTES --subflows 2 -m $mode -r 40 "$vip"
		if [ "$PROBE_RC" -ne 0 ]; then
			fail "$name" "exit $PROBE_RC: $(tail -3 "$T_TMP/a$fam$mode.json.err" | tr '\n' ' ')"
			continue
		fi
		check_json "$name" "$T_TMP/a$fam$mode.json" $mode
	done
done

# The readable table.
probe "$T_TMP/table.txt" -n 2 -s 100k 10.71.1.2:80
if [ "$PROBE_RC" -eq 0 ] && grep -q 'backend 7' "$T_TMP/table.txt" &&
	grep -q '^summary: 2/2 connections verified, subflows 4/4' "$T_TMP/table.txt" &&
	grep -q 'prbc2' "$T_TMP/table.txt"; then
	pass "probe: table output"
else
	fail "probe: table output" "exit $PROBE_RC: $(head -5 "$T_TMP/table.txt" | tr '\n' ' ')"
fi

if grep -q '"event":"connection".*"backend_id":7.*"result":"ok"' "$T_TMP/main.log"; then
	pass "probe: serve logs JSON lines per connection"
else
	fail "probe: serve logs JSON lines per connection" "$(tail -2 "$T_TMP/main.log")"
fi

# Negative: 3 subflows expected where only 2 can exist.
probe "$T_TMP/n3.json" -j -n 3 -s 100k --subflows 3 --timeout 2 10.71.1.2:80
got=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; print(s["subflows_established"], s["subflows_expected"], s["connections_verified"])' "$T_TMP/n3.json" 2>&1)
if [ "$PROBE_RC" -eq 1 ] && [ "$got" = "6 9 3" ] && grep -q 'only 2 of 3 subflows' "$T_TMP/n3.json.err"; then
	pass "probe: too few subflows fails (exit 1, 6/9 established)"
else
	fail "probe: too few subflows fails" "exit $PROBE_RC, summary '$got', $(head -2 "$T_TMP/n3.json.err" | tr '\n' ' ')"
fi

# Negative: a server corrupting one byte (test hook); bulk and rr.
if start_server corrupt --id 8 --listen '[::]:81' --corrupt-at 123457; then
	for mode in bulk rr; do
		probe "$T_TMP/c$mode.json" -j -n 2 -s 1M -m $mode -r 10 10.71.1.2:81
		off=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["connections"][0]["download_bad_offset"])' "$T_TMP/c$mode.json" 2>&1)
		if [ "$PROBE_RC" -eq 1 ] && [ "$off" = 123457 ] && grep -q 'offset 123457' "$T_TMP/c$mode.json.err"; then
			pass "probe: corrupted byte detected at its offset ($mode)"
		else
			fail "probe: corrupted byte detected ($mode)" "exit $PROBE_RC, offset '$off', $(head -2 "$T_TMP/c$mode.json.err" | tr '\n' ' ')"
		fi
	done
else
	fail "probe: corrupting server starts" "$(cat "$T_TMP/corrupt.log")"
fi

# Negative: nothing listens on the port.
probe "$T_TMP/nolisten.txt" -n 1 --timeout 3 10.71.1.2:8099
if [ "$PROBE_RC" -eq 1 ] && grep -q 'connect to 10.71.1.2:8099 failed: Connection refused' "$T_TMP/nolisten.txt.err"; then
	pass "probe: no listener gives a clear error"
else
	fail "probe: no listener gives a clear error" "exit $PROBE_RC: $(cat "$T_TMP/nolisten.txt.err" | tr '\n' ' ')"
fi

# Usage errors exit 2.
probe "$T_TMP/usage1" -m sideways 10.71.1.2:80
rc1=$PROBE_RC
probe "$T_TMP/usage2" 10.71.1.2
rc2=$PROBE_RC
probe "$T_TMP/usage3" --subflows 0 10.71.1.2:80
expect_eq "probe: usage errors exit 2" "$rc1 $rc2 $PROBE_RC" "2 2 2"

# Bind error names the address.
ip netns exec $S timeout 5 "$MPLB" serve --listen '[::]:80' >/dev/null 2>"$T_TMP/bind.err"
rc=$?
if [ $rc -eq 1 ] && grep -q 'cannot listen on \[::\]:80: Address already in use' "$T_TMP/bind.err"; then
	pass "probe: serve bind error names the address"
else
	fail "probe: serve bind error names the address" "exit $rc: $(cat "$T_TMP/bind.err")"
fi

# MPTCP disabled: a clear error naming the sysctl, no TCP fallback.
if ip netns add $X; then
	on_exit "ip netns del $X"
	ip netns exec $X sysctl -qw net.mptcp.enabled=0
	ip netns exec $X timeout 5 "$MPLB" serve --listen '127.0.0.1:80' >/dev/null 2>"$T_TMP/nomptcp.err"
	rc=$?
	ip netns exec $X timeout 5 "$MPLB" probe -n 1 127.0.0.1:80 >/dev/null 2>>"$T_TMP/nomptcp.err"
	rc="$rc $?"
	if [ "$rc" = "1 1" ] && [ "$(grep -c 'net.mptcp.enabled=1' "$T_TMP/nomptcp.err")" -eq 2 ]; then
		pass "probe: MPTCP disabled is named, no fallback"
	else
		fail "probe: MPTCP disabled is named" "exit $rc: $(cat "$T_TMP/nomptcp.err" | tr '\n' ' ')"
	fi
fi

# Scenario B: no client endpoint; the server announces 10.71.2.2.
ip -n $C mptcp endpoint flush
ip -n $S mptcp endpoint add 10.71.2.2 dev prbs2 signal
probe "$T_TMP/bbulk.json" -j -n 3 -s $BYTES --subflows 2 10.71.1.2:80
if [ "$PROBE_RC" -ne 0 ]; then
	fail "probe: B ipv4 bulk (signal endpoint)" "exit $PROBE_RC: $(tail -3 "$T_TMP/bbulk.json.err" | tr '\n' ' ')"
else
	check_json "probe: B ipv4 bulk (signal endpoint)" "$T_TMP/bbulk.json" bulk
fi
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if all(any(f["remote"].startswith("10.71.2.2:") for f in c["subflows"]) for c in d["connections"]) else 1)' "$T_TMP/bbulk.json" 2>/dev/null; then
	pass "probe: B joins go to the announced address"
else
	fail "probe: B joins go to the announced address" "no subflow to 10.71.2.2"
fi

# Negative: joins to the announced address are refused (RST) -> counted as failed.
if command -v nft >/dev/null &&
	ip netns exec $S nft add table inet mplbtprb 2>/dev/null &&
	ip netns exec $S nft add chain inet mplbtprb in '{ type filter hook input priority 0; }' &&
	ip netns exec $S nft add rule inet mplbtprb in ip daddr 10.71.2.2 tcp flags syn reject with tcp reset; then
	probe "$T_TMP/refused.json" -j -n 2 -s 100k --timeout 2 10.71.1.2:80
	got=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; print(s["join_attempts"], s["join_failures"], s["subflows_established"], s["join_accounting"])' "$T_TMP/refused.json" 2>&1)
	if [ "$PROBE_RC" -eq 1 ] && [ "$got" = "2 2 2 pm-events" ]; then
		pass "probe: refused joins are counted as join failures"
	else
		fail "probe: refused joins are counted" "exit $PROBE_RC, attempts/failures/established/source '$got'"
	fi
	ip netns exec $S nft delete table inet mplbtprb
else
	skip "probe: refused joins" "nft unavailable"
fi

# SIGTERM: serve exits 0.
pid=$(cat "$T_TMP/main.pid")
kill -TERM "$pid"
rc=124
for i in $(seq 50); do
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid"
		rc=$?
		break
	fi
	sleep 0.1
done
expect_eq "probe: serve exits 0 on SIGTERM" "$rc" 0
exit 0
