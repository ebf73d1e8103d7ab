/* SPDX-License-Identifier: MIT */
/* Probe protocol codec and the deterministic payload stream (see proto.h). */
#include "probe/proto.h"

#include <string.h>

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = (uint8_t)v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

static void put_header(uint8_t *p, enum proto_type type)
{
	put_u32(p, PROTO_MAGIC);
	put_u16(p + 4, PROTO_VERSION);
	put_u16(p + 6, type);
}

static int check_header(const uint8_t *p, enum proto_type type, const char **why)
{
	if (get_u32(p) != PROTO_MAGIC) {
		*why = "bad magic (peer is not an mplb probe endpoint)";
		return -1;
	}
	if (get_u16(p + 4) != PROTO_VERSION) {
		*why = "unsupported protocol version";
		return -1;
	}
	if (get_u16(p + 6) != type) {
		*why = "unexpected message type";
		return -1;
	}
	return 0;
}

void proto_encode_hello(uint8_t out[PROTO_HELLO_LEN], const struct proto_hello *h)
{
	memset(out, 0, PROTO_HELLO_LEN);
	put_header(out, PROTO_HELLO);
	put_u32(out + 8, h->backend_id);
	memcpy(out + 16, h->hostname, strnlen(h->hostname, PROTO_HOSTNAME_LEN - 1));
}

int proto_decode_hello(const uint8_t in[PROTO_HELLO_LEN], struct proto_hello *h,
		       const char **why)
{
	if (check_header(in, PROTO_HELLO, why))
		return -1;
	h->backend_id = get_u32(in + 8);
	memcpy(h->hostname, in + 16, PROTO_HOSTNAME_LEN);
	h->hostname[PROTO_HOSTNAME_LEN - 1] = 0;
	/* The name ends up in a terminal and in JSON: keep it printable. */
	for (char *c = h->hostname; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	return 0;
}

void proto_encode_request(uint8_t out[PROTO_REQUEST_LEN], const struct proto_request *r)
{
	memset(out, 0, PROTO_REQUEST_LEN);
	put_header(out, PROTO_REQUEST);
	put_u32(out + 8, r->mode);
	put_u32(out + 12, r->rounds);
	put_u64(out + 16, r->bytes);
	put_u64(out + 24, r->seed);
}

int proto_decode_request(const uint8_t in[PROTO_REQUEST_LEN], struct proto_request *r,
			 const char **why)
{
	if (check_header(in, PROTO_REQUEST, why))
		return -1;
	r->mode = get_u32(in + 8);
	r->rounds = get_u32(in + 12);
	r->bytes = get_u64(in + 16);
	r->seed = get_u64(in + 24);
	if (r->mode < PROTO_MODE_BULK || r->mode > PROTO_MODE_RR) {
		*why = "unknown mode";
		return -1;
	}
	if (r->bytes > PROTO_MAX_BYTES) {
		*why = "byte count too large";
		return -1;
	}
	if (r->mode == PROTO_MODE_RR && (r->rounds < 1 || r->rounds > PROTO_MAX_ROUNDS)) {
		*why = "rr rounds out of range";
		return -1;
	}
	return 0;
}

void proto_encode_status(uint8_t out[PROTO_STATUS_LEN], const struct proto_status *s)
{
	memset(out, 0, PROTO_STATUS_LEN);
	put_header(out, PROTO_STATUS);
	put_u32(out + 8, s->result);
	put_u64(out + 16, s->bad_offset);
	put_u64(out + 24, s->bytes_received);
	put_u64(out + 32, s->bytes_sent);
}

int proto_decode_status(const uint8_t in[PROTO_STATUS_LEN], struct proto_status *s,
			const char **why)
{
	if (check_header(in, PROTO_STATUS, why))
		return -1;
	s->result = get_u32(in + 8);
	s->bad_offset = get_u64(in + 16);
	s->bytes_received = get_u64(in + 24);
	s->bytes_sent = get_u64(in + 32);
	if (s->result > PROTO_BAD_REQUEST) {
		*why = "unknown status result";
		return -1;
	}
	return 0;
}

const char *proto_mode_name(uint32_t mode)
{
	switch (mode) {
	case PROTO_MODE_BULK: return "bulk";
	case PROTO_MODE_UPLOAD: return "upload";
	case PROTO_MODE_RR: return "rr";
	default: return "?";
	}
}

int proto_mode_parse(const char *s)
{
	for (uint32_t m = PROTO_MODE_BULK; m <= PROTO_MODE_RR; m++)
		if (!strcmp(s, proto_mode_name(m)))
			return (int)m;
	return -1;
}

const char *proto_result_name(uint32_t result)
{
	switch (result) {
	case PROTO_OK: return "ok";
	case PROTO_MISMATCH: return "mismatch";
	case PROTO_SHORT: return "short";
	case PROTO_BAD_REQUEST: return "bad-request";
	default: return "?";
	}
}

uint64_t proto_rr_chunk(uint64_t bytes, uint32_t rounds, uint32_t round)
{
	if (!rounds)
		return 0;
	uint64_t chunk = bytes / rounds;
	return round + 1 == rounds ? chunk + bytes % rounds : chunk;
}

#define GOLDEN 0x9e3779b97f4a7c15ULL

static uint64_t splitmix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t stream_word(uint64_t seed, uint64_t index)
{
	return splitmix64(seed + (index + 1) * GOLDEN);
}

void payload_fill(uint64_t seed, uint64_t offset, uint8_t *buf, size_t len)
{
	size_t i = 0;
	/* Head up to a word boundary, then whole words, then the tail. */
	while (i < len && (offset + i) % 8) {
		uint64_t o = offset + i;
		buf[i++] = (uint8_t)(stream_word(seed, o / 8) >> (8 * (o % 8)));
	}
	for (; i + 8 <= len; i += 8) {
		uint64_t w = stream_word(seed, (offset + i) / 8);
		for (int b = 0; b < 8; b++)
			buf[i + b] = (uint8_t)(w >> (8 * b));
	}
	if (i < len) {
		uint64_t w = stream_word(seed, (offset + i) / 8);
		for (int b = 0; i < len; b++)
			buf[i++] = (uint8_t)(w >> (8 * b));
	}
}

bool payload_verify(uint64_t seed, uint64_t offset, const uint8_t *buf, size_t len,
		    uint64_t *bad_offset)
{
	uint8_t expect[4096];
	for (size_t done = 0; done < len;) {
		size_t n = len - done < sizeof(expect) ? len - done : sizeof(expect);
		payload_fill(seed, offset + done, expect, n);
		if (memcmp(expect, buf + done, n)) {
			for (size_t k = 0; k < n; k++)
				if (expect[k] != buf[done + k]) {
					*bad_offset = offset + done + k;
					return false;
				}
		}
		done += n;
	}
	return true;
}
