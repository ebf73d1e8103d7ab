// SPDX-License-Identifier: MIT
/* Token sync message authentication (see token_sync.h), over libcrypto. */
#include "token_sync.h"

#include <arpa/inet.h>
#include <endian.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

void sync_key_derive(const uint8_t master[SYNC_KEY_LEN], uint32_t backend_id,
		     uint8_t out[SYNC_KEY_LEN])
{
	uint8_t msg[sizeof(SYNC_KEY_LABEL) - 1 + 4];
	uint32_t be = htonl(backend_id);
	unsigned int n = SYNC_KEY_LEN;

	memcpy(msg, SYNC_KEY_LABEL, sizeof(SYNC_KEY_LABEL) - 1);
	memcpy(msg + sizeof(SYNC_KEY_LABEL) - 1, &be, 4);
	if (!HMAC(EVP_sha256(), master, SYNC_KEY_LEN, msg, sizeof(msg), out, &n))
		memset(out, 0, SYNC_KEY_LEN);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int sync_key_parse(const char *hex, uint8_t out[SYNC_KEY_LEN])
{
	if (strlen(hex) != 2 * SYNC_KEY_LEN)
		return -1;
	for (int i = 0; i < SYNC_KEY_LEN; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void sync_key_format(const uint8_t key[SYNC_KEY_LEN], char *buf)
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < SYNC_KEY_LEN; i++) {
		buf[2 * i] = digits[key[i] >> 4];
		buf[2 * i + 1] = digits[key[i] & 15];
	}
	buf[2 * SYNC_KEY_LEN] = 0;
}

static void mac(const uint8_t key[SYNC_KEY_LEN], const uint8_t *msg, size_t len, uint8_t out[32])
{
	unsigned int n = SYNC_MAC_LEN;

	if (!HMAC(EVP_sha256(), key, SYNC_KEY_LEN, msg, len, out, &n))
		memset(out, 0, SYNC_MAC_LEN);
}

size_t sync_msg_build(uint8_t *buf, const uint8_t key[SYNC_KEY_LEN], uint8_t type,
		      uint32_t backend_id, uint64_t epoch, uint64_t seq, uint64_t sent_ns,
		      const struct sync_entry *e, unsigned n)
{
	struct sync_hdr h = {
		.magic = htonl(SYNC_MAGIC),
		.version = SYNC_VERSION,
		.type = type,
		.count = htons((uint16_t)n),
		.backend_id = htonl(backend_id),
		.epoch = htobe64(epoch),
		.seq = htobe64(seq),
		.sent_ns = htobe64(sent_ns),
	};
	size_t off = sizeof(h);

	memcpy(buf, &h, sizeof(h));
	for (unsigned i = 0; i < n; i++) {
		struct sync_entry w = e[i];
		w.token = htonl(e[i].token);
		memcpy(buf + off, &w, sizeof(w));
		off += sizeof(w);
	}
	mac(key, buf, off, buf + off);
	return off + SYNC_MAC_LEN;
}

int sync_msg_parse(const uint8_t *buf, size_t len, struct sync_hdr *hdr)
{
	unsigned n;

	if (len < SYNC_MSG_LEN(0))
		return -1;
	memcpy(hdr, buf, sizeof(*hdr));
	hdr->magic = ntohl(hdr->magic);
	hdr->count = ntohs(hdr->count);
	hdr->backend_id = ntohl(hdr->backend_id);
	hdr->epoch = be64toh(hdr->epoch);
	hdr->seq = be64toh(hdr->seq);
	hdr->sent_ns = be64toh(hdr->sent_ns);
	n = hdr->count;
	if (hdr->magic != SYNC_MAGIC || hdr->version != SYNC_VERSION || n > SYNC_MAX_ENTRIES ||
	    len != SYNC_MSG_LEN(n) || (hdr->type != SYNC_T_UPDATE && hdr->type != SYNC_T_REFRESH))
		return -1;
	return (int)n;
}

bool sync_msg_mac_ok(const uint8_t *buf, size_t len, const uint8_t key[SYNC_KEY_LEN])
{
	uint8_t want[SYNC_MAC_LEN];

	if (len < SYNC_MSG_LEN(0))
		return false;
	mac(key, buf, len - SYNC_MAC_LEN, want);
	return CRYPTO_memcmp(want, buf + len - SYNC_MAC_LEN, SYNC_MAC_LEN) == 0;
}

void sync_msg_entry(const uint8_t *buf, unsigned i, struct sync_entry *e)
{
	memcpy(e, buf + sizeof(struct sync_hdr) + i * sizeof(*e), sizeof(*e));
	e->token = ntohl(e->token);
}
