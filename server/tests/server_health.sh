#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Readiness: the agent's health endpoint and `mplb lb run`'s checks
# (interval 200 ms, fall 3, rise 2). A backend whose service stops is
# drained (no new connection reaches it) and restored when it comes back;
# a blip shorter than `fall` checks changes nothing; a killed agent
# (connection refused) is drained; when every backend fails the balancer
# fails open. State and counters in `mplb lb stats`.
. "$(dirname "$0")/../../tests/lib.sh"

need_root "server health" || exit 0
[ -x "$MPLB" ] || { fail "server: binary" "$MPLB missing"; exit 1; }
P=mplbt-srv-hc$$
. "$(dirname "$0")/topo.inc"
topo_up || { fail "topology" "cannot build"; exit 1; }
start_serves || exit 1
start_agents tsecr || { fail "agents" "did not start"; exit 1; }
LB_EXTRA="health_interval_ms = 200\nhealth_timeout_ms = 150\nhealth_fall = 3\nhealth_rise = 2" \
	LB_BACKEND_EXTRA="health = 10.62.2.@K@:8081" start_lb token+tsecr || exit 1

hstate() { "$MPLB" lb stats -j -n "$P-lb" | python3 -c 'import json,sys; b=json.load(sys.stdin)["health"]["backends"][sys.argv[1]]; print(b["state"], b["drains"], b["restores"], b["failed"])' "$1"; }
# wait_state NAME STATE [TENTHS]
wait_state() { local i; for i in $(seq "${3:-40}"); do [ "$(hstate "$1" | cut -d' ' -f1)" = "$2" ] && return 0; sleep 0.1; done; return 1; }
backends_of() { # N: backend ids of N new connections
	probe "$T_TMP/b.json" -n "$1" -s 20k --subflows 2 --timeout 5 "$VIP4:80"
	jget "$T_TMP/b.json" '" ".join(sorted(set(str(c["backend_id"]) for c in d["connections"])))'
}
sleep 1
st=$(for k in 1 2 3 4; do hstate b$k | cut -d' ' -f1; done | sort -u | tr '\n' ' ')
expect_eq "all backends up after the first checks" "$st" "up "

# The service on backend 2 stops: the agent answers 503, the balancer drains it.
t0=$(date +%s.%N)
stop_bg serve2
if wait_state b2 down; then
	pass "backend 2 drained $(python3 -c "print(round($(date +%s.%N) - $t0, 2))") s after its service stopped ($(hstate b2))"
else fail "drain" "$(hstate b2)"; fi
grep -q "backend b2 failed 3 checks (answer 'HTTP/1.0 503" "$T_TMP/lb.log" && pass "balancer log names the reason (503 from the agent)" || fail "drain reason" "$(tail -3 "$T_TMP/lb.log")"
ids=$(backends_of 24)
case " $ids " in *" 2 "*) fail "drained backend still gets new connections" "$ids" ;; *) pass "24 new connections avoid backend 2 (went to: $ids)" ;; esac
bg serve2 "$P-b2" "$MPLB" serve --id 2 --listen "[::]:80"
wait_log serve2 listening
if wait_state b2 up; then pass "backend 2 restored after 2 passes ($(hstate b2))"; else fail "restore" "$(hstate b2)"; fi
ids=$(backends_of 32)
case " $ids " in *" 2 "*) pass "new connections reach backend 2 again (went to: $ids)" ;; *) fail "restored backend gets no connection" "$ids" ;; esac

# Hysteresis: one short blip (< 3 checks) changes nothing.
d0=$(hstate b3 | cut -d' ' -f2)
ip -n "$P-b3" addr del $VIP4/32 dev lo
sleep 0.25
ip -n "$P-b3" addr add $VIP4/32 dev lo
sleep 1
read -r s3 d3 _ f3 <<<"$(hstate b3)"
[ "$s3" = up ] && [ "$d3" = "$d0" ] && pass "a 250 ms blip on backend 3 ($f3 failed checks in total) does not drain it" || fail "hysteresis" "$(hstate b3)"

# A dead agent: connection refused, drained too.
stop_bg agent4
if wait_state b4 down; then pass "backend 4 drained when its agent stopped (connection refused)"; else fail "dead agent" "$(hstate b4)"; fi
"$MPLB" lb stats -n "$P-lb" | grep -q "^health " && pass "lb stats shows the health table" || fail "lb stats health table"

# Every backend failing: fail open (the ring keeps them all).
for k in 1 2 3; do stop_bg serve$k; done
sleep 1.5
grep -q "failing open" "$T_TMP/lb.log" && pass "every backend failing: the balancer fails open" || fail "fail open" "$(tail -4 "$T_TMP/lb.log")"
jget "$(ls /run/mplb/lb-health-"$P"-lb.json)" 'd["fail_open"]' | grep -q True && pass "fail_open in the health state" || fail "fail_open state"
exit 0
