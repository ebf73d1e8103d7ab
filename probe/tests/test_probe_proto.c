/* SPDX-License-Identifier: MIT */
/* Unit tests: probe protocol codec, payload stream, MIB parser, pm event decoder. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <string.h>

#include "mptcp_info.h"
#include "mptcp_pm_nl.h"
#include "probe/mib.h"
#include "probe/proto.h"
#include "util.h"

static void test_hello_roundtrip(void **state)
{
	(void)state;
	uint8_t buf[PROTO_HELLO_LEN];
	struct proto_hello in = {.backend_id = 0xdeadbeef}, out;
	const char *why = NULL;
	strcpy(in.hostname, "backend-a");
	proto_encode_hello(buf, &in);
	assert_memory_equal(buf, "MPLB\0\x01\0\x01\xde\xad\xbe\xef", 12);
	assert_int_equal(proto_decode_hello(buf, &out, &why), 0);
	assert_int_equal(out.backend_id, 0xdeadbeef);
	assert_string_equal(out.hostname, "backend-a");
}

static void test_hello_long_and_hostile_hostname(void **state)
{
	(void)state;
	uint8_t buf[PROTO_HELLO_LEN];
	struct proto_hello out;
	const char *why;
	memset(buf, 'x', sizeof(buf));
	struct proto_hello in = {.backend_id = 1};
	memset(in.hostname, 'h', sizeof(in.hostname)); /* not NUL-terminated */
	proto_encode_hello(buf, &in);
	buf[20] = '\n'; /* control characters must not reach terminals/JSON */
	assert_int_equal(proto_decode_hello(buf, &out, &why), 0);
	assert_int_equal(strlen(out.hostname), PROTO_HOSTNAME_LEN - 1);
	assert_int_equal(out.hostname[4], '?');
}

static void test_bad_headers(void **state)
{
	(void)state;
	uint8_t buf[PROTO_REQUEST_LEN];
	struct proto_request r = {.mode = PROTO_MODE_BULK, .rounds = 1, .bytes = 10, .seed = 3}, out;
	const char *why = NULL;

	proto_encode_request(buf, &r);
	buf[0] = 'X';
	assert_int_equal(proto_decode_request(buf, &out, &why), -1);
	assert_non_null(strstr(why, "magic"));

	proto_encode_request(buf, &r);
	buf[5] = 2; /* version 2 */
	assert_int_equal(proto_decode_request(buf, &out, &why), -1);
	assert_non_null(strstr(why, "version"));

	uint8_t big[PROTO_HELLO_LEN] = {0};
	proto_encode_request(big, &r);
	struct proto_hello h;
	assert_int_equal(proto_decode_hello(big, &h, &why), -1); /* wrong type */
	assert_non_null(strstr(why, "type"));
}

static void test_request_validation(void **state)
{
	(void)state;
	uint8_t buf[PROTO_REQUEST_LEN];
	struct proto_request out, r = {.mode = PROTO_MODE_RR, .rounds = 7, .bytes = 1000,
					.seed = 0x0123456789abcdefULL};
	const char *why;
	proto_encode_request(buf, &r);
	assert_int_equal(proto_decode_request(buf, &out, &why), 0);
	assert_int_equal(out.rounds, 7);
	assert_int_equal(out.seed, 0x0123456789abcdefULL);

	r.rounds = 0;
	proto_encode_request(buf, &r);
	assert_int_equal(proto_decode_request(buf, &out, &why), -1);
	r.rounds = 1;
	r.mode = 9;
	proto_encode_request(buf, &r);
	assert_int_equal(proto_decode_request(buf, &out, &why), -1);
	r.mode = PROTO_MODE_BULK;
	r.bytes = PROTO_MAX_BYTES + 1;
	proto_encode_request(buf, &r);
	assert_int_equal(proto_decode_request(buf, &out, &why), -1);
}

static void test_status_roundtrip(void **state)
{
	(void)state;
	uint8_t buf[PROTO_STATUS_LEN];
	struct proto_status in = {.result = PROTO_MISMATCH, .bad_offset = 1ULL << 35,
				  .bytes_received = 5, .bytes_sent = 6}, out;
	const char *why;
	proto_encode_status(buf, &in);
	assert_int_equal(proto_decode_status(buf, &out, &why), 0);
	assert_int_equal(out.result, PROTO_MISMATCH);
	assert_int_equal(out.bad_offset, 1ULL << 35);
	assert_int_equal(out.bytes_received, 5);
	assert_int_equal(out.bytes_sent, 6);
	assert_string_equal(proto_result_name(out.result), "mismatch");
}

static void test_modes_and_rr_chunks(void **state)
{
	(void)state;
	assert_int_equal(proto_mode_parse("bulk"), PROTO_MODE_BULK);
	assert_int_equal(proto_mode_parse("upload"), PROTO_MODE_UPLOAD);
	assert_int_equal(proto_mode_parse("rr"), PROTO_MODE_RR);
	assert_int_equal(proto_mode_parse("RR"), -1);
	uint64_t sum = 0;
	for (uint32_t r = 0; r < 7; r++)
		sum += proto_rr_chunk(1000, 7, r);
	assert_int_equal(sum, 1000);
	assert_int_equal(proto_rr_chunk(1000, 7, 6), 142 + 6);
	assert_int_equal(proto_rr_chunk(5, 10, 3), 0);
}

/* Fill at any offset/length equals the same bytes cut out of one long fill. */
static void test_payload_random_access(void **state)
{
	(void)state;
	static uint8_t whole[4096], part[600];
	payload_fill(42, 0, whole, sizeof(whole));
	for (uint64_t off = 0; off < 40; off++)
		for (size_t len = 0; len < 600; len += 37) {
			payload_fill(42, off + 1000, part, len);
			assert_memory_equal(part, whole + off + 1000, len);
		}
	/* Different seeds, different streams. */
	payload_fill(43, 0, part, 64);
	assert_memory_not_equal(part, whole, 64);
}

static void test_payload_verify_first_bad(void **state)
{
	(void)state;
	static uint8_t buf[10000];
	uint64_t bad = 0;
	payload_fill(7, 123, buf, sizeof(buf));
	assert_true(payload_verify(7, 123, buf, sizeof(buf), &bad));
	buf[5000] ^= 1;
	buf[9000] ^= 1;
	assert_false(payload_verify(7, 123, buf, sizeof(buf), &bad));
	assert_int_equal(bad, 123 + 5000);
	assert_false(payload_verify(8, 123, buf, sizeof(buf), &bad));
	assert_int_equal(bad, 123); /* wrong seed: first byte already differs (w.h.p.) */
}

static void test_mib_parse(void **state)
{
	(void)state;
	struct mib_snapshot m;
	const char *text = "TcpExt: A B\nTcpExt: 1 2\n"
			   "MPTcpExt: MPCapableSYNRX MPJoinSynTx MPJoinSynAckRx\n"
			   "MPTcpExt: 4 17 16\n";
	assert_int_equal(mib_parse(text, &m), 0);
	assert_int_equal(m.count, 3);
	assert_int_equal(mib_get(&m, "MPJoinSynTx"), 17);
	assert_int_equal(mib_get(&m, "MPJoinSynAckRx"), 16);
	assert_int_equal(mib_get(&m, "Nope"), 0);
	assert_int_equal(mib_parse("TcpExt: A\nTcpExt: 1\n", &m), -1);
	assert_int_equal(mib_parse("MPTcpExt: A B\nMPTcpExt: 1 x\n", &m), -1);
}

/*
 * The probe's join accounting reads SUB_* events through mptcp_pm_nl: what it
 * relies on is checked here, byte order first (event ports are big-endian on
 * the wire, host order once parsed).
 */
static void test_event_parse(void **state)
{
	(void)state;
	char buf[512];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	struct mptcp_pm_nl_event ev;
	struct in_addr s4, d4;

	nlh->nlmsg_type = 0x20;
	g->cmd = MPTCP_EVENT_SUB_CLOSED;
	inet_pton(AF_INET, "10.71.2.1", &s4);
	inet_pton(AF_INET, "10.71.2.2", &d4);
	mnl_attr_put_u32(nlh, MPTCP_ATTR_TOKEN, 0xc0ffee01);
	mnl_attr_put_u16(nlh, MPTCP_ATTR_FAMILY, AF_INET);
	mnl_attr_put_u8(nlh, MPTCP_ATTR_LOC_ID, 1);
	mnl_attr_put_u8(nlh, MPTCP_ATTR_REM_ID, 2);
	mnl_attr_put(nlh, MPTCP_ATTR_SADDR4, 4, &s4);
	mnl_attr_put(nlh, MPTCP_ATTR_DADDR4, 4, &d4);
	mnl_attr_put_u16(nlh, MPTCP_ATTR_SPORT, htons(40000)); /* big-endian on the wire */
	mnl_attr_put_u16(nlh, MPTCP_ATTR_DPORT, htons(80));
	mnl_attr_put_u8(nlh, MPTCP_ATTR_ERROR, 111);
	mnl_attr_put_u32(nlh, MPTCP_ATTR_IF_IDX, 3);

	assert_int_equal(mptcp_pm_nl_event_parse(nlh, &ev), 0);
	assert_int_equal(ev.type, MPTCP_EVENT_SUB_CLOSED);
	assert_string_equal(mptcp_pm_nl_event_name(ev.type), "sub_closed");
	assert_int_equal(ev.token, 0xc0ffee01);
	assert_true(ev.has_error);
	assert_int_equal(ev.error, 111);
	assert_int_equal(ev.ifindex, 3);
	assert_int_equal(ev.family, AF_INET);
	assert_true(ev.has_saddr && ev.has_daddr && ev.has_sport && ev.has_dport);
	assert_int_equal(ev.sport, 40000); /* host order once parsed */
	assert_int_equal(ev.dport, 80);
	assert_int_equal(ev.saddr.v4.s_addr, s4.s_addr);
	assert_int_equal(ev.daddr.v4.s_addr, d4.s_addr);
	assert_int_equal(ev.loc_id, 1);
	assert_int_equal(ev.rem_id, 2);

	/* The join table's key: ports back in network order in the sockaddr. */
	struct sockaddr_storage ss;
	mptcp_pm_nl_sockaddr(&ss, ev.family, &ev.saddr, ev.sport);
	const struct sockaddr_in *sa = (const void *)&ss;
	assert_int_equal(sa->sin_family, AF_INET);
	assert_int_equal(ntohs(sa->sin_port), 40000);
	assert_int_equal(sa->sin_addr.s_addr, s4.s_addr);

	/* 6.18: ANNOUNCED has no FAMILY attribute; the address attribute says it. */
	nlh = mnl_nlmsg_put_header(buf);
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = MPTCP_EVENT_ANNOUNCED;
	mnl_attr_put_u32(nlh, MPTCP_ATTR_TOKEN, 0xc0ffee01);
	mnl_attr_put(nlh, MPTCP_ATTR_DADDR4, 4, &d4);
	mnl_attr_put_u16(nlh, MPTCP_ATTR_DPORT, htons(8080));
	assert_int_equal(mptcp_pm_nl_event_parse(nlh, &ev), 0);
	assert_int_equal(ev.family, AF_INET);
	assert_int_equal(ev.dport, 8080);

	/* A truncated address attribute makes the message invalid. */
	nlh = mnl_nlmsg_put_header(buf);
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = MPTCP_EVENT_SUB_ESTABLISHED;
	mnl_attr_put(nlh, MPTCP_ATTR_SADDR6, 4, &s4);
	assert_int_equal(mptcp_pm_nl_event_parse(nlh, &ev), -EINVAL);
}

/*
 * Also keeps lib/util.o linked: the Makefile's unit rule lists libmplb.a
 * before the component objects, so util.o is only pulled from the archive
 * when the test itself references it.
 */
static void test_util_parse_size_helpers(void **state)
{
	(void)state;
	unsigned long v;
	double t = now_sec();
	assert_true(now_sec() >= t);
	assert_int_equal(parse_uint("42", "x", 0, 100, &v), 0);
	assert_int_equal(v, 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_roundtrip),
		cmocka_unit_test(test_hello_long_and_hostile_hostname),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_request_validation),
		cmocka_unit_test(test_status_roundtrip),
		cmocka_unit_test(test_modes_and_rr_chunks),
		cmocka_unit_test(test_payload_random_access),
		cmocka_unit_test(test_payload_verify_first_bad),
		cmocka_unit_test(test_mib_parse),
		cmocka_unit_test(test_event_parse),
		cmocka_unit_test(test_util_parse_size_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
