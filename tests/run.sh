#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mplb test runner: unit tests (plain and ASan+UBSan), then every shell suite
# <component>/tests/*.sh. Optional argument: a substring to select tests.
# Last line: "N passed, N failed" (the line before counts skips, when any).
set -u
cd "$(dirname "$0")/.."
sel=${1:-}
passed=0 failed=0 skipped=0
log=$(mktemp /tmp/mplb-run.XXXXXX)
trap 'rm -f "$log"' EXIT

tally() { # parse PASS/FAIL/SKIP lines of a suite's output
	local p f s
	p=$(grep -c '^PASS: ' "$log"); f=$(grep -c '^FAIL: ' "$log"); s=$(grep -c '^SKIP: ' "$log")
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	grep -E '^(FAIL|SKIP): ' "$log" | sed 's/^/    /'
	if [ "$s" -gt 0 ]; then echo "    $p passed, $f failed, $s skipped"; else echo "    $p passed, $f failed"; fi
	LAST_FAILS=$f
}

for bin in build/tests/test_* build/tests-san/test_*; do
	[ -x "$bin" ] || continue
	case "$bin" in *"$sel"*) ;; *) continue ;; esac
	echo "== unit $bin"
	if timeout 300 "$bin" >"$log" 2>&1; then rc=0; else rc=$?; fi
	p=$(sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	k=$(sed -n 's/.*\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	[ "$k" -gt 0 ] && grep -E '\[  SKIPPED \] [a-z]' "$log" | head -5 | sed 's/^/    /'
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; tail -20 "$log" | sed 's/^/    /'; fi
	[ "$f" -gt 0 ] && grep -E '\[  (FAILED|ERROR) +\]|Error|error:' "$log" | head -20 | sed 's/^/    /'
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + k))
	echo "    $p passed, $f failed, $k skipped"
done

for suite in $(ls */tests/*.sh tests/suites/*.sh 2>/dev/null | sort); do
	case "$suite" in *"$sel"*) ;; *) continue ;; esac
	echo "== suite $suite"
	t0=$(date +%s)
	if timeout 600 bash "$suite" >"$log" 2>&1; then rc=0; else rc=$?; fi
	[ -n "${VERBOSE:-}" ] && cat "$log"
	tally
	if [ "$rc" -ne 0 ] && [ "$LAST_FAILS" -eq 0 ]; then
		failed=$((failed + 1))
		echo "    FAIL: $suite exited $rc without reporting a failure:"
		tail -15 "$log" | sed 's/^/      /'
	fi
	echo "    ($(( $(date +%s) - t0 )) s)"
done

[ "$skipped" -gt 0 ] && echo "$skipped skipped (SKIP lines above say why)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
