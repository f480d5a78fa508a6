/* hatun — host names resolved through the tunnel (resolver.h). */
#include "tunnel/resolver.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "proto/dns.h"
#include "proto/err.h"
#include "tunnel/dnscache.h"

struct ht_lookup {
	struct ht_resolver *rs;
	struct ht_lookup *prev, *next;
	int fd;
	struct ht_io io;
	struct ht_timer timer;
	ht_lookup_cb cb;
	void *arg;
	uint16_t id; /* A: id, AAAA: id + 1 */
	bool have_a, have_aaaa;
	int rc_a, rc_aaaa;
	struct dns_answer a, aaaa;
	size_t rxlen;
	uint8_t rx[HT_RESOLVER_RXMAX];
	size_t name_len;
	char name[DNS_NAME_MAX + 1];
};

struct ht_resolver {
	struct ht_loop *loop;
	ht_resolver_open_fn open;
	void *owner;
	struct ht_lookup *lookups;
	size_t inflight;
	uint64_t sent;
	struct dnscache cache;
};

int ht_resolver_new(struct ht_resolver **out, struct ht_loop *loop, ht_resolver_open_fn open,
		    void *owner)
{
	struct ht_resolver *rs = calloc(1, sizeof(*rs));

	*out = NULL;
	if (rs == NULL)
		return -1;
	rs->loop = loop;
	rs->open = open;
	rs->owner = owner;
	dnscache_init(&rs->cache);
	*out = rs;
	return 0;
}

static void lookup_free(struct ht_lookup *lk)
{
	struct ht_resolver *rs = lk->rs;

	ht_io_stop(rs->loop, &lk->io);
	ht_timer_cancel(rs->loop, &lk->timer);
	/* Closing our end ends the tunnelled connection with a FIN. */
	if (lk->fd >= 0)
		close(lk->fd);
	if (lk->prev != NULL)
		lk->prev->next = lk->next;
	else
		rs->lookups = lk->next;
	if (lk->next != NULL)
		lk->next->prev = lk->prev;
	rs->inflight--;
	free(lk);
}

void ht_lookup_cancel(struct ht_lookup *lk)
{
	if (lk != NULL)
		lookup_free(lk);
}

void ht_resolver_free(struct ht_resolver *rs)
{
	if (rs == NULL)
		return;
	while (rs->lookups != NULL)
		lookup_free(rs->lookups);
	free(rs);
}

void ht_resolver_counts(const struct ht_resolver *rs, uint64_t *hits, uint64_t *sent,
			size_t *inflight)
{
	*hits = rs->cache.hits;
	*sent = rs->sent;
	*inflight = rs->inflight;
}

static const char *result_str(int rc, const struct dns_answer *a)
{
	if (rc != HT_OK)
		return ht_strerror(rc);
	switch (a->result) {
	case DNS_RESULT_ADDRESSES:
		return "addresses";
	case DNS_RESULT_NODATA:
		return "no address";
	case DNS_RESULT_NXDOMAIN:
		return "NXDOMAIN";
	case DNS_RESULT_TRUNCATED:
		return "truncated";
	case DNS_RESULT_FAILURE:
		break;
	}
	return a->rcode == DNS_RCODE_SERVFAIL ? "SERVFAIL"
	       : a->rcode == DNS_RCODE_REFUSED ? "REFUSED"
					       : "resolver failure";
}

/* Decide and report; frees lk.  With final false, only decide when the
 * answers in hand settle it (an A address settles it at once). */
static void finish(struct ht_lookup *lk, bool final, const char *io_why)
{
	struct ht_resolver *rs = lk->rs;
	enum dns_outcome oa, o6;
	ht_lookup_cb cb = lk->cb;
	void *arg = lk->arg;
	uint8_t addr[16] = {0};
	uint8_t rep;
	uint32_t ttl = 0;
	char why[DNS_NAME_MAX + 160]; /* the name plus two result strings */

	oa = lk->have_a ? dns_outcome(lk->rc_a, &lk->a) : DNS_OUTCOME_GENERAL_FAILURE;
	o6 = lk->have_aaaa ? dns_outcome(lk->rc_aaaa, &lk->aaaa) : DNS_OUTCOME_GENERAL_FAILURE;
	if (oa == DNS_OUTCOME_OK) {
		memcpy(addr, lk->a.addr[0], 16);
		ttl = lk->a.ttl;
	} else if (!final && !(lk->have_a && lk->have_aaaa)) {
		return;
	} else if (o6 == DNS_OUTCOME_OK) {
		memcpy(addr, lk->aaaa.addr[0], 16);
		ttl = lk->aaaa.ttl;
	}
	rep = (uint8_t)dns_outcome_merge(oa, o6);
	if (rep == 0)
		snprintf(why, sizeof(why), "resolved");
	else if (io_why != NULL && !(lk->have_a && lk->have_aaaa))
		snprintf(why, sizeof(why), "cannot resolve %s: %s", lk->name, io_why);
	else
		snprintf(why, sizeof(why), "cannot resolve %s: A %s, AAAA %s", lk->name,
			 lk->have_a ? result_str(lk->rc_a, &lk->a) : "no answer",
			 lk->have_aaaa ? result_str(lk->rc_aaaa, &lk->aaaa) : "no answer");
	if (rep == 0 || (lk->have_a && lk->have_aaaa))
		dnscache_put(&rs->cache, lk->name, lk->name_len, rep, addr, ttl,
			     ht_loop_now(rs->loop));
	lk->cb = NULL;
	lookup_free(lk);
	cb(arg, rep, addr, why);
}

static void on_timeout(struct ht_loop *loop, struct ht_timer *t)
{
	(void)loop;
	finish(t->arg, true, "timeout");
}

static void on_io(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	struct ht_lookup *lk = io->arg;
	ssize_t n;
	int fl;

	(void)loop;
	(void)ev;
	n = recv(lk->fd, lk->rx + lk->rxlen, sizeof(lk->rx) - lk->rxlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		finish(lk, true, n == 0 ? "connection to the resolver closed" : strerror(errno));
		return;
	}
	lk->rxlen += (size_t)n;
	while ((fl = dns_tcp_frame_len(lk->rx, lk->rxlen)) > 0) {
		const uint8_t *m = lk->rx + DNS_TCP_PREFIX;
		size_t ml = (size_t)fl - DNS_TCP_PREFIX;
		uint16_t id = (uint16_t)(m[0] << 8 | m[1]);

		if (id == lk->id && !lk->have_a) {
			lk->rc_a = dns_response_parse(m, ml, lk->id, lk->name, lk->name_len,
						      DNS_TYPE_A, &lk->a);
			lk->have_a = true;
		} else if (id == (uint16_t)(lk->id + 1) && !lk->have_aaaa) {
			lk->rc_aaaa = dns_response_parse(m, ml, (uint16_t)(lk->id + 1), lk->name,
							 lk->name_len, DNS_TYPE_AAAA, &lk->aaaa);
			lk->have_aaaa = true;
		}
		memmove(lk->rx, lk->rx + fl, lk->rxlen - (size_t)fl);
		lk->rxlen -= (size_t)fl;
	}
	if (fl != HT_ERR_NEED_MORE) {
		finish(lk, true, "bad DNS framing");
		return;
	}
	if (lk->rxlen == sizeof(lk->rx)) {
		finish(lk, true, "DNS response too long");
		return;
	}
	finish(lk, false, NULL);
}

int ht_resolver_lookup(struct ht_resolver *rs, const char *name, size_t len, ht_lookup_cb cb,
		       void *arg, struct ht_lookup **out, uint8_t *rep, uint8_t addr[16],
		       const char **why)
{
	uint8_t q[2 * DNS_QUERY_MAX];
	struct ht_lookup *lk;
	int fds[2], n1, n2;

	*out = NULL;
	*rep = DNS_OUTCOME_GENERAL_FAILURE;
	if (dnscache_get(&rs->cache, name, len, ht_loop_now(rs->loop), rep, addr))
		return 1;
	if (len == 0 || len > DNS_NAME_MAX) {
		*why = "bad host name";
		return -1;
	}
	if (rs->inflight >= HT_RESOLVER_MAX_INFLIGHT) {
		*why = "too many lookups in flight";
		return -1;
	}
	lk = calloc(1, sizeof(*lk));
	if (lk == NULL) {
		*why = "out of memory";
		return -1;
	}
	memcpy(lk->name, name, len);
	lk->name_len = len;
	if (getrandom(&lk->id, sizeof(lk->id), 0) != (ssize_t)sizeof(lk->id))
		lk->id = (uint16_t)(ht_loop_now(rs->loop) >> 10);
	n1 = dns_query_build(q, sizeof(q), lk->id, name, len, DNS_TYPE_A, true);
	n2 = n1 > 0 ? dns_query_build(q + n1, sizeof(q) - (size_t)n1, (uint16_t)(lk->id + 1), name,
				      len, DNS_TYPE_AAAA, true)
		    : n1;
	if (n2 <= 0) {
		free(lk);
		*why = "bad host name";
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
		free(lk);
		*why = "socketpair failed";
		return -1;
	}
	/* A fresh socketpair holds far more than two queries. */
	if (send(fds[0], q, (size_t)(n1 + n2), MSG_NOSIGNAL) != n1 + n2) {
		close(fds[0]);
		close(fds[1]);
		free(lk);
		*why = "socketpair send failed";
		return -1;
	}
	lk->rs = rs;
	lk->fd = fds[0];
	lk->cb = cb;
	lk->arg = arg;
	ht_timer_init(&lk->timer, on_timeout, lk);
	lk->next = rs->lookups;
	if (rs->lookups != NULL)
		rs->lookups->prev = lk;
	rs->lookups = lk;
	rs->inflight++;
	rs->sent++;
	if (ht_io_start(rs->loop, &lk->io, lk->fd, EPOLLIN, on_io, lk) != 0 ||
	    ht_timer_set(rs->loop, &lk->timer, ht_loop_now(rs->loop) + HT_RESOLVER_TIMEOUT) != 0) {
		close(fds[1]);
		lookup_free(lk);
		*why = "event loop failure";
		return -1;
	}
	if (rs->open(rs->owner, fds[1]) != 0) {
		lookup_free(lk);
		*why = "cannot open a tunnelled connection to the resolver";
		return -1;
	}
	*out = lk;
	return 0;
}
