#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mplb decode on bad input: every case gives a clear message and an exit
# status below 128 (no crash), and good packets around bad ones still decode.
# The capture files are generated afresh by pcapgen.py ("pcapgen.py data DIR");
# data/malformed.txt says what each frame of malformed.pcap holds.
. "$(dirname "$0")/../../tests/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
D=$T_TMP/data
mkdir -p "$D" && "$PY" "$HERE/pcapgen.py" data "$D" >/dev/null || { fail "decode errors" "pcapgen.py could not write the test captures"; exit 1; }
if [ ! -x "$MPLB" ]; then fail "decode errors" "$MPLB missing (make build/mplb)"; exit 1; fi

# run_decode ARGS...: sets RC, OUT (stdout), ERR (stderr)
run_decode() {
	"$MPLB" decode "$@" >"$T_TMP/out" 2>"$T_TMP/err"
	RC=$?
	OUT=$(cat "$T_TMP/out"); ERR=$(cat "$T_TMP/err")
}
# expect NAME RC_WANT STREAM REGEX: exit status and a message matching REGEX
expect() {
	local name=$1 want=$2 stream=$3 re=$4 text
	if [ "$stream" = out ]; then text=$OUT; else text=$ERR; fi
	if [ "$RC" -ge 128 ]; then
		fail "$name" "crashed (exit $RC): $(echo "$ERR" | tail -2 | tr '\n' ' ')"
	elif [ "$RC" -ne "$want" ]; then
		fail "$name" "exit $RC, want $want: $(echo "$ERR" | tail -2 | tr '\n' ' ')"
	elif ! grep -qE -- "$re" <<<"$text"; then
		fail "$name" "no line matching /$re/ in std$stream: $(echo "$text" | head -3 | tr '\n' ' ')"
	else
		pass "$name"
	fi
}

# ---- the command line ----
run_decode;                         expect "no FILE is a usage error" 2 err 'missing FILE'
run_decode -x "$D/malformed.pcap";  expect "unknown option is a usage error" 2 err "unknown option '-x'"
run_decode a b;                     expect "two files is a usage error" 2 err 'one FILE expected'
run_decode --help;                  expect "--help shows an example" 0 out '^  mplb decode cap.pcap'
"$MPLB" decode -j --help >/dev/null 2>&1; expect_eq "--help after -j exits 0" $? 0

# ---- files that are not (complete) captures ----
run_decode "$T_TMP/no-such-file.pcap"
expect "missing file" 1 err "cannot read '.*no-such-file.pcap': No such file or directory"
run_decode "$D/empty.pcap";          expect "empty file" 1 err "is empty; expected a pcap or pcapng file"
run_decode "$D/garbage.pcap";        expect "garbage file names libpcap's reason and what was expected" 1 err \
	"libpcap: .*unknown file format.*; expected a pcap or pcapng capture file"
run_decode "$T_TMP";                 expect "directory" 1 err "is a directory"
run_decode "$D/linktype-wifi.pcap"; expect "unsupported link type is named, supported ones listed" 1 err \
	"unsupported link type 105 \(IEEE802_11.*supported: EN10MB, LINUX_SLL, LINUX_SLL2, RAW"
run_decode "$D/truncated-file.pcap"
expect "truncated file: error names the frame" 1 err "frame 3: truncated dump file"
expect "truncated file: frames before the cut are printed" 1 out '^frame 2 10\.9\.0\.1:41001 > 10\.9\.0\.2:80 \[S\] MP_CAPABLE'
expect "truncated file: summary still printed" 1 err '^decode: 2 packets, 2 tcp packets, 2 mptcp options, 0 malformed'
run_decode -j - <"$D/malformed.pcap"; expect "FILE - reads standard input" 0 out '"frame":1,'

# ---- malformed packets inside a valid capture (see data/malformed.txt) ----
run_decode "$D/malformed.pcap"
M=$(printf '%s\n' "$OUT")
line() { grep -E "^frame $1 " <<<"$M"; }
expect "malformed.pcap decodes with exit 0" 0 err '^decode: 15 packets, 13 tcp packets, 10 mptcp options, 3 malformed, 2 truncated by the capture, 3 with invalid headers, 1 non-first fragments skipped$'
check "frame 1: valid MP_CAPABLE SYN" grep -q 'MP_CAPABLE v1 SYN len 4' <<<"$(line 1)"
check "frame 2: MPTCP option cut by the snaplen is reported as such" \
	grep -q 'MPTCP malformed: option truncated by the capture: 8 of 18 bytes' <<<"$(line 2)"
check "frame 2: TCP option area cut by the snaplen is reported" \
	grep -q 'tcp: options truncated by the capture: 20 of 32 bytes' <<<"$(line 2)"
check "frame 3: zero-length TCP option stops the walk with a reason" \
	grep -q 'tcp: malformed option list at offset 0: .*length' <<<"$(line 3)"
check "frame 4: MPTCP option of length 0 is malformed" grep -q 'MPTCP malformed: .*len 0)' <<<"$(line 4)"
check "frame 5: overlong MPTCP option is malformed" grep -q 'MPTCP malformed: .*len 24)' <<<"$(line 5)"
check "frame 6: MP_PRIO of length 6 is malformed with the codec's reason" \
	grep -q 'MPTCP malformed: MP_PRIO .*(subtype 5 MP_PRIO, len 6)' <<<"$(line 6)"
expect_eq "frame 7: unknown kinds 99/253 ignored, the DSS between them decoded" \
	"$(line 7)" "frame 7 10.9.0.1:40006 > 10.9.0.2:80 [.] DSS len 18 flags 0x05 ack 7 (32-bit) dsn 9 (32-bit) ssn 1 data_len 100"
expect_eq "frame 8: non-first IPv4 fragment skipped silently" "$(line 8)" ""
check "frame 9: first IPv4 fragment carries TCP and is decoded" grep -q 'MP_CAPABLE v1 SYN' <<<"$(line 9)"
check "frame 10: IPv6 extension headers + fragment walked to TCP" \
	grep -q '^frame 10 \[fd00::1\]:40008 > \[fd00::2\]:80 \[S\] MP_JOIN SYN len 12 .*token 0xaabbccdd' <<<"$(line 10)"
check "frame 11: truncated IPv4 header reported" grep -q 'ip: IPv4 header truncated: 12 of 20 bytes' <<<"$(line 11)"
check "frame 12: TCP data offset below 5 reported" grep -q 'tcp: data offset 16 bytes is below the 20-byte minimum' <<<"$(line 12)"
check "frame 13: v0 MP_CAPABLE decoded as v0" grep -q 'MP_CAPABLE v0 .*sender_key 0x0102030405060708' <<<"$(line 13)"
check "frame 14: ADD_ADDR on the v0 connection (other direction) parsed as v0" \
	grep -q 'ADD_ADDR (v0) len 8 id 5 10.9.0.7' <<<"$(line 14)"
check "frame 15: data offset beyond the IP payload reported" grep -q 'exceeds the 24-byte IP payload' <<<"$(line 15)"

# JSON: errors carry frame, error, subtype and len; fields of good options are exact
run_decode -j "$D/malformed.pcap"
J=$T_TMP/malformed.jsonl
printf '%s\n' "$OUT" >"$J"
check "JSON: every line is an object with a frame" $PY -c '
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l); assert isinstance(o["frame"], int), l' "$J"
check "JSON: malformed option has frame, error, subtype, len" $PY -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
r = [o for o in recs if o["frame"] == 6][0]
assert r["layer"] == "mptcp" and r["subtype"] == 5 and r["len"] == 6 and "MP_PRIO" in r["error"], r' "$J"
check "JSON: v0 MP_CAPABLE fields" $PY -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
r = [o for o in recs if o["frame"] == 13][0]
assert r["dialect"] == "v0" and r["version"] == 0 and r["checksum_required"] is True, r
assert r["sender_key"] == "0x0102030405060708" and r["phase"] == "syn", r' "$J"
check "JSON: v0 ADD_ADDR fields" $PY -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
r = [o for o in recs if o["frame"] == 14][0]
assert r["dialect"] == "v0" and r["addr"] == "10.9.0.7" and r["addr_id"] == 5 and "hmac" not in r, r' "$J"
check "JSON: DSS with 32-bit ack and mapping" $PY -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
r = [o for o in recs if o["frame"] == 7][0]
assert (r["data_ack"], r["dsn"], r["ssn"], r["data_len"]) == ("7", "9", 1, 100), r
assert r["data_ack64"] is False and r["dsn64"] is False and r["has_checksum"] is False, r' "$J"

# output going away is not a crash
"$MPLB" decode "$D/malformed.pcap" 2>/dev/null | head -1 >/dev/null
expect_eq "closed stdout pipe: exit status below 128" "$([ "${PIPESTATUS[0]}" -lt 128 ] && echo ok)" ok
exit $((T_FAILED > 0))
