#!/usr/bin/env python3
"""Byte-exactness check of a stream over (MPTCP) sockets, by how it is
written and read: the reproducer of docs/NEXT.md issue 6 (uploads through
the converter with 15,696 bytes at the wrong offset), run by
tests/netns/test_mptcp_splice.sh.  Findings: docs/protocol/convert.md,
"Corrupted uploads over two subflows".

mptcp_splice_check.py ROLE HOST PORT DIR FILE [OPTIONS]
mptcp_splice_check.py relay HOST PORT UPHOST UPPORT [OPTIONS]

ROLE   listen (accept --count connections, one after the other) | connect
       | relay: a converter's upload path in Python, the stand-in for
       hatun's converter — read the client's Convert message, connect to
       UPHOST:UPPORT, copy with recv / sendall to EOF (no reply)
DIR    send: stream FILE, then shutdown(SHUT_WR), then read to EOF
       recv: read to EOF and compare with FILE as it arrives
OPTIONS:
  --mptcp          IPPROTO_MPTCP sockets
  --how H          send: send (sendall of 256 KiB user buffers) | sendfile
                   (os.sendfile: the kernel splices the file through an
                   internal 64 KiB pipe, flagging every chunk but the last
                   MSG_MORE) | sendmore (sendall of 64 KiB buffers, each but
                   the last with MSG_MORE) | splice (file -> pipe -> socket
                   in 64 KiB steps, socket non-blocking, poll() on EAGAIN:
                   how hatun's relay writes);
                   recv: recv (recv_into, blocking) | nbrecv (recv of at
                   most 64 KiB with MSG_DONTWAIT, poll() on EAGAIN: how
                   hatun's relay reads) | splice (socket -> pipe, then read
                   from the pipe: the socket's splice_read).
                   Default send / recv.
  --count N        connections (listen, relay: accepted; connect: made), default 1
  --tfo            connect: TCP_FASTOPEN_CONNECT (with --convert the Convert
                   message rides in the SYN, as hatun's client sends it);
                   listen / relay: TCP_FASTOPEN (as the converter listens)
  --convert IP P   connect: a Convert Connect message to IP:P first (with
                   recv: the converter's Convert message is skipped)
  --skip-convert   listen, recv: the stream starts with a Convert message
                   (a client with --convert, no converter): skip it
  --read-rate R    recv: read at most R MiB/s (64 KiB reads, paced): a slow
                   reader, the condition of the two-subflow receive-window
                   stall (with --rcvbuf 0)
  --rcvbuf B       SO_RCVBUF (0: the kernel's autotuning; default 4 MiB on
                   MPTCP sockets, as hatun: the
                   6.18 receive-window stall, docs/protocol/convert.md)
  --timeout S      bound of every blocking call (default 60)
Prints one line per connection:
  ok N                 N bytes, identical to FILE (ok sent / ok relayed N)
  bad N (expected M) first-diff O moved A|unknown-bytes
                       N bytes; the first differing byte is at offset O and
                       the 64 bytes there are FILE's from offset A (data at
                       the wrong stream offset) or nowhere in FILE
  error TEXT           the connection failed or stalled past --timeout
Exit status 0 when every connection was "ok", 1 otherwise.
"""
import mmap
import os
import select
import socket
import struct
import sys
import time

IPPROTO_MPTCP = 262
TCP_FASTOPEN_CONNECT = 30
CHUNK = 256 << 10
STEP = 64 << 10


def connect_msg(ip, port):
    """Convert fixed header + Connect TLV (type 10, 20 bytes: port, the
    address as IPv4-mapped IPv6), docs/protocol/convert.md."""
    tlv = bytes([0x0A, 5]) + port.to_bytes(2, "big") + b"\0" * 10 + b"\xff\xff" \
        + socket.inet_aton(ip)
    return bytes([1, (4 + len(tlv)) // 4, 0, 0]) + tlv


def new_sock(mptcp, rcvbuf):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP if mptcp else 0)
    if rcvbuf is None and mptcp:
        rcvbuf = 4 << 20
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    return s


def bound(s, timeout):
    """Blocking socket (os.sendfile / os.splice need one) whose every call
    gives up with EAGAIN after timeout seconds."""
    s.setblocking(True)
    tv = struct.pack("ll", int(timeout), int((timeout % 1) * 1e6))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)


def nb_call(s, fn, ev, timeout):
    """fn() on the non-blocking socket, poll() for ev while it says EAGAIN."""
    p = select.poll()
    p.register(s.fileno(), ev)
    while True:
        try:
            return fn()
        except BlockingIOError:
            if not p.poll(int(timeout * 1000)):
                raise OSError("stalled %g s" % timeout) from None


def send_stream(s, path, how, timeout):
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if how == "send":
            while True:
                b = f.read(CHUNK)
                if not b:
                    break
                s.sendall(b)
        elif how == "sendfile":
            off = 0
            while off < size:
                n = os.sendfile(s.fileno(), f.fileno(), off, size - off)
                if n == 0:
                    raise OSError("sendfile returned 0 at %d" % off)
                off += n
        elif how == "sendmore":
            off = 0
            while off < size:
                b = f.read(STEP)
                off += len(b)
                s.sendall(b, socket.MSG_MORE if off < size else 0)
        elif how == "splice":
            pr, pw = os.pipe()
            os.set_blocking(s.fileno(), False)
            try:
                off = 0
                while off < size:
                    n = os.splice(f.fileno(), pw, min(STEP, size - off), offset_src=off)
                    off += n
                    while n > 0:
                        n -= nb_call(s, lambda: os.splice(
                            pr, s.fileno(), n,
                            flags=os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK),
                            select.POLLOUT, timeout)
            finally:
                os.close(pr)
                os.close(pw)
                os.set_blocking(s.fileno(), True)
        else:
            raise SystemExit("unknown --how " + how)
    s.shutdown(socket.SHUT_WR)
    while s.recv(CHUNK):
        pass


class Checker:
    """Compares arriving bytes with the expected file, remembering the
    first difference."""

    def __init__(self, path):
        self.f = open(path, "rb")
        self.size = os.path.getsize(path)
        self.m = mmap.mmap(self.f.fileno(), 0, access=mmap.ACCESS_READ) if self.size else b""
        self.n = 0
        self.diff = None
        self.at = None

    def feed(self, b):
        if self.diff is None:
            exp = self.m[self.n:self.n + len(b)]
            if exp != b:
                k = min(len(exp), len(b))
                i = next((j for j in range(k) if exp[j] != b[j]), k)
                self.diff = self.n + i
                self.at = b[i:i + 64]
        self.n += len(b)

    def result(self):
        if self.diff is None and self.n == self.size:
            return True, "ok %d" % self.n
        line = "bad %d (expected %d)" % (self.n, self.size)
        if self.diff is not None:
            line += " first-diff %d" % self.diff
            if len(self.at) == 64:
                src = self.m.find(self.at)
                line += " moved %d" % src if src >= 0 else " unknown-bytes"
        return False, line


def recv_stream(s, path, how, skip_convert, timeout, rate=0.0):
    c = Checker(path)
    t0, got = time.monotonic(), 0
    head = b""
    pipe = os.pipe() if how == "splice" else None
    buf = bytearray(CHUNK)
    if how == "nbrecv":
        os.set_blocking(s.fileno(), False)
    try:
        while True:
            if how == "splice":
                n = os.splice(s.fileno(), pipe[1], CHUNK)
                b = b""
                while len(b) < n:
                    b += os.read(pipe[0], n - len(b))
            elif how == "nbrecv":
                n = nb_call(s, lambda: s.recv_into(buf, STEP, socket.MSG_DONTWAIT),
                            select.POLLIN, timeout)
                b = bytes(buf[:n])
            elif how == "recv":
                n = s.recv_into(buf, STEP if rate else 0)
                b = bytes(buf[:n])
                got += n
                ahead = got / (rate * 1048576) - (time.monotonic() - t0) if rate else 0
                if ahead > 0:
                    time.sleep(ahead)
            else:
                raise SystemExit("unknown --how " + how)
            if n == 0:
                break
            if skip_convert:
                head += b
                if len(head) < 4 or len(head) < head[1] * 4:
                    continue
                b = head[head[1] * 4:]
                skip_convert = False
            c.feed(b)
    finally:
        if pipe:
            os.close(pipe[0])
            os.close(pipe[1])
        os.set_blocking(s.fileno(), True)
    return c.result()


def relay_one(s, up, mptcp, rcvbuf, timeout):
    """A converter's upload path: the Convert message, then upstream."""
    head = b""
    while len(head) < 4 or len(head) < head[1] * 4:
        b = s.recv(4096)
        if not b:
            return False, "error EOF inside the Convert message"
        head += b
    u = new_sock(mptcp, rcvbuf)
    bound(u, timeout)
    try:
        u.connect(up)
        rest = head[head[1] * 4:]
        u.sendall(rest)
        n = len(rest)
        while True:
            b = s.recv(STEP)
            if not b:
                break
            u.sendall(b)
            n += len(b)
        u.shutdown(socket.SHUT_WR)
        while u.recv(CHUNK):
            pass
    finally:
        u.close()
    s.shutdown(socket.SHUT_WR)
    return True, "ok relayed %d" % n


def serve(role, host, port, a, b, o):
    """listen / relay: accept o["count"] connections one after the other."""
    good = True
    ls = new_sock(o["mptcp"], o["rcvbuf"])
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    if o["tfo"]:
        ls.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 64)
    ls.listen(8)
    ls.settimeout(o["timeout"] * o["count"])
    for _ in range(o["count"]):
        s, _peer = ls.accept()
        bound(s, o["timeout"])
        try:
            if role == "relay":
                ok, line = relay_one(s, (a, int(b)), o["mptcp"], o["rcvbuf"], o["timeout"])
            elif a == "send":
                send_stream(s, b, o["how"] or "send", o["timeout"])
                ok, line = True, "ok sent"
            else:
                ok, line = recv_stream(s, b, o["how"] or "recv", o["skip"], o["timeout"],
                                       o["rate"])
        except OSError as e:
            ok, line = False, "error %s" % e
        s.close()
        print(line, flush=True)
        good = good and ok
    ls.close()
    return good


def connect(host, port, direction, path, o):
    good = True
    for _ in range(o["count"]):
        s = new_sock(o["mptcp"], o["rcvbuf"])
        bound(s, o["timeout"])
        if o["tfo"]:
            s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)
        try:
            s.connect((host, port))
            if o["convert"]:
                s.sendall(connect_msg(*o["convert"]))
            if direction == "send":
                send_stream(s, path, o["how"] or "send", o["timeout"])
                ok, line = True, "ok sent"
            else:
                if o["convert"]:
                    s.shutdown(socket.SHUT_WR)
                ok, line = recv_stream(s, path, o["how"] or "recv", o["convert"] is not None,
                                       o["timeout"], o["rate"])
        except OSError as e:
            ok, line = False, "error %s" % e
        s.close()
        print(line, flush=True)
        good = good and ok
    return good


def main():
    argv = sys.argv[1:]
    if len(argv) < 5:
        raise SystemExit(__doc__)
    role, host, port, a, b = argv[:5]
    opts = argv[5:]
    o = {"mptcp": False, "how": None, "count": 1, "convert": None, "tfo": False,
         "skip": False, "rcvbuf": None, "timeout": 60.0, "rate": 0.0}
    while opts:
        x = opts.pop(0)
        if x == "--mptcp":
            o["mptcp"] = True
        elif x == "--how":
            o["how"] = opts.pop(0)
        elif x == "--count":
            o["count"] = int(opts.pop(0))
        elif x == "--convert":
            o["convert"] = (opts.pop(0), int(opts.pop(0)))
        elif x == "--tfo":
            o["tfo"] = True
        elif x == "--skip-convert":
            o["skip"] = True
        elif x == "--rcvbuf":
            o["rcvbuf"] = int(opts.pop(0))
        elif x == "--read-rate":
            o["rate"] = float(opts.pop(0))
        elif x == "--timeout":
            o["timeout"] = float(opts.pop(0))
        else:
            raise SystemExit("unknown option " + x)
    if role in ("listen", "relay"):
        good = serve(role, host, int(port), a, b, o)
    elif role == "connect":
        good = connect(host, int(port), a, b, o)
    else:
        raise SystemExit("unknown role " + role)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
