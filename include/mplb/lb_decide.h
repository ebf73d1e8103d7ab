/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The balancer's decision, written once: which backend a packet goes to
 * (join port -> join flow -> TSecr id -> MP_JOIN token -> connection LRU ->
 * Maglev ring) and what an MP_CAPABLE ACK teaches. Compiled into the XDP
 * program (bpf/lb.bpf.c) and into the userspace simulator (sim/), which
 * checks that both choose the same backend for the same packets.
 *
 * The includer provides the environment, before including this file:
 *   LB_INLINE                   how helpers are declared
 *   LB_LOOKUP(map, key)         pointer to the value, or NULL
 *   LB_UPDATE(map, key, v, f)   0 or an error (flags BPF_ANY, BPF_NOEXIST)
 *   LB_NOW_NS()                 monotonic nanoseconds (bpf_ktime_get_ns)
 *   LB_COUNT(idx, bytes)        bump counter idx (LB_STATS)
 *   LB_RING_SIZE, LB_MAX_VIPS   the ring geometry
 *   LB_RING_M                   lb_fastmod_m(LB_RING_SIZE), computed once
 *   LB_NTOHS(x)                 network to host order
 *   LB_TOKEN_OF_KEY(key)        MPTCP token of a 64-bit key (SHA-256)
 * and the maps by name: backends, ch_rings, token_sync, token_map,
 * token_hold, join_flows, conn_lru, key_tokens, tsecr_cache. XDP_DROP, BPF_ANY and BPF_NOEXIST come
 * from vmlinux.h or <linux/bpf.h>.
 */
#ifndef MPLB_LB_DECIDE_H
#define MPLB_LB_DECIDE_H

#include "mplb/lb_packet.h"
#include "mplb/lb_structs.h"
#include "mplb/tsecr.h"

#ifdef __VMLINUX_H__
struct decision {
	__u32 backend_id;
	__u32 path; /* LB_STAT_PATH_* */
};
#else
#include "mplb/lb_decide_types.h"
#endif

/* Counted verdict: bump reason and return action. */
LB_INLINE int lb_verdict(int action, __u32 reason, __u64 bytes)
{
	LB_COUNT(reason, bytes);
	return action;
}

LB_INLINE bool backend_usable(__u32 id)
{
	struct backend *be = LB_LOOKUP(backends, &id);

	return be && (be->flags & BACKEND_F_PRESENT);
}

/*
 * The Maglev ring's choice, or MPLB_NO_BACKEND. The flow hash is computed
 * here, on the paths that consult the ring, and nowhere else.
 */
LB_INLINE __u32 ring_pick(const struct vip_meta *meta, const struct flow_key *flow)
{
	__u32 rs = LB_RING_SIZE, slot, *id;

	if (!rs || meta->vip_num >= LB_MAX_VIPS)
		return MPLB_NO_BACKEND;
	slot = meta->vip_num * rs + lb_fastmod(lb_flow_hash(flow), LB_RING_M, rs);
	id = LB_LOOKUP(ch_rings, &slot);
	return id ? *id : MPLB_NO_BACKEND;
}

/* The backend id a TSecr carries (TSECR_NO_ID if none), through the per-CPU cache. */
LB_INLINE int tsecr_id(const struct lb_config *cfg, __u32 tsecr)
{
	__u64 tag = (cfg->tsecr_key[0] ^ (cfg->tsecr_key[1] * 0x9e3779b97f4a7c15ULL)) | 1;
	__u32 slot = (tsecr ^ (tsecr >> 16)) & (MPLB_TSECR_CACHE_ENTRIES - 1);
	struct tsecr_slot *c = LB_LOOKUP(tsecr_cache, &slot);
	int id;

	if (c && c->key_tag == tag && c->tsecr == tsecr)
		return c->id;
	id = tsecr_decode(cfg->tsecr_key, tsecr);
	if (c) {
		c->key_tag = tag;
		c->tsecr = tsecr;
		c->id = id;
	}
	return id;
}

/*
 * Pin a flow to a backend in map (join_flows, conn_lru). An entry found (fe)
 * is rewritten in place: an LRU update would allocate a node. A new one is
 * inserted with BPF_NOEXIST and counted (learned), so that every entry in is
 * counted once and the control plane can tell evictions: in - deleted - present.
 */
#define lb_pin_flow(map, fe, flow, id, learned, bytes)                                    \
	do {                                                                              \
		if (fe) {                                                                 \
			(fe)->backend_id = (id);                                          \
			(fe)->created_ns = LB_NOW_NS();                                   \
		} else {                                                                  \
			struct flow_entry fe_ = {.created_ns = LB_NOW_NS(),               \
						 .backend_id = (id)};                     \
			if (LB_UPDATE(map, flow, &fe_, BPF_NOEXIST) == 0)                 \
				LB_COUNT(learned, bytes);                                 \
		}                                                                         \
	} while (0)

/*
 * MP_JOIN SYN on a token VIP. A collided token is dropped rather than sent
 * to one of its backends: the join would fail on the wrong backend anyway,
 * and a drop is counted where a misroute would be silent.
 */
/* A token's entry decides: FURTHER_PROCESSING with d set, a drop, or 1 (unusable: go on). */
LB_INLINE int use_token_entry(const struct packet_desc *pkt,
					   const struct token_entry *te, __u32 path,
					   struct decision *d, __u64 bytes)
{
	struct flow_entry *fe;

	if (te->flags & TOKEN_F_COLLIDED)
		return lb_verdict(XDP_DROP, LB_STAT_DROP_TOKEN_COLLIDED, bytes);
	if (!backend_usable(te->backend_id)) {
		LB_COUNT(LB_STAT_EV_STALE_BACKEND, bytes);
		return 1;
	}
	d->backend_id = te->backend_id;
	d->path = path;
	/* A retransmitted SYN finds its entry: no rewrite (an LRU update allocates). */
	fe = LB_LOOKUP(join_flows, &pkt->flow);
	if (!fe || fe->backend_id != d->backend_id)
		lb_pin_flow(join_flows, fe, &pkt->flow, d->backend_id, LB_STAT_EV_FLOW_LEARNED, bytes);
	return FURTHER_PROCESSING;
}

/*
 * Unknown token under UNKNOWN_TOKEN_HOLD: drop while the token is younger
 * than the hold (its agent's push is on the way; the client retransmits the
 * SYN after its RTO), then fall through to the ring.
 */
LB_INLINE bool hold_unknown(__u32 token, const struct lb_config *cfg, __u64 bytes)
{
	__u64 now = LB_NOW_NS(), *first = LB_LOOKUP(token_hold, &token);

	if (!first) {
		if (LB_UPDATE(token_hold, &token, &now, BPF_NOEXIST) == 0)
			LB_COUNT(LB_STAT_EV_HOLD_STARTED, bytes);
		return cfg->token_hold_ms != 0;
	}
	if (now - *first < (__u64)cfg->token_hold_ms * 1000000)
		return true;
	LB_COUNT(LB_STAT_EV_TOKEN_HOLD_EXPIRED, bytes);
	return false;
}

LB_INLINE int pick_by_token(const struct packet_desc *pkt,
					 const struct vip_meta *meta,
					 const struct lb_config *cfg,
					 struct decision *d, __u64 bytes)
{
	__u32 token = pkt->opts.join_token;
	struct token_entry *te;
	int rc;

	/* What the owner said first: a pushed token cannot be poisoned by forged ACKs. */
	te = LB_LOOKUP(token_sync, &token);
	if (te) {
		rc = use_token_entry(pkt, te, LB_STAT_PATH_TOKEN_PUSHED, d, bytes);
		if (rc != 1)
			return rc;
	}
	te = LB_LOOKUP(token_map, &token);
	if (te) {
		rc = use_token_entry(pkt, te, LB_STAT_PATH_TOKEN_HIT, d, bytes);
		if (rc != 1)
			return rc;
	}
	LB_COUNT(LB_STAT_EV_TOKEN_MISS, bytes);
	if (meta->unknown_token == UNKNOWN_TOKEN_DROP)
		return lb_verdict(XDP_DROP, LB_STAT_DROP_TOKEN_UNKNOWN, bytes);
	if (meta->unknown_token == UNKNOWN_TOKEN_HOLD && hold_unknown(token, cfg, bytes))
		return lb_verdict(XDP_DROP, LB_STAT_DROP_TOKEN_HELD, bytes);
	d->path = LB_STAT_PATH_TOKEN_MISS_RING;
	return FURTHER_PROCESSING;
}

LB_INLINE int pick_backend(const struct packet_desc *pkt,
					const struct vip_meta *meta,
					const struct lb_config *cfg,
					struct decision *d, __u64 bytes)
{
	bool tcp = pkt->flow.proto == IPPROTO_TCP_ && !pkt->is_fragment;
	bool syn = tcp && (pkt->tcp_flags & TCP_FLAG_SYN);
	bool lru = meta->flags & VIP_F_LRU;
	struct flow_entry *lru_fe = NULL; /* conn_lru's entry, rewritten in place if stale */
	int action;

	d->path = LB_STAT_PATH_RING;
	d->backend_id = MPLB_NO_BACKEND;

	/* A join port names its backend: id = port - base. */
	if (meta->flags & VIP_F_JOIN_ENTRY) {
		__u32 id = LB_NTOHS(pkt->flow.dport) - meta->join_port_base;

		if (id >= meta->join_port_count || !backend_usable(id))
			return lb_verdict(XDP_DROP, LB_STAT_DROP_PORT_NO_BACKEND, bytes);
		d->backend_id = id;
		d->path = LB_STAT_PATH_PORT;
		return FURTHER_PROCESSING;
	}
	if (pkt->is_fragment) {
		d->path = LB_STAT_PATH_FRAG_RING;
		goto ring;
	}
	/* Later packets of a join subflow routed by token. */
	if ((meta->flags & VIP_F_TOKEN) && tcp && !syn) {
		struct flow_entry *fe = LB_LOOKUP(join_flows, &pkt->flow);

		if (fe && backend_usable(fe->backend_id)) {
			d->backend_id = fe->backend_id;
			d->path = LB_STAT_PATH_FLOW_HIT;
			return FURTHER_PROCESSING;
		}
	}
	/* The server put its id in TSval; the client echoes it in TSecr. */
	if ((meta->flags & VIP_F_TSECR) && tcp && !syn && pkt->opts.has_ts) {
		int id = tsecr_id(cfg, pkt->opts.tsecr);

		if (id >= 0 && backend_usable(id)) {
			d->backend_id = id;
			d->path = LB_STAT_PATH_TSECR;
			return FURTHER_PROCESSING;
		}
		LB_COUNT(LB_STAT_EV_TSECR_NO_ID, bytes);
	}
	if ((meta->flags & VIP_F_TOKEN) && syn && !(pkt->tcp_flags & TCP_FLAG_ACK) &&
	    pkt->opts.has_join_token) {
		action = pick_by_token(pkt, meta, cfg, d, bytes);
		if (action != FURTHER_PROCESSING || d->backend_id != MPLB_NO_BACKEND)
			return action;
		goto ring;
	}
	if (lru && tcp && !syn) {
		lru_fe = LB_LOOKUP(conn_lru, &pkt->flow);
		if (lru_fe && backend_usable(lru_fe->backend_id)) {
			d->backend_id = lru_fe->backend_id;
			d->path = LB_STAT_PATH_LRU_HIT;
			return FURTHER_PROCESSING;
		}
		LB_COUNT(LB_STAT_EV_LRU_MISS, bytes);
	}
ring:
	d->backend_id = ring_pick(meta, &pkt->flow);
	if (d->backend_id == MPLB_NO_BACKEND || !backend_usable(d->backend_id))
		return lb_verdict(XDP_DROP, LB_STAT_DROP_RING_EMPTY, bytes);
	/*
	 * The LRU learns a flow from its first segment after the SYN: a SYN
	 * flood (spoofed, never completed) costs the ring only and evicts no
	 * live flow. The price: a ring change within the handshake's RTT moves
	 * that one connection.
	 */
	if (lru && tcp && !syn)
		lb_pin_flow(conn_lru, lru_fe, &pkt->flow, d->backend_id, LB_STAT_EV_LRU_LEARNED, bytes);
	return FURTHER_PROCESSING;
}

/*
 * The client's MP_CAPABLE ACK (third ACK, or first data) carries the server
 * key; its token is how the server's joins will name this connection.
 * Policy on a token seen on two backends: keep the first backend, mark the
 * entry collided and count it; pick_by_token then drops joins for it.
 */
LB_INLINE void learn_token(const struct packet_desc *pkt,
					const struct vip_meta *meta, __u32 backend_id,
					__u64 bytes)
{
	struct token_entry *te, fresh = {};
	__u64 key = pkt->opts.mpc_receiver_key;
	struct key_token *cached;
	__u32 token, slot;

	if (!(meta->flags & VIP_F_TOKEN) || !pkt->opts.has_mpc_keys ||
	    pkt->flow.proto != IPPROTO_TCP_ || (pkt->tcp_flags & TCP_FLAG_SYN))
		return;
	/*
	 * The client repeats MP_CAPABLE on its first data segments: SHA-256 runs
	 * once per key, the repeats read the cache (a pure function's results:
	 * an overwritten slot is only computed again).
	 */
	slot = (__u32)(key ^ (key >> 32)) & (MPLB_KEY_CACHE_ENTRIES - 1);
	cached = LB_LOOKUP(key_tokens, &slot);
	if (cached && cached->valid && cached->key == key) {
		token = cached->token;
	} else {
		token = LB_TOKEN_OF_KEY(key);
		if (cached) {
			cached->key = key;
			cached->token = token;
			cached->valid = 1;
		}
	}
	te = LB_LOOKUP(token_map, &token);
	if (!te) {
		fresh.learned_ns = LB_NOW_NS();
		fresh.backend_id = backend_id;
		if (LB_UPDATE(token_map, &token, &fresh, BPF_NOEXIST) == 0) {
			LB_COUNT(LB_STAT_EV_TOKEN_LEARNED, bytes);
			return;
		}
		/* Lost a race with another CPU: judge against its entry. */
		te = LB_LOOKUP(token_map, &token);
		if (!te)
			return;
	}
	if (te->backend_id == backend_id) {
		LB_COUNT(LB_STAT_EV_TOKEN_REFRESHED, bytes);
		return;
	}
	te->flags |= TOKEN_F_COLLIDED;
	if (te->collisions < 0xffff)
		te->collisions++;
	LB_COUNT(LB_STAT_EV_TOKEN_COLLISION, bytes);
}

/*
 * The whole decision for a parsed packet of a VIP, as the XDP program and
 * the simulator both run it: the backend (d), its path counted, and what an
 * MP_CAPABLE ACK teaches. FURTHER_PROCESSING: forward to d->backend_id;
 * anything else is the XDP action.
 */
LB_INLINE int lb_decide(const struct packet_desc *pkt, const struct vip_meta *meta,
			const struct lb_config *cfg, struct decision *d, __u64 bytes)
{
	int action = pick_backend(pkt, meta, cfg, d, bytes);

	if (action != FURTHER_PROCESSING)
		return action;
	LB_COUNT(d->path, bytes);
	learn_token(pkt, meta, d->backend_id, bytes);
	return FURTHER_PROCESSING;
}

#endif /* MPLB_LB_DECIDE_H */
