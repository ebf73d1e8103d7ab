// SPDX-License-Identifier: MIT
/*
 * Packet fixtures for the XDP balancer (Katran style): each fixture is a
 * hand-built frame with a one-line description, run once through
 * BPF_PROG_TEST_RUN (repeat = 1: the program rewrites the frame, and a
 * repeated run would see its own output, cookbook section 11). Asserts the
 * XDP action, the rewritten MACs / outer headers and the counters.
 * Needs root (BPF); skipped otherwise.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include <linux/bpf.h>

#include "bpf/lb.skel.h"
#include "lb/lb_evict.h"
#include "maglev.h"
#include "mplb/lb_structs.h"
#include "mplb/sha256_min.h"
#include "mplb/tsecr.h"
#include "pktbuild.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define RING 1021 /* small prime ring keeps setup fast */
#define NVIPS 8
#define NBACKENDS 4
#define JOIN_BASE 20000
#define JOIN_COUNT 4

static const uint8_t LB_MAC[6] = {0x02, 0x1b, 0, 0, 0, 0x01};
static const __u64 TSECR_KEY[2] = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};

enum { VIP_HASH, VIP_PORT, VIP_TOKEN4, VIP_TOKEN6, VIP_TSECR, VIP_UDP, VIP_LRU, VIP_HOLD };

static struct lb_bpf *skel;
static uint32_t rings[NVIPS][RING];
static int ncpus;

static void be_mac(uint32_t id, uint8_t mac[6])
{
	uint8_t m[6] = {0x02, 0xbe, 0, 0, 0, (uint8_t)(0x10 + id)};
	memcpy(mac, m, 6);
}

static void add_vip(int family, const char *addr, uint16_t port, uint8_t proto,
		    uint32_t vip_num, uint32_t flags, uint8_t unknown_token)
{
	struct vip_key k = {.port = htons(port), .proto = proto, .family = (__u8)family};
	struct vip_meta m = {.vip_num = vip_num, .flags = flags, .unknown_token = unknown_token};
	int fd = bpf_map__fd(skel->maps.vip_map);

	inet_pton(family == 6 ? AF_INET6 : AF_INET, addr, k.addr);
	if (flags & VIP_F_PORT) {
		m.join_port_base = JOIN_BASE;
		m.join_port_count = JOIN_COUNT;
	}
	assert_int_equal(bpf_map_update_elem(fd, &k, &m, BPF_ANY), 0);
	if (flags & VIP_F_PORT) {
		struct vip_meta jm = m;
		jm.flags |= VIP_F_JOIN_ENTRY;
		for (uint16_t p = JOIN_BASE; p < JOIN_BASE + JOIN_COUNT; p++) {
			k.port = htons(p);
			assert_int_equal(bpf_map_update_elem(fd, &k, &jm, BPF_ANY), 0);
		}
	}
}

static void add_frag_entry(const char *addr, uint8_t proto, uint32_t vip_num)
{
	int family = strchr(addr, ':') ? 6 : 4;
	struct vip_key k = {.port = 0, .proto = proto, .family = (__u8)family};
	struct vip_meta m = {.vip_num = vip_num, .flags = VIP_F_FRAG_ENTRY};

	inet_pton(family == 6 ? AF_INET6 : AF_INET, addr, k.addr);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.vip_map), &k, &m, BPF_ANY), 0);
}

static void set_backend(uint32_t id, int family, const char *addr)
{
	struct backend b = {.family = (__u8)family, .flags = BACKEND_F_PRESENT};

	be_mac(id, b.mac);
	inet_pton(family == 6 ? AF_INET6 : AF_INET, addr, b.addr);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.backends), &id, &b, BPF_ANY), 0);
}

static uint32_t hold_ms = 200;

static void set_config(uint8_t forwarding, uint8_t xmit, uint32_t max_pkt)
{
	struct lb_config c = {.forwarding = forwarding, .xmit = xmit,
			      .redirect_ifindex = 1, .max_pkt_size = max_pkt, .token_hold_ms = hold_ms};
	uint32_t zero = 0;

	memcpy(c.src_mac, LB_MAC, 6);
	c.tsecr_key[0] = TSECR_KEY[0];
	c.tsecr_key[1] = TSECR_KEY[1];
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.config_map), &zero, &c, BPF_ANY), 0);
}

static int setup(void **state)
{
	struct maglev_backend mb[NBACKENDS];
	char addr[64];

	(void)state;
	if (geteuid() != 0)
		return 0; /* each test skips */
	ncpus = libbpf_num_possible_cpus();
	skel = lb_bpf__open();
	if (!skel)
		return -1;
	LB_RODATA_SET_RING(skel->rodata, RING);
	skel->rodata->max_vips = NVIPS;
	bpf_map__set_max_entries(skel->maps.ch_rings, NVIPS * RING);
	bpf_map__set_max_entries(skel->maps.vip_stats, NVIPS);
	bpf_map__set_max_entries(skel->maps.token_map, 1024);
	bpf_map__set_max_entries(skel->maps.token_sync, 1024);
	bpf_map__set_max_entries(skel->maps.join_flows, 1024);
	bpf_map__set_max_entries(skel->maps.conn_lru, 1024);
	if (lb_bpf__load(skel)) {
		lb_bpf__destroy(skel);
		skel = NULL;
		return -1;
	}
	set_config(LB_FWD_DSR, LB_XMIT_TX, 0);
	for (uint32_t i = 0; i < NBACKENDS; i++) {
		snprintf(addr, sizeof(addr), "10.1.0.%u", i + 1);
		set_backend(i, 4, addr);
		snprintf(addr, sizeof(addr), "backend-%u", i);
		mb[i] = (struct maglev_backend){.key = maglev_key_of_name(addr), .id = i, .weight = 1};
	}
	for (uint32_t v = 0; v < NVIPS; v++) {
		/* Rotate the list per VIP: the table must not depend on order. */
		assert_true(maglev_build(mb, NBACKENDS, RING, rings[v]) >= 0);
		for (uint32_t s = 0; s < RING; s++) {
			uint32_t slot = v * RING + s;
			assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.ch_rings),
							     &slot, &rings[v][s], BPF_ANY), 0);
		}
	}
	add_vip(4, "10.0.0.1", 80, 6, VIP_HASH, 0, 0);
	add_vip(4, "10.0.0.2", 80, 6, VIP_PORT, VIP_F_PORT, 0);
	add_vip(4, "10.0.0.3", 80, 6, VIP_TOKEN4, VIP_F_TOKEN, UNKNOWN_TOKEN_DROP);
	add_vip(6, "fd00::3", 80, 6, VIP_TOKEN6, VIP_F_TOKEN, UNKNOWN_TOKEN_RING);
	add_vip(4, "10.0.0.4", 80, 6, VIP_TSECR, VIP_F_TSECR, 0);
	add_vip(4, "10.0.0.1", 53, 17, VIP_UDP, 0, 0);
	add_vip(4, "10.0.0.5", 80, 6, VIP_LRU, VIP_F_LRU, 0);
	add_vip(4, "10.0.0.6", 80, 6, VIP_HOLD, VIP_F_TOKEN, UNKNOWN_TOKEN_HOLD);
	add_frag_entry("10.0.0.1", 17, VIP_UDP);
	add_frag_entry("10.0.0.1", 6, VIP_HASH);
	add_frag_entry("fd00::3", 6, VIP_TOKEN6);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	lb_bpf__destroy(skel);
	return 0;
}

#define NEED_ROOT()                                                          \
	do {                                                                 \
		if (!skel) {                                                 \
			print_message("needs root (BPF_PROG_TEST_RUN)\n");   \
			skip();                                              \
		}                                                            \
	} while (0)

static uint64_t stat(enum lb_stat idx)
{
	struct lb_counter v[ncpus];
	uint32_t k = idx;
	uint64_t s = 0;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.lb_stats), &k, v), 0);
	for (int i = 0; i < ncpus; i++)
		s += v[i].packets;
	return s;
}

static uint64_t percpu_sum(struct bpf_map *map, uint32_t k)
{
	struct lb_counter v[ncpus];
	uint64_t s = 0;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(map), &k, v), 0);
	for (int i = 0; i < ncpus; i++)
		s += v[i].packets;
	return s;
}

/* One fixture run. */
struct run {
	uint8_t in[PKT_MAX], out[PKT_MAX + 64];
	size_t in_len;
	uint32_t out_len;
	int action;
	uint64_t before[LB_STAT_MAX];
};

static void run_pkt(struct run *r, const char *desc, const struct pkt_spec *s)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);

	print_message("  fixture: %s\n", desc);
	r->in_len = pkt_build(s, r->in);
	for (int i = 0; i < LB_STAT_MAX; i++)
		r->before[i] = stat(i);
	o.data_in = r->in;
	o.data_size_in = (uint32_t)r->in_len;
	o.data_out = r->out;
	o.data_size_out = sizeof(r->out);
	o.repeat = 1;
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xdp_lb), &o), 0);
	r->action = (int)o.retval;
	r->out_len = o.data_size_out;
}

static uint64_t delta(const struct run *r, enum lb_stat idx)
{
	return stat(idx) - r->before[idx];
}

static uint32_t ring_backend(int vip, const struct pkt_spec *s)
{
	struct flow_key f = {.proto = s->proto, .family = (__u8)s->family};

	inet_pton(s->family == 6 ? AF_INET6 : AF_INET, s->src, f.src);
	inet_pton(s->family == 6 ? AF_INET6 : AF_INET, s->dst, f.dst);
	if (!s->frag) {
		f.sport = htons(s->sport);
		f.dport = htons(s->dport);
	}
	return rings[vip][lb_flow_hash(&f) % RING];
}

/* XDP_TX to backend id with DSR MACs and the rest of the frame untouched. */
static void assert_dsr_to(const struct run *r, uint32_t id)
{
	uint8_t mac[6];

	be_mac(id, mac);
	assert_int_equal(r->action, XDP_TX);
	assert_int_equal(r->out_len, r->in_len);
	assert_memory_equal(r->out, mac, 6);
	assert_memory_equal(r->out + 6, LB_MAC, 6);
	assert_memory_equal(r->out + 12, r->in + 12, r->in_len - 12);
}

static void assert_passed_untouched(const struct run *r)
{
	assert_int_equal(r->action, XDP_PASS);
	assert_int_equal(r->out_len, r->in_len);
	assert_memory_equal(r->out, r->in, r->in_len);
}

/* A source port whose ring choice on vip differs from id (to prove a non-ring path). */
static uint16_t sport_not_on(int vip, struct pkt_spec *s, uint32_t id)
{
	for (uint16_t p = 40000; p < 41000; p++) {
		s->sport = p;
		if (ring_backend(vip, s) != id)
			return p;
	}
	fail_msg("no source port avoids backend %u", id);
	return 0;
}

/* ------------------------------------------------------------------ */

static void test_hash_tcp(void **state)
{
	struct run r;
	struct pkt_spec s = {.family = 4, .src = "10.9.0.1", .dst = "10.0.0.1", .sport = 40000,
			     .dport = 80, .proto = 6, .tcp_flags = 0x02};
	uint32_t want;

	(void)state;
	NEED_ROOT();
	want = ring_backend(VIP_HASH, &s);
	run_pkt(&r, "IPv4 10.9.0.1:40000 -> VIP 10.0.0.1:80 TCP SYN, no options (hash VIP: ring)", &s);
	assert_dsr_to(&r, want);
	assert_int_equal(delta(&r, LB_STAT_PATH_RING), 1);
	assert_int_equal(delta(&r, LB_STAT_XMIT_TX), 1);

	s.tcp_flags = 0x10;
	run_pkt(&r, "same flow, bare ACK: same backend", &s);
	assert_dsr_to(&r, want);
	s.tcp_flags = 0x18;
	s.payload = "GET / HTTP/1.0\r\n\r\n";
	s.payload_len = 18;
	run_pkt(&r, "same flow, PSH|ACK with 18 bytes of data: same backend", &s);
	assert_dsr_to(&r, want);

	/* Different source ports spread over all backends. */
	uint32_t seen = 0;
	for (uint16_t p = 1000; p < 1064; p++) {
		s.sport = p;
		run_pkt(&r, "SYN from another source port", &s);
		assert_dsr_to(&r, ring_backend(VIP_HASH, &s));
		seen |= 1u << ring_backend(VIP_HASH, &s);
	}
	assert_int_equal(seen, (1u << NBACKENDS) - 1);
}

static void test_vlan_and_redirect(void **state)
{
	struct run r;
	struct pkt_spec s = {.family = 4, .src = "10.9.0.1", .dst = "10.0.0.1", .sport = 40001,
			     .dport = 80, .proto = 6, .tcp_flags = 0x02, .vlan = 100};

	(void)state;
	NEED_ROOT();
	run_pkt(&r, "802.1Q VLAN 100, IPv4 TCP SYN to the hash VIP: tag kept, MACs rewritten", &s);
	assert_dsr_to(&r, ring_backend(VIP_HASH, &s));
	set_config(LB_FWD_DSR, LB_XMIT_REDIRECT, 0);
	s.vlan = 0;
	run_pkt(&r, "IPv4 TCP SYN to the hash VIP, xmit = redirect", &s);
	set_config(LB_FWD_DSR, LB_XMIT_TX, 0);
	assert_int_equal(r.action, XDP_REDIRECT);
	assert_int_equal(delta(&r, LB_STAT_XMIT_REDIRECT), 1);
}

static void test_not_vip(void **state)
{
	struct run r;
	struct pkt_spec s = {.family = 4, .src = "10.9.0.1", .dst = "10.0.0.99", .sport = 40000,
			     .dport = 80, .proto = 6, .tcp_flags = 0x02};

	(void)state;
	NEED_ROOT();
	run_pkt(&r, "IPv4 TCP SYN to 10.0.0.99:80, not a VIP: passed untouched", &s);
	assert_passed_untouched(&r);
	assert_int_equal(delta(&r, LB_STAT_PASS_NOT_VIP), 1);
	s.dst = "10.0.0.1";
	s.dport = 81;
	run_pkt(&r, "IPv4 TCP SYN to VIP address, other port 81: passed untouched", &s);
	assert_passed_untouched(&r);
	s.family = 6, s.src = "fd09::1", s.dst = "fd00::99", s.dport = 80;
	run_pkt(&r, "IPv6 TCP SYN to fd00::99, not a VIP: passed untouched", &s);
	assert_passed_untouched(&r);

	/* ARP: not IP at all */
	LIBBPF_OPTS(bpf_test_run_opts, o);
	uint8_t arp[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06};
	uint8_t out[64];
	uint64_t before = stat(LB_STAT_PASS_NOT_IP);
	print_message("  fixture: ARP frame: passed untouched\n");
	o.data_in = arp, o.data_size_in = sizeof(arp), o.data_out = out, o.data_size_out = sizeof(out);
	o.repeat = 1;
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xdp_lb), &o), 0);
	assert_int_equal(o.retval, XDP_PASS);
	assert_memory_equal(out, arp, sizeof(arp));
	assert_int_equal(stat(LB_STAT_PASS_NOT_IP) - before, 1);
}

static void test_port_range(void **state)
{
	struct run r;
	struct pkt_spec s = {.family = 4, .src = "10.9.0.2", .dst = "10.0.0.2", .sport = 40000,
			     .proto = 6, .tcp_flags = 0x02};
	uint8_t mpj[12];

	(void)state;
	NEED_ROOT();
	s.tcpopt = mpj;
	s.tcpopt_len = opt_mpj_syn(mpj, 0xdeadbeef, 1);
	s.dport = JOIN_BASE - 1;
	run_pkt(&r, "MP_JOIN SYN to VIP 10.0.0.2 port base-1 (19999): not a join port, passed", &s);
	assert_passed_untouched(&r);
	s.dport = JOIN_BASE;
	run_pkt(&r, "MP_JOIN SYN to port base (20000): backend 0", &s);
	assert_dsr_to(&r, 0);
	assert_int_equal(delta(&r, LB_STAT_PATH_PORT), 1);
	s.dport = JOIN_BASE + JOIN_COUNT - 1;
	run_pkt(&r, "MP_JOIN SYN to port base+N-1 (20003): backend 3", &s);
	assert_dsr_to(&r, 3);
	s.tcpopt = NULL, s.tcpopt_len = 0, s.tcp_flags = 0x10;
	s.dport = JOIN_BASE + 1;
	s.sport = sport_not_on(VIP_PORT, &s, 1);
	run_pkt(&r, "ACK on join port base+1 (20001), ring would pick another backend: backend 1", &s);
	assert_dsr_to(&r, 1);
	s.dport = JOIN_BASE + JOIN_COUNT;
	run_pkt(&r, "ACK to port base+N (20004): not a join port, passed", &s);
	assert_passed_untouched(&r);
	s.dport = 80;
	s.tcp_flags = 0x02;
	run_pkt(&r, "SYN to the service port 80 of the port VIP: ring", &s);
	assert_dsr_to(&r, ring_backend(VIP_PORT, &s));
	assert_int_equal(delta(&r, LB_STAT_PATH_RING), 1);

	/* A join port whose backend is gone: dropped, counted. */
	uint32_t id = 2;
	struct backend none = {0};
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.backends), &id, &none, BPF_ANY), 0);
	s.dport = JOIN_BASE + 2;
	run_pkt(&r, "SYN to join port base+2 while backend 2 is not configured: dropped", &s);
	set_backend(2, 4, "10.1.0.3");
	assert_int_equal(r.action, XDP_DROP);
	assert_int_equal(delta(&r, LB_STAT_DROP_PORT_NO_BACKEND), 1);
}

static uint32_t token_of(uint64_t key) { return sha256_min_token(key); }

static void test_token_v4(void **state)
{
	struct run r;
	uint8_t opt[40];
	uint64_t key_a = 0x1111222233334444ULL, key_b = 0xa5a5a5a55a5a5a5aULL;
	struct pkt_spec first = {.family = 4, .src = "10.9.0.3", .dst = "10.0.0.3", .sport = 41000,
				 .dport = 80, .proto = 6, .tcp_flags = 0x10, .tcpopt = opt};
	struct pkt_spec join = {.family = 4, .src = "10.9.1.3", .dst = "10.0.0.3", .dport = 80,
				.proto = 6, .tcp_flags = 0x02, .tcpopt = opt};
	uint32_t owner;

	(void)state;
	NEED_ROOT();
	owner = ring_backend(VIP_TOKEN4, &first);
	first.tcpopt_len = opt_mpc_ack(opt, key_a, key_b, 20);
	run_pkt(&r, "IPv4 MP_CAPABLE third ACK (len 20, both keys) to token VIP: ring, teaches token", &first);
	assert_dsr_to(&r, owner);
	assert_int_equal(delta(&r, LB_STAT_EV_TOKEN_LEARNED), 1);
	first.tcpopt_len = opt_mpc_ack(opt, key_a, key_b, 22);
	first.tcp_flags = 0x18, first.payload = "hello", first.payload_len = 5;
	run_pkt(&r, "IPv4 MP_CAPABLE first data (len 22) of the same flow: same backend, token refreshed", &first);
	assert_dsr_to(&r, owner);
	assert_int_equal(delta(&r, LB_STAT_EV_TOKEN_REFRESHED), 1);

	join.sport = sport_not_on(VIP_TOKEN4, &join, owner);
	join.tcpopt_len = opt_mpj_syn(opt, token_of(key_b), 7);
	run_pkt(&r, "IPv4 MP_JOIN SYN (new 5-tuple, ring says elsewhere) with the learned token: owner", &join);
	assert_dsr_to(&r, owner);
	assert_int_equal(delta(&r, LB_STAT_PATH_TOKEN_HIT), 1);

	join.tcpopt = NULL, join.tcpopt_len = 0, join.tcp_flags = 0x10;
	run_pkt(&r, "IPv4 ACK of that join subflow, no MPTCP token: pinned to the owner", &join);
	assert_dsr_to(&r, owner);
	assert_int_equal(delta(&r, LB_STAT_PATH_FLOW_HIT), 1);
	join.tcp_flags = 0x18, join.payload = "data", join.payload_len = 4;
	run_pkt(&r, "IPv4 data on the join subflow: pinned to the owner", &join);
	assert_dsr_to(&r, owner);

	join.tcpopt = opt, join.tcp_flags = 0x02, join.payload_len = 0, join.sport++;
	join.tcpopt_len = opt_mpj_syn(opt, token_of(key_b) ^ 1, 7);
	run_pkt(&r, "IPv4 MP_JOIN SYN with an unknown token, VIP unknown_token = drop: dropped", &join);
	assert_int_equal(r.action, XDP_DROP);
	assert_int_equal(delta(&r, LB_STAT_DROP_TOKEN_UNKNOWN), 1);
	assert_int_equal(delta(&r, LB_STAT_EV_TOKEN_MISS), 1);
}

static void test_token_v6(void **state)
{
	struct run r;
	uint8_t opt[40];
	uint64_t key_a = 0x0102030405060708ULL, key_b = 0x1122334455667788ULL;
	struct pkt_spec first = {.family = 6, .src = "fd09::3", .dst = "fd00::3", .sport = 42000,
				 .dport = 80, .proto = 6, .tcp_flags = 0x18, .tcpopt = opt,
				 .payload = "hi", .payload_len = 2};
	struct pkt_spec join = {.family = 6, .src = "fd09::33", .dst = "fd00::3", .dport = 80,
				.proto = 6, .tcp_flags = 0x02, .tcpopt = opt};
	uint32_t owner;

	(void)state;
	NEED_ROOT();
	owner = ring_backend(VIP_TOKEN6, &first);
	first.tcpopt_len = opt_mpc_ack(opt, key_a, key_b, 24);
	run_pkt(&r, "IPv6 MP_CAPABLE first data with checksum (len 24), third ACK lost: teaches token", &first);
	assert_dsr_to(&r, owner);
	assert_int_equal(delta(&r, LB_STAT_EV_TOKEN_LEARNED), 1);

	join.sport = sport_not_on(VIP_TOKEN6, &join, owner);
	join.tcpopt_len = opt_mpj_syn(opt, token_of(key_b), 9);
	run_pkt(&r, "IPv6 MP_JOIN SYN with the learned token: owner", &join);
	assert_dsr_to(&r, owner);
	assert_int_equal(delta(&r, LB_STAT_PATH_TOKEN_HIT), 1);

	join.sport++;
	join.tcpopt_len = opt_mpj_syn(opt, 0x01020304, 9);
	run_pkt(&r, "IPv6 MP_JOIN SYN with an unknown token, VIP unknown_token = ring: ring", &join);
	assert_dsr_to(&r, ring_backend(VIP_TOKEN6, &join));
	assert_int_equal(delta(&r, LB_STAT_PATH_TOKEN_MISS_RING), 1);

	/* IPv6 MP_CAPABLE len 20 */
	first.sport = 42001, first.payload_len = 0, first.tcp_flags = 0x10;
	first.tcpopt_len = opt_mpc_ack(opt, key_a, 0x99, 20);
	run_pkt(&r, "IPv6 MP_CAPABLE third ACK (len 20): teaches another token", &first);
	assert_dsr_to(&r, ring_backend(VIP_TOKEN6, &first));
	assert_int_equal(delta(&r, LB_STAT_EV_TOKEN_LEARNED), 1);
}

static void test_token_collision(void **state)
{
	struct run r;
	uint8_t opt[40];
	uint64_t key_b = 0x5eed5eed5eed5eedULL;
	struct pkt_spec a = {.family = 4, .src = "10.9.2.1", .dst = "10.0.0.3", .sport = 43000,
			     .dport = 80, .proto = 6, .tcp_flags = 0x10, .tcpopt = opt};
	struct pkt_spec b = a;
	uint32_t owner;

	(void)state;
	NEED_ROOT();
	owner = ring_backend(VIP_TOKEN4, &a);
	a.tcpopt_len = opt_mpc_ack(opt, 1, key_b, 20);
	run_pkt(&r, "MP_CAPABLE ACK, connection A: token T learned on A's backend", &a);
	assert_dsr_to(&r, owner);
	b.src = "10.9.2.2";
	b.sport = sport_not_on(VIP_TOKEN4, &b, owner);
	b.tcpopt_len = opt_mpc_ack(opt, 2, key_b, 20);
	run_pkt(&r, "MP_CAPABLE ACK, connection B on another backend with the same server key: collision", &b);
	assert_dsr_to(&r, ring_backend(VIP_TOKEN4, &b)); /* B itself is not disturbed */
	assert_int_equal(delta(&r, LB_STAT_EV_TOKEN_COLLISION), 1);

	struct pkt_spec j = {.family = 4, .src = "10.9.2.3", .dst = "10.0.0.3", .sport = 43100,
			     .dport = 80, .proto = 6, .tcp_flags = 0x02, .tcpopt = opt};
	j.tcpopt_len = opt_mpj_syn(opt, token_of(key_b), 3);
	run_pkt(&r, "MP_JOIN SYN for the collided token: dropped, never misrouted", &j);
	assert_int_equal(r.action, XDP_DROP);
	assert_int_equal(delta(&r, LB_STAT_DROP_TOKEN_COLLIDED), 1);

	struct token_entry te;
	uint32_t t = token_of(key_b);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.token_map), &t, &te), 0);
	assert_int_equal(te.backend_id, owner);
	assert_true(te.flags & TOKEN_F_COLLIDED);
	assert_int_equal(te.collisions, 1);
	assert_true(te.learned_ns > 0);
}

/* A token as the backends' agents push it (lb/lb_sync.c writes the same entry). */
static void push_token(uint32_t token, uint32_t backend)
{
	struct token_entry te = {.learned_ns = 1, .backend_id = backend};

	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.token_sync), &token, &te, BPF_ANY), 0);
}

static void test_token_pushed(void **state)
{
	struct run r;
	uint8_t opt[40];
	uint64_t key_b = 0x7777666655554444ULL;
	struct pkt_spec first = {.family = 4, .src = "10.9.5.1", .dst = "10.0.0.3", .sport = 44000,
				 .dport = 80, .proto = 6, .tcp_flags = 0x10, .tcpopt = opt};
	struct pkt_spec join = {.family = 4, .src = "10.9.5.2", .dst = "10.0.0.3", .dport = 80,
				.proto = 6, .tcp_flags = 0x02, .tcpopt = opt};
	uint32_t learned_on, pushed_to;

	(void)state;
	NEED_ROOT();
	learned_on = ring_backend(VIP_TOKEN4, &first);
	pushed_to = (learned_on + 1) % NBACKENDS;
	first.tcpopt_len = opt_mpc_ack(opt, 3, key_b, 20);
	run_pkt(&r, "MP_CAPABLE ACK: token T learned from the wire on the ring's backend", &first);
	assert_dsr_to(&r, learned_on);
	push_token(token_of(key_b), pushed_to);
	join.sport = sport_not_on(VIP_TOKEN4, &join, pushed_to);
	join.tcpopt_len = opt_mpj_syn(opt, token_of(key_b), 5);
	run_pkt(&r, "MP_JOIN SYN for T, which its owner pushed: the pushed entry wins over the learned one",
		&join);
	assert_dsr_to(&r, pushed_to);
	assert_int_equal(delta(&r, LB_STAT_PATH_TOKEN_PUSHED), 1);
	assert_int_equal(delta(&r, LB_STAT_PATH_TOKEN_HIT), 0);
	join.tcpopt = NULL, join.tcpopt_len = 0, join.tcp_flags = 0x10;
	run_pkt(&r, "ACK of that join: pinned to the pushed owner", &join);
	assert_dsr_to(&r, pushed_to);
	assert_int_equal(delta(&r, LB_STAT_PATH_FLOW_HIT), 1);

	join.tcpopt = opt, join.tcp_flags = 0x02, join.sport++;
	join.tcpopt_len = opt_mpj_syn(opt, 0x0badf00d, 5);
	push_token(0x0badf00d, 9); /* a backend id the map has no entry for */
	run_pkt(&r, "MP_JOIN SYN whose pushed owner is gone from the pool: stale, then unknown_token (drop)",
		&join);
	assert_int_equal(r.action, XDP_DROP);
	assert_int_equal(delta(&r, LB_STAT_EV_STALE_BACKEND), 1);
	assert_int_equal(delta(&r, LB_STAT_DROP_TOKEN_UNKNOWN), 1);
}

static void test_token_hold(void **state)
{
	struct run r;
	uint8_t opt[40];
	uint32_t token = 0x12345678;
	struct pkt_spec join = {.family = 4, .src = "10.9.6.1", .dst = "10.0.0.6", .sport = 45000,
				.dport = 80, .proto = 6, .tcp_flags = 0x02, .tcpopt = opt};

	(void)state;
	NEED_ROOT();
	join.tcpopt_len = opt_mpj_syn(opt, token, 1);
	run_pkt(&r, "MP_JOIN SYN, token unknown, unknown_token = hold: held (dropped, counted)", &join);
	assert_int_equal(r.action, XDP_DROP);
	assert_int_equal(delta(&r, LB_STAT_DROP_TOKEN_HELD), 1);
	run_pkt(&r, "its retransmission inside the hold: held again", &join);
	assert_int_equal(r.action, XDP_DROP);
	assert_int_equal(delta(&r, LB_STAT_DROP_TOKEN_HELD), 1);
	push_token(token, 2);
	run_pkt(&r, "the retransmission after the owner's push: the owner", &join);
	assert_dsr_to(&r, 2);
	assert_int_equal(delta(&r, LB_STAT_PATH_TOKEN_PUSHED), 1);

	join.sport++;
	join.tcpopt_len = opt_mpj_syn(opt, token + 1, 1);
	run_pkt(&r, "another unknown token: held", &join);
	assert_int_equal(r.action, XDP_DROP);
	usleep((hold_ms + 50) * 1000);
	run_pkt(&r, "its SYN after the hold has run out, still unknown: the ring", &join);
	assert_dsr_to(&r, ring_backend(VIP_HOLD, &join));
	assert_int_equal(delta(&r, LB_STAT_EV_TOKEN_HOLD_EXPIRED), 1);
	assert_int_equal(delta(&r, LB_STAT_PATH_TOKEN_MISS_RING), 1);
}

static void test_tsecr(void **state)
{
	struct run r;
	uint8_t opt[12];
	struct pkt_spec s = {.family = 4, .src = "10.9.3.1", .dst = "10.0.0.4", .dport = 80,
			     .proto = 6, .tcp_flags = 0x10, .tcpopt = opt};
	uint32_t enc;

	(void)state;
	NEED_ROOT();
	s.sport = sport_not_on(VIP_TSECR, &s, 2);
	enc = tsecr_encode(TSECR_KEY, 0x12345678, 2);
	s.tcpopt_len = opt_ts(opt, 1000, enc);
	run_pkt(&r, "ACK with TSecr encoding backend 2 (ring says otherwise): backend 2", &s);
	assert_dsr_to(&r, 2);
	assert_int_equal(delta(&r, LB_STAT_PATH_TSECR), 1);

	s.tcpopt_len = opt_ts(opt, 1000, enc ^ 0x0100); /* flip an id bit, keep the check */
	run_pkt(&r, "ACK with TSecr whose id bits were altered (forged): no id, ring", &s);
	assert_dsr_to(&r, ring_backend(VIP_TSECR, &s));
	assert_int_equal(delta(&r, LB_STAT_EV_TSECR_NO_ID), 1);
	assert_int_equal(delta(&r, LB_STAT_PATH_RING), 1);

	s.tcpopt_len = opt_ts(opt, 1000, 0x12345678);
	run_pkt(&r, "ACK with a plain clock TSecr (server without the agent): ring", &s);
	assert_dsr_to(&r, ring_backend(VIP_TSECR, &s));

	s.tcp_flags = 0x02;
	s.tcpopt_len = opt_ts(opt, 1000, enc);
	run_pkt(&r, "SYN with TSecr set: a SYN never follows TSecr, ring", &s);
	assert_dsr_to(&r, ring_backend(VIP_TSECR, &s));
	assert_int_equal(delta(&r, LB_STAT_PATH_TSECR), 0);

	/* A TSecr for an id with no backend falls back to the ring. */
	s.tcp_flags = 0x10;
	s.tcpopt_len = opt_ts(opt, 1000, tsecr_encode(TSECR_KEY, 0x12345678, 200));
	run_pkt(&r, "ACK with TSecr encoding unconfigured backend 200: ring", &s);
	assert_dsr_to(&r, ring_backend(VIP_TSECR, &s));

	/* The decode cache answers a repeat, and forgets everything when the key changes. */
	s.tcpopt_len = opt_ts(opt, 1000, enc);
	run_pkt(&r, "the backend-2 TSecr again (served by the per-CPU cache): backend 2", &s);
	assert_dsr_to(&r, 2);
	{
		struct lb_config c;
		uint32_t zero = 0;
		int fd = bpf_map__fd(skel->maps.config_map);
		__u64 other[2] = {TSECR_KEY[0] ^ 0x5a5a, TSECR_KEY[1]};

		assert_int_equal(tsecr_decode(other, enc), TSECR_NO_ID); /* these keys: no id */
		assert_int_equal(bpf_map_lookup_elem(fd, &zero, &c), 0);
		c.tsecr_key[0] = other[0];
		assert_int_equal(bpf_map_update_elem(fd, &zero, &c, BPF_ANY), 0);
		run_pkt(&r, "the same TSecr after a key change: decoded again, no id, ring", &s);
		assert_dsr_to(&r, ring_backend(VIP_TSECR, &s));
		assert_int_equal(delta(&r, LB_STAT_EV_TSECR_NO_ID), 1);
		set_config(LB_FWD_DSR, LB_XMIT_TX, 0);
	}
}

/*
 * Forged steering (docs/robustness.md): random TSecr values on random
 * 5-tuples. A TSecr passes the 8-bit check 1 time in 256 and then names a
 * random one of 256 ids, of which NBACKENDS exist: it steers 1 packet in
 * 65536 / NBACKENDS, and a forger reaches a chosen backend no more often
 * than the ring's 1/N. Measured, with the counts printed.
 */
static void test_forged_tsecr(void **state)
{
	struct run r;
	uint8_t opt[12], mac0[6];
	struct pkt_spec s = {.family = 4, .src = "10.9.9.1", .dst = "10.0.0.4", .dport = 80,
			     .proto = 6, .tcp_flags = 0x10, .tcpopt = opt};
	const int n = 200000;
	int on_target = 0, tsecr_path = 0;
	uint32_t x = 0x9e3779b9;

	(void)state;
	NEED_ROOT();
	be_mac(0, mac0);
	for (int i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		s.sport = (uint16_t)(1024 + (x & 0x7fff));
		s.tcpopt_len = opt_ts(opt, 1000, x * 2654435761u);
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = r.in, .data_out = r.out,
			    .data_size_out = sizeof(r.out), .repeat = 1);
		r.in_len = pkt_build(&s, r.in);
		o.data_size_in = (uint32_t)r.in_len;
		uint64_t before = stat(LB_STAT_PATH_TSECR);
		assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xdp_lb), &o), 0);
		tsecr_path += stat(LB_STAT_PATH_TSECR) != before;
		on_target += o.retval == XDP_TX && !memcmp(r.out, mac0, 6);
	}
	print_message("  forged TSecr: %d of %d steered by TSecr (%.6f; expected %d/65536 = %.6f); "
		      "%.4f reached the chosen backend 0 (the ring alone: 1/%d = %.4f)\n", tsecr_path, n,
		      (double)tsecr_path / n, NBACKENDS, NBACKENDS / 65536.0, (double)on_target / n,
		      NBACKENDS, 1.0 / NBACKENDS);
	assert_in_range(tsecr_path, 0, 3 * n * NBACKENDS / 65536 + 10);
	assert_true(fabs((double)on_target / n - 1.0 / NBACKENDS) < 0.02);
}

static void test_udp_and_fragments(void **state)
{
	struct run r;
	struct pkt_spec s = {.family = 4, .src = "10.9.4.1", .dst = "10.0.0.1", .sport = 5353,
			     .dport = 53, .proto = 17, .payload = "query", .payload_len = 5};
	uint32_t want;

	(void)state;
	NEED_ROOT();
	run_pkt(&r, "IPv4 UDP 10.9.4.1:5353 -> VIP 10.0.0.1:53: ring", &s);
	assert_dsr_to(&r, ring_backend(VIP_UDP, &s));
	assert_int_equal(delta(&r, LB_STAT_PATH_RING), 1);

	s.frag = 0x2000; /* MF, offset 0 */
	want = ring_backend(VIP_UDP, &s); /* 3-tuple: frag set, ports ignored */
	run_pkt(&r, "IPv4 UDP first fragment (MF, offset 0) to 10.0.0.1:53: 3-tuple ring", &s);
	assert_dsr_to(&r, want);
	assert_int_equal(delta(&r, LB_STAT_PATH_FRAG_RING), 1);
	assert_int_equal(delta(&r, LB_STAT_EV_IPV4_FRAGMENT), 1);
	s.frag = 185; /* offset 1480 bytes, last fragment */
	s.l4_absent = true;
	run_pkt(&r, "IPv4 UDP non-first fragment (offset 1480, no L4 header): same backend", &s);
	assert_dsr_to(&r, want);
	s.dst = "10.0.0.77";
	run_pkt(&r, "IPv4 non-first fragment to a non-VIP: passed untouched", &s);
	assert_passed_untouched(&r);
	assert_int_equal(delta(&r, LB_STAT_PASS_FRAG_NOT_VIP), 1);
}

static void test_ipv4_options(void **state)
{
	struct run r;
	uint8_t ipopt[8] = {1, 1, 1, 1, 1, 1, 1, 0}; /* NOPs, EOL */
	struct pkt_spec s = {.family = 4, .src = "10.9.5.1", .dst = "10.0.0.1", .sport = 40500,
			     .dport = 80, .proto = 6, .tcp_flags = 0x02, .ipopt = ipopt,
			     .ipopt_len = 8};

	(void)state;
	NEED_ROOT();
	run_pkt(&r, "IPv4 with 8 bytes of options (ihl 7) TCP SYN to hash VIP: ports found past options", &s);
	assert_dsr_to(&r, ring_backend(VIP_HASH, &s));
	assert_int_equal(delta(&r, LB_STAT_EV_IPV4_OPTIONS), 1);
}

static void test_malformed_options(void **state)
{
	struct run r;
	uint8_t opt[40];
	struct pkt_spec s = {.family = 4, .src = "10.9.6.1", .dst = "10.0.0.3", .sport = 40600,
			     .dport = 80, .proto = 6, .tcp_flags = 0x10, .tcpopt = opt};

	(void)state;
	NEED_ROOT();
	memset(opt, 0, sizeof(opt));
	opt[0] = 30, opt[1] = 0; /* MPTCP with length 0 */
	s.tcpopt_len = 4;
	run_pkt(&r, "TCP ACK, option kind 30 length 0: walk stops, ring, counted", &s);
	assert_dsr_to(&r, ring_backend(VIP_TOKEN4, &s));
	assert_int_equal(delta(&r, LB_STAT_EV_TCPOPT_MALFORMED), 1);

	opt[0] = 1, opt[1] = 30, opt[2] = 40, opt[3] = 0; /* NOP, MPTCP len 40 > area */
	s.tcpopt_len = 8;
	run_pkt(&r, "TCP ACK, MPTCP option length 40 past the 8-byte option area: ring, counted", &s);
	assert_dsr_to(&r, ring_backend(VIP_TOKEN4, &s));
	assert_int_equal(delta(&r, LB_STAT_EV_TCPOPT_MALFORMED), 1);
	assert_int_equal(delta(&r, LB_STAT_EV_TOKEN_LEARNED), 0);

	opt_mpc_ack(opt, 1, 2, 20);
	s.tcpopt_len = 20;
	s.truncate = 14; /* frame ends 6 bytes into the MP_CAPABLE option */
	run_pkt(&r, "TCP ACK, MP_CAPABLE len 20 truncated at packet end after 6 bytes: ring, counted", &s);
	assert_int_equal(r.action, XDP_TX);
	assert_int_equal(delta(&r, LB_STAT_EV_TCPOPT_MALFORMED), 1);
	assert_int_equal(delta(&r, LB_STAT_EV_TOKEN_LEARNED), 0);

	s.truncate = 0;
	s.tcpopt_len = 0;
	s.doff_words = 15; /* header claims 60 bytes, frame has 20 */
	run_pkt(&r, "TCP ACK, data offset 60 but no option bytes in the frame: ring, counted", &s);
	assert_int_equal(r.action, XDP_TX);
	assert_int_equal(delta(&r, LB_STAT_EV_TCPOPT_MALFORMED), 1);

	s.doff_words = 4;
	run_pkt(&r, "TCP ACK, data offset 16 (< 20): malformed L4, dropped", &s);
	assert_int_equal(r.action, XDP_DROP);
	assert_int_equal(delta(&r, LB_STAT_DROP_MALFORMED_L4), 1);

	/* A window scale option ending exactly at the area: not malformed. */
	uint8_t ws[4] = {1, 3, 3, 7};
	s.doff_words = 0, s.tcpopt = ws, s.tcpopt_len = 4, s.tcp_flags = 0x02;
	run_pkt(&r, "TCP SYN, NOP + 3-byte window scale ending the area: clean", &s);
	assert_int_equal(r.action, XDP_TX);
	assert_int_equal(delta(&r, LB_STAT_EV_TCPOPT_MALFORMED), 0);
}

static void test_lru(void **state)
{
	struct run r;
	struct pkt_spec s = {.family = 4, .src = "10.9.7.1", .dst = "10.0.0.5", .sport = 40700,
			     .dport = 80, .proto = 6, .tcp_flags = 0x02};
	uint32_t want;

	(void)state;
	NEED_ROOT();
	want = ring_backend(VIP_LRU, &s);
	run_pkt(&r, "SYN to the LRU VIP: ring, not recorded (a SYN flood leaves no state)", &s);
	assert_dsr_to(&r, want);
	assert_int_equal(delta(&r, LB_STAT_PATH_RING), 1);
	run_pkt(&r, "the SYN again: still the ring", &s);
	assert_int_equal(delta(&r, LB_STAT_PATH_RING), 1);
	s.tcp_flags = 0x10;
	run_pkt(&r, "its first ACK: LRU miss, ring, flow recorded", &s);
	assert_dsr_to(&r, want);
	assert_int_equal(delta(&r, LB_STAT_EV_LRU_MISS), 1);
	run_pkt(&r, "the next ACK of that flow: LRU hit", &s);
	assert_dsr_to(&r, want);
	assert_int_equal(delta(&r, LB_STAT_PATH_LRU_HIT), 1);
	s.sport++;
	run_pkt(&r, "ACK of an unknown flow: LRU miss, ring", &s);
	assert_dsr_to(&r, ring_backend(VIP_LRU, &s));
	assert_int_equal(delta(&r, LB_STAT_EV_LRU_MISS), 1);
}

static void send_quiet(const struct pkt_spec *s)
{
	uint8_t in[PKT_MAX], out[PKT_MAX + 64];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);

	o.data_size_in = (uint32_t)pkt_build(s, in);
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xdp_lb), &o), 0);
	assert_int_equal(o.retval, XDP_TX);
}

/* What an LRU table and its counters say, after the evictions are brought up to date. */
struct lru_seen {
	uint64_t in, evicted;
	long keys;
};

static struct lru_seen lru_seen(enum lb_stat in, enum lb_stat evicted, struct bpf_map *map)
{
	assert_int_equal(lb_evict_account(skel), 0);
	return (struct lru_seen){stat(in), stat(evicted), lb_map_count(bpf_map__fd(map))};
}

/* n new entries went into a table of cap: each counted once, and what left it counted as evicted. */
static void assert_evictions(const char *table, struct lru_seen a, struct lru_seen b, uint64_t n, uint64_t cap)
{
	uint64_t in = b.in - a.in, evicted = b.evicted - a.evicted;

	print_message("  %s: %llu entries in, %ld before, %ld now; %llu evictions counted\n", table,
		      (unsigned long long)in, a.keys, b.keys, (unsigned long long)evicted);
	assert_int_equal(in, n);
	assert_true(evicted >= n - cap);
	assert_int_equal((long)evicted, (long)in - (b.keys - a.keys));
}

/*
 * Every LRU eviction is counted: 3000 new flows, each sent twice, into the
 * 1024-entry LRU, then 3000 fresh MP_CAPABLE keys into the 1024-entry token
 * table. Each new entry is counted once as it enters (the second packet, a
 * hit, is not), and lb_evict_account() reports as evicted exactly what went
 * in and is no longer there.
 */
static void test_lru_evictions_counted(void **state)
{
	struct pkt_spec s = {.family = 4, .dst = "10.0.0.5", .sport = 1024, .dport = 80, .proto = 6,
			     .tcp_flags = 0x10};
	uint8_t opt[24];
	char src[16];

	(void)state;
	NEED_ROOT();
	struct lru_seen a = lru_seen(LB_STAT_EV_LRU_LEARNED, LB_STAT_EV_LRU_EVICTED, skel->maps.conn_lru);
	print_message("  fixture: 3000 first ACKs of new flows to the LRU VIP (1024 entries), each twice\n");
	for (uint32_t i = 0; i < 3000; i++) {
		snprintf(src, sizeof(src), "10.80.%u.%u", i >> 8, i & 0xff);
		s.src = src;
		send_quiet(&s);
		send_quiet(&s); /* the hit: not a second entry */
	}
	struct lru_seen b = lru_seen(LB_STAT_EV_LRU_LEARNED, LB_STAT_EV_LRU_EVICTED, skel->maps.conn_lru);
	assert_evictions("conn_lru", a, b, 3000, 1024);
	assert_true(b.keys <= 1024 + 64); /* the LRU's bound, plus its per-CPU free lists' slack */

	print_message("  fixture: 3000 MP_CAPABLE third ACKs with fresh keys to a token VIP (1024 tokens)\n");
	struct pkt_spec m = {.family = 4, .src = "10.9.30.1", .dst = "10.0.0.3", .sport = 2000,
			     .dport = 80, .proto = 6, .tcp_flags = 0x10, .tcpopt = opt};
	a = lru_seen(LB_STAT_EV_TOKEN_LEARNED, LB_STAT_EV_TOKEN_EVICTED, skel->maps.token_map);
	for (int i = 0; i < 3000; i++) {
		m.sport = (uint16_t)(2000 + i);
		m.tcpopt_len = opt_mpc_ack(opt, 0x1000 + (uint64_t)i, 0xabc00000ull + (uint64_t)i * 7919, 20);
		send_quiet(&m);
	}
	b = lru_seen(LB_STAT_EV_TOKEN_LEARNED, LB_STAT_EV_TOKEN_EVICTED, skel->maps.token_map);
	assert_evictions("token_map", a, b, 3000, 1024);
}

/* One's-complement sum of a reply's bytes: 0xffff when its checksum is right. */
static uint16_t sum_ok(const uint8_t *p, size_t len, uint32_t seed)
{
	return (uint16_t)~pkt_fold(pkt_sum(p, len, seed));
}

/* IPIP would grow the frame past max_pkt_size: ICMP too-big back to the sender, as a router does. */
static void test_icmp_too_big(void **state)
{
	struct run r;
	static const uint8_t big[300];
	struct pkt_spec s = {.family = 4, .src = "10.9.9.1", .dst = "10.0.0.1", .sport = 40900,
			     .dport = 80, .proto = 6, .tcp_flags = 0x10, .payload = big,
			     .payload_len = sizeof(big), .frag = 0x4000 /* DF */};
	uint8_t src[4], vip[4];

	(void)state;
	NEED_ROOT();
	set_config(LB_FWD_IPIP, LB_XMIT_TX, 300);
	run_pkt(&r, "IPv4 DF, 354-byte frame, ipip, max_pkt_size 300: ICMP fragmentation needed", &s);
	assert_int_equal(r.action, XDP_TX);
	assert_int_equal(delta(&r, LB_STAT_XMIT_ICMP_TOO_BIG), 1);
	assert_int_equal(r.out_len, 14 + 20 + 8 + 64);
	assert_memory_equal(r.out, r.in + 6, 6); /* back to the sender's MAC */
	assert_memory_equal(r.out + 6, r.in, 6);
	assert_int_equal(r.out[12] << 8 | r.out[13], 0x0800);
	assert_int_equal(r.out[14], 0x45);
	assert_int_equal(r.out[14 + 9], 1); /* ICMP */
	assert_int_equal(r.out[16] << 8 | r.out[17], 20 + 8 + 64);
	inet_pton(AF_INET, "10.0.0.1", vip);
	inet_pton(AF_INET, "10.9.9.1", src);
	assert_memory_equal(r.out + 14 + 12, vip, 4); /* from the VIP */
	assert_memory_equal(r.out + 14 + 16, src, 4); /* to the sender */
	assert_int_equal(sum_ok(r.out + 14, 20, 0), 0xffff);
	assert_int_equal(r.out[34], 3);
	assert_int_equal(r.out[35], 4);
	assert_int_equal(r.out[40] << 8 | r.out[41], 300 - 20 - 14); /* the MTU that fits */
	assert_int_equal(sum_ok(r.out + 34, 8 + 64, 0), 0xffff);
	assert_memory_equal(r.out + 42, r.in + 14, 64); /* the datagram's start, quoted */

	s.vlan = 100;
	run_pkt(&r, "the same with an 802.1Q tag: the tag kept, the MTU 4 bytes smaller", &s);
	assert_int_equal(r.action, XDP_TX);
	assert_int_equal(r.out_len, 18 + 20 + 8 + 64);
	assert_int_equal(r.out[12] << 8 | r.out[13], 0x8100);
	assert_int_equal(r.out[16] << 8 | r.out[17], 0x0800);
	assert_int_equal(r.out[18 + 20 + 6] << 8 | r.out[18 + 20 + 7], 300 - 20 - 18);
	assert_int_equal(sum_ok(r.out + 38, 8 + 64, 0), 0xffff);
	s.vlan = 0;

	s.frag = 0;
	run_pkt(&r, "IPv4 without DF: too big, dropped (a router would fragment; XDP cannot)", &s);
	assert_int_equal(r.action, XDP_DROP);
	assert_int_equal(delta(&r, LB_STAT_DROP_TOO_BIG), 1);
	assert_int_equal(delta(&r, LB_STAT_XMIT_ICMP_TOO_BIG), 0);

	struct pkt_spec s6 = {.family = 6, .src = "fd77::9", .dst = "fd00::3", .sport = 40901,
			      .dport = 80, .proto = 6, .tcp_flags = 0x10, .payload = big,
			      .payload_len = sizeof(big)};
	run_pkt(&r, "IPv6, 374-byte frame, ipip, max_pkt_size 300: ICMPv6 packet too big", &s6);
	assert_int_equal(r.action, XDP_TX);
	assert_int_equal(delta(&r, LB_STAT_XMIT_ICMP_TOO_BIG), 1);
	assert_int_equal(r.out_len, 14 + 40 + 8 + 64);
	assert_int_equal(r.out[12] << 8 | r.out[13], 0x86dd);
	assert_int_equal(r.out[14 + 6], 58);
	assert_memory_equal(r.out + 14 + 8, r.in + 14 + 24, 16); /* from the VIP */
	assert_memory_equal(r.out + 14 + 24, r.in + 14 + 8, 16); /* to the sender */
	assert_int_equal(r.out[54], 2);
	assert_int_equal((uint32_t)r.out[58] << 24 | r.out[59] << 16 | r.out[60] << 8 | r.out[61],
			 300 - 20 - 14);
	{
		uint8_t ph[8] = {0, 0, 0, 8 + 64, 0, 0, 0, 58};
		uint32_t seed = pkt_sum(r.out + 14 + 8, 32, 0) + pkt_sum(ph, 8, 0);
		assert_int_equal(sum_ok(r.out + 54, 8 + 64, seed), 0xffff);
	}
	assert_memory_equal(r.out + 62, r.in + 14, 64);
	set_config(LB_FWD_DSR, LB_XMIT_TX, 0);
}

static void test_ipip(void **state)
{
	struct run r;
	struct pkt_spec s = {.family = 4, .src = "10.9.8.1", .dst = "10.0.0.1", .sport = 40800,
			     .dport = 80, .proto = 6, .tcp_flags = 0x02};
	uint32_t want = ring_backend(VIP_HASH, &s);
	uint8_t mac[6], baddr[4];
	char addr[64];

	(void)state;
	NEED_ROOT();
	set_config(LB_FWD_IPIP, LB_XMIT_TX, 0);
	run_pkt(&r, "IPv4 TCP SYN to hash VIP, forwarding = ipip: IPv4-in-IPv4 to the backend", &s);
	be_mac(want, mac);
	assert_int_equal(r.action, XDP_TX);
	assert_int_equal(r.out_len, r.in_len + 20);
	assert_memory_equal(r.out, mac, 6);
	assert_memory_equal(r.out + 6, LB_MAC, 6);
	assert_int_equal(r.out[12], 0x08);
	assert_int_equal(r.out[14], 0x45);
	assert_int_equal(r.out[14 + 9], 4); /* protocol IPIP */
	assert_int_equal((r.out[16] << 8 | r.out[17]), r.in_len - 14 + 20);
	assert_int_equal(r.out[26], 172);
	assert_int_equal(r.out[27], 16);
	snprintf(addr, sizeof(addr), "10.1.0.%u", want + 1);
	inet_pton(AF_INET, addr, baddr);
	assert_memory_equal(r.out + 30, baddr, 4);
	assert_int_equal(pkt_fold(pkt_sum(r.out + 14, 20, 0)), 0); /* header checksum valid */
	assert_memory_equal(r.out + 34, r.in + 14, r.in_len - 14); /* inner untouched */

	/* IPv6 client to IPv6 token VIP, all backends IPv6: IPv6-in-IPv6 */
	for (uint32_t i = 0; i < NBACKENDS; i++) {
		snprintf(addr, sizeof(addr), "fd01::%u", i + 1);
		set_backend(i, 6, addr);
	}
	struct pkt_spec s6 = {.family = 6, .src = "fd09::8", .dst = "fd00::3", .sport = 40801,
			      .dport = 80, .proto = 6, .tcp_flags = 0x02};
	want = ring_backend(VIP_TOKEN6, &s6);
	run_pkt(&r, "IPv6 TCP SYN to IPv6 VIP, IPv6 backend, ipip: IPv6-in-IPv6", &s6);
	assert_int_equal(r.action, XDP_TX);
	assert_int_equal(r.out_len, r.in_len + 40);
	assert_int_equal(r.out[12] << 8 | r.out[13], 0x86dd);
	assert_int_equal(r.out[14] >> 4, 6);
	assert_int_equal(r.out[14 + 6], 41);
	assert_int_equal(r.out[14 + 8], 0x01); /* 0100::/64 source */
	assert_int_equal((r.out[18] << 8 | r.out[19]), r.in_len - 14);
	assert_memory_equal(r.out + 54, r.in + 14, r.in_len - 14);
	run_pkt(&r, "IPv4 TCP SYN to IPv4 VIP, IPv6 backend, ipip: IPv4-in-IPv6", &s);
	assert_int_equal(r.action, XDP_TX);
	assert_int_equal(r.out_len, r.in_len + 40);
	assert_int_equal(r.out[14 + 6], 4);

	set_config(LB_FWD_IPIP, LB_XMIT_TX, 100);
	run_pkt(&r, "IPv4 TCP SYN, ipip with max_pkt_size 100 (frame 54 + 40 outer ok)", &s);
	assert_int_equal(r.action, XDP_TX);
	s.payload = "0123456789", s.payload_len = 10;
	run_pkt(&r, "IPv4 TCP SYN + 10 bytes, ipip with max_pkt_size 100: too big, dropped", &s);
	assert_int_equal(r.action, XDP_DROP);
	assert_int_equal(delta(&r, LB_STAT_DROP_TOO_BIG), 1);

	set_config(LB_FWD_DSR, LB_XMIT_TX, 0);
	for (uint32_t i = 0; i < NBACKENDS; i++) {
		snprintf(addr, sizeof(addr), "10.1.0.%u", i + 1);
		set_backend(i, 4, addr);
	}
}

static void test_counters_per_vip_backend(void **state)
{
	struct run r;
	struct pkt_spec s = {.family = 4, .src = "10.9.9.1", .dst = "10.0.0.2", .sport = 40900,
			     .dport = JOIN_BASE + 3, .proto = 6, .tcp_flags = 0x10};
	uint64_t v0, b0;

	(void)state;
	NEED_ROOT();
	v0 = percpu_sum(skel->maps.vip_stats, VIP_PORT);
	b0 = percpu_sum(skel->maps.backend_stats, 3);
	run_pkt(&r, "ACK to join port base+3: per-VIP and per-backend counters move", &s);
	assert_dsr_to(&r, 3);
	assert_int_equal(percpu_sum(skel->maps.vip_stats, VIP_PORT) - v0, 1);
	assert_int_equal(percpu_sum(skel->maps.backend_stats, 3) - b0, 1);
}

/* ---- malformed and unusual input: every fixture, its decision, its counter ---- */

struct odd {
	const char *desc;
	struct pkt_spec spec;
	int action;            /* expected XDP action */
	enum lb_stat counter;  /* must count this fixture (LB_STAT_MAX: none required) */
	enum lb_stat never;    /* must not count it (LB_STAT_MAX: none) */
};

#define V4(dst_, port_) .family = 4, .src = "10.77.0.1", .dst = dst_, .sport = 50001, .dport = port_, .proto = 6
#define V6(dst_, port_) .family = 6, .src = "fd77::1", .dst = dst_, .sport = 50001, .dport = port_, .proto = 6
#define OPT(...) .tcpopt = (const uint8_t[]){__VA_ARGS__}, .tcpopt_len = sizeof((const uint8_t[]){__VA_ARGS__})
#define EXT(first, ...) .ext6_first = first, .ext6 = (const uint8_t[]){__VA_ARGS__}, \
	.ext6_len = sizeof((const uint8_t[]){__VA_ARGS__})
#define NONE LB_STAT_MAX
/* An MP_CAPABLE with both keys at any length, and MP_JOIN SYN bodies. */
#define MPC(len) 30, len, 0x01, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16
#define MPJ(len) 30, len, 0x10, 1, 0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4
#define HBH(nh) nh, 0, 1, 4, 0, 0, 0, 0   /* 8 bytes: PadN */
#define DST(nh) nh, 0, 1, 4, 0, 0, 0, 0
#define RT(nh, left) nh, 0, 4, left, 0, 0, 0, 0
#define FRAG(nh, off_mf) nh, 0, (off_mf) >> 8, (off_mf) & 0xff, 0, 0, 0, 1

static const uint8_t ARP_FRAME[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0xcc, 0, 0, 0, 1, 0x08, 0x06};
static const uint8_t ETH_ONLY_V6[14] = {0x02, 0x1b, 0, 0, 0, 1, 0x02, 0xcc, 0, 0, 0, 1, 0x86, 0xdd};
static const uint8_t ETH_ONLY_V4[14] = {0x02, 0x1b, 0, 0, 0, 1, 0x02, 0xcc, 0, 0, 0, 1, 0x08, 0x00};
static const uint8_t IPV4_NO_PORTS[34] = {0x02, 0x1b, 0, 0, 0, 1, 0x02, 0xcc, 0, 0, 0, 1, 0x08, 0x00,
					  0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 10, 77, 0, 1, 10, 0, 0, 1};

static const struct odd odd_inputs[] = {
	/* TCP options */
	{"option of length 0", {V4("10.0.0.3", 80), .tcp_flags = 0x10, OPT(8, 0, 1, 1)}, XDP_TX, LB_STAT_EV_TCPOPT_MALFORMED, NONE},
	{"option of length 1", {V4("10.0.0.3", 80), .tcp_flags = 0x10, OPT(8, 1, 1, 1)}, XDP_TX, LB_STAT_EV_TCPOPT_MALFORMED, NONE},
	{"option longer than the option area", {V4("10.0.0.3", 80), .tcp_flags = 0x10, OPT(30, 40, 0, 0)}, XDP_TX, LB_STAT_EV_TCPOPT_MALFORMED, NONE},
	{"kind byte last in the area, no length", {V4("10.0.0.3", 80), .tcp_flags = 0x10, OPT(1, 1, 1, 30)}, XDP_TX, LB_STAT_EV_TCPOPT_MALFORMED, NONE},
	{"data offset past the end of the frame", {V4("10.0.0.3", 80), .tcp_flags = 0x10, .doff_words = 15, OPT(1, 1, 1, 1)}, XDP_TX, LB_STAT_EV_TCPOPT_MALFORMED, NONE},
	{"EOL then garbage: the walk stops at EOL", {V4("10.0.0.3", 80), .tcp_flags = 0x10, OPT(0, 30, 0, 99)}, XDP_TX, LB_STAT_PATH_RING, LB_STAT_EV_TCPOPT_MALFORMED},
	{"40 NOPs: the whole option area", {V4("10.0.0.3", 80), .tcp_flags = 0x10, OPT(1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1)}, XDP_TX, LB_STAT_PATH_RING, LB_STAT_EV_TCPOPT_MALFORMED},
	{"hash VIP: options are not walked, a bad one is not counted", {V4("10.0.0.1", 80), .tcp_flags = 0x10, OPT(8, 0, 1, 1)}, XDP_TX, LB_STAT_PATH_RING, LB_STAT_EV_TCPOPT_MALFORMED},
	{"NOP NOP TS, then a DSS ending the area: read in place", {V4("10.0.0.3", 80), .tcp_flags = 0x10, OPT(1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 30, 8, 0x20, 0x01, 0, 0, 0, 1)}, XDP_TX, LB_STAT_PATH_RING, LB_STAT_EV_TCPOPT_MALFORMED},
	{"NOP NOP TS, then an option of length 0: walked, counted", {V4("10.0.0.3", 80), .tcp_flags = 0x10, OPT(1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 8, 0, 1, 1)}, XDP_TX, LB_STAT_EV_TCPOPT_MALFORMED, NONE},
	{"NOP NOP TS, then a DSS longer than the area", {V4("10.0.0.3", 80), .tcp_flags = 0x10, OPT(1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 30, 12, 0x20, 0x01, 0, 0, 0, 1)}, XDP_TX, LB_STAT_EV_TCPOPT_MALFORMED, NONE},
	{"TSecr VIP, NOP NOP TS first: the rest is not read", {V4("10.0.0.4", 80), .tcp_flags = 0x10, OPT(1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 8, 0, 1, 1)}, XDP_TX, LB_STAT_EV_TSECR_NO_ID, LB_STAT_EV_TCPOPT_MALFORMED},
	{"TCP data offset 4 (< 5 words)", {V4("10.0.0.1", 80), .tcp_flags = 0x10, .doff_words = 4}, XDP_DROP, LB_STAT_DROP_MALFORMED_L4, NONE},
	{"TCP data offset 0", {V4("10.0.0.1", 80), .tcp_flags = 0x10, .doff_words = 0x10}, XDP_DROP, LB_STAT_DROP_MALFORMED_L4, NONE},
	{"TCP header cut after 10 bytes", {V4("10.0.0.1", 80), .tcp_flags = 0x10, .truncate = 10}, XDP_DROP, LB_STAT_DROP_MALFORMED_L4, NONE},
	/* MPTCP subtypes at the wrong lengths, on a token VIP */
	{"MP_CAPABLE ACK of length 18: no key learned", {V4("10.0.0.3", 80), .tcp_flags = 0x10, OPT(MPC(18))}, XDP_TX, NONE, LB_STAT_EV_TOKEN_LEARNED},
	{"MP_CAPABLE ACK of length 21: no key learned", {V4("10.0.0.3", 80), .tcp_flags = 0x10, OPT(MPC(21), 0)}, XDP_TX, NONE, LB_STAT_EV_TOKEN_LEARNED},
	{"MP_CAPABLE ACK of length 25: no key learned", {V4("10.0.0.3", 80), .tcp_flags = 0x10, OPT(MPC(25), 0, 0, 0, 0, 0)}, XDP_TX, NONE, LB_STAT_EV_TOKEN_LEARNED},
	{"MP_CAPABLE of length 12 (the SYN form) on an ACK: no key learned", {V4("10.0.0.3", 80), .tcp_flags = 0x10, OPT(30, 12, 0x01, 0x01, 1, 2, 3, 4, 5, 6, 7, 8)}, XDP_TX, NONE, LB_STAT_EV_TOKEN_LEARNED},
	{"MP_CAPABLE with both keys on a SYN+ACK: never learned", {V4("10.0.0.3", 80), .tcp_flags = 0x12, OPT(MPC(20))}, XDP_TX, NONE, LB_STAT_EV_TOKEN_LEARNED},
	{"MP_CAPABLE with both keys on a SYN: never learned", {V4("10.0.0.3", 80), .tcp_flags = 0x02, OPT(MPC(20))}, XDP_TX, NONE, LB_STAT_EV_TOKEN_LEARNED},
	{"MP_JOIN SYN of length 11: no token, a plain SYN (ring)", {V4("10.0.0.3", 80), .tcp_flags = 0x02, OPT(30, 11, 0x10, 1, 0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3)}, XDP_TX, LB_STAT_PATH_RING, LB_STAT_EV_TOKEN_MISS},
	{"MP_JOIN SYN of length 13: no token (ring)", {V4("10.0.0.3", 80), .tcp_flags = 0x02, OPT(MPJ(13), 0)}, XDP_TX, LB_STAT_PATH_RING, LB_STAT_EV_TOKEN_MISS},
	{"MP_JOIN of length 16 (SYN-ACK form) on a SYN: no token (ring)", {V4("10.0.0.3", 80), .tcp_flags = 0x02, OPT(MPJ(16), 0, 0, 0, 0)}, XDP_TX, LB_STAT_PATH_RING, LB_STAT_EV_TOKEN_MISS},
	{"MP_JOIN of length 24 (third-ACK form) on a SYN: no token (ring)", {V4("10.0.0.3", 80), .tcp_flags = 0x02, OPT(MPJ(24), 0,0,0,0,0,0,0,0,0,0,0,0)}, XDP_TX, LB_STAT_PATH_RING, LB_STAT_EV_TOKEN_MISS},
	{"MP_JOIN SYN with SYN+ACK flags: not a join SYN (ring)", {V4("10.0.0.3", 80), .tcp_flags = 0x12, OPT(MPJ(12))}, XDP_TX, NONE, LB_STAT_EV_TOKEN_MISS},
	{"MPTCP option of length 2: no subtype byte", {V4("10.0.0.3", 80), .tcp_flags = 0x10, OPT(30, 2, 1, 1)}, XDP_TX, NONE, LB_STAT_EV_TOKEN_LEARNED},
	{"MPTCP option of length 3", {V4("10.0.0.3", 80), .tcp_flags = 0x10, OPT(30, 3, 0x00, 1)}, XDP_TX, NONE, LB_STAT_EV_TOKEN_LEARNED},
	{"DSS of length 4", {V4("10.0.0.3", 80), .tcp_flags = 0x10, OPT(30, 4, 0x20, 0)}, XDP_TX, LB_STAT_PATH_RING, NONE},
	{"ADD_ADDR of length 2", {V4("10.0.0.3", 80), .tcp_flags = 0x10, OPT(30, 2, 1, 1)}, XDP_TX, LB_STAT_PATH_RING, NONE},
	{"unknown MPTCP subtype 0xf", {V4("10.0.0.3", 80), .tcp_flags = 0x10, OPT(30, 4, 0xf0, 0)}, XDP_TX, LB_STAT_PATH_RING, NONE},
	/* Timestamps on a tsecr VIP */
	{"timestamp option of length 9: no TSecr read", {V4("10.0.0.4", 80), .tcp_flags = 0x10, OPT(8, 9, 1, 2, 3, 4, 5, 6, 7, 1, 1, 1)}, XDP_TX, LB_STAT_PATH_RING, LB_STAT_PATH_TSECR},
	{"timestamp option of length 11", {V4("10.0.0.4", 80), .tcp_flags = 0x10, OPT(8, 11, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1)}, XDP_TX, NONE, LB_STAT_PATH_TSECR},
	/* IPv4 */
	{"IPv4 IHL 4 (< 5 words)", {V4("10.0.0.1", 80), .tcp_flags = 0x10, .ihl_words = 4}, XDP_PASS, LB_STAT_PASS_MALFORMED_L3, NONE},
	{"IPv4 IHL 15 with 40 bytes of options", {V4("10.0.0.1", 80), .tcp_flags = 0x10, .ipopt = (const uint8_t[40]){1}, .ipopt_len = 40}, XDP_TX, LB_STAT_EV_IPV4_OPTIONS, NONE},
	{"IPv4 IHL past the frame: ports unreadable", {.raw = IPV4_NO_PORTS, .raw_len = sizeof(IPV4_NO_PORTS)}, XDP_PASS, LB_STAT_PASS_MALFORMED_L3, NONE},
	{"IPv4 first fragment (MF) to a TCP VIP: 3-tuple ring", {V4("10.0.0.1", 80), .tcp_flags = 0x10, .frag = 0x2000}, XDP_TX, LB_STAT_PATH_FRAG_RING, NONE},
	{"IPv4 non-first fragment: 3-tuple ring", {V4("10.0.0.1", 80), .frag = 0x0010, .l4_absent = true, .payload = "xxxxxxxx", .payload_len = 8}, XDP_TX, LB_STAT_PATH_FRAG_RING, NONE},
	{"IPv4 fragment to an address that is no VIP", {V4("10.0.0.9", 80), .frag = 0x2000}, XDP_PASS, LB_STAT_PASS_FRAG_NOT_VIP, NONE},
	/* Layer 2 */
	{"802.1Q tag", {V4("10.0.0.1", 80), .tcp_flags = 0x10, .vlan = 7}, XDP_TX, LB_STAT_PATH_RING, NONE},
	{"QinQ: 802.1ad then 802.1Q", {V4("10.0.0.1", 80), .tcp_flags = 0x10, .vlan = 7, .vlan2 = 100}, XDP_TX, LB_STAT_PATH_RING, NONE},
	{"three tags: not IP to us", {V4("10.0.0.1", 80), .tcp_flags = 0x10, .vlan = 7, .vlan2 = 100, .vlan3 = 5}, XDP_PASS, LB_STAT_PASS_NOT_IP, NONE},
	{"frame cut inside the VLAN tag", {.raw = (const uint8_t[16]){0x02, 0x1b, 0, 0, 0, 1, 0x02, 0xcc, 0, 0, 0, 1, 0x81, 0x00, 0, 7}, .raw_len = 16}, XDP_PASS, LB_STAT_PASS_MALFORMED_L3, NONE},
	{"Ethernet header only, IPv6 EtherType", {.raw = ETH_ONLY_V6, .raw_len = sizeof(ETH_ONLY_V6)}, XDP_PASS, LB_STAT_PASS_MALFORMED_L3, NONE},
	{"Ethernet header only, IPv4 EtherType", {.raw = ETH_ONLY_V4, .raw_len = sizeof(ETH_ONLY_V4)}, XDP_PASS, LB_STAT_PASS_MALFORMED_L3, NONE},
	{"ARP", {.raw = ARP_FRAME, .raw_len = sizeof(ARP_FRAME)}, XDP_PASS, LB_STAT_PASS_NOT_IP, NONE},
	/* IPv6 extension headers, on the IPv6 token VIP (ring for unknown tokens) */
	{"IPv6 hop-by-hop then TCP: walked", {V6("fd00::3", 80), .tcp_flags = 0x10, EXT(0, HBH(6))}, XDP_TX, LB_STAT_EV_IPV6_EXT_HDR, NONE},
	{"IPv6 destination options then TCP", {V6("fd00::3", 80), .tcp_flags = 0x10, EXT(60, DST(6))}, XDP_TX, LB_STAT_EV_IPV6_EXT_HDR, NONE},
	{"IPv6 hop-by-hop, destination options, TCP", {V6("fd00::3", 80), .tcp_flags = 0x10, EXT(0, HBH(60), DST(6))}, XDP_TX, LB_STAT_PATH_RING, NONE},
	{"IPv6 routing header, 0 segments left", {V6("fd00::3", 80), .tcp_flags = 0x10, EXT(43, RT(6, 0))}, XDP_TX, LB_STAT_EV_IPV6_EXT_HDR, NONE},
	{"IPv6 routing header, 2 segments left: not the final destination", {V6("fd00::3", 80), .tcp_flags = 0x10, EXT(43, RT(6, 2))}, XDP_PASS, LB_STAT_PASS_IPV6_EXT_HDR, NONE},
	{"IPv6 first fragment (MF): 3-tuple ring", {V6("fd00::3", 80), .tcp_flags = 0x10, EXT(44, FRAG(6, 0x0001))}, XDP_TX, LB_STAT_PATH_FRAG_RING, NONE},
	{"IPv6 non-first fragment", {V6("fd00::3", 80), .l4_absent = true, .payload = "xxxxxxxx", .payload_len = 8, EXT(44, FRAG(6, 0x0010))}, XDP_TX, LB_STAT_EV_IPV6_FRAGMENT, NONE},
	{"IPv6 atomic fragment (offset 0, no MF): TCP parsed", {V6("fd00::3", 80), .tcp_flags = 0x10, EXT(44, FRAG(6, 0))}, XDP_TX, LB_STAT_PATH_RING, LB_STAT_PATH_FRAG_RING},
	{"IPv6 five extension headers: more than walked", {V6("fd00::3", 80), .tcp_flags = 0x10, EXT(0, HBH(60), DST(60), DST(60), DST(60), DST(6))}, XDP_PASS, LB_STAT_PASS_IPV6_EXT_HDR, NONE},
	{"IPv6 frame cut inside an extension header", {V6("fd00::3", 80), .tcp_flags = 0x10, EXT(0, HBH(6)), .truncate = 24 + 20}, XDP_PASS, LB_STAT_PASS_MALFORMED_L3, NONE},
	{"IPv6 extension header length past the frame", {V6("fd00::3", 80), .tcp_flags = 0x10, EXT(0, 6, 200, 1, 4, 0, 0, 0, 0)}, XDP_PASS, LB_STAT_PASS_MALFORMED_L3, NONE},
	{"IPv6 ESP: not TCP or UDP", {V6("fd00::3", 80), .tcp_flags = 0x10, EXT(0, HBH(50))}, XDP_PASS, LB_STAT_PASS_NOT_VIP, NONE},
	{"IPv6 no next header (59)", {.family = 6, .src = "fd77::1", .dst = "fd00::3", .proto = 59}, XDP_PASS, LB_STAT_PASS_NOT_VIP, NONE},
	{"IPv6 header cut short", {V6("fd00::3", 80), .tcp_flags = 0x10, .truncate = 50}, XDP_PASS, LB_STAT_PASS_MALFORMED_L3, NONE},
	/* Other protocols and ports */
	{"ICMP to the VIP", {.family = 4, .src = "10.77.0.1", .dst = "10.0.0.1", .proto = 1, .payload = "icmpdata", .payload_len = 8}, XDP_PASS, LB_STAT_PASS_NOT_VIP, NONE},
	{"UDP header cut short, to the UDP VIP", {.family = 4, .src = "10.77.0.1", .dst = "10.0.0.1", .sport = 5000, .dport = 53, .proto = 17, .truncate = 4}, XDP_DROP, LB_STAT_DROP_MALFORMED_L4, NONE},
	{"TCP to the VIP address on another port", {V4("10.0.0.1", 81), .tcp_flags = 0x10}, XDP_PASS, LB_STAT_PASS_NOT_VIP, NONE},
};

static void test_odd_inputs(void **state)
{
	struct run r;

	(void)state;
	NEED_ROOT();
	assert_true(ARRAY_LEN(odd_inputs) >= 50);
	for (size_t i = 0; i < ARRAY_LEN(odd_inputs); i++) {
		const struct odd *o = &odd_inputs[i];
		run_pkt(&r, o->desc, &o->spec);
		if (r.action != o->action)
			fail_msg("%s: action %d, want %d", o->desc, r.action, o->action);
		if (o->counter != NONE && delta(&r, o->counter) != 1)
			fail_msg("%s: counter %d moved by %llu, want 1", o->desc, o->counter,
				 (unsigned long long)delta(&r, o->counter));
		if (o->never != NONE && delta(&r, o->never) != 0)
			fail_msg("%s: counter %d moved, must not", o->desc, o->never);
		if (r.action == XDP_PASS)
			assert_passed_untouched(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_tcp),
		cmocka_unit_test(test_vlan_and_redirect),
		cmocka_unit_test(test_not_vip),
		cmocka_unit_test(test_port_range),
		cmocka_unit_test(test_token_v4),
		cmocka_unit_test(test_token_v6),
		cmocka_unit_test(test_token_collision),
		cmocka_unit_test(test_token_pushed),
		cmocka_unit_test(test_token_hold),
		cmocka_unit_test(test_tsecr),
		cmocka_unit_test(test_forged_tsecr),
		cmocka_unit_test(test_udp_and_fragments),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_malformed_options),
		cmocka_unit_test(test_lru),
		cmocka_unit_test(test_lru_evictions_counted),
		cmocka_unit_test(test_ipip),
		cmocka_unit_test(test_icmp_too_big),
		cmocka_unit_test(test_counters_per_vip_backend),
		cmocka_unit_test(test_odd_inputs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
