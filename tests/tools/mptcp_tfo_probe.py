#!/usr/bin/env python3
"""MPTCP + TCP Fast Open connection probe (tests/netns/test_mptcp_tfo.sh).

server MODE ADDR PORT [TFO_QLEN]
    Listens (MODE: mptcp+tfo, mptcp, tfo, tcp) and answers every request
    line with 64 bytes, then closes.  One thread per connection.
client MODE ADDR PORT N CONC STALL_S
    N connections, CONC at a time; each sends a 32-byte request (in the SYN
    when MODE has tfo: TCP_FASTOPEN_CONNECT), reads the 64-byte answer and
    EOF.  Prints one summary line:
      mode=... n=... ok=... fail=... stalls=... max_ms=... p50_ms=... p99_ms=...
    and one "stall i=... ms=... err=..." line per connection slower than
    STALL_S seconds (each bounded by 70 s: the reported stall is ~56 s).
"""
import socket
import sys
import threading
import time

TCP_FASTOPEN = 23
TCP_FASTOPEN_CONNECT = 30
REQ = b"R" * 31 + b"\n"
ANS = b"A" * 63 + b"\n"


def proto(mode):
    return socket.IPPROTO_MPTCP if "mptcp" in mode else socket.IPPROTO_TCP


def serve_one(c):
    try:
        c.settimeout(75)
        got = b""
        while not got.endswith(b"\n"):
            b = c.recv(64)
            if not b:
                return
            got += b
        c.sendall(ANS)
    except OSError:
        pass
    finally:
        c.close()


def server(mode, addr, port, qlen):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM, proto(mode))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if "tfo" in mode:
        s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN, qlen)
    s.bind((addr, port))
    s.listen(4096)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve_one, args=(c,), daemon=True).start()


def one(mode, addr, port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM, proto(mode))
    try:
        s.settimeout(70)
        if "tfo" in mode:
            s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)
        s.connect((addr, port))
        s.sendall(REQ)
        got = b""
        while True:
            b = s.recv(128)
            if not b:
                break
            got += b
        return None if got == ANS else "short answer %d" % len(got)
    except OSError as e:
        return type(e).__name__ + ":" + str(e)
    finally:
        s.close()


def client(mode, addr, port, n, conc, stall_s):
    lock = threading.Lock()
    nxt = [0]
    times, stalls, fails = [], [], []

    def worker():
        while True:
            with lock:
                i = nxt[0]
                if i >= n:
                    return
                nxt[0] += 1
            t0 = time.monotonic()
            err = one(mode, addr, port)
            ms = (time.monotonic() - t0) * 1000
            with lock:
                times.append(ms)
                if err:
                    fails.append((i, ms, err))
                if ms > stall_s * 1000:
                    stalls.append((i, ms, err))
                    print("stall i=%d ms=%.0f err=%s" % (i, ms, err), flush=True)

    ts = [threading.Thread(target=worker) for _ in range(conc)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    times.sort()
    pct = lambda p: times[min(len(times) - 1, int(len(times) * p))] if times else 0
    print("mode=%s n=%d ok=%d fail=%d stalls=%d max_ms=%.0f p50_ms=%.1f p99_ms=%.1f"
          % (mode, n, n - len(fails), len(fails), len(stalls),
             times[-1] if times else 0, pct(0.5), pct(0.99)), flush=True)
    return 0


def main():
    if sys.argv[1] == "server":
        server(sys.argv[2], sys.argv[3], int(sys.argv[4]),
               int(sys.argv[5]) if len(sys.argv) > 5 else 4096)
        return 0
    return client(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
                  int(sys.argv[6]), float(sys.argv[7]))


if __name__ == "__main__":
    sys.exit(main())
