#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo`: bring the lab up with its defaults (2 clients x 2 uplinks, one
# LB host, 4 backends, per-server announcements, fullmesh clients), run
# `mplb probe` from every client to both VIPs, print the reports, and take
# the lab down on every exit path.
#
# Expected subflows per connection, measured on 6.18 (docs/lab.md):
#   IPv4: 3 = the initial subflow to the VIP + joins to the backend's IPv4
#         per-server address from both uplinks (2 distinct uplinks)
#   IPv6: 5 = the initial subflow + joins to the backend's IPv4 *and* IPv6
#         per-server addresses from both uplinks: an IPv6 connection also
#         uses the IPv4 announcement (2 distinct uplinks)
set -u
cd "$(dirname "$0")/.."
MPLB=${MPLB:-$PWD/build/mplb}
NAME=${MPLB_LAB_NAME:-mplb}
SUBFLOWS4=3
SUBFLOWS6=5

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (network namespaces, XDP); run: sudo make demo" >&2
	exit 1
fi
if "$MPLB" lab status --name "$NAME" >/dev/null 2>&1; then
	echo "demo: a lab named '$NAME' is already up; run 'mplb lab down --name $NAME' first" >&2
	echo "demo: (or MPLB_LAB_NAME=other make demo)" >&2
	exit 1
fi
trap '"$MPLB" lab down --name "$NAME"' EXIT
trap 'exit 130' INT TERM HUP

"$MPLB" lab up --name "$NAME" || exit 1
echo
"$MPLB" lab status --name "$NAME"
echo

clients=$("$MPLB" lab status --name "$NAME" -j | grep -c '"role": "client"')
failed=0
results=()
for i in $(seq 1 "$clients"); do
	for target in "10.200.0.1:80 $SUBFLOWS4" "[fd00:200::1]:80 $SUBFLOWS6"; do
		set -- $target
		echo "=== c$i -> $1 (expect $2 subflows over 2 uplinks per connection)"
		if timeout 60 "$MPLB" lab exec --name "$NAME" "c$i" -- \
			"$MPLB" probe --subflows "$2" -n 4 -s 2000000 "$1"; then
			results+=("c$i -> $1: OK")
		else
			results+=("c$i -> $1: FAILED")
			failed=$((failed + 1))
		fi
		echo
	done
done
echo "=== demo summary"
printf '  %s\n' "${results[@]}"
[ "$failed" -eq 0 ] && echo "demo: all probes OK" || echo "demo: $failed probe run(s) failed"
exit $((failed > 0))
