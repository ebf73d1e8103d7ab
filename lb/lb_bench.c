// SPDX-License-Identifier: MIT
/*
 * mplb lb bench: ns per packet of each decision path of xdp_lb, as paired
 * ratios measured in one run (absolute ns drift 10-20% between passes on a
 * VM; ratios within a pass do not):
 *
 *   - against the floor: the packet-restoring harness (bpf/bench_harness)
 *     tail-calling xdp_tx_floor. Every case runs through the same harness,
 *     which restores the frame before each of the `repeat` iterations, so
 *     every iteration measures the same packet (IPIP included) and what the
 *     harness costs is in the floor too;
 *   - against a reference L4 balancer (bpf/ref_l4lb: Katran's per-packet
 *     work, LRU hit, IPIP) on the same packet bytes.
 *
 * Both are given raw (ns / ns) and net of the floor ((ns - floor) /
 * (ref - floor): the balancers' own work). Every case checks its verdict,
 * its output length and, for xdp_lb, that its path counter moved by exactly
 * `repeat`: a number is never of another path. Plus the verifier's
 * statistics per program and Maglev build time. A benchmark, not a test.
 */
#include "lb_bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "bpf/bench_harness.skel.h"
#include "bpf/lb.skel.h"
#include "bpf/ref_l4lb.h"
#include "bpf/ref_l4lb.skel.h"
#include "bpf/xdp_pass.skel.h"
#include "lb_config.h"
#include "lb_runtime.h"
#include "maglev.h"
#include "mplb/sha256_min.h"
#include "mplb/tsecr.h"
#include "pktbuild.h"
#include "util.h"

#define BENCH_MAX_CASES 24
#define BENCH_MAX_PASSES 31
#define VLOG_SIZE (1 << 20)

enum bench_prog { PROG_FLOOR, PROG_REF, PROG_LB, PROG_LB6, PROG_N };

struct bench_case {
	const char *name;
	const char *what;
	enum bench_prog prog;
	int floor;    /* index of the floor case paired with it */
	int ref;      /* index of the reference case paired with it (-1: none) */
	int stat;     /* xdp_lb counter that must move by repeat, -1: none */
	bool stat_approx; /* random input: 1 in 256 may take another path (a forged TSecr that checks) */
	int action;   /* expected verdict */
	int grow;     /* bytes the frame grows by (IPIP outer header) */
	uint32_t vary_off;
	struct pkt_spec spec;
	uint8_t opt[40];
	uint8_t buf[PKT_MAX];
	size_t len;
	double ns[BENCH_MAX_PASSES];
};

struct prog_stats {
	const char *name;
	__u32 verified_insns, xlated_bytes, jited_bytes;
	int stack; /* -1: not reported */
};

static const __u64 BENCH_KEY[2] = {0x0001020304050607ULL, 0x08090a0b0c0d0e0fULL};
static const uint8_t BENCH_PAYLOAD[100] = {0};

static void bench_vip(struct lb_cfg *c, const char *name, int family, const char *addr, uint32_t flags)
{
	struct lb_cfg_vip *v = &c->vips[c->n_vips++];

	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->family = family;
	inet_pton(family == MPLB_FAMILY_V6 ? AF_INET6 : AF_INET, addr, v->addr);
	v->port = 80;
	v->proto = IPPROTO_TCP;
	v->flags = flags;
	v->unknown_token = UNKNOWN_TOKEN_RING;
	if (flags & VIP_F_PORT)
		v->join_port_base = 20000, v->join_port_count = 4;
}

static void bench_cfg(struct lb_cfg *c)
{
	static const char *addrs[] = {"10.0.0.1", "10.0.0.5", "10.0.0.2", "10.0.0.3", "10.0.0.4"};
	static const uint32_t flags[] = {0, VIP_F_LRU, VIP_F_PORT, VIP_F_TOKEN, VIP_F_TSECR};

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "bench");
	c->ring_size = MPLB_RING_SIZE_DEFAULT;
	c->max_vips = 8;
	c->token_entries = MPLB_TOKEN_ENTRIES_DEFAULT;
	c->flow_entries = MPLB_FLOW_ENTRIES_DEFAULT;
	c->lru_entries = MPLB_LRU_ENTRIES_DEFAULT;
	c->forwarding = LB_FWD_IPIP; /* as the reference: both encapsulate */
	c->has_tsecr_key = true;
	c->tsecr_key[0] = BENCH_KEY[0];
	c->tsecr_key[1] = BENCH_KEY[1];
	for (int i = 0; i < 5; i++) {
		char name[16];
		snprintf(name, sizeof(name), "v%d", i);
		bench_vip(c, name, MPLB_FAMILY_V4, addrs[i], flags[i]);
	}
	for (int i = 0; i < 4; i++) {
		struct lb_cfg_backend *b = &c->backends[c->n_backends++];
		snprintf(b->name, sizeof(b->name), "b%d", i);
		b->id = i;
		b->family = MPLB_FAMILY_V4;
		b->addr[0] = htonl(0x0a010001u + (uint32_t)i);
		b->has_addr = b->has_mac = true;
		b->mac[0] = 2, b->mac[5] = (uint8_t)(0x10 + i);
		b->weight = 1;
	}
}

/* IPv6: an LRU VIP and a hash VIP over IPv6 backends (IPv6 in IPv6), a runtime of its own. */
static void bench_cfg6(struct lb_cfg *c)
{
	static const char *addrs[] = {"fd00::5", "fd00::1"};
	static const uint32_t flags[] = {VIP_F_LRU, 0};

	bench_cfg(c);
	snprintf(c->name, sizeof(c->name), "bench6");
	c->n_vips = 0;
	for (int i = 0; i < 2; i++) {
		char name[16];
		snprintf(name, sizeof(name), "v6-%d", i);
		bench_vip(c, name, MPLB_FAMILY_V6, addrs[i], flags[i]);
	}
	for (int i = 0; i < c->n_backends; i++) {
		struct lb_cfg_backend *b = &c->backends[i];
		b->family = MPLB_FAMILY_V6;
		inet_pton(AF_INET6, "fd01::1", b->addr);
		((uint8_t *)b->addr)[15] = (uint8_t)(1 + i);
	}
}

/*
 * The reference's state: VIP 10.0.0.5:80 (the LRU VIP's address) over IPv4
 * reals 1-4, VIP [fd00::5]:80 over IPv6 reals 5-8, rings, an LRU per CPU.
 */
static int ref_setup(struct ref_l4lb_bpf *r)
{
	struct ref_vip_key vk = {.port = htons(80), .proto = IPPROTO_TCP};
	struct ref_vip_meta vm = {.vip_num = 0}, vm6 = {.vip_num = 1};
	struct ref_ctl ctl = {.mac = {2, 0, 0, 0, 0, 0x20}};
	int ncpu = libbpf_num_possible_cpus(), ring_fd = bpf_map__fd(r->maps.ref_rings);
	__u32 zero = 0;

	inet_pton(AF_INET, "10.0.0.5", vk.addr);
	if (bpf_map_update_elem(bpf_map__fd(r->maps.ref_vips), &vk, &vm, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(r->maps.ref_ctl), &zero, &ctl, BPF_ANY))
		return -1;
	inet_pton(AF_INET6, "fd00::5", vk.addr);
	if (bpf_map_update_elem(bpf_map__fd(r->maps.ref_vips), &vk, &vm6, BPF_ANY))
		return -1;
	for (__u32 i = 1; i <= 8; i++) {
		struct ref_real real = {.addr = {htonl(0x0a010000u + i)}};
		if (i > 4) {
			inet_pton(AF_INET6, "fd01::", real.addr);
			((uint8_t *)real.addr)[15] = (uint8_t)i;
			real.flags = REF_REAL_F_IPV6;
		}
		if (bpf_map_update_elem(bpf_map__fd(r->maps.ref_reals), &i, &real, BPF_ANY))
			return -1;
	}
	for (__u32 slot = 0; slot < 2 * REF_RING_SIZE; slot++) {
		__u32 pos = 1 + slot % 4 + (slot >= REF_RING_SIZE ? 4 : 0);
		if (bpf_map_update_elem(ring_fd, &slot, &pos, BPF_ANY))
			return -1;
	}
	for (int cpu = 0; cpu < ncpu && cpu < REF_MAX_CPUS; cpu++) {
		LIBBPF_OPTS(bpf_map_create_opts, o);
		__u32 key = (__u32)cpu;
		int fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "ref_lru_cpu", sizeof(struct ref_flow),
					sizeof(struct ref_lru_val), MPLB_LRU_ENTRIES_DEFAULT, &o);
		if (fd < 0)
			return -1;
		int err = bpf_map_update_elem(bpf_map__fd(r->maps.ref_lru_mapping), &key, &fd, BPF_ANY);
		close(fd); /* the outer map holds it */
		if (err)
			return -1;
	}
	return 0;
}

static uint64_t stat_sum(struct lb_bpf *s, int idx)
{
	int n = libbpf_num_possible_cpus();
	struct lb_counter v[n > 0 ? n : 1];
	uint32_t key = (uint32_t)idx;
	uint64_t t = 0;

	if (idx < 0 || n <= 0 || bpf_map_lookup_elem(bpf_map__fd(s->maps.lb_stats), &key, v))
		return 0;
	for (int i = 0; i < n; i++)
		t += v[i].packets;
	return t;
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double t[BENCH_MAX_PASSES];
	memcpy(t, v, (size_t)n * sizeof(*t));
	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

/* Offset of needle in the frame (an option's bytes), or 0. */
static uint32_t find_bytes(const uint8_t *buf, size_t len, const uint8_t *needle, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(buf + i, needle, n))
			return (uint32_t)i;
	return 0;
}

static int setup_cases(struct bench_case *c)
{
	uint64_t key_b = 0x1122334455667788ULL;
	uint8_t dss[8] = {30, 8, 0x20, 0x01, 0, 0, 0x10, 0}; /* DSS, data ACK (4 bytes) */
	int n = 0, floor = 0, floor_vary = 1, ref = 2, ref_syn = 3, ref6 = 4;

#define CASE(name_, prog_, what_, stat_, action_) \
	c[n].name = name_, c[n].prog = prog_, c[n].what = what_, c[n].stat = stat_, \
	c[n].action = action_, c[n].floor = floor, c[n].ref = ref, \
	c[n].grow = (prog_) == PROG_FLOOR || (action_) != XDP_TX ? 0 : 20
	/* An established segment as Linux sends it: NOP NOP TS, 100 bytes of data. */
#define EST(daddr_, sport_, dport_, flags_) \
	c[n].spec = (struct pkt_spec){.family = 4, .src = "10.9.0.1", .dst = daddr_, \
				      .sport = sport_, .dport = dport_, .proto = 6, \
				      .tcp_flags = flags_, .tcpopt = c[n].opt, \
				      .tcpopt_len = opt_ts(c[n].opt, 7, 9), \
				      .payload = BENCH_PAYLOAD, .payload_len = 100}
#define EST6(daddr_) \
	(EST(daddr_, 40000, 80, 0x10), c[n].spec.family = 6, c[n].spec.src = "fd09::1")
#define WITH(bytes_, len_) \
	(memcpy(c[n].opt + c[n].spec.tcpopt_len, bytes_, len_), c[n].spec.tcpopt_len += (len_))

	EST("10.0.0.5", 40000, 80, 0x10);
	CASE("floor", PROG_FLOOR, "harness + XDP_TX floor (MAC swap)", -1, XDP_TX), n++;
	EST("10.0.0.5", 40000, 80, 0x02);
	CASE("floor_vary", PROG_FLOOR, "harness writing a counter + XDP_TX floor", -1, XDP_TX);
	c[n].vary_off = 26, n++; /* IPv4 source address */
	EST("10.0.0.5", 40000, 80, 0x10);
	CASE("ref_established", PROG_REF, "reference: ACK + 100 B, LRU hit, IPIP", -1, XDP_TX);
	c[n].ref = -1, n++;
	EST("10.0.0.5", 40000, 80, 0x02);
	CASE("ref_syn_fresh", PROG_REF, "reference: SYN of a new 5-tuple: jhash, ring, LRU insert", -1,
	     XDP_TX);
	c[n].vary_off = 26, c[n].floor = floor_vary, c[n].ref = -1, n++;
	EST6("fd00::5");
	CASE("ref_established_v6", PROG_REF, "reference: IPv6 ACK + 100 B, LRU hit, IPv6 in IPv6",
	     -1, XDP_TX);
	c[n].ref = -1, c[n].grow = 40, n++;

	EST("10.0.0.1", 40000, 80, 0x10);
	CASE("ring", PROG_LB, "ACK + 100 B on a hash VIP: Maglev ring, stateless", LB_STAT_PATH_RING,
	     XDP_TX), n++;
	EST("10.0.0.5", 40000, 80, 0x10);
	CASE("lru_hit", PROG_LB, "ACK + 100 B on an LRU VIP, flow known", LB_STAT_PATH_LRU_HIT,
	     XDP_TX), n++;
	EST6("fd00::1");
	CASE("ring_v6", PROG_LB6, "IPv6 ACK + 100 B on a hash VIP: ring, IPv6 in IPv6",
	     LB_STAT_PATH_RING, XDP_TX);
	c[n].ref = ref6, c[n].grow = 40, n++;
	EST6("fd00::5");
	CASE("lru_hit_v6", PROG_LB6, "IPv6 ACK + 100 B on an LRU VIP, flow known, IPv6 in IPv6",
	     LB_STAT_PATH_LRU_HIT, XDP_TX);
	c[n].ref = ref6, c[n].grow = 40, n++;
	EST("10.0.0.3", 40002, 80, 0x10);
	WITH(dss, sizeof(dss));
	CASE("token_vip_ack", PROG_LB, "ACK + DSS + 100 B on a token VIP (initial subflow): ring",
	     LB_STAT_PATH_RING, XDP_TX), n++;
	EST("10.0.0.3", 40000, 80, 0x10);
	c[n].spec.payload_len = 0;
	c[n].spec.tcpopt_len += opt_mpc_ack(c[n].opt + c[n].spec.tcpopt_len, 1, key_b, 20);
	CASE("mpc_ack_known", PROG_LB, "MP_CAPABLE third ACK, token already known",
	     LB_STAT_EV_TOKEN_REFRESHED, XDP_TX), n++;
	EST("10.0.0.3", 40001, 80, 0x02);
	c[n].spec.payload_len = 0;
	c[n].spec.tcpopt_len += opt_mpj_syn(c[n].opt + c[n].spec.tcpopt_len, sha256_min_token(key_b), 5);
	CASE("join_syn", PROG_LB, "MP_JOIN SYN with a known token (pins the join flow)",
	     LB_STAT_PATH_TOKEN_HIT, XDP_TX), n++;
	EST("10.0.0.3", 40001, 80, 0x10);
	WITH(dss, sizeof(dss));
	CASE("join_flow_hit", PROG_LB, "ACK + DSS + 100 B on a join subflow pinned by token",
	     LB_STAT_PATH_FLOW_HIT, XDP_TX), n++;
	EST("10.0.0.4", 40000, 80, 0x10);
	c[n].spec.tcpopt_len = opt_ts(c[n].opt, 7, tsecr_encode(BENCH_KEY, 0x10000, 2));
	CASE("tsecr", PROG_LB, "ACK + 100 B whose TSecr carries backend 2 (decoded this tick)", LB_STAT_PATH_TSECR,
	     XDP_TX), n++;
	EST("10.0.0.4", 40000, 80, 0x10);
	c[n].spec.tcpopt_len = opt_ts(c[n].opt, 7, 0x12345678);
	CASE("tsecr_no_id", PROG_LB, "ACK + 100 B whose TSecr carries no id (decoded this tick): ring",
	     LB_STAT_PATH_RING, XDP_TX), n++;
	EST("10.0.0.4", 40000, 80, 0x10);
	c[n].spec.tcpopt_len = opt_ts(c[n].opt, 7, 0x12345678);
	CASE("tsecr_uncached", PROG_LB, "ACK + 100 B, a TSecr not seen before: decode (2 SipHash), ring",
	     LB_STAT_EV_TSECR_NO_ID, XDP_TX);
	c[n].floor = floor_vary, c[n].vary_off = 62, c[n].stat_approx = true, n++; /* the TSecr */
	EST("10.0.0.2", 40000, 20002, 0x10);
	CASE("port", PROG_LB, "ACK + 100 B to join port base+2", LB_STAT_PATH_PORT, XDP_TX), n++;
	EST("10.0.0.3", 40000, 80, 0x10);
	c[n].spec.payload_len = 0;
	c[n].spec.tcpopt_len += opt_mpc_ack(c[n].opt + c[n].spec.tcpopt_len, 1, key_b + 1, 20);
	CASE("mpc_ack_fresh", PROG_LB, "MP_CAPABLE third ACK of a new key: token learned",
	     LB_STAT_PATH_RING, XDP_TX);
	c[n].floor = floor_vary, c[n].vary_off = 1, n++; /* offset set after the build */
	EST("10.0.0.1", 40000, 80, 0x02);
	c[n].spec.payload_len = 0;
	CASE("syn_fresh", PROG_LB, "SYN of a new 5-tuple on a hash VIP: ring, no state",
	     LB_STAT_PATH_RING, XDP_TX);
	c[n].floor = floor_vary, c[n].ref = ref_syn, c[n].vary_off = 26, n++;
	EST("10.0.0.5", 40000, 80, 0x02);
	c[n].spec.payload_len = 0;
	CASE("syn_fresh_lru", PROG_LB, "SYN of a new 5-tuple on an LRU VIP: ring (learnt at its ACK)",
	     LB_STAT_PATH_RING, XDP_TX);
	c[n].floor = floor_vary, c[n].ref = ref_syn, c[n].vary_off = 26, n++;
	EST("10.0.0.5", 40000, 80, 0x10);
	CASE("ack_fresh_lru", PROG_LB, "first ACK of a new 5-tuple on an LRU VIP: ring, LRU insert",
	     LB_STAT_PATH_RING, XDP_TX);
	c[n].floor = floor_vary, c[n].ref = ref_syn, c[n].vary_off = 26, n++;
	EST("10.0.0.99", 40000, 80, 0x02);
	CASE("not_vip", PROG_LB, "SYN to a non-VIP address: XDP_PASS", LB_STAT_PASS_NOT_VIP,
	     XDP_PASS), n++;
#undef CASE
#undef EST
#undef EST6
#undef WITH
	for (int i = 0; i < n; i++) {
		c[i].len = pkt_build(&c[i].spec, c[i].buf);
		if (c[i].vary_off == 1) { /* the low half of the new key */
			uint8_t mpc[4] = {30, 20, 0x01, 0x01};
			uint32_t at = find_bytes(c[i].buf, c[i].len, mpc, sizeof(mpc));
			c[i].vary_off = at ? at + 16 : 0;
		}
	}
	return n;
}

static int run_case(int harness_fd, struct bench_harness_bpf *h, const struct bench_case *c,
		    int repeat, uint32_t *duration, uint32_t *retval, uint32_t *out_len)
{
	uint8_t out[PKT_MAX + 64];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = c->buf, .data_size_in = (uint32_t)c->len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = repeat);
	int err;

	memcpy(h->bss->frame, c->buf, c->len);
	h->bss->frame_len = (uint32_t)c->len;
	h->bss->vary_off = c->vary_off;
	err = bpf_prog_test_run_opts(harness_fd, &o);
	*duration = o.duration;
	*retval = o.retval;
	*out_len = o.data_size_out;
	return err;
}

/* Instructions, sizes and stack of a loaded program; the stack from the verifier log. */
static void prog_stats_of(struct prog_stats *ps, const char *name, int fd, const char *log)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	const char *p = log ? strstr(log, "stack depth ") : NULL;

	ps->name = name;
	ps->stack = p ? atoi(p + strlen("stack depth ")) : -1;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
		ps->verified_insns = info.verified_insns;
		ps->xlated_bytes = info.xlated_prog_len;
		ps->jited_bytes = info.jited_prog_len;
	}
}

static double maglev_ms(size_t n_backends, uint32_t *table, struct maglev_backend *mb)
{
	double t[5];

	for (size_t i = 0; i < n_backends; i++) {
		char nm[32];
		snprintf(nm, sizeof(nm), "backend-%zu", i);
		mb[i] = (struct maglev_backend){maglev_key_of_name(nm), (uint32_t)i, 1};
	}
	for (int rep = 0; rep < 5; rep++) {
		double t0 = now_ns();
		maglev_build(mb, n_backends, MAGLEV_DEFAULT_SIZE, table);
		t[rep] = (now_ns() - t0) / 1e6;
	}
	return median(t, 5);
}

struct bench_result {
	double ns, floor, ref, ratio_floor, ratio_ref, own_ratio_ref;
};

static void summarise(const struct bench_case *c, int i, int passes, struct bench_result *r)
{
	double rf[BENCH_MAX_PASSES], rr[BENCH_MAX_PASSES], ro[BENCH_MAX_PASSES];
	const struct bench_case *f = &c[c[i].floor], *ref = c[i].ref >= 0 ? &c[c[i].ref] : NULL;

	for (int p = 0; p < passes; p++) {
		rf[p] = f->ns[p] > 0 ? c[i].ns[p] / f->ns[p] : 0;
		rr[p] = ref && ref->ns[p] > 0 ? c[i].ns[p] / ref->ns[p] : 0;
		ro[p] = ref && ref->ns[p] > f->ns[p] ? (c[i].ns[p] - f->ns[p]) / (ref->ns[p] - f->ns[p]) : 0;
	}
	r->ns = median(c[i].ns, passes);
	r->floor = median(f->ns, passes);
	r->ref = ref ? median(ref->ns, passes) : 0;
	r->ratio_floor = median(rf, passes);
	r->ratio_ref = ref ? median(rr, passes) : 0;
	r->own_ratio_ref = ref ? median(ro, passes) : 0;
}

static const char *prog_label(enum bench_prog p)
{
	return p == PROG_LB || p == PROG_LB6 ? "xdp_lb" : p == PROG_REF ? "ref_l4lb" : "floor";
}

int lb_bench(bool json, int repeat, int passes)
{
	struct lb_runtime *rt = calloc(1, sizeof(*rt)), *rt6 = calloc(1, sizeof(*rt6));
	struct lb_cfg *cfg = calloc(1, sizeof(*cfg)), *cfg6 = calloc(1, sizeof(*cfg6));
	struct bench_case *cs = calloc(BENCH_MAX_CASES, sizeof(*cs));
	char *vlog = calloc(1, VLOG_SIZE);
	struct xdp_pass_bpf *floor_skel = NULL;
	struct ref_l4lb_bpf *ref_skel = NULL;
	struct bench_harness_bpf *h = NULL;
	struct prog_stats ps[4] = {0};
	int n = 0, rc = 1, target_fd[PROG_N], harness_fd, target_map;
	uint32_t d, r, olen, zero = 0;

	if (passes > BENCH_MAX_PASSES)
		passes = BENCH_MAX_PASSES;
	if (!rt || !rt6 || !cfg || !cfg6 || !cs || !vlog ||
	    require_root("mplb lb bench (BPF_PROG_TEST_RUN)"))
		goto out;
	bench_cfg(cfg);
	bench_cfg6(cfg6);
	if (lb_rt_load(rt6, cfg6, false))
		goto out;
	rt->verifier_log = vlog;
	rt->verifier_log_size = VLOG_SIZE;
	if (lb_rt_load(rt, cfg, false))
		goto out;
	prog_stats_of(&ps[0], "xdp_lb", bpf_program__fd(rt->skel->progs.xdp_lb), vlog);

	floor_skel = xdp_pass_bpf__open_and_load();
	ref_skel = ref_l4lb_bpf__open();
	h = bench_harness_bpf__open_and_load();
	if (!floor_skel || !ref_skel || !h) {
		mplb_err("lb bench: cannot load the floor, reference or harness programs: %s",
			 strerror(errno));
		goto out;
	}
	vlog[0] = 0;
	bpf_program__set_log_level(ref_skel->progs.ref_l4lb, 4);
	bpf_program__set_log_buf(ref_skel->progs.ref_l4lb, vlog, VLOG_SIZE);
	if (ref_l4lb_bpf__load(ref_skel) || ref_setup(ref_skel)) {
		mplb_err("lb bench: cannot load or configure bpf/ref_l4lb.bpf.c: %s", strerror(errno));
		goto out;
	}
	prog_stats_of(&ps[1], "ref_l4lb", bpf_program__fd(ref_skel->progs.ref_l4lb), vlog);
	prog_stats_of(&ps[2], "bench_harness", bpf_program__fd(h->progs.bench_harness), NULL);
	prog_stats_of(&ps[3], "xdp_tx_floor", bpf_program__fd(floor_skel->progs.xdp_tx_floor), NULL);

	target_fd[PROG_FLOOR] = bpf_program__fd(floor_skel->progs.xdp_tx_floor);
	target_fd[PROG_REF] = bpf_program__fd(ref_skel->progs.ref_l4lb);
	target_fd[PROG_LB] = bpf_program__fd(rt->skel->progs.xdp_lb);
	target_fd[PROG_LB6] = bpf_program__fd(rt6->skel->progs.xdp_lb);
	harness_fd = bpf_program__fd(h->progs.bench_harness);
	target_map = bpf_map__fd(h->maps.bench_target);
	n = setup_cases(cs);

	/* Warm the state the cases expect (LRU flows, a learned token, a pinned join flow). */
	for (int i = 0; i < n; i++) {
		if (bpf_map_update_elem(target_map, &zero, &target_fd[cs[i].prog], BPF_ANY) ||
		    run_case(harness_fd, h, &cs[i], 1, &d, &r, &olen)) {
			mplb_err("lb bench: cannot run %s through the harness: %s", cs[i].name,
				 strerror(errno));
			goto out;
		}
	}

	for (int p = 0; p < passes; p++) {
		for (int i = 0; i < n; i++) {
			const struct bench_case *c = &cs[i];
			struct lb_bpf *skel = c->prog == PROG_LB6 ? rt6->skel : rt->skel;
			bool is_lb = c->prog == PROG_LB || c->prog == PROG_LB6;
			uint64_t before = is_lb ? stat_sum(skel, c->stat) : 0;

			bpf_map_update_elem(target_map, &zero, &target_fd[c->prog], BPF_ANY);
			if (run_case(harness_fd, h, c, repeat, &d, &r, &olen)) {
				mplb_err("lb bench: test run of %s failed: %s", c->name, strerror(errno));
				goto out;
			}
			uint64_t moved = is_lb ? stat_sum(skel, c->stat) - before : 0;
			bool stat_ok = !is_lb || moved == (uint64_t)repeat ||
				       (c->stat_approx && moved <= (uint64_t)repeat &&
					moved >= (uint64_t)repeat - (uint64_t)repeat / 64);

			if ((int)r != c->action || olen != c->len + (uint32_t)c->grow || !stat_ok) {
				mplb_err("lb bench: %s: verdict %u (want %d), %u bytes out (want %zu) or "
					 "counter off: the measurement would not be of this path",
					 c->name, r, c->action, olen, c->len + (size_t)c->grow);
				goto out;
			}
			cs[i].ns[p] = d;
		}
		if (!json)
			fprintf(stderr, "\rlb bench: pass %d/%d", p + 1, passes);
	}
	if (!json)
		fprintf(stderr, "\r%*s\r", 30, "");

	size_t sizes[] = {10, 100, 1000};
	double mag_ms[3] = {0};
	uint32_t *table = malloc(MAGLEV_DEFAULT_SIZE * sizeof(uint32_t));
	struct maglev_backend *mb = calloc(1000, sizeof(*mb));
	for (int k = 0; k < 3 && table && mb; k++)
		mag_ms[k] = maglev_ms(sizes[k], table, mb);
	free(table);
	free(mb);

	struct bench_result res[BENCH_MAX_CASES];
	for (int i = 0; i < n; i++)
		summarise(cs, i, passes, &res[i]);

	if (json) {
		json_t *root = json_object(), *jp = json_object(), *jm = json_object(), *jv = json_object();
		json_object_set_new(root, "repeat", json_integer(repeat));
		json_object_set_new(root, "passes", json_integer(passes));
		json_object_set_new(root, "forwarding", json_string("ipip"));
		json_object_set_new(root, "floor_ns", json_real(res[0].ns));
		json_object_set_new(root, "ref_established_ns", json_real(res[2].ns));
		for (int i = 0; i < n; i++) {
			json_t *o = json_object();
			json_object_set_new(o, "program", json_string(prog_label(cs[i].prog)));
			json_object_set_new(o, "what", json_string(cs[i].what));
			json_object_set_new(o, "ns", json_real(res[i].ns));
			json_object_set_new(o, "floor", json_string(cs[cs[i].floor].name));
			json_object_set_new(o, "ratio_to_floor", json_real(res[i].ratio_floor));
			if (cs[i].ref >= 0) {
				json_object_set_new(o, "ref", json_string(cs[cs[i].ref].name));
				json_object_set_new(o, "ratio_to_ref", json_real(res[i].ratio_ref));
				json_object_set_new(o, "own_ratio_to_ref", json_real(res[i].own_ratio_ref));
			}
			json_object_set_new(jp, cs[i].name, o);
		}
		json_object_set_new(root, "paths", jp);
		for (int k = 0; k < 4; k++) {
			json_t *o = json_object();
			json_object_set_new(o, "verified_insns", json_integer(ps[k].verified_insns));
			json_object_set_new(o, "xlated_bytes", json_integer(ps[k].xlated_bytes));
			json_object_set_new(o, "jited_bytes", json_integer(ps[k].jited_bytes));
			json_object_set_new(o, "stack_bytes", ps[k].stack >= 0 ? json_integer(ps[k].stack)
									  : json_null());
			json_object_set_new(jv, ps[k].name, o);
		}
		json_object_set_new(root, "verifier", jv);
		for (int k = 0; k < 3; k++) {
			char key[16];
			snprintf(key, sizeof(key), "%zu", sizes[k]);
			json_object_set_new(jm, key, json_real(mag_ms[k]));
		}
		json_object_set_new(root, "maglev_build_ms_65537", jm);
		json_dumpf(root, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(root);
	} else {
		printf("xdp_lb and a reference L4 balancer, IPIP, through a packet-restoring harness\n"
		       "(BPF_PROG_TEST_RUN repeat=%d), median of %d interleaved passes\n", repeat, passes);
		printf("floor %.1f ns (harness + XDP_TX); reference, established: %.1f ns\n\n",
		       res[0].ns, res[2].ns);
		printf("%-19s %-8s %7s %7s %7s %7s  %s\n", "path", "program", "ns/pkt", "x floor",
		       "x ref", "own x", "packet");
		for (int i = 0; i < n; i++) {
			char xr[16] = "-", xo[16] = "-";
			if (cs[i].ref >= 0) {
				snprintf(xr, sizeof(xr), "%.2f", res[i].ratio_ref);
				snprintf(xo, sizeof(xo), "%.2f", res[i].own_ratio_ref);
			}
			printf("%-19s %-8s %7.1f %7.2f %7s %7s  %s\n", cs[i].name, prog_label(cs[i].prog),
			       res[i].ns, res[i].ratio_floor, xr, xo, cs[i].what);
		}
		printf("\nx ref: ns / the reference's ns in the same pass (ref_established, or\n"
		       "ref_syn_fresh for the *_fresh rows); own x: the same net of the floor.\n");
		printf("\n%-14s %10s %8s %8s %6s\n", "program", "verified", "xlated", "jited", "stack");
		for (int k = 0; k < 4; k++)
			printf("%-14s %10u %8u %8u %6d\n", ps[k].name, ps[k].verified_insns,
			       ps[k].xlated_bytes, ps[k].jited_bytes, ps[k].stack);
		printf("\nMaglev build, 65537 slots: 10 backends %.2f ms, 100 %.2f ms, 1000 %.2f ms\n",
		       mag_ms[0], mag_ms[1], mag_ms[2]);
	}
	rc = 0;
out:
	if (h)
		bench_harness_bpf__destroy(h);
	if (ref_skel)
		ref_l4lb_bpf__destroy(ref_skel);
	if (floor_skel)
		xdp_pass_bpf__destroy(floor_skel);
	if (rt && rt->skel)
		lb_rt_destroy(rt);
	if (rt6 && rt6->skel)
		lb_rt_destroy(rt6);
	free(rt);
	free(rt6);
	free(cfg);
	free(cfg6);
	free(cs);
	free(vlog);
	return rc;
}
