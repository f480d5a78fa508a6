#!/usr/bin/env python3
"""Longest gap in received data, at 1 ms resolution (handover measurements).

serve ADDR PORT [--mptcp]
    Listens; sends bytes to every connection as fast as it can, until the
    peer closes.  One thread per connection.
recv ADDR PORT SECONDS [--mptcp] [--src ADDR] [--socks HOST:PORT]
    Connects (through a SOCKS5 proxy with --socks), reads for SECONDS, and
    prints one line:
      bytes=N seconds=S mbit=M max_gap_ms=G at_s=T gaps_over_100ms=K
    where G is the longest time between two reads that returned data and T
    when it began (seconds after the first byte).  Exit 1 if the connection
    broke (reset, EOF) before SECONDS.
"""
import socket
import struct
import sys
import threading
import time

CHUNK = 65536


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def proto(mptcp):
    return socket.IPPROTO_MPTCP if mptcp else socket.IPPROTO_TCP


def serve(addr, port, mptcp):
    ls = socket.socket(family(addr), socket.SOCK_STREAM, proto(mptcp))
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(64)
    buf = b"\x5a" * CHUNK

    def pump(c):
        try:
            while True:
                c.sendall(buf)
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = ls.accept()
        threading.Thread(target=pump, args=(c,), daemon=True).start()


def socks_connect(s, host, port):
    s.sendall(b"\x05\x01\x00")
    if s.recv(2) != b"\x05\x00":
        raise OSError("socks: no acceptable method")
    a = socket.inet_pton(family(host), host)
    atyp = b"\x04" if len(a) == 16 else b"\x01"
    s.sendall(b"\x05\x01\x00" + atyp + a + struct.pack("!H", port))
    rep = s.recv(4)
    if len(rep) < 4 or rep[1] != 0:
        raise OSError("socks: reply %r" % rep)
    s.recv(16 + 2 if rep[3] == 4 else 4 + 2)


def recv(addr, port, seconds, mptcp, src, socks):
    if socks:
        host, _, p = socks.rpartition(":")
        s = socket.socket(family(host), socket.SOCK_STREAM)
        s.connect((host.strip("[]"), int(p)))
        socks_connect(s, addr, port)
    else:
        s = socket.socket(family(addr), socket.SOCK_STREAM, proto(mptcp))
        if src:
            s.bind((src, 0))
        s.connect((addr, port))
    s.settimeout(seconds + 5)
    total = 0
    first = last = None
    gap, gap_at, over = 0.0, 0.0, 0
    broke = False
    end = time.monotonic() + seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        s.settimeout(max(0.01, end - now))
        try:
            b = s.recv(CHUNK)
        except socket.timeout:
            continue
        except OSError:
            broke = True
            break
        now = time.monotonic()
        if not b:
            broke = True
            break
        if first is None:
            first = now
        elif now - last > gap:
            gap, gap_at = now - last, last - first
        if last is not None and now - last > 0.1:
            over += 1
        last = now
        total += len(b)
    # a silence that lasts until the end counts too
    if last is not None and not broke and time.monotonic() - last > gap:
        gap, gap_at = time.monotonic() - last, last - first
    s.close()
    dur = (last - first) if first is not None and last is not None else 0
    print("bytes=%d seconds=%.2f mbit=%.1f max_gap_ms=%.0f at_s=%.2f gaps_over_100ms=%d%s"
          % (total, dur, total * 8 / 1e6 / dur if dur > 0 else 0, gap * 1000,
             gap_at, over, " broken" if broke else ""))
    return 1 if broke else 0


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    mptcp = "--mptcp" in argv
    src = argv[argv.index("--src") + 1] if "--src" in argv else None
    socks = argv[argv.index("--socks") + 1] if "--socks" in argv else None
    if argv[1] == "serve":
        serve(argv[2], int(argv[3]), mptcp)
        return 0
    if argv[1] == "recv" and len(argv) >= 5:
        return recv(argv[2], int(argv[3]), float(argv[4]), mptcp, src, socks)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
