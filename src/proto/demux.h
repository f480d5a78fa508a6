/* hatun — first-octet demultiplexing of STUN and QUIC on one UDP socket.
 *
 * Peer-to-peer QUIC (seed 002, draft-perkins-quic-p2p-mux-00) runs ICE
 * connectivity checks and QUIC on the same 5-tuple, so every datagram read
 * from that socket is classified here before either codec sees it.  The
 * table is draft-aboba-avtcore-quic-multiplexing-03 (wire-formats.md §3.6):
 *
 *   0-3      STUN, if the rest of the header also looks like STUN
 *   64-127   QUIC short header (fixed bit 0x40 set)
 *   192-255  QUIC long header  (fixed bit 0x40 set)
 *   else     drop: ZRTP 16-19, DTLS 20-63, RTP/RTCP 128-191, and the rest
 *
 * 64-79 is also TURN ChannelData.  hatun classifies it as QUIC: a socket
 * that talks to a TURN server must first steer datagrams from that server's
 * address to the TURN client, which this first-octet test cannot know.
 *
 * Why hatun never negotiates grease_quic_bit (RFC 9287) on such a socket: a
 * peer that received that transport parameter may clear the fixed bit 0x40 in
 * every packet it sends.  A short-header packet would then start with 0-63 or
 * 128-191 and be taken for STUN, DTLS or RTP — here, dropped — so the
 * connection would black-hole.  For the same reason a hatun endpoint that
 * sends Version Negotiation on a multiplexed socket sets 0x40 in it, as RFC
 * 9000 §17.2.1 asks, and a peer's VN without that bit is dropped.
 *
 * demux.c deliberately does not call stun.c: the STUN shape test is the cheap
 * header check of RFC 5389 §7.3 (and RFC 7983 §7), done inline, and the fuzz
 * harness builds each module alone.
 */
#ifndef HATUN_PROTO_DEMUX_H
#define HATUN_PROTO_DEMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum demux_class {
	DEMUX_DROP = 0,
	DEMUX_STUN = 1,
	DEMUX_QUIC = 2,
};

/* True when buf has the shape of a STUN message: first byte 0-3, at least 20
 * bytes, magic cookie 0x2112A442 in bytes 4-7, Message Length a multiple of 4
 * and equal to len - 20.  Integrity and attributes are stun.c's business. */
bool demux_is_stun(const uint8_t *buf, size_t len);

/* Classify one whole UDP datagram.  Never fails: anything that is neither
 * STUN nor QUIC (including an empty datagram) is DEMUX_DROP. */
enum demux_class demux_classify(const uint8_t *buf, size_t len);

/* "stun", "quic" or "drop", for log lines. */
const char *demux_class_name(enum demux_class c);

#endif
