# SPDX-License-Identifier: MIT
# Helpers for mplb's shell test suites. A suite prints one line per check:
#   PASS: name | FAIL: name: why | SKIP: name: why
# tests/run.sh counts them. Suites that build namespaces clean up on exit.
set -u
# Suites call ip, tc, sysctl and ethtool, which live in sbin; a user's PATH may lack it.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin ;; esac
MPLB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MPLB=${MPLB:-$MPLB_ROOT/build/mplb}
T_FAILED=0
T_TMP=$(mktemp -d /tmp/mplb-test.XXXXXX)

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1${2:+: $2}"; T_FAILED=$((T_FAILED + 1)); }
skip() { echo "SKIP: $1: $2"; }
# check NAME CMD...: PASS if CMD succeeds, else FAIL with its output tail.
check() {
	local name=$1; shift
	local out
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(echo "$out" | tail -3 | tr '\n' ' ')"; fi
}
# expect_eq NAME GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}

T_CLEANUPS=()
on_exit() { T_CLEANUPS+=("$*"); }
_t_cleanup() {
	local i
	# timeout(1) signals the whole process group: a second signal must not cut cleanup short.
	trap '' INT TERM
	for ((i = ${#T_CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${T_CLEANUPS[i]}" >/dev/null 2>&1 || true; done
	rm -rf "$T_TMP"
}
trap _t_cleanup EXIT
trap 'exit 130' INT TERM

need_root() {
	if [ "$(id -u)" -ne 0 ]; then skip "$1" "needs root"; return 1; fi
}
