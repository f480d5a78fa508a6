/* hatun — client connection migration to another socket (issue 5: a path
 * failed, its QUIC connection moves to a surviving access network and its
 * streams go on).  See ht_qconn_migrate in conn.h. */
#include <errno.h>
#include <sys/epoll.h>
#include <string.h>

#include "core/log.h"
#include "proto/err.h"
#include "quic/conn_int.h"

int ht_qconn_migrate(struct ht_qconn *c, const struct sockaddr *local, socklen_t local_len,
		     const char *ifname)
{
	struct ht_udp_opts uo = {0};
	struct ht_udp_sock ns;
	ngtcp2_path path;
	int rv;

	if (c == NULL || c->is_server || c->conn == NULL)
		return HT_ERR_INVAL;
	if (c->state != QC_OPEN || !c->hs_done)
		return HT_QERR_STATE;
	uo.bind = local;
	uo.bind_len = local_len;
	uo.peer = (const struct sockaddr *)&c->remote.ss;
	uo.peer_len = c->remote.len;
	uo.ifname = ifname;
	uo.no_gso = c->set.no_gso;
	uo.no_gro = c->set.no_gro;
	if ((rv = ht_udp_open(&ns, &uo)) != 0)
		return rv;
	path.local.addr = (ngtcp2_sockaddr *)&ns.local.ss;
	path.local.addrlen = ns.local.len;
	path.remote.addr = (ngtcp2_sockaddr *)&c->remote.ss;
	path.remote.addrlen = c->remote.len;
	path.user_data = NULL;
	/* Immediate: the old path is the one that failed, there is nothing to
	 * wait for on it.  ngtcp2 validates the new one (PATH_CHALLENGE) and
	 * keeps the congestion state apart. */
	rv = ngtcp2_conn_initiate_immediate_migration(c->conn, &path, ht_now());
	if (rv != 0) {
		ht_log(HT_LOG_WARN, "quic", "migration refused: %s", ngtcp2_strerror(rv));
		ht_udp_close(&ns);
		return rv == NGTCP2_ERR_CONN_ID_BLOCKED ? HT_QERR_STATE : HT_QERR_INTERNAL;
	}
	ht_io_stop(c->loop, &c->io);
	ht_udp_close(&c->own_sock);
	c->own_sock = ns;
	c->sock = &c->own_sock;
	c->local = ns.local;
	/* A batch the old socket refused was for the old path: drop it, the
	 * packets in it are retransmitted on the new one like any loss. */
	c->pend_len = 0;
	c->pend_off = 0;
	c->tx_blocked = false;
	rv = ht_io_start(c->loop, &c->io, c->own_sock.fd, EPOLLIN, ht_qc_on_client_io, c);
	if (rv != 0) {
		ht_qc_conn_fail(c, NGTCP2_ERR_INTERNAL);
		return rv;
	}
	ht_qconn_queue_flush(c);
	return 0;
}
