// SPDX-License-Identifier: MIT
/*
 * `mplb sim`: many connections through a tier of simulated LB hosts that run
 * the XDP program's own decision code (sim_lb.c), under backend and LB churn.
 *
 * A connection has one first subflow and J joins. Its first SYN goes to
 * whatever backend the ring (of the LB host ECMP picks) says: the owner. Its
 * MP_CAPABLE ACK teaches the token where the strategy learns tokens. Each
 * join reaches the backend the strategy sends it to: it succeeds only at the
 * owner. Then an event changes the world (a backend added, drained or removed,
 * an LB host restarted with or without its state, an LB host gone), and one
 * packet of every established subflow is routed again: one that leaves the
 * owner is a lost subflow, a first subflow that does is a broken connection.
 *
 * The schemes that need a modified MPTCP stack (keys chosen by the LB in IP
 * options, a server id inside the token, application-layer authentication)
 * have no XDP code to share: their routing is modelled here, and they are
 * labelled as such in every output.
 */
#include "sim.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "maglev.h"
#include "mplb/sha256_min.h"
#include "mplb/tsecr.h"
#include "prng.h"
#include "sim_lb.h"
#include "util.h"

static const __u64 SIM_TSECR_KEY[2] = {0x5eed0123456789abull, 0x0fedcba987654321ull};
#define VIP4 0x0ac80001u /* 10.200.0.1 */
#define SVC_PORT 80
#define JOIN_BASE 20000

const struct sim_strategy sim_strategies[] = {
	{"hash", 0, false, false, NULL},
	{"hash+lru", VIP_F_LRU, false, false, NULL},
	{"per-server", VIP_F_LRU, true, false, NULL},
	{"port", VIP_F_PORT | VIP_F_LRU, false, false, NULL},
	{"token", VIP_F_TOKEN | VIP_F_LRU, false, false, NULL},
	{"tsecr", VIP_F_TSECR | VIP_F_LRU, false, false, NULL},
	{"port+tsecr", VIP_F_PORT | VIP_F_TSECR | VIP_F_LRU, false, false, NULL},
	{"token+tsecr", VIP_F_TOKEN | VIP_F_TSECR | VIP_F_LRU, false, false, NULL},
	{"lb-keys", 0, false, true, "LB-chosen keys carried in an IP option (the draft's Proposal 2)"},
	{"token-id", VIP_F_LRU, false, true, "server id encrypted in the token (Paasch's block-cipher tokens)"},
	{"app-auth", 0, false, true, "application-layer authentication of subflows (any backend takes a join)"},
	{NULL, 0, false, false, NULL},
};

static const char *const event_names[] = {"none", "add", "drain", "remove", "restart-kept",
					  "restart-lost", "lb-failure"};

/* ---- the world ------------------------------------------------------------ */

struct sim_conn {
	__u32 client;      /* IPv4 */
	__u16 port[SIM_MAX_SUBFLOWS];
	__u32 owner;       /* backend id of the first subflow */
	__u32 token;       /* the server's token */
	__u64 key;         /* the server's key */
	__u8 established;  /* bit i: subflow i is up */
};

struct sim {
	const struct sim_opts *o;
	struct sim_lb lb[SIM_MAX_LBS];
	bool host_up[SIM_MAX_LBS];
	struct vip_meta meta, join_meta;
	struct lb_config cfg;
	struct sim_conn *conns;
	uint32_t *ring;
	uint32_t n_active;
	bool active[SIM_MAX_BACKENDS];
	uint64_t rng;
	const struct sim_strategy *st;
};

static uint64_t rnd(struct sim *s)
{
	return xorshift64(&s->rng);
}

static void backend_name(uint32_t id, char *buf, size_t len)
{
	snprintf(buf, len, "b%u", id);
}

/* The ring of the active backends, written to every LB host (one config, one table). */
static int build_ring(struct sim *s)
{
	struct maglev_backend *mb = calloc(s->o->backends, sizeof(*mb));
	char name[32];
	size_t n = 0;

	if (!mb)
		return -1;
	for (uint32_t id = 0; id < s->o->backends; id++) {
		if (!s->active[id])
			continue;
		backend_name(id, name, sizeof(name));
		mb[n++] = (struct maglev_backend){.key = maglev_key_of_name(name), .id = id, .weight = 1};
	}
	int rc = maglev_build(mb, n, s->o->ring_size, s->ring);
	free(mb);
	if (rc < 0)
		return -1;
	for (int k = 0; k < s->o->lbs; k++) {
		memcpy(s->lb[k].rings, s->ring, (size_t)s->o->ring_size * sizeof(*s->ring));
		for (uint32_t id = 0; id < s->o->backends; id++) {
			struct backend *be = &s->lb[k].backends[id];
			be->flags = BACKEND_F_PRESENT | (s->active[id] ? 0 : BACKEND_F_DRAINING);
		}
	}
	return 0;
}

/* Which LB host the router hands a 5-tuple to: hash-threshold ECMP over the hosts up. */
static int ecmp(struct sim *s, const struct flow_key *f)
{
	uint32_t h = lb_fmix32(lb_flow_hash(f) ^ 0x9e3779b9u), up = 0, k;
	int hosts[SIM_MAX_LBS];

	for (int i = 0; i < s->o->lbs; i++)
		if (s->host_up[i])
			hosts[up++] = i;
	k = (uint32_t)(((uint64_t)h * up) >> 32);
	return hosts[k];
}

static void flow_of(struct flow_key *f, __u32 client, __u16 cport, __u16 dport)
{
	memset(f, 0, sizeof(*f));
	f->family = MPLB_FAMILY_V4;
	f->proto = IPPROTO_TCP_;
	f->src[0] = htonl(client);
	f->dst[0] = htonl(VIP4);
	f->sport = htons(cport);
	f->dport = htons(dport);
}

/* One packet through the tier: the backend it reaches (or MPLB_NO_BACKEND). */
static __u32 route(struct sim *s, struct packet_desc *p, bool join_port)
{
	struct decision d = {0};
	int k = ecmp(s, &p->flow);
	int action = sim_lb_decide(&s->lb[k], p, join_port ? &s->join_meta : &s->meta, &s->cfg, &d);

	return action == XDP_TX ? d.backend_id : MPLB_NO_BACKEND;
}

/* The token sync of the tier: what the owner's agent pushes to every host. */
static void push_token(struct sim *s, const struct sim_conn *c)
{
	struct token_entry te = {.learned_ns = 1, .backend_id = c->owner};

	for (int k = 0; k < s->o->lbs; k++)
		smap_update(&s->lb[k].token_sync, &c->token, &te, BPF_ANY);
}

static void push_flow(struct sim *s, const struct flow_key *f, __u32 owner)
{
	struct flow_entry fe = {.created_ns = 1, .backend_id = owner};

	for (int k = 0; k < s->o->lbs; k++)
		smap_update(&s->lb[k].join_flows, f, &fe, BPF_ANY);
}

/* A join SYN of connection c from port i: does it reach the owner? */
static bool join(struct sim *s, struct sim_conn *c, int i)
{
	struct packet_desc p = {0};
	const struct sim_strategy *st = s->st;
	bool ok;

	if (st->bypass || st->stack_change) {
		/* per-server: to the backend's own address, around the LB. lb-keys, token-id:
		 * the LB reads the owner from the packet. app-auth: any backend takes it. */
		ok = true;
		if (!strcmp(st->name, "token-id")) {
			/* The LB host that decrypts the SYN's token pins the join in its LRU:
			 * the subflow's later packets carry no token. */
			struct flow_entry fe = {.created_ns = 1, .backend_id = c->owner};
			flow_of(&p.flow, c->client, c->port[i], SVC_PORT);
			smap_update(&s->lb[ecmp(s, &p.flow)].conn_lru, &p.flow, &fe, BPF_ANY);
		}
		return ok;
	}
	bool port = st->vip_flags & VIP_F_PORT;
	flow_of(&p.flow, c->client, c->port[i], port ? JOIN_BASE + c->owner : SVC_PORT);
	p.tcp_flags = TCP_FLAG_SYN;
	p.opts.join_token = c->token;
	p.opts.has_join_token = 1;
	p.opts.has_ts = 1; /* a SYN's TSecr is 0 */
	ok = route(s, &p, port) == c->owner;
	if (ok && s->o->token_sync && (st->vip_flags & VIP_F_TOKEN))
		push_flow(s, &p.flow, c->owner);
	return ok;
}

static void open_conn(struct sim *s, struct sim_conn *c, uint32_t idx, struct sim_result *r)
{
	struct packet_desc p = {0};

	c->client = 0x0b000000u + idx; /* 11.0.0.0/8: every connection its own client */
	for (int i = 0; i < s->o->subflows; i++)
		c->port[i] = (uint16_t)(10000 + (rnd(s) % 50000));
	c->key = rnd(s);
	c->token = sha256_min_token(c->key);
	flow_of(&p.flow, c->client, c->port[0], SVC_PORT);
	p.tcp_flags = TCP_FLAG_SYN;
	c->owner = route(s, &p, false);
	if (c->owner == MPLB_NO_BACKEND)
		return;
	c->established = 1;
	/* The third ACK: the server's key, which token strategies learn from. */
	p.tcp_flags = TCP_FLAG_ACK;
	p.opts.has_mpc_keys = 1;
	p.opts.mpc_receiver_key = c->key;
	route(s, &p, false);
	if (s->o->token_sync && (s->st->vip_flags & VIP_F_TOKEN))
		push_token(s, c);
	for (int i = 1; i < s->o->subflows; i++) {
		r->joins++;
		if (join(s, c, i)) {
			r->joins_ok++;
			c->established |= (uint8_t)(1u << i);
		}
	}
}

/* One later packet of subflow i: still at the owner? */
static bool still_there(struct sim *s, struct sim_conn *c, int i)
{
	const struct sim_strategy *st = s->st;
	struct packet_desc p = {0};
	bool port = i > 0 && (st->vip_flags & VIP_F_PORT);

	if (i > 0 && st->bypass)
		return true; /* per-server joins never cross the LB */
	if (!strcmp(st->name, "lb-keys"))
		return s->lb[0].backends[c->owner].flags & BACKEND_F_PRESENT;
	if (i > 0 && !strcmp(st->name, "app-auth"))
		return true;
	flow_of(&p.flow, c->client, c->port[i], port ? JOIN_BASE + c->owner : SVC_PORT);
	p.tcp_flags = TCP_FLAG_ACK;
	p.opts.has_ts = 1;
	/* TSecr ids are 8 bits: a backend past them sends its plain clock,
	 * which a balancer may still decode as some id (1 in 2^8). */
	if (c->owner < TSECR_MAX_IDS)
		p.opts.tsecr = tsecr_encode(SIM_TSECR_KEY, 12345, c->owner);
	else
		p.opts.tsecr = c->client * 2654435761u + (uint32_t)i * 40503u;
	return route(s, &p, port) == c->owner;
}

static double state_bytes(struct sim *s)
{
	double b = 0;

	for (int k = 0; k < s->o->lbs; k++) {
		/* key + value bytes of the entries, as the kernel's maps hold them */
		const struct sim_lb *l = &s->lb[k];
		const double tok = sizeof(__u32) + sizeof(struct token_entry),
			     flow = sizeof(struct flow_key) + sizeof(struct flow_entry);
		b += (double)(l->token_map.count + l->token_sync.count) * tok;
		b += (double)(l->join_flows.count + l->conn_lru.count) * flow;
	}
	return b;
}

static void check_all(struct sim *s, struct sim_result *r, uint32_t moved)
{
	for (uint32_t ci = 0; ci < s->o->conns; ci++) {
		struct sim_conn *c = &s->conns[ci];
		if (!c->established || c->owner == moved)
			continue; /* a removed backend's own connections are not the event's victims */
		r->checked++;
		for (int i = 0; i < s->o->subflows; i++) {
			if (!(c->established & (1u << i)))
				continue;
			if (!still_there(s, c, i)) {
				if (i == 0)
					r->broken++;
				else
					r->subflows_lost++;
			}
		}
	}
}

/* Apply event e, check every connection, undo what can be undone. */
static void run_event(struct sim *s, enum sim_event e, struct sim_result *r)
{
	uint32_t victim = MPLB_NO_BACKEND;

	switch (e) {
	case SIM_EV_ADD: /* the one backend kept out at start comes in */
		s->active[s->o->backends - 1] = true;
		build_ring(s);
		break;
	case SIM_EV_DRAIN: /* out of the ring, its entry kept: its connections must go on */
	case SIM_EV_REMOVE: /* out of the ring and, its grace over, out of the backend table */
		victim = 0;
		s->active[victim] = false;
		build_ring(s);
		for (int k = 0; e == SIM_EV_REMOVE && k < s->o->lbs; k++)
			s->lb[k].backends[victim].flags = 0;
		break;
	case SIM_EV_RESTART_LOST:
		sim_lb_forget(&s->lb[0]);
		break;
	case SIM_EV_LB_FAILURE:
		if (s->o->lbs > 1)
			s->host_up[0] = false;
		break;
	default:
		break;
	}
	check_all(s, r, e == SIM_EV_REMOVE ? victim : MPLB_NO_BACKEND);
	r->state_bytes_per_conn = s->o->conns ? state_bytes(s) / s->o->conns : 0;
	/* undo */
	if (e == SIM_EV_ADD)
		s->active[s->o->backends - 1] = false, build_ring(s);
	if (e == SIM_EV_DRAIN || e == SIM_EV_REMOVE)
		s->active[victim] = true, build_ring(s);
	if (e == SIM_EV_LB_FAILURE)
		s->host_up[0] = true;
}

int sim_run_strategy(const struct sim_opts *o, const struct sim_strategy *st, struct sim_result *res)
{
	struct sim *s = calloc(1, sizeof(*s));
	struct sim_lb_sizes sz = {.backend_slots = o->backends, .ring_size = o->ring_size,
				  .max_vips = 1, .token_entries = o->table_entries,
				  .flow_entries = o->table_entries, .lru_entries = o->table_entries};
	struct timespec t0, t1;
	int rc = -1;

	if (!s)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	s->o = o;
	s->st = st;
	s->rng = o->seed ? o->seed : 0x2545f4914f6cdd1dull;
	s->ring = calloc(o->ring_size, sizeof(*s->ring));
	s->conns = calloc(o->conns, sizeof(*s->conns));
	if (!s->ring || !s->conns)
		goto out;
	for (int k = 0; k < o->lbs; k++) {
		if (sim_lb_init(&s->lb[k], &sz))
			goto out;
		s->host_up[k] = true;
	}
	s->meta = (struct vip_meta){.vip_num = 0, .flags = st->vip_flags,
				    .join_port_base = JOIN_BASE, .join_port_count = (__u16)o->backends,
				    .unknown_token = o->token_sync ? UNKNOWN_TOKEN_HOLD : UNKNOWN_TOKEN_RING};
	s->join_meta = s->meta;
	s->join_meta.flags |= VIP_F_JOIN_ENTRY;
	s->cfg.tsecr_key[0] = SIM_TSECR_KEY[0];
	s->cfg.tsecr_key[1] = SIM_TSECR_KEY[1];
	s->cfg.token_hold_ms = 1500;
	/* Every backend but the last, which the add event brings in. */
	for (uint32_t id = 0; id + 1 < o->backends; id++)
		s->active[id] = true;
	if (build_ring(s))
		goto out;
	memset(res, 0, sizeof(*res) * SIM_EV_MAX);
	struct sim_result open = {0};
	for (uint32_t i = 0; i < o->conns; i++)
		open_conn(s, &s->conns[i], i, &open);
	/* Each event is undone before the next; losing the state cannot be, so it runs last. */
	static const enum sim_event order[] = {SIM_EV_NONE, SIM_EV_ADD, SIM_EV_DRAIN, SIM_EV_REMOVE,
					       SIM_EV_RESTART_KEPT, SIM_EV_LB_FAILURE, SIM_EV_RESTART_LOST};
	for (size_t oi = 0; oi < sizeof(order) / sizeof(order[0]); oi++) {
		enum sim_event e = order[oi];
		if (e == SIM_EV_LB_FAILURE && o->lbs < 2)
			continue;
		res[e] = open;
		res[e].ran = true;
		run_event(s, e, &res[e]);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res[0].seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	rc = 0;
out:
	for (int k = 0; k < o->lbs; k++)
		sim_lb_free(&s->lb[k]);
	free(s->ring);
	free(s->conns);
	free(s);
	return rc;
}

const char *sim_event_name(enum sim_event e)
{
	return event_names[e];
}
