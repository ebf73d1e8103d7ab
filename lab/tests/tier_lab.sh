#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A tier of LB hosts (`mplb lab up --lbs N`: BIRD, BGP multipath, BFD) with
# real kernel MPTCP clients and servers (docs/scale-out.md):
#   joins     2 and 4 LB hosts, 8 backends, 3 uplinks, stock fullmesh
#             clients joining the VIP itself (strategy token): the agents
#             push their tokens to every LB host, so no join fails, IPv4 and
#             IPv6; without token sync the same tier fails joins (control)
#   restart   every strategy: the balancer restarted three times
#             mid-transfer (SIGTERM, SIGKILL, SIGKILL): no connection broken,
#             no subflow lost, the state taken over each time
#   failure   an LB host killed mid-transfer (its BIRD and balancer, or its
#             link): the router withdraws it in < 100 ms, and with
#             per-server, port, tsecr and token no connection breaks
#   drain     a drained host is withdrawn and forwards until nothing arrives
#   rings     every host holds the same Maglev rings, also after health flaps
source "$(dirname "$0")/../../tests/lib.sh"
need_root "tier lab" || exit 0
[ -x "$MPLB" ] || { fail "tier lab" "$MPLB missing (make build/mplb)"; exit 1; }
command -v bird >/dev/null || { skip "tier lab" "bird (bird2) missing"; exit 0; }

N=mplbt-tier
on_exit "$MPLB lab down --name $N"
"$MPLB" lab down --name "$N" >/dev/null 2>&1
V4=10.200.0.1:80
V6='[fd00:200::1]:80'

up() {
	"$MPLB" lab down --name "$N" >/dev/null 2>&1
	if ! timeout 90 "$MPLB" lab up --name "$N" "$@" >"$T_TMP/up.log" 2>&1; then
		fail "lab up $*" "$(tail -3 "$T_TMP/up.log" | tr '\n' ' ')"
		return 1
	fi
}
probe() { # OUT HOST ARGS...
	local out=$1 host=$2
	shift 2
	timeout 120 "$MPLB" lab exec --name "$N" "$host" -- "$MPLB" probe -j "$@" >"$out" 2>"$out.err"
}
js() {
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); s=d['summary']; print($2)" "$1" 2>/dev/null ||
		echo "no report ($(tail -1 "$1.err" 2>/dev/null))"
}
line() { js "$1" '"%d/%d verified, subflows %d/%d, join failures %d" % (s["connections_verified"], s["connections"], s["subflows_established"], s["subflows_expected"], s["join_failures"])'; }
intact() { # NAME FILE: every connection verified, every subflow still established, no join failure
	local ok
	ok=$(js "$2" 's["connections"] > 0 and s["connections_verified"] == s["connections"] and s["subflows_established"] >= s["subflows_expected"] and s["join_failures"] == 0')
	if [ "$ok" = True ]; then pass "$1 ($(line "$2"))"; else fail "$1" "$(line "$2")"; fi
}
counter() { # LBHOST NAME
	"$MPLB" lb stats -j -n "$N/$1" 2>/dev/null |
		python3 -c "import json,sys; print(json.load(sys.stdin)['counters'].get('$2', {}).get('packets', 0))" 2>/dev/null || echo 0
}
sync_rejects() { # LBHOST: messages the host refused
	"$MPLB" lb stats -j -n "$N/$1" 2>/dev/null |
		python3 -c "import json,sys; d=json.load(sys.stdin).get('sync', {}); print(sum(sum(p['rejected'].values()) for p in d.values()))" 2>/dev/null || echo ?
}

# ---- joins through the tier -------------------------------------------------
for lbs in 2 4; do
	up --lbs $lbs --backends 8 --uplinks 3 --server-pm token || continue
	# fullmesh on 3 uplinks, no C bit: 2 joins to the VIP per connection.
	probe "$T_TMP/j$lbs-v4" c1 -n 24 -s 100k --subflows 3 --timeout 8 $V4 &
	probe "$T_TMP/j$lbs-v6" c2 -n 24 -s 100k --subflows 3 --timeout 8 "$V6" &
	wait
	intact "$lbs LB hosts, token sync, IPv4: every join lands" "$T_TMP/j$lbs-v4"
	intact "$lbs LB hosts, token sync, IPv6: every join lands" "$T_TMP/j$lbs-v6"
	pushed=0 held=0 rej=0 hosts_with_pushes=0
	for k in $(seq $lbs); do
		p=$(counter lb$k token_pushed) h=$(counter lb$k token_held) r=$(sync_rejects lb$k)
		pushed=$((pushed + p)) held=$((held + h)) rej=$((rej + ${r//\?/1}))
		[ "$p" -gt 0 ] && hosts_with_pushes=$((hosts_with_pushes + 1))
	done
	echo "# $lbs LB hosts: joins routed by pushed tokens $pushed, held until the push $held; sync rejects $rej"
	expect_eq "$lbs LB hosts: every host routed joins by pushed tokens" "$hosts_with_pushes" $lbs
	expect_eq "$lbs LB hosts: no sync message refused" "$rej" 0
	js "$T_TMP/j$lbs-v4" '"# join wait: max %.2f s" % max(c["subflow_wait_s"] for c in d["connections"])'
done

# The control: the same tier without token sync (each host learns tokens from the
# MP_CAPABLE ACKs it sees, the first wave) fails joins, so the test above can fail.
if up --lbs 2 --backends 8 --uplinks 3 --server-pm none --lb-strategy token; then
	probe "$T_TMP/nosync" c1 -n 24 -s 100k --subflows 3 --timeout 3 $V4
	jf=$(js "$T_TMP/nosync" 's["join_failures"]')
	echo "# 2 LB hosts without token sync: $(line "$T_TMP/nosync")"
	if [ "${jf:-0}" -gt 0 ] 2>/dev/null; then pass "control: without token sync, joins that cross the other host fail ($jf of 48)"
	else fail "control: without token sync joins fail" "$(line "$T_TMP/nosync")"; fi
fi

# ---- restarts mid-transfer, every strategy ------------------------------------
# 8 + 8 connections of 6 MB over 2 x 50 Mbit/s uplinks: ~4 s. Three restarts
# inside that window; the probe's final snapshot shows every subflow still there.
restart_case() { # NAME SUBFLOWS LAB-ARGS...
	local name=$1 sf=$2
	shift 2
	up --lbs 2 --backends 4 --uplink-rate 50mbit "$@" || return
	probe "$T_TMP/rs-$name-4" c1 -n 8 -s 6M --subflows "$sf" --timeout 10 $V4 &
	probe "$T_TMP/rs-$name-6" c2 -n 8 -s 6M --subflows "$sf" --timeout 10 "$V6" &
	sleep 1.5
	"$MPLB" lab lb --name "$N" lb1 restart >"$T_TMP/rs.log" 2>&1 &&
		"$MPLB" lab lb --name "$N" lb2 restart --kill >>"$T_TMP/rs.log" 2>&1 &&
		"$MPLB" lab lb --name "$N" lb1 restart --kill >>"$T_TMP/rs.log" 2>&1 ||
		fail "$name: restarts" "$(tail -2 "$T_TMP/rs.log")"
	sed 's/^/# /' "$T_TMP/rs.log"
	wait
	intact "$name: 3 balancer restarts mid-transfer, IPv4: nothing broken, no subflow lost" "$T_TMP/rs-$name-4"
	intact "$name: 3 balancer restarts mid-transfer, IPv6: nothing broken, no subflow lost" "$T_TMP/rs-$name-6"
	if grep -q "took over the pinned state" "/run/mplb/$N/lb1.log" && grep -q "replaced atomically" "/run/mplb/$N/lb1.log"; then
		pass "$name: the new balancer took the pinned state over and replaced the program atomically"
	else fail "$name: takeover" "$(tail -3 "/run/mplb/$N/lb1.log")"; fi
}
restart_case hash 3 --server-pm per-server --lb-strategy hash
restart_case port 3 --server-pm port
restart_case token 2 --server-pm token
restart_case token+tsecr 2 --server-pm tsecr
restart_case port+tsecr 3 --server-pm tsecr --lb-strategy port+tsecr

# ---- an LB host fails mid-transfer ---------------------------------------------
fail_case() { # NAME SUBFLOWS FAIL-ARGS LAB-ARGS...
	local name=$1 sf=$2 how=$3
	shift 3
	up --lbs 2 --backends 4 --uplink-rate 50mbit "$@" || return
	probe "$T_TMP/f-$name-4" c1 -n 8 -s 6M --subflows "$sf" --timeout 10 $V4 &
	probe "$T_TMP/f-$name-6" c2 -n 8 -s 6M --subflows "$sf" --timeout 10 "$V6" &
	sleep 1.5
	"$MPLB" lab lb --name "$N" lb1 fail $how >"$T_TMP/f.log" 2>&1
	sed 's/^/# /' "$T_TMP/f.log"
	local ms
	ms=$(sed -n 's/.*withdrew lb1 after \([0-9.]*\) ms.*/\1/p' "$T_TMP/f.log")
	if [ -n "$ms" ] && awk -v m="$ms" 'BEGIN{exit !(m < 100)}'; then
		pass "$name: lb1 failed${how:+ ($how)}: the router withdrew it in $ms ms (< 100)"
	else fail "$name: withdrawal within 100 ms" "$(tail -2 "$T_TMP/f.log")"; fi
	wait
	intact "$name: LB host failure mid-transfer, IPv4: nothing broken" "$T_TMP/f-$name-4"
	intact "$name: LB host failure mid-transfer, IPv6: nothing broken" "$T_TMP/f-$name-6"
}
fail_case per-server 3 "" --server-pm per-server --lb-strategy hash
fail_case port 3 --link --server-pm port
fail_case tsecr 2 "" --server-pm tsecr
fail_case token 2 --link --server-pm token

# ---- drain -----------------------------------------------------------------------
if up --lbs 2 --backends 4 --uplink-rate 50mbit --server-pm port; then
	probe "$T_TMP/dr-4" c1 -n 8 -s 6M --subflows 3 --timeout 10 $V4 &
	sleep 1
	out=$("$MPLB" lab lb --name "$N" lb1 drain -q 1 2>&1); rc=$?
	echo "$out" | tail -2 | sed 's/^/# /'
	nh=$(lab_nh() { "$MPLB" lab exec --name "$N" rt -- ip -j route show 10.200.0.1 | python3 -c 'import json,sys; r=json.load(sys.stdin); print(len(r[0].get("nexthops", [1])) if r else 0)'; }; lab_nh)
	if [ $rc -eq 0 ] && grep -q "drained" <<<"$out" && [ "$nh" = 1 ]; then
		pass "drain: lb1 withdrawn (the router keeps 1 next hop) and quiet"
	else fail "drain" "rc=$rc next hops $nh: $(tail -2 <<<"$out")"; fi
	wait
	intact "drain mid-transfer: nothing broken" "$T_TMP/dr-4"
	"$MPLB" lab lb --name "$N" lb1 resume >/dev/null
	for _ in $(seq 100); do
		[ "$("$MPLB" lab exec --name "$N" rt -- ip route show 10.200.0.1 | grep -c nexthop)" = 2 ] && break
		sleep 0.05
	done
	expect_eq "resume: the router routes over both hosts again" \
		"$("$MPLB" lab exec --name "$N" rt -- ip route show 10.200.0.1 | grep -c nexthop)" 2
	# A drain outlives a restart of the balancer.
	"$MPLB" lab lb --name "$N" lb2 drain -q 1 >/dev/null
	"$MPLB" lab lb --name "$N" lb2 restart >/dev/null
	sleep 0.5
	expect_eq "a drained host stays withdrawn across a balancer restart" \
		"$("$MPLB" lab exec --name "$N" rt -- ip route show 10.200.0.1 | grep -c nexthop)" 0
fi

# ---- one Maglev table on every host, also after health flaps --------------------
digests() { # all hosts' ring digests, one line
	for k in $(seq "$1"); do "$MPLB" lb ring -j -n "$N/lb$k" | python3 -c 'import json,sys; d=json.load(sys.stdin)["rings"]; print(" ".join(d[v]["digest"] for v in sorted(d)))'; done | sort -u | wc -l
}
if up --lbs 4 --backends 8 --server-pm per-server; then
	expect_eq "4 hosts: the same rings everywhere" "$(digests 4)" 1
	# b3's agent stops answering its health endpoint twice, then recovers: every
	# host drains and restores b3 on its own checks. While the hosts disagree the
	# rings differ: that window is measured from each host's change time.
	apid=$(python3 -c 'import json; d=json.load(open("/run/mplb/'"$N"'/lab.json")); print([p["pid"] for h in d["hosts"] if h["id"] == "b3" for p in h["processes"] if p["name"] == "agent"][0])')
	spread() { # STATE: ms between the first and the last host to put b3 in STATE
		for k in 1 2 3 4; do "$MPLB" lb stats -j -n "$N/lb$k"; done | python3 -c '
import json, sys
dec = json.JSONDecoder(); s = sys.stdin.read().strip(); docs = []
while s:
    d, i = dec.raw_decode(s); docs.append(d); s = s[i:].strip()
b = [d["health"]["backends"]["b3"] for d in docs]
print("%.0f" % (max(x["last_change_ms"] for x in b) - min(x["last_change_ms"] for x in b))
      if all(x["state"] == sys.argv[1] for x in b) else "-1")' "$1"
	}
	windows=""
	for round in 1 2; do
		kill -STOP "$apid"
		for _ in $(seq 60); do w=$(spread down); [ "$w" != -1 ] && break; sleep 0.1; done
		windows="$windows drain ${w}ms"
		kill -CONT "$apid"
		for _ in $(seq 60); do w=$(spread up); [ "$w" != -1 ] && break; sleep 0.1; done
		windows="$windows restore ${w}ms"
	done
	sleep 0.5
	echo "# health flaps of b3: hosts disagreed for:$windows"
	expect_eq "4 hosts after two health flaps of b3: the same rings everywhere" "$(digests 4)" 1
	worst=$(tr ' ' '\n' <<<"$windows" | sed -n 's/ms$//p' | sort -n | tail -1)
	# Bound: one check interval (500 ms) plus the check timeout (300 ms): each
	# host sees the same failures, at most one round apart.
	if [ -n "$worst" ] && [ "$worst" -ge 0 ] && [ "$worst" -le 800 ]; then
		pass "the hosts' rings diverged at most $worst ms per flap (bound: one check round, 800 ms)"
	else fail "ring divergence bounded" "windows:$windows"; fi
fi

exit $((T_FAILED > 0))
