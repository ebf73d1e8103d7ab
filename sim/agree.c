// SPDX-License-Identifier: MIT
/*
 * The simulator checked against the kernel: one stream of packets (first
 * SYNs, MP_CAPABLE ACKs that teach tokens, MP_JOIN SYNs with known and
 * unknown tokens, later packets of joins, ACKs with valid and forged TSecr,
 * join-port packets to existing and missing backends, fragments) goes through
 * the XDP program by BPF_PROG_TEST_RUN and through sim_lb_decide(), both
 * starting from the same maps. They must take the same action and pick the
 * same backend every time; the share that does is `agreement`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/lb.skel.h"
#include "maglev.h"
#include "mplb/sha256_min.h"
#include "mplb/tsecr.h"
#include "pktbuild.h"
#include "prng.h"
#include "sim.h"
#include "sim_lb.h"
#include "util.h"

#define AG_RING 4099
#define AG_VIPS 3
static const __u64 AG_KEY[2] = {0x1111222233334444ull, 0x5555666677778888ull};
static const char *const vip_addr[AG_VIPS] = {"10.200.0.1", "10.200.0.2", "10.200.0.3"};
/* VIP 0: token+tsecr+lru, hold; VIP 1: port (joins on 20000+id); VIP 2: hash, no LRU. */
static const uint32_t vip_flags[AG_VIPS] = {VIP_F_TOKEN | VIP_F_TSECR | VIP_F_LRU, VIP_F_PORT | VIP_F_LRU, 0};
#define JOIN_BASE 20000

struct ag {
	struct lb_bpf *skel;
	struct sim_lb sim;
	struct vip_meta meta[AG_VIPS], join_meta;
	struct lb_config cfg;
	uint32_t backends;
	uint64_t rng;
	__u32 tokens[1024];
	uint32_t n_tokens;
	struct agree_flow {
		__u32 client;
		__u16 port;
		int vip;
	} flows[1024];
	uint32_t n_flows;
};

static uint64_t rnd(struct ag *a)
{
	return xorshift64(&a->rng);
}

static void mac_of(uint32_t id, uint8_t mac[6])
{
	uint8_t m[6] = {0x02, 0xbe, 0, 0, (uint8_t)(id >> 8), (uint8_t)id};
	memcpy(mac, m, 6);
}

static int setup(struct ag *a)
{
	struct maglev_backend *mb = calloc(a->backends, sizeof(*mb));
	uint32_t *ring = calloc(AG_RING, sizeof(*ring)), zero = 0;
	struct sim_lb_sizes sz = {.backend_slots = MPLB_MAX_BACKENDS, .ring_size = AG_RING,
				  .max_vips = AG_VIPS, .token_entries = 65536, .flow_entries = 65536,
				  .lru_entries = 65536};
	char name[32];
	int rc = -1;

	if (!mb || !ring)
		goto out;
	a->skel = lb_bpf__open();
	if (!a->skel)
		goto out;
	LB_RODATA_SET_RING(a->skel->rodata, AG_RING);
	a->skel->rodata->max_vips = AG_VIPS;
	bpf_map__set_max_entries(a->skel->maps.ch_rings, AG_RING * AG_VIPS);
	bpf_map__set_max_entries(a->skel->maps.vip_stats, AG_VIPS);
	bpf_map__set_max_entries(a->skel->maps.vip_info, AG_VIPS);
	if (lb_bpf__load(a->skel)) {
		lb_bpf__destroy(a->skel);
		a->skel = NULL;
		goto out;
	}
	if (sim_lb_init(&a->sim, &sz))
		goto out;
	for (uint32_t id = 0; id < a->backends; id++) {
		struct backend be = {.family = MPLB_FAMILY_V4, .flags = BACKEND_F_PRESENT};
		mac_of(id, be.mac);
		bpf_map_update_elem(bpf_map__fd(a->skel->maps.backends), &id, &be, BPF_ANY);
		a->sim.backends[id] = be;
		snprintf(name, sizeof(name), "b%u", id);
		mb[id] = (struct maglev_backend){.key = maglev_key_of_name(name), .id = id, .weight = 1};
	}
	if (maglev_build(mb, a->backends, AG_RING, ring) < 0)
		goto out;
	for (uint32_t v = 0; v < AG_VIPS; v++)
		for (uint32_t k = 0; k < AG_RING; k++) {
			uint32_t slot = v * AG_RING + k;
			bpf_map_update_elem(bpf_map__fd(a->skel->maps.ch_rings), &slot, &ring[k], BPF_ANY);
			a->sim.rings[slot] = ring[k];
		}
	for (int v = 0; v < AG_VIPS; v++) {
		struct vip_key k = {.port = htons(80), .proto = IPPROTO_TCP, .family = MPLB_FAMILY_V4};
		inet_pton(AF_INET, vip_addr[v], k.addr);
		a->meta[v] = (struct vip_meta){.vip_num = (uint32_t)v, .flags = vip_flags[v],
					       .join_port_base = JOIN_BASE,
					       .join_port_count = (uint16_t)(a->backends + 2),
					       .unknown_token = UNKNOWN_TOKEN_HOLD};
		bpf_map_update_elem(bpf_map__fd(a->skel->maps.vip_map), &k, &a->meta[v], BPF_ANY);
		if (vip_flags[v] & VIP_F_PORT) {
			a->join_meta = a->meta[v];
			a->join_meta.flags |= VIP_F_JOIN_ENTRY;
			for (uint32_t p = 0; p < a->backends + 2; p++) {
				k.port = htons((uint16_t)(JOIN_BASE + p));
				bpf_map_update_elem(bpf_map__fd(a->skel->maps.vip_map), &k, &a->join_meta, BPF_ANY);
			}
		}
		/* fragments of this address follow this VIP */
		struct vip_meta fm = a->meta[v];
		fm.flags = VIP_F_FRAG_ENTRY;
		k.port = 0;
		bpf_map_update_elem(bpf_map__fd(a->skel->maps.vip_map), &k, &fm, BPF_ANY);
	}
	a->cfg = (struct lb_config){.forwarding = LB_FWD_DSR, .xmit = LB_XMIT_TX, .token_hold_ms = 60000};
	a->cfg.tsecr_key[0] = AG_KEY[0];
	a->cfg.tsecr_key[1] = AG_KEY[1];
	bpf_map_update_elem(bpf_map__fd(a->skel->maps.config_map), &zero, &a->cfg, BPF_ANY);
	rc = 0;
out:
	free(mb);
	free(ring);
	return rc;
}

/* One random packet, as a frame for the kernel and a parsed description for the simulator. */
static void make_packet(struct ag *a, struct pkt_spec *s, uint8_t *opt, struct packet_desc *p,
			const struct vip_meta **meta)
{
	uint32_t kind = (uint32_t)(rnd(a) % 10), vip;
	char *src = (char *)s->src;
	size_t ol = 0;
	__u32 client;
	__u16 port;

	/* A known flow half of the time, so later packets meet what earlier ones pinned. */
	if (a->n_flows && rnd(a) % 2) {
		uint32_t f = (uint32_t)(rnd(a) % a->n_flows);
		client = a->flows[f].client, port = a->flows[f].port, vip = (uint32_t)a->flows[f].vip;
	} else {
		client = 0x0b000000u | (uint32_t)(rnd(a) & 0xffffff);
		port = (uint16_t)(1024 + rnd(a) % 60000);
		vip = (uint32_t)(rnd(a) % AG_VIPS);
		if (a->n_flows < 1024)
			a->flows[a->n_flows++] = (struct agree_flow){client, port, (int)vip};
	}
	struct in_addr ca = {.s_addr = htonl(client)};
	inet_ntop(AF_INET, &ca, src, 16);
	memset(p, 0, sizeof(*p));
	s->family = 4, s->dst = vip_addr[vip], s->proto = 6, s->sport = port, s->dport = 80;
	s->tcp_flags = 0x10;
	*meta = &a->meta[vip];
	switch (kind) {
	case 0: /* a first SYN */
		s->tcp_flags = 0x02;
		break;
	case 1: /* an MP_CAPABLE third ACK: teaches a token on token VIPs */
	{
		uint64_t key = rnd(a);
		ol = opt_mpc_ack(opt, rnd(a), key, 20);
		p->opts.has_mpc_keys = 1;
		p->opts.mpc_receiver_key = key;
		if (a->n_tokens < 1024)
			a->tokens[a->n_tokens++] = sha256_min_token(key);
		break;
	}
	case 2:
	case 3: /* an MP_JOIN SYN: a token learned before, or an unknown one */
	{
		__u32 t = a->n_tokens && rnd(a) % 4 ? a->tokens[rnd(a) % a->n_tokens] : (__u32)rnd(a);
		s->tcp_flags = 0x02;
		ol = opt_mpj_syn(opt, t, (uint32_t)rnd(a));
		p->opts.has_join_token = 1;
		p->opts.join_token = t;
		break;
	}
	case 4:
	case 5: /* an ACK whose TSecr names a backend (or one that does not exist) */
	{
		uint32_t id = (uint32_t)(rnd(a) % (a->backends + 4));
		__u32 tsecr = tsecr_encode(AG_KEY, (uint32_t)rnd(a), id);
		ol = opt_ts(opt, 1000, tsecr);
		p->opts.has_ts = 1, p->opts.tsval = 1000, p->opts.tsecr = tsecr;
		break;
	}
	case 6: /* a forged TSecr */
	{
		__u32 tsecr = (__u32)rnd(a);
		ol = opt_ts(opt, 1000, tsecr);
		p->opts.has_ts = 1, p->opts.tsval = 1000, p->opts.tsecr = tsecr;
		break;
	}
	case 7: /* a join-port packet, to a backend that exists or not */
		s->dst = vip_addr[1];
		s->dport = (uint16_t)(JOIN_BASE + rnd(a) % (a->backends + 2));
		s->tcp_flags = rnd(a) % 2 ? 0x02 : 0x10;
		*meta = &a->join_meta;
		break;
	case 8: /* an IPv4 fragment: no ports */
		s->frag = 0x2000;
		break;
	default: /* a plain ACK */
		break;
	}
	s->tcpopt = opt;
	s->tcpopt_len = ol;
	p->flow.family = MPLB_FAMILY_V4;
	p->flow.proto = IPPROTO_TCP_;
	inet_pton(AF_INET, s->src, &p->flow.src[0]);
	inet_pton(AF_INET, s->dst, &p->flow.dst[0]);
	if (!s->frag) {
		p->flow.sport = htons(s->sport);
		p->flow.dport = htons(s->dport);
	}
	p->is_fragment = s->frag != 0;
	p->tcp_flags = s->tcp_flags;
	if (*meta == &a->meta[vip] && s->frag) {
		/* the fragment entry: flags VIP_F_FRAG_ENTRY, same ring */
		static struct vip_meta fm;
		fm = a->meta[vip];
		fm.flags = VIP_F_FRAG_ENTRY;
		*meta = &fm;
	}
}

/* Both worlds set up alike: the loaded program and the simulator's maps. NULL when not root. */
static struct ag *ag_open(uint32_t backends, uint64_t rng)
{
	struct ag *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->backends = backends > MPLB_MAX_BACKENDS ? MPLB_MAX_BACKENDS : backends;
	a->rng = rng;
	if (geteuid() == 0 && setup(a) == 0)
		return a;
	if (a->skel)
		lb_bpf__destroy(a->skel);
	sim_lb_free(&a->sim);
	free(a);
	return NULL;
}

static void ag_close(struct ag *a)
{
	lb_bpf__destroy(a->skel);
	sim_lb_free(&a->sim);
	free(a);
}

/* Backend churn in both worlds: a random backend leaves, or comes back. */
static void toggle_backend(struct ag *a)
{
	uint32_t id = (uint32_t)(rnd(a) % a->backends);

	a->sim.backends[id].flags ^= BACKEND_F_PRESENT;
	bpf_map_update_elem(bpf_map__fd(a->skel->maps.backends), &id, &a->sim.backends[id], BPF_ANY);
}

/* Where an XDP_TX frame went: a present backend's id, or -1 (a MAC no backend has). */
static int tx_backend(const struct ag *a, const uint8_t *frame)
{
	uint8_t mac[6];

	for (uint32_t id = 0; id < a->backends; id++) {
		mac_of(id, mac);
		if (!memcmp(frame, mac, 6))
			return (a->sim.backends[id].flags & BACKEND_F_PRESENT) ? (int)id : -1;
	}
	return -1;
}

int sim_fuzz_frames(uint32_t frames, uint32_t backends, uint64_t seed, uint32_t *violations,
		    uint32_t verdicts[4])
{
	struct ag *a = ag_open(backends, (seed ? seed : 0x853c49e6748fea9bull) ^ 0xf0220f022ull);
	int rc = -1;

	*violations = 0;
	memset(verdicts, 0, 4 * sizeof(*verdicts));
	if (!a)
		return -1;
	for (uint32_t i = 0; i < frames; i++) {
		uint8_t in[PKT_MAX], out[PKT_MAX + 64], opt[40];
		char src[16];
		struct pkt_spec s = {.src = src};
		struct packet_desc p;
		const struct vip_meta *meta;
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_out = out,
			    .data_size_out = sizeof(out), .repeat = 1);

		if (i % 256 == 255)
			toggle_backend(a);
		make_packet(a, &s, opt, &p, &meta);
		uint32_t len = (uint32_t)pkt_build(&s, in), flips = 1 + (uint32_t)(rnd(a) % 4);
		/* Flip bytes past the destination MAC; a quarter of the frames are also cut short. */
		for (uint32_t f = 0; f < flips; f++)
			in[6 + rnd(a) % (len - 6)] ^= (uint8_t)(1 + rnd(a) % 255);
		if (rnd(a) % 4 == 0)
			len = 14 + (uint32_t)(rnd(a) % (len - 13));
		o.data_size_in = len;
		if (bpf_prog_test_run_opts(bpf_program__fd(a->skel->progs.xdp_lb), &o))
			goto out;
		verdicts[o.retval < 4 ? o.retval : 0]++;
		bool ok = o.retval == XDP_PASS || o.retval == XDP_DROP ||
			  (o.retval == XDP_TX && tx_backend(a, out) >= 0);
		if (!ok && ++*violations <= 5)
			mplb_warn("sim: mutated frame %u (%u bytes): action %u to %02x:%02x:%02x:%02x:%02x:%02x, "
				  "not a present backend", i, len, o.retval, out[0], out[1], out[2], out[3], out[4],
				  out[5]);
	}
	rc = 0;
out:
	ag_close(a);
	return rc;
}

double sim_agreement(uint32_t packets, uint32_t backends, uint64_t seed, uint32_t *mismatches)
{
	struct ag *a = ag_open(backends, seed ? seed : 0x853c49e6748fea9bull);
	uint32_t same = 0;
	double share = -1;

	*mismatches = 0;
	if (!a)
		return -1;
	for (uint32_t i = 0; i < packets; i++) {
		uint8_t in[PKT_MAX], out[PKT_MAX + 64], opt[40], mac[6];
		char src[16];
		struct pkt_spec s = {.src = src};
		struct packet_desc p;
		const struct vip_meta *meta;
		struct decision d = {0};
		struct timespec ts;
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_out = out,
			    .data_size_out = sizeof(out), .repeat = 1);

		if (i % 256 == 255)
			toggle_backend(a);
		make_packet(a, &s, opt, &p, &meta);
		o.data_size_in = (uint32_t)pkt_build(&s, in);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		a->sim.now_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		int sim_action = sim_lb_decide(&a->sim, &p, meta, &a->cfg, &d);
		if (bpf_prog_test_run_opts(bpf_program__fd(a->skel->progs.xdp_lb), &o))
			goto out;
		bool ok = (int)o.retval == sim_action;
		if (ok && sim_action == XDP_TX) {
			mac_of(d.backend_id, mac);
			ok = !memcmp(out, mac, 6);
		}
		if (ok)
			same++;
		else if (++*mismatches <= 5)
			mplb_warn("sim: packet %u (%s -> %s:%u flags 0x%02x): kernel action %u, simulator %d "
				  "(backend %u)", i, s.src, s.dst, s.dport, s.tcp_flags, o.retval, sim_action,
				  d.backend_id);
	}
	share = packets ? (double)same / packets : 1.0;
out:
	ag_close(a);
	return share;
}
