#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The server agent in the lab: `mplb lab up --server-pm per-server|port|tsecr`
# runs `mplb server run` on every backend (the default), with the lab's ids,
# addresses, VIPs, join-port base and tsecr key. For each scheme, with the
# `mplb client` daemon on the clients and 2 uplinks:
#   - every agent runs and reports ready; its config matches lb.ini;
#   - IPv4 and IPv6 connections establish every subflow expected:
#     per-server and port 3 (the announcement from both uplinks; under port
#     an IPv6 connection joins the IPv4 announcement VIP4:base+m, because the
#     IPv6 ADD_ADDR with a port does not fit beside timestamps: counted in
#     AddAddrTxDrop), tsecr 2 (no C bit: one join to the VIP from eth2,
#     routed by token, the rest by the id in TSecr);
#   - SIGTERM undoes the agent's changes while its namespace lives (C bit,
#     endpoints, add_addr_timeout, limits, BPF programs, pins, files);
#   - `down` after a SIGKILLed agent leaves no agent process, file, pin or
#     BPF program (its journal is replayed by `mplb server cleanup`).
# Then the control `--server-agent off` (the lab's own sysctls and endpoints)
# and the refusals of tsecr without the agent or with a strategy that cannot
# route the join SYN.
source "$(dirname "$0")/../../tests/lib.sh"
need_root "agent lab" || exit 0
[ -x "$MPLB" ] || { fail "agent lab" "$MPLB missing (make build/mplb)"; exit 1; }
for t in python3 bpftool nstat; do command -v $t >/dev/null || { skip "agent lab" "$t missing"; exit 0; }; done
if ! grep -qw userspace /proc/sys/net/mptcp/available_path_managers 2>/dev/null; then
	skip "agent lab" "kernel without the userspace path manager"
	exit 0
fi

N=mplbt-agl
on_exit "$MPLB lab down --name $N"
"$MPLB" lab down --name "$N" >/dev/null 2>&1

lab() { timeout 30 "$MPLB" lab "$@"; }
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# BPF programs of server agents alive on this machine (links die with the
# agent; only pinned maps could outlive it).
srv_progs() { bpftool prog show 2>/dev/null | grep -cE 'name srv_(egress|ingress|sockops|keepaliv)'; }
agent_leftovers() {
	local files pins procs
	files=$(ls /run/mplb/server-"$N"-* 2>/dev/null | tr '\n' ' ')
	pins=$(ls -d /sys/fs/bpf/mplb/server-"$N"-* 2>/dev/null | tr '\n' ' ')
	procs=$(pgrep -f "server run -c /run/mplb/$N/" | tr '\n' ' ')
	[ -z "$files$pins$procs" ] && [ "$(srv_progs)" = "$PROGS0" ] && return 0
	echo "files [$files] pins [$pins] processes [$procs] srv programs $(srv_progs) (before: $PROGS0)"
	return 1
}
up() {
	"$MPLB" lab down --name "$N" >/dev/null 2>&1
	if ! lab up --name "$N" "$@" >"$T_TMP/up.log" 2>&1; then
		fail "lab up $*" "$(tail -3 "$T_TMP/up.log" | tr '\n' ' ')"
		return 1
	fi
}
# probe HOST TARGET SUBFLOWS: "verified conns established expected join_failures"
probe() {
	timeout 60 "$MPLB" lab exec --name "$N" "$1" -- "$MPLB" probe -j -n 3 -s 500000 \
		--subflows "$3" --paths 2 --timeout 3 "$2" 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)["summary"]
print(s["connections_verified"], s["connections"], s["subflows_established"], s["subflows_expected"], s["join_failures"])' 2>/dev/null ||
		echo "0 0 0 0 0"
}

PROGS0=$(srv_progs)
for scheme in per-server port tsecr; do
	up --server-pm "$scheme" --client-pm mplb || continue
	st=$(lab status --name "$N" -j)
	expect_eq "$scheme: an agent runs and is ready on every backend" \
		"$(echo "$st" | jget 'sum(1 for h in d["hosts"] if h.get("agent", {}).get("ready"))')" 4
	# tsecr labs route the MP_JOIN SYN by token, which the agents push (--token-sync default on).
	agent_scheme=$scheme
	[ "$scheme" = tsecr ] && agent_scheme=tsecr+token
	expect_eq "$scheme: agents' scheme" \
		"$(echo "$st" | jget '" ".join(sorted({h["agent"]["scheme"] for h in d["hosts"] if "agent" in h}))')" "$agent_scheme"
	check "$scheme: status table shows the agent" sh -c "'$MPLB' lab status --name $N | grep -q 'agent $agent_scheme: pid [0-9]*, ready'"
	check "$scheme: agent b3 has id 3, like lb.ini's [backend b3]" sh -c \
		"grep -qx 'id = 3' /run/mplb/$N/server-b3.ini && sed -n '/^\[backend b3\]/,/^\$/p' /run/mplb/$N/lb.ini | grep -qx 'id = 3'"
	if [ "$scheme" = tsecr ]; then
		expect_eq "tsecr: the agents' key is lb.ini's" "$(grep -h '^tsecr_key' /run/mplb/$N/server-b*.ini | sort -u)" \
			"$(grep '^tsecr_key' /run/mplb/$N/lb.ini)"
		expect_eq "tsecr: balancer strategy" "$(echo "$st" | jget 'd["balancer"]["strategy"]')" token+tsecr
		want=2
	else
		expect_eq "$scheme: C bit set by the agent" \
			"$(lab exec --name "$N" b1 -- sysctl -n net.mptcp.allow_join_initial_addr_port)" 0
		expect_eq "$scheme: the agent's 2 signal endpoints" \
			"$(lab exec --name "$N" b1 -- ip mptcp endpoint show | grep -c signal)" 2
		want=3
	fi
	[ "$scheme" = port ] && check "port: join_port_base = lb.ini's" sh -c \
		"grep -qx 'join_port_base = 20000' /run/mplb/$N/server-b1.ini && grep -qx 'join_port_base = 20000' /run/mplb/$N/lb.ini"
	# IPv4 from c1 and IPv6 from c2 at once.
	probe c1 10.200.0.1:80 $want >"$T_TMP/r4" &
	probe c2 '[fd00:200::1]:80' $want >"$T_TMP/r6" &
	wait
	for fam in 4 6; do
		read -r ver conns est exp jf <"$T_TMP/r$fam"
		echo "# $scheme IPv$fam: $ver/$conns verified, subflows $est/$exp, join failures $jf"
		if [ "$conns" -gt 0 ] && [ "$ver" = "$conns" ] && [ "$est" = "$exp" ] && [ "$jf" = 0 ]; then
			pass "$scheme IPv$fam: subflows established = expected ($est/$exp, $want per connection)"
		else
			fail "$scheme IPv$fam: subflows established = expected" "verified $ver/$conns, subflows $est/$exp, join failures $jf"
		fi
	done
	if [ "$scheme" = port ]; then
		drops=0
		for b in 1 2 3 4; do
			drops=$((drops + $(lab exec --name "$N" b$b -- nstat -az MPTcpExtAddAddrTxDrop | awk '/AddAddrTxDrop/ {print $2}')))
		done
		if [ "$drops" -gt 0 ]; then pass "port IPv6: the IPv6 ADD_ADDR with a port was dropped ($drops), the IPv4 one joined"
		else fail "port IPv6: IPv6 ADD_ADDR with a port dropped" "AddAddrTxDrop $drops"; fi
	fi
	if [ "$scheme" = tsecr ]; then
		n=$("$MPLB" lb stats -j -n "$N/lb1" | jget 'd["counters"].get("tsecr", {}).get("packets", 0)')
		if [ "$n" -gt 0 ]; then pass "tsecr: the balancer followed TSecr ($n packets)"; else fail "tsecr: balancer followed TSecr" "counter tsecr $n"; fi
	fi
	if [ "$scheme" = per-server ]; then
		# The balancer checks the agents' health endpoints (lb.ini health = ...):
		# stop b3's service and b3 must leave the pool; new connections avoid it.
		spid=$(echo "$st" | jget '[p["pid"] for h in d["hosts"] if h["id"]=="b3" for p in h["processes"] if p["name"]=="serve"][0]')
		kill -TERM "$spid"
		state=
		for _ in $(seq 50); do
			state=$("$MPLB" lb stats -j -n "$N/lb1" | jget 'd.get("health", {}).get("backends", {}).get("b3", {}).get("state")' 2>/dev/null)
			[ "$state" = down ] && break
			sleep 0.1
		done
		expect_eq "health: the balancer drains b3 once its service stops (agent not ready)" "$state" down
		ids=$(timeout 60 "$MPLB" lab exec --name "$N" c1 -- "$MPLB" probe -j -n 12 -s 10000 --subflows 1 --timeout 3 10.200.0.1:80 2>/dev/null |
			jget '" ".join(sorted({str(c["backend_id"]) for c in d["connections"] if c.get("verified")}))')
		if [ -n "$ids" ] && ! grep -qw 3 <<<"$ids"; then pass "health: new connections avoid drained b3 (backends $ids)"
		else fail "health: new connections avoid drained b3" "backends '$ids'"; fi
	fi

	# SIGTERM: the agent undoes its changes with the namespace intact.
	pid=$(echo "$st" | jget '[h for h in d["hosts"] if h["id"]=="b1"][0]["agent"]["pid"]')
	kill -TERM "$pid"
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	undone=$(lab exec --name "$N" b1 -- sh -c 'echo "$(sysctl -n net.mptcp.allow_join_initial_addr_port) $(sysctl -n net.mptcp.add_addr_timeout) $(ip mptcp endpoint show | wc -l) $(ip mptcp limits | grep -o "subflows [0-9]*")"')
	expect_eq "$scheme: SIGTERM: C bit, add_addr_timeout, endpoints, limits back" "$undone" "1 120 0 subflows 2"
	check "$scheme: SIGTERM: agent b1 gone, its files and pins removed" sh -c \
		"! kill -0 $pid 2>/dev/null && ! ls /run/mplb/server-$N-b1.* /sys/fs/bpf/mplb/server-$N-b1 2>/dev/null | grep -q ."
	# SIGKILL: nothing undone until `down` replays the journal.
	pid=$(echo "$st" | jget '[h for h in d["hosts"] if h["id"]=="b2"][0]["agent"]["pid"]')
	kill -KILL "$pid"
	check "$scheme: SIGKILLed agent leaves its journal" test -e "/run/mplb/server-$N-b2.journal"
	check "$scheme: status shows the dead agent" sh -c "'$MPLB' lab status --name $N | grep -q 'agent $agent_scheme: NOT RUNNING'"
	check "$scheme: down" lab down --name "$N"
	check "$scheme: down leaves no agent process, file, pin or BPF program" agent_leftovers
done

# --- control: the lab configures the backends itself ------------------------
if up --server-pm per-server --server-agent off --client-pm fullmesh; then
	st=$(lab status --name "$N" -j)
	expect_eq "--server-agent off: no agent" "$(echo "$st" | jget 'sum(1 for h in d["hosts"] if "agent" in h)')" 0
	expect_eq "--server-agent off: C bit and endpoints by the lab" \
		"$(lab exec --name "$N" b1 -- sh -c 'echo $(sysctl -n net.mptcp.allow_join_initial_addr_port) $(ip mptcp endpoint show | grep -c signal)')" "0 2"
	read -r ver conns est exp jf < <(probe c1 10.200.0.1:80 3)
	expect_eq "--server-agent off: IPv4 per-server still every subflow" "$ver/$conns $est/$exp $jf" "3/3 9/9 0"
	check "--server-agent off: down" lab down --name "$N"
fi

# --- refusals ------------------------------------------------------------------
for bad in "--server-pm tsecr --server-agent off" "--server-pm tsecr --lb-strategy hash" \
	"--server-pm tsecr --lb-strategy token" "--server-pm tsecr --lb kernel"; do
	# shellcheck disable=SC2086
	out=$(lab up --name "$N" $bad 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && grep -q "tsecr" <<<"$out" && ! ip netns list | grep -q "^$N-"; then
		pass "refused before creating anything: $bad"
	else
		fail "refused: $bad" "rc=$rc: $(echo "$out" | tail -1)"
	fi
done
check "nothing left at the end" agent_leftovers
exit 0
