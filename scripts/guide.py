#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write docs/guide.md, the strategy comparison guide (`make guide`).

The deterministic part (requirements, simulator tables and their plots) comes
from `mplb sim` with a fixed seed, so CI can regenerate it and compare
(`--check`). The measured part (ns per packet from `mplb lb bench`, root)
changes from run to run and is left out of the comparison.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN, END = "<!-- deterministic part: begin -->", "<!-- deterministic part: end -->"
SIM_ARGS = ["-n", "100000", "-b", "100", "--lbs", "2", "--seed", "1", "--agree", "0", "--fuzz", "0"]
EVENTS = ["add", "drain", "remove", "restart-kept", "restart-lost", "lb-failure"]

# The draft's criteria (LB00/LB01 section 3) per strategy, for this implementation.
# columns: client, server, LB, public addresses, server address disclosed, middlebox risk, security
REQUIREMENTS = [
    ("hash", "none", "none", "any L4 LB", "VIP only", "no", "none", "joins fail: MPTCP gives one path"),
    ("hash+lru", "none", "none", "per-flow LRU", "VIP only", "no", "none", "LRU can be flooded (per-host state)"),
    ("per-server", "none (honours the C bit)", "agent: C bit, announce own address", "none for joins",
     "one per backend", "yes", "ADD_ADDR stripped: no joins", "backends reachable around the LB"),
    ("port", "none (honours the C bit)", "agent: C bit, announce VIP:base+id", "join-port table",
     "VIP only", "backend id in the port", "firewalls on the ports; IPv6 ADD_ADDR with port does not fit",
     "port range visible to scans"),
    ("token", "none", "none (agent for token sync)", "learn tokens; sync table",
     "VIP only", "no", "none beyond MPTCP", "forged ACKs evict learned tokens; pushed ones are authenticated"),
    ("tsecr", "none", "agent: id in TSval, restore TSecr", "TSecr decode (SipHash)",
     "VIP only", "no (keyed)", "timestamp rewriting or stripping", "1/256 of forged TSecr decode"),
    ("port+tsecr", "none (honours the C bit)", "agent", "join-port table, TSecr decode",
     "VIP only", "backend id in the port", "as port and tsecr", "as port and tsecr"),
    ("token+tsecr", "none", "agent", "tokens, TSecr decode", "VIP only", "no",
     "timestamp rewriting", "as token and tsecr"),
    ("lb-keys*", "none", "stack: key from an IP option", "chooses keys, IP option to the server",
     "VIP only", "no", "IP options between LB and server", "key known to the LB"),
    ("token-id*", "none", "stack: token = E_K(server id)", "decrypts the token",
     "VIP only", "no (encrypted)", "none beyond MPTCP", "token bits spent on routing"),
    ("app-auth*", "stack and application (G flag, TLS exporter)", "stack and application",
     "route by 64-bit token", "VIP only", "no", "none beyond MPTCP", "no keys in the clear"),
]


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def sim(mplb, extra):
    return json.loads(run([mplb, "sim", "-j"] + SIM_ARGS + extra))


def pct(x):
    return "%.1f%%" % (100.0 * x)


def deterministic(mplb, plots_dir):
    out = []
    main = sim(mplb, [])
    o = main["options"]
    out.append("## Requirements (the draft's criteria)\n")
    out.append("`*`: needs a stack change, modelled in the simulator only.\n")
    out.append("| strategy | client change | server change | LB | public addresses | server address disclosed "
               "| middlebox risk | security |")
    out.append("|---|---|---|---|---|---|---|---|")
    for r in REQUIREMENTS:
        out.append("| " + " | ".join(r) + " |")
    out.append("")
    out.append("## Churn, restarts and failover (simulator)\n")
    out.append("`mplb sim -j %s`: %d connections of %d subflows, %d backends, %d LB hosts behind ECMP, "
               "token sync %s. Each cell: connections broken / joins lost by the event.\n" % (
                   " ".join(SIM_ARGS), o["connections"], o["subflows"], o["backends"], o["lbs"],
                   "on" if o["token_sync"] else "off"))
    out.append("| strategy | joins ok | B/conn | " + " | ".join(EVENTS) + " |")
    out.append("|---|---|---|" + "---|" * len(EVENTS))
    rows = []
    for s in main["strategies"]:
        name = s["strategy"] + ("*" if s["needs_stack_change"] else "")
        ev = s["events"]
        cells = []
        for e in EVENTS:
            x = ev.get(e)
            cells.append("%d / %d" % (x["broken"], x["subflows_lost"]) if x else "-")
        rows.append((name, ev))
        out.append("| %s | %s | %.0f | %s |" % (name, pct(ev["none"]["join_success"]),
                                                 ev["none"]["state_bytes_per_conn"], " | ".join(cells)))
    out.append("")
    out.append("![broken connections and lost joins per event](guide/churn.svg)\n")
    out.append(stack_change_gains(dict(rows)))
    # Join success against the number of LB hosts, token strategy, with and without sync.
    hosts = [1, 2, 4]
    js = {}
    for sync in ("on", "off"):
        for n in hosts:
            d = json.loads(run([mplb, "sim", "-j", "-n", "20000", "-b", "100", "--seed", "1", "--agree", "0",
                                "--fuzz", "0", "--strategy", "token", "--lbs", str(n), "--token-sync", sync]))
            js[(sync, n)] = d["strategies"][0]["events"]["none"]["join_success"]
    out.append("## Join success against the number of LB hosts (token)\n")
    out.append("| LB hosts | " + " | ".join(str(n) for n in hosts) + " |")
    out.append("|---|" + "---|" * len(hosts))
    out.append("| token sync (backends push) | " + " | ".join(pct(js[("on", n)]) for n in hosts) + " |")
    out.append("| learned from the wire only | " + " | ".join(pct(js[("off", n)]) for n in hosts) + " |")
    out.append("\n![join success against LB hosts](guide/joins.svg)\n")
    plots(plots_dir, rows, js, hosts)
    return "\n".join(out)


def losses(ev):
    """Connections broken + joins lost over every event of one strategy."""
    return sum(ev[e]["broken"] + ev[e]["subflows_lost"] for e in EVENTS if e in ev)


def stack_change_gains(ev):
    """What each stack-change scheme buys over the deployable scheme closest to it, from the table."""
    pairs = [("lb-keys*", "port+tsecr", "the LB chooses the server's key (Proposal 2)"),
             ("token-id*", "token", "the server id is encrypted in the token"),
             ("app-auth*", "hash+lru", "subflows are authenticated by the application")]
    out = ["### What the stack changes would buy (simulator)\n",
           "| scheme | compared with | LB state B/conn | joins ok | broken + lost over all events |",
           "|---|---|---|---|---|"]
    for new, old, what in pairs:
        a, b = ev[new], ev[old]
        out.append("| %s (%s) | %s | %.0f vs %.0f | %s vs %s | %d vs %d |" % (
            new, what, old, a["none"]["state_bytes_per_conn"], b["none"]["state_bytes_per_conn"],
            pct(a["none"]["join_success"]), pct(b["none"]["join_success"]), losses(a), losses(b)))
    out.append("")
    return "\n".join(out)


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script, text=True, check=True, capture_output=True)


def plots(d, rows, js, hosts):
    os.makedirs(d, exist_ok=True)
    with tempfile.TemporaryDirectory() as t:
        dat = os.path.join(t, "churn.dat")
        with open(dat, "w") as f:
            f.write("strategy " + " ".join(EVENTS) + "\n")
            for name, ev in rows:
                f.write('"%s" ' % name + " ".join(
                    str(ev[e]["broken"] + ev[e]["subflows_lost"]) if e in ev else "0" for e in EVENTS) + "\n")
        gnuplot("""set terminal svg size 900,420 dynamic font 'sans,11'
set termoption noenhanced
set output '%s'
set title 'connections broken + joins lost, per event (mplb sim)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set yrange [0.8:*]
set xtics rotate by -30
set key outside right
set ylabel 'count + 1 (log scale)'
plot for [i=2:%d] '%s' using (column(i)+1):xtic(1) title columnheader(i)
""" % (os.path.join(d, "churn.svg"), len(EVENTS) + 1, dat))
        dat = os.path.join(t, "joins.dat")
        with open(dat, "w") as f:
            for n in hosts:
                f.write("%d %f %f\n" % (n, 100 * js[("on", n)], 100 * js[("off", n)]))
        gnuplot("""set terminal svg size 600,360 dynamic font 'sans,11'
set termoption noenhanced
set output '%s'
set title 'token strategy: joins that reach their backend'
set xlabel 'LB hosts behind ECMP'
set ylabel 'join success (%%)'
set yrange [0:105]
set xtics (1, 2, 4)
set key bottom left
plot '%s' using 1:2 with linespoints lw 2 title 'token sync', '' using 1:3 with linespoints lw 2 title 'learned only'
""" % (os.path.join(d, "joins.svg"), dat))


def measured(mplb, plots_dir):
    if os.geteuid() != 0:
        return "## Data plane cost\n\nNot measured: `mplb lb bench` needs root.\n"
    b = json.loads(run([mplb, "lb", "bench", "-j"]))
    out = ["## Data plane cost (measured, changes between runs)\n",
           "`mplb lb bench -j`: ns per packet of each decision path through BPF_PROG_TEST_RUN, every case "
           "through a harness that restores the frame before each iteration, IPIP forwarding. Paired with "
           "the floor (the harness and a program that only bounces the packet: %.1f ns) and with a "
           "reference L4 balancer with Katran's per-packet work (bpf/ref_l4lb.bpf.c; LRU hit, IPIP: "
           "%.1f ns), both measured in the same run.\n" % (b["floor_ns"], b["ref_established_ns"]),
           "| path | program | what | ns | x floor | x reference |", "|---|---|---|---|---|---|"]
    paths = b["paths"]
    for name, p in paths.items():
        out.append("| %s | %s | %s | %.1f | %.2f | %s |" % (
            name, p["program"], p["what"], p["ns"], p["ratio_to_floor"],
            "%.2f" % p["ratio_to_ref"] if "ratio_to_ref" in p else "-"))
    with tempfile.TemporaryDirectory() as t:
        dat = os.path.join(t, "ns.dat")
        with open(dat, "w") as f:
            for name, p in paths.items():
                if p["program"] != "floor":
                    f.write('"%s" %f\n' % (name, p["ns"]))
        gnuplot("""set terminal svg size 900,380 dynamic font 'sans,11'
set termoption noenhanced
set output '%s'
set title 'ns per packet per decision path (mplb lb bench); lines: floor, reference established'
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.8
set xtics rotate by -40
set ylabel 'ns'
set yrange [0:*]
unset key
plot '%s' using 2:xtic(1), %f with lines dt 2 lw 2 lc rgb '#c03030', %f with lines dt 3 lw 2 lc rgb '#308030'
""" % (os.path.join(plots_dir, "ns.svg"), dat, b["floor_ns"], b["ref_established_ns"]))
    out.append("\n![ns per packet per path](guide/ns.svg)\n")
    return "\n".join(out)


RECOMMEND = """## Which strategy

- **Stock clients, one or many LB hosts, churn expected: `port+tsecr`.** Every join lands (the port names the
  backend), established subflows survive backend add, drain and remove, LB restarts and host failure with no
  shared state (TSecr carries the backend), 56 B per connection. Costs: the backend agent, an announced port
  range per VIP, the C bit. On IPv6 the port announcement does not fit beside timestamps on Linux 6.18, so
  IPv6 connections join the IPv4 announcement.
- **No agent on the servers, or ports cannot be opened: `token`, with token sync when there are several LB
  hosts.** Joins land on every host only when the backends push their tokens (learned-only falls to 1/N);
  the LB keeps per-connection state (208 B on one host; 340 B over two, each holding the pushed tokens),
  pinned across restarts; a restart without its pins loses
  every join's later packets.
- **Backends with public addresses and no LB in the join path: `per-server`**, at the price of disclosing
  each server's address and letting joins bypass the LB's protection.
- **`hash` and `hash+lru` are the controls:** joins reach the right backend 1 time in N backends.
- **With a stack change**, `lb-keys` would remove all LB state (0 B, nothing lost under any event) and
  `token-id` would make joins stateless but still needs state for the joins' later packets; `app-auth` makes
  joins unconditional but first subflows still move on churn unless combined with an LRU.
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mplb", default=os.path.join(ROOT, "build", "mplb"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "guide.md"))
    ap.add_argument("--check", action="store_true",
                    help="regenerate the deterministic part and compare it with --out; exit 1 if stale")
    a = ap.parse_args()
    plots_dir = os.path.join(os.path.dirname(a.out), "guide")
    if a.check:
        with tempfile.TemporaryDirectory() as t:
            det = deterministic(a.mplb, t)
        try:
            cur = open(a.out).read()
            cur = cur[cur.index(BEGIN) + len(BEGIN):cur.index(END)].strip("\n")
        except (OSError, ValueError) as e:
            print("guide: %s has no deterministic part (%s); run: make guide" % (a.out, e), file=sys.stderr)
            return 1
        if cur != det.strip("\n"):
            import difflib
            sys.stderr.writelines(difflib.unified_diff(cur.splitlines(True), det.strip("\n").splitlines(True),
                                                       a.out, "regenerated", n=1))
            print("\nguide: %s is stale; run: make guide" % a.out, file=sys.stderr)
            return 1
        return 0
    print("guide: simulator tables and plots", file=sys.stderr)
    det = deterministic(a.mplb, plots_dir)
    print("guide: data plane benchmark", file=sys.stderr)
    meas = measured(a.mplb, plots_dir)
    head = """# Comparison guide: which load-balancing strategy for MPTCP

Generated by `make guide` (scripts/guide.py) on %s, on %s (%d CPUs, %s %s). Do not edit: regenerate.
CI regenerates the deterministic part and fails when it differs (`tests/suites/guide.sh`).

Strategies: the eight the XDP balancer runs, and three that need a modified MPTCP stack (`*`), which live
in the simulator only. The simulator runs the XDP program's own decision code (docs/sim.md).
Lab measurements with real kernels: docs/lab.md (demo table), docs/scale-out.md (LB tier).
""" % (datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
       platform.node(), os.cpu_count() or 0, platform.system(), platform.release())
    with open(a.out, "w") as f:
        f.write(head + "\n" + BEGIN + "\n" + det + "\n" + END + "\n\n" + meas + "\n" + RECOMMEND)
    print("guide: wrote %s and %s/*.svg" % (a.out, plots_dir), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
