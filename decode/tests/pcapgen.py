#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Small pcap files for mplb decode tests (standard library only).

  pcapgen.py relink IN OUT TYPE
      rewrite a Linux cooked v2 (or Ethernet) pcap with another link layer:
      sll, raw, null, loop, vlan (802.1Q), qinq (802.1ad + 802.1Q)
  pcapgen.py data DIR
      (re)write the crafted files of decode/tests/data/ (see CASES below)
"""
import os
import struct
import sys

LT_NULL, LT_EN10MB, LT_RAW, LT_LOOP, LT_SLL, LT_SLL2 = 0, 1, 101, 108, 113, 276
LT_WIFI = 105  # IEEE 802.11: a real link type mplb does not decode


# ---- pcap reading and writing ----

def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise SystemExit("%s: not a classic pcap file" % path)
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    _, _, _, _, snap, lt = struct.unpack(e + "HHiIII", data[4:24])
    recs, off = [], 24
    while off + 16 <= len(data):
        sec, frac, cap, wire = struct.unpack(e + "IIII", data[off:off + 16])
        if nano:
            frac //= 1000
        recs.append((sec, frac, data[off + 16:off + 16 + cap], wire))
        off += 16 + cap
    return lt, snap, recs


def write_pcap(path, lt, recs, snap=262144):
    """recs: (sec, usec, captured bytes, wire length)"""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snap, lt))
        for sec, usec, data, wire in recs:
            f.write(struct.pack("<IIII", sec, usec, len(data), wire))
            f.write(data)


# ---- relink ----

def strip_link(lt, frame):
    """-> (ethertype, IP packet bytes)"""
    if lt == LT_SLL2:
        return struct.unpack(">H", frame[:2])[0], frame[20:]
    if lt == LT_SLL:
        return struct.unpack(">H", frame[14:16])[0], frame[16:]
    if lt == LT_EN10MB:
        return struct.unpack(">H", frame[12:14])[0], frame[14:]
    raise SystemExit("relink: input link type %d not handled" % lt)


ETH_SRC, ETH_DST = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")


def add_link(kind, etype, ip):
    v6 = etype == 0x86DD
    if kind == "sll":
        return LT_SLL, struct.pack(">HHH8sH", 0, 1, 6, ETH_SRC + b"\0\0", etype) + ip
    if kind == "raw":
        return LT_RAW, ip
    if kind == "null":  # capturing host byte order (little endian), NetBSD AF_INET6
        return LT_NULL, struct.pack("<I", 24 if v6 else 2) + ip
    if kind == "loop":  # network byte order, FreeBSD AF_INET6
        return LT_LOOP, struct.pack(">I", 28 if v6 else 2) + ip
    if kind == "vlan":
        return LT_EN10MB, ETH_DST + ETH_SRC + struct.pack(">HHH", 0x8100, 42, etype) + ip
    if kind == "qinq":
        return LT_EN10MB, ETH_DST + ETH_SRC + struct.pack(">HHHHH", 0x88A8, 7, 0x8100, 42, etype) + ip
    raise SystemExit("relink: unknown type %s" % kind)


def relink(src, dst, kind):
    lt, snap, recs = read_pcap(src)
    out, new_lt = [], None
    for sec, usec, frame, wire in recs:
        etype, ip = strip_link(lt, frame)
        new_lt, f = add_link(kind, etype, ip)
        out.append((sec, usec, f, wire - len(frame) + len(f)))
    write_pcap(dst, new_lt if new_lt is not None else LT_RAW, out, snap)


# ---- crafting packets ----

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp(sport, dport, flags, opts=b"", payload=b"", doff=None, seq=1000, ack=0):
    if len(opts) % 4:
        opts += b"\x01" * (4 - len(opts) % 4)  # NOP padding
    d = doff if doff is not None else 5 + len(opts) // 4
    hdr = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, d << 4, flags, 65535, 0, 0)
    return hdr + opts + payload


def ipv4(src, dst, payload, proto=6, frag=0x4000, ident=1):
    total = 20 + len(payload)
    h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, ident, frag, 64, proto, 0,
                    bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    h = h[:10] + struct.pack(">H", csum(h)) + h[12:]
    return h + payload


def v6addr(a):
    import ipaddress
    return ipaddress.IPv6Address(a).packed


def ipv6(src, dst, payload, nh=6, ext=b""):
    return struct.pack(">IHBB16s16s", 6 << 28, len(ext) + len(payload), nh, 64,
                       v6addr(src), v6addr(dst)) + ext + payload


def eth(ip, etype=0x0800):
    return ETH_DST + ETH_SRC + struct.pack(">H", etype) + ip


SYN, ACK, PSH, RST = 0x02, 0x10, 0x08, 0x04
A, B = "10.9.0.1", "10.9.0.2"
KEY_A = bytes.fromhex("0102030405060708")
KEY_B = bytes.fromhex("1112131415161718")

# MPTCP options (kind 30)
MPC_SYN = bytes([30, 4, 0x01, 0x01])                              # v1 SYN, H
MPC_V0_SYN = bytes([30, 12, 0x00, 0x81]) + KEY_A                  # v0 SYN, A+H, key
DSS_ACK_MAP = bytes([30, 18, 0x20, 0x05]) + struct.pack(">IIIH", 7, 9, 1, 100)  # ack32 + dsn32
ADD_ADDR_V0 = bytes([30, 8, 0x34, 5, 10, 9, 0, 7])               # v0: IPVer 4, id 5
MPJ_SYN = bytes([30, 12, 0x10, 3]) + struct.pack(">II", 0xAABBCCDD, 0x01020304)
TS = bytes([1, 1, 8, 10]) + struct.pack(">II", 1, 2)


def cases():
    """(description, captured frame, wire length or None) -- one packet each."""
    c = []

    def add(desc, frame, wire=None):
        c.append((desc, frame, wire if wire is not None else len(frame)))

    add("valid MP_CAPABLE SYN", eth(ipv4(A, B, tcp(40000, 80, SYN, MPC_SYN))))
    full = eth(ipv4(A, B, tcp(40001, 80, ACK, TS + DSS_ACK_MAP)))
    add("DSS cut by the capture (snaplen) in the middle of the option",
        full[:14 + 20 + 20 + 12 + 8], len(full))
    add("zero-length TCP option (timestamp kind 8, length 0) before an MPTCP option",
        eth(ipv4(A, B, tcp(40002, 80, ACK, bytes([8, 0, 0, 0]) + MPC_SYN))))
    add("MPTCP option with length 0",
        eth(ipv4(A, B, tcp(40003, 80, ACK, bytes([30, 0, 0x20, 0])))))
    add("MPTCP option overlong: length 24 with 8 bytes of option space left",
        eth(ipv4(A, B, tcp(40004, 80, ACK, bytes([30, 24, 0x20, 0x01, 0, 0, 0, 1])))))
    add("MP_PRIO with length 6 (allowed: 3, 4)",
        eth(ipv4(A, B, tcp(40005, 80, ACK, bytes([30, 6, 0x51, 0, 0, 0]) + b"\x01\x01"))))
    add("unknown option kinds 99 and 253 around a valid DSS",
        eth(ipv4(A, B, tcp(40006, 80, ACK, bytes([99, 4, 0xde, 0xad]) + DSS_ACK_MAP +
                           bytes([253, 4, 0xbe, 0xef])))))
    seg = tcp(40007, 80, SYN, MPC_SYN)
    add("IPv4 non-first fragment (offset 8): skipped",
        eth(ipv4(A, B, seg[8:], frag=0x0001, ident=77)))
    add("IPv4 first fragment (MF) carrying MP_CAPABLE",
        eth(ipv4(A, B, seg, frag=0x2000, ident=78)))
    # hop-by-hop (8) -> destination options (8) -> fragment (offset 0, M) -> TCP
    ext = (bytes([60, 0]) + bytes([1, 4, 0, 0, 0, 0]) +
           bytes([44, 0]) + bytes([1, 4, 0, 0, 0, 0]) +
           bytes([6, 0]) + struct.pack(">HI", 0x0001, 0x1234))
    add("IPv6 hop-by-hop + destination options + fragment, MP_JOIN SYN",
        eth(ipv6("fd00::1", "fd00::2", tcp(40008, 80, SYN, MPJ_SYN), nh=0, ext=ext), 0x86DD))
    ip = ipv4(A, B, tcp(40009, 80, ACK, MPC_SYN))
    add("IPv4 header cut by the capture", eth(ip)[:14 + 12], 14 + len(ip))
    add("TCP data offset 4 (below 5)",
        eth(ipv4(A, B, tcp(40010, 80, ACK, doff=4))))
    add("v0 MP_CAPABLE SYN (version 0, with key)",
        eth(ipv4(A, B, tcp(40011, 80, SYN, MPC_V0_SYN))))
    add("v0 ADD_ADDR (IPVer nibble, no HMAC) on that v0 connection, reverse direction",
        eth(ipv4(B, A, tcp(80, 40011, ACK, ADD_ADDR_V0))))
    add("TCP data offset 15 but the IP payload holds 24 bytes",
        eth(ipv4(A, B, tcp(40012, 80, ACK, MPC_SYN, doff=15))))
    return c


def write_data(d):
    os.makedirs(d, exist_ok=True)
    cs = cases()
    recs = [(1700000000 + i, i * 1000, frame, wire) for i, (_, frame, wire) in enumerate(cs)]
    write_pcap(os.path.join(d, "malformed.pcap"), LT_EN10MB, recs)
    with open(os.path.join(d, "malformed.txt"), "w") as f:
        f.write("# frame: what data/malformed.pcap holds (written by pcapgen.py)\n")
        for i, (desc, _, _) in enumerate(cs, 1):
            f.write("%d: %s\n" % (i, desc))
    # three valid packets, the last record cut in half: a capture that ended badly
    good = [(1700000100 + i, 0, eth(ipv4(A, B, tcp(41000 + i, 80, SYN, MPC_SYN))), 0) for i in range(3)]
    good = [(s, u, fr, len(fr)) for s, u, fr, _ in good]
    path = os.path.join(d, "truncated-file.pcap")
    write_pcap(path, LT_EN10MB, good)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 30)
    # a link type mplb does not decode
    write_pcap(os.path.join(d, "linktype-wifi.pcap"), LT_WIFI, good[:1])
    with open(os.path.join(d, "garbage.pcap"), "wb") as f:
        f.write(b"this is not a capture file, just text pretending to be one\n")
    open(os.path.join(d, "empty.pcap"), "wb").close()


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "relink":
        relink(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 3 and sys.argv[1] == "data":
        write_data(sys.argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
