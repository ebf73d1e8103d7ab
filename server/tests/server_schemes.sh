#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The three schemes end to end: real kernel MPTCP clients with two uplinks,
# `mplb lb run` (XDP generic, DSR), 4 backends each with `mplb serve` and
# `mplb server run`; every byte verified by `mplb probe -j`.
#   control   hash balancer, no agent: joins reach the wrong backend and fail
#   per-server  subflows established == expected (IPv4 3, IPv6 5) and the
#             balancer (token strategy, so it would count them) sees no MP_JOIN
#   per-server initial_subflow close / backup
#   port      joins routed by port; the kernel's join-only listener refuses
#             plain TCP and MPTCP connections to VIP:base+id
#   tsecr     joins by token, every later segment by the id in TSecr
. "$(dirname "$0")/../../tests/lib.sh"

need_root "server schemes" || exit 0
[ -x "$MPLB" ] || { fail "server: binary" "$MPLB missing"; exit 1; }
P=mplbt-srv-sch$$
. "$(dirname "$0")/topo.inc"
topo_up || { fail "topology" "cannot build"; exit 1; }
start_serves || { fail "serve" "did not start"; exit 1; }

# summary CHECK-NAME FILE PY-ASSERT...: python assertions over the probe document d / summary s
probe_ok() {
	local name=$1 f=$2 expr=$3 out
	if out=$(python3 - "$f" "$expr" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); s = d["summary"]; c = d["connections"]
ok = eval(sys.argv[2])
print("subflows %d/%d, joins %d failed %d, bytes %d, verified %d/%d" % (s["subflows_established"],
      s["subflows_expected"], s["join_attempts"], s["join_failures"], s["bytes"], s["connections_verified"], s["connections"]))
sys.exit(0 if ok else 1)
PY
); then pass "$name ($out)"; else fail "$name" "$out; $(tail -2 "$f.err" | tr '\n' ' ')"; fi
}

# ---- control: hash balancer, no agent ------------------------------------------
start_lb hash || { fail "lb" "$(tail -3 "$T_TMP/lb.log")"; exit 1; }
probe "$T_TMP/ctl.json" -n 8 -s 200k --subflows 2 --timeout 3 "$VIP4:80"
probe_ok "control (hash, no agent): joins to the VIP land on other backends and fail" "$T_TMP/ctl.json" \
	's["join_failures"] > 0 and s["connections_verified"] == 8'
stop_bg lb

# ---- per-server ----------------------------------------------------------------
start_lb token || exit 1
start_agents per-server || { fail "agents" "per-server"; exit 1; }
probe "$T_TMP/ps4.json" -n 4 -s 2M --subflows 3 "$VIP4:80"
probe_ok "per-server IPv4: 3 subflows each, all verified" "$T_TMP/ps4.json" \
	's["ok"] and s["subflows_established"] == s["subflows_expected"] == 12'
probe "$T_TMP/ps6.json" -n 4 -s 2M --subflows 5 "[$VIP6]:80"
probe_ok "per-server IPv6: 5 subflows each (own IPv4 and IPv6 from both uplinks)" "$T_TMP/ps6.json" \
	's["ok"] and s["subflows_established"] == s["subflows_expected"] == 20'
hits=$(( $(lb_counter token_hit) + $(lb_counter token_miss_ring) + $(lb_counter token_unknown) + $(lb_counter token_miss) ))
learned=$(lb_counter token_learned)
if [ "$hits" -eq 0 ] && [ "$learned" -ge 8 ]; then pass "per-server: the balancer saw no MP_JOIN at all (token lookups 0, tokens learned $learned)"
else fail "per-server: joins at the balancer" "token lookups $hits, learned $learned"; fi
# The ring places connections at random: read the report of every backend that got one.
st=$T_TMP/st.json
ann_ok=0 ann_seen=0
for k in $(seq "$NB"); do
	"$MPLB" server status -j -n "$P-b$k" >"$st.$k"
	python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["announcements"] else 1)' "$st.$k" 2>/dev/null || continue
	ann_seen=$((ann_seen + 1))
	if python3 - "$st.$k" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
anns = [a for c in d["announcements"] for a in c["announcements"]]
assert anns and all(a["sent"] >= 1 for a in anns), anns
assert any(a["joins"] >= 1 and a["echoed"] >= 1 for a in anns), anns
PY
	then ann_ok=$((ann_ok + 1)); else cp "$st.$k" "$st"; fi
done
if [ "$ann_seen" -gt 0 ] && [ "$ann_ok" = "$ann_seen" ]
then pass "per-server: per-connection announcement report (sent, echoed, joined) on the $ann_seen backends that had connections"; else fail "announcement report" "$ann_ok of $ann_seen backends: $(head -c 300 "$st" 2>/dev/null)"; fi
stop_agents

SRV_VIP_EXTRA="initial_subflow = close" start_agents per-server || exit 1
probe "$T_TMP/close.json" -n 4 -s 4M --subflows 2 "$VIP4:80"
probe_ok "per-server close: the VIP subflow is closed once a join is up, data verified" "$T_TMP/close.json" \
	's["connections_verified"] == 4 and all(any(f["remote"].startswith("10.63.0.1") and f["state"] != "ESTAB" for f in x["subflows"]) for x in c)'
stop_agents
SRV_VIP_EXTRA="initial_subflow = backup" start_agents per-server || exit 1
n0=$(ip netns exec "$P-c" nstat -az MPTcpExtMPPrioRx | awk '/MPPrioRx/ {print $2}')
# --settle: the agent flips the VIP endpoint to backup when it sees the join;
# measure the settled connection, not the race with the first bytes.
probe "$T_TMP/backup.json" -n 4 -s 8M --subflows 3 --settle 300 "$VIP4:80"
n1=$(ip netns exec "$P-c" nstat -az MPTcpExtMPPrioRx | awk '/MPPrioRx/ {print $2}')
probe_ok "per-server backup: VIP subflow marked backup (MP_PRIO received $((n1 - n0))), carries < 1% of the data" "$T_TMP/backup.json" \
	"s['ok'] and $n1 > $n0 and all(sum(f['rx_bytes'] for f in x['subflows'] if f['remote'].startswith('10.63.0.1')) < 80000 for x in c)"
stop_agents

# ---- port ----------------------------------------------------------------------
stop_bg lb
start_lb port || exit 1
NO_VIP6=1 start_agents port || exit 1
probe "$T_TMP/port.json" -n 4 -s 2M --subflows 3 "$VIP4:80"
probe_ok "port IPv4: joins to VIP:20000+id through the balancer, 3 subflows each" "$T_TMP/port.json" \
	's["ok"] and s["subflows_established"] == s["subflows_expected"] == 12'
pp=$(lb_counter port)
[ "$pp" -gt 0 ] && pass "port: balancer routed $pp packets by join port" || fail "port path" "0"
# The kernel's listener for VIP:(base+id) takes joins only.
refused() { # MPTCP? -> exit 0 when the connect fails
	ip netns exec "$P-c" python3 - "$1" <<'PY'
import socket, sys
proto = 262 if sys.argv[1] == "mptcp" else 0
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto); s.settimeout(3)
try:
    s.connect(("10.63.0.1", 20002)); s.send(b"x"); s.recv(1)
    sys.exit(1)
except OSError:
    sys.exit(0)
PY
}
e0=$(ip netns exec "$P-b2" nstat -az MPTcpExtMPCapableEndpAttempt | awk '/Endp/ {print $2}')
if refused tcp && refused mptcp; then pass "port: plain TCP and MPTCP connects to VIP:20002 are refused"; else fail "port listener refuses" ""; fi
e1=$(ip netns exec "$P-b2" nstat -az MPTcpExtMPCapableEndpAttempt | awk '/Endp/ {print $2}')
[ "$e1" -gt "$e0" ] && pass "port: backend 2 counted MPCapableEndpAttempt ($e0 -> $e1)" || fail "MPCapableEndpAttempt" "$e0 -> $e1"
stop_agents

# ---- tsecr ---------------------------------------------------------------------
stop_bg lb
start_lb token+tsecr || exit 1
start_agents tsecr "verify_restore = on" || exit 1
probe "$T_TMP/ts4.json" -n 4 -s 2M --subflows 2 "$VIP4:80"
probe_ok "tsecr IPv4: 2 subflows each, all verified" "$T_TMP/ts4.json" 's["ok"] and s["subflows_established"] == s["subflows_expected"]'
probe "$T_TMP/ts6.json" -n 4 -s 2M --subflows 2 "[$VIP6]:80"
probe_ok "tsecr IPv6: 2 subflows each, all verified" "$T_TMP/ts6.json" 's["ok"] and s["subflows_established"] == s["subflows_expected"]'
probe "$T_TMP/tstcp.json" --tcp -n 4 -s 2M "$VIP4:80"
probe_ok "tsecr plain TCP: verified" "$T_TMP/tstcp.json" 's["ok"]'
tp=$(lb_counter tsecr); nid=$(lb_counter tsecr_no_id)
[ "$tp" -gt 100 ] && pass "tsecr: balancer routed $tp packets by TSecr id (no id: $nid)" || fail "tsecr path" "$tp"
exit 0
