#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run the option-codec fuzzer: tests/fuzz.sh [RUNS] (default 1000000) [MAX_SECONDS]
# on a temporary copy of lib/fuzz/corpus. Non-zero exit on a crash (the
# oracle in lib/fuzz/fuzz_mptcp_opt.c aborts on any round-trip mismatch).
source "$(dirname "$0")/lib.sh"
runs=${1:-1000000}
max_time=${2:-0}
bin=${MPLB_FUZZ_BIN:-$MPLB_ROOT/build/fuzz/fuzz_mptcp_opt} # override: test the script itself

if [ ! -x "$bin" ]; then
	fail "fuzz: $bin" "not built (make build/fuzz/fuzz_mptcp_opt)"
	exit 1
fi
mkdir -p "$T_TMP/corpus" "$T_TMP/artifacts"
cp "${MPLB_FUZZ_CORPUS:-$MPLB_ROOT/lib/fuzz/corpus}"/* "$T_TMP/corpus/"
t0=$(date +%s.%N)
# The targets' own messages (config errors) are noise here: close their stdout and stderr.
if "$bin" -runs="$runs" -max_total_time="$max_time" -artifact_prefix="$T_TMP/artifacts/" -close_fd_mask=3 \
	"$T_TMP/corpus" >"$T_TMP/log" 2>&1; then rc=0; else rc=$?; fi
t1=$(date +%s.%N)
done_line=$(grep -E '^Done [0-9]+ runs' "$T_TMP/log" | tail -1)
if [ "$rc" -eq 0 ] && [ -n "$done_line" ]; then
	pass "fuzz $(basename "$bin"): $done_line (wall $(printf '%.1f' "$(echo "$t1 - $t0" | bc)") s)"
else
	grep -E 'ERROR|oracle|!=|SUMMARY|Test unit written' "$T_TMP/log" | head -10 >&2
	for a in "$T_TMP"/artifacts/*; do
		[ -e "$a" ] || continue
		cp "$a" "$MPLB_ROOT/build/fuzz/" 2>/dev/null && echo "crash input kept: build/fuzz/$(basename "$a")" >&2
		xxd "$a" | head -5 >&2
	done
	fail "fuzz: $runs runs" "fuzzer exited $rc"
fi
[ "$T_FAILED" -eq 0 ]
