/* SPDX-License-Identifier: MIT */
/* Token sync, the sending side (server_sync.c). */
#ifndef MPLB_SERVER_SYNC_H
#define MPLB_SERVER_SYNC_H

#include <stdint.h>

#include "mptcp_pm_nl.h"

struct agent;
struct srv_sync;

struct srv_sync_stats {
	uint64_t messages, entries, send_errors, events, snapshots, snapshot_errors;
	unsigned last_tokens, last_flows; /* in the last snapshot */
};

/* NULL when the config has no [sync]. */
struct srv_sync *srv_sync_open(struct agent *a);
void srv_sync_close(struct srv_sync *s);
/* A mptcp_pm event: push what changed at once. */
void srv_sync_event(struct srv_sync *s, struct agent *a, const struct mptcp_pm_nl_event *ev);
/* Snapshot when due; seconds until the next one (-1 when s is NULL). */
double srv_sync_tick(struct srv_sync *s, struct agent *a);
const struct srv_sync_stats *srv_sync_stats(const struct srv_sync *s);

#endif /* MPLB_SERVER_SYNC_H */
