#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Compare `mplb decode -j` with tshark's MPTCP dissector, field for field.

  compare_tshark.py PCAP OURS.jsonl [--corrupt] [--tshark tshark]

For every frame tshark shows with an MPTCP option, the N-th MPTCP option of
tshark is paired with the N-th of ours (option_index). Every leaf field
tshark gives for the option is mapped to our field and compared; a tshark
field this script does not know is itself a mismatch (so a new tshark field
cannot go unnoticed), except the few listed in IGNORED with the reason.
The packet fields (frame number, time, addresses, ports, TCP flags) are
compared too.

Output, one line per category (the shell suite turns them into PASS/FAIL):
  CATEGORY<TAB>fields compared<TAB>mismatches<TAB>present(0/1)
then each mismatch as "MISMATCH frame N option I (SUBTYPE): ..." and a
per-subtype count of compared fields. Exit status 0 if nothing mismatched.

--corrupt: negative control. Change one field of our output in memory
(the sender_key of the first MP_CAPABLE SYN/ACK) before comparing; the
comparison must then report exactly that mismatch.
Standard library only.
"""
import argparse
import collections
import decimal
import json
import subprocess
import sys

# tshark fields that are not option fields, with the reason we skip them.
IGNORED = {
    "tcp.option_kind": "always 30: the selection criterion",
    "mptcp.expected_token": "tshark's derivation from the key (analysis)",
    "mptcp.expected_idsn": "tshark's derivation from the key (analysis)",
    "mptcp.ack": "relative data ACK (tshark analysis)",
    "mptcp.dss.dsn": "relative DSN (tshark analysis)",
}
IGNORED_PREFIX = ("_ws.expert",)  # expert info items, not fields

SUBTYPE_NAMES = {0: "MP_CAPABLE", 1: "MP_JOIN", 2: "DSS", 3: "ADD_ADDR", 4: "REMOVE_ADDR",
                 5: "MP_PRIO", 6: "MP_FAIL", 7: "MP_FASTCLOSE", 8: "MP_TCPRST",
                 15: "MP_EXPERIMENTAL"}

P = "tcp.options.mptcp."


def hexint(v):
    return int(v, 16)


def dec_or_hex(v):
    return int(v, 16) if str(v).startswith("0x") else int(v)


def colon_hex(v):
    return "0x" + v.replace(":", "").lower()


def b(v):
    """tshark booleans are '0'/'1'; ours are JSON true/false."""
    return bool(int(v))


# Per subtype: tshark leaf name -> (our key, convert tshark value, convert ours)
# Our hex strings are compared as integers, tshark decimals likewise.
def mapping(subtype, ours):
    common = {
        "tcp.option_len": ("len", int, int),
        P + "subtype": ("subtype", int, int),
    }
    if subtype == 0:
        m = {
            P + "version": ("version", int, int),
            P + "flags": ("flags", hexint, int),
            P + "checksumreq.flags": ("checksum_required", b, bool),
            P + "extensibility.flag": ("extensibility", b, bool),
            P + "nomoresubflows.flag": ("no_more_subflows", b, bool),
            P + "sha256.flag": ("hmac_sha256", b, bool),
            P + "sha1.flag": ("hmac_sha256", b, bool),
            # D..G (mask 0x1e), shown shifted right by one
            P + "reserved.flag": ("flags", hexint, lambda f: (f & 0x1E) >> 1),
            P + "sendkey": ("sender_key", int, hexint),
            P + "recvkey": ("receiver_key", int, hexint),
            P + "datalvllen": ("data_len", int, int),
            P + "checksum": ("checksum", hexint, int),
        }
    elif subtype == 1:
        m = {
            # tshark 4.0 quirk: its flags byte includes the subtype nibble
            P + "flags": ("flags", hexint, lambda f: 0x10 | f),
            P + "backup.flag": ("backup", b, bool),
            P + "addrid": ("addr_id", int, int),
            P + "recvtok": ("token", int, hexint),
            P + "sendrand": ("nonce", int, hexint),
            P + "sendtrunchmac": ("hmac", int, hexint),
            P + "sendhmac": ("hmac", colon_hex, str.lower),
            P + "reserved": ("reserved", hexint, int),
        }
    elif subtype == 2:
        m = {
            P + "flags": ("flags", hexint, int),
            P + "datafin.flag": ("data_fin", b, bool),
            P + "dseqn8.flag": ("dsn64", b, bool),
            P + "dseqnpresent.flag": ("has_mapping", b, bool),
            P + "dataack8.flag": ("data_ack64", b, bool),
            P + "dataackpresent.flag": ("has_data_ack", b, bool),
            P + "rawdataack": ("data_ack", int, int),
            P + "rawdataseqno": ("dsn", int, int),
            P + "subflowseqno": ("ssn", int, int),
            P + "datalvllen": ("data_len", int, int),
            P + "checksum": ("checksum", hexint, int),
        }
    elif subtype == 3:
        m = {
            P + "echo": ("echo", b, bool),
            P + "ipver": ("addr_family", int, int),
            P + "addrid": ("addr_id", int, int),
            P + "ipv4": ("addr", str, str),
            P + "ipv6": ("addr", str, str),
            P + "port": ("port", int, int),
            P + "addaddrtrunchmac": ("hmac", int, hexint),
        }
    elif subtype == 4:
        m = {
            "mptcp.rm_addr.count": ("ids", int, len),
            P + "addrid": ("ids", lambda v: v, lambda ids: ids),  # list, see compare
        }
    elif subtype == 5:
        m = {
            P + "flags": ("flags", hexint, lambda f: 0x50 | f),
            P + "backup.flag": ("backup", b, bool),
            P + "addrid": ("addr_id", int, int),
        }
    elif subtype == 6:
        m = {
            P + "rawdataseqno": ("dsn", int, int),
            P + "reserved": ("reserved", hexint, int),
        }
    elif subtype == 7:
        m = {
            P + "recvkey": ("receiver_key", int, hexint),
            P + "reserved": ("reserved", hexint, int),
        }
    elif subtype == 8:
        m = {
            P + "flags": ("flags", hexint, lambda f: 0x80 | f),
            P + "flag_U.flag": ("flags", b, lambda f: bool(f & 8)),
            P + "flag_V.flag": ("flags", b, lambda f: bool(f & 4)),
            P + "flag_W.flag": ("flags", b, lambda f: bool(f & 2)),
            P + "flag_T.flag": ("transient", b, bool),
            P + "rst_reason": ("reason", dec_or_hex, int),
        }
    else:
        m = {}
    m.update(common)
    return m


def leaves(pairs, out):
    """Flatten tshark's (key, value) pairs; subtrees are lists of pairs."""
    for k, v in pairs:
        if k.startswith(IGNORED_PREFIX):
            continue  # e.g. the C-flag "unsupported algorithm" quirk
        if isinstance(v, list) and (not v or isinstance(v[0], tuple)):
            leaves(v, out)
        else:
            out.append((k, v))
    return out


def get(pairs, key):
    for k, v in pairs:
        if k == key:
            return v
    return None


def tshark_frames(pcap, tshark):
    out = subprocess.run([tshark, "-n", "-r", pcap, "-T", "json", "-Y", "tcp.option_kind == 30"],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise SystemExit("tshark failed: " + out.stderr.strip()[-300:])
    # Keep duplicate keys: one packet's options all appear as "mptcp".
    doc = json.loads(out.stdout, object_pairs_hook=lambda p: p)
    frames = {}
    for pkt in doc:
        layers = get(get(pkt, "_source"), "layers")
        frame, tcp = get(layers, "frame"), get(layers, "tcp")
        ip = get(layers, "ip")
        ipv = 4
        if ip is None:
            ip, ipv = get(layers, "ipv6"), 6
        pre = "ip." if ipv == 4 else "ipv6."
        opts = [v for k, v in (get(tcp, "tcp.options_tree") or []) if k == "mptcp"]
        num = int(get(frame, "frame.number"))
        frames[num] = {
            "time": decimal.Decimal(get(frame, "frame.time_epoch")),
            "ip_version": ipv,
            "src": get(ip, pre + "src"),
            "dst": get(ip, pre + "dst"),
            "sport": int(get(tcp, "tcp.srcport")),
            "dport": int(get(tcp, "tcp.dstport")),
            "tcp_flags": int(get(tcp, "tcp.flags"), 16) & 0xFF,
            "tcp_len": int(get(tcp, "tcp.len") or 0),
            "options": [leaves(o, []) for o in opts],
        }
    return frames


def our_frames(path):
    frames = collections.defaultdict(list)
    errors = []
    with open(path) as f:
        for line in f:
            rec = json.loads(line, parse_float=decimal.Decimal)
            if "error" in rec:
                errors.append(rec)
                continue
            frames[rec["frame"]].append(rec)
    for recs in frames.values():
        recs.sort(key=lambda r: r["option_index"])
    return frames, errors


class Tally:
    def __init__(self):
        self.fields = collections.Counter()      # category -> fields compared
        self.mismatches = collections.Counter()  # category -> mismatches
        self.present = set()
        self.per_subtype = collections.Counter()
        self.lines = []

    def add(self, cats, n, bad):
        for c in cats:
            self.present.add(c)
            self.fields[c] += n
            self.mismatches[c] += bad


def categories(o, pkt, first_data):
    """The required categories this option of this packet belongs to."""
    v = "ipv%d" % o["ip_version"]
    st, phase = o.get("subtype"), o.get("phase")
    cats = ["all options"]
    if st == 0:
        if phase in ("syn", "synack", "ack", "ack_data"):
            cats.append("%s MP_CAPABLE SYN/SYN-ACK/ACK" % v)
            cats.append("%s MP_CAPABLE %s" % (v, phase))
        if phase == "synack" and o.get("no_more_subflows"):
            cats.append("MP_CAPABLE C flag set")
        if phase == "synack" and o.get("no_more_subflows") is False:
            cats.append("MP_CAPABLE C flag clear")
    elif st == 1:
        cats.append("%s MP_JOIN SYN/SYN-ACK/ACK" % v)
        cats.append("%s MP_JOIN %s" % (v, phase))
    elif st == 2:
        if o.get("has_data_ack") and not o.get("has_mapping"):
            cats.append("DSS data ACK only")
        if o.get("has_mapping") and o.get("has_data_ack"):
            cats.append("DSS mapping with data ACK")
        if o.get("has_mapping") and not o.get("has_data_ack"):
            cats.append("DSS mapping without data ACK")
        if o.get("has_data_ack") and not o.get("data_ack64"):
            cats.append("DSS 32-bit data ACK")
        if o.get("data_fin"):
            cats.append("DSS DATA_FIN")
    elif st == 3:
        cats.append("ADD_ADDR echo" if o.get("echo") else "ADD_ADDR")
        if not o.get("echo"):
            cats.append("ADD_ADDR with port" if "port" in o else "ADD_ADDR without port")
            cats.append("ADD_ADDR IPv%d address" % o.get("addr_family", 0))
    elif st in SUBTYPE_NAMES:
        cats.append(SUBTYPE_NAMES[st])
    if first_data:
        cats.append("first data (%s)" % ("MP_CAPABLE" if st == 0 else SUBTYPE_NAMES.get(st, "?")))
        cats.append("first data")
    return cats


def same(a, b_):
    return a == b_


def compare_option(num, idx, tsh, ours, tally, cats):
    st = ours.get("subtype")
    m = mapping(st, ours)
    compared = bad = 0
    multi = collections.defaultdict(list)
    for k, v in tsh:
        multi[k].append(v)
    for k, vals in multi.items():
        if k in IGNORED or k.startswith(IGNORED_PREFIX):
            continue
        if k not in m:
            bad += 1
            tally.lines.append("MISMATCH frame %d option %d (%s): tshark field %s=%r has no "
                               "counterpart in the comparator" % (num, idx, SUBTYPE_NAMES.get(st), k, vals))
            continue
        key, tconv, oconv = m[k]
        if st == 4 and k == P + "addrid":
            want, got = [int(x) for x in vals], ours.get("ids")
        else:
            if len(vals) != 1:
                bad += 1
                tally.lines.append("MISMATCH frame %d option %d: tshark repeats %s %r"
                                   % (num, idx, k, vals))
                continue
            want = tconv(vals[0])
            if key not in ours:
                bad += 1
                tally.lines.append("MISMATCH frame %d option %d (%s): tshark has %s=%s, we have no %s"
                                   % (num, idx, SUBTYPE_NAMES.get(st), k, vals[0], key))
                continue
            got = oconv(ours[key])
        compared += 1
        if not same(want, got):
            bad += 1
            tally.lines.append("MISMATCH frame %d option %d (%s): %s: tshark %r, ours %s=%r"
                               % (num, idx, SUBTYPE_NAMES.get(st), k, want, key, got))
    tally.per_subtype[SUBTYPE_NAMES.get(st, str(st))] += compared
    tally.add(cats, compared, bad)
    return bad


def compare_packet(num, tf, ours, tally):
    """Packet-level fields, checked on each of our records of the frame."""
    bad = n = 0
    for o in ours:
        checks = [("ip_version", tf["ip_version"], o.get("ip_version")),
                  ("src", tf["src"], o.get("src")),
                  ("dst", tf["dst"], o.get("dst")),
                  ("sport", tf["sport"], o.get("sport")),
                  ("dport", tf["dport"], o.get("dport")),
                  ("tcp_flags_raw", tf["tcp_flags"], o.get("tcp_flags_raw"))]
        for name, want, got in checks:
            n += 1
            if want != got:
                bad += 1
                tally.lines.append("MISMATCH frame %d: %s: tshark %r, ours %r" % (num, name, want, got))
        n += 1
        t = o.get("time")
        if t is None or abs(decimal.Decimal(t) - tf["time"]) > decimal.Decimal("0.0000005"):
            bad += 1
            tally.lines.append("MISMATCH frame %d: time: tshark %s, ours %s" % (num, tf["time"], t))
    tally.add(["packet fields (frame, time, addresses, ports, flags)"], n, bad)
    return bad


def corrupt(ours):
    for num in sorted(ours):
        for o in ours[num]:
            if o.get("subtype") == 0 and o.get("phase") == "synack":
                k = int(o["sender_key"], 16) ^ 1
                o["sender_key"] = "0x%016x" % k
                return "frame %d sender_key" % num
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pcap")
    ap.add_argument("ours")
    ap.add_argument("--corrupt", action="store_true")
    ap.add_argument("--tshark", default="tshark")
    args = ap.parse_args()

    tframes = tshark_frames(args.pcap, args.tshark)
    oframes, errors = our_frames(args.ours)
    tally = Tally()
    total_bad = 0
    if args.corrupt:
        what = corrupt(oframes)
        print("corrupted: %s" % what)
        if not what:
            return 3
    for e in errors:
        total_bad += 1
        tally.lines.append("MISMATCH frame %s: we report malformed (%s) where tshark decodes"
                           % (e.get("frame"), e.get("error")))
    seen_first_data, initial_subflows = set(), set()
    for num in sorted(set(tframes) | set(oframes)):
        tf, ours = tframes.get(num), oframes.get(num, [])
        if tf is None:
            total_bad += 1
            tally.lines.append("MISMATCH frame %d: we decode %d MPTCP options, tshark none" % (num, len(ours)))
            continue
        if len(tf["options"]) != len(ours):
            total_bad += 1
            tally.lines.append("MISMATCH frame %d: tshark %d MPTCP options, ours %d"
                               % (num, len(tf["options"]), len(ours)))
            continue
        total_bad += compare_packet(num, tf, ours, tally)
        # First payload of a connection: its first data packet (the client's,
        # on the initial subflow), whatever option carries the mapping.
        conn = tuple(sorted([(tf["src"], tf["sport"]), (tf["dst"], tf["dport"])]))
        if any(o.get("subtype") == 0 and o.get("phase") == "syn" for o in ours):
            initial_subflows.add(conn)
        first_data = (tf["tcp_len"] > 0 and conn in initial_subflows
                      and conn not in seen_first_data)
        if first_data:
            seen_first_data.add(conn)
        for i, (tsh, o) in enumerate(zip(tf["options"], ours), 1):
            cats = categories(o, tf, first_data and o.get("subtype") in (0, 2))
            total_bad += compare_option(num, i, tsh, o, tally, cats)

    for c in sorted(tally.present):
        print("%s\t%d\t%d\t1" % (c, tally.fields[c], tally.mismatches[c]))
    for line in tally.lines:
        print(line)
    print("fields compared per subtype: " + ", ".join(
        "%s %d" % (k, v) for k, v in sorted(tally.per_subtype.items())))
    print("total mismatches: %d" % total_bad)
    return 1 if total_bad else 0


if __name__ == "__main__":
    sys.exit(main())
