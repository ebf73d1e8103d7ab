// SPDX-License-Identifier: MIT
/*
 * The XDP program's decision code (include/mplb/lb_decide.h) compiled for
 * the simulator: the same functions, the maps replaced by simmap tables.
 */
#include "sim_lb.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "mplb/sha256_min.h"

static struct sim_lb *cur; /* the LB host being simulated (single-threaded) */

static struct backend *backend_at(__u32 id)
{
	return id < cur->n_backend_slots ? &cur->backends[id] : NULL;
}

static __u32 *ring_at(__u32 slot)
{
	return slot < cur->ring_size * cur->max_vips ? &cur->rings[slot] : NULL;
}

#define SIM_backends(key) backend_at(*(const __u32 *)(key))
#define SIM_ch_rings(key) ring_at(*(const __u32 *)(key))
#define SIM_token_sync(key) smap_lookup(&cur->token_sync, key)
#define SIM_token_map(key) smap_lookup(&cur->token_map, key)
#define SIM_token_hold(key) smap_lookup(&cur->token_hold, key)
#define SIM_join_flows(key) smap_lookup(&cur->join_flows, key)
#define SIM_conn_lru(key) smap_lookup(&cur->conn_lru, key)
#define SIM_tsecr_cache(key) (&cur->tsecr_cache[*(const __u32 *)(key) % MPLB_TSECR_CACHE_ENTRIES])
#define SIM_key_tokens(key) (&cur->key_tokens[*(const __u32 *)(key) % MPLB_KEY_CACHE_ENTRIES])

#define LB_INLINE static inline
#define LB_LOOKUP(map, key) SIM_##map(key)
#define LB_UPDATE(map, key, val, flags) smap_update(&cur->map, key, val, flags)
#define LB_NOW_NS() (cur->now_ns)
#define LB_COUNT(idx, bytes) ((void)(bytes), cur->stats[idx]++)
#define LB_RING_SIZE (cur->ring_size)
#define LB_RING_M (cur->ring_m)
#define LB_MAX_VIPS (cur->max_vips)
#define LB_NTOHS(x) ntohs(x)
#define LB_TOKEN_OF_KEY(key) sha256_min_token(key)
#include "mplb/lb_decide.h"

int sim_lb_init(struct sim_lb *lb, const struct sim_lb_sizes *sz)
{
	memset(lb, 0, sizeof(*lb));
	lb->n_backend_slots = sz->backend_slots;
	lb->ring_size = sz->ring_size;
	lb->ring_m = lb_fastmod_m(sz->ring_size ? sz->ring_size : 1);
	lb->max_vips = sz->max_vips;
	lb->backends = calloc(sz->backend_slots, sizeof(*lb->backends));
	lb->rings = calloc((size_t)sz->ring_size * sz->max_vips, sizeof(*lb->rings));
	if (!lb->backends || !lb->rings ||
	    smap_init(&lb->token_sync, sizeof(__u32), sizeof(struct token_entry), sz->token_entries, false) ||
	    smap_init(&lb->token_map, sizeof(__u32), sizeof(struct token_entry), sz->token_entries, true) ||
	    smap_init(&lb->token_hold, sizeof(__u32), sizeof(__u64), 16384, true) ||
	    smap_init(&lb->join_flows, sizeof(struct flow_key), sizeof(struct flow_entry), sz->flow_entries, true) ||
	    smap_init(&lb->conn_lru, sizeof(struct flow_key), sizeof(struct flow_entry), sz->lru_entries, true))
		return -1;
	return 0;
}

void sim_lb_free(struct sim_lb *lb)
{
	free(lb->backends);
	free(lb->rings);
	smap_free(&lb->token_sync);
	smap_free(&lb->token_map);
	smap_free(&lb->token_hold);
	smap_free(&lb->join_flows);
	smap_free(&lb->conn_lru);
}

void sim_lb_forget(struct sim_lb *lb)
{
	smap_clear(&lb->token_sync);
	smap_clear(&lb->token_map);
	smap_clear(&lb->token_hold);
	smap_clear(&lb->join_flows);
	smap_clear(&lb->conn_lru);
	memset(lb->key_tokens, 0, sizeof(lb->key_tokens));
	memset(lb->tsecr_cache, 0, sizeof(lb->tsecr_cache));
}

int sim_lb_decide(struct sim_lb *lb, const struct packet_desc *pkt, const struct vip_meta *meta,
		  const struct lb_config *cfg, struct decision *d)
{
	int action;

	cur = lb;
	action = lb_decide(pkt, meta, cfg, d, 0);
	if (action != FURTHER_PROCESSING)
		return action;
	/* forward(): the backend entry must exist, then XDP_TX (or redirect). */
	if (!backend_at(d->backend_id))
		return lb_verdict(XDP_DROP, LB_STAT_DROP_RING_EMPTY, 0);
	return XDP_TX;
}
