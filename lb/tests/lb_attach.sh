#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `mplb lb run` on a veth in a throwaway netns: the program passes the
# verifier and attaches in native and in generic mode, counts real traffic,
# reloads on SIGHUP; SIGTERM leaves the data plane forwarding with its
# state pinned, a new run takes it over (atomic replace), `lb stop` removes
# it; `mplb lb check` and the
# attach-failure message name what to fix.
source "$(dirname "$0")/../../tests/lib.sh"

need_root "lb attach" || exit 0
[ -x "$MPLB" ] || { fail "lb attach" "$MPLB not built"; exit 1; }

NS=mplbt-lbv-$$
ip netns add "$NS" || { fail "netns" "cannot create $NS"; exit 1; }
on_exit "ip netns del $NS"
# A failed check may leave a data plane's pins and run state behind.
on_exit "rm -rf /sys/fs/bpf/mplb/$NS /sys/fs/bpf/mplb/$NS-lo /run/mplb/lb/$NS.json /run/mplb/lb/$NS.lock"
IN() { ip netns exec "$NS" "$@"; }
IN ip link add lbv0 type veth peer name lbv1
IN ip link set lo up
IN ip link set lbv0 up
IN ip link set lbv1 up
IN ip addr add 10.99.0.2/24 dev lbv1
LB_MAC=$(IN cat /sys/class/net/lbv0/address)
# The VIP is reached through lbv1 -> lbv0, where the balancer sits.
IN ip neigh add 10.99.0.100 lladdr "$LB_MAC" dev lbv1 nud permanent

write_cfg() { # mode weight
	cat >"$T_TMP/lb.ini" <<INI
[lb]
name = $NS
interface = lbv0
xdp = $1
tsecr_key = 000102030405060708090a0b0c0d0e0f
[vip dns]
address = 10.99.0.100
port = 53
proto = udp
[vip web]
address = 10.99.0.100
port = 80
strategy = token+tsecr
[backend b0]
id = 0
mac = 02:00:00:00:00:10
weight = $2
[backend b1]
id = 1
mac = 02:00:00:00:00:11
INI
}

# nsenter (not ip netns exec) so the pins land in the host's bpffs.
start_lb() {
	nsenter --net=/var/run/netns/"$NS" sh -c 'echo $$ > "$1"; exec "$2" lb run -c "$3"' \
		sh "$T_TMP/lb.pid" "$MPLB" "$T_TMP/lb.ini" >"$T_TMP/lb.out" 2>&1 &
	for _ in $(seq 50); do
		grep -q attached "$T_TMP/lb.out" 2>/dev/null && return 0
		[ -s "$T_TMP/lb.pid" ] && ! kill -0 "$(cat "$T_TMP/lb.pid")" 2>/dev/null && return 1
		sleep 0.1
	done
	return 1
}
stat_of() { # COUNTER: packets, from the pins (by name: no process needed)
	"$MPLB" lb stats -j -n "$NS" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"][sys.argv[1]]["packets"])' "$1" 2>/dev/null || echo 0
}
stop_lb() {
	local pid; pid=$(cat "$T_TMP/lb.pid")
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null; return 1
}

for mode in native generic; do
	write_cfg "$mode" 1
	if start_lb; then
		pass "$mode: verifier accepts xdp_lb and it attaches to a veth"
		on_exit "kill -KILL $(cat "$T_TMP/lb.pid")"
	else
		fail "$mode: attach" "$(tail -5 "$T_TMP/lb.out" | tr '\n' ' ')"
		continue
	fi
	want=xdp; [ "$mode" = generic ] && want=xdpgeneric
	if IN ip link show lbv0 | grep -q "$want"; then pass "$mode: ip link shows $want"; else fail "$mode: ip link shows $want"; fi
	# Real frames: lbv1 -> lbv0 -> XDP. Generic mode can XDP_TX back on veth freely.
	for _ in 1 2 3; do IN bash -c 'echo hi > /dev/udp/10.99.0.100/53' 2>/dev/null; done
	sleep 0.2
	js=$("$MPLB" lb stats -j -c "$T_TMP/lb.ini" 2>&1)
	ring=$(echo "$js" | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["ring"]["packets"])' 2>/dev/null)
	dns=$(echo "$js" | python3 -c 'import json,sys; print(json.load(sys.stdin)["vips"]["dns"]["packets"])' 2>/dev/null)
	if [ "${ring:-0}" -ge 3 ] && [ "${dns:-0}" -ge 3 ]; then pass "$mode: 3 UDP datagrams to the VIP counted (ring=$ring, vip dns=$dns)"
	else fail "$mode: traffic counted" "ring=$ring dns=$dns: $(echo "$js" | head -5 | tr '\n' ' ')"; fi
	if "$MPLB" lb stats -c "$T_TMP/lb.ini" | grep -q '^path *ring'; then pass "$mode: stats table"; else fail "$mode: stats table"; fi
	# By name only (no config file): names come from the balancer's pinned records.
	st=$("$MPLB" lb stats -n "$NS" 2>&1)
	if grep -Eq '^0 +b0 ' <<<"$st" && grep -Eq '^ +dns ' <<<"$st" && ! grep -Eq '^[0-9]+ +\? ' <<<"$st"; then
		pass "$mode: stats -n NAME names backends and VIPs"
	else fail "$mode: stats -n NAME names backends and VIPs" "$(tail -8 <<<"$st" | tr '\n' '|')"; fi
	write_cfg "$mode" 3
	kill -HUP "$(cat "$T_TMP/lb.pid")"
	sleep 0.5
	if grep -q reloaded "$T_TMP/lb.out"; then pass "$mode: SIGHUP reloads"; else fail "$mode: SIGHUP reloads" "$(tail -3 "$T_TMP/lb.out")"; fi
	# `mplb lb reload` finds the balancer by name and reports its verdict.
	write_cfg "$mode" 2
	out=$("$MPLB" lb reload -c "$T_TMP/lb.ini" 2>&1); rc=$?
	if [ "$rc" -eq 0 ] && grep -q "reloaded: 2 VIPs, 2 backends" <<<"$out"; then pass "$mode: lb reload applies the new backend set ($out)"
	else fail "$mode: lb reload" "rc=$rc: $out"; fi
	# Control-plane reaction (a measurement, not an assertion): `lb reload` from the signal to
	# the verdict, written once the maps hold the new backend set, 2 <-> 3 backends.
	times=()
	for n in 3 2 3 2 3 2; do
		write_cfg "$mode" $n
		t0=$(date +%s%N)
		"$MPLB" lb reload -c "$T_TMP/lb.ini" >/dev/null 2>&1
		times+=($(( ($(date +%s%N) - t0) / 1000000 )))
	done
	echo "# $mode: lb reload, 2 <-> 3 backends (Maglev ring of 65537 slots rebuilt, changed slots written), ms: ${times[*]}"
	cp "$T_TMP/lb.ini" "$T_TMP/lb.good"; echo "strategy = nonsense" >>"$T_TMP/lb.ini"
	out=$("$MPLB" lb reload -c "$T_TMP/lb.good" 2>&1); rc=$?
	if [ "$rc" -eq 1 ] && grep -q "rejected" <<<"$out"; then pass "$mode: lb reload of a bad config is rejected, old config kept"
	else fail "$mode: lb reload rejects a bad config" "rc=$rc: $out"; fi
	cp "$T_TMP/lb.good" "$T_TMP/lb.ini"
	# SIGTERM: the process goes, the data plane stays (attached, pinned, counting).
	prog1=$(IN ip -d link show lbv0 | grep -o 'prog/xdp id [0-9]*')
	if stop_lb && IN ip link show lbv0 | grep -q "$want" && [ -e "/sys/fs/bpf/mplb/$NS/lb_stats" ]; then
		pass "$mode: SIGTERM: process exits, program stays attached, maps stay pinned"
	else
		fail "$mode: SIGTERM keeps the data plane" "$(IN ip link show lbv0 | head -2 | tr '\n' ' ')"
	fi
	before=$(stat_of ring)
	for _ in 1 2 3; do IN bash -c 'echo hi > /dev/udp/10.99.0.100/53' 2>/dev/null; done
	sleep 0.2
	after=$(stat_of ring)
	if [ "$after" -ge $((before + 3)) ]; then pass "$mode: without its process the data plane still forwards ($before -> $after)"
	else fail "$mode: data plane forwards without its process" "ring $before -> $after"; fi
	# A new run takes over: same maps (counters carry on), program swapped in one step.
	if start_lb && grep -q "took over the pinned state" "$T_TMP/lb.out" && grep -q "replaced atomically" "$T_TMP/lb.out"; then
		pass "$mode: restart takes over the pinned state and replaces the program atomically"
	else fail "$mode: restart takes over" "$(tail -3 "$T_TMP/lb.out" | tr '\n' ' ')"; fi
	prog2=$(IN ip -d link show lbv0 | grep -o 'prog/xdp id [0-9]*')
	again=$(stat_of ring)
	if [ "$prog1" != "$prog2" ] && [ -n "$prog2" ] && [ "$again" -ge "$after" ]; then
		pass "$mode: new program ($prog1 -> $prog2), counters kept ($after -> $again)"
	else fail "$mode: new program, counters kept" "$prog1 -> $prog2, ring $after -> $again"; fi
	# A second instance of the same name is refused while one runs.
	out=$(nsenter --net=/var/run/netns/"$NS" "$MPLB" lb run -c "$T_TMP/lb.ini" 2>&1); rc=$?
	if [ $rc -ne 0 ] && grep -q "already running" <<<"$out"; then pass "$mode: a second run of the same name is refused"
	else fail "$mode: second instance refused" "rc=$rc $out"; fi
	# Full stop while it runs: the process withdraws, detaches and unpins itself.
	out=$(nsenter --net=/var/run/netns/"$NS" "$MPLB" lb stop -n "$NS" 2>&1); rc=$?
	if [ $rc -eq 0 ] && ! IN ip link show lbv0 | grep -q xdp && [ ! -e "/sys/fs/bpf/mplb/$NS" ] &&
		[ ! -e "/run/mplb/lb/$NS.json" ]; then
		pass "$mode: lb stop detaches, unpins and removes the run state"
	else fail "$mode: lb stop" "rc=$rc $out $(IN ip link show lbv0 | head -1)"; fi
done

# stop without a process: only the data plane is left after SIGTERM.
write_cfg generic 1
if start_lb && stop_lb && IN ip link show lbv0 | grep -q xdpgeneric; then
	out=$(nsenter --net=/var/run/netns/"$NS" "$MPLB" lb stop -c "$T_TMP/lb.ini" 2>&1); rc=$?
	if [ $rc -eq 0 ] && grep -q "no process was running" <<<"$out" && ! IN ip link show lbv0 | grep -q xdp &&
		[ ! -e "/sys/fs/bpf/mplb/$NS" ]; then
		pass "lb stop of a data plane left running: detached and unpinned"
	else fail "lb stop of a left-running data plane" "rc=$rc $out"; fi
else fail "lb stop of a left-running data plane" "could not set it up: $(tail -2 "$T_TMP/lb.out")"; fi
# Layout changes between runs: refused with what to do, the running data plane untouched.
write_cfg generic 1
if start_lb && stop_lb; then
	prog=$(IN ip -d link show lbv0 | grep -o 'prog/xdp id [0-9]*')
	sed -i 's/^xdp = generic$/xdp = generic\ntoken_entries = 1024/' "$T_TMP/lb.ini"
	out=$(nsenter --net=/var/run/netns/"$NS" "$MPLB" lb run -c "$T_TMP/lb.ini" 2>&1); rc=$?
	if [ $rc -ne 0 ] && grep -q "token_map has 65536 entries, this config wants 1024" <<<"$out" &&
		grep -q "mplb lb stop" <<<"$out" && [ "$(IN ip -d link show lbv0 | grep -o 'prog/xdp id [0-9]*')" = "$prog" ]; then
		pass "a resized table is refused with what to do; the running data plane is untouched"
	else fail "resized table refused" "rc=$rc $out"; fi
	write_cfg generic 1
	bpftool map update pinned "/sys/fs/bpf/mplb/$NS/lb_layout" key 0 0 0 0 value 99 0 0 0
	out=$(nsenter --net=/var/run/netns/"$NS" "$MPLB" lb run -c "$T_TMP/lb.ini" 2>&1); rc=$?
	if [ $rc -ne 0 ] && grep -q "layout version 99, this mplb uses 1" <<<"$out"; then
		pass "pins of another layout version are refused with what to do"
	else fail "layout version refused" "rc=$rc $out"; fi
	bpftool map update pinned "/sys/fs/bpf/mplb/$NS/lb_layout" key 0 0 0 0 value 1 0 0 0
	# A map this version adds (here: one removed by hand) is created; the others keep their state.
	rm "/sys/fs/bpf/mplb/$NS/token_hold"
	before=$(stat_of ring)
	if start_lb && [ -e "/sys/fs/bpf/mplb/$NS/token_hold" ] && [ "$(stat_of ring)" -ge "$before" ] &&
		grep -q "took over" "$T_TMP/lb.out"; then
		pass "a map missing from the pins is created, the rest taken over (counters kept: $before)"
	else fail "missing map created" "$(tail -3 "$T_TMP/lb.out")"; fi
	# The counters of a version that counted fewer events: a fresh counter map, the state kept.
	stop_lb
	rm "/sys/fs/bpf/mplb/$NS/lb_stats"
	bpftool map create "/sys/fs/bpf/mplb/$NS/lb_stats" type percpu_array key 4 value 16 entries 8 name lb_stats
	if start_lb && grep -q "the event counters (lb_stats) start from zero" "$T_TMP/lb.out" &&
		grep -q "took over" "$T_TMP/lb.out" &&
		[ "$(bpftool map show pinned "/sys/fs/bpf/mplb/$NS/lb_stats" | grep -o 'max_entries [0-9]*')" != "max_entries 8" ]; then
		pass "counters of an older version: started again in a new map, the learned state taken over"
	else fail "counters of another size" "$(tail -3 "$T_TMP/lb.out")"; fi
	nsenter --net=/var/run/netns/"$NS" "$MPLB" lb stop -n "$NS" >/dev/null 2>&1
else fail "layout checks" "could not start: $(tail -2 "$T_TMP/lb.out")"; fi

out=$("$MPLB" lb stop -n "$NS" 2>&1); rc=$?
if [ $rc -ne 0 ] && grep -q "no balancer named" <<<"$out"; then pass "lb stop of nothing: names the problem"
else fail "lb stop of nothing" "rc=$rc $out"; fi

out=$("$MPLB" lb reload -n "$NS-nothing" 2>&1); rc=$?
if [ "$rc" -eq 1 ] && grep -q "no balancer named" <<<"$out"; then pass "lb reload of a balancer that is not running names the problem"
else fail "lb reload without a balancer" "rc=$rc: $out"; fi

# Native XDP on loopback is not supported: the error must name the mode that works.
cat >"$T_TMP/lo.ini" <<INI
[lb]
name = $NS-lo
interface = lo
xdp = native
[vip a]
address = 10.99.0.100
port = 80
[backend b0]
id = 0
mac = 02:00:00:00:00:10
INI
out=$(nsenter --net=/var/run/netns/"$NS" "$MPLB" lb run -c "$T_TMP/lo.ini" 2>&1)
if echo "$out" | grep -q "generic mode works"; then pass "attach failure names the working mode"
else fail "attach failure names the working mode" "$(echo "$out" | tail -2 | tr '\n' ' ')"; fi

sed -i 's/interface = lo/interface = mplb-none0/' "$T_TMP/lo.ini"
out=$("$MPLB" lb check -c "$T_TMP/lo.ini" 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "mplb-none0: no such interface"; then pass "check: unknown interface"
else fail "check: unknown interface" "rc=$rc $out"; fi
if "$MPLB" lb check -c "$MPLB_ROOT/lb/examples/lb.ini" >/dev/null; then pass "check: example config"; else fail "check: example config"; fi
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$MPLB" lb run -c "$MPLB_ROOT/lb/examples/lb.ini" 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -qi "root\|privilege\|CAP_"; then pass "run without privileges: clear error"
else fail "run without privileges" "rc=$rc $out"; fi
exit 0
