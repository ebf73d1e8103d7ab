/* SPDX-License-Identifier: MIT */
/*
 * mplb decode: print every MPTCP option of a pcap/pcapng capture.
 *
 * The dissector is deliberately small and strict: link layer -> IPv4/IPv6
 * (extension headers and fragments) -> TCP header -> tcp_options_walk ->
 * mptcp_opt_parse for each kind-30 option. Every length is checked against
 * the captured bytes before it is used; a packet that is cut or invalid is
 * reported on its own line and decoding goes on with the next packet.
 */
#include "decode/decode.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "decode/decode_int.h"
#include "mplb/mptcp_wire.h"
#include "mptcp_opt.h"
#include "util.h"

#define ETHERTYPE_IPV4_ 0x0800
#define ETHERTYPE_IPV6_ 0x86dd
#define ETHERTYPE_VLAN_ 0x8100
#define ETHERTYPE_QINQ_ 0x88a8
#define ETHERTYPE_QINQ_OLD_ 0x9100
#define MAX_VLAN_TAGS 4      /* QinQ is 2; more is a malformed or hostile frame */
#define MAX_IPV6_EXT_HDRS 8  /* bound the walk; real traffic has 0-3 */
#define IPPROTO_TCP_ 6

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

/* ---- per-connection MPTCP version (v0 needs a different ADD_ADDR/MP_PRIO parse) ---- */

struct conn_key {
	uint8_t family;
	uint8_t addr_lo[16], addr_hi[16]; /* endpoints ordered so both directions match */
	uint16_t port_lo, port_hi;
};

struct conn_entry {
	bool used;
	uint8_t version;
	struct conn_key key;
};

struct conn_table {
	struct conn_entry *slots;
	size_t cap;  /* power of two */
	size_t used;
};

static uint64_t conn_hash(const struct conn_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static struct conn_entry *conn_find(struct conn_table *t,
				    const struct conn_key *k, bool insert)
{
	size_t i;

	if (insert && (t->used + 1) * 2 > t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		struct conn_entry *n = calloc(ncap, sizeof(*n));

		if (!n)
			return NULL;
		for (size_t o = 0; o < t->cap; o++) {
			if (!t->slots[o].used)
				continue;
			i = conn_hash(&t->slots[o].key) & (ncap - 1);
			while (n[i].used)
				i = (i + 1) & (ncap - 1);
			n[i] = t->slots[o];
		}
		free(t->slots);
		t->slots = n;
		t->cap = ncap;
	}
	if (!t->cap)
		return NULL;
	i = conn_hash(k) & (t->cap - 1);
	while (t->slots[i].used) {
		if (!memcmp(&t->slots[i].key, k, sizeof(*k)))
			return &t->slots[i];
		i = (i + 1) & (t->cap - 1);
	}
	if (!insert)
		return NULL;
	t->slots[i].used = true;
	t->slots[i].key = *k;
	t->used++;
	return &t->slots[i];
}

static void conn_key_make(struct conn_key *k, int ip_version,
			  const uint8_t *src, const uint8_t *dst,
			  uint16_t sport, uint16_t dport)
{
	size_t alen = ip_version == 6 ? 16 : 4;
	int c = memcmp(src, dst, alen);
	bool src_first = c < 0 || (c == 0 && sport <= dport);

	/* memset, not = {0}: the padding takes part in hashing and memcmp. */
	memset(k, 0, sizeof(*k));
	k->family = (uint8_t)ip_version;
	memcpy(k->addr_lo, src_first ? src : dst, alen);
	memcpy(k->addr_hi, src_first ? dst : src, alen);
	k->port_lo = src_first ? sport : dport;
	k->port_hi = src_first ? dport : sport;
}

/* ---- decoder state ---- */

struct decoder {
	struct decode_out out;
	struct decode_stats stats;
	struct conn_table conns;
	int linktype;
};

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void problem(struct decoder *d, const struct decode_pkt *pkt,
		    enum decode_layer layer, unsigned long *counter,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void problem(struct decoder *d, const struct decode_pkt *pkt,
		    enum decode_layer layer, unsigned long *counter,
		    const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (counter)
		(*counter)++;
	decode_print_packet_problem(&d->out, pkt, layer, msg);
}

/* ---- TCP options ---- */

struct opt_walk {
	struct decoder *d;
	struct decode_pkt *pkt;
	struct conn_entry *conn;     /* NULL until an MP_CAPABLE was seen (or no memory) */
	struct conn_key key;
	const uint8_t *end;          /* end of the captured option bytes */
	const uint8_t *next;         /* first byte after the last complete option */
	unsigned index;              /* MPTCP options seen in this packet */
};

static void decode_mptcp_option(struct opt_walk *w, const uint8_t *opt,
				size_t avail)
{
	struct mptcp_parse_ctx ctx = {
		.tcp_flags = w->pkt->tcp_flags,
		.tcp_flags_known = true,
	};
	struct mptcp_opt o;
	const char *why = NULL;
	int rc;

	w->index++;
	w->d->stats.mptcp_options++;
	if (avail >= 3 && MPTCP_SUBTYPE(opt) == MPTCPOPT_MP_CAPABLE) {
		/* MP_CAPABLE carries its version: parse it as what it says it is. */
		ctx.v0 = (opt[2] & 0x0f) == MPTCP_VERSION_0;
	} else if (w->conn) {
		ctx.v0 = w->conn->version == MPTCP_VERSION_0;
	}

	memset(&o, 0, sizeof(o));
	rc = mptcp_opt_parse(opt, avail, &ctx, &o, &why);
	if (rc < 0) {
		w->d->stats.malformed++;
		/* byte 2 is the subtype only when the option's length covers it */
		decode_print_option_error(&w->d->out, w->pkt, w->index,
					  avail >= 3 && opt[1] >= 3 ? MPTCP_SUBTYPE(opt) : -1,
					  avail >= 2 ? opt[1] : -1,
					  why ? why : mptcp_err_name(rc));
		return;
	}
	if (o.subtype == MPTCPOPT_MP_CAPABLE) {
		/*
		 * The latest MP_CAPABLE wins: a v1 SYN answered by a v0 SYN/ACK
		 * negotiated v0. Without memory we only lose v0 detection.
		 */
		if (!w->conn)
			w->conn = conn_find(&w->d->conns, &w->key, true);
		if (w->conn)
			w->conn->version = o.u.mpc.version;
	}
	decode_print_option(&w->d->out, w->pkt, w->index, &o);
}

static int on_tcp_option(uint8_t kind, const uint8_t *opt, size_t len, void *arg)
{
	struct opt_walk *w = arg;

	w->next = opt + len;
	if (kind == TCPOPT_MPTCP)
		decode_mptcp_option(w, opt, (size_t)(w->end - opt));
	/* other kinds are not ours to judge */
	return w->d->out.write_failed ? 1 : 0;
}

/*
 * opts: the captured option bytes (optlen of them), declared: the option
 * space the header announces (doff * 4 - 20).
 */
static void decode_tcp_options(struct decoder *d, struct decode_pkt *pkt,
			       const struct conn_key *key, const uint8_t *opts,
			       size_t optlen, size_t declared)
{
	struct opt_walk w = {
		.d = d, .pkt = pkt, .key = *key, .end = opts + optlen, .next = opts,
	};
	const char *why = NULL;
	bool cut = optlen < declared;
	int rc;

	w.conn = conn_find(&d->conns, key, false);
	rc = tcp_options_walk(opts, optlen, on_tcp_option, &w, &why);
	if (rc >= 0) {
		if (cut)
			problem(d, pkt, LAYER_TCP, &d->stats.truncated,
				"options truncated by the capture: %zu of %zu bytes captured",
				optlen, declared);
		return;
	}
	/*
	 * The walk stopped at w.next. The capture cut it when its length octet
	 * is missing, or when it ends past the captured bytes but within the
	 * option space the header declares; anything else is the sender's fault.
	 */
	size_t have = (size_t)(w.end - w.next);
	size_t at = (size_t)(w.next - opts);
	if (cut && (have < 2 || (w.next[1] >= 2 && w.next[1] > have &&
				 at + w.next[1] <= declared))) {
		d->stats.truncated++;
		if (have >= 1 && w.next[0] == TCPOPT_MPTCP) {
			char msg[160];

			w.index++;
			d->stats.mptcp_options++;
			snprintf(msg, sizeof(msg),
				 "option truncated by the capture: %zu of %d bytes captured",
				 have, have >= 2 ? w.next[1] : -1);
			decode_print_option_error(&d->out, pkt, w.index,
						  have >= 3 ? MPTCP_SUBTYPE(w.next) : -1,
						  have >= 2 ? w.next[1] : -1, msg);
		}
		problem(d, pkt, LAYER_TCP, NULL,
			"options truncated by the capture: %zu of %zu bytes captured",
			optlen, declared);
		return;
	}
	if (w.next < w.end && w.next[0] == TCPOPT_MPTCP) {
		/* Let the codec name what is wrong (overlong, too short, ...). */
		decode_mptcp_option(&w, w.next, (size_t)(w.end - w.next));
		return;
	}
	problem(d, pkt, LAYER_TCP, &d->stats.bad_headers,
		"malformed option list at offset %zu: %s", (size_t)(w.next - opts),
		why ? why : "invalid option length");
}

/* ---- TCP, IP, link ---- */

static void decode_tcp(struct decoder *d, struct decode_pkt *pkt,
		       const uint8_t *src, const uint8_t *dst, const uint8_t *p,
		       size_t caplen, size_t wirelen)
{
	struct conn_key key;
	size_t doff, declared, have;

	if (caplen < 20) {
		problem(d, pkt, LAYER_TCP,
			wirelen < 20 ? &d->stats.bad_headers : &d->stats.truncated,
			"TCP header truncated: %zu of 20 bytes%s", caplen,
			wirelen < 20 ? " in the IP payload" : " captured");
		return;
	}
	d->stats.tcp_packets++;
	pkt->have_tcp = true;
	pkt->sport = be16(p);
	pkt->dport = be16(p + 2);
	pkt->tcp_flags = p[13];
	doff = (size_t)(p[12] >> 4) * 4;
	if (doff < 20) {
		problem(d, pkt, LAYER_TCP, &d->stats.bad_headers,
			"data offset %zu bytes is below the 20-byte minimum", doff);
		return;
	}
	if (doff > wirelen) {
		problem(d, pkt, LAYER_TCP, &d->stats.bad_headers,
			"data offset %zu bytes exceeds the %zu-byte IP payload", doff,
			wirelen);
		return;
	}
	declared = doff - 20;
	have = caplen - 20 < declared ? caplen - 20 : declared;
	conn_key_make(&key, pkt->ip_version, src, dst, pkt->sport, pkt->dport);
	if (declared)
		decode_tcp_options(d, pkt, &key, p + 20, have, declared);
}

/*
 * The fixed header of an IPv4 or IPv6 packet: it must be captured whole. A
 * frame too short for it is malformed; a frame cut by the snap length is only
 * truncated, and the two are counted apart. Sets the version and addresses;
 * false when the packet ends here.
 */
static bool ip_fixed_header(struct decoder *d, struct decode_pkt *pkt, int version,
			    const uint8_t *p, size_t caplen, size_t framelen)
{
	int af = version == 4 ? AF_INET : AF_INET6;
	size_t hlen = version == 4 ? 20 : 40;
	size_t src = version == 4 ? 12 : 8, alen = version == 4 ? 4 : 16;

	if (caplen < hlen) {
		problem(d, pkt, LAYER_IP,
			framelen < hlen ? &d->stats.bad_headers : &d->stats.truncated,
			"IPv%d header truncated: %zu of %zu bytes", version, caplen, hlen);
		return false;
	}
	pkt->ip_version = version;
	inet_ntop(af, p + src, pkt->src, sizeof(pkt->src));
	inet_ntop(af, p + src + alen, pkt->dst, sizeof(pkt->dst));
	return true;
}

/* caplen: bytes captured from the IP header on; framelen: bytes on the wire. */
static void decode_ipv4(struct decoder *d, struct decode_pkt *pkt,
			const uint8_t *p, size_t caplen, size_t framelen)
{
	size_t ihl, total;
	uint16_t frag;

	if (!ip_fixed_header(d, pkt, 4, p, caplen, framelen))
		return;
	ihl = (size_t)(p[0] & 0x0f) * 4;
	total = be16(p + 2);
	if (ihl < 20 || total < ihl) {
		problem(d, pkt, LAYER_IP, &d->stats.bad_headers,
			"IPv4 header length %zu / total length %zu invalid", ihl, total);
		return;
	}
	if (caplen < ihl) {
		problem(d, pkt, LAYER_IP, &d->stats.truncated,
			"IPv4 header truncated: %zu of %zu bytes (options) captured",
			caplen, ihl);
		return;
	}
	frag = be16(p + 6);
	if (frag & 0x1fff) {
		/* Only the first fragment carries the TCP header. */
		d->stats.fragments++;
		return;
	}
	if (p[9] != IPPROTO_TCP_)
		return;
	/* Ethernet pads short frames: trust the IP total length, not the frame. */
	if (total > framelen)
		total = framelen;
	if (caplen > total)
		caplen = total;
	decode_tcp(d, pkt, p + 12, p + 16, p + ihl, caplen - ihl, total - ihl);
}

static void decode_ipv6(struct decoder *d, struct decode_pkt *pkt,
			const uint8_t *p, size_t caplen, size_t framelen)
{
	size_t off = 40, total;
	uint8_t nh;

	if (!ip_fixed_header(d, pkt, 6, p, caplen, framelen))
		return;
	total = 40 + (size_t)be16(p + 4);
	/* payload length 0 is a jumbogram (or TSO capture): use the frame */
	if (total == 40 || total > framelen)
		total = framelen;
	if (caplen > total)
		caplen = total;
	nh = p[6];
	for (int n = 0;; n++) {
		size_t hlen;

		if (nh != 0 && nh != 43 && nh != 44 && nh != 51 && nh != 60)
			break; /* upper layer (or ESP / no next header) */
		if (n == MAX_IPV6_EXT_HDRS) {
			problem(d, pkt, LAYER_IP, &d->stats.bad_headers,
				"more than %d IPv6 extension headers", MAX_IPV6_EXT_HDRS);
			return;
		}
		if (off + 8 > caplen) {
			problem(d, pkt, LAYER_IP,
				off + 8 > total ? &d->stats.bad_headers : &d->stats.truncated,
				"IPv6 extension header %u truncated at offset %zu", nh, off);
			return;
		}
		if (nh == 44) {
			hlen = 8;
			if (be16(p + off + 2) & 0xfff8) {
				d->stats.fragments++;
				return;
			}
		} else if (nh == 51) {
			hlen = ((size_t)p[off + 1] + 2) * 4;
		} else {
			hlen = ((size_t)p[off + 1] + 1) * 8;
		}
		nh = p[off];
		off += hlen;
	}
	if (nh != IPPROTO_TCP_)
		return;
	if (off > caplen) {
		problem(d, pkt, LAYER_IP,
			off > total ? &d->stats.bad_headers : &d->stats.truncated,
			"IPv6 extension headers run past the %s (%zu bytes)",
			off > total ? "packet" : "capture", off > total ? total : caplen);
		return;
	}
	decode_tcp(d, pkt, p + 8, p + 24, p + off, caplen - off, total - off);
}

static void decode_ip(struct decoder *d, struct decode_pkt *pkt,
		      const uint8_t *p, size_t caplen, size_t framelen)
{
	if (caplen < 1) {
		problem(d, pkt, LAYER_IP, &d->stats.truncated, "no IP header captured");
		return;
	}
	switch (p[0] >> 4) {
	case 4:
		decode_ipv4(d, pkt, p, caplen, framelen);
		break;
	case 6:
		decode_ipv6(d, pkt, p, caplen, framelen);
		break;
	default:
		problem(d, pkt, LAYER_IP, &d->stats.bad_headers,
			"IP version %u is neither 4 nor 6", p[0] >> 4);
	}
}

/* Strip the link header and hand the IP packet on. */
static void decode_frame(struct decoder *d, struct decode_pkt *pkt,
			 const uint8_t *p, size_t caplen, size_t wirelen)
{
	size_t off = 0, hdr = 0;
	uint32_t proto = 0; /* ethertype; 0 = look at the IP version nibble */

	switch (d->linktype) {
	case DLT_EN10MB:
		hdr = 14;
		if (caplen < hdr)
			break;
		proto = be16(p + 12);
		off = 14;
		for (int tags = 0; proto == ETHERTYPE_VLAN_ || proto == ETHERTYPE_QINQ_ ||
				   proto == ETHERTYPE_QINQ_OLD_; tags++) {
			if (tags == MAX_VLAN_TAGS || off + 4 > caplen) {
				problem(d, pkt, LAYER_LINK, &d->stats.bad_headers,
					"VLAN tags truncated or more than %d", MAX_VLAN_TAGS);
				return;
			}
			proto = be16(p + off + 2);
			off += 4;
		}
		break;
	case DLT_LINUX_SLL:
		hdr = off = 16;
		if (caplen >= hdr)
			proto = be16(p + 14);
		break;
	case DLT_LINUX_SLL2:
		hdr = off = 20;
		if (caplen >= hdr)
			proto = be16(p);
		break;
	case DLT_NULL:
	case DLT_LOOP:
		hdr = off = 4;
		if (caplen >= hdr) {
			/* NULL is in the capturing host's byte order; LOOP in network order. */
			uint32_t fam = d->linktype == DLT_LOOP ? be32(p)
				       : (uint32_t)p[0] | (uint32_t)p[1] << 8 |
						 (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
			if (fam & 0xffff0000)
				fam = __builtin_bswap32(fam);
			/* AF_INET is 2 everywhere; AF_INET6 is 10/24/28/30 by OS. */
			if (fam == 2)
				proto = ETHERTYPE_IPV4_;
			else if (fam == 10 || fam == 24 || fam == 28 || fam == 30)
				proto = ETHERTYPE_IPV6_;
			else
				return; /* not IP */
		}
		break;
	default: /* DLT_RAW, DLT_IPV4, DLT_IPV6 */
		break;
	}
	if (caplen < hdr) {
		problem(d, pkt, LAYER_LINK, &d->stats.truncated,
			"link header truncated: %zu of %zu bytes", caplen, hdr);
		return;
	}
	if (proto && proto != ETHERTYPE_IPV4_ && proto != ETHERTYPE_IPV6_)
		return; /* ARP, LLDP, ...: not ours */
	if (proto == ETHERTYPE_IPV4_ && caplen > off && (p[off] >> 4) != 4) {
		problem(d, pkt, LAYER_IP, &d->stats.bad_headers,
			"ethertype IPv4 but IP version %u", p[off] >> 4);
		return;
	}
	if (proto == ETHERTYPE_IPV6_ && caplen > off && (p[off] >> 4) != 6) {
		problem(d, pkt, LAYER_IP, &d->stats.bad_headers,
			"ethertype IPv6 but IP version %u", p[off] >> 4);
		return;
	}
	decode_ip(d, pkt, p + off, caplen - off, wirelen > off ? wirelen - off : 0);
}

/* ---- command ---- */

static const int supported_linktypes[] = {
	DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW, DLT_IPV4,
	DLT_IPV6,   DLT_NULL,      DLT_LOOP,
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mplb decode [-j] FILE\n"
		"\n"
		"Print every MPTCP option (TCP option kind 30) of a pcap or pcapng\n"
		"capture, one line per suboption. Options that do not parse are\n"
		"printed as malformed with the reason. A summary goes to stderr.\n"
		"\n"
		"  -j, --json   one JSON object per line (JSON Lines): frame, time,\n"
		"               addresses, ports, TCP flags and every option field\n"
		"  -h, --help   show this help\n"
		"\n"
		"FILE may be '-' for standard input. Link types: Ethernet (802.1Q,\n"
		"QinQ), Linux cooked (SLL, SLL2, as from tcpdump -i any), raw IP,\n"
		"BSD loopback (NULL, LOOP).\n"
		"\n"
		"Exit status: 0 decoded, 1 unreadable or truncated file, 2 usage.\n"
		"\n"
		"example:\n"
		"  ip netns exec ns1 tcpdump -i any -w cap.pcap tcp\n"
		"  mplb decode cap.pcap\n"
		"  frame 1 10.0.1.1:40000 > 10.200.0.1:80 [S] MP_CAPABLE v1 syn len 4 flags A=0 B=0 C=0 H=1\n"
		"  mplb decode -j cap.pcap | jq 'select(.subtype_name == \"ADD_ADDR\")'\n");
}

static void list_linktypes(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(supported_linktypes) && off < len; i++) {
		const char *name = pcap_datalink_val_to_name(supported_linktypes[i]);
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
					name ? name : "?");
	}
}

static bool linktype_supported(int dlt)
{
	for (size_t i = 0; i < ARRAY_SIZE(supported_linktypes); i++)
		if (supported_linktypes[i] == dlt)
			return true;
	return false;
}

static pcap_t *open_capture(const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct stat st;
	pcap_t *pc;

	if (strcmp(path, "-") != 0) {
		if (stat(path, &st) < 0) {
			mplb_err("decode: cannot read '%s': %s", path, strerror(errno));
			return NULL;
		}
		if (S_ISDIR(st.st_mode)) {
			mplb_err("decode: '%s' is a directory; expected a pcap or pcapng file",
				 path);
			return NULL;
		}
		if (S_ISREG(st.st_mode) && st.st_size == 0) {
			mplb_err("decode: '%s' is empty; expected a pcap or pcapng file", path);
			return NULL;
		}
	}
	pc = pcap_open_offline(path, errbuf);
	if (!pc)
		mplb_err("decode: cannot decode '%s': libpcap: %s; expected a pcap or "
			 "pcapng capture file (tcpdump -w, tshark -w)",
			 path, errbuf);
	return pc;
}

static void print_summary(const struct decoder *d)
{
	const struct decode_stats *s = &d->stats;

	fprintf(stderr,
		"decode: %lu packets, %lu tcp packets, %lu mptcp options, %lu malformed",
		s->packets, s->tcp_packets, s->mptcp_options, s->malformed);
	if (s->truncated)
		fprintf(stderr, ", %lu truncated by the capture", s->truncated);
	if (s->bad_headers)
		fprintf(stderr, ", %lu with invalid headers", s->bad_headers);
	if (s->fragments)
		fprintf(stderr, ", %lu non-first fragments skipped", s->fragments);
	fputc('\n', stderr);
}

int cmd_decode(int argc, char **argv)
{
	struct decoder d = {.out = {.f = stdout}};
	const char *path = NULL;
	bool opts_done = false;
	pcap_t *pc;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!opts_done && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
			usage(stdout);
			return 0;
		} else if (!opts_done && (!strcmp(a, "-j") || !strcmp(a, "--json"))) {
			d.out.json = true;
		} else if (!opts_done && !strcmp(a, "--")) {
			opts_done = true;
		} else if (!opts_done && a[0] == '-' && a[1] != '\0') {
			mplb_err("decode: unknown option '%s'", a);
			usage(stderr);
			return 2;
		} else if (path) {
			mplb_err("decode: one FILE expected, got '%s' and '%s'", path, a);
			usage(stderr);
			return 2;
		} else {
			path = a;
		}
	}
	if (!path) {
		mplb_err("decode: missing FILE");
		usage(stderr);
		return 2;
	}

	pc = open_capture(path);
	if (!pc)
		return 1;
	d.linktype = pcap_datalink(pc);
	if (!linktype_supported(d.linktype)) {
		char list[256];
		const char *name = pcap_datalink_val_to_name(d.linktype);
		const char *desc = pcap_datalink_val_to_description(d.linktype);

		list_linktypes(list, sizeof(list));
		mplb_err("decode: '%s': unsupported link type %d (%s%s%s); supported: %s",
			 path, d.linktype, name ? name : "unknown", desc ? ": " : "",
			 desc ? desc : "", list);
		pcap_close(pc);
		return 1;
	}

	/* A reader that goes away (| head) ends the output, not the process. */
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		struct pcap_pkthdr *h;
		const u_char *data;
		struct decode_pkt pkt;
		int n = pcap_next_ex(pc, &h, &data);

		if (n == PCAP_ERROR_BREAK)
			break; /* end of file */
		if (n != 1) {
			fflush(stdout);
			mplb_err("decode: '%s': frame %lu: %s", path, d.stats.packets + 1,
				 pcap_geterr(pc));
			rc = 1;
			break;
		}
		d.stats.packets++;
		memset(&pkt, 0, sizeof(pkt));
		pkt.frame = d.stats.packets;
		pkt.ts = h->ts;
		decode_frame(&d, &pkt, data, h->caplen,
			     h->len > h->caplen ? h->len : h->caplen);
		if (d.out.write_failed)
			break;
	}
	pcap_close(pc);
	free(d.conns.slots);
	if (fflush(stdout) != 0 || d.out.write_failed) {
		mplb_err("decode: writing the output failed: %s", strerror(errno));
		rc = 1;
	}
	print_summary(&d);
	return rc;
}
