// SPDX-License-Identifier: MIT
/*
 * mplb lb bench: ns per packet of each decision path of xdp_lb, measured
 * with BPF_PROG_TEST_RUN beside the floor programs of bpf/xdp_pass.bpf.c in
 * the same process, interleaved pass by pass, reported as medians and paired
 * ratios (absolute ns drift 10-20% between passes on a VM). Plus Maglev
 * build time. A benchmark, not a test.
 *
 * Repeat trap (cookbook section 11): with repeat = N the kernel reruns the
 * program on its own output. DSR only rewrites MACs, so the decision repeats
 * identically, and each path checks that its counter moved by exactly N.
 * IPIP grows the frame, so it is timed one call per packet (repeat = 1)
 * against the floor timed the same way.
 */
#include "lb_bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "bpf/lb.skel.h"
#include "bpf/xdp_pass.skel.h"
#include "lb_config.h"
#include "lb_runtime.h"
#include "maglev.h"
#include "mplb/sha256_min.h"
#include "mplb/tsecr.h"
#include "pktbuild.h"
#include "util.h"

#define BENCH_PATHS 10
#define BENCH_MAX_PASSES 31

struct bench_path {
	const char *name;
	const char *what;
	struct pkt_spec spec;
	uint8_t opt[40];
	int stat;     /* counter that must move by repeat, -1: none */
	int action;   /* expected retval */
	uint8_t buf[PKT_MAX];
	size_t len;
	double ns[BENCH_MAX_PASSES], ratio[BENCH_MAX_PASSES];
};

static const __u64 BENCH_KEY[2] = {0x0001020304050607ULL, 0x08090a0b0c0d0e0fULL};

static void bench_cfg(struct lb_cfg *c)
{
	static const char *addrs[] = {"10.0.0.1", "10.0.0.5", "10.0.0.2", "10.0.0.3", "10.0.0.4"};
	static const uint32_t flags[] = {0, VIP_F_LRU, VIP_F_PORT, VIP_F_TOKEN, VIP_F_TSECR};

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "bench");
	c->ring_size = MPLB_RING_SIZE_DEFAULT;
	c->max_vips = 8;
	c->token_entries = c->flow_entries = c->lru_entries = 65536;
	c->has_tsecr_key = true;
	c->tsecr_key[0] = BENCH_KEY[0];
	c->tsecr_key[1] = BENCH_KEY[1];
	for (int i = 0; i < 5; i++) {
		struct lb_cfg_vip *v = &c->vips[c->n_vips++];
		snprintf(v->name, sizeof(v->name), "v%d", i);
		v->family = MPLB_FAMILY_V4;
		inet_pton(AF_INET, addrs[i], v->addr);
		v->port = 80;
		v->proto = IPPROTO_TCP;
		v->flags = flags[i];
		v->unknown_token = UNKNOWN_TOKEN_RING;
		if (flags[i] & VIP_F_PORT)
			v->join_port_base = 20000, v->join_port_count = 4;
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

static int run_prog(int fd, const uint8_t *pkt, size_t len, int repeat, uint32_t *duration,
		    uint32_t *retval)
{
	uint8_t out[PKT_MAX + 64];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (uint32_t)len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = repeat);
	int err = bpf_prog_test_run_opts(fd, &o);

	*duration = o.duration;
	*retval = o.retval;
	return err;
}

static uint64_t stat_sum(struct lb_bpf *s, uint32_t idx)
{
	int n = libbpf_num_possible_cpus();
	struct lb_counter v[n > 0 ? n : 1];
	uint64_t t = 0;

	if (n <= 0 || bpf_map_lookup_elem(bpf_map__fd(s->maps.lb_stats), &idx, v))
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

/* Per-call time of repeat = 1 runs, averaged over calls (syscall included). */
static double per_call_ns(int fd, const uint8_t *pkt, size_t len, int calls)
{
	uint32_t d, r;
	double t0 = now_ns();
	for (int i = 0; i < calls; i++)
		run_prog(fd, pkt, len, 1, &d, &r);
	return (now_ns() - t0) / calls;
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

static void setup_paths(struct bench_path *p, int *np, struct lb_bpf *s)
{
	uint64_t key_b = 0x1122334455667788ULL;
	int n = 0;

#define PATH(name_, what_, stat_, action_) \
	p[n].name = name_, p[n].what = what_, p[n].stat = stat_, p[n].action = action_
#define BASE(daddr_, sport_, dport_, flags_) \
	p[n].spec = (struct pkt_spec){.family = 4, .src = "10.9.0.1", .dst = daddr_, \
				      .sport = sport_, .dport = dport_, .proto = 6, \
				      .tcp_flags = flags_}
	BASE("10.0.0.99", 40000, 80, 0x02);
	PATH("not_vip", "TCP SYN to a non-VIP address: XDP_PASS", LB_STAT_PASS_NOT_VIP, XDP_PASS), n++;
	BASE("10.0.0.1", 40000, 80, 0x02);
	PATH("ring", "TCP SYN to a hash VIP: Maglev ring", LB_STAT_PATH_RING, XDP_TX), n++;
	BASE("10.0.0.5", 40000, 80, 0x10);
	PATH("lru_hit", "TCP ACK on the LRU VIP, flow known", LB_STAT_PATH_LRU_HIT, XDP_TX), n++;
	BASE("10.0.0.2", 40000, 20002, 0x10);
	PATH("port", "TCP ACK to join port base+2", LB_STAT_PATH_PORT, XDP_TX), n++;
	BASE("10.0.0.3", 40000, 80, 0x10);
	p[n].spec.tcpopt = p[n].opt;
	p[n].spec.tcpopt_len = opt_mpc_ack(p[n].opt, 1, key_b, 20);
	PATH("token_learn", "MP_CAPABLE third ACK: SHA-256 of the key + token map", LB_STAT_PATH_RING, XDP_TX), n++;
	BASE("10.0.0.3", 40001, 80, 0x02);
	p[n].spec.tcpopt = p[n].opt;
	p[n].spec.tcpopt_len = opt_mpj_syn(p[n].opt, sha256_min_token(key_b), 5);
	PATH("token_hit", "MP_JOIN SYN with a known token (pins the join flow)", LB_STAT_PATH_TOKEN_HIT, XDP_TX), n++;
	BASE("10.0.0.3", 40001, 80, 0x10);
	PATH("join_flow_hit", "ACK on a join subflow pinned by token", LB_STAT_PATH_FLOW_HIT, XDP_TX), n++;
	BASE("10.0.0.4", 40000, 80, 0x10);
	p[n].spec.tcpopt = p[n].opt;
	p[n].spec.tcpopt_len = opt_ts(p[n].opt, 1, tsecr_encode(BENCH_KEY, 0x10000, 2));
	PATH("tsecr", "ACK whose TSecr carries backend 2 (2 SipHash)", LB_STAT_PATH_TSECR, XDP_TX), n++;
	BASE("10.0.0.4", 40000, 80, 0x10);
	p[n].spec.tcpopt = p[n].opt;
	p[n].spec.tcpopt_len = opt_ts(p[n].opt, 1, 0x12345678);
	PATH("tsecr_no_id", "ACK with a TSecr that carries no id: ring", LB_STAT_PATH_RING, XDP_TX), n++;
#undef PATH
#undef BASE
	for (int i = 0; i < n; i++)
		p[i].len = pkt_build(&p[i].spec, p[i].buf);
	*np = n;
	(void)s;
}

int lb_bench(bool json, int repeat, int passes)
{
	struct lb_runtime *rt = calloc(1, sizeof(*rt));
	struct lb_cfg *cfg = calloc(1, sizeof(*cfg));
	struct bench_path paths[BENCH_PATHS];
	struct xdp_pass_bpf *floor_skel = NULL;
	double floor_tx[BENCH_MAX_PASSES], floor_pass[BENCH_MAX_PASSES];
	double ipip_call[BENCH_MAX_PASSES], floor_call[BENCH_MAX_PASSES], ipip_ratio[BENCH_MAX_PASSES];
	int np = 0, rc = 1, lb_fd, tx_fd, pass_fd;
	uint32_t d, r;

	if (passes > BENCH_MAX_PASSES)
		passes = BENCH_MAX_PASSES;
	if (!rt || !cfg || require_root("mplb lb bench (BPF_PROG_TEST_RUN)"))
		goto out;
	bench_cfg(cfg);
	if (lb_rt_load(rt, cfg, false))
		goto out;
	floor_skel = xdp_pass_bpf__open_and_load();
	if (!floor_skel) {
		mplb_err("lb bench: cannot load bpf/xdp_pass.bpf.c floor programs");
		goto out;
	}
	lb_fd = bpf_program__fd(rt->skel->progs.xdp_lb);
	tx_fd = bpf_program__fd(floor_skel->progs.xdp_tx_floor);
	pass_fd = bpf_program__fd(floor_skel->progs.xdp_pass);
	setup_paths(paths, &np, rt->skel);
	/* Warm the state the paths expect: LRU flow, learned token, pinned join flow. */
	for (int i = 0; i < np; i++)
		run_prog(lb_fd, paths[i].buf, paths[i].len, 1, &d, &r);

	for (int ps = 0; ps < passes; ps++) {
		run_prog(tx_fd, paths[1].buf, paths[1].len, repeat, &d, &r);
		floor_tx[ps] = d;
		run_prog(pass_fd, paths[1].buf, paths[1].len, repeat, &d, &r);
		floor_pass[ps] = d;
		for (int i = 0; i < np; i++) {
			uint64_t before = stat_sum(rt->skel, (uint32_t)paths[i].stat);
			if (run_prog(lb_fd, paths[i].buf, paths[i].len, repeat, &d, &r)) {
				mplb_err("lb bench: test run failed: %s", strerror(errno));
				goto out;
			}
			if ((int)r != paths[i].action ||
			    stat_sum(rt->skel, (uint32_t)paths[i].stat) - before != (uint64_t)repeat) {
				mplb_err("lb bench: path %s: retval %u or counter off: the measurement "
					 "would not be of this path", paths[i].name, r);
				goto out;
			}
			paths[i].ns[ps] = d;
			paths[i].ratio[ps] = floor_tx[ps] > 0 ? d / floor_tx[ps] : 0;
		}
		/* IPIP: one call per packet (the frame grows), paired with the floor the same way. */
		struct lb_config c;
		uint32_t zero = 0;
		bpf_map_lookup_elem(bpf_map__fd(rt->skel->maps.config_map), &zero, &c);
		c.forwarding = LB_FWD_IPIP;
		bpf_map_update_elem(bpf_map__fd(rt->skel->maps.config_map), &zero, &c, BPF_ANY);
		floor_call[ps] = per_call_ns(tx_fd, paths[1].buf, paths[1].len, 2000);
		ipip_call[ps] = per_call_ns(lb_fd, paths[1].buf, paths[1].len, 2000);
		ipip_ratio[ps] = ipip_call[ps] / floor_call[ps];
		c.forwarding = LB_FWD_DSR;
		bpf_map_update_elem(bpf_map__fd(rt->skel->maps.config_map), &zero, &c, BPF_ANY);
	}

	/* Maglev build time, 65537 slots. */
	size_t sizes[] = {10, 100, 1000};
	double mag_ms[3];
	uint32_t *table = malloc(MAGLEV_DEFAULT_SIZE * sizeof(uint32_t));
	struct maglev_backend *mb = calloc(1000, sizeof(*mb));
	for (int k = 0; k < 3 && table && mb; k++) {
		double t[5];
		for (size_t i = 0; i < sizes[k]; i++) {
			char nm[32];
			snprintf(nm, sizeof(nm), "backend-%zu", i);
			mb[i] = (struct maglev_backend){maglev_key_of_name(nm), (uint32_t)i, 1};
		}
		for (int rep = 0; rep < 5; rep++) {
			double t0 = now_ns();
			maglev_build(mb, sizes[k], MAGLEV_DEFAULT_SIZE, table);
			t[rep] = (now_ns() - t0) / 1e6;
		}
		mag_ms[k] = median(t, 5);
	}
	free(table);
	free(mb);

	if (json) {
		json_t *root = json_object(), *jp = json_object(), *jm = json_object();
		json_object_set_new(root, "repeat", json_integer(repeat));
		json_object_set_new(root, "passes", json_integer(passes));
		json_object_set_new(root, "xdp_pass_ns", json_real(median(floor_pass, passes)));
		json_object_set_new(root, "xdp_tx_floor_ns", json_real(median(floor_tx, passes)));
		for (int i = 0; i < np; i++) {
			json_t *o = json_object();
			json_object_set_new(o, "ns", json_real(median(paths[i].ns, passes)));
			json_object_set_new(o, "ratio_to_tx_floor", json_real(median(paths[i].ratio, passes)));
			json_object_set_new(o, "what", json_string(paths[i].what));
			json_object_set_new(jp, paths[i].name, o);
		}
		json_t *o = json_object();
		json_object_set_new(o, "ns_per_call", json_real(median(ipip_call, passes)));
		json_object_set_new(o, "floor_ns_per_call", json_real(median(floor_call, passes)));
		json_object_set_new(o, "ratio_to_tx_floor", json_real(median(ipip_ratio, passes)));
		json_object_set_new(jp, "ipip_ring_repeat1", o);
		json_object_set_new(root, "paths", jp);
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
		printf("xdp_lb decision paths, BPF_PROG_TEST_RUN repeat=%d, median of %d interleaved passes\n",
		       repeat, passes);
		printf("floors: xdp_pass %.1f ns, xdp_tx_floor %.1f ns\n\n", median(floor_pass, passes),
		       median(floor_tx, passes));
		printf("%-16s %8s %10s  %s\n", "path", "ns/pkt", "x tx_floor", "packet");
		for (int i = 0; i < np; i++)
			printf("%-16s %8.1f %10.2f  %s\n", paths[i].name, median(paths[i].ns, passes),
			       median(paths[i].ratio, passes), paths[i].what);
		printf("%-16s %8.1f %10.2f  %s (per call incl. syscall; floor %.1f ns/call)\n",
		       "ipip (repeat=1)", median(ipip_call, passes), median(ipip_ratio, passes),
		       "TCP SYN to the hash VIP, IPv4-in-IPv4", median(floor_call, passes));
		printf("\nMaglev build, 65537 slots: 10 backends %.2f ms, 100 %.2f ms, 1000 %.2f ms\n",
		       mag_ms[0], mag_ms[1], mag_ms[2]);
	}
	rc = 0;
out:
	if (floor_skel)
		xdp_pass_bpf__destroy(floor_skel);
	if (rt->skel)
		lb_rt_destroy(rt);
	free(rt);
	free(cfg);
	return rc;
}
