#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mplb benchmarks (not tests): `make bench` or `bash scripts/bench.sh [-j]`.
#   -j   JSON instead of tables
# Load balancer: ns per packet of each xdp_lb decision path beside the
# xdp_pass / xdp_tx_floor programs, paired ratios, Maglev build time.
# Needs root (BPF_PROG_TEST_RUN). Numbers on a VM move 10-20% between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
MPLB=${MPLB:-build/mplb}
json=()
for a in "$@"; do
	case "$a" in
	-j) json=(-j) ;;
	-h | --help) sed -n '3,7p' "$0"; exit 0 ;;
	*) echo "bench: unknown argument $a" >&2; exit 2 ;;
	esac
done
[ -x "$MPLB" ] || { echo "bench: $MPLB not built (make build/mplb)" >&2; exit 1; }
"$MPLB" lb bench "${json[@]}" -r "${BENCH_REPEAT:-100000}" -p "${BENCH_PASSES:-7}"
