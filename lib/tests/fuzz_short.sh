#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Short fuzzing pass for tests/run.sh: ~20000 executions, at most 30 s.
# The long run is `make fuzz` (tests/fuzz.sh with 1,000,000 executions).
source "$(dirname "$0")/../../tests/lib.sh"
if [ ! -x "$MPLB_ROOT/build/fuzz/fuzz_mptcp_opt" ]; then
	# make check builds every fuzzer first: a missing one is a build defect, not a skip.
	fail "fuzz_short" "build/fuzz/fuzz_mptcp_opt not built (make build/fuzz/fuzz_mptcp_opt)"
	exit 1
fi
bash "$MPLB_ROOT/tests/fuzz.sh" 20000 30
# The config loaders of lb, server, client and advert, seeded with their examples.
for c in lb server client advert; do
	bin=$MPLB_ROOT/build/fuzz/fuzz_${c}_config
	if [ -x "$bin" ]; then
		MPLB_FUZZ_BIN=$bin MPLB_FUZZ_CORPUS=$MPLB_ROOT/$c/examples bash "$MPLB_ROOT/tests/fuzz.sh" 20000 30
	else fail "fuzz_short $c config" "$bin not built (make $bin)"; fi
done
exit $((T_FAILED > 0))
