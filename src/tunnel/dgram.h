/* hatun — the datagram-mode data path shared by client and concentrator:
 * the TUN/TAP device in the event loop, sending one packet as a DATAGRAM
 * frame, and the counters `hatun status` shows.
 *
 * A packet is read from the device into a buffer with QT_DGRAM_HDR_SIZE
 * bytes of headroom, the header is written in front of it in place
 * (qt_dgram_encap) and ht_qconn_send_datagram copies it once into the
 * connection's datagram queue.  Received datagrams are parsed in the
 * QUIC receive buffer and written to the device from there.
 */
#ifndef HATUN_TUNNEL_DGRAM_H
#define HATUN_TUNNEL_DGRAM_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "proto/qt_dgram.h"
#include "proto/vnet.h"
#include "quic/conn.h"

/* Why a packet was dropped (status: "drops": {name: count}). */
enum ht_dg_drop {
	HT_DG_MALFORMED = 0, /* qt_dgram_parse refused it */
	HT_DG_PROTO,         /* Protocol Type not served here (or TAP vs TUN) */
	HT_DG_SPOOFED,       /* source is not an address assigned to the sender */
	HT_DG_NO_CLIENT,     /* concentrator: destination is no connected client */
	HT_DG_C2C,           /* client to client, not allowed */
	HT_DG_TOO_BIG,       /* over the tunnel MTU (ICMP sent when due) */
	HT_DG_PATH_MTU,      /* fits the tunnel MTU, not yet the path (PMTUD) */
	HT_DG_QUEUE,         /* the connection's datagram queue was full */
	HT_DG_SOJOURN,       /* CoDel: waited too long in that queue */
	HT_DG_NO_SERVICE,    /* no addresses assigned (qt-00 / qt-01, no --tun) */
	HT_DG_DEVICE,        /* the TUN/TAP write failed (full, down) */
	HT_DG_NDROP
};
const char *ht_dg_drop_name(int reason);

struct ht_dg_counters {
	uint64_t tx_pkts, tx_bytes; /* into the tunnel */
	uint64_t rx_pkts, rx_bytes; /* out of the tunnel, to the device */
	uint64_t icmp_sent, mss_clamped;
	uint64_t drop[HT_DG_NDROP];
};
void ht_dg_counters_add(struct ht_dg_counters *sum, const struct ht_dg_counters *c);

struct ht_tundev;
/* One packet read from the device: frame + headroom is the packet (len
 * bytes); the headroom may be written (the datagram header goes there). */
typedef void (*ht_tundev_fn)(struct ht_tundev *t, uint8_t *frame, size_t headroom, size_t len,
			     void *arg);

struct ht_tundev {
	struct ht_loop *loop;
	struct ht_io io;
	int fd, ifindex;
	bool tap;
	bool vnet; /* TUN offloads: virtio-net header on every read and write */
	char name[IFNAMSIZ];
	unsigned mtu;
	ht_tundev_fn fn;
	void *arg;
	uint8_t *buf; /* one packet (or super-packet) + headroom */
	/* Offloads: a super-packet read is split into seg_buf; writes are
	 * coalesced (GRO) into gro_buf and written once per loop batch. */
	uint8_t *seg_buf, *gro_buf;
	struct ht_gro gro;
	struct ht_defer flush;
	uint64_t write_drops; /* writes the device refused (deferred ones too) */
	uint64_t split_errors;
};

#define HT_TUN_HEADROOM 16u /* ≥ QT_DGRAM_HDR_SIZE, keeps the IP header aligned */
#define HT_TUN_BUF (65536u + 64u) /* headroom + a 64 KiB super-packet + vnet header */

/* Open (create) the device, bring it up with mtu and watch it.  A TUN
 * uses the kernel's offloads (tun.h) unless HATUN_NO_TUN_OFFLOAD is set in
 * the environment.  Returns 0 or -1 with a reason in err. */
int ht_tundev_open(struct ht_tundev *t, struct ht_loop *loop, const char *name, bool tap,
		   unsigned mtu, ht_tundev_fn fn, void *arg, char *err, size_t errlen);
void ht_tundev_close(struct ht_tundev *t);
/* Write one packet; 0 or -errno (EAGAIN: the device queue is full).  With
 * offloads the packet may be held for GRO until the end of the loop batch
 * (0 returned; a failed deferred write counts in write_drops). */
int ht_tundev_write(struct ht_tundev *t, const uint8_t *pkt, size_t len);

/* Send the packet at frame + headroom (len bytes) on qc: header (proto,
 * *tag then incremented) in the headroom for TAGGED, as it is for RAW.
 * Counts it sent, or dropped (HT_DG_PATH_MTU, HT_DG_QUEUE, HT_DG_NO_SERVICE
 * for a connection that cannot take datagrams).  Returns 0 when queued. */
int ht_dg_send(struct ht_qconn *qc, enum qt_dgram_profile prof, uint16_t *tag, uint8_t *frame,
	       size_t headroom, size_t len, uint16_t proto, struct ht_dg_counters *ctr);

/* What a received tagged datagram tells the session's reorder buffer
 * (reorder.h): a pure TCP ACK (pkt, len; an Ethernet frame if ether) is
 * HT_REORDER_UNORDERED and HT_REORDER_SMALL — the small packet a bulk
 * path carries most, and one that the sender's queue serves before the
 * bulk whenever its flow has nothing queued.  Other small packets (a
 * ping, a DNS query) still count for the watermark: they seldom have
 * bulk queued ahead of them, and without their evidence a path whose
 * bulk was paced after a loss left a quarter of its gaps to the
 * deadline (test_multipath_hol). */
unsigned ht_dg_reorder_flags(const uint8_t *pkt, size_t len, bool ether);

/* The tunnel MTU of a connection: the largest IP packet one DATAGRAM frame
 * carries at the size the connection aims at (datagram-config.md §1,
 * Tunnel MTU); 0 when it has no DATAGRAM support. */
unsigned ht_dg_tunnel_mtu(struct ht_qconn *qc, enum qt_dgram_profile prof);

#endif
