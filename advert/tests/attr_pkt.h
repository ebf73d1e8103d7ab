/* SPDX-License-Identifier: MIT */
/*
 * Test packets for the attribute programs (advert and client unit tests):
 * Ethernet + IPv4/IPv6 + TCP with any option bytes and payload, correct
 * checksums; and checks that a packet's IPv4 header and TCP checksums are
 * right. Header-only.
 */
#ifndef MPLB_ATTR_TEST_PKT_H
#define MPLB_ATTR_TEST_PKT_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define APKT_MAX 512

struct apkt {
	int family;		/* 4 or 6 */
	const char *src, *dst;
	uint16_t sport, dport;
	uint8_t flags;		/* TCP flags */
	const uint8_t *opts;	/* option bytes, a multiple of 4 unless doff_words is set */
	size_t optlen;
	int doff_words;		/* 0 = 5 + optlen / 4 */
	size_t payload;		/* bytes of payload ('x') */
};

static inline uint32_t apkt_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static inline uint16_t apkt_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* TCP checksum over the segment at l4 (len bytes) with the pseudo-header. */
static inline uint16_t apkt_tcp_csum(int family, const uint8_t *l3, const uint8_t *l4, size_t len)
{
	uint32_t sum = 0;
	if (family == 4) {
		sum = apkt_sum(l3 + 12, 8, 0);
	} else {
		sum = apkt_sum(l3 + 8, 32, 0);
	}
	sum += 6 + (uint32_t)len;
	return apkt_fold(apkt_sum(l4, len, sum));
}

/* Build the frame into out (APKT_MAX bytes); returns its length. */
static inline size_t apkt_build(const struct apkt *s, uint8_t *out)
{
	size_t l3 = 14, iplen = s->family == 4 ? 20 : 40, l4 = l3 + iplen;
	int doff = s->doff_words ? s->doff_words : 5 + (int)(s->optlen / 4);
	size_t tcplen = (size_t)doff * 4 + s->payload;

	memset(out, 0, APKT_MAX);
	memcpy(out, "\x02\x1b\x00\x00\x00\x01\x02\xcc\x00\x00\x00\x01", 12);
	out[12] = s->family == 4 ? 0x08 : 0x86;
	out[13] = s->family == 4 ? 0x00 : 0xdd;
	if (s->family == 4) {
		uint8_t *ip = out + l3;
		ip[0] = 0x45;
		ip[2] = (uint8_t)((iplen + tcplen) >> 8);
		ip[3] = (uint8_t)(iplen + tcplen);
		ip[6] = 0x40;
		ip[8] = 64;
		ip[9] = 6;
		inet_pton(AF_INET, s->src, ip + 12);
		inet_pton(AF_INET, s->dst, ip + 16);
		uint16_t c = apkt_fold(apkt_sum(ip, 20, 0));
		ip[10] = (uint8_t)(c >> 8);
		ip[11] = (uint8_t)c;
	} else {
		uint8_t *ip = out + l3;
		ip[0] = 0x60;
		ip[4] = (uint8_t)(tcplen >> 8);
		ip[5] = (uint8_t)tcplen;
		ip[6] = 6;
		ip[7] = 64;
		inet_pton(AF_INET6, s->src, ip + 8);
		inet_pton(AF_INET6, s->dst, ip + 24);
	}
	uint8_t *th = out + l4;
	th[0] = (uint8_t)(s->sport >> 8);
	th[1] = (uint8_t)s->sport;
	th[2] = (uint8_t)(s->dport >> 8);
	th[3] = (uint8_t)s->dport;
	th[7] = 1;  /* seq 1 */
	th[11] = 1; /* ack 1 */
	th[12] = (uint8_t)(doff << 4);
	th[13] = s->flags;
	th[14] = 0xff;
	memcpy(th + 20, s->opts, s->optlen);
	memset(th + doff * 4, 'x', s->payload);
	uint16_t c = apkt_tcp_csum(s->family, out + l3, th, tcplen);
	th[16] = (uint8_t)(c >> 8);
	th[17] = (uint8_t)c;
	return l4 + tcplen;
}

/* Are the IPv4 header checksum (if any), the lengths and the TCP checksum right? */
static inline bool apkt_valid(const uint8_t *p, size_t len, int family)
{
	size_t l3 = 14, iplen = family == 4 ? 20 : 40;
	size_t tcplen;
	if (len < l3 + iplen + 20)
		return false;
	if (family == 4) {
		if (apkt_fold(apkt_sum(p + l3, 20, 0)) != 0)
			return false;
		tcplen = ((size_t)p[l3 + 2] << 8 | p[l3 + 3]) - 20;
	} else {
		tcplen = (size_t)p[l3 + 4] << 8 | p[l3 + 5];
	}
	if (l3 + iplen + tcplen != len)
		return false;
	return apkt_fold(apkt_sum(p + l3 + iplen, tcplen,
				  family == 4 ? apkt_sum(p + l3 + 12, 8, 0) + 6 + (uint32_t)tcplen
					      : apkt_sum(p + l3 + 8, 32, 0) + 6 + (uint32_t)tcplen)) == 0;
}

/* Option area of a built/returned frame. */
static inline const uint8_t *apkt_opts(const uint8_t *p, int family, size_t *optlen)
{
	const uint8_t *th = p + 14 + (family == 4 ? 20 : 40);
	*optlen = (size_t)(th[12] >> 4) * 4 - 20;
	return th + 20;
}

/* Search an option area for an option of kind (first byte); NULL if none. */
static inline const uint8_t *apkt_find(const uint8_t *o, size_t len, uint8_t kind)
{
	for (size_t i = 0; i < len;) {
		if (o[i] == 0)
			return NULL;
		if (o[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len || o[i + 1] < 2)
			return NULL;
		if (o[i] == kind)
			return o + i;
		i += o[i + 1];
	}
	return NULL;
}

#endif /* MPLB_ATTR_TEST_PKT_H */
