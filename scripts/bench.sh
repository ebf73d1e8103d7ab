#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mplb benchmarks (not tests): `make bench` or `bash scripts/bench.sh [-j]`.
#   -j   one JSON document instead of tables
# 1. Load balancer data plane (`mplb lb bench`): ns per packet of each xdp_lb
#    decision path through a packet-restoring harness, as paired ratios to
#    the floor (harness + XDP_TX) and to a reference L4 balancer with
#    Katran's per-packet work (bpf/ref_l4lb.bpf.c), verifier statistics per
#    program, Maglev build time for 10/100/1000 backends.
# 2. Lab goodput: one MPTCP connection (one subflow) through the balancer
#    (client -> VIP -> LB host -> backend) divided by the same connection
#    straight to the backend's per-server address (bypassing the LB), in the
#    same run, upload (data crosses the LB) and download (DSR: only ACKs do);
#    BENCH_LAB_REPS repetitions interleaved, medians and their ratio. Also the
#    kernel-forwarding baseline (--lb kernel) through the same LB host.
# 3. The simulator: 10^6 connections x 1000 backends, CPU seconds (tables only).
# Needs root (BPF_PROG_TEST_RUN, namespaces). Numbers on a VM move 10-20%.
set -uo pipefail
cd "$(dirname "$0")/.."
MPLB=${MPLB:-build/mplb}
MPLB=$(realpath "$MPLB" 2>/dev/null || echo "$MPLB")
REPS=${BENCH_LAB_REPS:-5}
BYTES=${BENCH_LAB_BYTES:-200M}
NAME=mplbt-bench
json=()
for a in "$@"; do
	case "$a" in
	-j) json=(-j) ;;
	-h | --help) sed -n '3,17p' "$0"; exit 0 ;;
	*) echo "bench: unknown argument $a" >&2; exit 2 ;;
	esac
done
[ -x "$MPLB" ] || { echo "bench: $MPLB not built (make build/mplb)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (BPF_PROG_TEST_RUN, namespaces); run: sudo make bench" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench: python3 missing (scripts/deps.sh installs it)" >&2; exit 1; }
OUT=$(mktemp -d /tmp/mplb-bench.XXXXXX)
cleanup() { # every exit path; a second signal must not cut `lab down` short
	trap '' INT TERM HUP
	"$MPLB" lab down --name "$NAME" >/dev/null 2>&1
	rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- 1. data plane ------------------------------------------------------------
# One measurement, kept as JSON: the table and the plot are drawn from it.
if ! "$MPLB" lb bench -j -r "${BENCH_REPEAT:-100000}" -p "${BENCH_PASSES:-7}" >"$OUT/lb.out"; then
	echo "bench: mplb lb bench failed" >&2
	exit 1
fi
if [ ${#json[@]} -eq 0 ]; then
	python3 - "$OUT/lb.out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print("xdp_lb and a reference L4 balancer (Katran's per-packet work), %s, through a packet-restoring" % d["forwarding"])
print("harness (BPF_PROG_TEST_RUN repeat=%d), median of %d interleaved passes" % (d["repeat"], d["passes"]))
print("floor %.1f ns (harness + XDP_TX); reference, established: %.1f ns\n" % (d["floor_ns"], d["ref_established_ns"]))
print("%-19s %-8s %7s %7s %7s %7s  %s" % ("path", "program", "ns/pkt", "x floor", "x ref", "own x", "packet"))
for name, p in d["paths"].items():
    xr = "%.2f" % p["ratio_to_ref"] if "ratio_to_ref" in p else "-"
    xo = "%.2f" % p["own_ratio_to_ref"] if "own_ratio_to_ref" in p else "-"
    print("%-19s %-8s %7.1f %7.2f %7s %7s  %s" % (name, p["program"], p["ns"], p["ratio_to_floor"], xr, xo, p["what"]))
print("\n%-14s %10s %8s %8s %6s" % ("program", "verified", "xlated", "jited", "stack"))
for name, v in d["verifier"].items():
    print("%-14s %10d %8d %8d %6s" % (name, v["verified_insns"], v["xlated_bytes"], v["jited_bytes"],
                                       "-" if v["stack_bytes"] is None else v["stack_bytes"]))
m = d["maglev_build_ms_65537"]
print("\nMaglev build, 65537 slots: " + ", ".join("%s backends %.2f ms" % (k, v) for k, v in m.items()))
print()
EOF
fi

# ---- 2. lab goodput -------------------------------------------------------------
# A minimal lab: 1 client, 1 uplink, 1 backend, no announcement and no client
# endpoint (a single subflow, so the LB is on the path of every byte it
# forwards). Native XDP needs checksum offload off on the veth feeding the LB
# host, which also turns TSO off: the backend then receives MTU-sized
# segments over the LB but 64 KB GSO frames directly, and its MPTCP receiver
# is several times slower on the latter in this lab (0.3 vs 2.5 Gbit/s
# measured). The router's ports toward the backend and the client get the
# same setting, so both paths hand over the same segments and the ratio is
# the balancer's cost, not an offload difference.
lab_up() { # LB-KIND
	"$MPLB" lab down --name "$NAME" >/dev/null 2>&1
	"$MPLB" lab up --name "$NAME" --clients 1 --uplinks 1 --backends 1 --server-pm none \
		--client-pm none --lb "$1" >"$OUT/up.log" 2>&1 || { cat "$OUT/up.log" >&2; return 1; }
	for port in b1 c1u1; do
		ip netns exec "$NAME-rt" ethtool -K "$port" tx off >/dev/null 2>&1
	done
}
goodput() { # MODE TARGET -> Mbit/s, or "nan"
	timeout 120 "$MPLB" lab exec --name "$NAME" c1 -- "$MPLB" probe -j -n 1 -s "$BYTES" -m "$1" \
		--subflows 1 --timeout 10 "$2" 2>/dev/null |
		python3 -c 'import json,sys; s=json.load(sys.stdin)["summary"]; print(s["goodput_bps"]/1e6 if s["ok"] else "nan")' 2>/dev/null ||
		echo nan
}
[ ${#json[@]} -eq 0 ] && echo "lab goodput: one MPTCP connection (1 subflow), $BYTES per run, $REPS interleaved runs, medians ..."
: >"$OUT/runs"
if lab_up mplb; then
	mode=$(python3 -c 'import json; print(json.load(open("/run/mplb/'"$NAME"'/lab.json"))["xdp"]["attached"])')
	for r in $(seq "$REPS"); do
		for m in upload bulk; do
			echo "mplb $m $(goodput $m 10.200.0.1:80)" >>"$OUT/runs"
			echo "direct $m $(goodput $m 10.100.2.1:80)" >>"$OUT/runs"
		done
	done
	lb_counters=$("$MPLB" lb stats -n "$NAME/lb1" 2>/dev/null | awk '$1 == "path" || $1 == "drop" {printf "%s %s=%s, ", $1, $2, $3}')
else
	mode=none
	lb_counters=
fi
if lab_up kernel; then
	for r in $(seq "$REPS"); do
		for m in upload bulk; do
			echo "kernel $m $(goodput $m 10.200.0.1:80)" >>"$OUT/runs"
			echo "direct-k $m $(goodput $m 10.100.2.1:80)" >>"$OUT/runs"
		done
	done
fi
"$MPLB" lab down --name "$NAME" >/dev/null 2>&1

python3 - "$OUT/runs" "$OUT/lb.out" "${#json[@]}" "$mode" "$REPS" "$BYTES" "$lb_counters" <<'EOF'
import json, math, statistics, sys
runs, lb_out, as_json, mode, reps, size, counters = sys.argv[1:8]
vals = {}
for line in open(runs):
    path, m, v = line.split()
    vals.setdefault((path, m), []).append(float(v))
def med(path, m):
    xs = [x for x in vals.get((path, m), []) if not math.isnan(x)]
    return statistics.median(xs) if xs else float("nan")
rows = [
    ("direct", "direct", "client -> backend per-server address (bypasses the LB)"),
    ("mplb", "direct", "client -> VIP -> mplb lb (XDP %s, DSR) -> backend" % mode),
    ("kernel", "direct-k", "client -> VIP -> kernel ECMP on the LB host -> backend"),
]
result = {"bytes_per_run": size, "repetitions": int(reps), "xdp_mode": mode, "paths": {}}
for name, ref, what in rows:
    e = {"what": what}
    for m in ("upload", "bulk"):
        key = "download" if m == "bulk" else m
        g, d = med(name, m), med(ref, m)
        e[key + "_mbps_median"] = None if math.isnan(g) else round(g, 1)
        e[key + "_mbps_runs"] = vals.get((name, m), [])
        e[key + "_ratio_to_direct"] = None if math.isnan(g) or math.isnan(d) or not d else round(g / d, 3)
        if ref != "direct":  # the direct runs of its own lab
            e[key + "_direct_mbps_median"] = None if math.isnan(d) else round(d, 1)
    result["paths"][name] = e
doc = {"lb": json.load(open(lb_out)), "lab_goodput": result}
with open(lb_out + ".all.json", "w") as fh:
    json.dump(doc, fh)
if int(as_json):
    print(json.dumps(doc, indent=2))
    sys.exit(0)
def f(x, fmt):
    return "-" if x is None else fmt % x
print("%-8s %10s %7s %10s %7s  %s" % ("path", "upload", "ratio", "download", "ratio", "route"))
for name, _, what in rows:
    e = result["paths"][name]
    print("%-8s %10s %7s %10s %7s  %s" % (name, f(e["upload_mbps_median"], "%.0f"),
          f(e["upload_ratio_to_direct"], "%.2f"), f(e["download_mbps_median"], "%.0f"),
          f(e["download_ratio_to_direct"], "%.2f"), what))
print("Mbit/s, median of %s; ratio = median / median of direct measured in the same lab (the kernel" % reps)
print("row comes from a second lab, --lb kernel, with its own direct runs: %s / %s Mbit/s)." % (
      f(result["paths"]["kernel"].get("upload_direct_mbps_median"), "%.0f"),
      f(result["paths"]["kernel"].get("download_direct_mbps_median"), "%.0f")))
print("upload: every data byte crosses the LB host; download: DSR, only ACKs cross it.")
if counters:
    print("mplb lb counters of that lab: " + counters.rstrip(", "))
EOF

# ---- plots ------------------------------------------------------------------------
# Pictures of the same numbers: build/bench/dataplane.png and goodput.png.
PLOTS=${BENCH_PLOTS:-build/bench}
if command -v gnuplot >/dev/null && [ -s "$OUT/lb.out.all.json" ]; then
	mkdir -p "$PLOTS"
	cp "$OUT/lb.out.all.json" "$PLOTS/bench.json"
	python3 - "$PLOTS/bench.json" "$OUT" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); out = sys.argv[2]
with open(out + "/dp.dat", "w") as f:
    for name, p in d["lb"]["paths"].items():
        if p["program"] != "floor":
            f.write('"%s" %.1f\n' % (name, p["ns"]))
with open(out + "/gp.dat", "w") as f:
    for name, e in d["lab_goodput"]["paths"].items():
        f.write('"%s" %s %s\n' % (name, e["upload_mbps_median"] or 0, e["download_mbps_median"] or 0))
with open(out + "/floor", "w") as f:
    f.write("%.1f %.1f" % (d["lb"]["floor_ns"], d["lb"]["ref_established_ns"]))
EOF
	read -r floor ref <"$OUT/floor"
	gnuplot <<GP 2>"$OUT/gnuplot.err" || echo "bench: gnuplot failed: $(head -2 "$OUT/gnuplot.err")" >&2
set terminal png size 900,420 font ",10" noenhanced
set output "$PLOTS/dataplane.png"
set title "ns per packet by decision path (BPF_PROG_TEST_RUN, IPIP); red: floor, green: reference established"
set style fill solid 0.6 border -1
set boxwidth 0.7
set yrange [0:*]
set ylabel "ns / packet"
set xtics rotate by -30
set grid ytics
plot "$OUT/dp.dat" using 0:2:xtic(1) with boxes notitle lc rgb "#3b75af", $floor with lines dt 2 lw 2 lc rgb "#c03030" title "floor", $ref with lines dt 3 lw 2 lc rgb "#308030" title "reference, established"
set output "$PLOTS/goodput.png"
set title "Lab goodput, one MPTCP subflow (median Mbit/s)"
set style data histograms
set style histogram clustered gap 1
set ylabel "Mbit/s"
set xtics norotate
plot "$OUT/gp.dat" using 2:xtic(1) title "upload (crosses the LB)" lc rgb "#3b75af", "" using 3 title "download (DSR)" lc rgb "#e1812c"
GP
	[ ${#json[@]} -eq 0 ] && [ -s "$PLOTS/dataplane.png" ] && echo "plots: $PLOTS/dataplane.png $PLOTS/goodput.png (numbers: $PLOTS/bench.json)"
fi
# 3. The simulator's speed (docs/sim.md): 10^6 connections x 1000 backends,
#    every strategy and event, one core. Tables only; BENCH_SIM=0 skips it.
if [ ${#json[@]} -eq 0 ] && [ "${BENCH_SIM:-1}" != 0 ]; then
	echo "simulator: mplb sim -n 1000000 -b 1000 --agree 0 (11 strategies x 6 events, one core) ..."
	TIMEFORMAT='%U %R'
	if { time "$MPLB" sim -n 1000000 -b 1000 --agree 0 >"$OUT/sim.out" 2>/dev/null; } 2>"$OUT/sim.time"; then
		read -r user wall <"$OUT/sim.time"
		echo "simulator: $user s user, $wall s wall (goal: at most 60 s on one core)"
	else echo "simulator: failed (see $OUT/sim.out)"; fi
fi
