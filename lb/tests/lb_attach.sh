#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `mplb lb run` on a veth in a throwaway netns: the program passes the
# verifier and attaches in native and in generic mode, counts real traffic,
# reloads on SIGHUP, detaches and unpins on SIGTERM; `mplb lb check` and the
# attach-failure message name what to fix.
source "$(dirname "$0")/../../tests/lib.sh"

need_root "lb attach" || exit 0
[ -x "$MPLB" ] || { fail "lb attach" "$MPLB not built"; exit 1; }

NS=mplbt-lbv-$$
ip netns add "$NS" || { fail "netns" "cannot create $NS"; exit 1; }
on_exit "ip netns del $NS"
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
	cp "$T_TMP/lb.ini" "$T_TMP/lb.good"; echo "strategy = nonsense" >>"$T_TMP/lb.ini"
	out=$("$MPLB" lb reload -c "$T_TMP/lb.good" 2>&1); rc=$?
	if [ "$rc" -eq 1 ] && grep -q "rejected" <<<"$out"; then pass "$mode: lb reload of a bad config is rejected, old config kept"
	else fail "$mode: lb reload rejects a bad config" "rc=$rc: $out"; fi
	cp "$T_TMP/lb.good" "$T_TMP/lb.ini"
	if stop_lb && ! IN ip link show lbv0 | grep -q xdp && [ ! -e "/sys/fs/bpf/mplb/$NS" ]; then
		pass "$mode: SIGTERM detaches and unpins"
	else
		fail "$mode: SIGTERM detaches and unpins" "$(IN ip link show lbv0 | head -2 | tr '\n' ' ')"
	fi
done

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
