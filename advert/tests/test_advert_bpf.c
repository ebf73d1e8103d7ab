// SPDX-License-Identifier: MIT
/*
 * bpf/advert_tc.bpf.c under BPF_PROG_TEST_RUN: attributes appended to an
 * IPv4 ADD_ADDR and to an MP_CAPABLE SYN/ACK (lengths and checksums checked
 * byte by byte), the IPv6 carrier (the ADD_ADDR replaced by the attribute
 * option), and everything that must be left alone (no attributes, payload,
 * EOL, echoes). Plus the advert config parser. The BPF tests need root and
 * run in a private network namespace (the carrier test sends a clone out of
 * its loopback); they are skipped otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "advert/advert.h"
#include "advert/tests/attr_pkt.h"
#include "bpf/advert_tc.skel.h"

static struct advert_tc_bpf *skel;
static int ncpus;
static bool can_bpf;

#define V4_ANNOUNCED "10.91.9.1"
#define V6_ANNOUNCED "fd91:9::1"
#define V4_SERVER "10.91.1.1"
#define V4_CLIENT "10.91.1.2"
#define V6_SERVER "fd91:1::1"
#define V6_CLIENT "fd91:1::2"

static uint64_t stat_of(uint32_t k)
{
	uint64_t v[ncpus], s = 0;
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.advert_stats), &k, v), 0);
	for (int i = 0; i < ncpus; i++)
		s += v[i];
	return s;
}

static void add_addr_cfg(int family, const char *addr, uint8_t attr, uint8_t flags)
{
	struct advert_addr_key k = {.family = (uint8_t)family};
	struct advert_addr_val v = {.attr = attr, .flags = flags};
	inet_pton(family == 4 ? AF_INET : AF_INET6, addr, k.addr);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.advert_addrs), &k, &v, BPF_ANY), 0);
}

static int setup_all(void **state)
{
	(void)state;
	ncpus = libbpf_num_possible_cpus();
	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0)
		return 0; /* each BPF test skips */
	/* lo up: the carrier test's clone goes out of it. */
	if (system("ip link set lo up 2>/dev/null") != 0)
		return 0;
	skel = advert_tc_bpf__open_and_load();
	if (!skel)
		return 0;
	can_bpf = true;
	add_addr_cfg(4, V4_ANNOUNCED, addr_attr_octet(2, 3, 1), 0);
	add_addr_cfg(6, V6_ANNOUNCED, addr_attr_octet(2, 2, 0), 0);
	add_addr_cfg(4, V4_SERVER, addr_attr_octet(1, 7, 0), ADVERT_ADDR_F_INITIAL);
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	if (skel)
		advert_tc_bpf__destroy(skel);
	return 0;
}

#define NEED_BPF()                                                         \
	do {                                                               \
		if (!can_bpf) {                                            \
			print_message("  (needs root and BPF: skipped)\n"); \
			skip();                                            \
		}                                                          \
	} while (0)

struct run {
	uint8_t in[APKT_MAX], out[APKT_MAX + 64];
	size_t in_len;
	uint32_t out_len;
	int ret;
};

static void run_prog(struct bpf_program *prog, struct run *r, const struct apkt *s)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	r->in_len = apkt_build(s, r->in);
	o.data_in = r->in;
	o.data_size_in = (uint32_t)r->in_len;
	o.data_out = r->out;
	o.data_size_out = sizeof(r->out);
	o.repeat = 1;
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(prog), &o), 0);
	r->ret = (int)o.retval;
	r->out_len = o.data_size_out;
}

/* NOP NOP TS, then ADD_ADDR E=0 (id, IPv4 address, 8-byte HMAC). */
static size_t opts_add_addr4(uint8_t *o, const char *addr, uint8_t id)
{
	static const uint8_t ts[12] = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};
	memcpy(o, ts, 12);
	o[12] = 30;
	o[13] = 16;
	o[14] = 0x30;
	o[15] = id;
	inet_pton(AF_INET, addr, o + 16);
	memcpy(o + 20, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	return 28;
}

static size_t opts_add_addr6(uint8_t *o, const char *addr, uint8_t id)
{
	static const uint8_t ts[12] = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};
	memcpy(o, ts, 12);
	o[12] = 30;
	o[13] = 28;
	o[14] = 0x30;
	o[15] = id;
	inet_pton(AF_INET6, addr, o + 16);
	memcpy(o + 32, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	return 40;
}

static void test_inline_ipv4(void **state)
{
	(void)state;
	NEED_BPF();
	uint8_t o[40];
	size_t n = opts_add_addr4(o, V4_ANNOUNCED, 5), ol;
	struct apkt s = {4, V4_SERVER, V4_CLIENT, 8080, 40000, 0x10, o, n, 0, 0};
	struct run r;
	uint64_t before = stat_of(ADV_TX_INLINE);

	run_prog(skel->progs.advert_egress, &r, &s);
	assert_int_equal(r.ret, -1); /* TC_ACT_UNSPEC: the next program still runs */
	assert_int_equal(r.out_len, r.in_len + 8);
	assert_true(apkt_valid(r.out, r.out_len, 4));
	const uint8_t *opts = apkt_opts(r.out, 4, &ol);
	assert_int_equal(ol, 36);
	assert_memory_equal(opts, o, n); /* the kernel's options untouched */
	const uint8_t want[8] = {253, 6, 0x4d, 0x41, 5, addr_attr_octet(2, 3, 1), 1, 1};
	assert_memory_equal(opts + 28, want, 8);
	assert_int_equal(stat_of(ADV_TX_INLINE), before + 1);
}

static void test_synack_initial_address(void **state)
{
	(void)state;
	NEED_BPF();
	/* MSS, SACK_PERM+TS, NOP+WS, MP_CAPABLE v1 SYN/ACK (12): 32 bytes. */
	const uint8_t o[32] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7,
			       30, 12, 0x01, 0x01, 1, 2, 3, 4, 5, 6, 7, 8};
	struct apkt s = {4, V4_SERVER, V4_CLIENT, 8080, 40000, 0x12, o, 32, 0, 0};
	struct run r;
	size_t ol;

	run_prog(skel->progs.advert_egress, &r, &s);
	assert_int_equal(r.out_len, r.in_len + 8);
	assert_true(apkt_valid(r.out, r.out_len, 4));
	const uint8_t *opts = apkt_opts(r.out, 4, &ol);
	const uint8_t *a = apkt_find(opts, ol, 253);
	assert_non_null(a);
	assert_int_equal(a[4], 0); /* id 0: the initial address */
	assert_int_equal(a[5], addr_attr_octet(1, 7, 0));

	/* From an address not flagged "initial": left alone. */
	s.src = V4_ANNOUNCED;
	run_prog(skel->progs.advert_egress, &r, &s);
	assert_int_equal(r.out_len, r.in_len);
	assert_memory_equal(r.out, r.in, r.in_len);
}

static void test_carrier_ipv6(void **state)
{
	(void)state;
	NEED_BPF();
	uint8_t o[40];
	size_t n = opts_add_addr6(o, V6_ANNOUNCED, 7), ol;
	struct apkt s = {6, V6_SERVER, V6_CLIENT, 8080, 40000, 0x10, o, n, 0, 0};
	struct run r;
	uint64_t before = stat_of(ADV_TX_CARRIER);

	run_prog(skel->progs.advert_egress, &r, &s);
	/* This copy became the carrier: TS kept, ADD_ADDR out, attributes in. */
	assert_int_equal(stat_of(ADV_TX_CARRIER), before + 1);
	assert_int_equal(r.out_len, r.in_len - 20);
	assert_true(apkt_valid(r.out, r.out_len, 6));
	const uint8_t *opts = apkt_opts(r.out, 6, &ol);
	assert_int_equal(ol, 20);
	assert_memory_equal(opts, o, 12);
	const uint8_t want[8] = {253, 6, 0x4d, 0x41, 7, addr_attr_octet(2, 2, 0), 1, 1};
	assert_memory_equal(opts + 12, want, 8);
	assert_null(apkt_find(opts, ol, 30));
}

static void test_left_alone(void **state)
{
	(void)state;
	NEED_BPF();
	uint8_t o[40];
	struct run r;
	size_t n;

	/* An address without attributes. */
	n = opts_add_addr4(o, "10.91.77.1", 5);
	struct apkt s = {4, V4_SERVER, V4_CLIENT, 8080, 40000, 0x10, o, n, 0, 0};
	uint64_t before = stat_of(ADV_ADD_ADDR_NO_ATTR);
	run_prog(skel->progs.advert_egress, &r, &s);
	assert_int_equal(r.out_len, r.in_len);
	assert_memory_equal(r.out, r.in, r.in_len);
	assert_int_equal(stat_of(ADV_ADD_ADDR_NO_ATTR), before + 1);

	/* ADD_ADDR on a segment with payload: the header would have to move. */
	n = opts_add_addr4(o, V4_ANNOUNCED, 5);
	s.opts = o;
	s.optlen = n;
	s.payload = 100;
	before = stat_of(ADV_SKIP_DATA);
	run_prog(skel->progs.advert_egress, &r, &s);
	assert_int_equal(r.out_len, r.in_len);
	assert_int_equal(stat_of(ADV_SKIP_DATA), before + 1);

	/* An EOL in the option list: appending after it would be ignored. */
	s.payload = 0;
	o[28] = 0;
	o[29] = o[30] = o[31] = 0;
	s.optlen = 32;
	before = stat_of(ADV_SKIP_OPTS);
	run_prog(skel->progs.advert_egress, &r, &s);
	assert_int_equal(r.out_len, r.in_len);
	assert_int_equal(stat_of(ADV_SKIP_OPTS), before + 1);

	/* The echo (E=1, no HMAC) is not an announcement. */
	n = opts_add_addr4(o, V4_ANNOUNCED, 5);
	o[13] = 8;
	o[14] = 0x31;
	s.optlen = 20;
	run_prog(skel->progs.advert_egress, &r, &s);
	assert_int_equal(r.out_len, r.in_len);
	assert_memory_equal(r.out, r.in, r.in_len);

	/* Seen on ingress, the echo is counted. */
	before = stat_of(ADV_ECHO_RX);
	run_prog(skel->progs.advert_ingress, &r, &s);
	assert_int_equal(stat_of(ADV_ECHO_RX), before + 1);
	assert_memory_equal(r.out, r.in, r.in_len);
}

/* ---- config ------------------------------------------------------------ */

static int key(struct advert_config *c, const char *sec, const char *k, const char *v)
{
	char err[256];
	return advert_config_key(c, sec, k, v, err, sizeof(err));
}

static void test_config(void **state)
{
	(void)state;
	struct advert_config c;
	char err[256];

	advert_config_init(&c);
	assert_int_equal(key(&c, "advert", "interfaces", "s1, s2"), 1);
	assert_int_equal(c.n_ifaces, 2);
	assert_int_equal(key(&c, "address primary", "address", "192.0.2.1"), 1);
	assert_int_equal(key(&c, "address primary", "priority", "7"), 1);
	assert_int_equal(key(&c, "address primary", "community", "15"), 1);
	assert_int_equal(key(&c, "address bk", "address", "2001:db8::1"), 1);
	assert_int_equal(key(&c, "address bk", "backup", "yes"), 1);
	assert_int_equal(c.n_addrs, 2);
	assert_int_equal(advert_address_octet(&c.addrs[0]), 0xfe);
	assert_int_equal(advert_address_octet(&c.addrs[1]), 0x01);
	assert_int_equal(advert_config_check(&c, err, sizeof(err)), 0);

	assert_int_equal(key(&c, "address x", "priority", "8"), -1);
	assert_int_equal(key(&c, "address x", "community", "16"), -1);
	assert_int_equal(key(&c, "address x", "backup", "maybe"), -1);
	assert_int_equal(key(&c, "address x", "address", "not-an-ip"), -1);
	assert_int_equal(key(&c, "address x", "colour", "red"), -1);
	assert_int_equal(key(&c, "address", "address", "192.0.2.9"), -1);
	assert_int_equal(key(&c, "server", "anything", "1"), 0); /* not advert's */
	/* [address x] never got an address. */
	assert_int_equal(advert_config_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no 'address ='"));

	advert_config_init(&c);
	key(&c, "address a", "address", "192.0.2.1");
	key(&c, "address b", "address", "192.0.2.1");
	assert_int_equal(advert_config_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "same address"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_inline_ipv4),
		cmocka_unit_test(test_synack_initial_address),
		cmocka_unit_test(test_carrier_ipv6),
		cmocka_unit_test(test_left_alone),
	};
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
