#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Token state under a flood (docs/robustness.md): 10^6 forged MP_CAPABLE
# third ACKs (random sources, ports and keys) through the router to the
# token VIP, while connections that have not joined yet wait. 5 s after the
# flood their second uplink comes up and `mplb client` joins:
#   with token sync (2 LB hosts): the pushed tokens are in a table that forged
#     packets cannot write, so every join lands, and so do new connections';
#   control, learned tokens only (1 LB host): the flood evicts them, and join
#     attempts of the waiting connections go to the ring (wrong 3 times in 4).
source "$(dirname "$0")/../../tests/lib.sh"
need_root "flood lab" || exit 0
[ -x "$MPLB" ] || { fail "flood lab" "$MPLB missing"; exit 1; }
command -v python3 >/dev/null || { skip "flood lab" "python3 missing"; exit 0; }
N=mplbt-fl
FLOOD=${MPLB_FLOOD_COUNT:-1000000}
on_exit "$MPLB lab down --name $N"
V4=10.200.0.1:80

counter() { "$MPLB" lb stats -j -n "$N/$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['counters'].get('$2', {}).get('packets', 0))"; }
scenario() { # NAME LAB-ARGS...
	local name=$1
	shift
	"$MPLB" lab down --name "$N" >/dev/null 2>&1
	timeout 90 "$MPLB" lab up --name "$N" --client-pm mplb --uplinks 2 --uplink-rate 20mbit "$@" >"$T_TMP/up.log" 2>&1 ||
		{ fail "$name: lab up" "$(tail -2 "$T_TMP/up.log")"; return 1; }
	"$MPLB" lab uplink --name "$N" c1 2 down >/dev/null
	# 8 connections of 10 MB over one 20 Mbit/s uplink: ~25 s on their first subflow only, so
	# every one still runs when the second uplink comes up (flood up to ~8 s, then 5 s).
	timeout 120 "$MPLB" lab exec --name "$N" c1 -- "$MPLB" probe -j -n 8 -s 10M --subflows 1 --timeout 30 $V4 \
		>"$T_TMP/$name.json" 2>"$T_TMP/$name.err" &
	local ppid=$! mac
	sleep 1
	# From the router's bridge to every LB host, as if from everywhere at once.
	mac=$(for k in $(ls -d /sys/fs/bpf/mplb/$N/lb* | xargs -n1 basename); do
		ip -n "$N-$k" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])'; done | paste -sd, -)
	ip netns exec "$N-rt" python3 "$(dirname "$0")/flood.py" br0 "$mac" 10.200.0.1 80 "$FLOOD" | sed "s/^/# $name: flood: /"
	sleep 5
	"$MPLB" lab uplink --name "$N" c1 2 up >/dev/null
	wait $ppid
	python3 - "$T_TMP/$name.json" >"$T_TMP/$name.res" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c = d["connections"]
print(len(c), sum(x["verified"] for x in c), sum(x["subflows_established"] >= 2 for x in c),
      sum(x["join_failures"] for x in c))
for x in c:  # why a connection did not join, for the log
    if x["subflows_established"] < 2:
        print("# not joined: token %s backend %s transfer %.1f s joins attempted %d failed %d pending %d" % (
            x["token"], x["backend_id"], x["transfer_s"], x["joins_attempted"], x["join_failures"], x["joins_pending"]),
            file=sys.stderr)
PY
	read -r conns verified joined join_failed <"$T_TMP/$name.res"
	local learned=0 k
	for k in $(ls -d /sys/fs/bpf/mplb/$N/lb* | xargs -n1 basename); do learned=$((learned + $(counter "$k" token_learned))); done
	echo "# $name: $verified/$conns verified, $joined of $conns joined after the flood; tokens learned from the wire: $learned"
	if [ "$joined" != "$conns" ]; then
		sed 's/^/# /' "$T_TMP/$name.err" | tail -5
		for k in $(ls -d /sys/fs/bpf/mplb/$N/lb* | xargs -n1 basename); do
			echo "# $k: token_pushed $(counter "$k" token_pushed) token_held $(counter "$k" token_held) hold_expired $(counter "$k" token_hold_expired)"
		done
	fi
	RES_CONNS=$conns RES_VERIFIED=$verified RES_JOINED=$joined RES_JOIN_FAILED=$join_failed RES_LEARNED=$learned
}

if scenario sync --lbs 2 --server-pm token; then
	if [ "$RES_LEARNED" -ge $((FLOOD * 9 / 10)) ]; then pass "sync: the flood reached the balancers ($RES_LEARNED forged tokens learned)"
	else fail "sync: the flood reached the balancers" "only $RES_LEARNED learned"; fi
	expect_eq "sync: every connection completes" "$RES_VERIFIED" "$RES_CONNS"
	expect_eq "sync: every join made 5 s after 10^6 forged ACKs lands" "$RES_JOINED" "$RES_CONNS"
	expect_eq "sync: no join attempt reached a wrong backend" "$RES_JOIN_FAILED" 0
	timeout 60 "$MPLB" lab exec --name "$N" c2 -- "$MPLB" probe -j -n 8 -s 100k --subflows 2 --timeout 5 $V4 >"$T_TMP/new.json" 2>/dev/null
	jf=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; print(s["join_failures"], s["subflows_established"], s["subflows_expected"])' "$T_TMP/new.json")
	expect_eq "sync: new connections after the flood: no join failure, every subflow" "$jf" "0 16 16"
fi
if scenario learned --lbs 1 --server-pm none --lb-strategy token; then
	# An evicted token sends each join attempt to the ring (right 1 time in 4), and mplb client
	# retries with new ports, so whether a connection joins in the end is chance; that its
	# attempts fail is not (all 8 connections' first attempts right by chance: 4^-8).
	echo "# control: learned tokens only: $RES_JOINED of $RES_CONNS waiting connections joined after the flood, $RES_JOIN_FAILED join attempts failed"
	if [ "$RES_JOIN_FAILED" -gt 0 ]; then pass "control: the flood evicts learned tokens ($RES_JOIN_FAILED join attempts reached the wrong backend)"
	else fail "control: the flood evicts learned tokens" "no join attempt failed; $RES_JOINED of $RES_CONNS joined"; fi
fi
exit $((T_FAILED > 0))
