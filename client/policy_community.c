// SPDX-License-Identifier: MIT
/*
 * "community" policy unit (draft-duchene-mptcp-add-addr-00 §2.4): addresses
 * in one community share fate (the IPv4 and IPv6 address of one interface),
 * so a second subflow into the same community adds little diversity. Admit a
 * subflow only while its address's community has fewer than
 * community_subflows (default 1) live subflows; filling tries uplinks with
 * fewer subflows first, so the subflows also leave by distinct uplinks. An
 * address without attributes is a community of its own. The draft's example
 * (two interfaces, IPv4 + IPv6 on each) gets 2 subflows instead of 4.
 */
#include <stdio.h>

#include "client/model.h"

static bool community_admit(struct cl_ctx *ctx, struct cl_conn *c, struct cl_uplink *u,
			    struct cl_remote *r, char *why, size_t len)
{
	int key = cl_community_key(r);
	unsigned n = 0;
	const struct cl_subflow *by = NULL;
	(void)u;
	for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
		const struct cl_subflow *sf = &c->subflows[i];
		struct cl_remote *sr;
		if (!sf->used || sf->state == CL_SF_CLOSED || !(sr = cl_subflow_remote(c, sf)))
			continue;
		if (cl_community_key(sr) == key) {
			n++;
			by = sf;
		}
	}
	if (n < ctx->cfg.community_subflows)
		return true;
	char ip[64];
	if (key < 256)
		snprintf(why, len, "community: community %d already has %u subflow(s) (to %s)", key, n,
			 mptcp_pm_nl_inaddr_str(by->family, &by->raddr, ip, sizeof(ip)));
	else
		snprintf(why, len, "community: address already has %u subflow(s) and no community attribute", n);
	return false;
}

const struct cl_policy_ops cl_policy_community = {
	.name = "community",
	.needs_attrs = true,
	.admit = community_admit,
};
