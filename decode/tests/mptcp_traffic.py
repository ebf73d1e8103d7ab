#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""MPTCP traffic for decode_tshark.sh: a small echo server and a client that
holds its connection open in phases, so the test can change the path
manager's endpoints while the connection is up.

  mptcp_traffic.py server PORT
      echo server on 0.0.0.0:PORT and [::]:PORT (and on any extra
      port the kernel PM creates a listener for itself)
  mptcp_traffic.py client ADDR PORT --subflows N --marks DIR [--linger0]
      connect, exchange data, wait (bounded) until N extra subflows exist,
      touch DIR/connected, wait (bounded) for DIR/go, exchange data again,
      then close: normally (DATA_FIN) or with SO_LINGER {1, 0} (MP_FASTCLOSE).
Standard library only. Every wait is bounded; errors exit non-zero.
"""
import argparse
import os
import select
import socket
import struct
import sys
import threading
import time

IPPROTO_MPTCP = 262
SOL_MPTCP = 284
MPTCP_INFO = 1
CHUNK = 2000


def mptcp_socket(family):
    return socket.socket(family, socket.SOCK_STREAM, IPPROTO_MPTCP)


def extra_subflows(sock):
    """mptcpi_subflows: the number of subflows besides the initial one."""
    try:
        info = sock.getsockopt(SOL_MPTCP, MPTCP_INFO, 64)
    except OSError:
        return -1
    return info[0] if info else -1


def serve_conn(conn):
    conn.settimeout(15)
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)
    except OSError:
        pass  # reset by a fast close: expected
    finally:
        conn.close()


def accept_loop(lsock):
    while True:
        try:
            conn, _ = lsock.accept()
        except OSError:
            return
        threading.Thread(target=serve_conn, args=(conn,), daemon=True).start()


def server(args):
    listeners = []
    for family, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        s = mptcp_socket(family)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, args.port))
        s.listen(64)
        listeners.append(s)
    for s in listeners:
        threading.Thread(target=accept_loop, args=(s,), daemon=True).start()
    print("listening", flush=True)
    time.sleep(args.lifetime)  # the test kills us sooner; this bounds a leak
    return 0


def exchange(sock, n):
    payload = bytes((i * 7) & 0xFF for i in range(n))
    sock.sendall(payload)
    got = b""
    deadline = time.monotonic() + 5
    while len(got) < n and time.monotonic() < deadline:
        r, _, _ = select.select([sock], [], [], 0.2)
        if r:
            chunk = sock.recv(n - len(got))
            if not chunk:
                break
            got += chunk
    if got != payload:
        raise SystemExit("echo mismatch: sent %d bytes, got %d back" % (n, len(got)))


def wait_for(pred, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def client(args):
    family = socket.AF_INET6 if ":" in args.addr else socket.AF_INET
    sock = mptcp_socket(family)
    sock.settimeout(5)
    sock.connect((args.addr, args.port))
    exchange(sock, CHUNK)
    ok = wait_for(lambda: extra_subflows(sock) >= args.subflows, 4)
    n = extra_subflows(sock)
    with open(os.path.join(args.marks, "connected"), "w") as f:
        f.write("%d\n" % n)
    if not ok:
        print("only %d extra subflows, wanted %d" % (n, args.subflows), file=sys.stderr)
    if not wait_for(lambda: os.path.exists(os.path.join(args.marks, "go")), 10):
        raise SystemExit("no go signal within 10 s")
    exchange(sock, CHUNK)
    if args.linger0:
        # SO_LINGER {on, 0 s}: close() aborts, and MPTCP sends MP_FASTCLOSE.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    else:
        sock.shutdown(socket.SHUT_WR)  # DATA_FIN
        wait_for(lambda: select.select([sock], [], [], 0)[0] and not sock.recv(4096), 3)
        sock.close()
    print("client done: %d extra subflows" % n)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("port", type=int)
    s.add_argument("--lifetime", type=float, default=60)
    c = sub.add_parser("client")
    c.add_argument("addr")
    c.add_argument("port", type=int)
    c.add_argument("--subflows", type=int, default=0)
    c.add_argument("--marks", required=True)
    c.add_argument("--linger0", action="store_true")
    args = ap.parse_args()
    return server(args) if args.cmd == "server" else client(args)


if __name__ == "__main__":
    sys.exit(main())
