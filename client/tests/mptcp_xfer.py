#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""MPTCP transfer tool for the client/advert end-to-end tests.

serve PORT [--pace BYTES_PER_S]
    Dual-stack MPTCP server. Each connection sends "SIZE SEED\\n"; the server
    answers with SIZE bytes of the stream for SEED (paced if asked) and closes.
    "SIZE SEED up\\n": the client sends, the server verifies and answers
    "ok\\n" or "bad OFFSET\\n".

upload HOST PORT SIZE [--seed N] [--pace BYTES_PER_S]
    Send SIZE bytes of the stream; the server verifies them. Prints
    {"ok": ..., "bytes": ...}.

fetch HOST PORT SIZE [--seed N] [--bind ADDR] [--timeout S] [--poll-ms MS]
    Download SIZE bytes, verify every byte against the stream, and print one
    JSON object: ok, bytes, first_bad, seconds, the in-order delivery
    timeline ([time, bytes] every 2 ms), and each subflow's bytes over time (MPTCP_FULL_INFO polled
    every MS ms, so subflows that close before the end are kept too).

The stream for SEED: byte i = BLOCK[i % P], BLOCK P pseudo-random bytes from
SEED with P prime, so any loss, duplication or shift shows as a mismatch.
"""
import ctypes
import json
import random
import socket
import struct
import sys
import threading
import time

IPPROTO_MPTCP = 262
SOL_MPTCP = 284
MPTCP_FULL_INFO = 4
P = 1048573  # prime

_libc = ctypes.CDLL(None, use_errno=True)


def block(seed):
    return random.Random(seed).randbytes(P)


def stream_slice(blk, off, n):
    """Bytes [off, off+n) of the stream."""
    out = bytearray()
    while n > 0:
        i = off % P
        k = min(n, P - i)
        out += blk[i:i + k]
        off += k
        n -= k
    return bytes(out)


def serve(port, pace):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM, IPPROTO_MPTCP)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(64)
    print("listening", flush=True)
    cache = {}

    def one(c):
        try:
            c.settimeout(60)
            req = b""
            while not req.endswith(b"\n"):
                b = c.recv(64)
                if not b:
                    return
                req += b
            words = req.split()
            size, seed = int(words[0]), int(words[1])
            blk = cache.get(seed) or cache.setdefault(seed, block(seed))
            if len(words) > 2 and words[2] == b"up":
                got, bad = 0, None
                while got < size:
                    b = c.recv(262144)
                    if not b:
                        break
                    if bad is None and b != stream_slice(blk, got, len(b)):
                        bad = got
                    got += len(b)
                c.sendall(b"ok\n" if bad is None and got == size else b"bad %d\n" % (bad or got))
                return
            off, chunk, t0 = 0, 65536, time.time()
            while off < size:
                k = min(chunk, size - off)
                c.sendall(stream_slice(blk, off, k))
                off += k
                if pace:
                    ahead = off / pace - (time.time() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()


def ip_port(sa):
    fam = struct.unpack_from("=H", sa, 0)[0]
    port = struct.unpack_from("!H", sa, 2)[0]
    if fam == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, sa[4:8]), port
    if fam == socket.AF_INET6:
        a = sa[8:24]
        if a[:12] == b"\0" * 10 + b"\xff\xff":
            return socket.inet_ntop(socket.AF_INET, a[12:16]), port
        return socket.inet_ntop(socket.AF_INET6, a), port
    return "?", 0


def subflows(fd, nmax=16):
    """[(local, lport, remote, rport, state, bytes_received, bytes_acked)] or None."""
    sfsz, tisz = 264, 232
    sfbuf = ctypes.create_string_buffer(sfsz * nmax)
    tibuf = ctypes.create_string_buffer(tisz * nmax)
    mfi = ctypes.create_string_buffer(40 + 256)
    struct.pack_into("=IIIIIIQQ", mfi, 0, 0, tisz, 0, sfsz, 0, nmax,
                     ctypes.addressof(sfbuf), ctypes.addressof(tibuf))
    ln = ctypes.c_uint32(len(mfi))
    if _libc.getsockopt(fd, SOL_MPTCP, MPTCP_FULL_INFO, mfi, ctypes.byref(ln)) < 0:
        return None
    n = min(struct.unpack_from("=I", mfi, 16)[0], nmax)
    out = []
    for i in range(n):
        sf = sfbuf.raw[i * sfsz:(i + 1) * sfsz]
        ti = tibuf.raw[i * tisz:(i + 1) * tisz]
        lip, lport = ip_port(sf[8:8 + 128])
        rip, rport = ip_port(sf[8 + 128:8 + 256])
        state = ti[0]
        acked, received = struct.unpack_from("=QQ", ti, 120)
        out.append((lip, lport, rip, rport, state, received, acked))
    return out


def fetch(host, port, size, seed, bind, timeout, poll_ms):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM, IPPROTO_MPTCP)
    s.settimeout(timeout)
    if bind:
        s.bind((bind, 0))
    t0 = time.time()
    s.connect((host, port))
    s.sendall(b"%d %d\n" % (size, seed))
    blk = block(seed)
    timeline = {}  # "lip:lport>rip:rport" -> [[t, bytes_received], ...] (on change)
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            t = time.time()
            for lip, lport, rip, rport, st, rx, _ in subflows(s.fileno()) or []:
                key = "%s:%d>%s:%d" % (lip, lport, rip, rport)
                tl = timeline.setdefault(key, [])
                if not tl or tl[-1][1] != rx:
                    tl.append([round(t, 4), rx])
            stop.wait(poll_ms / 1000.0)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    got, bad, recvs = 0, None, []
    err = None
    try:
        while got < size:
            b = s.recv(262144)
            if not b:
                break
            if bad is None and b != stream_slice(blk, got, len(b)):
                exp = stream_slice(blk, got, len(b))
                bad = got + next(i for i in range(len(b)) if b[i] != exp[i])
            got += len(b)
            recvs.append((time.time(), got))
    except OSError as e:
        err = str(e)
    stop.set()
    th.join()
    final = subflows(s.fileno()) or []
    s.close()
    t1 = time.time()
    # Delivery timeline, one sample per 2 ms at most (and every gap's edges).
    delivered, last = [], None
    for i, (t, n) in enumerate(recvs):
        nxt = recvs[i + 1][0] if i + 1 < len(recvs) else None
        if last is None or t - last >= 0.002 or (nxt is not None and nxt - t > 0.005):
            delivered.append([round(t, 4), n])
            last = t
    out = {
        "ok": bad is None and got == size and err is None,
        "bytes": got, "size": size, "first_bad": bad, "error": err,
        "start": round(t0, 4), "end": round(t1, 4), "seconds": round(t1 - t0, 3),
        "first_recv": round(recvs[0][0], 4) if recvs else None,
        "delivered": delivered,
        "subflows": timeline,
        "final": [{"local": "%s:%d" % (a, b), "remote": "%s:%d" % (c, d), "state": e,
                   "rx": f} for a, b, c, d, e, f, _ in final],
    }
    print(json.dumps(out), flush=True)
    return 0 if out["ok"] else 1


def upload(host, port, size, seed, pace):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM, IPPROTO_MPTCP)
    s.settimeout(30)
    off, t0 = 0, time.time()
    try:
        s.connect((host, port))
        s.sendall(b"%d %d up\n" % (size, seed))
        blk = block(seed)
        while off < size:
            k = min(65536, size - off)
            s.sendall(stream_slice(blk, off, k))
            off += k
            if pace:
                ahead = off / pace - (time.time() - t0)
                if ahead > 0:
                    time.sleep(ahead)
        answer = s.recv(64)
    except OSError as e:
        # A report, not a traceback: the suite prints why the transfer failed.
        print(json.dumps({"ok": False, "bytes": off, "error": "%s after %.1f s" % (e, time.time() - t0)}))
        return 1
    finally:
        s.close()
    ok = answer == b"ok\n"
    print(json.dumps({"ok": ok, "bytes": off, "answer": answer.decode(errors="replace").strip()}))
    return 0 if ok else 1


def main(argv):
    if len(argv) >= 4 and argv[0] == "report":
        # report FETCH_JSON_FILE T_DOWN NEW_REMOTE [DEAD,...]: failover numbers as JSON
        dead = argv[4].split(",") if len(argv) >= 5 and argv[4] else None
        print(json.dumps(failover_report(open(argv[1]).read(), float(argv[2]), argv[3], dead=dead)))
        return 0
    if len(argv) >= 2 and argv[0] == "shares":
        # shares FETCH_JSON_FILE: bytes per remote address
        print(json.dumps(rx_by_remote(json.loads(open(argv[1]).read()))))
        return 0
    if len(argv) >= 2 and argv[0] == "serve":
        pace = 0
        if "--pace" in argv:
            pace = float(argv[argv.index("--pace") + 1])
        serve(int(argv[1]), pace)
        return 0
    if len(argv) >= 4 and argv[0] == "upload":
        opt = {"--seed": "1", "--pace": "0"}
        rest = argv[4:]
        for i in range(0, len(rest) - 1, 2):
            opt[rest[i]] = rest[i + 1]
        return upload(argv[1], int(argv[2]), int(argv[3]), int(opt["--seed"]), float(opt["--pace"]))
    if len(argv) >= 4 and argv[0] == "fetch":
        opt = {"--seed": "1", "--bind": "", "--timeout": "30", "--poll-ms": "10"}
        rest = argv[4:]
        for i in range(0, len(rest) - 1, 2):
            opt[rest[i]] = rest[i + 1]
        return fetch(argv[1], int(argv[2]), int(argv[3]), int(opt["--seed"]),
                     opt["--bind"], float(opt["--timeout"]), float(opt["--poll-ms"]))
    print(__doc__, file=sys.stderr)
    return 2



def failover_report(fetch_json, t_down, new_remote, resume_bytes=131072, dead=None):
    """From a fetch result and the time of the break: when the subflow to
    new_remote ("ip:port") first carried bytes, and when in-order delivery
    to the application had gone resume_bytes past what it had at the break.
    dead: substrings of "lip:lport>rip:rport" naming the subflows on the
    broken path. Given, the base is everything those subflows ever received
    (data already past the break point still drains out of queues after it)
    plus what the others had by the break: a byte read beyond it came over a
    path that works."""
    f = json.loads(fetch_json) if isinstance(fetch_json, str) else fetch_json
    # What could be delivered without a new path: what the application had,
    # or what the subflows had received by the break (the app may lag).
    at_down = 0
    for t, n in f["delivered"]:
        if t <= t_down:
            at_down = n
    rx_down = 0
    for key, tl in f["subflows"].items():
        if dead and any(d in key for d in dead):
            rx_down += max([rx for _, rx in tl] or [0])
        else:
            rx_down += max([rx for t, rx in tl if t <= t_down] or [0])
    base = max(at_down, rx_down)
    resume = next((t for t, n in f["delivered"] if t > t_down and n >= base + resume_bytes), None)
    # First data after the break: the first read that returns a byte which had
    # not reached this host by the break (it came over a path that works).
    first_new = next((t for t, n in f["delivered"] if t > t_down and n > base), None)
    first_rx = None
    for key, tl in f["subflows"].items():
        if key.split(">")[1] == new_remote:
            t = next((t for t, rx in tl if rx > 0), None)
            if t is not None and (first_rx is None or t < first_rx):
                first_rx = t
    before = sorted(k for k, tl in f["subflows"].items() if tl and tl[0][0] < t_down)
    rx_before = {}
    for key, tl in f["subflows"].items():
        remote = key.split(">")[1].rsplit(":", 1)[0]
        rx_before[remote] = rx_before.get(remote, 0) + max([rx for t, rx in tl if t <= t_down] or [0])
    after = sorted(k for k, tl in f["subflows"].items() if tl and tl[0][0] >= t_down)
    return {
        "ok": f["ok"], "bytes": f["bytes"],
        "subflows_before": before, "subflows_after": after,
        "first_rx_ms": None if first_rx is None else round((first_rx - t_down) * 1000, 1),
        "resume_ms": None if resume is None else round((resume - t_down) * 1000, 1),
        "first_new_ms": None if first_new is None else round((first_new - t_down) * 1000, 1),
        "rx_by_remote": rx_by_remote(f), "rx_before_by_remote": rx_before,
    }


def rx_by_remote(f):
    """Bytes received per remote address (largest value seen per subflow)."""
    out = {}
    for key, tl in f["subflows"].items():
        remote = key.split(">")[1].rsplit(":", 1)[0]
        out[remote] = out.get(remote, 0) + max(rx for _, rx in tl)
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
