// SPDX-License-Identifier: MIT
/*
 * "spread" policy unit: path diversity, and the filler every composition ends
 * with. For every usable remote address of a connection (the initial one
 * unless the peer set the C bit, and each announced one), keep one subflow
 * from every usable local uplink of that family, as far as the other units
 * admit (cl_fill). Uplinks that go down lose their subflows; when they return
 * the subflows are re-created; subflows that fail while their uplink is up
 * are retried with backoff by the core.
 */
#include <stdio.h>

#include "client/model.h"

static const char *ep(const struct cl_remote *r, char *buf, size_t len)
{
	char ip[64];
	mptcp_pm_nl_inaddr_str(r->family, &r->addr, ip, sizeof(ip));
	snprintf(buf, len, r->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, r->port);
	return buf;
}

static void on_established(struct cl_ctx *ctx, struct cl_conn *c)
{
	char a[64];
	for (int i = 0; i < CL_MAX_REMOTES; i++) {
		struct cl_remote *r = &c->remotes[i];
		if (r->used && r->initial && c->deny_join_id0)
			cl_decide(ctx, c->token,
				  "no subflows to initial address %s: peer set the C bit (deny-join-id0)",
				  ep(r, a, sizeof(a)));
	}
	cl_fill(ctx, c, NULL, NULL);
}

static void on_announced(struct cl_ctx *ctx, struct cl_conn *c, struct cl_remote *r)
{
	char a[64];
	const char *refusal = cl_remote_family_refusal(ctx, c, r);
	if (refusal[0]) {
		cl_decide(ctx, c->token, "ignoring announced %s: %s", ep(r, a, sizeof(a)), refusal);
		return;
	}
	if (r->family != c->family)
		cl_decide(ctx, c->token, "using announced %s on an IPv6 connection: %s",
			  ep(r, a, sizeof(a)),
			  ctx->cfg.cross_family == CL_CROSS_YES
				  ? "cross_family = yes"
				  : "the peer has no usable IPv6 address (cross_family = fallback)");
	cl_fill(ctx, c, NULL, NULL);
}

/* Attributes can change what the other units admit. */
static void on_attrs(struct cl_ctx *ctx, struct cl_conn *c, struct cl_remote *r)
{
	(void)r;
	cl_fill(ctx, c, NULL, NULL);
}

static void on_subflow_closed(struct cl_ctx *ctx, struct cl_conn *c,
			      struct cl_subflow *sf, int error)
{
	if (sf->initial || sf->closing_by_us) {
		cl_fill(ctx, c, NULL, "replacing a closed subflow");
		return;
	}
	struct cl_uplink *u = cl_uplink_by_ifindex(ctx, sf->ifindex);
	if (!cl_uplink_usable(u, sf->family))
		return; /* the uplink's return re-creates it */
	if (!error) {
		/* An orderly close by the peer: respect it (filling leaves it alone). */
		cl_fill(ctx, c, NULL, "replacing a closed subflow");
		return;
	}
	char why[64];
	snprintf(why, sizeof(why), "closed with error %d", error);
	if (!cl_subflow_retry_later(ctx, c, sf, why))
		cl_fill(ctx, c, NULL, "replacing a subflow given up on");
}

static void on_uplink_down(struct cl_ctx *ctx, struct cl_uplink *u)
{
	char reason[64];
	snprintf(reason, sizeof(reason), "uplink %s down", u->name);
	for (struct cl_conn *c = ctx->conns; c; c = c->next) {
		for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
			struct cl_subflow *sf = &c->subflows[i];
			/* The initial subflow is the kernel's; TCP decides its fate. */
			if (!sf->used || sf->initial || sf->state == CL_SF_CLOSED ||
			    sf->ifindex != u->ifindex)
				continue;
			if (cl_uplink_usable(u, sf->family))
				continue; /* only the other family went away */
			cl_subflow_close(ctx, c, sf, reason);
		}
		/* Units that limit subflows may now admit a replacement elsewhere. */
		cl_fill(ctx, c, NULL, reason);
	}
}

static void on_uplink_up(struct cl_ctx *ctx, struct cl_uplink *u)
{
	char why[64];
	snprintf(why, sizeof(why), "uplink %s came back", u->name);
	for (struct cl_conn *c = ctx->conns; c; c = c->next) {
		if (!c->established)
			continue;
		/* Pending retries on this uplink: now, with a fresh budget. */
		for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
			struct cl_subflow *sf = &c->subflows[i];
			if (sf->used && sf->ifindex == u->ifindex &&
			    sf->state == CL_SF_RETRY_WAIT) {
				sf->retry_at = ctx->now;
				sf->attempts = 0;
			}
		}
		cl_fill(ctx, c, u, why);
	}
}

const struct cl_policy_ops cl_policy_spread = {
	.name = "spread",
	.conn_established = on_established,
	.addr_announced = on_announced,
	.addr_attrs = on_attrs,
	.subflow_closed = on_subflow_closed,
	.uplink_up = on_uplink_up,
	.uplink_down = on_uplink_down,
};
