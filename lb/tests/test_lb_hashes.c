// SPDX-License-Identifier: MIT
/*
 * The hashes the data plane shares with userspace, checked in userspace:
 * sha256_min.h against OpenSSL, the tsecr.h encoding (round trip,
 * rejection of random and forged TSecr values, SipHash reference vector),
 * and the ring's arithmetic in lb_structs.h (fastmod against %, the IPv4
 * flow hash against the mix of all ten words it stands for).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/sha.h>

#include "mptcp_crypto.h"
#include "mplb/lb_structs.h"
#include "mplb/sha256_min.h"
#include "mplb/tsecr.h"
#include "prng.h"

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t rnd64(void)
{
	return xorshift64star(&rng_state);
}

static void digest_openssl(uint64_t key, uint8_t out[32])
{
	uint8_t msg[8];

	for (int i = 0; i < 8; i++)
		msg[i] = (uint8_t)(key >> (56 - 8 * i));
	SHA256(msg, sizeof(msg), out);
}

static void test_sha256_vs_openssl(void **state)
{
	uint64_t fixed[] = {0, 1, UINT64_MAX, 0x0102030405060708ULL, 0x8000000000000000ULL};

	(void)state;
	for (int i = 0; i < 100000 + 5; i++) {
		uint64_t key = i < 5 ? fixed[i] : rnd64();
		uint8_t want[32];
		__u32 got[8];

		digest_openssl(key, want);
		sha256_min_digest8(key, got);
		for (int w = 0; w < 8; w++) {
			uint32_t be = (uint32_t)want[4 * w] << 24 | (uint32_t)want[4 * w + 1] << 16 |
				      (uint32_t)want[4 * w + 2] << 8 | want[4 * w + 3];
			assert_int_equal(got[w], be);
		}
		assert_int_equal(sha256_min_token(key), got[0]);
	}
}

/* Agrees with the project's libcrypto-based token helper (lib/mptcp_crypto.h). */
static void test_token_known(void **state)
{
	uint8_t d[32];

	(void)state;
	digest_openssl(0x0123456789abcdefULL, d);
	assert_int_equal(sha256_min_token(0x0123456789abcdefULL),
			 (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3]);
	for (int i = 0; i < 1000; i++) {
		uint64_t key = rnd64();
		assert_int_equal(sha256_min_token(key), mptcp_token_from_key(key));
	}
}

/* SipHash-2-4 reference: key 00..0f, message 00..07 -> 0x93f5f5799a932462 (paper's vectors). */
static void test_siphash_vector(void **state)
{
	const __u64 key[2] = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};

	(void)state;
	assert_true(tsecr_siphash_u64(key, 0x0706050403020100ULL) == 0x93f5f5799a932462ULL);
}

static void test_tsecr_roundtrip(void **state)
{
	__u64 key[2] = {rnd64(), rnd64()};

	(void)state;
	for (int i = 0; i < 200000; i++) {
		__u32 clock = (__u32)rnd64(), id = (__u32)rnd64() % TSECR_MAX_IDS;
		__u32 ts = tsecr_encode(key, clock, id);

		/* Shifted clock: the clock's low 16 bits travel in the high half. */
		assert_int_equal(ts >> 16, clock & 0xffff);
		assert_int_equal(tsecr_decode(key, ts), (int)id);
	}
	/* The wire clock advances 2^16 per tick (and wraps every 2^16 ticks). */
	for (__u32 clock = 0xfff0; clock < 0x10010; clock++)
		assert_int_equal(tsecr_encode(key, clock + 1, 7) >> 16,
				 ((tsecr_encode(key, clock, 7) >> 16) + 1) & 0xffff);
}

/* A random TSecr is "no id" with probability 1 - 2^-8. */
static void test_tsecr_random_rejected(void **state)
{
	__u64 key[2] = {rnd64(), rnd64()};
	int n = 1 << 20, accepted = 0;

	(void)state;
	for (int i = 0; i < n; i++)
		if (tsecr_decode(key, (__u32)rnd64()) != TSECR_NO_ID)
			accepted++;
	print_message("random TSecr accepted: %d of %d (expect ~%d)\n", accepted, n, n >> 8);
	assert_true(accepted > (n >> 8) * 8 / 10 && accepted < (n >> 8) * 12 / 10);
}

/*
 * A client that knows its own TSval (and its id) tries to reach backend
 * target by forging: without the key its best is a guess of the 8-bit check.
 */
static void test_tsecr_forgery(void **state)
{
	__u64 key[2] = {rnd64(), rnd64()};
	int trials = 1 << 18, hits = 0;

	(void)state;
	for (int i = 0; i < trials; i++) {
		__u32 mine = tsecr_encode(key, (__u32)rnd64(), 5);
		/* Attacker: learn pad from its own id, set target 9, guess the check. */
		__u32 pad = ((mine >> 8) & 0xff) ^ 5;
		__u32 forged = (mine & 0xffff0000u) | ((9 ^ pad) << 8) | ((__u32)rnd64() & 0xff);
		if (tsecr_decode(key, forged) == 9)
			hits++;
	}
	print_message("forged TSecr reaching the target: %d of %d (chance 1/256 = %d)\n", hits,
		      trials, trials >> 8);
	assert_true(hits < (trials >> 8) * 13 / 10);
	/* Another key decodes nothing useful. */
	__u64 other[2] = {key[0] ^ 1, key[1]};
	int same = 0;
	for (int i = 0; i < 10000; i++) {
		__u32 ts = tsecr_encode(key, (__u32)rnd64(), 3);
		if (tsecr_decode(other, ts) == 3)
			same++;
	}
	assert_true(same < 200);
}

/* lb_fastmod(a, m, d) == a % d: ring sizes the config allows, edge values, random values. */
static void test_fastmod_exact(void **state)
{
	static const uint32_t ds[] = {1, 2, 3, 7, 251, 1021, 4093, 65521, 65537, 131071,
				      1000003, 16777259, 2147483647u, 4294967291u, 4294967295u};
	static const uint32_t edges[] = {0, 1, 2, 65535, 65536, 65537, 0x7fffffffu,
					 0x80000000u, 0xfffffffeu, 0xffffffffu};

	(void)state;
	for (size_t k = 0; k < sizeof(ds) / sizeof(ds[0]); k++) {
		uint64_t m = lb_fastmod_m(ds[k]);
		for (size_t e = 0; e < sizeof(edges) / sizeof(edges[0]); e++)
			assert_int_equal(lb_fastmod(edges[e], m, ds[k]), edges[e] % ds[k]);
		for (int i = 0; i < 200000; i++) {
			uint32_t a = (uint32_t)rnd64();
			if (lb_fastmod(a, m, ds[k]) != a % ds[k])
				fail_msg("fastmod(%u, %u) = %u, want %u", a, ds[k],
					 lb_fastmod(a, m, ds[k]), a % ds[k]);
		}
	}
}

/* The IPv4 shortcut gives the value the ten-word mix gives (pinned rings keep their flows). */
static void test_flow_hash_v4_unchanged(void **state)
{
	(void)state;
	for (int i = 0; i < 100000; i++) {
		struct flow_key f = {.family = MPLB_FAMILY_V4, .proto = i % 2 ? 6 : 17};
		uint32_t h = 0x6d706c62u;

		f.src[0] = (uint32_t)rnd64();
		f.dst[0] = (uint32_t)rnd64();
		f.sport = (uint16_t)rnd64();
		f.dport = (uint16_t)rnd64();
		for (int w = 0; w < 4; w++)
			h = lb_mix32(h, f.src[w]);
		for (int w = 0; w < 4; w++)
			h = lb_mix32(h, f.dst[w]);
		h = lb_mix32(h, ((uint32_t)f.sport << 16) | f.dport);
		h = lb_fmix32(lb_mix32(h, f.proto));
		assert_int_equal(lb_flow_hash(&f), h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vs_openssl),
		cmocka_unit_test(test_token_known),
		cmocka_unit_test(test_siphash_vector),
		cmocka_unit_test(test_tsecr_roundtrip),
		cmocka_unit_test(test_tsecr_random_rejected),
		cmocka_unit_test(test_tsecr_forgery),
		cmocka_unit_test(test_fastmod_exact),
		cmocka_unit_test(test_flow_hash_v4_unchanged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
