/* hatun — internals shared by conn.c, stream.c and server.c.  Not for the
 * tunnel layers: they use conn.h and server.h only. */
#ifndef HATUN_QUIC_CONN_INT_H
#define HATUN_QUIC_CONN_INT_H

#include <ngtcp2/ngtcp2.h>

#include "quic/dgq.h"
#include "quic/conn.h"
#include "quic/pathq.h"
#include "quic/tls.h"
#include "quic/udp.h"

#define HT_QCONN_SCID_LEN HT_QCONN_CID_LEN /* the server routes on them */
#define HT_QSTREAM_CHUNK 16384
/* Spare send-buffer chunks a connection keeps instead of free()ing them:
 * bulk transfer frees and allocates a few chunks per ACK, and letting
 * malloc give them back made glibc trim the heap (brk + TLB shootdown). */
#define HT_QCHUNK_CACHE 16

struct ht_server;

/* ---- one stream ------------------------------------------------------------ */

struct ht_qchunk {
	struct ht_qchunk *next;
	uint8_t data[HT_QSTREAM_CHUNK];
};

struct ht_qstream {
	int64_t id;
	void *user;                             /* ht_qconn_stream_set_user */
	struct ht_qstream *hnext;               /* hash chain */
	struct ht_qstream *rprev, *rnext;       /* ready-to-send ring (round robin) */
	struct ht_qstream *nnext;               /* writable-notification list */
	bool in_ready, in_notify;

	/* Send buffer: chunks of HT_QSTREAM_CHUNK that never move, so ngtcp2 may
	 * keep pointers into them until the bytes are acknowledged.
	 * Stream offsets: acked <= sent <= end; end - acked <= cap. */
	struct ht_qchunk *head, *tail;
	size_t head_off;  /* first unacked byte inside head */
	size_t tail_used; /* bytes used in tail */
	uint64_t acked, sent, end;
	bool fin_queued, fin_sent;
	bool blocked;       /* stream flow control: wait for MAX_STREAM_DATA */
	bool want_writable; /* a send was short: report room */
	bool wr_shut;       /* reset by us or stopped by the peer */
	bool stop_reported;
	bool closing;       /* inside stream_closed: the API treats it as gone */
	bool notify_writable, notify_stop;

	/* Receive side accounting (flow-control coupling). */
	uint64_t delivered, consumed;
	bool rx_released; /* unconsumed credit already returned (closed/stopped) */
	bool rd_shut;
};

/* ---- one connection -------------------------------------------------------- */

enum ht_qconn_state {
	QC_HANDSHAKE = 0,
	QC_OPEN,
	QC_CLOSING,  /* we sent CONNECTION_CLOSE: linger 3 PTO, repeat it on input */
	QC_DRAINING, /* the peer closed: linger silently */
};

struct ht_qcid {
	struct ht_qcid *hnext;     /* server table chain */
	struct ht_qcid *conn_next; /* all CIDs of one connection */
	struct ht_qconn *c;
	uint8_t len;
	uint8_t data[NGTCP2_MAX_CIDLEN];
};

struct ht_qconn {
	struct ht_qconn *live_next, *live_prev; /* this thread's live connections */
	struct ht_loop *loop;
	ngtcp2_conn *conn;
	struct ht_tls_session tls;
	const struct ht_qconn_ops *ops;
	void *user;
	struct ht_qconn_settings set;
	enum ht_qconn_state state;
	struct ht_qchunk *chunk_cache; /* spare chunks, at most HT_QCHUNK_CACHE */
	size_t nchunk_cache;
	struct ht_qchunk *resv[HT_QCONN_RESERVE_IOV]; /* ht_qconn_stream_reserve */
	size_t nresv;
	bool is_server;
	bool hs_done;         /* handshake_done reported */
	bool closed_reported; /* ops.closed called */
	bool close_requested;
	uint64_t close_app_error;
	uint8_t early;     /* enum ht_qconn_early (conn_0rtt.c) */
	char *ticket_file; /* client: where session tickets are kept */

	struct ht_timer timer;
	struct ht_defer flush;

	/* Path I/O.  A client owns its socket; server connections share the
	 * listener's. */
	struct ht_udp_sock *sock;
	struct ht_udp_sock own_sock;
	struct ht_io io;
	struct ht_udp_rx *rx; /* client only */
	struct ht_udp_addr local, remote; /* current path (ngtcp2 may migrate) */

	/* Transmit: one GSO batch buffer; a batch the kernel refused with
	 * EAGAIN stays here (pend_*) until the socket is writable. */
	uint8_t *txbuf;
	size_t txcap;
	size_t pend_off, pend_len, pend_seg;
	struct ht_udp_addr pend_local, pend_remote;
	bool tx_blocked;
	bool ping_now;       /* ht_qconn_ping: keep-alive set to expire for one packet */
	/* Client in datagram mode: local queue limits (conn_io.c,
	 * tune_local_queue): batch bytes (0: no limit yet), last tuning. */
	size_t txq_batch;
	ht_time txq_tuned;

	/* Closing: the CONNECTION_CLOSE packet, repeated on input. */
	uint8_t *close_pkt;
	size_t close_pkt_len;
	unsigned close_rx;

	/* Streams: hash by id, round-robin ring of streams with data to send,
	 * list of streams owed a stream_writable. */
	struct ht_qstream **sbuckets;
	size_t nbuckets, nstreams, nuni; /* nuni: unidirectional among nstreams */
	struct ht_qstream *ready;
	struct ht_qstream *notify;

	/* Outgoing DATAGRAM frames (dgq.h: bounded, sparse flows first, CoDel
	 * fed the path's standing queue from the RTT samples; dq_rtt_seen:
	 * the last latest_rtt fed, to feed each sample once). */
	struct ht_dgq dq;
	bool dq_on; /* dq initialised (the first datagram sent) */
	ht_time dq_target; /* CoDel target; 0: HT_QDGRAM_TARGET */
	struct ht_pathq dq_pathq;
	ht_time dq_rtt_seen;

	/* Stats not kept by ngtcp2. */
	uint64_t bytes_sent, bytes_received, pkts_sent, pkts_received, lost_closed;
	ht_time last_rx; /* last UDP datagram received for this connection */

	/* Server bookkeeping (owned by server.c). */
	struct ht_server *srv;
	struct ht_qcid *cids;
	struct ht_qconn *sprev, *snext;
	struct ht_qconn *wnext; /* waiting for the shared socket to drain */
	bool waiting_tx;
	bool half_open;
	const uint8_t *sr_secret; /* stateless reset token secret (server) */
	size_t sr_secretlen;
};

/* ---- stream.c ---------------------------------------------------------------- */
struct ht_qstream *ht_qstream_find(struct ht_qconn *c, int64_t id);
struct ht_qstream *ht_qstream_new(struct ht_qconn *c, int64_t id);  /* inserted */
void ht_qstream_free(struct ht_qconn *c, struct ht_qstream *s);     /* unlinks */
void ht_qstream_free_all(struct ht_qconn *c);
size_t ht_qstream_room(const struct ht_qconn *c, const struct ht_qstream *s);
size_t ht_qstream_append(struct ht_qconn *c, struct ht_qstream *s, const uint8_t *d, size_t n);
size_t ht_qstream_reserve(struct ht_qconn *c, struct ht_qstream *s, struct iovec *iov,
			  size_t niov, size_t max);
size_t ht_qstream_commit(struct ht_qconn *c, struct ht_qstream *s, size_t n);
void ht_qstream_release(struct ht_qconn *c);
void ht_qstream_acked(struct ht_qconn *c, struct ht_qstream *s, uint64_t len);
/* Fill v with unsent bytes from s->sent on; returns the count. */
size_t ht_qstream_unsent(const struct ht_qstream *s, ngtcp2_vec *v, size_t nv, size_t *bytes);
bool ht_qstream_has_unsent(const struct ht_qstream *s);
void ht_qstream_ready_add(struct ht_qconn *c, struct ht_qstream *s);
void ht_qstream_ready_del(struct ht_qconn *c, struct ht_qstream *s);

/* ---- conn.c, for conn_api.c ---------------------------------------------------- */
bool ht_qconn_is_gone(const struct ht_qconn *c);  /* closing, draining or reported closed */
void ht_qconn_queue_flush(struct ht_qconn *c);     /* write at the end of this batch */
/* The peer opened unidirectional stream sid (conn_api.c). */
void ht_qconn_uni_opened(struct ht_qconn *c, int64_t sid);
/* Return the credit of bytes delivered but never consumed (stream ends). */
void ht_qconn_release_rx(struct ht_qconn *c, struct ht_qstream *s);

/* ---- conn.c <-> conn_io.c ------------------------------------------------------- */
void ht_qc_conn_free(struct ht_qconn *c);
void ht_qc_report_closed(struct ht_qconn *c, enum ht_qconn_close_reason reason, bool app,
			 uint64_t code, const char *text);
void ht_qc_linger(struct ht_qconn *c, enum ht_qconn_state st);
void ht_qc_send_close_pkt(struct ht_qconn *c);
void ht_qc_conn_close_with(struct ht_qconn *c, const ngtcp2_connection_close_error *ccerr,
			   enum ht_qconn_close_reason reason, const char *text);
void ht_qc_conn_fail(struct ht_qconn *c, int liberr);
void ht_qc_conn_drain(struct ht_qconn *c);
void ht_qc_notify_add(struct ht_qconn *c, struct ht_qstream *s);
void ht_qc_maybe_writable(struct ht_qconn *c, struct ht_qstream *s);
void ht_qc_conn_write(struct ht_qconn *c);
void ht_qc_arm_timer(struct ht_qconn *c, bool from_timer);
void ht_qc_on_timer(struct ht_loop *loop, struct ht_timer *t);
void ht_qc_on_flush(struct ht_loop *loop, struct ht_defer *d);
void ht_qc_on_client_io(struct ht_loop *loop, struct ht_io *io, uint32_t events);

/* ---- conn_0rtt.c: session tickets and 0-RTT ------------------------------------- */
/* Client: keep tickets in path (NULL: none) and resume from it. */
int ht_qc_ticket_setup(struct ht_qconn *c, const char *path, const struct ht_tls_config *tls);
/* Client, handshake complete: 0-RTT accepted, or rejected and resent. */
int ht_qc_early_client_done(struct ht_qconn *c);
/* Client, before the handshake completed with 0-RTT offered: the ready
 * stream to write in a 0-RTT packet, or NULL (write none yet). */
struct ht_qstream *ht_qc_early_pick(struct ht_qconn *c);
/* Server: stream data arrived before the handshake completed (0-RTT):
 * check the resumed identity and accept the connection now.  0 or -1. */
int ht_qc_early_server_accept(struct ht_qconn *c);

/* ---- conn.c, for server.c ------------------------------------------------------ */
int ht_qconn_server_new(struct ht_qconn **out, struct ht_server *srv, struct ht_loop *loop,
			struct ht_udp_sock *sock, const ngtcp2_pkt_hd *hd,
			const struct ht_udp_addr *local, const struct ht_udp_addr *remote,
			const struct ht_tls_config *tls, const struct ht_qconn_settings *set,
			const uint8_t *sr_secret, size_t sr_secretlen);
/* Feed one QUIC datagram.  Returns 0, or HT_QERR_CLOSED when c was freed. */
int ht_qconn_input(struct ht_qconn *c, const struct ht_udp_addr *local,
		   const struct ht_udp_addr *remote, const uint8_t *data, size_t len);
/* The shared socket is writable again. */
void ht_qconn_tx_resume(struct ht_qconn *c);
/* Server shutdown: ops.closed(LOCAL) if still owed, then free at once. */
void ht_qconn_destroy(struct ht_qconn *c);

/* ---- server.c, for conn.c -------------------------------------------------------- */
int ht_server_cid_add(struct ht_server *srv, struct ht_qconn *c, const uint8_t *cid,
		      size_t len);
void ht_server_cid_remove(struct ht_server *srv, const uint8_t *cid, size_t len);
/* The handshake completed: run the accept callback.  0 = keep. */
int ht_server_conn_established(struct ht_server *srv, struct ht_qconn *c);
/* Forget c (CIDs, lists, counters) before it is freed. */
void ht_server_conn_gone(struct ht_server *srv, struct ht_qconn *c);
/* c has a pending batch: call ht_qconn_tx_resume when the socket drains. */
void ht_server_wait_tx(struct ht_server *srv, struct ht_qconn *c);

#endif
