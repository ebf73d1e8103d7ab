// SPDX-License-Identifier: MIT
/*
 * Unit tests for mptcp_crypto.c. Vectors come from sources other than this
 * code:
 *  - Linux net/mptcp/crypto_test.c (KUnit): HMAC-SHA256 with a 16-byte key
 *    and an 8-byte message; the kernel reads the ASCII strings as the
 *    big-endian key and nonce words, and so do we.
 *  - Python hashlib/hmac applied to the RFC 8684 / RFC 6824 definitions
 *    (token = digest bytes 0-3, IDSN = the rightmost 8 bytes, ADD_ADDR HMAC =
 *    rightmost 8 bytes over id || addr || port).
 *  - A pair recorded from a real Linux 6.18 connection (lib/tests/crypto_kernel.sh).
 *  - At run time, values captured from live kernel connections, passed by
 *    lib/tests/crypto_kernel.sh in MPLB_KEY_TOKEN_PAIRS, MPLB_ADD_ADDR_HMACS and
 *    MPLB_JOIN_HMACS (those cases are skipped when the variables are unset).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "mptcp_crypto.h"

static uint64_t be_word(const char *ascii, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | (uint8_t)ascii[i];
	return v;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static void test_join_hmac_kernel_vectors(void **state)
{
	(void)state;
	/* Linux net/mptcp/crypto_test.c */
	static const struct {
		const char *key, *msg, *result;
	} tests[] = {
		{ "0b0b0b0b0b0b0b0b", "48692054",
		  "8385e24fb4235ac37556b6b886db106284a1da671699f46db1f235ec622dcafa" },
		{ "aaaaaaaaaaaaaaaa", "dddddddd",
		  "2c5e219164ff1dca1c4a92318d847bb6b9d44492984e1eb71aff9022f71046e9" },
		{ "0102030405060708", "cdcdcdcd",
		  "e73b9ba9969969cefb04aa0d6df18ec2fcc075b6f23b4d8c4da736a5dbbc6e7d" },
	};

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		uint8_t out[32];
		char got[65];

		mptcp_join_hmac(be_word(tests[i].key, 8), be_word(tests[i].key + 8, 8),
				(uint32_t)be_word(tests[i].msg, 4),
				(uint32_t)be_word(tests[i].msg + 4, 4), out);
		hex(out, sizeof(out), got);
		assert_string_equal(got, tests[i].result);
	}
}

static void test_join_hmac_direction(void **state)
{
	(void)state;
	uint8_t a[32], b[32];
	char got[65];

	/* hmac.new(be64(A) + be64(B), be32(RA) + be32(RB), sha256) */
	mptcp_join_hmac(0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0x01020304,
			0x0a0b0c0d, a);
	hex(a, sizeof(a), got);
	assert_string_equal(got, "485803b6956a2ed7fdb8458e5e9b644774ec1b249c13e8240666789118dc5a84");
	/* HMAC-B swaps both keys and nonces: must differ from HMAC-A */
	mptcp_join_hmac(0xfedcba9876543210ULL, 0x0123456789abcdefULL, 0x0a0b0c0d,
			0x01020304, b);
	assert_memory_not_equal(a, b, 32);
}

static void test_token_idsn(void **state)
{
	(void)state;
	/* hashlib.sha256(struct.pack('>Q', key)): [0:4] and [24:32] */
	assert_int_equal(mptcp_token_from_key(0x0123456789abcdefULL), 0x55c53f5d);
	assert_true(mptcp_idsn_from_key(0x0123456789abcdefULL) == 0x570762cd38be9818ULL);
	assert_int_equal(mptcp_token_from_key(0), 0xaf5570f5);
	assert_true(mptcp_idsn_from_key(0) == 0xe5b2328de0e83dfcULL);
	assert_int_equal(mptcp_token_from_key(UINT64_MAX), 0x12a3ae44);
	assert_true(mptcp_idsn_from_key(UINT64_MAX) == 0x57fb595bbbacf0caULL);
	/*
	 * One Linux 6.18 connection (lib/tests/crypto_kernel.sh): keys from the
	 * capture, tokens as `ip mptcp monitor` reported them in each namespace.
	 */
	assert_int_equal(mptcp_token_from_key(0x2aaab7d8a37503acULL), 0xd9eb78f1);
	assert_int_equal(mptcp_token_from_key(0x2ac0372ff12aa2e5ULL), 0x15dbd5e5);
}

static void test_v0_token_idsn(void **state)
{
	(void)state;
	/* hashlib.sha1(struct.pack('>Q', key)): [0:4] and [12:20] */
	assert_int_equal(mptcp_v0_token_from_key(0x0123456789abcdefULL), 0x0ca2eadb);
	assert_true(mptcp_v0_idsn_from_key(0x0123456789abcdefULL) == 0xe3df8ee121f10547ULL);
	assert_int_equal(mptcp_v0_token_from_key(0), 0x05fe4057);
	assert_true(mptcp_v0_idsn_from_key(0) == 0xac558654f107c7e9ULL);
	assert_int_equal(mptcp_v0_token_from_key(UINT64_MAX), 0xbe673e8a);
	assert_true(mptcp_v0_idsn_from_key(UINT64_MAX) == 0x866701c11ef8e089ULL);
}

static void test_add_addr_hmac(void **state)
{
	(void)state;
	struct mptcp_addr v4 = { .family = 4, .addr = { 10, 0, 1, 2 } };
	struct mptcp_addr v6 = { .family = 6, .addr = { 0xfd, [15] = 2 } };

	/* hmac.new(key, id || addr || be16(port), sha256).digest()[24:] */
	assert_true(mptcp_add_addr_hmac(0x0123456789abcdefULL, 0xfedcba9876543210ULL, 5,
					&v4, 8080) == 0x3aa862b47678fa5eULL);
	assert_true(mptcp_add_addr_hmac(0x0123456789abcdefULL, 0xfedcba9876543210ULL, 1,
					&v6, 0) == 0xcd25db495af20373ULL);
}

/* ---- values from live kernel connections (lib/tests/crypto_kernel.sh) ---- */

/* Split s at sep into at most max fields (modifies s). */
static int split(char *s, char sep, char **fields, int max)
{
	int n = 0;

	while (n < max) {
		fields[n++] = s;
		s = strchr(s, sep);
		if (!s)
			break;
		*s++ = '\0';
	}
	return n;
}

static char *env_copy(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? strdup(v) : NULL;
}

static void test_kernel_key_token_pairs(void **state)
{
	(void)state;
	char *list = env_copy("MPLB_KEY_TOKEN_PAIRS"), *save = NULL;
	int checked = 0;

	if (!list)
		skip();
	for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *f[2] = { NULL };

		assert_int_equal(split(item, ':', f, 2), 2);
		uint64_t key = strtoull(f[0], NULL, 16);
		uint32_t token = (uint32_t)strtoul(f[1], NULL, 16);

		if (mptcp_token_from_key(key) != token)
			fail_msg("key %016llx: token %08x, kernel says %08x",
				 (unsigned long long)key, mptcp_token_from_key(key), token);
		checked++;
	}
	free(list);
	assert_true(checked > 0);
}

static void test_kernel_add_addr_hmacs(void **state)
{
	(void)state;
	/* key1:key2:id:addr:port:hmac (hex except id, port, addr) */
	char *list = env_copy("MPLB_ADD_ADDR_HMACS"), *save = NULL;
	int checked = 0;

	if (!list)
		skip();
	for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *f[6] = { NULL };
		struct mptcp_addr addr = { 0 };

		/* IPv6 addresses contain ':', so split them off the ends. */
		char *first = item, *last;

		for (int i = 0; i < 3; i++) {
			f[i] = first;
			first = strchr(first, ':');
			assert_non_null(first);
			*first++ = '\0';
		}
		last = strrchr(first, ':');
		assert_non_null(last);
		*last++ = '\0';
		f[5] = last;
		last = strrchr(first, ':');
		assert_non_null(last);
		*last++ = '\0';
		f[4] = last;
		f[3] = first;

		if (inet_pton(AF_INET, f[3], addr.addr) == 1)
			addr.family = 4;
		else if (inet_pton(AF_INET6, f[3], addr.addr) == 1)
			addr.family = 6;
		else
			fail_msg("bad address %s", f[3]);
		uint64_t want = strtoull(f[5], NULL, 16);
		uint64_t got = mptcp_add_addr_hmac(strtoull(f[0], NULL, 16), strtoull(f[1], NULL, 16),
						   (uint8_t)atoi(f[2]), &addr, (uint16_t)atoi(f[4]));

		if (got != want)
			fail_msg("ADD_ADDR %s id %s: HMAC %016llx, kernel sent %016llx", f[3], f[2],
				 (unsigned long long)got, (unsigned long long)want);
		checked++;
	}
	free(list);
	assert_true(checked > 0);
}

static void test_kernel_join_hmacs(void **state)
{
	(void)state;
	/* key1:key2:nonce1:nonce2:leftmost-bytes-hex */
	char *list = env_copy("MPLB_JOIN_HMACS"), *save = NULL;
	int checked = 0;

	if (!list)
		skip();
	for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *f[5] = { NULL };
		uint8_t out[32];
		char got[65];

		assert_int_equal(split(item, ':', f, 5), 5);
		mptcp_join_hmac(strtoull(f[0], NULL, 16), strtoull(f[1], NULL, 16),
				(uint32_t)strtoul(f[2], NULL, 16), (uint32_t)strtoul(f[3], NULL, 16),
				out);
		hex(out, sizeof(out), got);
		assert_true(strlen(f[4]) >= 16 && strlen(f[4]) <= 64);
		if (strncmp(got, f[4], strlen(f[4])))
			fail_msg("MP_JOIN HMAC %.*s, kernel sent %s", (int)strlen(f[4]), got, f[4]);
		checked++;
	}
	free(list);
	assert_true(checked > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_hmac_kernel_vectors),
		cmocka_unit_test(test_join_hmac_direction),
		cmocka_unit_test(test_token_idsn),
		cmocka_unit_test(test_v0_token_idsn),
		cmocka_unit_test(test_add_addr_hmac),
		cmocka_unit_test(test_kernel_key_token_pairs),
		cmocka_unit_test(test_kernel_add_addr_hmacs),
		cmocka_unit_test(test_kernel_join_hmacs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
