#!/usr/bin/env python3
"""Raw Convert client for tests/netns/test_convert*.sh: real sockets, any bytes.

cv_rawclient.py [OPTIONS] HOST PORT MESSAGE...

MESSAGE:
  bootstrap                    01 02 00 00 | 01 01 00 00
  connect IP PORT [OPTSHEX]    a Connect TLV (IPv4 as ::ffff:a.b.c.d), options
                               given as hex entries (e.g. 1d02 = TCP-AO), padded
  raw HEX                      these bytes as they are
OPTIONS:
  --mptcp        IPPROTO_MPTCP socket
  --tfo          TCP_FASTOPEN_CONNECT: the message rides in the SYN
  --data TEXT    bytes sent right behind the message (same write)
  --shut         shutdown(SHUT_WR) after sending
  --version V    fixed-header version byte (default 1)
  --rfc8803      fixed header magic 0x2263
  --timeout S    read bound (default 5)
  --send-file F  stream file F behind the message, then shutdown(SHUT_WR)
  --repeat N     do the whole exchange N times, back to back
  --save F       write the bytes after the Convert message to F (not printed)
Prints, one per line:
  convert HEX               the converter's Convert message
  tlv TYPE HEX              each TLV of it (type in hex)
  error CODE VALUEHEX       an Error TLV (code decimal)
  data N TEXT               bytes after the Convert message (the relayed stream)
  end eof|rst|timeout       how the connection ended
"""
import ipaddress
import socket
import sys

TCP_FASTOPEN_CONNECT = 30


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def build(args, version, magic):
    tlvs = b""
    i = 0
    while i < len(args):
        a = args[i]
        if a == "bootstrap":
            tlvs += bytes([1, 1, 0, 0])
            i += 1
        elif a == "connect":
            ip = ipaddress.ip_address(args[i + 1])
            addr = ip.packed if ip.version == 6 else b"\0" * 10 + b"\xff\xff" + ip.packed
            port = int(args[i + 2])
            opts = b""
            i += 3
            if i < len(args) and all(c in "0123456789abcdefABCDEF" for c in args[i]) \
                    and len(args[i]) % 2 == 0 and args[i] not in ("bootstrap",):
                opts = bytes.fromhex(args[i])
                i += 1
            tlv = pad4(bytes([0x0A, 0]) + port.to_bytes(2, "big") + addr + opts)
            tlvs += bytes([0x0A, len(tlv) // 4]) + tlv[2:]
        elif a == "raw":
            return bytes.fromhex(args[i + 1])
        else:
            raise SystemExit("unknown message part " + a)
    total = 4 + len(tlvs)
    return bytes([version, total // 4]) + magic.to_bytes(2, "big") + tlvs


def report(buf):
    """Print the Convert message at the start of buf; return its length."""
    if len(buf) < 4 or buf[1] * 4 > len(buf):
        return 0
    n = buf[1] * 4
    print("convert", buf[:n].hex(), flush=True)
    off = 4
    while off + 2 <= n:
        t, ln = buf[off], buf[off + 1] * 4
        if ln == 0:
            break
        v = buf[off:off + ln]
        print("tlv %02x %s" % (t, v.hex()), flush=True)
        if t == 0x1E:
            print("error %d %s" % (v[2], v[3:].hex()), flush=True)
        off += ln
    return n


def main():
    argv = sys.argv[1:]
    mptcp = tfo = shut = False
    data = b""
    send_file = save = None
    repeat = 1
    version, magic, timeout = 1, 0, 5.0
    while argv and argv[0].startswith("--"):
        o = argv.pop(0)
        if o == "--mptcp":
            mptcp = True
        elif o == "--tfo":
            tfo = True
        elif o == "--shut":
            shut = True
        elif o == "--data":
            data = argv.pop(0).encode()
        elif o == "--version":
            version = int(argv.pop(0))
        elif o == "--rfc8803":
            magic = 0x2263
        elif o == "--send-file":
            send_file = argv.pop(0)
        elif o == "--repeat":
            repeat = int(argv.pop(0))
        elif o == "--save":
            save = argv.pop(0)
        elif o == "--timeout":
            timeout = float(argv.pop(0))
        else:
            raise SystemExit("unknown option " + o)
    host, port = argv[0], int(argv[1])
    msg = build(argv[2:], version, magic) + data
    for _ in range(repeat):
        exchange(host, port, msg, mptcp, tfo, shut, send_file, save, timeout)
    return 0


def exchange(host, port, msg, mptcp, tfo, shut, send_file, save, timeout):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM, 262 if mptcp else 0)
    s.settimeout(timeout)
    if mptcp:
        # The 6.18 MPTCP receive-window stall (docs/protocol/convert.md):
        # a fixed receive buffer, as hatun itself sets.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    if tfo:
        s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)
    s.connect((host, port))
    s.sendall(msg)
    if send_file:
        import threading

        def pump():
            # sendall from a user buffer, not sendfile(): sendfile() into an
            # MPTCP socket with two subflows (its chunks flagged MSG_MORE)
            # sometimes delivers bytes at the wrong offset on 6.18, a kernel
            # bug (docs/protocol/convert.md, "Corrupted uploads over two
            # subflows"; tests/netns/test_mptcp_splice.sh).
            with open(send_file, "rb") as f:
                while True:
                    b = f.read(256 << 10)
                    if not b:
                        break
                    s.sendall(b)
            s.shutdown(socket.SHUT_WR)
        threading.Thread(target=pump, daemon=True).start()
    elif shut:
        s.shutdown(socket.SHUT_WR)
    buf = b""
    end = "eof"
    out = None
    try:
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            if out is not None:
                out.write(b)
                continue
            buf += b
            if save and len(buf) >= 4 and len(buf) >= buf[1] * 4:
                out = open(save, "wb")
                out.write(buf[buf[1] * 4:])
                buf = buf[:buf[1] * 4]
    except ConnectionResetError:
        end = "rst"
    except socket.timeout:
        end = "timeout"
    if out is not None:
        out.close()
    n = report(buf)
    if len(buf) > n:
        rest = buf[n:]
        print("data %d %s" % (len(rest), rest[:60].decode(errors="replace").replace("\n", " ")),
              flush=True)
    print("end", end, flush=True)
    s.close()


if __name__ == "__main__":
    sys.exit(main())
