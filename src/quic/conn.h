/* hatun — a QUIC connection (ngtcp2 0.12) as the tunnel layers see it.
 *
 * One ht_qconn is one QUIC connection, client or server side, driven by
 * one ht_loop.  The upper layer gets events through an ops table and acts
 * through the functions below.  All of them may be called from inside any
 * ops callback of the same connection (they never re-enter ngtcp2's
 * packet processing; anything that sends is flushed by a deferred
 * callback once per loop batch).
 *
 * Ownership and flow control (see docs/QUIC.md):
 * - ht_qconn_stream_send COPIES into a per-stream send buffer bounded by
 *   settings.stream_sndbuf; bytes leave it only when the peer ACKs them.
 *   A short count (0 when full) is backpressure: stop reading the source
 *   until ops.stream_writable.
 * - ops.stream_data hands out received bytes valid only during the call.
 *   Credit (MAX_STREAM_DATA / MAX_DATA) is returned to the peer only when
 *   the upper layer calls ht_qconn_stream_consumed, i.e. after it wrote
 *   the bytes onward.  The upper layer therefore never holds more than
 *   the stream window per stream and the connection window in total.
 * - ops.closed is the last callback; after it returns the ht_qconn is
 *   gone (it may linger internally for the closing period, invisibly).
 *
 * Return codes: HT_OK (0) or a negative HT_QERR_* / HT_ERR_INVAL.
 */
#ifndef HATUN_QUIC_CONN_H
#define HATUN_QUIC_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "core/loop.h"
#include "quic/identity.h"

struct ht_qconn;
struct ht_tls_config;

enum {
	HT_QERR_STREAM_LIMIT = -1001, /* peer's MAX_STREAMS reached: queue and retry */
	HT_QERR_NO_STREAM = -1002,    /* unknown or already closed stream */
	HT_QERR_CLOSED = -1003,       /* connection closing or closed */
	HT_QERR_STATE = -1004,        /* not possible now (handshake, FIN already sent, ...) */
	HT_QERR_NOMEM = -1005,
	HT_QERR_TOO_BIG = -1006, /* datagram larger than the peer accepts */
	HT_QERR_FULL = -1007,    /* datagram queue full (dropped) */
	HT_QERR_INTERNAL = -1008,
};
const char *ht_qerr_str(int err);

enum ht_qconn_close_reason {
	HT_QCLOSE_IDLE = 0,      /* idle timeout: the peer vanished */
	HT_QCLOSE_HANDSHAKE = 1, /* handshake failed, timed out or was refused */
	HT_QCLOSE_PEER = 2,      /* the peer sent CONNECTION_CLOSE (or a stateless reset) */
	HT_QCLOSE_LOCAL = 3,     /* ht_qconn_close() or the server shut down */
	HT_QCLOSE_ERROR = 4,     /* protocol or internal error detected here */
};

struct ht_qconn_close_info {
	enum ht_qconn_close_reason reason;
	bool app;            /* error_code is an application error code */
	uint64_t error_code; /* QUIC transport or application error code */
	const char *text;    /* human readable, for a log line */
};

#define HT_QCONN_APP_ERROR_UNKNOWN UINT64_MAX

struct ht_qconn_ops {
	/* Client: handshake confirmed (the server accepted our certificate).
	 * Server: handshake complete (after the server's accept callback). */
	void (*handshake_done)(struct ht_qconn *c, void *user);
	/* The peer opened bidirectional stream sid. */
	void (*stream_open)(struct ht_qconn *c, void *user, int64_t sid);
	/* The peer opened unidirectional stream sid (its data arrives through
	 * stream_data; we cannot send on it).  NULL: the stream is refused
	 * with STOP_SENDING 0.  At most settings.max_streams_uni are allowed
	 * (the quic-tunnel control stream is the first, -01 §7.1). */
	void (*uni_stream_open)(struct ht_qconn *c, void *user, int64_t sid);
	/* In-order bytes of sid (valid only during the call); fin: no more. */
	void (*stream_data)(struct ht_qconn *c, void *user, int64_t sid, const uint8_t *data,
			    size_t len, bool fin);
	/* RESET_STREAM received: the peer abandoned its direction. */
	void (*stream_reset)(struct ht_qconn *c, void *user, int64_t sid, uint64_t app_error);
	/* The peer asked us to stop sending (STOP_SENDING).  ngtcp2 0.12 does not
	 * report the frame itself; this fires when our write side is found shut
	 * by the peer, app_error may be HT_QCONN_APP_ERROR_UNKNOWN. */
	void (*stream_stop_sending)(struct ht_qconn *c, void *user, int64_t sid,
				    uint64_t app_error);
	/* Send room freed on sid after a short ht_qconn_stream_send. */
	void (*stream_writable)(struct ht_qconn *c, void *user, int64_t sid);
	/* Both directions are finished; sid is forgotten after this. */
	void (*stream_closed)(struct ht_qconn *c, void *user, int64_t sid);
	/* The peer raised the stream limit: ht_qconn_open_bidi may succeed again. */
	void (*streams_available)(struct ht_qconn *c, void *user);
	/* A DATAGRAM frame (valid only during the call). */
	void (*datagram)(struct ht_qconn *c, void *user, const uint8_t *data, size_t len);
	/* The connection is gone; the last callback. */
	void (*closed)(struct ht_qconn *c, void *user, const struct ht_qconn_close_info *info);
};

enum ht_qconn_cc {
	HT_QCC_CUBIC = 0,
	HT_QCC_BBR2 = 1,
	HT_QCC_RENO = 2,
};

struct ht_qconn_settings {
	uint64_t max_streams_bidi;  /* concurrent peer-opened streams (tunnelled TCP) */
	uint64_t max_streams_uni;   /* peer-opened unidirectional streams, in total (0) */
	uint64_t uni_stream_window; /* receive window of each (64 KiB) */
	uint64_t stream_window;     /* per-stream receive window, bytes */
	uint64_t conn_window;       /* connection receive window, bytes */
	ht_time idle_timeout;       /* ns */
	ht_time keep_alive;         /* PING interval when idle, ns; 0 = none */
	ht_time handshake_timeout;  /* ns */
	size_t stream_sndbuf;       /* per-stream send buffer cap, bytes */
	enum ht_qconn_cc cc;
	size_t max_udp_payload;     /* largest UDP payload we send (PMTUD probes up to it) */
	size_t max_dgram_queue;     /* queued outgoing DATAGRAM frames, at most */
	/* Packets up to max_udp_payload from the handshake on, without
	 * waiting for PMTUD (ngtcp2's no_tx_udp_payload_size_shaping): a
	 * datagram-mode tunnel announces its MTU once, so the size it is
	 * computed from must hold at once.  The path must carry it. */
	bool fixed_udp_payload;
	bool no_gso, no_gro;        /* measurements / broken drivers */
	bool ngtcp2_debug;          /* ngtcp2's own log on stderr */
};

/* Defaults: 100 streams, 1 MiB stream / 16 MiB connection windows, 30 s
 * idle, 10 s keep-alive, 10 s handshake, 256 KiB send buffer, cubic, 1452
 * byte payload, 128 queued datagrams. */
void ht_qconn_settings_default(struct ht_qconn_settings *s);

struct ht_qconn_client_args {
	const struct sockaddr *remote;
	socklen_t remote_len;
	const struct sockaddr *local; /* optional bind address (multipath) */
	socklen_t local_len;
	const char *ifname;                  /* optional SO_BINDTODEVICE */
	const struct ht_tls_config *tls;     /* client role; must outlive the conn */
	const struct ht_qconn_settings *set; /* NULL: defaults */
	const struct ht_qconn_ops *ops;
	void *user;
	/* Session tickets are saved here (0600) and a restart resumes from
	 * it with 0-RTT; NULL: no tickets kept. */
	const char *ticket_file;
};

/* Start a client connection (the Initial leaves at the next loop batch).
 * Returns 0, or -errno (socket) / HT_QERR_NOMEM / HT_ERR_CRYPTO. */
int ht_qconn_connect(struct ht_qconn **out, struct ht_loop *loop,
		     const struct ht_qconn_client_args *a);

/* Replace ops/user (the server's accept callback uses it). */
void ht_qconn_set_ops(struct ht_qconn *c, const struct ht_qconn_ops *ops, void *user);
void *ht_qconn_user(const struct ht_qconn *c);

/* Open a bidirectional stream.  HT_QERR_STREAM_LIMIT when the peer's limit
 * is reached (wait for ops.streams_available or a stream_closed). */
int ht_qconn_open_bidi(struct ht_qconn *c, int64_t *sid);

/* Open a unidirectional (send-only) stream: the first one of a
 * connection is its quic-tunnel control stream (client 2, server 3).
 * HT_QERR_STREAM_LIMIT when the peer allows no more, HT_QERR_STATE before
 * the handshake completed.  Send on it with ht_qconn_stream_send. */
int ht_qconn_open_uni(struct ht_qconn *c, int64_t *sid);
static inline bool ht_qconn_stream_is_uni(int64_t sid)
{
	return (sid & 2) != 0;
}

/* A per-stream pointer for the upper layer (NULL until set).  Setting it
 * on an unknown or closed stream returns HT_QERR_NO_STREAM; reading it
 * works until stream_closed has returned (inside that callback too) and
 * gives NULL afterwards. */
int ht_qconn_stream_set_user(struct ht_qconn *c, int64_t sid, void *user);
void *ht_qconn_stream_user(struct ht_qconn *c, int64_t sid);

/* Zero-copy form of ht_qconn_stream_send, for a relay that reads a socket
 * straight into the send buffer: ht_qconn_stream_reserve fills iov[] (at
 * most HT_QCONN_RESERVE_IOV entries) with buffers at the end of sid's send
 * buffer covering min(max, room) bytes; the caller fills a prefix of them
 * (readv) and calls ht_qconn_stream_commit(c, sid, n) before any other call
 * on c.  Returns the iov count (0: no room; ops.stream_writable follows) or
 * a negative HT_QERR_*.  Commit returns n or a negative HT_QERR_*; commit 0
 * just releases the buffers. */
#define HT_QCONN_RESERVE_IOV 5
int ht_qconn_stream_reserve(struct ht_qconn *c, int64_t sid, struct iovec *iov, int niov,
			    size_t max);
ssize_t ht_qconn_stream_commit(struct ht_qconn *c, int64_t sid, size_t n);

/* Copy up to len bytes into sid's send buffer; returns the count accepted
 * (0..len) or a negative HT_QERR_*.  fin is applied only if all len bytes
 * were accepted (len 0 + fin: just FIN). */
ssize_t ht_qconn_stream_send(struct ht_qconn *c, int64_t sid, const uint8_t *data, size_t len,
			     bool fin);
/* Free space in sid's send buffer (0 for unknown/finished streams).  A 0
 * for an open stream arms stream_writable like a short send does. */
size_t ht_qconn_stream_send_room(struct ht_qconn *c, int64_t sid);
/* The upper layer delivered n received bytes of sid onward: extend the
 * stream and connection windows by n. */
int ht_qconn_stream_consumed(struct ht_qconn *c, int64_t sid, size_t n);
/* Abort sid both ways: RESET_STREAM + STOP_SENDING with app_error. */
int ht_qconn_stream_reset(struct ht_qconn *c, int64_t sid, uint64_t app_error);
/* Stop reading sid: STOP_SENDING with app_error (our sending continues). */
int ht_qconn_stream_stop_sending(struct ht_qconn *c, int64_t sid, uint64_t app_error);

/* Queue one DATAGRAM frame (copied).  HT_QERR_TOO_BIG, HT_QERR_FULL,
 * HT_QERR_STATE (peer has no DATAGRAM support / handshake not done).
 * The queue takes HT_QDGRAM_QUEUE_MIN packets, or HT_QDGRAM_INTERVAL of
 * the connection's delivery rate when that is more, up to
 * settings.max_dgram_queue (HT_QDGRAM_QUEUE_MAX); it is managed by sojourn
 * time: CoDel
 * (codel.h, target 5 ms, interval 100 ms) drops at its head while it
 * stands above target; stats.dgram_codel_drops counts those.  The sojourn
 * includes the path's standing queue (pathq.h: minimum RTT of the last
 * interval, at least HT_QDGRAM_MIN_SAMPLES samples, minus the minimum of
 * the last one or two HT_QDGRAM_BASE_SPAN). */
#define HT_QDGRAM_TARGET (5 * HT_MS)
#define HT_QDGRAM_INTERVAL (100 * HT_MS)
#define HT_QDGRAM_QUEUE_MIN 128
#define HT_QDGRAM_QUEUE_MAX 1024
#define HT_QDGRAM_BASE_SPAN (2000 * HT_MS)
#define HT_QDGRAM_MIN_SAMPLES 8
int ht_qconn_send_datagram(struct ht_qconn *c, const uint8_t *data, size_t len);
/* The same for a packet of flow `flow` (a hash of the inner packet's
 * addresses, protocol and ports; 0: unknown): a packet of at most
 * HT_QDGRAM_SPARSE_MAX bytes whose flow has nothing queued is sent before
 * the bulk (dgq.h), so sparse flows (ping, DNS, interactive) do not wait
 * behind a bulk transfer's queue.  Larger packets keep the queue's order:
 * a multipath session's receiver takes them as evidence of what its path
 * no longer has in flight (tunnel/reorder.h); a bulk flow's packets served
 * early whenever its queue ran empty defeated that (8-flow download:
 * 7 % of the packets given up, then delivered late). */
#define HT_QDGRAM_SPARSE_MAX 512u
int ht_qconn_send_datagram_flow(struct ht_qconn *c, const uint8_t *data, size_t len,
				uint32_t flow);

/* The DATAGRAM queue's CoDel target (0: HT_QDGRAM_TARGET).  A multipath
 * session raises it on its faster paths (cpaths.c): there a standing
 * queue up to the paths' delay difference costs the session's flows
 * nothing, their packets wait that long in the receiver's reorder buffer
 * anyway. */
void ht_qconn_set_dgram_target(struct ht_qconn *c, ht_time target);

/* The largest DATAGRAM payload ht_qconn_send_datagram takes now: on the
 * current path (PMTUD may still raise it) and as the peer allows; 0 before
 * the handshake or without DATAGRAM support.  nominal: the size the
 * connection aims at (settings.max_udp_payload) instead of the current
 * path's — what a tunnel MTU is computed from. */
size_t ht_qconn_max_datagram(struct ht_qconn *c, bool nominal);
/* What a 1-RTT packet adds around one DATAGRAM frame's data, for a
 * destination connection ID of dcid_len bytes: first byte, DCID, packet
 * number (at most 4), AEAD tag (16), frame type and a 2-byte length
 * (ngtcp2 always writes the length form), and room for an ACK frame of a
 * few ranges beside a full-size datagram: without it every pending ACK
 * leaves in a packet of its own (8 flows over two 50 Mbit/s paths, A/B:
 * 84.3-85.0 Mbit/s with no room, 86.5-87.0 with 24 bytes).  Sizes are
 * checked against the connection's current DCID: peers keep one CID
 * length (hatun's, ngtcp2's and the common stacks' do). */
#define HT_QDGRAM_ACK_ROOM 24u
#define HT_QDGRAM_PKT_OVERHEAD(dcid_len) \
	(1u + (dcid_len) + 4u + 16u + 1u + 2u + HT_QDGRAM_ACK_ROOM)
/* Length of the connection IDs hatun issues: 64 bits from the CSPRNG (the
 * server refuses a duplicate), 8 bytes less on every packet than 16. */
#define HT_QCONN_CID_LEN 8u

/* Client: move the connection to a new UDP socket bound to local (NULL:
 * any address of the remote's family) and/or ifname (SO_BINDTODEVICE):
 * QUIC connection migration (RFC 9000 §9), immediate, the old socket
 * closed.  Streams and datagrams go on over the new path once ngtcp2 has
 * validated it.  Returns 0, HT_ERR_INVAL (a server connection),
 * HT_QERR_STATE (not open yet, or no spare connection ID from the peer),
 * -errno (socket) or HT_QERR_INTERNAL. */
int ht_qconn_migrate(struct ht_qconn *c, const struct sockaddr *local, socklen_t local_len,
		     const char *ifname);

/* Close with CONNECTION_CLOSE (application error); ops.closed follows
 * (from the loop, never from inside this call). */
void ht_qconn_close(struct ht_qconn *c, uint64_t app_error);

/* Drop the connection silently, at once: no CONNECTION_CLOSE, no
 * callbacks (the peer will see an idle timeout).  Must not be called from
 * inside this connection's callbacks.  For tests and process exit. */
void ht_qconn_abort(struct ht_qconn *c);

/* Negotiated ALPN ("qt", "qt-01", "qt-00"), "" before the handshake. */
const char *ht_qconn_alpn(const struct ht_qconn *c);
/* The peer's SPKI SHA-256, NULL until its certificate was accepted. */
const uint8_t *ht_qconn_peer_fingerprint(const struct ht_qconn *c);
/* The peer's address on the current path (for status); its length, or 0. */
socklen_t ht_qconn_peer_addr(const struct ht_qconn *c, struct sockaddr_storage *ss);
bool ht_qconn_is_server(const struct ht_qconn *c);
bool ht_qconn_handshake_done(const struct ht_qconn *c);

/* 0-RTT (docs/QUIC.md "Session tickets and 0-RTT"). */
enum ht_qconn_early {
	HT_QEARLY_NONE = 0,     /* full handshake */
	HT_QEARLY_OFFERED = 1,  /* client: resuming, early data allowed, no answer yet */
	HT_QEARLY_ACCEPTED = 2, /* the server took the early data */
	HT_QEARLY_REJECTED = 3, /* client: refused, the streams were sent again */
};
enum ht_qconn_early ht_qconn_early_state(const struct ht_qconn *c);
/* "offered", "accepted", "rejected", "" for none (status output). */
const char *ht_qconn_early_str(enum ht_qconn_early e);
/* Client: streams may be opened (and written: 0-RTT) before
 * handshake_done. */
bool ht_qconn_can_open_early(const struct ht_qconn *c);

struct ht_qconn_stats {
	ht_time smoothed_rtt, min_rtt, latest_rtt; /* ns */
	uint64_t cwnd, bytes_in_flight;
	uint64_t bytes_sent, bytes_received; /* UDP payload bytes */
	uint64_t pkts_sent, pkts_received;
	uint64_t streams_open;
	uint64_t lost_pkts; /* packets carrying stream data declared lost */
	uint64_t delivery_rate; /* bytes/s, ngtcp2's estimate */
	uint64_t dgram_codel_drops; /* DATAGRAMs dropped by sojourn time (CoDel) */
};
void ht_qconn_get_stats(struct ht_qconn *c, struct ht_qconn_stats *st);

/* What a multipath client watches on every path, often: cheap (no walk
 * over the streams).  Times are ht_now() values, 0 for "never". */
struct ht_qconn_pathinfo {
	ht_time srtt, rttvar, min_rtt;
	uint64_t cwnd, bytes_in_flight;
	size_t dgram_queued;       /* DATAGRAM frames waiting in our queue */
	ht_time path_queue;        /* the path's standing queue (pathq.h), 0: none seen */
	size_t streams_bidi;       /* open bidirectional streams */
	ht_time last_rx;           /* last UDP datagram received */
	ht_time last_tx_eliciting; /* last ack-eliciting packet sent (1-RTT) */
	uint64_t bytes_sent, bytes_received;
};
void ht_qconn_get_pathinfo(struct ht_qconn *c, struct ht_qconn_pathinfo *pi);

/* Send an ack-eliciting PING now (with the next packet written): a path
 * that went silent is asked for an answer at once. */
void ht_qconn_ping(struct ht_qconn *c);

/* Change the keep-alive: a PING once nothing was sent or received for
 * timeout (0: none).  A multipath client shortens it on a path that was
 * receiving, so that a silent link is probed within a few RTTs. */
void ht_qconn_set_keep_alive(struct ht_qconn *c, ht_time timeout);

/* Connections allocated on this thread and not yet freed (including ones
 * lingering in their closing period): a leak check for tests. */
size_t ht_qconn_live_count(void);

/* Free, at once, every connection of this thread that was already reported
 * closed (ops.closed ran) but still lingers in its closing or draining
 * period.  For process exit, after the grace period: the peer will see an
 * idle timeout instead of our retransmitted CONNECTION_CLOSE.  Returns how
 * many were freed. */
size_t ht_qconn_reap_closed(void);

#endif
