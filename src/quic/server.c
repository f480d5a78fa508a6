#include "server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "core/log.h"
#include "proto/err.h"
#include "quic/conn_int.h"

#define RX_SLOTS 16
#define RX_ROUNDS 16    /* recvmmsg calls per readable event (fairness) */
#define RESETS_PER_SEC 100
#define LOGS_PER_SEC 5

struct ht_server {
	struct ht_loop *loop;
	struct ht_udp_sock sock;
	struct ht_io io;
	struct ht_udp_rx rx;
	const struct ht_tls_config *tls;
	struct ht_server_settings set;
	const struct ht_server_ops *ops;
	void *arg;

	/* CID -> connection, chained, keyed hash (CIDs of Initials are chosen
	 * by clients, so the hash must not be predictable). */
	struct ht_qcid **buckets;
	size_t nbuckets, ncids;
	uint64_t hkey[2];

	struct ht_qconn *conns;   /* every live connection */
	struct ht_qconn *waiting; /* connections with a batch the socket refused */
	uint8_t sr_secret[32];

	ht_time rate_sec; /* start of the current second for rate limits */
	unsigned resets_this_sec, logs_this_sec;
	struct ht_server_stats st;
};

void ht_server_settings_default(struct ht_server_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->max_conns = 1024;
	s->max_half_open = 100;
	s->stateless_reset = true;
	ht_qconn_settings_default(&s->conn);
}

/* ---- the CID table --------------------------------------------------------------- */

static size_t cid_hash(const struct ht_server *srv, const uint8_t *cid, size_t len)
{
	uint64_t h = srv->hkey[0] ^ len;

	for (size_t i = 0; i < len; i++) {
		h ^= cid[i];
		h *= 0x100000001b3ull;
		h ^= h >> 29;
	}
	h ^= srv->hkey[1];
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 32;
	return (size_t)h & (srv->nbuckets - 1);
}

static struct ht_qcid **cid_slot(struct ht_server *srv, const uint8_t *cid, size_t len)
{
	struct ht_qcid **pp = &srv->buckets[cid_hash(srv, cid, len)];

	for (; *pp != NULL; pp = &(*pp)->hnext) {
		if ((*pp)->len == len && memcmp((*pp)->data, cid, len) == 0)
			break;
	}
	return pp;
}

static int cid_grow(struct ht_server *srv)
{
	size_t old = srv->nbuckets, n = old * 2;
	struct ht_qcid **ob = srv->buckets, **nb = calloc(n, sizeof(*nb));

	if (nb == NULL)
		return -1;
	srv->buckets = nb;
	srv->nbuckets = n;
	for (size_t i = 0; i < old; i++) {
		struct ht_qcid *e = ob[i], *next;

		for (; e != NULL; e = next) {
			size_t k = cid_hash(srv, e->data, e->len);

			next = e->hnext;
			e->hnext = nb[k];
			nb[k] = e;
		}
	}
	free(ob);
	return 0;
}

int ht_server_cid_add(struct ht_server *srv, struct ht_qconn *c, const uint8_t *cid, size_t len)
{
	struct ht_qcid **pp, *e;

	if (len == 0 || len > NGTCP2_MAX_CIDLEN)
		return -1;
	if (srv->ncids >= srv->nbuckets)
		(void)cid_grow(srv); /* a longer chain is fine if this fails */
	pp = cid_slot(srv, cid, len);
	if (*pp != NULL)
		return -1; /* in use (a collision of random CIDs, or a replayed ODCID) */
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -1;
	e->c = c;
	e->len = (uint8_t)len;
	memcpy(e->data, cid, len);
	*pp = e;
	e->conn_next = c->cids;
	c->cids = e;
	srv->ncids++;
	return 0;
}

static void cid_unlink(struct ht_server *srv, struct ht_qcid *e)
{
	struct ht_qcid **pp = cid_slot(srv, e->data, e->len), **cp;

	if (*pp == e) {
		*pp = e->hnext;
		srv->ncids--;
	}
	for (cp = &e->c->cids; *cp != NULL; cp = &(*cp)->conn_next) {
		if (*cp == e) {
			*cp = e->conn_next;
			break;
		}
	}
	free(e);
}

void ht_server_cid_remove(struct ht_server *srv, const uint8_t *cid, size_t len)
{
	struct ht_qcid **pp = cid_slot(srv, cid, len);

	if (*pp != NULL)
		cid_unlink(srv, *pp);
}

static struct ht_qconn *cid_find(struct ht_server *srv, const uint8_t *cid, size_t len)
{
	struct ht_qcid *e = *cid_slot(srv, cid, len);

	return e != NULL ? e->c : NULL;
}

/* ---- connection bookkeeping -------------------------------------------------------- */

int ht_server_conn_established(struct ht_server *srv, struct ht_qconn *c)
{
	if (c->half_open) {
		c->half_open = false;
		srv->st.half_open--;
	}
	srv->st.accepted++;
	if (srv->ops != NULL && srv->ops->accept != NULL)
		return srv->ops->accept(srv, c, srv->arg);
	return 0;
}

void ht_server_conn_gone(struct ht_server *srv, struct ht_qconn *c)
{
	while (c->cids != NULL)
		cid_unlink(srv, c->cids);
	if (c->sprev != NULL || srv->conns == c) {
		if (c->sprev != NULL)
			c->sprev->snext = c->snext;
		else
			srv->conns = c->snext;
		if (c->snext != NULL)
			c->snext->sprev = c->sprev;
		c->sprev = c->snext = NULL;
		srv->st.conns--;
		if (c->half_open)
			srv->st.half_open--;
	}
	c->half_open = false;
	if (c->waiting_tx) {
		struct ht_qconn **pp = &srv->waiting;

		for (; *pp != NULL; pp = &(*pp)->wnext) {
			if (*pp == c) {
				*pp = c->wnext;
				break;
			}
		}
		c->waiting_tx = false;
	}
	c->srv = NULL;
}

void ht_server_wait_tx(struct ht_server *srv, struct ht_qconn *c)
{
	if (!c->waiting_tx) {
		c->waiting_tx = true;
		c->wnext = srv->waiting;
		srv->waiting = c;
	}
	(void)ht_io_modify(srv->loop, &srv->io, EPOLLIN | EPOLLOUT);
}

/* ---- packets without a connection ------------------------------------------------------ */

static bool rate_ok(struct ht_server *srv, unsigned *counter, unsigned limit)
{
	ht_time now = ht_loop_now(srv->loop);

	if (now - srv->rate_sec >= HT_SECONDS) {
		srv->rate_sec = now;
		srv->resets_this_sec = srv->logs_this_sec = 0;
	}
	if (*counter >= limit)
		return false;
	(*counter)++;
	return true;
}

static void send_vn(struct ht_server *srv, const struct ht_udp_msg *m,
		    const ngtcp2_version_cid *vc, size_t len)
{
	uint32_t sv[2] = {NGTCP2_PROTO_VER_V1, 0x1a2a3a4a}; /* v1 + a greased version */
	uint8_t buf[256], r = 0;
	ngtcp2_ssize n;

	/* RFC 9000 6.1: only for datagrams that could be an Initial. */
	if (len < 1200 || vc->dcidlen > 255 || vc->scidlen > 255)
		return;
	(void)gnutls_rnd(GNUTLS_RND_NONCE, &r, 1);
	n = ngtcp2_pkt_write_version_negotiation(buf, sizeof(buf), r, vc->scid, vc->scidlen,
						 vc->dcid, vc->dcidlen, sv, 2);
	if (n > 0 && ht_udp_send(&srv->sock, &m->remote, &m->local, buf, (size_t)n, (size_t)n) > 0)
		srv->st.vn_sent++;
}

static void send_reset(struct ht_server *srv, const struct ht_udp_msg *m,
		       const ngtcp2_version_cid *vc, size_t len)
{
	uint8_t buf[64], token[NGTCP2_STATELESS_RESET_TOKENLEN], rnd[64];
	ngtcp2_cid cid;
	size_t size;
	ngtcp2_ssize n;

	/* Smaller than what triggered it (no loops), >= 21 bytes of randomness
	 * + token so it looks like a short-header packet. */
	if (!srv->set.stateless_reset || len < 43 || vc->dcidlen != HT_QCONN_SCID_LEN ||
	    !rate_ok(srv, &srv->resets_this_sec, RESETS_PER_SEC))
		return;
	size = len - 1 < sizeof(buf) ? len - 1 : sizeof(buf);
	ngtcp2_cid_init(&cid, vc->dcid, vc->dcidlen);
	if (ngtcp2_crypto_generate_stateless_reset_token(token, srv->sr_secret,
							 sizeof(srv->sr_secret), &cid) != 0 ||
	    gnutls_rnd(GNUTLS_RND_NONCE, rnd, size - NGTCP2_STATELESS_RESET_TOKENLEN) != 0)
		return;
	n = ngtcp2_pkt_write_stateless_reset(buf, size, token, rnd,
					     size - NGTCP2_STATELESS_RESET_TOKENLEN);
	if (n > 0 && ht_udp_send(&srv->sock, &m->remote, &m->local, buf, (size_t)n, (size_t)n) > 0)
		srv->st.resets_sent++;
}

static void accept_new(struct ht_server *srv, const struct ht_udp_msg *m, const uint8_t *data,
		       size_t len)
{
	ngtcp2_pkt_hd hd;
	struct ht_qconn *c;
	int rv;

	if (ngtcp2_accept(&hd, data, len) != 0) {
		srv->st.initials_dropped++;
		return;
	}
	if (srv->st.conns >= srv->set.max_conns || srv->st.half_open >= srv->set.max_half_open) {
		srv->st.initials_dropped++;
		if (rate_ok(srv, &srv->logs_this_sec, LOGS_PER_SEC))
			ht_log(HT_LOG_WARN, "quic", "new connection dropped: %s cap reached",
			       srv->st.conns >= srv->set.max_conns ? "connection"
								     : "half-open");
		return;
	}
	rv = ht_qconn_server_new(&c, srv, srv->loop, &srv->sock, &hd, &m->local, &m->remote,
				 srv->tls, &srv->set.conn, srv->sr_secret, sizeof(srv->sr_secret));
	if (rv != 0) {
		srv->st.initials_dropped++;
		ht_log(HT_LOG_WARN, "quic", "cannot create connection: %s", ht_qerr_str(rv));
		return;
	}
	c->snext = srv->conns;
	if (srv->conns != NULL)
		srv->conns->sprev = c;
	srv->conns = c;
	srv->st.conns++;
	srv->st.half_open++;
	(void)ht_qconn_input(c, &m->local, &m->remote, data, len);
}

static void handle_packet(struct ht_server *srv, const struct ht_udp_msg *m, const uint8_t *data,
			  size_t len)
{
	ngtcp2_version_cid vc;
	struct ht_qconn *c;
	int rv;

	rv = ngtcp2_pkt_decode_version_cid(&vc, data, len, HT_QCONN_SCID_LEN);
	if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
		send_vn(srv, m, &vc, len);
		return;
	}
	if (rv != 0 || vc.dcidlen > NGTCP2_MAX_CIDLEN)
		return;
	c = cid_find(srv, vc.dcid, vc.dcidlen);
	if (c != NULL) {
		(void)ht_qconn_input(c, &m->local, &m->remote, data, len);
		return;
	}
	if (vc.version == 0)
		send_reset(srv, m, &vc, len);
	else
		accept_new(srv, m, data, len);
}

static void on_io(struct ht_loop *loop, struct ht_io *io, uint32_t events)
{
	struct ht_server *srv = io->arg;

	(void)loop;
	if (events & EPOLLOUT) {
		struct ht_qconn *list = srv->waiting;

		srv->waiting = NULL;
		while (list != NULL) {
			struct ht_qconn *c = list;

			list = c->wnext;
			c->wnext = NULL;
			c->waiting_tx = false;
			ht_qconn_tx_resume(c);
		}
		if (srv->waiting == NULL)
			(void)ht_io_modify(srv->loop, &srv->io, EPOLLIN);
	}
	if (!(events & (EPOLLIN | EPOLLERR)))
		return;
	for (int round = 0; round < RX_ROUNDS; round++) {
		int n = ht_udp_recv(&srv->sock, &srv->rx);

		if (n < 0)
			ht_log(HT_LOG_DEBUG, "quic", "server recv: %s", strerror(-n));
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct ht_udp_msg *m = &srv->rx.msg[i];

			for (size_t off = 0; off < m->len; off += m->seg) {
				size_t l = m->len - off < m->seg ? m->len - off : m->seg;

				handle_packet(srv, m, m->data + off, l);
			}
		}
		if ((unsigned)n < srv->rx.nslots)
			break;
	}
}

/* ---- life cycle ------------------------------------------------------------------------- */

int ht_server_new(struct ht_server **out, struct ht_loop *loop, const struct sockaddr *addr,
		  socklen_t addrlen, const struct ht_tls_config *tls,
		  const struct ht_server_settings *set, const struct ht_server_ops *ops, void *arg)
{
	struct ht_udp_opts uo = {0};
	struct ht_server *srv;
	int rv;

	*out = NULL;
	if (tls == NULL || ht_tls_config_role(tls) != HT_TLS_SERVER || addr == NULL)
		return HT_ERR_INVAL;
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return HT_QERR_NOMEM;
	srv->sock.fd = -1;
	srv->loop = loop;
	srv->tls = tls;
	srv->ops = ops;
	srv->arg = arg;
	if (set != NULL)
		srv->set = *set;
	else
		ht_server_settings_default(&srv->set);
	if (srv->set.max_conns == 0)
		srv->set.max_conns = 1024;
	if (srv->set.max_half_open == 0)
		srv->set.max_half_open = 100;
	srv->nbuckets = 64;
	srv->buckets = calloc(srv->nbuckets, sizeof(*srv->buckets));
	if (srv->buckets == NULL || ht_udp_rx_init(&srv->rx, RX_SLOTS) != 0) {
		rv = HT_QERR_NOMEM;
		goto fail;
	}
	if (gnutls_rnd(GNUTLS_RND_RANDOM, srv->hkey, sizeof(srv->hkey)) != 0 ||
	    gnutls_rnd(GNUTLS_RND_RANDOM, srv->sr_secret, sizeof(srv->sr_secret)) != 0) {
		rv = HT_ERR_CRYPTO;
		goto fail;
	}
	uo.bind = addr;
	uo.bind_len = addrlen;
	uo.bufsize = srv->set.bufsize;
	uo.no_gso = srv->set.conn.no_gso;
	uo.no_gro = srv->set.conn.no_gro;
	if ((rv = ht_udp_open(&srv->sock, &uo)) != 0)
		goto fail;
	if (!srv->sock.pktinfo)
		ht_log(HT_LOG_WARN, "quic", "no IP_PKTINFO: replies use the kernel's source choice");
	if ((rv = ht_io_start(loop, &srv->io, srv->sock.fd, EPOLLIN, on_io, srv)) != 0)
		goto fail;
	*out = srv;
	return 0;
fail:
	ht_server_free(srv);
	return rv;
}

void ht_server_free(struct ht_server *srv)
{
	if (srv == NULL)
		return;
	while (srv->conns != NULL)
		ht_qconn_destroy(srv->conns); /* unlinks itself */
	ht_io_stop(srv->loop, &srv->io);
	ht_udp_close(&srv->sock);
	ht_udp_rx_free(&srv->rx);
	free(srv->buckets);
	free(srv);
}

int ht_server_local_addr(const struct ht_server *srv, struct sockaddr_storage *ss, socklen_t *len)
{
	if (srv->sock.local.len > *len)
		return HT_ERR_NOBUF;
	memcpy(ss, &srv->sock.local.ss, srv->sock.local.len);
	*len = srv->sock.local.len;
	return 0;
}

void ht_server_get_stats(const struct ht_server *srv, struct ht_server_stats *st)
{
	*st = srv->st;
}
