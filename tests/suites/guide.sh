#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# docs/guide.md is not stale: its deterministic part (requirements, the
# simulator's tables at a fixed seed) regenerates to the same text.
source "$(dirname "$0")/../lib.sh"
[ -x "$MPLB" ] || { fail "guide: binary" "$MPLB missing"; exit 1; }
command -v gnuplot >/dev/null || { fail "guide" "gnuplot missing (scripts/deps.sh installs it)"; exit 1; }
if python3 "$MPLB_ROOT/scripts/guide.py" --check --mplb "$MPLB" 2>"$T_TMP/err"; then
	pass "docs/guide.md: deterministic part up to date"
else fail "docs/guide.md is stale" "$(tail -4 "$T_TMP/err" | tr '\n' ' ')"; fi
# The check can fail: a changed table is reported with a diff.
sed 's/^| port | 100.0%/| port | 99.0%/' "$MPLB_ROOT/docs/guide.md" >"$T_TMP/guide.md"
if ! python3 "$MPLB_ROOT/scripts/guide.py" --check --mplb "$MPLB" --out "$T_TMP/guide.md" 2>"$T_TMP/err" &&
	grep -q 'stale; run: make guide' "$T_TMP/err" && grep -q '^-| port | 99.0%' "$T_TMP/err"; then
	pass "a changed table is caught, with its diff"
else fail "stale guide not caught" "$(tail -3 "$T_TMP/err" | tr '\n' ' ')"; fi
exit $((T_FAILED > 0))
