/* One linkem port: an AF_PACKET socket on one interface with a TPACKET_V2
 * receive ring. It receives every frame arriving on the interface (not its
 * own transmissions) and sends frames out of it. */
#ifndef LINKEM_PORT_H
#define LINKEM_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <linux/if_packet.h>
#include <linux/virtio_net.h>

#define LK_VNET_LEN ((uint32_t)sizeof(struct virtio_net_hdr))

struct lk_port {
	int fd;
	int ifindex;
	char name[16];
	uint32_t mtu;
	uint8_t *ring;
	size_t ring_len;
	uint32_t frame_sz;
	uint32_t frame_nr;
	uint32_t head;
	uint64_t drops;  /* ring overflow, from PACKET_STATISTICS */
};

/* Opens the port. On failure returns -1 with a one-line reason in err. */
int lk_port_open(struct lk_port *p, const char *ifname, char *err,
		 size_t errlen);
void lk_port_close(struct lk_port *p);

/* The frame at the ring head if the kernel has handed it over, else NULL. */
static inline struct tpacket2_hdr *lk_port_rx_peek(struct lk_port *p)
{
	struct tpacket2_hdr *h =
		(struct tpacket2_hdr *)(p->ring + (size_t)p->head * p->frame_sz);

	if (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
		return NULL;
	return h;
}

/* Gives the head frame back to the kernel. */
static inline void lk_port_rx_release(struct lk_port *p, struct tpacket2_hdr *h)
{
	__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	if (++p->head == p->frame_nr)
		p->head = 0;
}

/* Adds the kernel's ring-overflow count since the last call to p->drops. */
void lk_port_update_drops(struct lk_port *p);

#endif
