#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# PAWS with the shifted TSval (tsecr scheme): the wire TSval advances 2^16
# per ms, so after more than 32.7 s of server silence the client's PAWS
# takes the server's next segment for an old duplicate and drops it until
# the clock wraps (65.5 s). Connections (MPTCP, two subflows) stay silent
# for 40 s, then ask for 200 kB:
#   backends 1, 2  agent keepalive (20 s) with one-byte probes: answer at once
#   backend 3      keepalive with Linux's zero-length probes: stalls (the
#                  client answers them but does not take their TSval)
#   backend 4      no keepalive: stalls
. "$(dirname "$0")/../../tests/lib.sh"

need_root "server paws" || exit 0
[ -x "$MPLB" ] || { fail "server: binary" "$MPLB missing"; exit 1; }
P=mplbt-srv-pw$$
. "$(dirname "$0")/topo.inc"
topo_up || { fail "topology" "cannot build"; exit 1; }
start_serves --idle-timeout 120 || exit 1
start_lb token+tsecr || exit 1
for k in 1 2 3 4; do
	case $k in
	1 | 2) x="keepalive_fix = on" ;;
	3) x="keepalive_fix = off" ;;
	4) x="tsecr_keepalive = 0" ;;
	esac
	write_srv_cfg "$T_TMP/srv$k.ini" "$k" tsecr "$x"
	bg agent$k "$P-b$k" "$MPLB" server run -c "$T_TMP/srv$k.ini"
done
for k in 1 2 3 4; do wait_log agent$k " up in netns" || { fail "agent $k" "$(tail -3 "$T_TMP/agent$k.log")"; exit 1; }; done

timeout 110 ip netns exec "$P-c" python3 "$(dirname "$0")/idle_client.py" "$VIP4" 80 12 40 200000 >"$T_TMP/idle.jsonl"
python3 - "$T_TMP/idle.jsonl" >"$T_TMP/idle.sum" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
g = {"fix": [r for r in rows if r["backend"] in (1, 2)], "plain": [r for r in rows if r["backend"] == 3],
     "none": [r for r in rows if r["backend"] == 4]}
for k, v in g.items():
    print(k, len(v), sum(r["ok"] for r in v), max([r["seconds"] for r in v] or [0]), min([r["seconds"] for r in v] or [0]))
PY
read -r _ nf okf maxf _ < <(grep '^fix' "$T_TMP/idle.sum")
read -r _ np okp _ minp < <(grep '^plain' "$T_TMP/idle.sum")
read -r _ nn okn _ minn < <(grep '^none' "$T_TMP/idle.sum")
if [ "$nf" -gt 0 ] && [ "$okf" = "$nf" ] && python3 -c "import sys; sys.exit(0 if $maxf < 1.0 else 1)"; then
	pass "one-byte keepalive: after 40 s of silence $nf connections answered within ${maxf} s"
else fail "one-byte keepalive" "$(cat "$T_TMP/idle.jsonl" | tr '\n' ' ')"; fi
if [ "$np" -gt 0 ] && python3 -c "import sys; sys.exit(0 if $minp > 10 else 1)"; then
	pass "control, zero-length keepalive: $np connections stalled at least ${minp} s (PAWS)"
else [ "$np" = 0 ] && skip "control zero-length keepalive" "no connection landed on backend 3" || fail "control zero-length keepalive" "$(grep '"backend": 3' "$T_TMP/idle.jsonl")"; fi
if [ "$nn" -gt 0 ] && python3 -c "import sys; sys.exit(0 if $minn > 10 else 1)"; then
	pass "control, no keepalive: $nn connections stalled at least ${minn} s (PAWS)"
else [ "$nn" = 0 ] && skip "control no keepalive" "no connection landed on backend 4" || fail "control no keepalive" "$(grep '"backend": 4' "$T_TMP/idle.jsonl")"; fi
fixed=0
for k in 1 2; do fixed=$((fixed + $(jget /run/mplb/server-$P-b$k.json "d['counters']['keepalive_probe_fixed']"))); done
[ "$fixed" -gt 0 ] && pass "agents turned $fixed zero-length probes into one-byte probes" || fail "probes fixed" "$fixed"
exit 0
