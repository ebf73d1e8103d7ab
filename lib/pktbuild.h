/* SPDX-License-Identifier: MIT */
/*
 * Frames built from a description, for the balancer's fixtures and the
 * simulator's agreement check (sim/agree.c): Ethernet (+802.1Q, QinQ),
 * IPv4 (options, fragments) or IPv6, TCP (any option bytes) or UDP, with
 * correct IPv4 header and TCP/UDP checksums; its checksum helpers also
 * serve mplb client's probes (client/tcp_health.c). Header-only: each
 * binary includes it once.
 */
#ifndef MPLB_PKTBUILD_H
#define MPLB_PKTBUILD_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PKT_MAX 512

struct pkt_spec {
	int family; /* 4 or 6 */
	const char *src, *dst;
	uint16_t sport, dport; /* host order */
	uint8_t proto;         /* 6 or 17 */
	uint8_t tcp_flags;
	const uint8_t *tcpopt; /* raw option bytes */
	size_t tcpopt_len;
	int doff_words;        /* 0 = from tcpopt_len (rounded up with EOL) */
	const void *payload;
	size_t payload_len;
	uint16_t vlan;         /* 0 = untagged */
	const uint8_t *ipopt;  /* IPv4 options, multiple of 4 bytes */
	size_t ipopt_len;
	uint16_t frag;         /* IPv4 frag_off host order: MF 0x2000 | offset/8 */
	bool l4_absent;        /* non-first fragment: payload only, no L4 header */
	size_t truncate;       /* cut this many bytes off the end */
	uint32_t seq, ack;
	uint16_t vlan2, vlan3; /* more tags: QinQ (outer 802.1ad, then 802.1Q), or three */
	const uint8_t *ext6;   /* IPv6 extension headers, raw, between IPv6 and L4 */
	size_t ext6_len;
	uint8_t ext6_first;    /* the IPv6 next header that starts the chain */
	int ihl_words;         /* IPv4 IHL override (0 = from ipopt_len) */
	const uint8_t *raw;    /* a frame given as bytes: everything above is ignored */
	size_t raw_len;
};

static const uint8_t PKT_SRC_MAC[6] = {0x02, 0xcc, 0, 0, 0, 0x01};
static const uint8_t PKT_DST_MAC[6] = {0x02, 0x1b, 0, 0, 0, 0x01};

static inline uint32_t pkt_sum(const void *p, size_t len, uint32_t sum)
{
	const uint8_t *b = p;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

static inline uint16_t pkt_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }
static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, (uint16_t)v);
}

/* Builds the frame into out (PKT_MAX bytes); returns its length. */
static inline size_t pkt_build(const struct pkt_spec *s, uint8_t *out)
{
	uint8_t l4[PKT_MAX];
	size_t l4_len = 0, off = 0, l3_off;
	uint8_t saddr[16] = {0}, daddr[16] = {0};
	int alen = s->family == 6 ? 16 : 4;

	memset(out, 0, PKT_MAX);
	if (s->raw) {
		memcpy(out, s->raw, s->raw_len);
		return s->raw_len;
	}
	inet_pton(s->family == 6 ? AF_INET6 : AF_INET, s->src, saddr);
	inet_pton(s->family == 6 ? AF_INET6 : AF_INET, s->dst, daddr);
	memcpy(out, PKT_DST_MAC, 6);
	memcpy(out + 6, PKT_SRC_MAC, 6);
	off = 12;
	if (s->vlan2) { /* QinQ: the service tag first */
		put16(out + off, 0x88a8);
		put16(out + off + 2, s->vlan2);
		off += 4;
	}
	if (s->vlan3) {
		put16(out + off, 0x8100);
		put16(out + off + 2, s->vlan3);
		off += 4;
	}
	if (s->vlan) {
		put16(out + off, 0x8100);
		put16(out + off + 2, s->vlan);
		off += 4;
	}
	put16(out + off, s->family == 6 ? 0x86dd : 0x0800);
	off += 2;
	l3_off = off;

	/* L4 header + payload */
	memset(l4, 0, sizeof(l4));
	if (!s->l4_absent && s->proto == 6) {
		size_t optspace = (s->tcpopt_len + 3) & ~(size_t)3;
		int doff = s->doff_words ? s->doff_words : (int)(5 + optspace / 4);
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put32(l4 + 4, s->seq);
		put32(l4 + 8, s->ack);
		l4[12] = (uint8_t)(doff << 4);
		l4[13] = s->tcp_flags;
		put16(l4 + 14, 64240);
		if (s->tcpopt_len) /* padding stays 0 = EOL */
			memcpy(l4 + 20, s->tcpopt, s->tcpopt_len);
		l4_len = 20 + optspace;
	} else if (!s->l4_absent && s->proto == 17) {
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		l4_len = 8;
	}
	if (s->payload_len)
		memcpy(l4 + l4_len, s->payload, s->payload_len);
	l4_len += s->payload_len;
	if (!s->l4_absent && s->proto == 17)
		put16(l4 + 4, (uint16_t)l4_len);

	/* Checksum over the pseudo header (not for fragments' partial L4). */
	if (!s->l4_absent && !s->frag) {
		uint32_t sum = pkt_sum(saddr, alen, 0);
		sum = pkt_sum(daddr, alen, sum);
		sum += s->proto + (uint32_t)l4_len;
		sum = pkt_sum(l4, l4_len, sum);
		uint16_t c = pkt_fold(sum);
		if (s->proto == 17 && c == 0)
			c = 0xffff;
		put16(l4 + (s->proto == 6 ? 16 : 6), c);
	}

	if (s->family == 6) {
		out[off] = 0x60;
		put16(out + off + 4, (uint16_t)(l4_len + s->ext6_len));
		out[off + 6] = s->ext6_len ? s->ext6_first : s->proto;
		out[off + 7] = 64;
		memcpy(out + off + 8, saddr, 16);
		memcpy(out + off + 24, daddr, 16);
		off += 40;
		if (s->ext6_len)
			memcpy(out + off, s->ext6, s->ext6_len);
		off += s->ext6_len;
	} else {
		size_t ihl = 20 + s->ipopt_len;
		out[off] = (uint8_t)(0x40 | (s->ihl_words ? (size_t)s->ihl_words : ihl / 4));
		put16(out + off + 2, (uint16_t)(ihl + l4_len));
		put16(out + off + 4, 0x1234);
		put16(out + off + 6, s->frag);
		out[off + 8] = 64;
		out[off + 9] = s->proto;
		memcpy(out + off + 12, saddr, 4);
		memcpy(out + off + 16, daddr, 4);
		if (s->ipopt_len)
			memcpy(out + off + 20, s->ipopt, s->ipopt_len);
		put16(out + off + 10, pkt_fold(pkt_sum(out + off, ihl, 0)));
		off += ihl;
	}
	(void)l3_off;
	memcpy(out + off, l4, l4_len);
	off += l4_len;
	return off - s->truncate;
}

/* ---- TCP option builders: each returns the bytes written ---- */
static inline size_t opt_ts(uint8_t *p, uint32_t tsval, uint32_t tsecr)
{
	p[0] = 1, p[1] = 1, p[2] = 8, p[3] = 10; /* NOP NOP TS */
	put32(p + 4, tsval);
	put32(p + 8, tsecr);
	return 12;
}

/* MP_CAPABLE v1 with both keys: len 20 (third ACK), 22 (+data len), 24 (+csum). */
static inline size_t opt_mpc_ack(uint8_t *p, uint64_t key_a, uint64_t key_b, int len)
{
	memset(p, 0, (size_t)len);
	p[0] = 30, p[1] = (uint8_t)len, p[2] = 0x01, p[3] = 0x01; /* v1, flag H */
	put32(p + 4, (uint32_t)(key_a >> 32));
	put32(p + 8, (uint32_t)key_a);
	put32(p + 12, (uint32_t)(key_b >> 32));
	put32(p + 16, (uint32_t)key_b);
	if (len >= 22)
		put16(p + 20, 100); /* data-level length */
	return (size_t)len;
}

static inline size_t opt_mpj_syn(uint8_t *p, uint32_t token, uint32_t nonce)
{
	p[0] = 30, p[1] = 12, p[2] = 0x10, p[3] = 1; /* MP_JOIN, address id 1 */
	put32(p + 4, token);
	put32(p + 8, nonce);
	return 12;
}

#endif /* MPLB_PKTBUILD_H */
