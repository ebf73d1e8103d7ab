// SPDX-License-Identifier: MIT
/*
 * bpf/client_attr.bpf.c's ingress parser under BPF_PROG_TEST_RUN: well-formed
 * attribute options and the draft's in-ADD_ADDR octet reach the ring buffer;
 * every malformed or truncated form is counted under its reason and yields
 * nothing; no packet is ever changed or dropped. Plus the daemon's own check
 * of ring-buffer records. The BPF tests need root; skipped otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "advert/tests/attr_pkt.h"
#include "bpf/client_attr.skel.h"
#include "client/attr_bpf.h"

static struct client_attr_bpf *skel;
static struct ring_buffer *rb;
static int ncpus;
static struct attr_event events[8];
static int nevents;

static int on_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	if (nevents < 8 && size >= sizeof(struct attr_event))
		memcpy(&events[nevents++], data, sizeof(struct attr_event));
	return 0;
}

static int setup_all(void **state)
{
	(void)state;
	ncpus = libbpf_num_possible_cpus();
	if (geteuid() != 0)
		return 0;
	skel = client_attr_bpf__open_and_load();
	if (skel)
		rb = ring_buffer__new(bpf_map__fd(skel->maps.client_attr_events), on_event, NULL, NULL);
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	ring_buffer__free(rb);
	if (skel)
		client_attr_bpf__destroy(skel);
	return 0;
}

#define NEED_BPF()                                                         \
	do {                                                               \
		if (!skel || !rb) {                                        \
			print_message("  (needs root and BPF: skipped)\n"); \
			skip();                                            \
		}                                                          \
	} while (0)

static uint64_t stat_of(uint32_t k)
{
	uint64_t v[ncpus], s = 0;
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.client_attr_stats), &k, v), 0);
	for (int i = 0; i < ncpus; i++)
		s += v[i];
	return s;
}

/*
 * Run one segment (server -> client) carrying opts; cut = bytes cut off the
 * end of the frame. Checks the packet passes unchanged; returns the events.
 */
static int run(const uint8_t *opts, size_t optlen, int doff_words, size_t cut,
	       uint64_t before[CLA_STAT_MAX])
{
	struct apkt s = {4, "10.91.9.1", "10.91.1.2", 8080, 40000, 0x10, opts, optlen, doff_words, 0};
	uint8_t in[APKT_MAX], out[APKT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o);
	size_t len = apkt_build(&s, in) - cut;

	for (unsigned k = 0; k < CLA_STAT_MAX; k++)
		before[k] = stat_of(k);
	o.data_in = in;
	o.data_size_in = (uint32_t)len;
	o.data_out = out;
	o.data_size_out = sizeof(out);
	o.repeat = 1;
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.client_attr_ingress), &o), 0);
	assert_int_equal((int)o.retval, -1); /* never a verdict: the packet goes on */
	assert_int_equal(o.data_size_out, len);
	assert_memory_equal(out, in, len);
	nevents = 0;
	ring_buffer__consume(rb);
	return nevents;
}

static void expect_only(const uint64_t before[CLA_STAT_MAX], unsigned idx)
{
	for (unsigned k = 0; k < CLA_STAT_MAX; k++) {
		if (k == CLA_NO_SOCKET)
			continue;
		uint64_t d = stat_of(k) - before[k];
		if (d != (k == idx ? 1u : 0u))
			fail_msg("counter %s moved by %llu (expected only %s)", client_attr_stat_name(k),
				 (unsigned long long)d, client_attr_stat_name(idx));
	}
}

static const uint8_t TS[12] = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};

static void test_one_pair(void **state)
{
	(void)state;
	NEED_BPF();
	uint64_t b[CLA_STAT_MAX];
	uint8_t o[20];
	memcpy(o, TS, 12);
	memcpy(o + 12, "\xfd\x06\x4d\x41\x03\x27\x01\x01", 8);
	assert_int_equal(run(o, 20, 0, 0, b), 1);
	assert_int_equal(events[0].n, 1);
	assert_int_equal(events[0].ids[0], 3);
	assert_int_equal(events[0].attrs[0], 0x27);
	assert_int_equal(events[0].source, ATTR_SRC_OPTION);
	assert_int_equal(events[0].family, 4);
	assert_int_equal(ntohs(events[0].sport), 8080);
	assert_int_equal(events[0].token, 0); /* no socket in a test run */
	assert_int_equal(stat_of(CLA_OPTIONS) - b[CLA_OPTIONS], 1);
	assert_int_equal(stat_of(CLA_PAIRS) - b[CLA_PAIRS], 1);
}

static void test_three_pairs(void **state)
{
	(void)state;
	NEED_BPF();
	uint64_t b[CLA_STAT_MAX];
	uint8_t o[24];
	memcpy(o, TS, 12);
	memcpy(o + 12, "\xfd\x0a\x4d\x41\x01\x1e\x02\x27\x05\x24\x01\x01", 12);
	assert_int_equal(run(o, 24, 0, 0, b), 1);
	assert_int_equal(events[0].n, 3);
	assert_int_equal(events[0].ids[2], 5);
	assert_int_equal(events[0].attrs[2], 0x24);
	assert_int_equal(stat_of(CLA_PAIRS) - b[CLA_PAIRS], 3);
}

static void test_draft_octet(void **state)
{
	(void)state;
	NEED_BPF();
	uint64_t b[CLA_STAT_MAX];
	/* ADD_ADDR E=0, IPv4, the draft's octet, HMAC: length 17, then 3 NOPs. */
	uint8_t o[32];
	memcpy(o, TS, 12);
	memcpy(o + 12, "\x1e\x11\x30\x04\x0a\x5b\x09\x01\x4b\x11\x22\x33\x44\x55\x66\x77\x88\x01\x01\x01",
	       20);
	assert_int_equal(run(o, 32, 0, 0, b), 1);
	assert_int_equal(events[0].source, ATTR_SRC_DRAFT);
	assert_int_equal(events[0].ids[0], 4);
	assert_int_equal(events[0].attrs[0], 0x4b);
	assert_int_equal(stat_of(CLA_DRAFT_OCTETS) - b[CLA_DRAFT_OCTETS], 1);
}

static void test_malformed(void **state)
{
	(void)state;
	NEED_BPF();
	static const struct {
		const char *name;
		const char *bytes;
		size_t len;
		unsigned reason;
	} cases[] = {
		{"length 3 (no room for the ExID)", "\xfd\x03\x4d\x01", 4, CLA_BAD_SHORT},
		{"half a pair", "\xfd\x05\x4d\x41\x03\x01\x01\x01", 8, CLA_BAD_ODD},
		{"length past the header", "\xfd\x0c\x4d\x41\x03\x27\x00\x00", 8, CLA_BAD_TRUNCATED},
		{"no pair", "\xfd\x04\x4d\x41", 4, CLA_EMPTY},
		{"the same id twice", "\xfd\x08\x4d\x41\x03\x27\x03\x26", 8, CLA_BAD_DUP_ID},
		{"another experiment's ExID", "\xfd\x06\xf9\x89\x03\x27\x01\x01", 8, CLA_FOREIGN_EXID},
		{"kind 254 without ExID", "\xfe\x02\x01\x01", 4, CLA_BAD_OPTLIST},
		{"zero-length option before it", "\x08\x00\xfd\x06\x4d\x41\x03\x27", 8, CLA_BAD_OPTLIST},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t b[CLA_STAT_MAX];
		uint8_t o[40];
		print_message("  case: %s\n", cases[i].name);
		memcpy(o, TS, 12);
		memcpy(o + 12, cases[i].bytes, cases[i].len);
		assert_int_equal(run(o, 12 + cases[i].len, 0, 0, b), 0);
		expect_only(b, cases[i].reason);
	}
}

static void test_cut_packet(void **state)
{
	(void)state;
	NEED_BPF();
	uint64_t b[CLA_STAT_MAX];
	uint8_t o[20];
	memcpy(o, TS, 12);
	memcpy(o + 12, "\xfd\x06\x4d\x41\x03\x27\x01\x01", 8);
	/* The frame ends 4 bytes into the attribute option (ExID read, pair cut). */
	assert_int_equal(run(o, 20, 0, 4, b), 0);
	expect_only(b, CLA_BAD_TRUNCATED);
	/* Cut between two options: the header is short, nothing of ours in it. */
	assert_int_equal(run(o, 20, 0, 8, b), 0);
	expect_only(b, CLA_BAD_OPTLIST);
}

static void test_record_validation(void **state)
{
	(void)state;
	struct attr_event ev = {.family = 4, .source = ATTR_SRC_OPTION, .n = 1};
	assert_int_equal(client_attr_validate(&ev, sizeof(ev)), 0);
	assert_int_equal(client_attr_validate(&ev, sizeof(ev) - 1), -EINVAL);
	assert_int_equal(client_attr_validate(NULL, 0), -EINVAL);
	ev.family = 5;
	assert_int_equal(client_attr_validate(&ev, sizeof(ev)), -EINVAL);
	ev.family = 6;
	ev.n = 0;
	assert_int_equal(client_attr_validate(&ev, sizeof(ev)), -EINVAL);
	ev.n = ADDR_ATTR_MAX_PAIRS + 1;
	assert_int_equal(client_attr_validate(&ev, sizeof(ev)), -EINVAL);
	ev.n = 2;
	ev.source = 9;
	assert_int_equal(client_attr_validate(&ev, sizeof(ev)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_validation),
		cmocka_unit_test(test_one_pair),
		cmocka_unit_test(test_three_pairs),
		cmocka_unit_test(test_draft_octet),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_cut_packet),
	};
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
