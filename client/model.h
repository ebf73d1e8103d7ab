/* SPDX-License-Identifier: MIT */
/*
 * mplb client: the daemon's model of local uplinks, MPTCP connections, the
 * peer's addresses and our subflows, plus the core that executes policy
 * decisions (SUBFLOW_CREATE/DESTROY through an executor, retries with
 * backoff, a decision log). The core knows nothing about sockets, so unit
 * tests drive it with a fake executor and a fake clock.
 */
#ifndef MPLB_CLIENT_MODEL_H
#define MPLB_CLIENT_MODEL_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "mptcp_pm_nl.h"

#define CL_MAX_UPLINKS 16
#define CL_MAX_REMOTES 16
#define CL_MAX_SUBFLOWS 32	/* per connection, closed ones included */
#define CL_MAX_LOCAL_IDS 255
#define CL_DECISIONS 64		/* decision log ring */

/* A local interface that can carry subflows. */
struct cl_uplink {
	bool used;
	int ifindex;
	char name[IF_NAMESIZE];
	bool oper_up;		/* IFF_UP and IFF_RUNNING */
	bool allowed;		/* not excluded (lo, config allow-list) */
	bool has_v4, has_v6;	/* first global, non-tentative address per family */
	struct in_addr v4;
	struct in6_addr v6;
	double up_since;	/* when it last became usable, for timing logs */
};

/* A remote address of a connection: the initial one (id 0) or announced. */
struct cl_remote {
	bool used;
	uint8_t id;
	int family;
	union mptcp_pm_nl_inaddr addr;
	uint16_t port;
	bool initial;
	bool removed;		/* the peer sent RM_ADDR */
};

enum cl_sf_state {
	CL_SF_CONNECTING,	/* SUBFLOW_CREATE accepted, no SUB_ESTABLISHED yet */
	CL_SF_ESTABLISHED,
	CL_SF_RETRY_WAIT,	/* failed; retry at retry_at */
	CL_SF_CLOSED,		/* closed for good (gave up, uplink down, removed) */
};

struct cl_subflow {
	bool used;
	bool initial;		/* the connection's first subflow (not ours) */
	int family;
	union mptcp_pm_nl_inaddr laddr, raddr;
	uint16_t lport, rport;
	uint8_t loc_id, rem_id;
	int ifindex;		/* uplink */
	enum cl_sf_state state;
	bool closing_by_us;	/* we sent SUBFLOW_DESTROY */
	unsigned attempts;	/* consecutive failed attempts */
	double retry_at;
	int last_error;		/* errno of the last failure, 0 if none */
	double created_at, established_at;
};

struct cl_conn {
	struct cl_conn *next;
	uint32_t token;
	int family;
	union mptcp_pm_nl_inaddr laddr, raddr;
	uint16_t lport, rport;
	bool established;
	bool deny_join_id0;	/* the peer set the C bit */
	struct cl_remote remotes[CL_MAX_REMOTES];
	struct cl_subflow subflows[CL_MAX_SUBFLOWS];
};

struct cl_decision {
	double time;
	uint32_t token;
	char text[200];
};

struct cl_config {
	unsigned max_subflows;	     /* additional subflows per connection */
	unsigned retry_max;	     /* attempts after a failure, per subflow */
	unsigned retry_base_ms;	     /* first backoff, doubled each attempt */
	unsigned retry_cap_ms;	     /* backoff ceiling */
	char uplinks[CL_MAX_UPLINKS][IF_NAMESIZE]; /* allow-list, empty = all */
	unsigned n_uplinks;
	char policy[32];
};

struct cl_ctx;

/* What the core needs from the kernel; the daemon wires these to netlink. */
struct cl_executor {
	int (*subflow_create)(struct cl_ctx *ctx, uint32_t token,
			      const struct mptcp_pm_nl_addr *local,
			      const struct mptcp_pm_nl_addr *remote);
	int (*subflow_destroy)(struct cl_ctx *ctx, uint32_t token,
			       const struct mptcp_pm_nl_addr *local,
			       const struct mptcp_pm_nl_addr *remote);
	/*
	 * Would a subflow from local (bound to u) reach remote through u?
	 * Without a route the kernel "assumes on-link" for a device-bound
	 * socket and the SYN dies in ARP, so the core waits for the route.
	 * NULL = assume yes.
	 */
	bool (*route_ok)(struct cl_ctx *ctx, const struct cl_uplink *u,
			 const struct mptcp_pm_nl_addr *local,
			 const struct mptcp_pm_nl_addr *remote);
	/* A log line (decision or event). */
	void (*log)(struct cl_ctx *ctx, const char *kind, uint32_t token,
		    const char *text);
	void *data;
};

/*
 * A policy: one callback per event, mptcpd-plugin style. Each may be NULL.
 * Policies act only through the cl_* actions below, so several can be
 * stacked later (make-after-break, priorities, communities).
 */
struct cl_policy_ops {
	const char *name;
	void (*conn_established)(struct cl_ctx *ctx, struct cl_conn *c);
	void (*conn_closed)(struct cl_ctx *ctx, struct cl_conn *c);
	void (*addr_announced)(struct cl_ctx *ctx, struct cl_conn *c,
			       struct cl_remote *r);
	void (*addr_removed)(struct cl_ctx *ctx, struct cl_conn *c,
			     struct cl_remote *r);
	void (*subflow_established)(struct cl_ctx *ctx, struct cl_conn *c,
				    struct cl_subflow *sf);
	/* error: sk_err of the subflow (0 = orderly close). */
	void (*subflow_closed)(struct cl_ctx *ctx, struct cl_conn *c,
			       struct cl_subflow *sf, int error);
	void (*uplink_up)(struct cl_ctx *ctx, struct cl_uplink *u);
	void (*uplink_down)(struct cl_ctx *ctx, struct cl_uplink *u);
};

struct cl_ctx {
	struct cl_config cfg;
	const struct cl_policy_ops *policy;
	struct cl_executor exec;
	double now;			/* set by the loop before each call */
	struct cl_uplink uplinks[CL_MAX_UPLINKS];
	struct cl_conn *conns;
	/* Stable local address ids: the kernel wants one id per address. */
	struct {
		int family;
		union mptcp_pm_nl_inaddr addr;
	} ids[CL_MAX_LOCAL_IDS + 1];
	struct cl_decision decisions[CL_DECISIONS];
	unsigned n_decisions;		/* total ever; ring index = n % CL_DECISIONS */
	bool dirty;			/* state changed since the last save */
};

void cl_config_defaults(struct cl_config *cfg);
void cl_ctx_init(struct cl_ctx *ctx, const struct cl_config *cfg,
		 const struct cl_policy_ops *policy,
		 const struct cl_executor *exec);
void cl_ctx_free(struct cl_ctx *ctx);
/* Policy by name ("spread"), NULL if unknown. */
const struct cl_policy_ops *cl_policy_find(const char *name);

/* ---- inputs from the event loop (kernel events, interface changes) ---- */
void cl_on_pm_event(struct cl_ctx *ctx, const struct mptcp_pm_nl_event *ev);
/* Interface state after any rtnetlink change (or the initial dump). */
void cl_uplink_update(struct cl_ctx *ctx, int ifindex, const char *name,
		      bool oper_up);
void cl_uplink_addr(struct cl_ctx *ctx, int ifindex, int family,
		    const void *addr, bool add);
void cl_uplink_gone(struct cl_ctx *ctx, int ifindex);
/* A route appeared: subflows waiting for one are retried now. */
void cl_routes_changed(struct cl_ctx *ctx);
/* Run due retries; returns seconds until the next one (-1 = none). */
double cl_tick(struct cl_ctx *ctx);

/* ---- actions for policies ---- */
bool cl_uplink_usable(const struct cl_uplink *u, int family);
struct cl_uplink *cl_uplink_by_ifindex(struct cl_ctx *ctx, int ifindex);
/* Does c have a live (connecting/established/retrying) subflow u -> r? */
struct cl_subflow *cl_subflow_find(struct cl_conn *c, const struct cl_uplink *u,
				   const struct cl_remote *r);
unsigned cl_conn_extra_subflows(const struct cl_conn *c);
/* May c get subflows to r at all (family, C bit, removed)? */
bool cl_remote_usable(const struct cl_conn *c, const struct cl_remote *r);
/* Open a subflow u -> r now; reason goes to the decision log. 0 or -errno. */
int cl_subflow_open(struct cl_ctx *ctx, struct cl_conn *c, struct cl_uplink *u,
		    struct cl_remote *r, const char *reason);
/* Close one of our subflows (SUBFLOW_DESTROY). */
int cl_subflow_close(struct cl_ctx *ctx, struct cl_conn *c,
		     struct cl_subflow *sf, const char *reason);
/* Schedule a retry with backoff; false (and closed for good) when exhausted. */
bool cl_subflow_retry_later(struct cl_ctx *ctx, struct cl_conn *c,
			    struct cl_subflow *sf, const char *why);
/* Record a decision (also logged). */
void cl_decide(struct cl_ctx *ctx, uint32_t token, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

const char *cl_sf_state_name(enum cl_sf_state s);
/* Local id of an address (allocated on first use, stable afterwards). */
uint8_t cl_local_id(struct cl_ctx *ctx, int family,
		    const union mptcp_pm_nl_inaddr *addr);
struct cl_conn *cl_conn_find(struct cl_ctx *ctx, uint32_t token);

extern const struct cl_policy_ops cl_policy_spread;

#endif /* MPLB_CLIENT_MODEL_H */
