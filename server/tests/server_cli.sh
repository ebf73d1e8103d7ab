#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `mplb server` on one backend namespace: check (no root), run/stop restores
# every sysctl, endpoint, link, pin and file; SIGKILL leaves a journal that
# `cleanup` and the next `run` replay; second instance refused; pre-existing
# endpoints left alone; clear errors (VIP missing, MPTCP off, userspace PM,
# port in use) and warnings (other listeners share the C bit); status -j;
# the health endpoint follows the VIP.
. "$(dirname "$0")/../../tests/lib.sh"

EX=$MPLB_ROOT/server/examples/server.ini
[ -x "$MPLB" ] || { fail "server: binary" "$MPLB missing: run make build/mplb"; exit 1; }

# ---- without root ---------------------------------------------------------------
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$MPLB" server check -c "$EX" 2>&1)
if echo "$out" | grep -q ': OK$'; then pass "check: example config, without root"; else fail "check: example" "$out"; fi
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$MPLB" server run -c "$EX" 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "needs root"; then pass "run without root: clear error"; else fail "run without root" "rc=$rc $out"; fi
bad() { # NAME WANT-REGEX INI
	local f=$T_TMP/bad.ini out rc
	printf '%b' "$3" >"$f"
	out=$("$MPLB" server check -c "$f" 2>&1); rc=$?
	if [ $rc -ne 0 ] && echo "$out" | grep -Eq "$2"; then pass "check rejects: $1"; else fail "check rejects: $1" "rc=$rc $out"; fi
}
bad "id outside 0..255" "id space is 0..255" "[server]\nid = 256\naddress = 10.0.0.2\n[vip a]\naddress = 10.0.0.1\nport = 80\nscheme = per-server\n"
bad "unknown key" "unknown key" "[server]\nid = 1\nbogus = 1\n"
bad "port scheme without base" "needs join_port_base" "[server]\nid = 1\n[vip a]\naddress = 10.0.0.1\nport = 80\nscheme = port\n"
bad "join port = service port" "join port 80 is the service port" "[server]\nid = 1\n[vip a]\naddress = 10.0.0.1\nport = 80\nscheme = port\njoin_port_base = 79\n[vip b]\naddress = 10.0.0.1\nport = 81\nscheme = per-server\n[server]\naddress = 10.0.0.9\n"
bad "tsecr without key" "needs \\[server\\] tsecr_key" "[server]\nid = 1\n[vip a]\naddress = 10.0.0.1\nport = 80\nscheme = tsecr\n"
bad "keepalive past PAWS" "32.7 s" "[server]\nid = 1\ntsecr_keepalive = 40\n"
bad "syntax" "syntax error" "[server\nid = 1\n"

need_root "server run" || exit 0

P=mplbt-srv-cli$$
NB=1
. "$(dirname "$0")/topo.inc"
topo_up || { fail "topology" "cannot build"; exit 1; }
B=$P-b1
X() { IN "$B" "$@"; }
sysv() { ip netns exec "$B" sysctl -n "$1"; }
write_srv_cfg "$T_TMP/a.ini" 1 per-server "health_port = 8081"
cat >>"$T_TMP/a.ini" <<EOF
[vip tstamp]
address = $VIP4
port = 443
scheme = tsecr
EOF

# A listener that is not a VIP: the C bit covers it too (warning).
bg other "$B" python3 -u -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 2222)); s.listen(); time.sleep(600)'
bg serve1 "$B" "$MPLB" serve --id 1 --listen "[::]:80"
bg serve443 "$B" "$MPLB" serve --id 1 --listen "[::]:443"
wait_log serve1 listening; wait_log serve443 listening
for _ in $(seq 50); do ip netns exec "$B" ss -ltn | grep -q ':2222 ' && break; sleep 0.1; done
before_c=$(sysv net.mptcp.allow_join_initial_addr_port)
before_t=$(sysv net.mptcp.add_addr_timeout)
before_l=$(ip -n "$B" mptcp limits show | tr '\n' ' ')

# ---- run ------------------------------------------------------------------------
bg agent "$B" "$MPLB" server run -c "$T_TMP/a.ini"
if wait_log agent " up in netns"; then pass "run: up"; else fail "run: up" "$(tail -5 "$T_TMP/agent.log")"; fi
grep -q "0.0.0.0:2222" "$T_TMP/agent.log" && grep -q "C bit" "$T_TMP/agent.log" &&
	pass "warns that the C bit also covers 0.0.0.0:2222" || fail "C-bit warning" "$(cat "$T_TMP/agent.log")"
expect_eq "C bit set (allow_join_initial_addr_port)" "$(sysv net.mptcp.allow_join_initial_addr_port)" 0
expect_eq "add_addr_timeout set" "$(sysv net.mptcp.add_addr_timeout)" 1
eps=$(ip -n "$B" mptcp endpoint show)
if echo "$eps" | grep -q "10.62.2.1 id .* signal" && echo "$eps" | grep -q "fd62::2:1 id .* signal"; then
	pass "signal endpoints for both own addresses"; else fail "signal endpoints" "$eps"; fi
[ -e /sys/fs/bpf/mplb/server-$B/srv_stats ] && pass "maps pinned" || fail "maps pinned"
"$MPLB" server status -j -n "$B" >"$T_TMP/st.json" 2>"$T_TMP/st.err"
if python3 - "$T_TMP/st.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["running"] and d["id"] == 1 and d["c_bit"], d
assert {v["scheme"] for v in d["vips"]} == {"per-server", "tsecr"}, d["vips"]
assert len([t for t in d["tc"] if t["mode"] == "tcx"]) == 2, d["tc"]
assert d["sock_ops_cgroup"], "sock_ops"
assert d["health"]["ready"], d["health"]
assert "counters" in d and "mib" in d
PY
then pass "status -j: scheme, VIPs, tcx links, sock_ops, health, counters"; else fail "status -j" "$(head -c 400 "$T_TMP/st.json") $(cat "$T_TMP/st.err")"; fi
"$MPLB" server status -n "$B" | grep -q "C bit set" && pass "status text" || fail "status text"

# Health endpoint: ready; not ready while the VIP is off lo; ready again.
health() { IN "$P-r" timeout 2 bash -c 'exec 3<>/dev/tcp/10.62.2.1/8081; echo -e "GET / HTTP/1.0\r\n" >&3; cat <&3' 2>/dev/null | tail -1; }
expect_eq "health endpoint: ready" "$(health)" ready
ip -n "$B" addr del $VIP4/32 dev lo
sleep 1.5
h=$(health)
case $h in "not ready: VIP 10.63.0.1 not configured"*) pass "health: not ready without the VIP ($h)" ;; *) fail "health: VIP removed" "$h" ;; esac
ip -n "$B" addr add $VIP4/32 dev lo
sleep 1.5
expect_eq "health: ready again" "$(health)" ready

# Second instance with the same name: refused.
out=$(X "$MPLB" server run -c "$T_TMP/a.ini" 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "already running"; then pass "second instance refused"; else fail "second instance" "rc=$rc $out"; fi

# ---- clean stop -----------------------------------------------------------------
stop_bg agent
expect_eq "stop: C bit restored" "$(sysv net.mptcp.allow_join_initial_addr_port)" "$before_c"
expect_eq "stop: add_addr_timeout restored" "$(sysv net.mptcp.add_addr_timeout)" "$before_t"
expect_eq "stop: limits restored" "$(ip -n "$B" mptcp limits show | tr '\n' ' ')" "$before_l"
expect_eq "stop: endpoints removed" "$(ip -n "$B" mptcp endpoint show)" ""
if [ ! -e /sys/fs/bpf/mplb/server-$B ] && [ ! -e /run/mplb/server-$B.json ] && [ ! -e /run/mplb/server-$B.journal ]; then
	pass "stop: pins, state and journal removed"; else fail "stop: files left" "$(ls /sys/fs/bpf/mplb /run/mplb)"; fi

# ---- SIGKILL, then cleanup; SIGKILL, then run again -----------------------------
bg agent "$B" "$MPLB" server run -c "$T_TMP/a.ini"
wait_log agent " up in netns" || fail "run after stop" "$(tail -3 "$T_TMP/agent.log")"
nlinks=$(bpftool link show 2>/dev/null | grep -c '^[0-9]*: type 11')
stop_bg agent KILL
sleep 0.3
nlinks2=$(bpftool link show 2>/dev/null | grep -c '^[0-9]*: type 11')
if [ "$nlinks2" -lt "$nlinks" ]; then pass "SIGKILL: the kernel dropped the tcx links ($nlinks -> $nlinks2)"; else fail "SIGKILL tcx links" "$nlinks -> $nlinks2"; fi
if [ "$(sysv net.mptcp.allow_join_initial_addr_port)" = 0 ] && [ -s /run/mplb/server-$B.journal ]; then
	pass "SIGKILL: changes and journal left behind"; else fail "SIGKILL leftovers" "$(cat /run/mplb/server-$B.journal 2>&1)"; fi
out=$(X "$MPLB" server cleanup -c "$T_TMP/a.ini" 2>&1)
if [ "$(sysv net.mptcp.allow_join_initial_addr_port)" = "$before_c" ] && [ -z "$(ip -n "$B" mptcp endpoint show)" ] &&
   [ ! -e /run/mplb/server-$B.journal ] && [ ! -e /sys/fs/bpf/mplb/server-$B ]; then
	pass "cleanup replays the journal: every change undone"; else fail "cleanup" "$out"; fi
# cleanup from another namespace is refused (the journal names its namespace)
bg agent "$B" "$MPLB" server run -c "$T_TMP/a.ini"
wait_log agent " up in netns"
stop_bg agent KILL
out=$(IN "$P-r" "$MPLB" server cleanup -c "$T_TMP/a.ini" 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "inside that namespace"; then pass "cleanup in the wrong namespace refused"; else fail "cleanup wrong ns" "rc=$rc $out"; fi
bg agent "$B" "$MPLB" server run -c "$T_TMP/a.ini"
if wait_log agent " up in netns" && grep -q "undoing the changes of a previous run" "$T_TMP/agent.log"; then
	pass "run after SIGKILL replays the journal first, then applies"; else fail "run after SIGKILL" "$(cat "$T_TMP/agent.log")"; fi
n=$(ip -n "$B" mptcp endpoint show | wc -l)
expect_eq "idempotent: still exactly 2 endpoints" "$n" 2
stop_bg agent
expect_eq "stopped: endpoints removed" "$(ip -n "$B" mptcp endpoint show)" ""

# ---- an endpoint that was there before is used and left in place ----------------
ip -n "$B" mptcp endpoint add 10.62.2.1 dev eth0 signal
bg agent "$B" "$MPLB" server run -c "$T_TMP/a.ini"
wait_log agent " up in netns"
stop_bg agent
if ip -n "$B" mptcp endpoint show | grep -q "10.62.2.1 .*signal" && ! ip -n "$B" mptcp endpoint show | grep -q fd62; then
	pass "pre-existing endpoint left in place, ours removed"; else fail "pre-existing endpoint" "$(ip -n "$B" mptcp endpoint show)"; fi
ip -n "$B" mptcp endpoint flush
ip -n "$B" mptcp endpoint add 10.62.2.1 dev eth0 subflow
out=$(X "$MPLB" server run -c "$T_TMP/a.ini" 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "already exists (id .*, flags subflow)"; then pass "conflicting endpoint: clear error"; else fail "conflicting endpoint" "rc=$rc $out"; fi
ip -n "$B" mptcp endpoint flush

# ---- errors naming the fix ------------------------------------------------------
ip -n "$B" addr del $VIP6/128 dev lo
out=$(X "$MPLB" server run -c "$T_TMP/a.ini" 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "ip addr add fd63::1/128 dev lo"; then pass "VIP missing: error names the fix"; else fail "VIP missing" "rc=$rc $out"; fi
ip -n "$B" addr add $VIP6/128 dev lo nodad
ip netns exec "$B" sysctl -qw net.mptcp.enabled=0
out=$(X "$MPLB" server run -c "$T_TMP/a.ini" 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "net.mptcp.enabled=1"; then pass "MPTCP off: error names the fix"; else fail "MPTCP off" "rc=$rc $out"; fi
ip netns exec "$B" sysctl -qw net.mptcp.enabled=1
ip netns exec "$B" sysctl -qw net.mptcp.path_manager=userspace 2>/dev/null &&
{
	out=$(X "$MPLB" server run -c "$T_TMP/a.ini" 2>&1); rc=$?
	if [ $rc -ne 0 ] && echo "$out" | grep -q "in-kernel path manager"; then pass "userspace PM: clear error"; else fail "userspace PM" "rc=$rc $out"; fi
	ip netns exec "$B" sysctl -qw net.mptcp.path_manager=kernel
}
cat >"$T_TMP/p.ini" <<EOF
[server]
name = $B-p
id = 1
address = 10.62.2.1
health_port = 2222
[vip a]
address = $VIP4
port = 81
scheme = port
join_port_base = 79
EOF
out=$(X "$MPLB" server run -c "$T_TMP/p.ini" 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "join port 10.63.0.1:80 is already in use" && echo "$out" | grep -q "health_port 10.62.2.1:2222 is already in use"; then
	pass "ports in use: join port and health port errors"; else fail "ports in use" "rc=$rc $out"; fi
expect_eq "failed runs changed nothing" "$(sysv net.mptcp.allow_join_initial_addr_port)/$(ip -n "$B" mptcp endpoint show | wc -l)" "$before_c/0"
exit 0
