/* SPDX-License-Identifier: MIT */
/*
 * Token state from the backends (the receiving side; the wire format is
 * include/mplb/token_sync.h, the sender is the server agent). A backend's
 * agent knows its own MPTCP tokens and join subflows from the kernel and
 * pushes them, authenticated with a key only it and the balancers hold, to
 * every LB host: a join that ECMP hands to a host that never saw its
 * connection's MP_CAPABLE ACK still finds its backend.
 */
#ifndef MPLB_LB_SYNC_H
#define MPLB_LB_SYNC_H

#include "lb_config.h"

struct lb_runtime;
struct lb_sync;

/* Open the [sync] listeners of cfg. NULL when cfg has none, or on error (with a message). */
struct lb_sync *lb_sync_open(const struct lb_cfg *cfg, struct lb_runtime *rt);
void lb_sync_close(struct lb_sync *s);
/* A reload: new keys, TTL, backends. */
void lb_sync_reconfigure(struct lb_sync *s, const struct lb_cfg *cfg);
/* Handle pushed messages for up to usec microseconds (or sleep, when s is NULL). */
void lb_sync_wait(struct lb_sync *s, long usec);
/* The socket to poll (-1 when s is NULL), and the handler for when it is readable. */
int lb_sync_fd(const struct lb_sync *s);
void lb_sync_process(struct lb_sync *s);

#endif /* MPLB_LB_SYNC_H */
