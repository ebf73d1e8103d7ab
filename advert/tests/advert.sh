#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mplb advert on the wire, against a STOCK Linux client (in-kernel PM, no
# mplb): namespaces mplbt-adv-<pid>-{c,s}, one veth, software checksums on
# both ends (so a wrong checksum would be dropped and counted), every byte
# verified by client/tests/mptcp_xfer.py, captures decoded by tshark.
#
# Checks: IPv4 ADD_ADDR carries the attributes inline, IPv6 ADD_ADDR gets a
# carrier right behind it, the MP_CAPABLE SYN/ACK carries id 0; every ADD_ADDR
# retransmission (echoes dropped) carries them again, and pending IPv6
# attributes stop being repeated once the echo arrives; the stock client
# joins, transfers byte-exact, logs nothing, and no error counter moves (also
# with a deliberately overlong option); config errors; tcx links gone after
# SIGTERM and after kill -9.
source "$(dirname "$0")/../../tests/lib.sh"
need_root "advert e2e" || exit 0
for t in ip python3 nstat tcpdump tshark ethtool nft bpftool; do
	command -v $t >/dev/null || { skip "advert e2e" "$t missing"; exit 0; }
done
[ -x "$MPLB" ] || { fail "advert e2e" "build/mplb missing (make build/mplb)"; exit 1; }

P=mplbt-adv-$$
C=$P-c S=$P-s
PORT=8080
SRV4=10.83.1.1 CLI4=10.83.1.2 SRV6=fd83:1::1 CLI6=fd83:1::2
EXTRA4=10.83.9.1 EXTRA6=fd83:9::1
XFER="$MPLB_ROOT/client/tests/mptcp_xfer.py"
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

APID= SPID= TPID=
cleanup_ns() {
	[ -n "$TPID" ] && kill -INT "$TPID" 2>/dev/null
	[ -n "$APID" ] && kill "$APID" 2>/dev/null
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	sleep 0.3
	for ns in $C $S; do ip netns del "$ns" 2>/dev/null; done
}
on_exit cleanup_ns

for ns in $C $S; do
	ip netns add "$ns"
	nsx "$ns" ip link set lo up
done
ip link add xc netns $C type veth peer xs netns $S
nsx $C ip addr add $CLI4/24 dev xc; nsx $C ip addr add $CLI6/64 dev xc nodad
nsx $S ip addr add $SRV4/24 dev xs; nsx $S ip addr add $SRV6/64 dev xs nodad
nsx $S ip addr add $EXTRA4/32 dev xs; nsx $S ip addr add $EXTRA6/128 dev xs nodad
nsx $C ip link set xc up; nsx $S ip link set xs up
nsx $C ip route add $EXTRA4/32 via $SRV4; nsx $C ip -6 route add $EXTRA6/128 via $SRV6
# Software checksums: the server computes them, the client verifies them.
nsx $S ethtool -K xs tx off >/dev/null; nsx $C ethtool -K xc rx off >/dev/null
nsx $S ip mptcp limits set subflows 8 add_addr_accepted 8
nsx $C ip mptcp limits set subflows 8 add_addr_accepted 8

nsx $S sh -c "echo \$\$ > $T_TMP/srv.pid; exec python3 $XFER serve $PORT" >"$T_TMP/srv.log" 2>&1 &
for _ in $(seq 50); do grep -q listening "$T_TMP/srv.log" 2>/dev/null && break; sleep 0.1; done
SPID=$(cat "$T_TMP/srv.pid")

cat >"$T_TMP/advert.ini" <<EOF
[advert]
interfaces = xs
[address main4]
address = $SRV4
priority = 7
community = 1
[address main6]
address = $SRV6
priority = 7
community = 1
[address extra4]
address = $EXTRA4
backup = yes
priority = 3
community = 2
[address extra6]
address = $EXTRA6
priority = 2
community = 2
EOF
# Octets: main 0x1e (community 1, prio 7), extra4 0x27 (2, 3, B), extra6 0x24 (2, 2).

advert_start() {
	"$MPLB" advert run -c "$T_TMP/advert.ini" --netns $S "$@" >"$T_TMP/advert.log" 2>&1 &
	APID=$!
	for _ in $(seq 50); do [ -s /run/mplb/advert-$S.json ] && break; sleep 0.1; done
	[ -s /run/mplb/advert-$S.json ]
}
advert_stop() { [ -n "$APID" ] && kill "$APID" 2>/dev/null && wait "$APID" 2>/dev/null; APID=; }
# The state file is rewritten every second: wait for one written after now.
counter() {
	local f=/run/mplb/advert-$S.json t0
	t0=$(date +%s.%N)
	for _ in $(seq 40); do
		[ "$(stat -c %.9Y "$f" 2>/dev/null || echo 0)" \> "$t0" ] && break
		sleep 0.05
	done
	"$MPLB" advert status --netns $S -j | python3 -c "import json,sys; print(json.load(sys.stdin)['counters']['$1'])"
}
signal() { nsx $S ip mptcp endpoint flush; nsx $S ip mptcp endpoint add "$1" dev xs signal; }
capture_start() {
	nsx $C sh -c "echo \$\$ > $T_TMP/tcpdump.pid; exec tcpdump -Z root -i xc -U -w $T_TMP/$1.pcap -s 256 --immediate-mode tcp" 2>/dev/null &
	sleep 0.5
	TPID=$(cat "$T_TMP/tcpdump.pid")
}
capture_stop() { kill -INT "$TPID" 2>/dev/null; sleep 0.3; TPID=; }
# Frames of a capture as "src flags option-kinds seq ack hexoptions" (server's side only).
frames() {
	local field=ip.src
	[[ $2 == *:* ]] && field=ipv6.src
	tshark -r "$T_TMP/$1.pcap" -Y "$field==$2" -T fields -E separator=' ' \
		-e tcp.flags -e tcp.option_kind -e tcp.seq_raw -e tcp.ack_raw -e tcp.options 2>/dev/null
}
# Error counters of the stock client that must not move.
ERRS="TcpInCsumErrors TcpInErrs TcpExtTCPAbortOnData MPTcpExtAddAddrDrop MPTcpExtEchoAddTxDrop
MPTcpExtMPJoinSynAckHMacFailure MPTcpExtMPJoinAckHMacFailure MPTcpExtDSSNotMatching
MPTcpExtInfiniteMapRx MPTcpExtMPCapableFallbackSYNACK MPTcpExtMPCapableFallbackACK
MPTcpExtMPFallbackTokenInit MPTcpExtMismatchPortSynRx MPTcpExtMismatchPortAckRx"
errs_sum() { nsx $C nstat -az $ERRS 2>/dev/null | awk 'NR>1 && $1 !~ /^#/ {s += $2} END {print s + 0}'; }
dmesg_mark() { dmesg 2>/dev/null | wc -l; }

advert_start || fail "advert starts" "$(tail -3 "$T_TMP/advert.log")"
nsx $C nstat -az >/dev/null
errs0=$(errs_sum) dm0=$(dmesg_mark)

# ---- IPv4: inline, plus the SYN/ACK's id 0 -----------------------------------
signal $EXTRA4
capture_start v4
nsx $C python3 "$XFER" fetch $SRV4 $PORT 3000000 >"$T_TMP/v4.json"
capture_stop
ok=$(python3 -c "import json; print(json.load(open('$T_TMP/v4.json'))['ok'])")
expect_eq "stock client, IPv4: transfer byte-exact" "$ok" True
res=$(frames v4 $SRV4 | python3 -c '
import sys
syn = add = 0
for l in sys.stdin:
    f = l.split()
    kinds, opts = f[1].split(","), f[4]
    if "253" not in kinds: continue
    i = opts.find("fd064d41")
    pair = opts[i + 8:i + 12]
    if int(f[0], 16) & 0x12 == 0x12: syn += pair == "001e"
    elif "30" in kinds and "1e10" in opts: add += pair == "0127"
print(syn, add)')
expect_eq "IPv4: SYN/ACK carries (0, 0x1e), the ADD_ADDR segment carries (1, 0x27) inline" "$res" "1 1"
joins=$(nsx $C nstat -az MPTcpExtMPJoinSynAckRx | awk '/MPJoinSynAckRx/{print $2}')
[ "${joins:-0}" -ge 1 ] && pass "stock client joined the announced address" ||
	fail "stock client joined the announced address" "MPJoinSynAckRx ${joins:-?}"

# ---- IPv6: the carrier ----------------------------------------------------------
signal $EXTRA6
capture_start v6
nsx $C python3 "$XFER" fetch $SRV6 $PORT 3000000 >"$T_TMP/v6.json"
capture_stop
ok=$(python3 -c "import json; print(json.load(open('$T_TMP/v6.json'))['ok'])")
expect_eq "stock client, IPv6: transfer byte-exact" "$ok" True
res=$(frames v6 $SRV6 | python3 -c '
import sys
prev, carrier, full = None, 0, 0
for l in sys.stdin:
    f = l.split()
    kinds, opts = f[1].split(","), f[4]
    if "30" in kinds and "1e1c30" in opts:
        prev, full = (f[2], f[3]), full + (len(opts) // 2 == 40)
        continue
    if prev and "253" in kinds and "30" not in kinds and (f[2], f[3]) == prev and "fd064d410124" in opts:
        carrier += 1
    prev = None
print(full, carrier)')
expect_eq "IPv6: ADD_ADDR fills the 40 option bytes, the next segment (same seq/ack) carries (1, 0x24)" "$res" "1 1"
expect_eq "IPv6: advert counted the carrier" "$(counter tx_carrier)" 1

# ---- retransmissions tied to the echo --------------------------------------------
# Lose the client's echoes on the way (dropped as they leave the client, so
# neither the server's kernel nor its tc program sees them): the kernel
# retransmits the ADD_ADDR (1 + 3 times); each transmission must carry the
# attributes again.
nsx $C nft add table inet mplbt_adv
nsx $C nft add chain inet mplbt_adv out '{ type filter hook output priority 0; }'
nsx $C nft add rule inet mplbt_adv out tcp option mptcp subtype 3 counter drop
signal $EXTRA4
tx0=$(counter add_addr_tx) in0=$(counter tx_inline)
capture_start rtx4
nsx $C python3 "$XFER" upload $SRV4 $PORT 4000000 --pace 1500000 >"$T_TMP/rtx4.json"
capture_stop
n_add=$(frames rtx4 $SRV4 | awk '$2 ~ /(^|,)30(,|$)/ && $5 ~ /1e1030/' | wc -l)
n_attr=$(frames rtx4 $SRV4 | awk '$2 ~ /(^|,)30(,|$)/ && $5 ~ /1e1030/ && $5 ~ /fd064d410127/' | wc -l)
echo "# echoes dropped, IPv4: $n_add ADD_ADDR transmissions on the wire, $n_attr with the attributes; advert: add_addr_tx +$(( $(counter add_addr_tx) - tx0 )), tx_inline +$(( $(counter tx_inline) - in0 ))"
if [ "$n_add" -ge 4 ] && [ "$n_attr" = "$n_add" ]; then pass "every ADD_ADDR retransmission carries the attributes ($n_attr/$n_add)"
else fail "every ADD_ADDR retransmission carries the attributes" "$n_attr of $n_add"; fi
expect_eq "upload with echoes dropped: byte-exact" "$(python3 -c "import json; print(json.load(open('$T_TMP/rtx4.json'))['ok'])")" True
grep -q '"ok": false' "$T_TMP/rtx4.json" && echo "# upload report: $(cat "$T_TMP/rtx4.json")"

# IPv6, echoes dropped: carriers for each transmission, repeats on the
# server's pure ACKs (the client uploads) while the echo never comes.
signal $EXTRA6
c0=$(counter tx_carrier) r0=$(counter tx_repeat) e0=$(counter echo_retired)
nsx $C python3 "$XFER" upload $SRV6 $PORT 4000000 --pace 1500000 >"$T_TMP/rtx6.json"
c_drop=$(( $(counter tx_carrier) - c0 )) r_drop=$(( $(counter tx_repeat) - r0 ))
nsx $C nft delete table inet mplbt_adv
c0=$(counter tx_carrier) r0=$(counter tx_repeat) e0=$(counter echo_retired)
nsx $C python3 "$XFER" upload $SRV6 $PORT 4000000 --pace 1500000 >"$T_TMP/echo6.json"
c_echo=$(( $(counter tx_carrier) - c0 )) r_echo=$(( $(counter tx_repeat) - r0 )) e_echo=$(( $(counter echo_retired) - e0 ))
echo "# IPv6 upload, echoes dropped: carriers $c_drop, repeats $r_drop; echoes flowing: carriers $c_echo, repeats $r_echo, retired by the echo $e_echo"
if [ "$c_drop" -ge 4 ] && [ "$r_drop" -ge 1 ] && [ "$c_echo" = 1 ] && [ "$e_echo" = 1 ] && [ "$r_echo" -lt "$r_drop" ]; then
	pass "IPv6 attributes: a carrier per ADD_ADDR transmission, repeated until the echo, then retired"
else fail "IPv6 attributes: carriers/repeats/echo" "drop: $c_drop/$r_drop, echo: $c_echo/$r_echo/$e_echo"; fi

# ---- a broken option still harms nobody ----------------------------------------------
advert_stop
advert_start --test-malform overlong || fail "advert starts (test hook)"
signal $EXTRA4
j0=$(nsx $C nstat -az MPTcpExtMPJoinSynAckRx | awk '/MPJoinSynAckRx/{print $2}')
nsx $C python3 "$XFER" fetch $SRV4 $PORT 3000000 >"$T_TMP/bad.json"
j1=$(nsx $C nstat -az MPTcpExtMPJoinSynAckRx | awk '/MPJoinSynAckRx/{print $2}')
ok=$(python3 -c "import json; print(json.load(open('$T_TMP/bad.json'))['ok'])")
if [ "$ok" = True ] && [ $((j1 - j0)) -ge 1 ] && [ "$(counter test_malformed)" -ge 1 ]; then
	pass "overlong attribute option after the ADD_ADDR: stock client still joins, byte-exact"
else fail "overlong attribute option harmless" "ok $ok joins $((j1 - j0))"; fi
advert_stop

errs1=$(errs_sum) dm1=$(dmesg_mark)
echo "# stock client error counters moved by $((errs1 - errs0)) ($ERRS)" | tr '\n' ' '; echo
expect_eq "stock client: no error counter moved" "$((errs1 - errs0))" 0
new_dmesg=$(dmesg 2>/dev/null | tail -n +$((dm0 + 1)) | grep -ciE 'mptcp|tcp|bpf' || true)
expect_eq "nothing logged by the kernel" "$new_dmesg" 0

# ---- lifecycle: links go away with the process -------------------------------------------
# Our programs by name (bpftool's link list is global and tcx shows as "type 11").
links() { bpftool prog show 2>/dev/null | grep -cE 'name advert_(egress|ingress)' || true; }
base=$(links)
advert_start || fail "advert starts (lifecycle)"
during=$(links)
advert_stop
after_term=$(links)
[ -e /run/mplb/advert-$S.json ] && fail "state file removed on exit" || pass "state file removed on exit"
advert_start
kill -9 "$APID"; wait "$APID" 2>/dev/null; APID=
sleep 0.2
after_kill=$(links)
rm -f /run/mplb/advert-$S.json
echo "# tcx links: $base before, $during running, $after_term after SIGTERM, $after_kill after kill -9"
if [ "$during" -eq $((base + 2)) ] && [ "$after_term" -eq "$base" ] && [ "$after_kill" -eq "$base" ]; then
	pass "tcx links attached while running and gone after SIGTERM and kill -9"
else fail "tcx link lifecycle" "base $base running $during term $after_term kill $after_kill"; fi

# ---- config errors ------------------------------------------------------------------
printf '[address a]\naddress = 192.0.2.1\npriority = 9\n' >"$T_TMP/bad1.ini"
printf '[address a]\nbackup = yes\n' >"$T_TMP/bad2.ini"
printf '[advert]\ninterfaces = eth0\n' >"$T_TMP/bad3.ini"
printf '[address a]\naddress = 192.0.2.1\ncommunity = 0\n' >"$T_TMP/bad4.ini"
for b in bad1 bad2 bad3 bad4; do
	out=$("$MPLB" advert check -c "$T_TMP/$b.ini" 2>&1); rc=$?
	[ $rc -ne 0 ] && pass "advert check rejects $b: $(echo "$out" | head -1)" || fail "advert check rejects $b" "$out"
done
out=$("$MPLB" advert check -c "$T_TMP/advert.ini" 2>&1)
echo "$out" | grep -q "extra4 .* octet 0x27" && pass "advert check prints the attribute octets" ||
	fail "advert check prints the attribute octets" "$out"
# Priorities only: no address shares a community by default, and check says so.
printf '[address a]\naddress = 192.0.2.1\npriority = 7\n[address b]\naddress = 192.0.2.2\npriority = 3\n' >"$T_TMP/prio.ini"
out=$("$MPLB" advert check -c "$T_TMP/prio.ini" 2>&1)
if echo "$out" | grep -q "a .*community own .*octet 0x0e" && echo "$out" | grep -q "each is a community of its own"; then
	pass "advert check: addresses without a community are each their own, and it says so"
else fail "advert check: addresses without a community" "$out"; fi

exit $((T_FAILED > 0))
