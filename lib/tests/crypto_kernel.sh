#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Check mplb's MPTCP crypto against a real Linux connection: two namespaces
# joined by a veth pair, an MPTCP client and server (python3, protocol 262),
# the server announcing a second address (ADD_ADDR) which the client joins.
# The keys, nonces and HMACs come from a tcpdump capture (decoded by tshark),
# the tokens from `ip mptcp monitor`; build/tests/test_mptcp_crypto then
# checks them through MPLB_KEY_TOKEN_PAIRS / MPLB_ADD_ADDR_HMACS / MPLB_JOIN_HMACS.
source "$(dirname "$0")/../../tests/lib.sh"

need_root "crypto_kernel" || exit 0
for tool in tshark tcpdump /usr/bin/python3 ip timeout; do
	if ! command -v "$tool" >/dev/null; then skip "crypto_kernel" "$tool not installed"; exit 0; fi
done
if [ "$(sysctl -n net.mptcp.enabled 2>/dev/null)" != 1 ]; then
	skip "crypto_kernel" "kernel MPTCP disabled (net.mptcp.enabled)"; exit 0
fi
unit=$MPLB_ROOT/build/tests/test_mptcp_crypto
if [ ! -x "$unit" ]; then
	fail "crypto_kernel" "$unit not built (make unit)"; exit 1
fi

ns_srv=mplbt-cry-$$-s ns_cli=mplbt-cry-$$-c
srv1=10.231.0.1 srv2=10.231.0.2 cli=10.231.0.10 port=5201
pcap=$T_TMP/cap.pcap
on_exit ip netns del "$ns_srv"
on_exit ip netns del "$ns_cli"

setup() {
	ip netns add "$ns_srv" && ip netns add "$ns_cli" &&
	ip link add veth-c netns "$ns_cli" type veth peer name veth-s netns "$ns_srv" &&
	ip -n "$ns_srv" addr add "$srv1/24" dev veth-s &&
	ip -n "$ns_srv" addr add "$srv2/24" dev veth-s &&
	ip -n "$ns_cli" addr add "$cli/24" dev veth-c &&
	for ns in "$ns_srv" "$ns_cli"; do
		ip -n "$ns" link set lo up && ip -n "$ns" link set "veth-${ns: -1}" up &&
		ip -n "$ns" mptcp limits set subflows 4 add_addr_accepted 4 || return 1
	done &&
	ip -n "$ns_srv" mptcp endpoint add "$srv2" dev veth-s signal
}
if ! out=$(setup 2>&1); then
	fail "crypto_kernel: namespace setup" "$out"; exit 1
fi

# Background helpers write their pid first, so cleanup kills exactly them.
start_bg() { # start_bg NAME NS CMD... (stdout to $T_TMP/NAME.out)
	local name=$1 ns=$2; shift 2
	ip netns exec "$ns" sh -c 'echo $$ > "$0"; exec "$@"' "$T_TMP/$name.pid" "$@" \
		>"$T_TMP/$name.out" 2>"$T_TMP/$name.err" &
	local i
	for i in $(seq 50); do [ -s "$T_TMP/$name.pid" ] && break; sleep 0.1; done
	on_exit "kill $(cat "$T_TMP/$name.pid" 2>/dev/null || echo 0)"
}
stop_bg() { # stop_bg NAME SIGNAL: signal it and wait (bounded) for it to exit
	local pid i
	pid=$(cat "$T_TMP/$1.pid" 2>/dev/null) || return 0
	kill -"$2" "$pid" 2>/dev/null
	for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
}

start_bg tcpdump "$ns_cli" tcpdump -i veth-c --immediate-mode -U -Z root -n -w "$pcap" tcp
start_bg mon_srv "$ns_srv" ip mptcp monitor
start_bg mon_cli "$ns_cli" ip mptcp monitor
for i in $(seq 50); do grep -q listening "$T_TMP/tcpdump.err" 2>/dev/null && break; sleep 0.1; done

server='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(1); s.settimeout(10)
c, _ = s.accept(); c.settimeout(10)
while c.recv(4096):
    pass
c.close()
'
client='
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
s.settimeout(10)
s.connect((sys.argv[1], int(sys.argv[2])))
for _ in range(30):   # ~3 s: time for the ADD_ADDR and the join
    s.send(b"x" * 100); time.sleep(0.1)
s.close()
'
start_bg server "$ns_srv" timeout 20 /usr/bin/python3 -c "$server" "$port"
sleep 0.3
if ip netns exec "$ns_cli" timeout 20 /usr/bin/python3 -c "$client" "$srv1" "$port" \
	>"$T_TMP/client.out" 2>&1; then
	pass "crypto_kernel: MPTCP connection between namespaces"
else
	fail "crypto_kernel: MPTCP connection" "$(tail -2 "$T_TMP/client.out" | tr '\n' ' ')"
fi
sleep 0.5
stop_bg server TERM
stop_bg tcpdump INT
stop_bg mon_srv TERM
stop_bg mon_cli TERM

fields() { # fields FILTER FIELD...: one line per packet, fields separated by '|'
	local filter=$1; shift
	local args=() f
	for f in "$@"; do args+=(-e "$f"); done
	timeout 30 tshark -r "$pcap" -Y "$filter" -T fields -E separator='|' "${args[@]}" 2>/dev/null
}
# tshark prints integer fields (keys, nonces, truncated HMACs) in decimal;
# some versions use 0x... Print bare lowercase hex either way.
hexnum() {
	case $1 in
	0x*|0X*) echo "${1#0[xX]}" | tr 'A-F' 'a-f' ;;
	'') echo '' ;;
	*) echo "obase=16; $1" | bc | tr 'A-F' 'a-f' ;;
	esac
}
token_of() { sed -n 's/.*token=\([0-9a-fA-F]*\).*/\1/p' "$T_TMP/$1.out" | head -1; }

# MP_CAPABLE: the server's key on the SYN/ACK; both keys on the third ACK.
key_srv=$(fields 'tcp.flags.syn==1 && tcp.flags.ack==1 && tcp.options.mptcp.subtype==0' \
	tcp.options.mptcp.sendkey | head -1)
key_cli=$(fields 'tcp.flags.syn==0 && tcp.options.mptcp.subtype==0 && tcp.options.mptcp.recvkey' \
	tcp.options.mptcp.sendkey | head -1)
tok_srv=$(token_of mon_srv)
tok_cli=$(token_of mon_cli)
key_srv=$(hexnum "$key_srv") key_cli=$(hexnum "$key_cli")
if [ -z "$key_srv" ] || [ -z "$key_cli" ] || [ -z "$tok_srv" ] || [ -z "$tok_cli" ]; then
	fail "crypto_kernel: keys and tokens" \
		"server key '$key_srv' token '$tok_srv', client key '$key_cli' token '$tok_cli'"
	exit 1
fi
echo "server key $key_srv token $tok_srv; client key $key_cli token $tok_cli"
check "crypto_kernel: token(server key) == kernel's server token, token(client key) == client token" \
	env MPLB_KEY_TOKEN_PAIRS="$key_srv:$tok_srv,$key_cli:$tok_cli" "$unit"

# ADD_ADDR from the server (E=0): HMAC keyed Key-B || Key-A.
aa=$(fields 'tcp.options.mptcp.subtype==3 && tcp.options.mptcp.echo==0' \
	tcp.options.mptcp.addrid tcp.options.mptcp.ipv4 tcp.options.mptcp.port \
	tcp.options.mptcp.addaddrtrunchmac | head -1)
IFS='|' read -r aa_id aa_addr aa_port aa_hmac <<<"$aa"
aa_hmac=$(hexnum "$aa_hmac")
if [ -z "$aa_hmac" ] || [ "$aa_addr" != "$srv2" ]; then
	fail "crypto_kernel: ADD_ADDR captured" "got '$aa'"
else
	echo "ADD_ADDR id $aa_id $aa_addr port ${aa_port:-none} hmac $aa_hmac"
	check "crypto_kernel: ADD_ADDR HMAC (rightmost 64 bits, Key-B||Key-A)" \
		env MPLB_ADD_ADDR_HMACS="$key_srv:$key_cli:${aa_id:-0}:$aa_addr:${aa_port:-0}:$aa_hmac" "$unit"
fi

# MP_JOIN to the announced address: R-A on the SYN, R-B and HMAC-B on the
# SYN/ACK, HMAC-A on the third ACK.
join_syn=$(fields 'tcp.options.mptcp.subtype==1 && tcp.flags.syn==1 && tcp.flags.ack==0' \
	tcp.stream tcp.options.mptcp.sendrand | head -1)
IFS='|' read -r join_stream r_a <<<"$join_syn"
join_synack=$(fields "tcp.stream==${join_stream:-999} && tcp.options.mptcp.subtype==1 && tcp.flags.syn==1 && tcp.flags.ack==1" \
	tcp.options.mptcp.sendrand tcp.options.mptcp.sendtrunchmac | head -1)
IFS='|' read -r r_b hmac_b <<<"$join_synack"
r_a=$(hexnum "$r_a") r_b=$(hexnum "$r_b") hmac_b=$(hexnum "$hmac_b")
join_ack=$(fields "tcp.stream==${join_stream:-999} && tcp.options.mptcp.subtype==1 && tcp.flags.syn==0" \
	tcp.options.mptcp.sendhmac | head -1)
hmac_a=$(echo "$join_ack" | tr -d ':')
if [ -z "$r_a" ] || [ -z "$r_b" ] || [ -z "$hmac_b" ] || [ -z "$hmac_a" ]; then
	fail "crypto_kernel: MP_JOIN captured" "SYN '$join_syn' SYN/ACK '$join_synack' ACK '$join_ack'"
else
	echo "MP_JOIN R-A $r_a R-B $r_b HMAC-B $hmac_b HMAC-A $hmac_a"
	check "crypto_kernel: MP_JOIN SYN/ACK HMAC-B and third-ACK HMAC-A" \
		env MPLB_JOIN_HMACS="$key_srv:$key_cli:$r_b:$r_a:$(printf '%016s' "$hmac_b" | tr ' ' 0),$key_cli:$key_srv:$r_a:$r_b:$hmac_a" "$unit"
fi
[ "$T_FAILED" -eq 0 ]
