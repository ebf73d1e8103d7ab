#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The entry point: version, and --help for every command and subcommand
# (exit 0, usage on stdout, no getopt complaint first).
source "$(dirname "$0")/../../tests/lib.sh"
[ -x "$MPLB" ] || { fail "cli: binary" "$MPLB missing"; exit 1; }
v=$("$MPLB" --version); v2=$("$MPLB" version)
if [[ $v =~ ^mplb\ [0-9]+\.[0-9]+\.[0-9]+ ]] && [ "$v" = "$v2" ]; then pass "--version and version: '$v'"
else fail "version" "'$v' / '$v2'"; fi
while read -r cmd; do
	out=$("$MPLB" $cmd --help 2>"$T_TMP/err"); rc=$?
	if [ $rc -eq 0 ] && grep -q "usage" <<<"$out" && ! grep -qi "invalid option\|unknown\|unrecognized" "$T_TMP/err"; then
		pass "mplb $cmd --help"
	else fail "mplb $cmd --help" "rc=$rc $(head -2 "$T_TMP/err")"; fi
done <<'LIST'
lab
lab up
lab down
lab status
lab exec
lab backend
lab uplink
probe
serve
client
client run
client status
advert
advert run
advert status
advert check
decode
sim
lb
lb run
lb stats
lb check
lb bench
lb reload
lb stop
lb drain
lb resume
lb ring
lb sync-key
lab lb
server
server run
server status
server check
server cleanup
LIST
out=$("$MPLB" --bogus 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "unknown option '--bogus'" <<<"$out"; then pass "unknown global option: exit 2, named"
else fail "unknown global option" "rc=$rc $out"; fi
exit $((T_FAILED > 0))
