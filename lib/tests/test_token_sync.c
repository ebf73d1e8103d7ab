// SPDX-License-Identifier: MIT
/*
 * Token sync messages (lib/token_sync.c, include/mplb/token_sync.h): layout,
 * round trip, and every way a message must fail: a flipped bit anywhere, the
 * wrong backend's key, a wrong length, count or magic.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "token_sync.h"

static const uint8_t MASTER[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static void test_layout(void **state)
{
	(void)state;
	/* Both ends compile these structs: no implicit padding, fixed sizes. */
	assert_int_equal(sizeof(struct sync_hdr), 40);
	assert_int_equal(sizeof(struct sync_entry), 48);
	assert_int_equal(sizeof(struct flow_key), 40);
	assert_int_equal(offsetof(struct sync_entry, flow), 8);
	assert_true(SYNC_MSG_LEN(SYNC_MAX_ENTRIES) <= 1280 - 48); /* IPv6 minimum MTU - IPv6/UDP */
}

static void test_keys(void **state)
{
	uint8_t k1[32], k2[32], k1b[32], parsed[32];
	char hex[65];

	(void)state;
	sync_key_derive(MASTER, 1, k1);
	sync_key_derive(MASTER, 2, k2);
	sync_key_derive(MASTER, 1, k1b);
	assert_memory_equal(k1, k1b, 32);       /* deterministic */
	assert_memory_not_equal(k1, k2, 32);    /* one key per backend */
	assert_memory_not_equal(k1, MASTER, 32);
	sync_key_format(k1, hex);
	assert_int_equal(strlen(hex), 64);
	assert_int_equal(sync_key_parse(hex, parsed), 0);
	assert_memory_equal(parsed, k1, 32);
	assert_int_equal(sync_key_parse("abc", parsed), -1);
	hex[5] = 'g';
	assert_int_equal(sync_key_parse(hex, parsed), -1);
}

static size_t sample(uint8_t *buf, const uint8_t key[32], struct sync_entry *e, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		memset(&e[i], 0, sizeof(e[i]));
		e[i].op = i % 2 ? SYNC_OP_FLOW_ADD : SYNC_OP_TOKEN_ADD;
		e[i].token = 0xdeadbe00u + i;
		e[i].flow.family = MPLB_FAMILY_V4;
		e[i].flow.proto = 6;
		e[i].flow.src[0] = htonl(0x0a000001 + i);
		e[i].flow.dst[0] = htonl(0x0ac80001);
		e[i].flow.sport = htons((uint16_t)(40000 + i));
		e[i].flow.dport = htons(80);
	}
	return sync_msg_build(buf, key, SYNC_T_UPDATE, 7, 111, 42, 1234567890123ull, e, n);
}

static void test_round_trip(void **state)
{
	uint8_t key[32], buf[SYNC_MSG_LEN(SYNC_MAX_ENTRIES)];
	struct sync_entry e[SYNC_MAX_ENTRIES], got;
	struct sync_hdr h;

	(void)state;
	sync_key_derive(MASTER, 7, key);
	for (unsigned n = 0; n <= SYNC_MAX_ENTRIES; n += 8) {
		size_t len = sample(buf, key, e, n);
		assert_int_equal(len, SYNC_MSG_LEN(n));
		assert_int_equal(sync_msg_parse(buf, len, &h), (int)n);
		assert_int_equal(h.backend_id, 7);
		assert_int_equal(h.epoch, 111);
		assert_int_equal(h.seq, 42);
		assert_int_equal(h.sent_ns, 1234567890123ull);
		assert_true(sync_msg_mac_ok(buf, len, key));
		for (unsigned i = 0; i < n; i++) {
			sync_msg_entry(buf, i, &got);
			assert_memory_equal(&got, &e[i], sizeof(got));
		}
	}
	/* the token travels in network order */
	sample(buf, key, e, 1);
	assert_int_equal(buf[sizeof(struct sync_hdr) + 4], 0xde);
}

static void test_tamper(void **state)
{
	uint8_t key[32], other[32], buf[SYNC_MSG_LEN(4)];
	struct sync_entry e[4];
	struct sync_hdr h;
	size_t len;

	(void)state;
	sync_key_derive(MASTER, 7, key);
	sync_key_derive(MASTER, 8, other);
	len = sample(buf, key, e, 4);
	/* The wrong backend's key: another backend cannot speak for id 7. */
	assert_false(sync_msg_mac_ok(buf, len, other));
	/* Any flipped bit: header, entries or MAC. */
	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x01;
		assert_false(sync_msg_mac_ok(buf, len, key));
		buf[i] ^= 0x01;
	}
	assert_true(sync_msg_mac_ok(buf, len, key));
	/* Structure: truncated, padded, wrong count, wrong magic or version. */
	assert_int_equal(sync_msg_parse(buf, len - 1, &h), -1);
	assert_int_equal(sync_msg_parse(buf, 10, &h), -1);
	uint8_t big[sizeof(buf) + 1];
	memcpy(big, buf, len);
	big[len] = 0;
	assert_int_equal(sync_msg_parse(big, len + 1, &h), -1);
	buf[7] = 5; /* count (low byte) */
	assert_int_equal(sync_msg_parse(buf, len, &h), -1);
	buf[7] = 4;
	buf[0] ^= 0xff;
	assert_int_equal(sync_msg_parse(buf, len, &h), -1);
	buf[0] ^= 0xff;
	buf[4] = 2;
	assert_int_equal(sync_msg_parse(buf, len, &h), -1);
	buf[4] = SYNC_VERSION;
	buf[6] = 0x01, buf[7] = 0x00; /* count 256 > SYNC_MAX_ENTRIES */
	assert_int_equal(sync_msg_parse(buf, len, &h), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_tamper),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
