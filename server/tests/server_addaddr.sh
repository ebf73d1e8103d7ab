#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliable ADD_ADDR (per-server scheme): nftables in the client drops the
# first k ADD_ADDRs; the join still happens through the kernel's echo-driven
# retransmission; the agent's report (sent / echoed / retransmitted / never
# echoed, time to echo and to join, per connection) is checked against the
# drops and the namespace's MIB counters. Time to join for the kernel's
# add_addr_timeout (120 s) and the agent's (1 s): with a 200 ms RTO the
# timer is the RTO's and both are equal; with a 3 s RTO (route rto_min) the
# cap decides. Controls: timeout 0 (no retransmission) and 4 drops: no join.
. "$(dirname "$0")/../../tests/lib.sh"

need_root "server add_addr" || exit 0
[ -x "$MPLB" ] || { fail "server: binary" "$MPLB missing"; exit 1; }
P=mplbt-srv-aa$$
. "$(dirname "$0")/topo.inc"
topo_up || { fail "topology" "cannot build"; exit 1; }
start_serves || exit 1
start_lb hash || exit 1

agents() { # ADD_ADDR_TIMEOUT: per-server agents announcing only their IPv4 address
	local k
	stop_agents
	for k in $(seq "$NB"); do
		cat >"$T_TMP/aa$k.ini" <<INI
[server]
name = $P-b$k
id = $k
address = 10.62.2.$k
interface = eth0
add_addr_timeout = $1
[vip web4]
address = $VIP4
port = 80
scheme = per-server
INI
		bg agent$k "$P-b$k" "$MPLB" server run -c "$T_TMP/aa$k.ini"
	done
	for k in $(seq "$NB"); do wait_log agent$k " up in netns" || return 1; done
}
# drop K: client input drops the first K ADD_ADDRs (68-byte IPv4 ADD_ADDR packets)
drop() {
	ip netns exec "$P-c" nft flush ruleset
	[ "$1" -gt 0 ] || return 0
	ip netns exec "$P-c" nft -f - <<NFT
table inet mplbt {
	chain in {
		type filter hook input priority 0;
		tcp option mptcp subtype 3 quota until $((68 * $1)) bytes counter drop
	}
}
NFT
}
mib() { ip netns exec "$1" nstat -az "MPTcpExt$2" | awk -v n="MPTcpExt$2" '$1 == n {print $2}'; }
# one CONN-TAG K TIMEOUT: one connection; prints "sent retrans echoed join_ms never subflows"
one() {
	local tag=$1 k=$2 tmo=$3 b
	drop "$k"
	probe "$T_TMP/$tag.json" -n 1 -s 100k --subflows 3 --timeout "$tmo" "$VIP4:80"
	b=$(jget "$T_TMP/$tag.json" 'd["connections"][0]["backend_id"]')
	sleep 0.2
	"$MPLB" server status -j -n "$P-b$b" >"$T_TMP/$tag.st"
	python3 - "$T_TMP/$tag.st" "$T_TMP/$tag.json" <<'PY'
import json, sys
st = json.load(open(sys.argv[1])); pr = json.load(open(sys.argv[2]))
anns = [a for c in st["announcements"] for a in c["announcements"]]
a = min(anns, key=lambda a: a["age_ms"])  # this connection's: the newest
j = a["join_after_ms"]
print(a["sent"], a["retransmitted"], a["echoed"], -1 if j is None else int(j), int(a["never_echoed"]),
      pr["summary"]["subflows_established"])
PY
}
ms() { echo "$1" | awk '{print $4}'; }

agents 1 || { fail "agents" "did not start"; exit 1; }
s0=$(mib "$P-b1" AddAddrTx)
r=$(one clean 0 5); read -r sent re ec jm ne sf <<<"$r"
[ "$sent" = 1 ] && [ "$ec" = 1 ] && [ "$jm" -ge 0 ] && [ "$sf" = 3 ] &&
	pass "no loss: 1 ADD_ADDR, echoed, joined after $jm ms, 3 subflows" || fail "no loss" "$r"
r=$(one k1 1 5); read -r sent re ec jm ne sf <<<"$r"
[ "$sent" = 2 ] && [ "$re" = 1 ] && [ "$ec" = 1 ] && [ "$sf" = 3 ] &&
	pass "first ADD_ADDR dropped: retransmitted once, echoed, joined after $jm ms (agent's 1 s cap, RTO 200 ms)" || fail "1 drop" "$r"
j_agent_fast=$jm
r=$(one k2 2 5); read -r sent re ec jm ne sf <<<"$r"
[ "$sent" = 3 ] && [ "$re" = 2 ] && [ "$ec" = 1 ] && [ "$sf" = 3 ] &&
	pass "two dropped: retransmitted twice, joined after $jm ms" || fail "2 drops" "$r"
r=$(one k4 4 3); read -r sent re ec jm ne sf <<<"$r"
[ "$sent" = 4 ] && [ "$ec" = 0 ] && [ "$ne" = 1 ] && [ "$jm" = -1 ] && [ "$sf" = 1 ] &&
	pass "four dropped (1 + 3 retransmissions, the kernel's maximum): reported never echoed, no join" || fail "4 drops" "$r"
# MIB cross-check on one backend: what the agent counted leaving = AddAddrTx, echoes = EchoAdd.
tx_rep=0; tx_mib=0; ec_rep=0; ec_mib=0
for k in $(seq "$NB"); do
	"$MPLB" server status -j -n "$P-b$k" >"$T_TMP/x$k.st"
	read -r t e <<<"$(jget "$T_TMP/x$k.st" '"%d %d" % (sum(a["sent"] for c in d["announcements"] for a in c["announcements"]), sum(a["echoed"] for c in d["announcements"] for a in c["announcements"]))')"
	tx_rep=$((tx_rep + t)); ec_rep=$((ec_rep + e))
	tx_mib=$((tx_mib + $(mib "$P-b$k" AddAddrTx))); ec_mib=$((ec_mib + $(mib "$P-b$k" EchoAdd)))
done
[ "$tx_rep" = "$tx_mib" ] && [ "$ec_rep" = "$ec_mib" ] &&
	pass "report agrees with the MIB: sent $tx_rep = AddAddrTx $tx_mib, echoed $ec_rep = EchoAdd $ec_mib" ||
	fail "MIB cross-check" "sent $tx_rep vs AddAddrTx $tx_mib, echoed $ec_rep vs EchoAdd $ec_mib"

agents keep || exit 1
r=$(one kd1 1 5); read -r sent re ec jm ne sf <<<"$r"
[ "$sf" = 3 ] && pass "kernel default (add_addr_timeout 120), RTO 200 ms, one drop: joined after $jm ms (agent: $j_agent_fast ms)" || fail "default 1 drop" "$r"

# A 3 s RTO (route rto_min on the backends): now the cap decides.
for k in $(seq "$NB"); do ip -n "$P-b$k" route change default via 10.62.0.1 rto_min 3s; done
r=$(one slowd 1 8); read -r sent re ec jm ne sf <<<"$r"; j_default=$jm
agents 1 || exit 1
r2=$(one slowa 1 8); read -r sent re ec jm ne sf <<<"$r2"; j_agent=$jm
if [ "$j_agent" -ge 900 ] && [ "$j_agent" -lt 1600 ] && [ "$j_default" -ge 2800 ] && [ "$j_agent" -lt "$j_default" ]; then
	pass "RTO 3 s, one drop: time to join $j_default ms with the kernel default, $j_agent ms with the agent's 1 s"
else fail "RTO 3 s timing" "default: $r / agent: $r2"; fi
for k in $(seq "$NB"); do ip -n "$P-b$k" route change default via 10.62.0.1; done

agents 0 || exit 1
r=$(one zero 1 3); read -r sent re ec jm ne sf <<<"$r"
[ "$sent" = 1 ] && [ "$ec" = 0 ] && [ "$jm" = -1 ] && [ "$sf" = 1 ] &&
	pass "control: add_addr_timeout 0 (no retransmission) and one drop: no join" || fail "timeout 0" "$r"
ip netns exec "$P-c" nft flush ruleset
exit 0
