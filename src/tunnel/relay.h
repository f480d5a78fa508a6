/* hatun — one tunnelled TCP connection = one bidirectional QUIC stream
 * (quic-tunnel-00 §7.1), the part shared by the client and the
 * concentrator.
 *
 *   TCP -> stream   read only while ht_qconn_stream_send_room() > 0 (EPOLLIN
 *                   off otherwise, back on at stream_writable); the bytes go
 *                   straight into the stream's send buffer (one copy).
 *   stream -> TCP   written to the socket from the stream_data callback; only
 *                   what the socket did not take is copied into a pending
 *                   buffer, allocated on demand and freed when empty.  Credit
 *                   goes back to the peer (ht_qconn_stream_consumed) only for
 *                   bytes the socket took, so the pending buffer is bounded by
 *                   the stream window.
 *
 * Event mapping, Figure 2 of quic-tunnel-00, both ways:
 *   TCP EOF                  -> stream FIN
 *   stream FIN               -> shutdown(SHUT_WR) once pending bytes are out
 *   TCP RST (ECONNRESET...)  -> RESET_STREAM + STOP_SENDING, code 0
 *                               (TCP_CONNECTION_RESET)
 *   RESET_STREAM / STOP_SENDING received -> the TCP connection is closed
 *                               with a RST (SO_LINGER 0)
 *
 * The stream starts with the peer's TLV header; the relay feeds it to a
 * qt_stream_parser (allocated only while the header lasts) and hands the
 * outcome to its owner through hooks.  A relay ends exactly once, through
 * ht_relay_close(): one log line, then hooks->done, where the owner unlinks
 * and frees it.  The owner embeds struct ht_relay as the first member of
 * its own per-connection object.
 */
#ifndef HATUN_TUNNEL_RELAY_H
#define HATUN_TUNNEL_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "proto/qt_stream.h"
#include "quic/conn.h"

struct ht_relay;

struct ht_relay_hooks {
	/* The peer's header is complete (End parsed).  Return 0 to relay the
	 * bytestream that follows, or -1 when the hook closed the relay. */
	int (*header)(struct ht_relay *r, const struct qt_stream_info *info);
	/* The peer's header broke a rule (err from qt_stream_parser_feed, the
	 * parser with what it saw).  The hook must close the relay. */
	void (*header_error)(struct ht_relay *r, int err, const struct qt_stream_parser *p);
	/* RESET_STREAM or STOP_SENDING before the header was complete (the
	 * client maps it to "refused").  NULL: treated like any reset. */
	void (*early_reset)(struct ht_relay *r, uint64_t app_error);
	/* The owner-set deadline (ht_relay_set_deadline) passed.  Must close. */
	void (*timeout)(struct ht_relay *r);
	/* Socket events while the owner drives the socket (r->owner_io). */
	void (*owner_io)(struct ht_relay *r, uint32_t events);
	/* Stream bytes were added to the pending buffer while the owner
	 * drives the socket (ht_relay_pending has them).  NULL: none wanted. */
	void (*owner_data)(struct ht_relay *r);
	/* The relay ended (logged).  Unlink and free the object. */
	void (*done)(struct ht_relay *r);
};

struct ht_relay {
	struct ht_loop *loop;
	const struct ht_relay_hooks *hooks;
	struct ht_relay *prev, *next; /* the owner's list */
	struct ht_qconn *qc;          /* NULL once the stream is gone */
	int64_t sid;                  /* -1: no stream (queued or detached) */
	int fd;                       /* -1: no socket yet */
	struct ht_io io;
	struct ht_timer timer;
	struct ht_defer wflush;       /* one TCP write per loop batch (relay.c) */
	struct qt_stream_parser *hdr; /* while the peer's header lasts */

	/* stream -> TCP bytes the socket did not take yet */
	uint8_t *pend;
	size_t pend_off, pend_len, pend_cap;

	bool owner_io;      /* socket events go to hooks->owner_io */
	bool tcp_write;     /* stream bytes may be written to the socket */
	bool tcp_read;      /* the socket may be read (TCP -> stream) */
	bool tx_fin;        /* TCP EOF read, stream FIN queued */
	bool rx_fin;        /* stream FIN received */
	bool wr_shut;       /* shutdown(SHUT_WR) done */
	bool closed;        /* ht_relay_close ran */

	ht_time idle_timeout, last_active, deadline, started;
	uint64_t up, down; /* bytes TCP -> stream, stream -> TCP */
	struct qt_peer dst;
	char name[112]; /* "who -> where", for log lines */
};

/* Set up r (zeroed by the caller's calloc or not).  idle 0: no idle
 * timeout. */
void ht_relay_init(struct ht_relay *r, struct ht_loop *loop, const struct ht_relay_hooks *hooks,
		   ht_time idle_timeout);

/* Bind r to stream sid of qc and expect the peer's header (peer_opened:
 * the peer opened the stream, so its header must hold a Connect).
 * Returns 0 or HT_QERR_NOMEM / HT_QERR_NO_STREAM. */
int ht_relay_attach(struct ht_relay *r, struct ht_qconn *qc, int64_t sid, bool peer_opened);

/* Give r its TCP socket (watched once ht_relay_start or ht_relay_watch
 * says what for; closed by ht_relay_close). */
int ht_relay_set_fd(struct ht_relay *r, int fd);

/* The owner drives the socket (a connect in progress, a SOCKS handshake):
 * events go to hooks->owner_io until ht_relay_start.  0 or -errno. */
int ht_relay_watch(struct ht_relay *r, uint32_t events);

/* Start or stop each direction (tcp_write/tcp_read); recomputes the events
 * and flushes pending bytes.  After this call r may have ended: the return
 * is -1 then, 0 otherwise. */
int ht_relay_start(struct ht_relay *r, bool write, bool read);

/* Send bytes on the stream that are not TCP payload (our TLV header).
 * Returns 0, or -1 if the stream could not take all of them. */
int ht_relay_send_raw(struct ht_relay *r, const uint8_t *buf, size_t len, bool fin);

/* Stream bytes not written to the socket yet: *len bytes at the result.
 * When hooks->header runs, these are the bytes that came behind End. */
const uint8_t *ht_relay_pending(const struct ht_relay *r, size_t *len);

/* The owner wrote the first n pending bytes itself (in a TCP Fast Open
 * SYN): drop them and return their flow-control credit to the peer. */
void ht_relay_pending_written(struct ht_relay *r, size_t n);

/* Arm the owner deadline (HT_TIME_NEVER cancels it). */
void ht_relay_set_deadline(struct ht_relay *r, ht_time deadline);

/* How ht_relay_close ends each side. */
enum {
	HT_RELAY_RST_TCP = 1u << 0,      /* close the socket with a RST (else FIN) */
	HT_RELAY_RESET_STREAM = 1u << 1, /* RESET_STREAM + STOP_SENDING, code 0 */
	HT_RELAY_QUIET = 1u << 2,        /* no "closed" log line (never opened) */
};

/* End r: close the socket, detach from (or reset) the stream, log one line
 * with bytes, duration and reason, call hooks->done.  Idempotent. */
void ht_relay_close(struct ht_relay *r, unsigned how, const char *reason);

/* The QUIC connection died: forget it and RST the socket. */
void ht_relay_conn_lost(struct ht_relay *r, const char *reason);

/* ht_qconn_ops members for tunnel streams (the stream's user pointer is the
 * relay, NULL after it detached: data is then consumed and dropped). */
void ht_relay_on_stream_data(struct ht_qconn *c, void *user, int64_t sid, const uint8_t *data,
			     size_t len, bool fin);
void ht_relay_on_stream_reset(struct ht_qconn *c, void *user, int64_t sid, uint64_t app_error);
void ht_relay_on_stream_stop(struct ht_qconn *c, void *user, int64_t sid, uint64_t app_error);
void ht_relay_on_stream_writable(struct ht_qconn *c, void *user, int64_t sid);
void ht_relay_on_stream_closed(struct ht_qconn *c, void *user, int64_t sid);

/* Relays alive in this process (leak checks in tests). */
size_t ht_relay_live_count(void);

#endif
