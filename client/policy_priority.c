// SPDX-License-Identifier: MIT
/*
 * "priority" policy unit (draft-duchene-mptcp-add-addr-00 §2.3): use the
 * peer's addresses in priority order. Linux has one bit of subflow priority
 * (backup), so the 0-7 priorities and the backup attribute become classes:
 * rank = (not backup) * 8 + priority. Subflows to the best class that has an
 * established subflow are active; every other subflow carries the backup
 * flag (MP_JOIN B when opened, MP_PRIO through SET_FLAGS afterwards), so the
 * peer's scheduler sends on the best class only, and on the next class as
 * soon as the best one has no subflow left. Filling opens addresses best
 * first (cl_fill orders by rank).
 */
#include <stdio.h>

#include "client/model.h"

/* Best rank among established subflows (-1 if none). */
static int best_established(struct cl_conn *c)
{
	int best = -1;
	for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
		struct cl_subflow *sf = &c->subflows[i];
		struct cl_remote *r;
		if (!sf->used || sf->state != CL_SF_ESTABLISHED || !(r = cl_subflow_remote(c, sf)))
			continue;
		if (cl_remote_rank(r) > best)
			best = cl_remote_rank(r);
	}
	return best;
}

static int prio_backup(struct cl_ctx *ctx, struct cl_conn *c, struct cl_remote *r)
{
	(void)ctx;
	int best = best_established(c);
	return best >= 0 && cl_remote_rank(r) < best ? 1 : 0;
}

static void reflag(struct cl_ctx *ctx, struct cl_conn *c, const char *event)
{
	char why[160];
	int best = best_established(c);
	if (best < 0)
		return;
	snprintf(why, sizeof(why), "priority: %s; the best class with an established subflow is %s priority %d",
		 event, best >= 8 ? "non-backup" : "backup", best & 7);
	cl_reflag(ctx, c, why);
}

static void on_sf_established(struct cl_ctx *ctx, struct cl_conn *c, struct cl_subflow *sf)
{
	(void)sf;
	reflag(ctx, c, "a subflow came up");
}

static void on_sf_closed(struct cl_ctx *ctx, struct cl_conn *c, struct cl_subflow *sf, int error)
{
	(void)sf;
	(void)error;
	reflag(ctx, c, "a subflow closed");
}

static void on_attrs(struct cl_ctx *ctx, struct cl_conn *c, struct cl_remote *r)
{
	(void)r;
	reflag(ctx, c, "attributes changed");
}

static void on_established(struct cl_ctx *ctx, struct cl_conn *c)
{
	reflag(ctx, c, "connection established");
}

static void on_uplink_down(struct cl_ctx *ctx, struct cl_uplink *u)
{
	char ev[64];
	snprintf(ev, sizeof(ev), "uplink %s down", u->name);
	for (struct cl_conn *c = ctx->conns; c; c = c->next)
		reflag(ctx, c, ev);
}

const struct cl_policy_ops cl_policy_priority = {
	.name = "priority",
	.needs_attrs = true,
	.backup = prio_backup,
	.conn_established = on_established,
	.addr_attrs = on_attrs,
	.subflow_established = on_sf_established,
	.subflow_closed = on_sf_closed,
	.uplink_down = on_uplink_down,
};
