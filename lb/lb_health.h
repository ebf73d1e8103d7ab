/* SPDX-License-Identifier: MIT */
/*
 * Backend health checks of `mplb lb run`: a backend with `health = ADDR:PORT`
 * is probed every [lb] health_interval_ms (TCP connect, "GET /ready
 * HTTP/1.0", a 200 status or a body starting with "ready" passes: what
 * `mplb server` answers). After health_fall consecutive failures it is
 * drained (out of the Maglev ring: only the changed slots are rewritten;
 * flows pinned by token, TSecr or LRU keep reaching it); after health_rise
 * consecutive successes it is restored. When every backend would be out
 * the ring keeps them all (fail open: a broken check must not take the
 * service down). State and counters go to /run/mplb/lb-health-<name>.json,
 * which `mplb lb stats` shows.
 */
#ifndef MPLB_LB_HEALTH_H
#define MPLB_LB_HEALTH_H

#include <stdbool.h>

#include <jansson.h>

#include "lb_config.h"

struct lb_runtime;
struct lb_health;

/* NULL when no backend of cfg has a health check (or on allocation failure). */
struct lb_health *lb_health_new(const struct lb_cfg *cfg);
void lb_health_free(struct lb_health *h);

/*
 * The config to program: file_cfg with the backends that are down set to
 * draining. Remembers file_cfg as the new base (a reload keeps the state of
 * backends by name). The pointer stays valid until the next call.
 */
const struct lb_cfg *lb_health_overlay(struct lb_health *h, const struct lb_cfg *file_cfg);

/*
 * One round: check every backend, apply a drain/restore through
 * lb_rt_apply when a state flips, write the state file, then wait for the
 * rest of the interval, handling pushed tokens (sync, may be NULL) all
 * along. Returns early when a signal arrives.
 */
struct lb_sync;
void lb_health_round(struct lb_health *h, struct lb_runtime *rt, struct lb_sync *sync);
/* A restart: backend name was down when the previous run stopped. */
void lb_health_seed(struct lb_health *h, const char *name, bool down);

/* State file of instance name, for `mplb lb stats`. */
void lb_health_path(const char *name, char *buf, size_t len);
/* Add the health state of instance name to a stats JSON object, or print it. */
void lb_health_stats(const char *name, json_t *root);

#endif /* MPLB_LB_HEALTH_H */
