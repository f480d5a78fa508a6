#!/usr/bin/env python3
"""A tiny DNS-over-TCP server for the netns tests (python3 stdlib only).

usage: dns_tcp_server.py ADDR PORT NAME=ADDR[,ADDR...]... [--log FILE]

Answers A and AAAA questions for the names given (IPv4 addresses answer A,
IPv6 addresses AAAA; TTL 60), NOERROR with no answer (NODATA) for a listed
name without an address of the asked type, and NXDOMAIN for any other name.
Several queries may be pipelined on one connection (RFC 7766).  Each query
is appended to the log file as "QNAME QTYPE".
"""
import ipaddress
import socket
import struct
import sys
import threading

args = [a for a in sys.argv[1:] if not a.startswith('--log')]
log = None
if '--log' in sys.argv:
    log = sys.argv[sys.argv.index('--log') + 1]
    args.remove(log)
host, port = args[0], int(args[1])
zone = {}
for spec in args[2:]:
    name, addrs = spec.split('=', 1)
    zone[name.lower().rstrip('.')] = [ipaddress.ip_address(a) for a in addrs.split(',') if a]


def parse_qname(msg, off):
    labels = []
    while True:
        n = msg[off]
        off += 1
        if n == 0:
            return '.'.join(labels), off
        labels.append(msg[off:off + n].decode('latin-1'))
        off += n


def answer(q):
    qid, flags, qd = struct.unpack('!HHH', q[:6])
    name, off = parse_qname(q, 12)
    qtype, qclass = struct.unpack('!HH', q[off:off + 4])
    question = q[12:off + 4]
    if log:
        with open(log, 'a') as f:
            f.write('%s %d\n' % (name, qtype))
    key = name.lower().rstrip('.')
    rr = b''
    an = 0
    rcode = 0
    if key not in zone:
        rcode = 3
    else:
        for a in zone[key]:
            if (qtype == 1 and a.version == 4) or (qtype == 28 and a.version == 6):
                rr += b'\xc0\x0c' + struct.pack('!HHIH', qtype, 1, 60, len(a.packed)) + a.packed
                an += 1
    hdr = struct.pack('!HHHHHH', qid, 0x8180 | rcode, 1, an, 0, 0)
    return hdr + question + rr


def serve(c):
    buf = b''
    try:
        while True:
            b = c.recv(4096)
            if not b:
                break
            buf += b
            while len(buf) >= 2:
                n = struct.unpack('!H', buf[:2])[0]
                if len(buf) < 2 + n:
                    break
                r = answer(buf[2:2 + n])
                buf = buf[2 + n:]
                c.sendall(struct.pack('!H', len(r)) + r)
    except OSError:
        pass
    c.close()


fam = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port))
s.listen(128)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
