// SPDX-License-Identifier: MIT
/*
 * MPTCP key-derived values over OpenSSL libcrypto, matching Linux
 * net/mptcp/crypto.c: keys, nonces and ports enter the hash big-endian.
 */
#include "mptcp_crypto.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* digest(key in network order); out must hold the digest (<= 32 bytes). */
static void key_digest(const EVP_MD *md, uint64_t key, uint8_t *out)
{
	uint8_t in[8];
	unsigned int n = 0;

	put_be64(in, key);
	/* Cannot fail for SHA-1/SHA-256 short of an allocation failure. */
	if (!EVP_Digest(in, sizeof(in), out, &n, md, NULL))
		memset(out, 0, (size_t)EVP_MD_get_size(md));
}

uint32_t mptcp_token_from_key(uint64_t key)
{
	uint8_t d[32];

	key_digest(EVP_sha256(), key, d);
	return (uint32_t)get_be(d, 4);
}

uint64_t mptcp_idsn_from_key(uint64_t key)
{
	uint8_t d[32];

	key_digest(EVP_sha256(), key, d);
	return get_be(d + 24, 8);
}

/* RFC 6824 §3.1: same truncations over the 20-byte SHA-1 digest. */
uint32_t mptcp_v0_token_from_key(uint64_t key)
{
	uint8_t d[20];

	key_digest(EVP_sha1(), key, d);
	return (uint32_t)get_be(d, 4);
}

uint64_t mptcp_v0_idsn_from_key(uint64_t key)
{
	uint8_t d[20];

	key_digest(EVP_sha1(), key, d);
	return get_be(d + 12, 8);
}

static void hmac_sha256(uint64_t key1, uint64_t key2, const uint8_t *msg,
			size_t len, uint8_t out[32])
{
	uint8_t key[16];
	unsigned int n = 0;

	put_be64(key, key1);
	put_be64(key + 8, key2);
	if (!HMAC(EVP_sha256(), key, sizeof(key), msg, len, out, &n))
		memset(out, 0, 32);
}

void mptcp_join_hmac(uint64_t key1, uint64_t key2, uint32_t nonce1,
		     uint32_t nonce2, uint8_t out[32])
{
	uint8_t msg[8];

	put_be32(msg, nonce1);
	put_be32(msg + 4, nonce2);
	hmac_sha256(key1, key2, msg, sizeof(msg), out);
}

uint64_t mptcp_add_addr_hmac(uint64_t key1, uint64_t key2, uint8_t addr_id,
			     const struct mptcp_addr *addr, uint16_t port)
{
	uint8_t msg[1 + 16 + 2];
	uint8_t out[32];
	size_t alen = addr->family == 6 ? 16 : 4;

	msg[0] = addr_id;
	memcpy(msg + 1, addr->addr, alen);
	msg[1 + alen] = port >> 8;
	msg[2 + alen] = port & 0xff;
	hmac_sha256(key1, key2, msg, 3 + alen, out);
	/* RFC 8684 §3.4.1: the rightmost 64 bits (Linux fixed this in 2020). */
	return get_be(out + 24, 8);
}
