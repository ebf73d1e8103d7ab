/* SPDX-License-Identifier: MIT */
/*
 * Loaded balancer: skeleton lifecycle (open -> sizes/rodata -> load -> fill
 * maps -> attach), in-place reconfiguration (Maglev deltas), pins.
 */
#ifndef MPLB_LB_RUNTIME_H
#define MPLB_LB_RUNTIME_H

#include <stdbool.h>

#include "lb_config.h"

struct lb_bpf;

struct lb_runtime {
	struct lb_bpf *skel;
	struct lb_cfg cfg;  /* what the maps hold now */
	uint32_t *rings;    /* max_vips * ring_size, mirror of ch_rings */
	int ifindex[LB_CFG_MAX_IFACES];
	int n_attached;
	int replaced;       /* interfaces whose running program this run replaced */
	uint32_t xdp_flags;
	char pin_dir[256];
	int pinned;
	/* The maps came from a previous run's pins, with this much state in them. */
	bool reused;
	long reused_tokens, reused_flows, reused_lru;
	/* Monotonic time a backend left the config (0: it did not); its map
	 * entry stays, draining, for cfg.remove_grace_s (lb_rt_expire). Kept
	 * in the pinned backend_meta map too, so a restart keeps the grace. */
	double removed_at[MPLB_MAX_BACKENDS];
	/* Optional (bench): xdp_lb's verifier statistics are written here at load. */
	char *verifier_log;
	size_t verifier_log_size;
};

/*
 * Open and load with cfg's sizes, then fill every map. pinned: maps live
 * in /sys/fs/bpf/mplb/<cfg->name>; a previous run's pins there are reused
 * (state carried over; a layout or size change is refused with what to do)
 * and new ones are pinned. Without it (bench), nothing touches bpffs.
 * rt->verifier_log, when set before the call, survives and receives the
 * verifier's statistics (log level 4).
 */
int lb_rt_load(struct lb_runtime *rt, const struct lb_cfg *cfg, bool pinned);
/* Rewrite the maps for a new cfg: changed ring slots only, stale keys removed. */
int lb_rt_apply(struct lb_runtime *rt, const struct lb_cfg *cfg);
/* Clear the entries of backends removed more than remove_grace_s ago. */
void lb_rt_expire(struct lb_runtime *rt);
/* Attach to every interface; a previous run's xdp_lb is replaced atomically. */
int lb_rt_attach(struct lb_runtime *rt);
void lb_rt_detach(struct lb_runtime *rt);
int lb_rt_pin(struct lb_runtime *rt);
/* Let go of the process's handles only: the data plane stays attached and pinned. */
void lb_rt_close(struct lb_runtime *rt);
/* Full stop: detach, unpin, close. */
void lb_rt_destroy(struct lb_runtime *rt);

/* /sys/fs/bpf/mplb/<name> */
void lb_pin_dir(const char *name, char *buf, size_t len);
/* Remove the pins of a balancer's directory (and the directory). */
void lb_unpin_dir(const char *dir);

/* Names of the pinned maps (all the maps stats and tools read). */
extern const char *const lb_pinned_maps[];

#endif /* MPLB_LB_RUNTIME_H */
