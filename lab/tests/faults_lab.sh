#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Backend faults mid-transfer (docs/robustness.md), port strategy, 5 backends:
# b2's application SIGKILLed, b3's agent SIGKILLed, b4's whole namespace
# gone (its processes killed, the namespace deleted), during paced transfers. Connections on the untouched backends all
# finish byte-exact; the balancer's health checks drain the dead ones; new
# connections avoid them; `lab down` leaves nothing behind (journals replayed).
source "$(dirname "$0")/../../tests/lib.sh"
need_root "faults lab" || exit 0
[ -x "$MPLB" ] || { fail "faults lab" "$MPLB missing"; exit 1; }
N=mplbt-flt
on_exit "$MPLB lab down --name $N"
"$MPLB" lab down --name "$N" >/dev/null 2>&1
V4=10.200.0.1:80
if ! timeout 60 "$MPLB" lab up --name "$N" --server-pm port --backends 5 --uplink-rate 50mbit >"$T_TMP/up.log" 2>&1; then
	fail "lab up" "$(tail -2 "$T_TMP/up.log")"; exit 1
fi
pid_of() { python3 -c 'import json,sys; d=json.load(open("/run/mplb/'"$N"'/lab.json")); print([p["pid"] for h in d["hosts"] if h["id"] == sys.argv[1] for p in h["processes"] if p["name"] == sys.argv[2]][0])' "$1" "$2"; }
health() { "$MPLB" lb stats -j -n "$N/lb1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["health"]["backends"][sys.argv[1]]["state"])' "$1"; }

timeout 90 "$MPLB" lab exec --name "$N" c1 -- "$MPLB" probe -j -n 12 -s 6M --subflows 3 --timeout 10 $V4 >"$T_TMP/p1.json" 2>/dev/null &
timeout 90 "$MPLB" lab exec --name "$N" c2 -- "$MPLB" probe -j -n 12 -s 6M --subflows 3 --timeout 10 $V4 >"$T_TMP/p2.json" 2>/dev/null &
sleep 1.5
kill -KILL "$(pid_of b2 serve)"
kill -KILL "$(pid_of b3 agent)"
# b4's host dies: every process in it, then the namespace.
kill -KILL $(ip netns pids "$N-b4")
ip netns del "$N-b4"
t0=$(date +%s.%N)
wait
python3 - "$T_TMP/p1.json" "$T_TMP/p2.json" >"$T_TMP/res" <<'PY'
import json, sys
kept = kept_ok = hit = 0
for f in sys.argv[1:]:
    for c in json.load(open(f))["connections"]:
        if c["backend_id"] in (2, 4):
            hit += 1
        else:  # b1, b5, and b3 (its agent died, its application did not)
            kept += 1; kept_ok += c["verified"]
print(kept, kept_ok, hit)
PY
read -r kept kept_ok hit <"$T_TMP/res"
echo "# faults: $kept_ok/$kept connections on b1, b3 (agent killed) and b5 verified; $hit were on b2/b4"
if [ "$kept" -gt 0 ] && [ "$kept" = "$kept_ok" ]; then pass "connections on the other backends are untouched ($kept_ok/$kept byte-exact)"
else fail "connections on the other backends untouched" "$kept_ok/$kept"; fi
for b in b2 b3 b4; do
	st=""
	for _ in $(seq 60); do st=$(health $b 2>/dev/null); [ "$st" = down ] && break; sleep 0.1; done
	expect_eq "health drains $b" "$st" down
done
timeout 60 "$MPLB" lab exec --name "$N" c1 -- "$MPLB" probe -j -n 20 -s 20k --subflows 3 --timeout 5 $V4 >"$T_TMP/after.json" 2>/dev/null
ids=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(sorted({str(c["backend_id"]) for c in d["connections"]})), d["summary"]["connections_verified"])' "$T_TMP/after.json")
echo "# new connections after the faults: backends $ids verified"
case " $ids " in
*" 2 "* | *" 3 "* | *" 4 "*) fail "new connections avoid the dead backends" "$ids" ;;
*) pass "new connections avoid the dead backends, all verified ($ids)" ;;
esac
"$MPLB" lab down --name "$N" >/dev/null 2>&1
left=$(ls /run/mplb/server-"$N"-* /sys/fs/bpf/mplb/server-"$N"-* /sys/fs/bpf/mplb/"$N" /run/mplb/"$N" 2>/dev/null | tr '\n' ' ')
expect_eq "lab down: no journal, pin or state left stuck (b3's journal replayed)" "$left" ""
exit $((T_FAILED > 0))
