#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every external command the suites, scripts and the binary call comes from
# a Debian package that scripts/deps.sh installs, or from one every Debian
# system has (Priority required). A fresh machine has nothing else.
source "$(dirname "$0")/../lib.sh"
command -v dpkg-query >/dev/null || { skip "deps" "not a Debian system"; exit 0; }
cd "$MPLB_ROOT"
mapfile -t want < <(sed -n '/^PKGS=(/,/^)/p' scripts/deps.sh | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^PKGS=(\|^)$\|^$')
# Candidate tools: what the shell code runs, and what the C code execs (run()/argv).
tools="ip tc nft tcpdump tshark ethtool ss nstat python3 setpriv nsenter unshare timeout bpftool
gnuplot xxd mountpoint stat awk sed sysctl bird birdc promtool curl scdoc man lintian
dpkg-buildpackage systemd-analyze hyperfine perf"
provider() { # the Debian package that ships command $1 (merged-/usr spellings)
	local d p pkg
	for d in /usr/bin /usr/sbin /bin /sbin; do
		pkg=$(dpkg-query -S "$d/$1" 2>/dev/null | head -1 | cut -d: -f1)
		[ -n "$pkg" ] && { echo "$pkg"; return 0; }
	done
	p=$(command -v "$1") || return 1
	pkg=$(dpkg-query -S "$(readlink -f "$p")" 2>/dev/null | head -1 | cut -d: -f1)
	[ -n "$pkg" ] && echo "$pkg"
}
used() { # does any non-comment line of the suites, scripts or C sources call tool $1?
	grep -rhsw --include='*.sh' --include='*.inc' --include='*.c' --include=Makefile -- "$1" \
		*/tests scripts tests/*.sh lab lb server client advert probe Makefile 2>/dev/null |
		grep -v '^[[:space:]]*\(#\|\*\|/\*\|//\)' | grep -qw -- "$1"
}
# Packages deps.sh installs, and what they pull in directly.
deps_of_wanted=$(dpkg-query -W -f='${Depends}, ${Pre-Depends}\n' "${want[@]}" 2>/dev/null |
	tr ',|' '\n\n' | sed 's/(.*//; s/:any//; s/^ *//; s/ *$//' | sort -u)
for t in $tools; do
	used "$t" || continue

	pkg=$(provider "$t") || { fail "deps: $t" "not installed: which package? add it to scripts/deps.sh"; continue; }
	prio=$(dpkg-query -W -f='${Priority}' "$pkg" 2>/dev/null)
	if printf '%s\n' "${want[@]}" $deps_of_wanted | grep -qx "$pkg" || [ "$prio" = required ]; then
		pass "deps: $t (package $pkg${prio:+, $prio})"
	else
		fail "deps: $t" "package $pkg (priority $prio) is not in scripts/deps.sh"
	fi
done
exit $((T_FAILED > 0))
