// SPDX-License-Identifier: MIT
/*
 * Unit tests for the MPTCP option codec: every form of every subtype, round
 * trips both ways, every rejection with its reason, truncation at every cut
 * point (exact-size heap copies, so ASan catches overreads), the TCP option
 * walk, and the name helpers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mptcp_opt.h"

#define CTX_ANY ((struct mptcp_parse_ctx){ 0 })
#define CTX_FLAGS(f) ((struct mptcp_parse_ctx){ .tcp_flags = (f), .tcp_flags_known = true })
#define SYN 0x02
#define ACK 0x10
static const struct mptcp_parse_ctx ctx_v0 = { .v0 = true };
static const struct mptcp_parse_ctx ctx_strict = { .rfc_strict = true };

/* ---- helpers ---- */

/* A byte string built up field by field. */
struct bytes {
	uint8_t b[64];
	size_t n;
};

static void put(struct bytes *s, int count, ...)
{
	va_list ap;

	va_start(ap, count);
	for (int i = 0; i < count; i++)
		s->b[s->n++] = (uint8_t)va_arg(ap, int);
	va_end(ap);
}

static void put_be(struct bytes *s, uint64_t v, int width)
{
	for (int i = width - 1; i >= 0; i--)
		s->b[s->n++] = (uint8_t)(v >> (8 * i));
}

/* Kind, Length (patched by finish), subtype byte, optional byte 3. */
static struct bytes opt_start(uint8_t byte2)
{
	struct bytes s = { .n = 0 };

	put(&s, 3, TCPOPT_MPTCP, 0, byte2);
	return s;
}

static void finish(struct bytes *s)
{
	s->b[1] = (uint8_t)s->n;
}

/* Parse from an exact-size heap copy so a read past avail trips ASan. */
static int parse_exact(const uint8_t *bytes, size_t avail,
		       const struct mptcp_parse_ctx *ctx, struct mptcp_opt *o,
		       const char **why)
{
	uint8_t *copy = malloc(avail ? avail : 1);
	int err;

	assert_non_null(copy);
	memcpy(copy, bytes, avail);
	err = mptcp_opt_parse(copy, avail, ctx, o, why);
	free(copy);
	return err;
}

/* Every proper prefix must be reported truncated, without overreading. */
static void check_truncations(const uint8_t *bytes, size_t len,
			      const struct mptcp_parse_ctx *ctx)
{
	for (size_t cut = 0; cut < len; cut++) {
		struct mptcp_opt o;
		const char *why = NULL;

		assert_int_equal(parse_exact(bytes, cut, ctx, &o, &why), MPTCP_E_TRUNCATED);
		assert_non_null(why);
	}
}

/* Accept, rebuild byte for byte, read back equal; then all truncations. */
static struct mptcp_opt accept_roundtrip(const struct bytes *s,
					 const struct mptcp_parse_ctx *ctx)
{
	struct mptcp_opt o, again;
	const char *why = "unset";
	uint8_t out[TCP_MAX_OPTION_SPACE];
	uint8_t *exact;
	int len;

	if (parse_exact(s->b, s->n, ctx, &o, &why) != MPTCP_OK)
		fail_msg("rejected: %s", why);
	assert_null(why);
	assert_int_equal(o.len, s->n);
	len = mptcp_opt_build(&o, out, sizeof(out));
	assert_int_equal(len, s->n);
	assert_memory_equal(out, s->b, s->n);
	exact = malloc(s->n);
	assert_non_null(exact);
	assert_int_equal(mptcp_opt_build(&o, exact, s->n), s->n);
	assert_int_equal(mptcp_opt_build(&o, exact, s->n - 1), MPTCP_E_SPACE);
	free(exact);
	assert_int_equal(mptcp_opt_parse(out, (size_t)len, ctx, &again, NULL), MPTCP_OK);
	assert_true(mptcp_opt_equal(&o, &again));
	assert_int_equal(again.dialect, o.dialect);
	assert_int_equal(again.phase, o.phase);
	check_truncations(s->b, s->n, ctx);
	return o;
}

static void expect_reject(const struct bytes *s, const struct mptcp_parse_ctx *ctx,
			  int err, const char *needle)
{
	struct mptcp_opt o;
	const char *why = NULL;
	int got = parse_exact(s->b, s->n, ctx, &o, &why);

	if (got != err)
		fail_msg("want %s, got %s (%s) for '%s'", mptcp_err_name(err),
			 mptcp_err_name(got), why ? why : "-", needle);
	assert_non_null(why);
	if (!strstr(why, needle))
		fail_msg("reason '%s' does not mention '%s'", why, needle);
	assert_int_equal(o.subtype, 0); /* zeroed on error */
}

static const uint64_t KEY_A = 0x0123456789abcdefULL, KEY_B = 0xfedcba9876543210ULL;

/* ---- MP_CAPABLE ---- */

static struct bytes mpc(uint8_t version, uint8_t flags, int keys, int data, int csum)
{
	struct bytes s = opt_start(MPTCPOPT_MP_CAPABLE << 4 | version);

	put(&s, 1, flags);
	if (keys >= 1)
		put_be(&s, KEY_A, 8);
	if (keys >= 2)
		put_be(&s, KEY_B, 8);
	if (data)
		put_be(&s, 1460, 2);
	if (csum)
		put_be(&s, 0xbeef, 2);
	finish(&s);
	return s;
}

static void test_mpc_v1_forms(void **state)
{
	(void)state;
	struct bytes s;
	struct mptcp_opt o;

	s = mpc(1, 0x81, 0, 0, 0);
	o = accept_roundtrip(&s, &CTX_FLAGS(SYN));
	assert_int_equal(o.subtype, MPTCPOPT_MP_CAPABLE);
	assert_int_equal(o.phase, MPTCP_PHASE_SYN);
	assert_int_equal(o.dialect, MPTCP_DIALECT_RFC8684);
	assert_int_equal(o.u.mpc.version, 1);
	assert_int_equal(o.u.mpc.flags, 0x81);
	assert_false(o.u.mpc.has_snd_key);

	s = mpc(1, MPTCP_CAP_DENY_JOIN_ID0 | MPTCP_CAP_HMAC_SHA256, 1, 0, 0);
	o = accept_roundtrip(&s, &CTX_FLAGS(SYN | ACK));
	assert_int_equal(o.phase, MPTCP_PHASE_SYNACK);
	assert_true(o.u.mpc.has_snd_key);
	assert_false(o.u.mpc.has_rcv_key);
	assert_true(o.u.mpc.snd_key == KEY_A);
	assert_int_equal(o.u.mpc.flags & MPTCP_CAP_DENY_JOIN_ID0, MPTCP_CAP_DENY_JOIN_ID0);

	s = mpc(1, 0x81, 2, 0, 0);
	o = accept_roundtrip(&s, &CTX_FLAGS(ACK));
	assert_int_equal(o.phase, MPTCP_PHASE_ACK);
	assert_true(o.u.mpc.snd_key == KEY_A && o.u.mpc.rcv_key == KEY_B);

	s = mpc(1, 0x01, 2, 1, 0);
	o = accept_roundtrip(&s, &CTX_ANY);
	assert_int_equal(o.phase, MPTCP_PHASE_ACK_DATA);
	assert_true(o.u.mpc.has_data_len);
	assert_false(o.u.mpc.has_csum);
	assert_int_equal(o.u.mpc.data_len, 1460);

	s = mpc(1, 0x81, 2, 1, 1);
	o = accept_roundtrip(&s, &CTX_ANY);
	assert_true(o.u.mpc.has_csum);
	assert_int_equal(o.u.mpc.csum, 0xbeef);

	/* A=0 with a checksum: the peer's A may have asked for it. */
	s = mpc(1, 0x01, 2, 1, 1);
	accept_roundtrip(&s, &CTX_ANY);
	/* Several algorithms offered on the SYN is fine. */
	s = mpc(1, 0x13, 0, 0, 0);
	accept_roundtrip(&s, &CTX_ANY);
}

static void test_mpc_v0_forms(void **state)
{
	(void)state;
	struct bytes s;
	struct mptcp_opt o;

	s = mpc(0, 0x81, 1, 0, 0);
	o = accept_roundtrip(&s, &CTX_FLAGS(SYN));
	assert_int_equal(o.dialect, MPTCP_DIALECT_V0);
	assert_int_equal(o.phase, MPTCP_PHASE_SYN);
	assert_true(o.u.mpc.snd_key == KEY_A);
	o = accept_roundtrip(&s, &CTX_FLAGS(SYN | ACK));
	assert_int_equal(o.phase, MPTCP_PHASE_SYNACK);
	o = accept_roundtrip(&s, &CTX_ANY); /* unknown flags: reported as SYN */
	assert_int_equal(o.phase, MPTCP_PHASE_SYN);

	s = mpc(0, 0x81, 2, 0, 0);
	o = accept_roundtrip(&s, &CTX_FLAGS(ACK));
	assert_int_equal(o.dialect, MPTCP_DIALECT_V0);
	assert_int_equal(o.phase, MPTCP_PHASE_ACK);
	assert_true(o.u.mpc.rcv_key == KEY_B);

	/* v0 C..H are all crypto bits, so C alone is an algorithm. */
	s = mpc(0, MPTCP_CAP_DENY_JOIN_ID0, 1, 0, 0);
	accept_roundtrip(&s, &CTX_ANY);
}

static void test_mpc_rejections(void **state)
{
	(void)state;
	struct bytes s;

	s = mpc(1, 0x81, 1, 0, 0);
	put_be(&s, 0, 4);
	finish(&s); /* length 16 */
	expect_reject(&s, &CTX_ANY, MPTCP_E_LENGTH, "4/12/20/22/24");
	s = opt_start(0x01);
	finish(&s); /* length 3: no flags byte */
	expect_reject(&s, &CTX_ANY, MPTCP_E_LENGTH, "MP_CAPABLE length");
	s = mpc(2, 0x81, 0, 0, 0);
	expect_reject(&s, &CTX_ANY, MPTCP_E_VERSION, "version");
	s = mpc(0, 0x81, 0, 0, 0);
	expect_reject(&s, &CTX_ANY, MPTCP_E_LENGTH, "version 0");
	s = mpc(0, 0x81, 2, 1, 0);
	expect_reject(&s, &CTX_ANY, MPTCP_E_LENGTH, "version 0");
	s = mpc(1, MPTCP_CAP_EXTENSIBILITY | 0x01, 0, 0, 0);
	expect_reject(&s, &CTX_ANY, MPTCP_E_FLAGS, "B (extensibility)");
	s = mpc(0, MPTCP_CAP_EXTENSIBILITY | 0x01, 1, 0, 0);
	expect_reject(&s, &CTX_ANY, MPTCP_E_FLAGS, "B (extensibility)");
	s = mpc(1, MPTCP_CAP_CHECKSUM_REQD | MPTCP_CAP_DENY_JOIN_ID0, 0, 0, 0);
	expect_reject(&s, &CTX_ANY, MPTCP_E_FLAGS, "D..H all zero");
	s = mpc(0, MPTCP_CAP_CHECKSUM_REQD, 1, 0, 0);
	expect_reject(&s, &CTX_ANY, MPTCP_E_FLAGS, "C..H all zero");
	s = mpc(1, 0x03, 1, 0, 0);
	expect_reject(&s, &CTX_ANY, MPTCP_E_FLAGS, "exactly one");
	s = mpc(0, 0x03, 1, 0, 0);
	expect_reject(&s, &CTX_FLAGS(SYN | ACK), MPTCP_E_FLAGS, "exactly one");
	s = mpc(1, 0x81, 2, 1, 0);
	expect_reject(&s, &CTX_ANY, MPTCP_E_FLAGS, "no checksum");

	/* TCP flag consistency */
	s = mpc(1, 0x81, 0, 0, 0);
	expect_reject(&s, &CTX_FLAGS(SYN | ACK), MPTCP_E_FLAGS, "length 4 is only valid on a SYN");
	expect_reject(&s, &CTX_FLAGS(ACK), MPTCP_E_FLAGS, "length 4 is only valid on a SYN");
	s = mpc(1, 0x81, 1, 0, 0);
	expect_reject(&s, &CTX_FLAGS(SYN), MPTCP_E_FLAGS, "SYN/ACK");
	expect_reject(&s, &CTX_FLAGS(ACK), MPTCP_E_FLAGS, "SYN/ACK");
	s = mpc(1, 0x81, 2, 0, 0);
	expect_reject(&s, &CTX_FLAGS(SYN | ACK), MPTCP_E_FLAGS, "ACK without SYN");
	expect_reject(&s, &CTX_FLAGS(0), MPTCP_E_FLAGS, "ACK without SYN");
	s = mpc(1, 0x81, 2, 1, 1);
	expect_reject(&s, &CTX_FLAGS(SYN), MPTCP_E_FLAGS, "ACK without SYN");
	s = mpc(0, 0x81, 1, 0, 0);
	expect_reject(&s, &CTX_FLAGS(ACK), MPTCP_E_FLAGS, "version 0 length 12");
	s = mpc(0, 0x81, 2, 0, 0);
	expect_reject(&s, &CTX_FLAGS(SYN), MPTCP_E_FLAGS, "ACK without SYN");
}

/* ---- MP_JOIN ---- */

static void test_mpj_forms(void **state)
{
	(void)state;
	struct bytes s;
	struct mptcp_opt o;
	uint8_t hmac160[20];

	s = opt_start(MPTCPOPT_MP_JOIN << 4 | MPTCP_JOIN_BACKUP);
	put(&s, 1, 7);
	put_be(&s, 0xa1b2c3d4, 4);
	put_be(&s, 0x01020304, 4);
	finish(&s);
	o = accept_roundtrip(&s, &CTX_FLAGS(SYN));
	assert_int_equal(o.phase, MPTCP_PHASE_SYN);
	assert_true(o.u.join.backup);
	assert_int_equal(o.u.join.prio, 0);
	assert_int_equal(o.u.join.addr_id, 7);
	assert_int_equal(o.u.join.token, 0xa1b2c3d4);
	assert_int_equal(o.u.join.nonce, 0x01020304);
	assert_int_equal(o.dialect, MPTCP_DIALECT_RFC8684);

	s = opt_start(MPTCPOPT_MP_JOIN << 4);
	put(&s, 1, 2);
	put_be(&s, 0x1122334455667788ULL, 8);
	put_be(&s, 0x05060708, 4);
	finish(&s);
	o = accept_roundtrip(&s, &CTX_FLAGS(SYN | ACK));
	assert_int_equal(o.phase, MPTCP_PHASE_SYNACK);
	assert_false(o.u.join.backup);
	assert_true(o.u.join.hmac64 == 0x1122334455667788ULL);
	assert_int_equal(o.u.join.nonce, 0x05060708);

	s = opt_start(MPTCPOPT_MP_JOIN << 4 | 0x3);
	put(&s, 1, 0x45); /* reserved bits: kept for the round trip */
	for (int i = 0; i < 20; i++)
		hmac160[i] = (uint8_t)(0xa0 + i);
	memcpy(s.b + s.n, hmac160, 20);
	s.n += 20;
	finish(&s);
	o = accept_roundtrip(&s, &CTX_FLAGS(ACK));
	assert_int_equal(o.phase, MPTCP_PHASE_ACK);
	assert_int_equal(o.u.join.reserved, 0x345);
	assert_memory_equal(o.u.join.hmac160, hmac160, 20);

	/* DRAFT priority bits on SYN and SYN/ACK */
	s = opt_start(MPTCPOPT_MP_JOIN << 4 | 5 << MPTCP_DRAFT_PRIO_SHIFT | 1);
	put(&s, 1, 3);
	put_be(&s, 0xa1b2c3d4, 4);
	put_be(&s, 0x01020304, 4);
	finish(&s);
	o = accept_roundtrip(&s, &CTX_ANY);
	assert_int_equal(o.dialect, MPTCP_DIALECT_DRAFT);
	assert_int_equal(o.u.join.prio, 5);
	assert_true(o.u.join.backup);
	expect_reject(&s, &ctx_strict, MPTCP_E_FLAGS, "draft-only");

	s = opt_start(MPTCPOPT_MP_JOIN << 4 | 7 << MPTCP_DRAFT_PRIO_SHIFT);
	put(&s, 1, 2);
	put_be(&s, 1, 8);
	put_be(&s, 2, 4);
	finish(&s);
	o = accept_roundtrip(&s, &CTX_ANY);
	assert_int_equal(o.dialect, MPTCP_DIALECT_DRAFT);
	assert_int_equal(o.u.join.prio, 7);
}

static void test_mpj_rejections(void **state)
{
	(void)state;
	struct bytes s = opt_start(MPTCPOPT_MP_JOIN << 4);

	put(&s, 1, 0);
	put_be(&s, 0, 8);
	put_be(&s, 0, 1);
	finish(&s); /* 13 */
	expect_reject(&s, &CTX_ANY, MPTCP_E_LENGTH, "12 (SYN), 16 (SYN/ACK) or 24 (ACK)");
	s.n = 3;
	finish(&s);
	expect_reject(&s, &CTX_ANY, MPTCP_E_LENGTH, "MP_JOIN length");

	s.n = 12;
	finish(&s);
	expect_reject(&s, &CTX_FLAGS(SYN | ACK), MPTCP_E_FLAGS, "length 12 is only valid on a SYN");
	expect_reject(&s, &CTX_FLAGS(ACK), MPTCP_E_FLAGS, "length 12 is only valid on a SYN");
	s.n = 16;
	finish(&s);
	expect_reject(&s, &CTX_FLAGS(SYN), MPTCP_E_FLAGS, "length 16 is only valid on a SYN/ACK");
	expect_reject(&s, &CTX_FLAGS(ACK), MPTCP_E_FLAGS, "length 16");
	s.n = 24;
	finish(&s);
	expect_reject(&s, &CTX_FLAGS(SYN | ACK), MPTCP_E_FLAGS, "length 24 is only valid on an ACK");
	expect_reject(&s, &CTX_FLAGS(0), MPTCP_E_FLAGS, "length 24");
}

/* ---- DSS: every flag combination ---- */

static void test_dss_all_flags(void **state)
{
	(void)state;
	int accepted = 0;

	for (int flags = 0; flags < 32; flags++) {
		bool A = flags & MPTCP_DSS_HAS_ACK, a = flags & MPTCP_DSS_ACK64;
		bool M = flags & MPTCP_DSS_HAS_MAP, m = flags & MPTCP_DSS_DSN64;

		for (int csum = 0; csum < 2; csum++) {
			struct bytes s = opt_start(MPTCPOPT_DSS << 4);
			size_t expected = 4 + (A ? (a ? 8 : 4) : 0) +
					  (M ? (m ? 14 : 10) + (csum ? 2 : 0) : 0);

			put(&s, 1, flags);
			if (A)
				put_be(&s, 0x1122334455667788ULL, a ? 8 : 4);
			if (M) {
				put_be(&s, 0x99aabbccddeeff00ULL, m ? 8 : 4);
				put_be(&s, 0x01020304, 4);
				put_be(&s, 1400, 2);
				if (csum)
					put_be(&s, 0xcafe, 2);
			}
			finish(&s);
			assert_int_equal(s.n, expected);
			if (a && !A) {
				expect_reject(&s, &CTX_ANY, MPTCP_E_FLAGS, "without A");
				continue;
			}
			if (m && !M) {
				expect_reject(&s, &CTX_ANY, MPTCP_E_FLAGS, "without M");
				continue;
			}
			if (csum && !M)
				continue; /* no mapping: same bytes as csum == 0 */

			struct mptcp_opt o = accept_roundtrip(&s, &CTX_ANY);
			struct mptcp_opt_dss *d = &o.u.dss;

			accepted++;
			assert_int_equal(o.subtype, MPTCPOPT_DSS);
			assert_int_equal(d->flags, flags);
			assert_int_equal(d->has_ack, A);
			assert_int_equal(d->ack64, a);
			assert_int_equal(d->has_map, M);
			assert_int_equal(d->dsn64, m);
			assert_int_equal(d->data_fin, !!(flags & MPTCP_DSS_DATA_FIN));
			assert_int_equal(d->has_csum, csum && M);
			if (A)
				assert_true(d->data_ack == (a ? 0x1122334455667788ULL : 0x55667788));
			if (M) {
				assert_true(d->dsn == (m ? 0x99aabbccddeeff00ULL : 0xddeeff00));
				assert_int_equal(d->ssn, 0x01020304);
				assert_int_equal(d->data_len, 1400);
				assert_int_equal(d->csum, csum ? 0xcafe : 0);
			}

			/* Every other length with these flags is refused. */
			for (size_t len = 4; len <= TCP_MAX_OPTION_SPACE; len++) {
				struct bytes t = s;

				if (len == expected - (csum ? 2 : 0) ||
				    (M && len == expected + (csum ? 0 : 2)))
					continue;
				memset(t.b + s.n, 0, sizeof(t.b) - s.n);
				t.n = len;
				finish(&t);
				expect_reject(&t, &CTX_ANY, MPTCP_E_LENGTH, "DSS length does not match");
			}
		}
	}
	/* 32 combos, 8 with a-without-A... : (4 A/a choices valid: 3) x (M/m: 3) x F(2), + csum with M */
	assert_int_equal(accepted, 3 * 3 * 2 + 3 * 2 * 2);
}

static void test_dss_reserved_and_short(void **state)
{
	(void)state;
	struct bytes s = opt_start(MPTCPOPT_DSS << 4 | 0xa);
	struct mptcp_opt o;

	put(&s, 1, 0xe0 | MPTCP_DSS_HAS_ACK);
	put_be(&s, 42, 4);
	finish(&s);
	o = accept_roundtrip(&s, &CTX_ANY);
	assert_int_equal(o.u.dss.reserved, 0xa << 3 | 0x7);
	assert_int_equal(o.u.dss.flags, MPTCP_DSS_HAS_ACK);

	s = opt_start(MPTCPOPT_DSS << 4);
	finish(&s);
	expect_reject(&s, &CTX_ANY, MPTCP_E_LENGTH, "DSS length is below 4");
}

/* ---- ADD_ADDR ---- */

struct add_addr_case {
	uint8_t len;
	bool v6, attr, port, hmac, v0;
	enum mptcp_dialect dialect;
};

static const struct add_addr_case add_addr_cases[] = {
	/* RFC 8684: E=0 with HMAC, E=1 without */
	{ 16, false, false, false, true, false, MPTCP_DIALECT_RFC8684 },
	{ 18, false, false, true, true, false, MPTCP_DIALECT_RFC8684 },
	{ 28, true, false, false, true, false, MPTCP_DIALECT_RFC8684 },
	{ 30, true, false, true, true, false, MPTCP_DIALECT_RFC8684 },
	{ 8, false, false, false, false, false, MPTCP_DIALECT_RFC8684 },
	{ 10, false, false, true, false, false, MPTCP_DIALECT_RFC8684 },
	{ 20, true, false, false, false, false, MPTCP_DIALECT_RFC8684 },
	{ 22, true, false, true, false, false, MPTCP_DIALECT_RFC8684 },
	/* DRAFT attribute octet */
	{ 17, false, true, false, true, false, MPTCP_DIALECT_DRAFT },
	{ 19, false, true, true, true, false, MPTCP_DIALECT_DRAFT },
	{ 29, true, true, false, true, false, MPTCP_DIALECT_DRAFT },
	{ 31, true, true, true, true, false, MPTCP_DIALECT_DRAFT },
	{ 9, false, true, false, false, false, MPTCP_DIALECT_DRAFT },
	{ 11, false, true, true, false, false, MPTCP_DIALECT_DRAFT },
	{ 21, true, true, false, false, false, MPTCP_DIALECT_DRAFT },
	{ 23, true, true, true, false, false, MPTCP_DIALECT_DRAFT },
	/* V0: IPVer nibble, no HMAC */
	{ 8, false, false, false, false, true, MPTCP_DIALECT_V0 },
	{ 10, false, false, true, false, true, MPTCP_DIALECT_V0 },
	{ 20, true, false, false, false, true, MPTCP_DIALECT_V0 },
	{ 22, true, false, true, false, true, MPTCP_DIALECT_V0 },
};

static const uint8_t ADDR6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };
static const uint8_t ADDR4[4] = { 10, 0, 1, 2 };

static struct bytes add_addr_bytes(const struct add_addr_case *c, uint8_t attr_octet)
{
	uint8_t nibble = c->v0 ? (c->v6 ? 6 : 4) : (c->hmac ? 0 : MPTCP_ADDR_ECHO);
	struct bytes s = opt_start(MPTCPOPT_ADD_ADDR << 4 | nibble);

	put(&s, 1, 9);
	memcpy(s.b + s.n, c->v6 ? ADDR6 : ADDR4, c->v6 ? 16 : 4);
	s.n += c->v6 ? 16 : 4;
	if (c->attr)
		put(&s, 1, attr_octet);
	if (c->port)
		put_be(&s, 8080, 2);
	if (c->hmac)
		put_be(&s, 0x0102030405060708ULL, 8);
	finish(&s);
	return s;
}

static void test_add_addr_forms(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof(add_addr_cases) / sizeof(add_addr_cases[0]); i++) {
		const struct add_addr_case *c = &add_addr_cases[i];
		/* community 5, prio 6, backup */
		struct bytes s = add_addr_bytes(c, 5 << 4 | 6 << 1 | 1);
		struct mptcp_opt o;
		const struct mptcp_opt_add_addr *aa = &o.u.add_addr;

		assert_int_equal(s.n, c->len);
		o = accept_roundtrip(&s, c->v0 ? &ctx_v0 : &CTX_ANY);
		assert_int_equal(o.subtype, MPTCPOPT_ADD_ADDR);
		assert_int_equal(o.dialect, c->dialect);
		assert_int_equal(aa->addr_id, 9);
		assert_int_equal(aa->addr.family, c->v6 ? 6 : 4);
		assert_memory_equal(aa->addr.addr, c->v6 ? ADDR6 : ADDR4, c->v6 ? 16 : 4);
		assert_int_equal(aa->echo, !c->v0 && !c->hmac);
		assert_int_equal(aa->has_port, c->port);
		assert_int_equal(aa->port, c->port ? 8080 : 0);
		assert_int_equal(aa->has_hmac, c->hmac);
		assert_true(aa->hmac == (c->hmac ? 0x0102030405060708ULL : 0));
		assert_int_equal(aa->has_attr, c->attr);
		assert_int_equal(aa->community, c->attr ? 5 : 0);
		assert_int_equal(aa->prio, c->attr ? 6 : 0);
		assert_int_equal(aa->backup, c->attr);

		if (c->attr) {
			expect_reject(&s, &ctx_strict, MPTCP_E_LENGTH, "draft-only");
		} else if (!c->v0) {
			/* strict accepts RFC forms; v0 ctx only changes 8/10/20/22 */
			accept_roundtrip(&s, &ctx_strict);
			if (c->hmac)
				accept_roundtrip(&s, &ctx_v0);
			else
				expect_reject(&s, &ctx_v0, MPTCP_E_FLAGS, "IPVer");
		} else {
			expect_reject(&s, &CTX_ANY, MPTCP_E_FLAGS, "must be an echo");
			accept_roundtrip(&s, &(struct mptcp_parse_ctx){ .v0 = true, .rfc_strict = true });
		}
	}
}

static void test_add_addr_rejections(void **state)
{
	(void)state;
	struct bytes s;
	struct mptcp_opt o;

	for (int len = 0; len <= TCP_MAX_OPTION_SPACE; len++) {
		bool known = false;

		for (size_t i = 0; i < sizeof(add_addr_cases) / sizeof(add_addr_cases[0]); i++)
			known |= add_addr_cases[i].len == len;
		if (known || len < 3)
			continue;
		s = opt_start(MPTCPOPT_ADD_ADDR << 4);
		memset(s.b + 3, 0, sizeof(s.b) - 3);
		s.n = (size_t)len;
		finish(&s);
		expect_reject(&s, &CTX_ANY, MPTCP_E_LENGTH, "8/10/16/18/20/22/28/30");
	}

	/* E=1 with an HMAC */
	s = add_addr_bytes(&add_addr_cases[0], 0);
	s.b[2] |= MPTCP_ADDR_ECHO;
	expect_reject(&s, &CTX_ANY, MPTCP_E_FLAGS, "echo (E=1) carries an HMAC");
	/* E=0 without HMAC */
	s = add_addr_bytes(&add_addr_cases[4], 0);
	s.b[2] &= 0xf0;
	expect_reject(&s, &CTX_ANY, MPTCP_E_FLAGS, "must be an echo");
	/* the draft's leftmost E (0x08) is reserved here, so this is E=0 */
	s.b[2] |= 0x08;
	expect_reject(&s, &CTX_ANY, MPTCP_E_FLAGS, "must be an echo");
	/* v0 IPVer must agree with the length */
	s = add_addr_bytes(&add_addr_cases[16], 0);
	s.b[2] = MPTCPOPT_ADD_ADDR << 4 | 6;
	expect_reject(&s, &ctx_v0, MPTCP_E_FLAGS, "IPVer");

	/* reserved bits left of E are kept, not rejected */
	s = add_addr_bytes(&add_addr_cases[4], 0);
	s.b[2] = MPTCPOPT_ADD_ADDR << 4 | 0xf;
	o = accept_roundtrip(&s, &CTX_ANY);
	assert_true(o.u.add_addr.echo);
	assert_int_equal(o.u.add_addr.reserved, 7);
}

/* ---- REMOVE_ADDR, MP_PRIO, MP_FAIL, MP_FASTCLOSE, MP_TCPRST, MP_EXPERIMENTAL ---- */

static void test_rm_addr(void **state)
{
	(void)state;
	struct bytes s = opt_start(MPTCPOPT_RM_ADDR << 4);
	struct mptcp_opt o;

	put(&s, 1, 4);
	finish(&s);
	o = accept_roundtrip(&s, &CTX_ANY);
	assert_int_equal(o.u.rm_addr.n, 1);
	assert_int_equal(o.u.rm_addr.ids[0], 4);

	s = opt_start(MPTCPOPT_RM_ADDR << 4 | 0x3);
	for (int i = 0; i < 37; i++)
		put(&s, 1, i + 1);
	finish(&s); /* 40: the whole option space */
	o = accept_roundtrip(&s, &CTX_ANY);
	assert_int_equal(o.u.rm_addr.n, 37);
	assert_int_equal(o.u.rm_addr.ids[36], 37);
	assert_int_equal(o.u.rm_addr.reserved, 3);

	put(&s, 1, 38);
	finish(&s); /* 41 */
	expect_reject(&s, &CTX_ANY, MPTCP_E_LENGTH, "40-byte");

	s = opt_start(MPTCPOPT_RM_ADDR << 4);
	finish(&s);
	expect_reject(&s, &CTX_ANY, MPTCP_E_LENGTH, "n >= 1");
}

static void test_mp_prio(void **state)
{
	(void)state;
	struct bytes s = opt_start(MPTCPOPT_MP_PRIO << 4 | MPTCP_PRIO_BACKUP);
	struct mptcp_opt o;

	finish(&s);
	o = accept_roundtrip(&s, &CTX_ANY);
	assert_true(o.u.prio.backup);
	assert_false(o.u.prio.has_addr_id);
	assert_int_equal(o.dialect, MPTCP_DIALECT_RFC8684);
	accept_roundtrip(&s, &ctx_strict);

	put(&s, 1, 6);
	finish(&s);
	o = accept_roundtrip(&s, &CTX_ANY);
	assert_int_equal(o.dialect, MPTCP_DIALECT_V0);
	assert_true(o.u.prio.has_addr_id);
	assert_int_equal(o.u.prio.addr_id, 6);
	accept_roundtrip(&s, &ctx_strict); /* v0 is not draft */

	s = opt_start(MPTCPOPT_MP_PRIO << 4 | 4 << MPTCP_DRAFT_PRIO_SHIFT);
	finish(&s);
	o = accept_roundtrip(&s, &CTX_ANY);
	assert_int_equal(o.dialect, MPTCP_DIALECT_DRAFT);
	assert_int_equal(o.u.prio.prio, 4);
	assert_false(o.u.prio.backup);
	expect_reject(&s, &ctx_strict, MPTCP_E_FLAGS, "draft-only");
	put(&s, 1, 2);
	finish(&s);
	o = accept_roundtrip(&s, &CTX_ANY);
	assert_int_equal(o.dialect, MPTCP_DIALECT_DRAFT);
	assert_int_equal(o.u.prio.addr_id, 2);

	put(&s, 1, 0);
	finish(&s);
	expect_reject(&s, &CTX_ANY, MPTCP_E_LENGTH, "MP_PRIO length");
}

static void test_fail_fastclose(void **state)
{
	(void)state;
	struct bytes s = opt_start(MPTCPOPT_MP_FAIL << 4 | 0x1);
	struct mptcp_opt o;

	put(&s, 1, 0x23);
	put_be(&s, 0x1000200030004000ULL, 8);
	finish(&s);
	o = accept_roundtrip(&s, &CTX_ANY);
	assert_true(o.u.fail.dsn == 0x1000200030004000ULL);
	assert_int_equal(o.u.fail.reserved, 0x123);
	put(&s, 1, 0);
	finish(&s);
	expect_reject(&s, &CTX_ANY, MPTCP_E_LENGTH, "MP_FAIL length is not 12");

	s = opt_start(MPTCPOPT_MP_FASTCLOSE << 4);
	put(&s, 1, 0);
	put_be(&s, KEY_B, 8);
	finish(&s);
	o = accept_roundtrip(&s, &CTX_ANY);
	assert_true(o.u.fastclose.key == KEY_B);
	s.n = 11;
	finish(&s);
	expect_reject(&s, &CTX_ANY, MPTCP_E_LENGTH, "MP_FASTCLOSE length is not 12");
}

static void test_tcprst_experimental(void **state)
{
	(void)state;
	struct bytes s = opt_start(MPTCPOPT_MP_TCPRST << 4 | MPTCP_TCPRST_TRANSIENT);
	struct mptcp_opt o;

	put(&s, 1, MPTCP_TCPRST_EMIDDLEBOX);
	finish(&s);
	o = accept_roundtrip(&s, &CTX_ANY);
	assert_true(o.u.tcprst.transient);
	assert_int_equal(o.u.tcprst.flags, 1);
	assert_int_equal(o.u.tcprst.reason, MPTCP_TCPRST_EMIDDLEBOX);
	s.n = 3;
	finish(&s);
	expect_reject(&s, &CTX_ANY, MPTCP_E_LENGTH, "MP_TCPRST length is not 4");

	s = opt_start(MPTCPOPT_MP_EXPERIMENTAL << 4 | 0x9);
	finish(&s);
	o = accept_roundtrip(&s, &CTX_ANY);
	assert_int_equal(o.u.exp.len, 0);
	assert_int_equal(o.u.exp.nibble, 9);
	put(&s, 3, 0xaa, 0xbb, 0xcc);
	finish(&s);
	o = accept_roundtrip(&s, &CTX_ANY);
	assert_int_equal(o.u.exp.len, 3);
	assert_memory_equal(o.u.exp.data, "\xaa\xbb\xcc", 3);
}

static void test_header_rejections(void **state)
{
	(void)state;
	struct mptcp_opt o;
	const char *why;
	uint8_t nop[4] = { TCPOPT_NOP_, 4, 0, 0 };
	struct bytes s;

	for (int sub = 0x9; sub <= 0xe; sub++) {
		s = opt_start((uint8_t)(sub << 4));
		put(&s, 1, 0);
		finish(&s);
		expect_reject(&s, &CTX_ANY, MPTCP_E_SUBTYPE, "unassigned");
	}
	assert_int_equal(parse_exact(nop, sizeof(nop), NULL, &o, &why), MPTCP_E_KIND);
	assert_non_null(strstr(why, "Kind is not 30"));
	s = opt_start(MPTCPOPT_MP_PRIO << 4);
	s.n = 2;
	s.b[1] = 2;
	expect_reject(&s, &CTX_ANY, MPTCP_E_LENGTH, "below 3");
	/* length past avail: truncated, whatever the subtype */
	s = opt_start(MPTCPOPT_MP_PRIO << 4);
	s.b[1] = 40;
	expect_reject(&s, &CTX_ANY, MPTCP_E_TRUNCATED, "past the bytes available");
	/* NULL why and NULL ctx are allowed */
	assert_int_equal(mptcp_opt_parse(nop, 4, NULL, &o, NULL), MPTCP_E_KIND);
}

/* ---- build ---- */

static void test_build_from_fields(void **state)
{
	(void)state;
	struct mptcp_opt o = { .subtype = MPTCPOPT_ADD_ADDR };
	uint8_t out[40];
	static const uint8_t want[] = { 30, 18, 0x30, 3, 192, 0, 2, 1, 0x1f, 0x90,
					1, 2, 3, 4, 5, 6, 7, 8 };

	o.u.add_addr.addr_id = 3;
	o.u.add_addr.addr.family = 4;
	memcpy(o.u.add_addr.addr.addr, "\xc0\x00\x02\x01", 4);
	o.u.add_addr.has_port = true;
	o.u.add_addr.port = 8080;
	o.u.add_addr.has_hmac = true;
	o.u.add_addr.hmac = 0x0102030405060708ULL;
	assert_int_equal(mptcp_opt_build(&o, out, sizeof(out)), sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(mptcp_opt_build(&o, out, sizeof(want) - 1), MPTCP_E_SPACE);

	/* MP_JOIN form chosen by phase, or by len when phase is NONE */
	memset(&o, 0, sizeof(o));
	o.subtype = MPTCPOPT_MP_JOIN;
	o.phase = MPTCP_PHASE_SYN;
	o.u.join.token = 0xdeadbeef;
	assert_int_equal(mptcp_opt_build(&o, out, sizeof(out)), 12);
	assert_int_equal(out[2], 0x10);
	assert_memory_equal(out + 4, "\xde\xad\xbe\xef", 4);
	o.phase = MPTCP_PHASE_NONE;
	o.len = 12;
	assert_int_equal(mptcp_opt_build(&o, out, sizeof(out)), 12);
	o.len = 0;
	assert_int_equal(mptcp_opt_build(&o, out, sizeof(out)), MPTCP_E_INVALID);

	/* v0 ADD_ADDR: neither echo nor HMAC */
	memset(&o, 0, sizeof(o));
	o.subtype = MPTCPOPT_ADD_ADDR;
	o.u.add_addr.addr.family = 6;
	assert_int_equal(mptcp_opt_build(&o, out, sizeof(out)), 20);
	assert_int_equal(out[2], 0x36);
}

static void test_build_invalid(void **state)
{
	(void)state;
	struct mptcp_opt o;
	uint8_t out[40];

#define EXPECT_INVALID() assert_int_equal(mptcp_opt_build(&o, out, sizeof(out)), MPTCP_E_INVALID)
	memset(&o, 0, sizeof(o));
	o.subtype = 0x9;
	EXPECT_INVALID();

	memset(&o, 0, sizeof(o));
	o.subtype = MPTCPOPT_MP_CAPABLE;
	o.u.mpc.version = 1;
	o.u.mpc.flags = 0x81;
	assert_int_equal(mptcp_opt_build(&o, out, sizeof(out)), 4);
	o.len = 12; /* disagrees with the fields */
	EXPECT_INVALID();
	o.len = 0;
	o.u.mpc.has_rcv_key = true; /* receiver key without sender key */
	EXPECT_INVALID();
	o.u.mpc.has_rcv_key = false;
	o.u.mpc.flags = 0x80; /* parse would refuse: no crypto bit */
	EXPECT_INVALID();
	o.u.mpc.flags = 0x81;
	o.u.mpc.version = 17; /* does not fit the nibble */
	EXPECT_INVALID();
	o.u.mpc.version = 1;
	o.u.mpc.snd_key = 1; /* stray value the form does not carry */
	EXPECT_INVALID();

	memset(&o, 0, sizeof(o));
	o.subtype = MPTCPOPT_DSS;
	o.u.dss.flags = MPTCP_DSS_HAS_ACK; /* bools disagree with flags */
	EXPECT_INVALID();
	o.u.dss.has_ack = true;
	assert_int_equal(mptcp_opt_build(&o, out, sizeof(out)), 8);
	o.u.dss.data_ack = 1ULL << 32; /* needs a8 */
	EXPECT_INVALID();
	o.u.dss.data_ack = 0;
	o.u.dss.has_csum = true; /* checksum without mapping */
	EXPECT_INVALID();

	memset(&o, 0, sizeof(o));
	o.subtype = MPTCPOPT_ADD_ADDR;
	o.u.add_addr.addr.family = 5;
	EXPECT_INVALID();
	o.u.add_addr.addr.family = 4;
	o.u.add_addr.echo = true;
	o.u.add_addr.has_hmac = true; /* echo with HMAC */
	EXPECT_INVALID();
	o.u.add_addr.has_hmac = false;
	o.u.add_addr.has_attr = true;
	o.u.add_addr.community = 16; /* 4 bits */
	EXPECT_INVALID();
	o.u.add_addr.community = 15;
	o.u.add_addr.prio = 8; /* 3 bits */
	EXPECT_INVALID();
	o.u.add_addr.prio = 7;
	assert_int_equal(mptcp_opt_build(&o, out, sizeof(out)), 9);
	assert_int_equal(out[8], 0xfe);

	memset(&o, 0, sizeof(o));
	o.subtype = MPTCPOPT_RM_ADDR;
	EXPECT_INVALID(); /* n == 0 */
	o.u.rm_addr.n = 38;
	EXPECT_INVALID();

	memset(&o, 0, sizeof(o));
	o.subtype = MPTCPOPT_MP_TCPRST;
	o.u.tcprst.transient = true; /* flags says otherwise */
	EXPECT_INVALID();

	memset(&o, 0, sizeof(o));
	o.subtype = MPTCPOPT_MP_JOIN;
	o.phase = MPTCP_PHASE_ACK;
	o.u.join.reserved = 0x1000; /* 12 bits */
	EXPECT_INVALID();
	o.u.join.reserved = 0;
	o.u.join.backup = true; /* the ACK has no B bit */
	EXPECT_INVALID();

	memset(&o, 0, sizeof(o));
	o.subtype = MPTCPOPT_MP_EXPERIMENTAL;
	o.u.exp.len = 38;
	EXPECT_INVALID();
#undef EXPECT_INVALID
}

/* ---- tcp_options_walk ---- */

struct seen {
	uint8_t kinds[40];
	size_t lens[40];
	int n;
	int stop_at;
};

static int record(uint8_t kind, const uint8_t *opt, size_t len, void *arg)
{
	struct seen *s = arg;

	assert_int_equal(opt[0], kind);
	s->kinds[s->n] = kind;
	s->lens[s->n] = len;
	s->n++;
	return s->n == s->stop_at ? 99 : 0;
}

static int walk_exact(const uint8_t *area, size_t len, struct seen *s, const char **why)
{
	uint8_t *copy = malloc(len ? len : 1);
	int ret;

	assert_non_null(copy);
	memcpy(copy, area, len);
	ret = tcp_options_walk(copy, len, record, s, why);
	free(copy);
	return ret;
}

static void test_walk(void **state)
{
	(void)state;
	struct seen s;
	const char *why;
	/* A Linux SYN: MSS, SACK_PERM, TS, NOP, WS (3 bytes, last in the area) */
	static const uint8_t syn[] = { 2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
				       1, 3, 3, 7 };
	static const uint8_t eol[] = { 1, 0, 30, 3, 0x51 };
	static const uint8_t zero_len[] = { 1, 30, 0, 0x51 };
	static const uint8_t one_len[] = { 8, 1, 0 };
	static const uint8_t overlong[] = { 1, 1, 8, 12, 0, 0, 0, 0, 0, 0 };
	static const uint8_t kind_only[] = { 1, 1, 3 };
	static const uint8_t mptcp[] = { 1, 1, 30, 4, 0x01, 0x81 };

	memset(&s, 0, sizeof(s));
	assert_int_equal(walk_exact(syn, sizeof(syn), &s, &why), 0);
	assert_null(why);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.kinds[4], TCPOPT_WSCALE_);
	assert_int_equal(s.lens[4], 3);
	assert_int_equal(s.lens[3], 1);

	memset(&s, 0, sizeof(s));
	assert_int_equal(walk_exact(eol, sizeof(eol), &s, &why), 0);
	assert_int_equal(s.n, 2); /* NOP, EOL; nothing after EOL */
	assert_int_equal(s.kinds[1], TCPOPT_EOL_);

	memset(&s, 0, sizeof(s));
	assert_int_equal(walk_exact(zero_len, sizeof(zero_len), &s, &why), MPTCP_E_LENGTH);
	assert_non_null(strstr(why, "below 2"));
	assert_int_equal(walk_exact(one_len, sizeof(one_len), &s, &why), MPTCP_E_LENGTH);
	assert_int_equal(walk_exact(overlong, sizeof(overlong), &s, &why), MPTCP_E_TRUNCATED);
	assert_non_null(strstr(why, "past the end"));
	assert_int_equal(walk_exact(kind_only, sizeof(kind_only), &s, &why), MPTCP_E_TRUNCATED);
	assert_non_null(strstr(why, "before its length"));
	/* the SYN cut inside the WS option */
	assert_int_equal(walk_exact(syn, sizeof(syn) - 1, &s, &why), MPTCP_E_TRUNCATED);

	memset(&s, 0, sizeof(s));
	assert_int_equal(walk_exact(syn, 0, &s, &why), 0);
	assert_int_equal(s.n, 0);

	memset(&s, 0, sizeof(s));
	s.stop_at = 3;
	assert_int_equal(walk_exact(mptcp, sizeof(mptcp), &s, &why), 99);
	assert_int_equal(s.kinds[2], TCPOPT_MPTCP);
	assert_int_equal(s.lens[2], 4);

	/* Every truncation of the SYN area either walks cleanly or errors. */
	for (size_t cut = 0; cut < sizeof(syn); cut++) {
		int ret;

		memset(&s, 0, sizeof(s));
		ret = walk_exact(syn, cut, &s, &why);
		assert_true(ret == 0 || ret == MPTCP_E_TRUNCATED);
		assert_true(ret == 0 || why != NULL);
	}
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(mptcp_subtype_name(MPTCPOPT_MP_CAPABLE), "MP_CAPABLE");
	assert_string_equal(mptcp_subtype_name(MPTCPOPT_RM_ADDR), "REMOVE_ADDR");
	assert_string_equal(mptcp_subtype_name(MPTCPOPT_MP_EXPERIMENTAL), "MP_EXPERIMENTAL");
	assert_string_equal(mptcp_subtype_name(0xa), "unknown");
	assert_string_equal(mptcp_dialect_name(MPTCP_DIALECT_V0), "v0");
	assert_string_equal(mptcp_dialect_name(MPTCP_DIALECT_DRAFT), "draft");
	assert_string_equal(mptcp_phase_name(MPTCP_PHASE_SYNACK), "SYN/ACK");
	assert_string_equal(mptcp_rst_reason_name(MPTCP_TCPRST_EPROHIBIT), "administratively prohibited");
	assert_string_equal(mptcp_rst_reason_name(0x77), "unknown");
	assert_string_equal(mptcp_err_name(MPTCP_E_TRUNCATED), "truncated");
	assert_string_equal(mptcp_err_name(-100), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mpc_v1_forms),
		cmocka_unit_test(test_mpc_v0_forms),
		cmocka_unit_test(test_mpc_rejections),
		cmocka_unit_test(test_mpj_forms),
		cmocka_unit_test(test_mpj_rejections),
		cmocka_unit_test(test_dss_all_flags),
		cmocka_unit_test(test_dss_reserved_and_short),
		cmocka_unit_test(test_add_addr_forms),
		cmocka_unit_test(test_add_addr_rejections),
		cmocka_unit_test(test_rm_addr),
		cmocka_unit_test(test_mp_prio),
		cmocka_unit_test(test_fail_fastclose),
		cmocka_unit_test(test_tcprst_experimental),
		cmocka_unit_test(test_header_rejections),
		cmocka_unit_test(test_build_from_fields),
		cmocka_unit_test(test_build_invalid),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
