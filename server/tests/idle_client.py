#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Idle-then-transfer client for the PAWS test of the tsecr scheme.

Opens N MPTCP connections to VIP:PORT (mplb serve protocol, probe/proto.h),
reads each HELLO (backend id), stays silent for IDLE seconds, then asks each
for BYTES (bulk), measures how long the answer takes and verifies every byte
against the payload stream (probe/proto.h) and the server's STATUS. Prints
one JSON line per connection: {"backend": id, "seconds": t, "ok": bool}.
"""
import json
import socket
import struct
import sys
import threading
import time

IPPROTO_MPTCP = 262
MAGIC = 0x4D504C42
GOLDEN = 0x9E3779B97F4A7C15
M64 = (1 << 64) - 1


def splitmix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def stream(seed, n):
    """Bytes [0, n) of payload_stream(seed) (probe/proto.c)."""
    out = bytearray()
    for w in range((n + 7) // 8):
        out += splitmix64((seed + (w + 1) * GOLDEN) & M64).to_bytes(8, "little")
    return bytes(out[:n])


def run(host, port, idle, nbytes, out, i):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM, IPPROTO_MPTCP)
    s.settimeout(idle + 60)
    s.connect((host, port))
    hello = b""
    while len(hello) < 80:
        chunk = s.recv(80 - len(hello))
        if not chunk:
            break
        hello += chunk
    backend = struct.unpack("!IHHI", hello[:12])[3] if len(hello) == 80 else -1
    time.sleep(idle)
    t0 = time.monotonic()
    s.sendall(struct.pack("!IHHIIQQ", MAGIC, 1, 2, 1, 1, nbytes, 12345 + i))
    want, data = nbytes + 40, bytearray()
    try:
        while len(data) < want:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    seconds = round(time.monotonic() - t0, 3)
    status_ok = len(data) == want and struct.unpack("!IHHI", data[nbytes:nbytes + 12])[3] == 0
    out[i] = {"backend": backend, "seconds": seconds,
              "ok": status_ok and bytes(data[:nbytes]) == stream(12345 + i, nbytes),
              "local_port": s.getsockname()[1]}
    s.close()


def main():
    host, port, n, idle, nbytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    out = [None] * n
    ts = [threading.Thread(target=run, args=(host, port, idle, nbytes, out, i)) for i in range(n)]
    for t in ts:
        t.start()
        time.sleep(0.05)
    for t in ts:
        t.join()
    for o in out:
        print(json.dumps(o))


main()
