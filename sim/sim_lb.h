/* SPDX-License-Identifier: MIT */
/*
 * One simulated LB host: the balancer's maps as simmap tables and the
 * decision code of the XDP program itself (include/mplb/lb_decide.h),
 * compiled here for userspace.
 */
#ifndef MPLB_SIM_LB_H
#define MPLB_SIM_LB_H

#include <stdint.h>

#include "mplb/lb_decide_types.h"
#include "simmap.h"

struct sim_lb {
	struct smap token_sync, token_map, token_hold, join_flows, conn_lru;
	struct key_token key_tokens[MPLB_KEY_CACHE_ENTRIES]; /* one CPU's caches */
	struct tsecr_slot tsecr_cache[MPLB_TSECR_CACHE_ENTRIES];
	struct backend *backends; /* indexed by backend id */
	uint32_t n_backend_slots;
	uint32_t *rings;          /* max_vips * ring_size */
	uint32_t ring_size, max_vips;
	uint64_t ring_m;          /* lb_fastmod_m(ring_size) */
	uint64_t stats[LB_STAT_MAX];
	uint64_t now_ns;          /* the simulation's clock: LB_NOW_NS() */
};

struct sim_lb_sizes {
	uint32_t backend_slots, ring_size, max_vips;
	uint32_t token_entries, flow_entries, lru_entries;
};

int sim_lb_init(struct sim_lb *lb, const struct sim_lb_sizes *sz);
void sim_lb_free(struct sim_lb *lb);
/* What a restart without pinned state does: every learned table empty. */
void sim_lb_forget(struct sim_lb *lb);

/*
 * The XDP program's decision for a parsed packet, after the VIP lookup:
 * lb_decide() (include/mplb/lb_decide.h), the call xdp_lb() makes, then
 * forward()'s check that the backend entry exists.
 * Returns the XDP action (XDP_TX when forwarded), d names the backend.
 */
int sim_lb_decide(struct sim_lb *lb, const struct packet_desc *pkt, const struct vip_meta *meta,
		  const struct lb_config *cfg, struct decision *d);

#endif /* MPLB_SIM_LB_H */
