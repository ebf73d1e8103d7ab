#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `mplb sim`: a small world gives the outcomes the design fixes (table and
# JSON agree), the schemes that need a stack change are labelled, the
# simulator's decisions match the XDP program's through BPF_PROG_TEST_RUN
# (agreement 1.0, as root), mutated frames never reach a missing backend,
# and bad arguments are refused with a message.
source "$(dirname "$0")/../../tests/lib.sh"
[ -x "$MPLB" ] || { fail "sim: binary" "$MPLB missing"; exit 1; }

if "$MPLB" sim -j -n 3000 -b 40 --lbs 2 --agree 0 >"$T_TMP/sim.json" 2>"$T_TMP/sim.err"; then
	pass "sim -j runs"
else fail "sim -j runs" "$(tail -2 "$T_TMP/sim.err")"; fi
# One line per strategy and event: name event joins_ok/joins broken lost stack_change.
python3 - "$T_TMP/sim.json" >"$T_TMP/rows" 2>"$T_TMP/py.err" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for s in d["strategies"]:
    for name, e in s["events"].items():
        print(s["strategy"], name, e["joins_ok"], e["joins"], e["broken"],
              e["subflows_lost"], int(s["needs_stack_change"]))
PY
[ -s "$T_TMP/rows" ] && pass "sim JSON parses" || fail "sim JSON parses" "$(tail -2 "$T_TMP/py.err")"
row() { awk -v s="$1" -v e="$2" '$1==s && $2==e' "$T_TMP/rows"; }
r=$(row port none); expect_eq "port: every join lands" "$(awk '{print ($3==$4 && $4>0)}' <<<"$r")" 1
r=$(row hash none); expect_eq "hash: joins land by chance only (< 10%)" "$(awk '{print ($3*10<$4)}' <<<"$r")" 1
r=$(row hash add); expect_eq "hash: adding a backend breaks connections" "$(awk '{print ($5>0)}' <<<"$r")" 1
r=$(row token restart-lost); expect_eq "token: an LB restart without pins loses joins" "$(awk '{print ($6>0)}' <<<"$r")" 1
r=$(row token restart-kept); expect_eq "token: a restart with pins loses nothing" "$(awk '{print $5+$6}' <<<"$r")" 0
r=$(row port+tsecr lb-failure); expect_eq "port+tsecr: an LB host failure breaks nothing" "$(awk '{print $5+$6}' <<<"$r")" 0
expect_eq "stack-change schemes flagged" "$(awk '$7==1{print $1}' "$T_TMP/rows" | sort -u | tr '\n' ' ')" "app-auth lb-keys token-id "
expect_eq "deployable schemes not flagged" "$(awk '$7==0{print $1}' "$T_TMP/rows" | sort -u | wc -l)" 8

out=$("$MPLB" sim -n 2000 -b 300 -s 2 --agree 0 --strategy tsecr,lb-keys 2>&1)
grep -q '^lb-keys\*' <<<"$out" && grep -q 'needs a stack change' <<<"$out" &&
	pass "table marks lb-keys as needing a stack change" || fail "table label" "$(head -5 <<<"$out")"
grep -q 'backends 256..299 send plain TSvals' <<<"$out" &&
	pass "tsecr's 8-bit id limit is stated past 256 backends" || fail "tsecr id note" "$(tail -3 <<<"$out")"
expect_eq "--strategy runs just those" "$(grep -cE '^(tsecr|lb-keys\*) +none ' <<<"$out")" 2

if need_root "sim agreement with the kernel"; then
	out=$("$MPLB" sim -j -n 1000 -b 64 --strategy port --agree 5000 --fuzz 50000 2>&1)
	a=$(python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["agreement"], d["agreement_packets"])' <<<"$out" 2>&1)
	expect_eq "agreement with BPF_PROG_TEST_RUN over 5000 packets, backends churning" "$a" "1.0 5000"
	# Mutated frames: every verdict PASS, DROP or TX to a present backend, and each kind happens.
	f=$(python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); v=d["fuzz_verdicts"]
print(d["fuzz_frames"], d["fuzz_violations"], int(v["pass"] > 0 and v["drop"] > 0 and v["tx"] > 0))' <<<"$out" 2>&1)
	expect_eq "50000 mutated frames: no verdict outside PASS, DROP, TX to a present backend" "$f" "50000 0 1"
fi

bad() { # name want-in-stderr args...
	local name=$1 want=$2; shift 2
	local err rc
	err=$("$MPLB" sim "$@" 2>&1 >/dev/null); rc=$?
	if [ $rc -ne 0 ] && grep -q -- "$want" <<<"$err"; then pass "refused: $name"
	else fail "refused: $name" "rc=$rc '$err'"; fi
}
bad "one backend" "sim -b" -b 1
bad "too many backends" "sim -b" -b 100000
bad "non-numeric connections" "sim -n" -n 10x
bad "unknown strategy" "hashy" --strategy hashy
bad "too many LB hosts" "lbs" --lbs 99
bad "unknown option" "unrecognized\|unknown" --bogus
bad "non-numeric fuzz count" "sim --fuzz" --fuzz many
exit $((T_FAILED > 0))
