/* SPDX-License-Identifier: MIT */
/*
 * Loaded balancer: skeleton lifecycle (open -> sizes/rodata -> load -> fill
 * maps -> attach), in-place reconfiguration (Maglev deltas), pins.
 */
#ifndef MPLB_LB_RUNTIME_H
#define MPLB_LB_RUNTIME_H

#include "lb_config.h"

struct lb_bpf;

struct lb_runtime {
	struct lb_bpf *skel;
	struct lb_cfg cfg;  /* what the maps hold now */
	uint32_t *rings;    /* max_vips * ring_size, mirror of ch_rings */
	int ifindex[LB_CFG_MAX_IFACES];
	int n_attached;
	uint32_t xdp_flags;
	char pin_dir[256];
	int pinned;
	/* Monotonic time a backend left the config (0: it did not); its map
	 * entry stays, draining, for cfg.remove_grace_s (lb_rt_expire). */
	double removed_at[MPLB_MAX_BACKENDS];
};

/* Open and load with cfg's sizes, then fill every map. */
int lb_rt_load(struct lb_runtime *rt, const struct lb_cfg *cfg);
/* Rewrite the maps for a new cfg: changed ring slots only, stale keys removed. */
int lb_rt_apply(struct lb_runtime *rt, const struct lb_cfg *cfg);
/* Clear the entries of backends removed more than remove_grace_s ago. */
void lb_rt_expire(struct lb_runtime *rt);
int lb_rt_attach(struct lb_runtime *rt);
void lb_rt_detach(struct lb_runtime *rt);
int lb_rt_pin(struct lb_runtime *rt);
void lb_rt_destroy(struct lb_runtime *rt);

/* /sys/fs/bpf/mplb/<name> */
void lb_pin_dir(const char *name, char *buf, size_t len);

/* Names of the pinned maps (all the maps stats and tools read). */
extern const char *const lb_pinned_maps[];

#endif /* MPLB_LB_RUNTIME_H */
