#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The balancer's encapsulation removed by the agent (tc ingress, no ipip
# module on this kernel): IPv4-in-IPv4 (backends with IPv4 addresses),
# IPv4-in-IPv6 and IPv6-in-IPv6 (backends with IPv6 addresses), MPTCP and
# plain TCP, tsecr scheme (every packet of every subflow goes through the
# balancer, encapsulated). Control: decap off, nothing gets through.
. "$(dirname "$0")/../../tests/lib.sh"

need_root "server decap" || exit 0
[ -x "$MPLB" ] || { fail "server: binary" "$MPLB missing"; exit 1; }
P=mplbt-srv-dc$$
. "$(dirname "$0")/topo.inc"
topo_up || { fail "topology" "cannot build"; exit 1; }
# Room for the outer header (20 or 40 bytes) on the 1500-byte bridge.
for j in 1 2; do
	ip -n "$P-c" link set dev eth$j mtu 1400
	ip -n "$P-r" link set dev cu$j mtu 1400
done
start_serves || exit 1
sum_counter() { local k t=0; for k in $(seq "$NB"); do t=$((t + $(jget /run/mplb/server-$P-b$k.json "d['counters'].get('$1', 0)"))); done; echo $t; }
ok_probe() { # NAME FILE ARGS...
	local name=$1 f=$2
	shift 2
	probe "$f" "$@"
	if [ "$PROBE_RC" = 0 ]; then pass "$name ($(jget "$f" '"%d/%d verified, subflows %d/%d" % (d["summary"]["connections_verified"], d["summary"]["connections"], d["summary"]["subflows_established"], d["summary"]["subflows_expected"])'))"
	else fail "$name" "$(tail -2 "$f.err" | tr '\n' ' ')"; fi
}

start_agents tsecr "decap = on" || { fail "agents" "did not start"; exit 1; }
start_lb token+tsecr ipip4 || exit 1
ok_probe "IPv4-in-IPv4: MPTCP download" "$T_TMP/d4.json" -n 4 -s 2M --subflows 2 "$VIP4:80"
ok_probe "IPv4-in-IPv4: MPTCP upload" "$T_TMP/u4.json" -n 2 -s 2M -m upload --subflows 2 "$VIP4:80"
ok_probe "IPv4-in-IPv4: plain TCP" "$T_TMP/t4.json" --tcp -n 2 -s 1M "$VIP4:80"
sleep 1.2
n=$(sum_counter decap_ipip); f=$(sum_counter decap_failed)
[ "$n" -gt 100 ] && [ "$f" = 0 ] && pass "agents removed $n IPIP headers ($f failed)" || fail "decap_ipip" "$n, failed $f"
stop_bg lb

start_lb token+tsecr ipip6 || exit 1
ok_probe "IPv4-in-IPv6: MPTCP" "$T_TMP/d46.json" -n 4 -s 2M --subflows 2 "$VIP4:80"
ok_probe "IPv6-in-IPv6: MPTCP" "$T_TMP/d66.json" -n 4 -s 2M --subflows 2 "[$VIP6]:80"
ok_probe "IPv6-in-IPv6: plain TCP upload" "$T_TMP/t66.json" --tcp -n 2 -s 1M -m upload "[$VIP6]:80"
sleep 1.2
a=$(sum_counter decap_ip4ip6); b=$(sum_counter decap_ip6ip6)
[ "$a" -gt 100 ] && [ "$b" -gt 100 ] && pass "agents removed $a IPv4-in-IPv6 and $b IPv6-in-IPv6 headers" || fail "decap v6" "$a / $b"

stop_agents
start_agents tsecr "decap = off" || exit 1
probe "$T_TMP/neg.json" -n 2 -s 100k --subflows 1 --timeout 2 "$VIP4:80"
[ "$PROBE_RC" != 0 ] && pass "control: decap off, encapsulated connections fail" || fail "control decap off" "probe succeeded"
exit 0
