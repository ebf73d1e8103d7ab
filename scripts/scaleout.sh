#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Measure the LB tier (docs/scale-out.md) in the lab with real kernel MPTCP
# clients and servers, and write docs/scale-out-measured.md:
#   joins    1, 2 and 4 LB hosts: join success and join wait per strategy
#   kill     an LB host killed mid-transfer (processes, or its link): time
#            until the router withdraws it, broken connections, lost subflows
#   restart  three balancer restarts mid-transfer (state taken over), beside
#            a Katran-like restart that loses the state (stop + start)
#   drain    packets after the withdrawal, and how long they kept coming
# Usage: scripts/scaleout.sh [RUNS] (default 3); MPLB_SCALEOUT_OUT overrides the output.
set -u
cd "$(dirname "$0")/.."
source tests/lib.sh
RUNS=${1:-3}
OUT=${MPLB_SCALEOUT_OUT:-docs/scale-out-measured.md}
N=mplbso
RAW=$T_TMP/raw.jsonl
: >"$RAW"
on_exit "$MPLB lab down --name $N"
[ "$(id -u)" -eq 0 ] || { echo "scaleout: needs root" >&2; exit 1; }
command -v bird >/dev/null || { echo "scaleout: needs bird (bird2)" >&2; exit 1; }
V4=10.200.0.1:80
V6='[fd00:200::1]:80'
t_start=$(date +%s)

up() {
	"$MPLB" lab down --name "$N" >/dev/null 2>&1
	timeout 90 "$MPLB" lab up --name "$N" "$@" >"$T_TMP/up.log" 2>&1 ||
		{ echo "scaleout: lab up $* failed: $(tail -2 "$T_TMP/up.log")" >&2; return 1; }
}
probe() { # OUT HOST ARGS...
	local out=$1 host=$2
	shift 2
	timeout 120 "$MPLB" lab exec --name "$N" "$host" -- "$MPLB" probe -j "$@" >"$out" 2>/dev/null
}
record() { # KIND KEY=VALUE... PROBE-FILES...: one JSON line of results
	python3 - "$@" >>"$RAW" <<'EOF'
import json, sys
rec = {"kind": sys.argv[1]}
files = []
for a in sys.argv[2:]:
    if "=" in a:
        k, v = a.split("=", 1)
        try:
            v = float(v)
        except ValueError:
            pass
        rec[k] = v
    else:
        files.append(a)
conns = verified = subflows = expected = joins = jfail = 0
waits = []
for f in files:
    try:
        d = json.load(open(f))
    except Exception:
        continue
    s = d["summary"]
    conns += s["connections"]; verified += s["connections_verified"]
    subflows += s["subflows_established"]; expected += s["subflows_expected"]
    jfail += s["join_failures"]
    joins += sum(c["joins_attempted"] for c in d["connections"])
    waits += [c["subflow_wait_s"] for c in d["connections"]]
rec.update(conns=conns, broken=conns - verified, subflows_lost=max(expected - subflows, 0),
           subflows=subflows, expected=expected, joins=joins, join_failures=jfail,
           wait_p50=sorted(waits)[len(waits) // 2] if waits else None,
           wait_max=max(waits) if waits else None)
print(json.dumps(rec))
EOF
}
progress() { printf 'scaleout: [%4ds] %s\n' $(($(date +%s) - t_start)) "$*" >&2; }

# ---- joins ---------------------------------------------------------------------
for lbs in 1 2 4; do
	for strat in "token-sync:--server-pm token" "token-learned:--server-pm none --lb-strategy token" \
		"port:--server-pm port" "hash:--server-pm none --lb-strategy hash"; do
		name=${strat%%:*} args=${strat#*:}
		sf=3
		for run in $(seq "$RUNS"); do
			up --lbs $lbs --backends 8 --uplinks 3 $args || continue
			# fullmesh on 3 uplinks: 2 joins per connection (to the VIP, or to VIP:port).
			probe "$T_TMP/j4" c1 -n 16 -s 50k --subflows $sf --timeout 4 $V4 &
			probe "$T_TMP/j6" c2 -n 16 -s 50k --subflows $sf --timeout 4 "$V6" &
			wait
			record joins lbs=$lbs strategy=$name run=$run "$T_TMP/j4" "$T_TMP/j6"
		done
		progress "joins: $lbs LB host(s), $name"
	done
done

# ---- restarts: state taken over (mplb) vs state lost (Katran-like) -----------------
restart_run() { # LBS STRATEGY-NAME SUBFLOWS MODE LAB-ARGS...
	local lbs=$1 name=$2 sf=$3 mode=$4
	shift 4
	up --lbs "$lbs" --backends 4 --uplink-rate 50mbit "$@" || return
	probe "$T_TMP/r4" c1 -n 8 -s 6M --subflows "$sf" --timeout 10 $V4 &
	probe "$T_TMP/r6" c2 -n 8 -s 6M --subflows "$sf" --timeout 10 "$V6" &
	sleep 1.5
	if [ "$mode" = takeover ]; then
		"$MPLB" lab lb --name "$N" lb1 restart >/dev/null
		"$MPLB" lab lb --name "$N" lb1 restart --kill >/dev/null
		"$MPLB" lab lb --name "$N" lb1 restart --kill >/dev/null
	else
		# What a balancer whose state dies with its process does: full stop, fresh start.
		for _ in 1 2 3; do
			"$MPLB" lab lb --name "$N" lb1 stop >/dev/null
			"$MPLB" lab lb --name "$N" lb1 start >/dev/null
		done
	fi
	wait
	record restart lbs="$lbs" strategy="$name" mode="$mode" "$T_TMP/r4" "$T_TMP/r6"
}
for lbs in 1 2; do
	for strat in "hash+lru:3:--server-pm per-server --lb-strategy hash" "port:3:--server-pm port" \
		"token:2:--server-pm token" "token+tsecr:2:--server-pm tsecr" \
		"port+tsecr:3:--server-pm tsecr --lb-strategy port+tsecr"; do
		name=${strat%%:*} rest=${strat#*:} sf=${rest%%:*} args=${rest#*:}
		for mode in takeover lost; do
			for run in $(seq "$RUNS"); do restart_run $lbs "$name" "$sf" $mode $args; done
		done
		progress "restart: $lbs LB host(s), $name"
	done
done

# ---- an LB host dies mid-transfer ----------------------------------------------
kill_run() { # LBS STRATEGY-NAME SUBFLOWS HOW LAB-ARGS...
	local lbs=$1 name=$2 sf=$3 how=$4
	shift 4
	up --lbs "$lbs" --backends 4 --uplink-rate 50mbit "$@" || return
	probe "$T_TMP/k4" c1 -n 8 -s 6M --subflows "$sf" --timeout 10 $V4 &
	probe "$T_TMP/k6" c2 -n 8 -s 6M --subflows "$sf" --timeout 10 "$V6" &
	sleep 1.5
	local extra=""
	[ "$how" = link ] && extra=--link
	ms=$("$MPLB" lab lb --name "$N" lb1 fail $extra | sed -n 's/.*withdrew lb1 after \([0-9.]*\) ms.*/\1/p')
	wait
	record kill lbs="$lbs" strategy="$name" how="$how" withdraw_ms="${ms:--1}" "$T_TMP/k4" "$T_TMP/k6"
}
for lbs in 2 4; do
	for strat in "per-server:3:--server-pm per-server --lb-strategy hash" "port:3:--server-pm port" \
		"token+tsecr:2:--server-pm tsecr" "token:2:--server-pm token" \
		"token-learned:2:--server-pm none --lb-strategy token"; do
		name=${strat%%:*} rest=${strat#*:} sf=${rest%%:*} args=${rest#*:}
		for how in processes link; do
			for run in $(seq "$RUNS"); do kill_run $lbs "$name" "$sf" $how $args; done
		done
		progress "kill: $lbs LB hosts, $name"
	done
done

# ---- drain -----------------------------------------------------------------------
for lbs in 2 4; do
	for run in $(seq "$RUNS"); do
		up --lbs $lbs --backends 4 --uplink-rate 50mbit --server-pm port || continue
		probe "$T_TMP/d4" c1 -n 8 -s 6M --subflows 3 --timeout 10 $V4 &
		sleep 1.5
		out=$("$MPLB" lab lb --name "$N" lb1 drain -q 1 | tail -1)
		pk=$(sed -n 's/.*; \([0-9]*\) packets forwarded after it, the last \([0-9]*\) ms after.*/\1/p' <<<"$out")
		last=$(sed -n 's/.*the last \([0-9]*\) ms after.*/\1/p' <<<"$out")
		wait
		record drain lbs=$lbs after_packets="${pk:--1}" last_ms="${last:--1}" "$T_TMP/d4"
	done
	progress "drain: $lbs LB hosts"
done

# ---- the report ---------------------------------------------------------------------
python3 - "$RAW" "$OUT" "$RUNS" "$(uname -r)" "$(nproc)" <<'EOF'
import collections, json, statistics, sys, time
raw, out, runs, kernel, cpus = sys.argv[1:6]
recs = [json.loads(l) for l in open(raw)]
def group(kind, *keys):
    g = collections.OrderedDict()
    for r in recs:
        if r["kind"] == kind:
            g.setdefault(tuple(r[k] for k in keys), []).append(r)
    return g
def tot(rs, k): return int(sum(r[k] for r in rs))
def fmt_ms(v): return "%.1f" % v if v >= 0 else "not withdrawn"
L = []
L.append("<!-- Generated by scripts/scaleout.sh; do not edit: run `make scaleout` -->")
L.append("# The LB tier, measured\n")
L.append("Generated by `scripts/scaleout.sh %s` (`make scaleout`) on %s, kernel %s, %s CPUs, in the lab "
         "(`mplb lab up --lbs N`, BIRD 2 BGP + BFD 20 ms x 3, stock kernel MPTCP clients with fullmesh "
         "endpoints and `mplb serve` backends). Each cell sums %s runs. Design and reading: "
         "[scale-out.md](scale-out.md).\n" % (runs, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), kernel, cpus, runs))
L.append("## Join success (8 backends, 3 uplinks, 16 IPv4 + 16 IPv6 connections a run)\n")
L.append("| LB hosts | strategy | connections | joins | join failures | subflows | join wait p50 / max (s) |")
L.append("|---|---|---|---|---|---|---|")
for (lbs, s), rs in group("joins", "lbs", "strategy").items():
    w50 = statistics.median([r["wait_p50"] for r in rs if r["wait_p50"] is not None] or [0])
    wmx = max([r["wait_max"] for r in rs if r["wait_max"] is not None] or [0])
    L.append("| %d | %s | %d | %d | %d | %d/%d | %.2f / %.2f |" % (lbs, s, tot(rs, "conns"), tot(rs, "joins"),
             tot(rs, "join_failures"), tot(rs, "subflows"), tot(rs, "expected"), w50, wmx))
L.append("\n`token-sync`: the agents push tokens to every host; `token-learned`: each host learns the tokens "
         "of the MP_CAPABLE ACKs it sees (the first wave); `hash`: Katran's choice, no MPTCP awareness.\n")
L.append("## Restarts mid-transfer (3 restarts of lb1 within a 4 s transfer; 8 + 8 connections a run)\n")
L.append("| LB hosts | strategy | restart | connections | broken | subflows lost |")
L.append("|---|---|---|---|---|---|")
for (lbs, s, m), rs in group("restart", "lbs", "strategy", "mode").items():
    L.append("| %d | %s | %s | %d | %d | %d |" % (lbs, s, "state taken over (mplb)" if m == "takeover"
             else "state lost (Katran-like: stop + start)", tot(rs, "conns"), tot(rs, "broken"), tot(rs, "subflows_lost")))
L.append("\n## An LB host dies mid-transfer (8 + 8 connections a run)\n")
L.append("| LB hosts | strategy | how | withdrawn after (ms, each run) | connections | broken | subflows lost |")
L.append("|---|---|---|---|---|---|---|")
for (lbs, s, h), rs in group("kill", "lbs", "strategy", "how").items():
    L.append("| %d | %s | %s | %s | %d | %d | %d |" % (lbs, s, "balancer + BIRD SIGKILLed" if h == "processes"
             else "router port down (BFD)", ", ".join(fmt_ms(r["withdraw_ms"]) for r in rs), tot(rs, "conns"),
             tot(rs, "broken"), tot(rs, "subflows_lost")))
L.append("\n## Drain (port strategy, 8 connections a run)\n")
L.append("| LB hosts | packets after the withdrawal (each run) | last one after (ms) | connections | broken |")
L.append("|---|---|---|---|---|")
for (lbs,), rs in group("drain", "lbs").items():
    L.append("| %d | %s | %s | %d | %d |" % (lbs, ", ".join(str(int(r["after_packets"])) for r in rs),
             ", ".join(str(int(r["last_ms"])) for r in rs), tot(rs, "conns"), tot(rs, "broken")))
open(out, "w").write("\n".join(L) + "\n")
print("scaleout: wrote", out)
EOF
