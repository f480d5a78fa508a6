/* hatun — a minimal DNS stub codec: A/AAAA queries and their answers.
 *
 * The SOCKS5 entry point resolves domain names THROUGH the tunnel, never on
 * the local access network: the client opens a tunnelled TCP connection to
 * the resolver the concentrator names and speaks DNS over TCP (RFC 1035
 * §4.2.2, RFC 7766): every message is preceded by a 2-byte length.
 *
 *   dns_query_build()     ID, RD=1, one question (QTYPE A or AAAA, QCLASS IN),
 *                         optionally the TCP length prefix
 *   dns_tcp_frame_len()   how many bytes of a TCP byte stream make a message
 *   dns_response_parse()  check that the message answers our query, follow
 *                         the CNAME chain, collect the addresses
 *   dns_outcome()         what the SOCKS layer replies
 *
 * Pure codec: no allocation, no I/O, no globals.  Addresses are 16 bytes,
 * IPv4 in IPv4-mapped form (::ffff:a.b.c.d).  Names given by the caller are
 * in presentation form ("www.example.com", an optional trailing dot) with an
 * explicit length (SOCKS names are not NUL-terminated); IP literals are the
 * caller's job.  docs/protocol/dns.md has the rules and the SOCKS mapping.
 */
#ifndef HATUN_PROTO_DNS_H
#define HATUN_PROTO_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER_SIZE 12u
#define DNS_NAME_MAX 255u /* wire form, root label included (RFC 1035 §2.3.4) */
#define DNS_LABEL_MAX 63u
#define DNS_NAME_TEXT_MAX 1024u /* dns_name_to_text() output, NUL included */
#define DNS_TCP_PREFIX 2u
/* A query: 12 + name + 4, plus the TCP prefix. */
#define DNS_QUERY_MAX (DNS_TCP_PREFIX + DNS_HEADER_SIZE + DNS_NAME_MAX + 4u)

#define DNS_TYPE_A 1u
#define DNS_TYPE_CNAME 5u
#define DNS_TYPE_AAAA 28u
#define DNS_CLASS_IN 1u

#define DNS_RCODE_NOERROR 0u
#define DNS_RCODE_FORMERR 1u
#define DNS_RCODE_SERVFAIL 2u
#define DNS_RCODE_NXDOMAIN 3u
#define DNS_RCODE_NOTIMP 4u
#define DNS_RCODE_REFUSED 5u

#define DNS_ADDR_MAX 8u  /* addresses kept from one answer */
#define DNS_CNAME_MAX 8u /* CNAME records followed from the question name */
#define DNS_PTR_MAX 128u /* compression pointers followed in one name */

/* What a response that answers our query says. */
enum dns_result {
	DNS_RESULT_ADDRESSES, /* NOERROR, naddr >= 1 */
	DNS_RESULT_NODATA,    /* NOERROR, no address of the asked type at the end of the chain */
	DNS_RESULT_NXDOMAIN,  /* RCODE 3: the name (or the end of its chain) does not exist */
	DNS_RESULT_FAILURE,   /* any other RCODE (SERVFAIL, REFUSED, ...): rcode says which */
	DNS_RESULT_TRUNCATED, /* TC=1: retry over TCP; over TCP, a failure */
};

struct dns_answer {
	enum dns_result result;
	uint8_t rcode;     /* as received */
	size_t naddr;      /* addresses in addr[], 0..DNS_ADDR_MAX */
	size_t naddr_seen; /* matching address records, those beyond DNS_ADDR_MAX included */
	uint8_t addr[DNS_ADDR_MAX][16];
	uint32_t ttl;        /* ADDRESSES: minimum TTL of the CNAMEs followed and the
	                      * address records matched; 0 otherwise */
	unsigned cname_hops; /* CNAMEs followed */
};

/* What the SOCKS layer does with a lookup.  The values are RFC 1928 REP
 * codes (SOCKS5_REP_SUCCEEDED / GENERAL_FAILURE / HOST_UNREACHABLE), so
 * they can be sent as they are. */
enum dns_outcome {
	DNS_OUTCOME_OK = 0,               /* connect to answer->addr[] */
	DNS_OUTCOME_GENERAL_FAILURE = 1,  /* the resolver failed or answered nonsense */
	DNS_OUTCOME_HOST_UNREACHABLE = 4, /* the name has no address of that type */
};

/* Presentation form → wire labels.  Labels are split at '.'; one trailing
 * dot is allowed.  Any byte is accepted inside a label except '.', NUL and
 * the control characters 0x01-0x1f and 0x7f; there are no escapes ('\' is an
 * ordinary byte) and no IDNA (UTF-8 bytes go as they are).  Case is kept.
 * Returns the wire length (2..255, root label included), or
 *   HT_ERR_BAD_LENGTH  empty name, empty label ("a..b", ".", ".a"), label > 63;
 *   HT_ERR_TOO_LONG    more than 255 wire bytes;
 *   HT_ERR_BAD_VALUE   NUL or a control character;
 *   HT_ERR_NOBUF       cap too small (DNS_NAME_MAX is always enough);
 *   HT_ERR_INVAL       out or name NULL. */
int dns_name_encode(uint8_t *out, size_t cap, const char *name, size_t name_len);

/* Read the possibly compressed name at msg[off]; msg is the whole message,
 * since compression pointers are offsets from its start.  Each pointer must
 * point strictly before the label run that contains it and at or after the
 * header, so every jump goes backwards and no loop is possible; at most
 * DNS_PTR_MAX pointers are followed.  The uncompressed wire form (root label
 * included, case as received) goes to out, its length to *out_len.
 * Returns the bytes the name occupies at off (through the first pointer or
 * the root label), or
 *   HT_ERR_TRUNCATED  the name runs past len;
 *   HT_ERR_BAD_VALUE  a forward, self or header pointer, too many pointers,
 *                     a label type 01 / 10 (RFC 6891 §5);
 *   HT_ERR_TOO_LONG   more than 255 bytes uncompressed;
 *   HT_ERR_INVAL      NULL pointers. */
int dns_name_unpack(const uint8_t *msg, size_t len, size_t off, uint8_t out[DNS_NAME_MAX],
                    size_t *out_len);

/* Wire form (uncompressed) → presentation form, NUL-terminated, without the
 * trailing dot ("." for the root).  Bytes dns_name_encode() refuses ('.',
 * NUL, controls) are written as \DDD, so that for every name it accepts
 * dns_name_to_text(dns_name_encode(s)) is s without its trailing dot; '\'
 * itself is not escaped (log lines only: "\046" is ambiguous).
 * Returns the characters written (NUL excluded), or HT_ERR_NOBUF (cap <
 * DNS_NAME_TEXT_MAX may be too small), HT_ERR_BAD_VALUE (not a well-formed
 * uncompressed name of exactly wire_len bytes), HT_ERR_INVAL. */
int dns_name_to_text(char *out, size_t cap, const uint8_t *wire, size_t wire_len);

/* Build a recursive query (ID id, RD=1, QDCOUNT=1) for name with qtype
 * DNS_TYPE_A or DNS_TYPE_AAAA, class IN, no EDNS.  With tcp_framing the
 * message is preceded by its 2-byte length.  DNS_QUERY_MAX is always enough.
 * Returns the bytes written, or dns_name_encode()'s errors for name,
 * HT_ERR_NOBUF, HT_ERR_INVAL (buf NULL, another qtype). */
int dns_query_build(uint8_t *buf, size_t cap, uint16_t id, const char *name, size_t name_len,
                    uint16_t qtype, bool tcp_framing);

/* For a DNS-over-TCP byte stream: buf holds what has arrived.  Returns the
 * bytes to consume for the first message (2 + its length; the message is
 * buf + 2), or HT_ERR_NEED_MORE until the prefix and the whole message are
 * there, HT_ERR_BAD_LENGTH (a length below the 12-byte header; close the
 * connection), HT_ERR_INVAL (buf NULL with len > 0). */
int dns_tcp_frame_len(const uint8_t *buf, size_t len);

/* Parse msg (one whole message, without the TCP prefix) as the response to
 * the query dns_query_build(id, name, qtype) sent.  Checks, in order:
 * header (QR=1, OPCODE 0, ID), TC, QDCOUNT, the question (name compared
 * case-insensitively, so 0x20 randomisation is fine; QTYPE; QCLASS IN),
 * RCODE; then the answer section: from the question name, follow CNAME
 * records (any order, at most DNS_CNAME_MAX) and collect the addresses of
 * type qtype owned by the last name.  Class other than IN and other types
 * are skipped, the authority and additional sections are not read.
 * Returns HT_OK with out->result set (see enum dns_result; a response with
 * RCODE other than NOERROR / NXDOMAIN may omit the question), or
 *   HT_ERR_TRUNCATED   the message ends inside the header, the question or
 *                      an answer record;
 *   HT_ERR_MISMATCH    not the answer to this query: ID, question name,
 *                      QTYPE or QCLASS differ;
 *   HT_ERR_BAD_VALUE   QR=0, OPCODE not 0, QDCOUNT not 1, a bad name
 *                      (see dns_name_unpack());
 *   HT_ERR_BAD_LENGTH  an A / AAAA record not of 4 / 16 bytes, CNAME data
 *                      that is not exactly one name;
 *   HT_ERR_TOO_LONG    a name over 255 bytes, a CNAME chain over DNS_CNAME_MAX;
 *   HT_ERR_INVAL       NULL pointers, qtype not A / AAAA, name that
 *                      dns_name_encode() refuses.
 * *out is zeroed first; on error only out->rcode may be set (when the
 * header was read), never an address. */
int dns_response_parse(const uint8_t *msg, size_t len, uint16_t id, const char *name,
                       size_t name_len, uint16_t qtype, struct dns_answer *out);

/* The SOCKS reply for one lookup: rc is dns_response_parse()'s return and
 * a its output (read only when rc == HT_OK).
 *   ADDRESSES                       → DNS_OUTCOME_OK
 *   NXDOMAIN, NODATA                → DNS_OUTCOME_HOST_UNREACHABLE
 *   FAILURE, TRUNCATED, any rc < 0  → DNS_OUTCOME_GENERAL_FAILURE
 * (a NULL a with rc == HT_OK is a general failure too).  With both A and
 * AAAA asked: OK if either is OK, else HOST_UNREACHABLE if either is (a
 * definite "no such name" beats a failure), else GENERAL_FAILURE; see
 * dns_outcome_merge(). */
enum dns_outcome dns_outcome(int rc, const struct dns_answer *a);

/* Combine the outcomes of the A and AAAA lookups of one name (order does
 * not matter): OK > HOST_UNREACHABLE > GENERAL_FAILURE. */
enum dns_outcome dns_outcome_merge(enum dns_outcome x, enum dns_outcome y);

#endif
