#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo`: the project's story in one table. For each load-balancing
# scheme (the hash baseline, per-server addresses, server id in the join
# port, learned tokens, server id in the echoed timestamp) and each client
# path manager (stock `subflow` endpoints, stock `fullmesh` endpoints, the
# `mplb client` daemon), bring the lab up (2 clients x 2 uplinks, the XDP
# balancer on one LB host, 4 backends, each running the server agent `mplb
# server` for the per-server, port and tsecr schemes), probe the IPv4 and
# the IPv6 VIP from every client, and print:
#   connections verified, subflows established/expected, paths (uplinks)
#   used/expected, join failures, and what the row shows.
# Then the detailed `mplb probe` report of one representative run. The lab
# is taken down on every exit path. Exit status 1 if a scheme that should
# work did not (the hash baseline is expected to lose joins).
set -u
cd "$(dirname "$0")/.."
MPLB=${MPLB:-$PWD/build/mplb}
NAME=${MPLB_LAB_NAME:-mplb}
CONNS=4      # per client and family
BYTES=1000000
# Paced uplinks (tbf, both directions): on equal unshaped veths the MPTCP
# scheduler leaves all but one subflow idle, and the report should show
# bytes on every path.
RATE=100mbit

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (network namespaces, XDP); run: sudo make demo" >&2
	exit 1
fi
for t in python3; do
	command -v $t >/dev/null || { echo "demo: $t missing (scripts/deps.sh installs it)" >&2; exit 1; }
done
if "$MPLB" lab status --name "$NAME" >/dev/null 2>&1; then
	echo "demo: a lab named '$NAME' is already up; run 'mplb lab down --name $NAME' first" >&2
	echo "demo: (or MPLB_LAB_NAME=other make demo)" >&2
	exit 1
fi
OUT=$(mktemp -d /tmp/mplb-demo.XXXXXX)
# Tear down on every exit path. A second signal during the cleanup (timeout
# signals the child and then its whole process group) must not cut `lab
# down` short: ignored from here on, also by the children it starts.
cleanup() {
	trap '' INT TERM HUP
	"$MPLB" lab down --name "$NAME" >/dev/null 2>&1
	rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
T0=$(date +%s%N)
progress() { printf '[%5.1fs] %s\n' "$(awk -v a="$T0" -v b="$(date +%s%N)" 'BEGIN{print (b-a)/1e9}')" "$*"; }

# Schemes: name | `lab up` options | what the balancer does with joins.
SCHEMES=(
	"hash|--server-pm none --lb-strategy hash|baseline: Maglev on the 5-tuple, joins land anywhere"
	"per-server|--server-pm per-server|C bit + each backend announces its own address: joins bypass the LB"
	"port|--server-pm port|C bit + each backend announces VIP:20000+id: the LB routes joins by port"
	"token|--server-pm none --lb-strategy token|no C bit, joins to the VIP: the LB routes them by the learned token"
	# The server agent writes the backend id into TSval and the balancer
	# follows the echoed TSecr; an MP_JOIN SYN carries no TSecr, so joins
	# (to the VIP: no C bit) are routed by token (lab default token+tsecr).
	"tsecr|--server-pm tsecr|no C bit, joins to the VIP: the LB follows the backend id in TSecr, join SYNs by token"
)
PMS=(subflow fullmesh mplb)

# expected SCHEME PM FAMILY: subflows per connection (initial included) this
# client path manager makes at best under this scheme, 2 uplinks, measured on
# 6.18 (docs/lab.md "Path diversity"). Paths expected are always 2. Under port
# an IPv6 connection hears only of the IPv4 join port (no room for an IPv6
# ADD_ADDR with a port beside timestamps); every client path manager here
# joins it (mplb client: cross_family = fallback).
expected() {
	case "$1/$2/$3" in
	hash/* | token/* | tsecr/*) echo 2 ;;     # one join to the VIP from eth2
	*/subflow/v4 | port/subflow/v6) echo 2 ;; # one join, from one uplink
	per-server/subflow/v6) echo 3 ;;          # joins to the v4 and v6 addresses
	per-server/fullmesh/v6) echo 5 ;;         # both addresses from both uplinks
	*) echo 3 ;;                              # the announcement from both uplinks
	esac
}

echo "mplb demo: $((${#SCHEMES[@]} * ${#PMS[@]})) lab setups (scheme x client path manager), each probed"
echo "from 2 clients x 2 uplinks ($RATE each) to the IPv4 and IPv6 VIP, $CONNS connections of $BYTES bytes"
echo "per client and family. The balancer: mplb lb (XDP, native, DSR) on one LB host, 4 backends"
echo "with the server agent (mplb server) for the per-server, port and tsecr schemes."
echo
: >"$OUT/rows"
for s in "${SCHEMES[@]}"; do
	IFS='|' read -r scheme opts _ <<<"$s"
	for pm in "${PMS[@]}"; do
		t1=$(date +%s%N)
		# shellcheck disable=SC2086
		if ! "$MPLB" lab up --name "$NAME" $opts --client-pm "$pm" --uplink-rate $RATE >"$OUT/up.log" 2>&1; then
			cat "$OUT/up.log" >&2
			echo "demo: lab up failed for $scheme x $pm" >&2
			exit 1
		fi
		for c in c1 c2; do
			for fam in v4 v6; do
				target=10.200.0.1:80
				[ $fam = v6 ] && target='[fd00:200::1]:80'
				f="$OUT/$scheme-$pm-$c-$fam.json"
				timeout 60 "$MPLB" lab exec --name "$NAME" "$c" -- "$MPLB" probe -j -n $CONNS -s $BYTES \
					--subflows "$(expected "$scheme" "$pm" $fam)" --paths 2 --timeout 2 "$target" \
					>"$f" 2>"$f.err" &
				echo "$scheme $pm $fam $c $f $(expected "$scheme" "$pm" $fam)" >>"$OUT/rows"
			done
		done
		wait
		# The representative run, as text: port x mplb client, IPv4, c1.
		if [ "$scheme/$pm" = port/mplb ]; then
			timeout 60 "$MPLB" lab exec --name "$NAME" c1 -- "$MPLB" probe -n 2 -s 4000000 \
				--subflows 3 --paths 2 10.200.0.1:80 >"$OUT/representative.txt" 2>&1
			"$MPLB" lb stats -n "$NAME/lb1" >"$OUT/representative-lb.txt" 2>&1
		fi
		"$MPLB" lab down --name "$NAME" >/dev/null 2>&1
		progress "$(printf '%-10s x %-8s  %4.1f s' "$scheme" "$pm" "$(awk -v a="$t1" -v b="$(date +%s%N)" 'BEGIN{print (b-a)/1e9}')")"
	done
done
echo

python3 - "$OUT/rows" "${SCHEMES[@]}" <<'EOF'
import json, sys

rows, schemes = sys.argv[1], sys.argv[2:]
why = {s.split("|")[0]: s.split("|")[2] for s in schemes}
agg = {}  # (scheme, pm, fam) -> sums over both clients
for line in open(rows):
    scheme, pm, fam, client, path, exp = line.split()
    a = agg.setdefault((scheme, pm, fam), dict(conns=0, verified=0, sf=0, sf_exp=0,
                                               paths=0, paths_exp=0, fail=0, err=""))
    try:
        s = json.load(open(path))["summary"]
    except (OSError, ValueError):
        a["err"] = (open(path + ".err").read().strip().splitlines() or ["no report"])[-1]
        continue
    a["conns"] += s["connections"]; a["verified"] += s["connections_verified"]
    a["sf"] += s["subflows_established"]; a["sf_exp"] += s["subflows_expected"]
    a["paths"] += s["paths_used"]; a["paths_exp"] += s["paths_expected"]
    a["fail"] += s["join_failures"]

def verdict(scheme, pm, fam, a):
    """(text, ok): what the row shows, and whether it is what this scheme promises."""
    if a["err"] or not a["conns"]:
        return "FAIL: " + (a["err"] or "no report"), False
    if a["verified"] < a["conns"]:
        return "FAIL: connections lost", False
    if scheme == "hash":
        return ("baseline: joins failed" if a["fail"] else "baseline (no join failed)"), True
    if a["fail"]:
        return "FAIL: joins failed", False
    if pm == "subflow" and scheme in ("per-server", "port") and a["paths"] < a["paths_exp"]:
        return "1 uplink (stock subflow)", True
    if a["sf"] < a["sf_exp"] or a["paths"] < a["paths_exp"]:
        return "FAIL: subflows missing", False
    if (scheme, fam) == ("port", "v6"):
        return "ok: every uplink via v4", True
    return "ok: every uplink", True

cols = "%-10s %-8s  %-5s %-8s %-5s %-4s %-24s  %-5s %-8s %-5s %-4s %s"
print(" " * 21 + "-" * 17 + " IPv4 " + "-" * 27 + "  " + "-" * 17 + " IPv6 " + "-" * 27)
print(cols % ("SCHEME", "CLIENT", "CONNS", "SUBFLOWS", "PATHS", "FAIL", "RESULT",
              "CONNS", "SUBFLOWS", "PATHS", "FAIL", "RESULT"))
bad = 0
order = []
for line in open(rows):
    k = tuple(line.split()[:2])
    if k not in order:
        order.append(k)
prev = None
for scheme, pm in order:
    cells = []
    for fam in ("v4", "v6"):
        a = agg[(scheme, pm, fam)]
        text, ok = verdict(scheme, pm, fam, a)
        bad += not ok
        cells += ["%d/%d" % (a["verified"], a["conns"]), "%d/%d" % (a["sf"], a["sf_exp"]),
                  "%d/%d" % (a["paths"], a["paths_exp"]), str(a["fail"]), text]
    print((cols % tuple([scheme if scheme != prev else "", pm] + cells)).rstrip())
    prev = scheme
print()
print("CONNS: connections whose every byte was verified. SUBFLOWS: established/expected, summed over")
print("both clients (expected = what that client path manager makes at best under the scheme).")
print("PATHS: distinct uplinks carrying a subflow, per connection, summed (2 uplinks per client).")
print("FAIL: joins that were attempted and never established (the mplb client retries a failed")
print("join with a new source port, so under hash it fails more often and also lands more often).")
print()
for s in schemes:
    name, _, text = s.split("|")
    print("  %-10s %s" % (name, text))
print("  %-10s %s" % ("subflow", "stock endpoints: one join per announcement, from the uplink routing picks"))
print("  %-10s %s" % ("fullmesh", "stock endpoints: one join per local address and remote address"))
print("  %-10s %s" % ("mplb", "the mplb client daemon: one subflow per uplink to each usable address"))
sys.exit(1 if bad else 0)
EOF
rc=$?
echo
echo "=== representative run: scheme port, client mplb, c1 -> 10.200.0.1:80 (mplb probe)"
cat "$OUT/representative.txt" 2>/dev/null
echo
echo "=== the balancer's counters on lb1 in that run (mplb lb stats)"
sed -n '1,/^$/p' "$OUT/representative-lb.txt" 2>/dev/null
progress "demo done; lab taken down"
if [ $rc -eq 0 ]; then echo "demo: every scheme did what it promises"; else echo "demo: $rc row(s) FAILED"; fi
exit $((rc != 0))
