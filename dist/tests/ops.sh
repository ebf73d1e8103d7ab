#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Operations: make install (PREFIX, DESTDIR), man pages that render and name
# every config key the parsers accept, systemd units that systemd-analyze
# verifies and whose capability set is enough to run, Prometheus metrics
# that promtool accepts, and the Debian package (make deb, lintian, install).
source "$(dirname "$0")/../../tests/lib.sh"
cd "$MPLB_ROOT"
[ -x "$MPLB" ] || { fail "ops: binary" "$MPLB missing"; exit 1; }

# ---- make install --------------------------------------------------------------
D=$T_TMP/destdir
if make --no-print-directory install DESTDIR="$D" PREFIX=/usr UNITDIR=/lib/systemd/system >"$T_TMP/inst.log" 2>&1; then
	missing=""
	for f in usr/sbin/mplb usr/share/man/man8/mplb.8 usr/share/man/man8/mplb-lb.8 usr/share/man/man8/mplb-server.8 \
		usr/share/man/man8/mplb-client.8 usr/share/man/man8/mplb-advert.8 usr/share/man/man8/mplb-lab.8 \
		usr/share/man/man8/mplb-probe.8 usr/share/man/man8/mplb-decode.8 usr/share/man/man8/mplb-sim.8 usr/share/man/man5/mplb.conf.5 \
		lib/systemd/system/mplb-lb@.service lib/systemd/system/mplb-server@.service \
		lib/systemd/system/mplb-client@.service etc/mplb/lb.ini.example etc/mplb/server.ini.example \
		etc/mplb/client.ini.example etc/mplb/advert.ini.example usr/share/bash-completion/completions/mplb; do
		[ -e "$D/$f" ] || missing="$missing $f"
	done
	expect_eq "make install DESTDIR PREFIX=/usr: binary, man pages, units, example configs, completion" "$missing" ""
else fail "make install" "$(tail -3 "$T_TMP/inst.log")"; fi
make --no-print-directory install DESTDIR="$T_TMP/local" >/dev/null 2>&1
if [ -x "$T_TMP/local/usr/local/sbin/mplb" ] && grep -q "ExecStart=/usr/local/sbin/mplb lb run" "$T_TMP/local/usr/local/lib/systemd/system/mplb-lb@.service"; then
	pass "make install default PREFIX=/usr/local: units point at /usr/local/sbin/mplb"
else fail "install PREFIX=/usr/local" "$(ls -R "$T_TMP/local" | head)"; fi

if bash -n dist/bash-completion/mplb && bash -c 'source /usr/share/bash-completion/bash_completion 2>/dev/null; source dist/bash-completion/mplb; complete -p mplb' | grep -q _mplb; then
	pass "bash completion loads and completes mplb"
else fail "bash completion" "$(bash -n dist/bash-completion/mplb 2>&1)"; fi

# ---- man pages -------------------------------------------------------------------
for m in build/man/*.[58]; do
	err=$(MANWIDTH=80 man -l "$m" 2>&1 >/dev/null)
	if [ -z "$err" ] && MANWIDTH=80 man -l "$m" 2>/dev/null | grep -q "NAME"; then pass "man -l $(basename "$m") renders"
	else fail "man -l $(basename "$m")" "$err"; fi
done
# Every key a config parser accepts is in mplb.conf(5).
keys=$(grep -ho 'strcmp(\(name\|key\), "[a-z_0-9]*")' lb/lb_config.c server/server_config.c advert/advert_config.c client/client.c |
	sed 's/.*"\(.*\)")/\1/' | sort -u)
undoc=""
for k in $keys; do grep -q "\*$k\*" lib/mplb.conf.5.scd || undoc="$undoc $k"; done
expect_eq "mplb.conf(5) documents every key the parsers accept ($(wc -w <<<"$keys") keys)" "$undoc" ""

# ---- systemd units -------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
	R=$T_TMP/root
	make --no-print-directory install PREFIX="$R" SYSCONFDIR="$R/etc" >/dev/null 2>&1
	for u in lb server client; do
		out=$(MANPATH=$R/share/man systemd-analyze verify "$R/lib/systemd/system/mplb-$u@.service" 2>&1)
		if [ $? -eq 0 ] && [ -z "$out" ]; then pass "systemd-analyze verify mplb-$u@.service"
		else fail "systemd-analyze verify mplb-$u@.service" "$out"; fi
	done
	expect_eq "mplb-lb@.service: Type=notify, reload through mplb lb reload" \
		"$(grep -c '^Type=notify$\|^ExecReload=.*mplb lb reload -c /etc/mplb/lb-%i.ini$' dist/systemd/mplb-lb@.service)" 2
else skip "systemd units" "systemd-analyze missing"; fi

# The lb unit's capability bounding set is enough to load, attach, pin, replace.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' dist/systemd/mplb-lb@.service | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
	NS=mplbt-ops-$$
	ip netns add "$NS"; on_exit "ip netns del $NS"
	on_exit "rm -rf /sys/fs/bpf/mplb/$NS /run/mplb/lb/$NS.json /run/mplb/lb/$NS.lock"
	ip -n "$NS" link add o0 type veth peer name o1
	ip -n "$NS" link set o0 up; ip -n "$NS" link set o1 up; ip -n "$NS" link set lo up
	cat >"$T_TMP/lb.ini" <<INI
[lb]
name = $NS
interface = o0
xdp = generic
metrics = 127.0.0.1:19642
[vip v]
address = 10.98.0.1
port = 80
strategy = token
[backend b]
id = 1
mac = 02:00:00:00:00:01
INI
	run_capped() { nsenter --net=/run/netns/"$NS" setpriv --bounding-set=-all,$caps --inh-caps=-all "$MPLB" "$@"; }
	run_capped lb run -c "$T_TMP/lb.ini" >"$T_TMP/lbc.log" 2>&1 &
	for _ in $(seq 50); do grep -q attached "$T_TMP/lbc.log" && break; sleep 0.1; done
	if grep -q attached "$T_TMP/lbc.log"; then pass "lb run with only the unit's capabilities ($caps): attached and pinned"
	else fail "lb run with the unit's capabilities" "$(tail -3 "$T_TMP/lbc.log")"; fi
	# Prometheus: scrape and lint.
	curl_() { nsenter --net=/run/netns/"$NS" python3 -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())' "$1"; }
	curl_ http://127.0.0.1:19642/metrics >"$T_TMP/m.txt" 2>"$T_TMP/m.err"
	if command -v promtool >/dev/null; then
		out=$(promtool check metrics <"$T_TMP/m.txt" 2>&1); rc=$?
		if [ $rc -eq 0 ] && [ -z "$out" ]; then pass "lb /metrics: promtool check metrics is clean ($(grep -vc '^#' "$T_TMP/m.txt") samples)"
		else fail "lb /metrics promtool" "rc=$rc $(head -5 <<<"$out")"; fi
	else skip "promtool" "prometheus package missing"; fi
	have=""
	for n in 'mplb_build_info{version="' 'mplb_lb_packets_total{group="path",counter="token_pushed"}' \
		'mplb_lb_vip_packets_total{vip="v"}' 'mplb_lb_backend_packets_total{backend="b",id="1"}' \
		'mplb_lb_tokens{source="pushed"}' 'mplb_lb_join_flows ' 'mplb_lb_backend_health_up{backend="b",id="1"} 1'; do
		grep -qF "$n" "$T_TMP/m.txt" || have="$have missing:$n"
	done
	expect_eq "lb /metrics: counters per path, VIP and backend, tokens, join flows, health, build info" "$have" ""
	nsenter --net=/run/netns/"$NS" "$MPLB" lb stop -n "$NS" >/dev/null 2>&1
	wait
	# The server agent's metrics.
	ip -n "$NS" addr add 10.98.0.2/24 dev o1
	ip -n "$NS" addr add 10.98.0.1/32 dev lo
	cat >"$T_TMP/srv.ini" <<INI
[server]
name = $NS
id = 1
address = 10.98.0.2
interface = o1
health_port = 0
metrics = 127.0.0.1:19643
[vip v]
address = 10.98.0.1
port = 80
scheme = per-server
INI
	nsenter --net=/run/netns/"$NS" "$MPLB" serve --id 1 --listen '[::]:80' >/dev/null 2>&1 &
	spid=$!
	nsenter --net=/run/netns/"$NS" "$MPLB" server run -c "$T_TMP/srv.ini" >"$T_TMP/srv.log" 2>&1 &
	apid=$!
	for _ in $(seq 50); do grep -q ' up in netns' "$T_TMP/srv.log" && break; sleep 0.1; done
	curl_ http://127.0.0.1:19643/metrics >"$T_TMP/s.txt" 2>/dev/null
	out=$(promtool check metrics <"$T_TMP/s.txt" 2>&1); rc=$?
	if [ $rc -eq 0 ] && [ -z "$out" ] && grep -q '^mplb_server_ready' "$T_TMP/s.txt" &&
		grep -q 'mplb_server_mptcp_total{counter="AddAddrTx"}' "$T_TMP/s.txt"; then
		pass "server /metrics: ready, MPTCP counters; promtool clean"
	else fail "server /metrics" "rc=$rc $out $(head -3 "$T_TMP/s.txt") $(tail -2 "$T_TMP/srv.log")"; fi
	kill -TERM $apid 2>/dev/null; wait $apid 2>/dev/null
	kill $spid 2>/dev/null; wait $spid 2>/dev/null
fi

# ---- the Debian package ----------------------------------------------------------
if command -v dpkg-buildpackage >/dev/null && [ -z "${MPLB_SKIP_DEB:-}" ]; then
	if git rev-parse --git-dir >/dev/null 2>&1 && make --no-print-directory deb >"$T_TMP/deb.log" 2>&1; then
		deb=$(ls build/deb/mplb_*.deb | head -1)
		pass "make deb: $(basename "$deb")"
		out=$(lintian --fail-on error "$deb" 2>&1); rc=$?
		if [ $rc -eq 0 ] && ! grep -q '^E:' <<<"$out"; then pass "lintian: no errors ($(grep -c '^W:' <<<"$out") warnings)"
		else fail "lintian" "$(grep '^E:' <<<"$out" | head -5)"; fi
		dpkg-deb -c "$deb" >"$T_TMP/deb.list"
		if grep -q './lib/systemd/system/mplb-lb@.service' "$T_TMP/deb.list" &&
			grep -q './usr/share/man/man5/mplb.conf.5.gz' "$T_TMP/deb.list"; then
			pass "the package carries the units and man pages"
		else fail "package contents" "$(head -5 "$T_TMP/deb.list")"; fi
		# Installable: its dependencies resolve on this Debian 12 (a simulated install).
		out=$(apt-get install --simulate --no-install-recommends "./$deb" 2>&1); rc=$?
		if [ $rc -eq 0 ] && grep -q "^Inst mplb\|^Conf mplb\|mplb is already" <<<"$out"; then pass "apt-get install --simulate ./$(basename "$deb"): dependencies resolve"
		else fail "simulated install" "$(tail -3 <<<"$out")"; fi
	else fail "make deb" "$(tail -5 "$T_TMP/deb.log")"; fi
else skip "Debian package" "dpkg-buildpackage missing"; fi
exit $((T_FAILED > 0))
