// SPDX-License-Identifier: MIT
/* mplb client core: model updates from events, actions for policies. */
#include <errno.h>
#include <stdarg.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "client/model.h"

void cl_config_defaults(struct cl_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_subflows = 8; /* the kernel's own per-connection ceiling */
	cfg->retry_max = 6;
	cfg->retry_base_ms = 100;
	cfg->retry_cap_ms = 5000;
	snprintf(cfg->policy, sizeof(cfg->policy), "spread");
	cfg->wire_attrs = true;
	cfg->attr_wait_ms = 150;
	cfg->community_subflows = 1;
	cfg->withdraw_lost = true;
	cfg->cross_family = CL_CROSS_FALLBACK;
	cfg->cross_family_wait_ms = 150;
	cfg->health_interval_ms = 10;
	cfg->dark_after_ms = 50;
	cfg->probe_wait_ms = 30;
	cfg->idle_probe_ms = 1000;
}

const char *cl_cross_family_name(enum cl_cross_family v)
{
	switch (v) {
	case CL_CROSS_NO: return "no";
	case CL_CROSS_YES: return "yes";
	default: return "fallback";
	}
}

void cl_ctx_init(struct cl_ctx *ctx, const struct cl_config *cfg,
		 const struct cl_policy_ops *policy,
		 const struct cl_executor *exec)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = *cfg;
	ctx->policy = policy;
	ctx->exec = *exec;
	cl_ctx_add_unit(ctx, policy);
}

int cl_ctx_add_unit(struct cl_ctx *ctx, const struct cl_policy_ops *unit)
{
	if (!unit || ctx->n_units >= CL_MAX_UNITS)
		return -1;
	for (unsigned i = 0; i < ctx->n_units; i++)
		if (ctx->units[i] == unit)
			return 0;
	ctx->units[ctx->n_units++] = unit;
	if (unit->needs_attrs)
		ctx->needs_attrs = true;
	if (!ctx->policy)
		ctx->policy = unit;
	return 0;
}

const char *cl_policy_names(const struct cl_ctx *ctx, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < ctx->n_units && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
					ctx->units[i]->name);
	return buf;
}

/* Every event goes to every unit, in order. */
#define DISPATCH(ctx, cb, ...)                                               \
	do {                                                                 \
		for (unsigned _u = 0; _u < (ctx)->n_units; _u++)             \
			if ((ctx)->units[_u]->cb)                            \
				(ctx)->units[_u]->cb((ctx), __VA_ARGS__);    \
	} while (0)

void cl_ctx_free(struct cl_ctx *ctx)
{
	while (ctx->conns) {
		struct cl_conn *c = ctx->conns;
		ctx->conns = c->next;
		free(c);
	}
}

const struct cl_policy_ops *cl_policy_find(const char *name)
{
	static const struct cl_policy_ops *const all[] = {
		&cl_policy_spread, &cl_policy_make_after_break, &cl_policy_make_before_break,
		&cl_policy_priority, &cl_policy_community,
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(all[i]->name, name))
			return all[i];
	return NULL;
}

int cl_policy_resolve(const char *list, const struct cl_policy_ops **units, unsigned max,
		      char *err, size_t errlen)
{
	char buf[256], *save = NULL;
	unsigned n = 0;
	bool spread = false;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
		const struct cl_policy_ops *p = cl_policy_find(t);
		if (!p) {
			snprintf(err, errlen, "unknown policy unit '%s' (known: spread, make-after-break, "
				 "make-before-break, priority, community)", t);
			return -1;
		}
		if (p == &cl_policy_spread) {
			spread = true;
			continue; /* spread fills last, whatever its place in the list */
		}
		if (n + 1 >= max) {
			snprintf(err, errlen, "more than %u policy units", max - 1);
			return -1;
		}
		units[n++] = p;
	}
	(void)spread;
	units[n++] = &cl_policy_spread;
	return (int)n;
}

const char *cl_sf_state_name(enum cl_sf_state s)
{
	switch (s) {
	case CL_SF_CONNECTING: return "connecting";
	case CL_SF_ESTABLISHED: return "established";
	case CL_SF_RETRY_WAIT: return "retry-wait";
	case CL_SF_CLOSED: return "closed";
	}
	return "?";
}

static void logf_(struct cl_ctx *ctx, const char *kind, uint32_t token,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void logf_(struct cl_ctx *ctx, const char *kind, uint32_t token,
		  const char *fmt, ...)
{
	char text[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (ctx->exec.log)
		ctx->exec.log(ctx, kind, token, text);
}

void cl_decide(struct cl_ctx *ctx, uint32_t token, const char *fmt, ...)
{
	struct cl_decision *d = &ctx->decisions[ctx->n_decisions++ % CL_DECISIONS];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->text, sizeof(d->text), fmt, ap);
	va_end(ap);
	d->time = ctx->now;
	d->token = token;
	ctx->dirty = true;
	if (ctx->exec.log)
		ctx->exec.log(ctx, "decision", token, d->text);
}

/* ---- addresses and ids ------------------------------------------------ */

static const char *addr_str(int family, const union mptcp_pm_nl_inaddr *a,
			    char *buf, size_t len)
{
	return mptcp_pm_nl_inaddr_str(family, a, buf, len);
}

/* "10.0.0.1:80" / "[fd00::1]:80" */
static const char *ep_str(int family, const union mptcp_pm_nl_inaddr *a,
			  uint16_t port, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	addr_str(family, a, ip, sizeof(ip));
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
	return buf;
}

static bool uplink_has(const struct cl_uplink *u, int family,
		       const union mptcp_pm_nl_inaddr *a)
{
	if (family == AF_INET)
		return u->has_v4 && u->v4.s_addr == a->v4.s_addr;
	return u->has_v6 && !memcmp(&u->v6, &a->v6, sizeof(u->v6));
}

static struct cl_uplink *uplink_by_addr(struct cl_ctx *ctx, int family,
					const union mptcp_pm_nl_inaddr *a)
{
	for (int i = 0; i < CL_MAX_UPLINKS; i++)
		if (ctx->uplinks[i].used && uplink_has(&ctx->uplinks[i], family, a))
			return &ctx->uplinks[i];
	return NULL;
}

uint8_t cl_local_id(struct cl_ctx *ctx, int family,
		    const union mptcp_pm_nl_inaddr *addr)
{
	int free_id = 0;
	for (int id = 1; id <= CL_MAX_LOCAL_IDS; id++) {
		if (!ctx->ids[id].family) {
			if (!free_id)
				free_id = id;
			continue;
		}
		if (ctx->ids[id].family == family &&
		    mptcp_pm_nl_inaddr_eq(family, &ctx->ids[id].addr, addr))
			return (uint8_t)id;
	}
	if (!free_id) {
		/* All 255 used: recycle an id whose address left every uplink. */
		for (int id = 1; id <= CL_MAX_LOCAL_IDS && !free_id; id++)
			if (!uplink_by_addr(ctx, ctx->ids[id].family, &ctx->ids[id].addr))
				free_id = id;
		if (!free_id)
			return 0;
	}
	ctx->ids[free_id].family = family;
	ctx->ids[free_id].addr = *addr;
	return (uint8_t)free_id;
}

/* ---- uplinks ---------------------------------------------------------- */

struct cl_uplink *cl_uplink_by_ifindex(struct cl_ctx *ctx, int ifindex)
{
	for (int i = 0; i < CL_MAX_UPLINKS; i++)
		if (ctx->uplinks[i].used && ctx->uplinks[i].ifindex == ifindex)
			return &ctx->uplinks[i];
	return NULL;
}

bool cl_uplink_usable(const struct cl_uplink *u, int family)
{
	if (!u || !u->used || !u->allowed || !u->oper_up)
		return false;
	return family == AF_INET ? u->has_v4 : u->has_v6;
}

static bool any_usable(const struct cl_uplink *u)
{
	return cl_uplink_usable(u, AF_INET) || cl_uplink_usable(u, AF_INET6);
}

static bool name_allowed(const struct cl_config *cfg, const char *name)
{
	if (!strcmp(name, "lo"))
		return false;
	if (!cfg->n_uplinks)
		return true;
	for (unsigned i = 0; i < cfg->n_uplinks; i++)
		if (!strcmp(cfg->uplinks[i], name))
			return true;
	return false;
}

/* Tell the policy when an uplink's usability flips. */
static void uplink_transition(struct cl_ctx *ctx, struct cl_uplink *u,
			      bool was_usable)
{
	bool usable = any_usable(u);
	if (usable == was_usable)
		return;
	ctx->dirty = true;
	if (usable) {
		u->up_since = ctx->now;
		u->up_at_start = ctx->startup;
		/* The other family's address may follow: cl_uplink_addr logs it when it does. */
		logf_(ctx, "uplink", 0, "uplink %s up (IPv4 %s, IPv6 %s%s)", u->name,
		      u->has_v4 ? "yes" : "no", u->has_v6 ? "yes" : "no",
		      u->has_v4 && u->has_v6 ? "" : " so far");
		DISPATCH(ctx, uplink_up, u);
	} else {
		logf_(ctx, "uplink", 0, "uplink %s down", u->name);
		DISPATCH(ctx, uplink_down, u);
	}
}

void cl_uplink_update(struct cl_ctx *ctx, int ifindex, const char *name,
		      bool oper_up)
{
	struct cl_uplink *u = cl_uplink_by_ifindex(ctx, ifindex);
	if (!u) {
		for (int i = 0; i < CL_MAX_UPLINKS && !u; i++)
			if (!ctx->uplinks[i].used)
				u = &ctx->uplinks[i];
		if (!u)
			return; /* more interfaces than we track: ignore extras */
		memset(u, 0, sizeof(*u));
		u->used = true;
		u->ifindex = ifindex;
	}
	bool was = any_usable(u);
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->allowed = name_allowed(&ctx->cfg, name);
	u->oper_up = oper_up;
	uplink_transition(ctx, u, was);
}

void cl_uplink_addr(struct cl_ctx *ctx, int ifindex, int family,
		    const void *addr, bool add)
{
	struct cl_uplink *u = cl_uplink_by_ifindex(ctx, ifindex);
	if (!u)
		return;
	bool was = any_usable(u), had_v4 = u->has_v4, had_v6 = u->has_v6;
	if (family == AF_INET) {
		if (add && !u->has_v4) {
			memcpy(&u->v4, addr, 4);
			u->has_v4 = true;
		} else if (!add && u->has_v4 && !memcmp(&u->v4, addr, 4)) {
			u->has_v4 = false;
		}
	} else if (family == AF_INET6) {
		if (add && !u->has_v6) {
			memcpy(&u->v6, addr, 16);
			u->has_v6 = true;
		} else if (!add && u->has_v6 && !memcmp(&u->v6, addr, 16)) {
			u->has_v6 = false;
		}
	}
	ctx->dirty = true;
	if (was && !add && any_usable(u)) {
		/* Lost one family but the other remains: still drop its subflows. */
		DISPATCH(ctx, uplink_down, u);
		DISPATCH(ctx, uplink_up, u);
		return;
	}
	if (!was && add && any_usable(u))
		u->up_since = ctx->now;
	uplink_transition(ctx, u, was);
	if (was && add && (family == AF_INET ? !had_v4 : !had_v6)) {
		char ip[INET6_ADDRSTRLEN];
		inet_ntop(family, addr, ip, sizeof(ip));
		logf_(ctx, "uplink", 0, "uplink %s: %s usable too (%s)", u->name,
		      family == AF_INET ? "IPv4" : "IPv6", ip);
	}
	if (was && add)
		DISPATCH(ctx, uplink_up, u); /* a new family may add subflows */
}

void cl_uplink_gone(struct cl_ctx *ctx, int ifindex)
{
	struct cl_uplink *u = cl_uplink_by_ifindex(ctx, ifindex);
	if (!u)
		return;
	bool was = any_usable(u);
	u->oper_up = false;
	uplink_transition(ctx, u, was);
	u->used = false;
	ctx->dirty = true;
}

/* ---- connections ------------------------------------------------------ */

struct cl_conn *cl_conn_find(struct cl_ctx *ctx, uint32_t token)
{
	for (struct cl_conn *c = ctx->conns; c; c = c->next)
		if (c->token == token)
			return c;
	return NULL;
}

static struct cl_remote *remote_find(struct cl_conn *c, uint8_t id)
{
	for (int i = 0; i < CL_MAX_REMOTES; i++)
		if (c->remotes[i].used && c->remotes[i].id == id)
			return &c->remotes[i];
	return NULL;
}

static struct cl_remote *remote_add(struct cl_conn *c, uint8_t id)
{
	struct cl_remote *r = remote_find(c, id);
	for (int i = 0; i < CL_MAX_REMOTES && !r; i++)
		if (!c->remotes[i].used)
			r = &c->remotes[i];
	if (!r)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->used = true;
	r->id = id;
	return r;
}

/* ---- attributes --------------------------------------------------------- */

const char *cl_attr_str(const struct cl_attr *a, char *buf, size_t len)
{
	static const char *const src[] = {"none", "config", "wire", "wire-draft"};
	if (!a->source) {
		snprintf(buf, len, "no attributes");
		return buf;
	}
	snprintf(buf, len, "prio %u, community %u%s, %s", a->prio, a->community,
		 a->backup ? ", backup" : "", src[a->source & 3]);
	return buf;
}

int cl_remote_rank(const struct cl_remote *r)
{
	if (!r->attr.source)
		return 8; /* the draft's legacy peer: not a backup, priority 0 */
	return (r->attr.backup ? 0 : 8) + r->attr.prio;
}

int cl_community_key(const struct cl_remote *r)
{
	/* Community 0 is none: the address is a community of its own (as without attributes). */
	return r->attr.source && r->attr.community ? r->attr.community : 256 + r->id;
}

static struct cl_attr attr_from_octet(uint8_t octet, uint8_t source)
{
	struct cl_attr a = {.source = source,
			    .backup = addr_attr_backup(octet) != 0,
			    .prio = (uint8_t)addr_attr_prio(octet),
			    .community = (uint8_t)addr_attr_community(octet)};
	return a;
}

static bool attr_same(const struct cl_attr *a, const struct cl_attr *b)
{
	return a->source == b->source && a->backup == b->backup && a->prio == b->prio &&
	       a->community == b->community;
}

/* The config's stand-in for r's address, if any. */
static void attr_static(const struct cl_ctx *ctx, struct cl_remote *r)
{
	for (unsigned i = 0; i < ctx->cfg.n_static_attrs; i++) {
		const struct cl_static_attr *st = &ctx->cfg.static_attrs[i];
		if (st->family == r->family && mptcp_pm_nl_inaddr_eq(r->family, &st->addr, &r->addr)) {
			r->attr = st->attr;
			r->attr.source = CL_ATTR_CONFIG;
			return;
		}
	}
}

/* Does the peer have an address of the connection's own family we may join? */
static bool same_family_usable(const struct cl_conn *c)
{
	for (int i = 0; i < CL_MAX_REMOTES; i++) {
		const struct cl_remote *r = &c->remotes[i];
		if (r->used && !r->removed && r->family == c->family &&
		    !(r->initial && c->deny_join_id0))
			return true;
	}
	return false;
}

/*
 * Remotes of another family: a dual-stack (IPv6, not v6-only) MPTCP socket
 * may carry IPv4 subflows, which the kernel allows; an IPv4 socket cannot
 * carry IPv6 ones. cross_family says when to use them: never, always, or
 * (fallback) while the peer offers nothing joinable of the connection's own
 * family, e.g. a port-scheme server whose IPv6 ADD_ADDR with a port was
 * dropped for lack of option space. An IPv4 address still held for an IPv6
 * announcement that may follow it is not used yet.
 */
const char *cl_remote_family_refusal(const struct cl_ctx *ctx, const struct cl_conn *c,
				     const struct cl_remote *r)
{
	if (r->family == c->family)
		return "";
	if (c->family != AF_INET6)
		return "an IPv4 connection cannot carry IPv6 subflows";
	switch (ctx ? ctx->cfg.cross_family : CL_CROSS_NO) {
	case CL_CROSS_YES:
		return "";
	case CL_CROSS_NO:
		return "IPv4 address on an IPv6 connection (cross_family = no)";
	default:
		if (same_family_usable(c))
			return "the peer has a usable IPv6 address (cross_family = fallback)";
		if (r->cross_deadline)
			return "waiting for an IPv6 announcement (cross_family = fallback)";
		return "";
	}
}

static bool family_ok(const struct cl_ctx *ctx, const struct cl_conn *c,
		      const struct cl_remote *r)
{
	return !cl_remote_family_refusal(ctx, c, r)[0];
}

bool cl_remote_usable(const struct cl_ctx *ctx, const struct cl_conn *c,
		      const struct cl_remote *r)
{
	if (!r->used || r->removed)
		return false;
	if (!family_ok(ctx, c, r))
		return false;
	if (r->initial && c->deny_join_id0)
		return false; /* RFC 8684 C bit: MUST NOT join the initial addr/port */
	return true;
}

static bool sf_live(const struct cl_subflow *sf)
{
	return sf->used && sf->state != CL_SF_CLOSED;
}

static bool sf_to(const struct cl_subflow *sf, const struct cl_remote *r)
{
	return sf->family == r->family && sf->rport == r->port &&
	       mptcp_pm_nl_inaddr_eq(r->family, &sf->raddr, &r->addr);
}

static bool sf_from(const struct cl_subflow *sf, const struct cl_uplink *u)
{
	return sf->ifindex == u->ifindex || uplink_has(u, sf->family, &sf->laddr);
}

struct cl_subflow *cl_subflow_find(struct cl_conn *c, const struct cl_uplink *u,
				   const struct cl_remote *r)
{
	for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
		struct cl_subflow *sf = &c->subflows[i];
		if (sf_live(sf) && sf_to(sf, r) && sf_from(sf, u))
			return sf;
	}
	return NULL;
}

unsigned cl_conn_live_subflows(const struct cl_conn *c)
{
	unsigned n = 0;
	for (int i = 0; i < CL_MAX_SUBFLOWS; i++)
		if (sf_live(&c->subflows[i]))
			n++;
	return n;
}

struct cl_remote *cl_subflow_remote(struct cl_conn *c, const struct cl_subflow *sf)
{
	for (int i = 0; i < CL_MAX_REMOTES; i++)
		if (c->remotes[i].used && sf_to(sf, &c->remotes[i]))
			return &c->remotes[i];
	/* The initial subflow's remote is id 0 even if announced again under another id. */
	if (sf->initial)
		for (int i = 0; i < CL_MAX_REMOTES; i++)
			if (c->remotes[i].used && c->remotes[i].initial)
				return &c->remotes[i];
	return NULL;
}

unsigned cl_conn_extra_subflows(const struct cl_conn *c)
{
	unsigned n = 0;
	for (int i = 0; i < CL_MAX_SUBFLOWS; i++)
		if (sf_live(&c->subflows[i]) && !c->subflows[i].initial)
			n++;
	return n;
}

/* An entry for u -> r: the existing one (any state) or a fresh slot. */
static struct cl_subflow *sf_slot(struct cl_conn *c, const struct cl_uplink *u,
				  const struct cl_remote *r)
{
	struct cl_subflow *free_sf = NULL, *oldest_closed = NULL;
	for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
		struct cl_subflow *sf = &c->subflows[i];
		if (!sf->used) {
			if (!free_sf)
				free_sf = sf;
			continue;
		}
		if (!sf->initial && sf_to(sf, r) && sf_from(sf, u))
			return sf;
		if (sf->state == CL_SF_CLOSED && !sf->initial &&
		    (!oldest_closed || sf->created_at < oldest_closed->created_at))
			oldest_closed = sf;
	}
	struct cl_subflow *sf = free_sf ? free_sf : oldest_closed;
	if (sf)
		memset(sf, 0, sizeof(*sf));
	return sf;
}

static void conn_free(struct cl_ctx *ctx, struct cl_conn *c)
{
	for (struct cl_conn **pp = &ctx->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			free(c);
			return;
		}
}

static struct cl_conn *conn_from_event(struct cl_ctx *ctx,
				       const struct mptcp_pm_nl_event *ev)
{
	struct cl_conn *c = cl_conn_find(ctx, ev->token);
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		c->token = ev->token;
		c->bk.target_id = c->bk.standby_id = -1;
		c->bk.lost_community = c->bk.lost_rem_id = -1;
		c->bk.trial_id = c->bk.retire_id = -1;
		c->next = ctx->conns;
		ctx->conns = c;
	}
	c->family = ev->family;
	c->laddr = ev->saddr;
	c->raddr = ev->daddr;
	c->lport = ev->sport;
	c->rport = ev->dport;
	if (ev->flags & MPTCP_PM_EV_FLAG_DENY_JOIN_ID0)
		c->deny_join_id0 = true;

	struct cl_remote *r = remote_find(c, 0);
	bool fresh = !r;
	if (!r)
		r = remote_add(c, 0);
	if (r) {
		r->family = ev->family;
		r->addr = ev->daddr;
		r->port = ev->dport;
		r->initial = true;
		r->told = true; /* the initial address reaches units with conn_established */
		if (fresh)
			attr_static(ctx, r);
	}
	/* The initial subflow is the kernel's, but it occupies its uplink. */
	struct cl_subflow *sf = NULL;
	for (int i = 0; i < CL_MAX_SUBFLOWS && !sf; i++)
		if (c->subflows[i].used && c->subflows[i].initial)
			sf = &c->subflows[i];
	for (int i = 0; i < CL_MAX_SUBFLOWS && !sf; i++)
		if (!c->subflows[i].used)
			sf = &c->subflows[i];
	if (sf) {
		struct cl_uplink *u = uplink_by_addr(ctx, ev->family, &ev->saddr);
		memset(sf, 0, sizeof(*sf));
		sf->used = sf->initial = true;
		sf->family = ev->family;
		sf->laddr = ev->saddr;
		sf->raddr = ev->daddr;
		sf->lport = ev->sport;
		sf->rport = ev->dport;
		sf->ifindex = u ? u->ifindex : ev->ifindex;
		sf->state = CL_SF_ESTABLISHED;
		sf->created_at = sf->established_at = ctx->now;
	}
	ctx->dirty = true;
	return c;
}

static struct cl_subflow *sf_from_event(struct cl_conn *c,
					const struct mptcp_pm_nl_event *ev)
{
	struct cl_subflow *best = NULL;
	for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
		struct cl_subflow *sf = &c->subflows[i];
		if (!sf->used || sf->family != ev->family ||
		    !mptcp_pm_nl_inaddr_eq(ev->family, &sf->laddr, &ev->saddr) ||
		    !mptcp_pm_nl_inaddr_eq(ev->family, &sf->raddr, &ev->daddr) ||
		    sf->rport != ev->dport)
			continue;
		if (sf->lport && ev->sport && sf->lport != ev->sport)
			continue;
		/* Prefer the entry still in play over an old closed one. */
		if (!best || (best->state == CL_SF_CLOSED && sf->state != CL_SF_CLOSED))
			best = sf;
	}
	return best;
}

static const char *uplink_name(struct cl_ctx *ctx, int ifindex)
{
	struct cl_uplink *u = cl_uplink_by_ifindex(ctx, ifindex);
	return u ? u->name : "?";
}

/* ---- wire attributes ------------------------------------------------------ */

/* Tell units about an announced address (now that its attributes are settled). */
static void announce_to_units(struct cl_ctx *ctx, struct cl_conn *c, struct cl_remote *r)
{
	r->attr_deadline = 0;
	/* Before ESTABLISHED the units hear of it right after conn_established;
	 * a cross-family address still held, when its hold ends. */
	if (r->told || !c->established || r->cross_deadline)
		return;
	r->told = true;
	DISPATCH(ctx, addr_announced, c, r);
}

/* r got attributes (wire or config): record, and wake whoever waits for them. */
static void remote_set_attr(struct cl_ctx *ctx, struct cl_conn *c, struct cl_remote *r,
			    const struct cl_attr *a)
{
	char buf[80], ip[64];
	/* The wire wins over the config stand-in, never the other way round. */
	if (a->source == CL_ATTR_CONFIG && r->attr.source >= CL_ATTR_WIRE)
		return;
	if (attr_same(&r->attr, a)) {
		if (r->attr_deadline)
			announce_to_units(ctx, c, r);
		return;
	}
	bool had = r->attr.source != CL_ATTR_NONE;
	r->attr = *a;
	ctx->dirty = true;
	if (had)
		ctx->attr_stats.changed++;
	logf_(ctx, "attributes", c->token, "conn 0x%08x address id %u %s: %s", c->token, r->id,
	      mptcp_pm_nl_inaddr_str(r->family, &r->addr, ip, sizeof(ip)),
	      cl_attr_str(&r->attr, buf, sizeof(buf)));
	if (r->attr_deadline) {
		announce_to_units(ctx, c, r);
		return;
	}
	if (r->told && c->established)
		DISPATCH(ctx, addr_attrs, c, r);
}

static bool conn_has_tuple(const struct cl_conn *c, int family,
			   const union mptcp_pm_nl_inaddr *peer, const union mptcp_pm_nl_inaddr *us,
			   uint16_t peer_port, uint16_t our_port)
{
	for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
		const struct cl_subflow *sf = &c->subflows[i];
		if (sf->used && sf->family == family && sf->rport == peer_port &&
		    sf->lport == our_port && mptcp_pm_nl_inaddr_eq(family, &sf->raddr, peer) &&
		    mptcp_pm_nl_inaddr_eq(family, &sf->laddr, us))
			return true;
	}
	return false;
}

static void conn_take_attr(struct cl_ctx *ctx, struct cl_conn *c, uint8_t id,
			   const struct cl_attr *a)
{
	struct cl_remote *r = remote_find(c, id);
	c->peer_attrs = true;
	if (r) {
		ctx->attr_stats.applied++;
		remote_set_attr(ctx, c, r, a);
		return;
	}
	/* Before ANNOUNCED (the v6 carrier, or the event not read yet): hold it. */
	int slot = -1;
	for (int i = 0; i < CL_MAX_REMOTES; i++) {
		if (c->early[i].used && c->early[i].id == id) {
			slot = i;
			break;
		}
		if (slot < 0 && !c->early[i].used)
			slot = i;
	}
	if (slot < 0)
		return;
	c->early[slot].used = true;
	c->early[slot].id = id;
	c->early[slot].attr = *a;
	ctx->attr_stats.early++;
}

void cl_on_attr(struct cl_ctx *ctx, uint32_t token, int family,
		const union mptcp_pm_nl_inaddr *saddr, const union mptcp_pm_nl_inaddr *daddr,
		uint16_t sport, uint16_t dport, uint8_t id, uint8_t octet, uint8_t source)
{
	struct cl_attr a = attr_from_octet(octet, source);
	struct cl_conn *c = token ? cl_conn_find(ctx, token) : NULL;

	ctx->attr_stats.pairs++;
	for (struct cl_conn *k = ctx->conns; k && !c && !token; k = k->next)
		if (conn_has_tuple(k, family, saddr, daddr, sport, dport))
			c = k;
	if (c) {
		conn_take_attr(ctx, c, id, &a);
		return;
	}
	/* No connection yet (the SYN/ACK's id 0 precedes CREATED): keep it a while. */
	int slot = 0;
	for (int i = 0; i < CL_MAX_ORPHANS; i++) {
		if (!ctx->orphans[i].used) {
			slot = i;
			break;
		}
		if (ctx->orphans[i].at < ctx->orphans[slot].at)
			slot = i;
	}
	struct cl_orphan *o = &ctx->orphans[slot];
	if (o->used)
		ctx->attr_stats.expired++;
	memset(o, 0, sizeof(*o));
	o->used = true;
	o->at = ctx->now;
	o->token = token;
	o->family = family;
	o->saddr = *saddr;
	o->daddr = *daddr;
	o->sport = sport;
	o->dport = dport;
	o->id = id;
	o->attr = a;
	ctx->attr_stats.orphaned++;
}

/* A connection appeared or learnt its tuple: claim the attributes held for it. */
static void claim_orphans(struct cl_ctx *ctx, struct cl_conn *c)
{
	for (int i = 0; i < CL_MAX_ORPHANS; i++) {
		struct cl_orphan *o = &ctx->orphans[i];
		if (!o->used)
			continue;
		if (o->token ? o->token != c->token
			     : !conn_has_tuple(c, o->family, &o->saddr, &o->daddr, o->sport, o->dport))
			continue;
		o->used = false;
		conn_take_attr(ctx, c, o->id, &o->attr);
	}
}

/* Orphans nobody claimed within 5 s are dropped (counted). */
static void expire_orphans(struct cl_ctx *ctx)
{
	for (int i = 0; i < CL_MAX_ORPHANS; i++)
		if (ctx->orphans[i].used && ctx->now - ctx->orphans[i].at > 5.0) {
			ctx->orphans[i].used = false;
			ctx->attr_stats.expired++;
		}
}

/* ---- kernel events ---------------------------------------------------------- */

void cl_on_pm_event(struct cl_ctx *ctx, const struct mptcp_pm_nl_event *ev)
{
	char a[64], b[64];
	struct cl_conn *c;
	struct cl_remote *r;
	struct cl_subflow *sf;

	switch (ev->type) {
	case MPTCP_EVENT_CREATED:
	case MPTCP_EVENT_ESTABLISHED:
		if (ev->server_side)
			return; /* we only steer connections we opened */
		c = conn_from_event(ctx, ev);
		if (!c)
			return;
		claim_orphans(ctx, c);
		if (ev->type == MPTCP_EVENT_CREATED)
			return;
		c->established = true;
		logf_(ctx, "conn", c->token, "conn 0x%08x established %s -> %s%s",
		      c->token, ep_str(c->family, &c->laddr, c->lport, a, sizeof(a)),
		      ep_str(c->family, &c->raddr, c->rport, b, sizeof(b)),
		      c->deny_join_id0 ? " (deny-join-id0)" : "");
		DISPATCH(ctx, conn_established, c);
		/* Addresses announced before ESTABLISHED whose attributes are settled. */
		for (int i = 0; i < CL_MAX_REMOTES; i++) {
			r = &c->remotes[i];
			if (r->used && !r->initial && !r->told && !r->attr_deadline &&
			    !r->cross_deadline)
				announce_to_units(ctx, c, r);
		}
		return;
	case MPTCP_EVENT_CLOSED:
		c = cl_conn_find(ctx, ev->token);
		if (!c)
			return;
		logf_(ctx, "conn", c->token, "conn 0x%08x closed", c->token);
		DISPATCH(ctx, conn_closed, c);
		conn_free(ctx, c);
		ctx->dirty = true;
		return;
	case MPTCP_EVENT_ANNOUNCED:
		c = cl_conn_find(ctx, ev->token);
		if (!c || !ev->has_daddr || !ev->has_rem_id)
			return;
		r = remote_find(c, ev->rem_id);
		/* ADD_ADDR is retransmitted until echoed: ignore repeats. */
		if (r && !r->removed && r->family == ev->family &&
		    mptcp_pm_nl_inaddr_eq(ev->family, &r->addr, &ev->daddr) &&
		    r->port == (ev->has_dport && ev->dport ? ev->dport : c->rport))
			return;
		r = remote_add(c, ev->rem_id);
		if (!r)
			return;
		r->family = ev->family;
		r->addr = ev->daddr;
		/* No port in ADD_ADDR means the connection's remote port. */
		r->port = ev->has_dport && ev->dport ? ev->dport : c->rport;
		ctx->dirty = true;
		attr_static(ctx, r);
		for (int i = 0; i < CL_MAX_REMOTES; i++)
			if (c->early[i].used && c->early[i].id == r->id) {
				c->early[i].used = false;
				r->attr = c->early[i].attr;
				ctx->attr_stats.applied++;
			}
		{
			char ab[80];
			logf_(ctx, "announced", c->token, "conn 0x%08x peer announced id %u %s (%s)",
			      c->token, r->id, ep_str(r->family, &r->addr, r->port, a, sizeof(a)),
			      cl_attr_str(&r->attr, ab, sizeof(ab)));
		}
		/*
		 * cross_family = fallback: the in-kernel PM of the server sends
		 * its next ADD_ADDR once this one is echoed, so an IPv6 address
		 * may be a round trip behind this IPv4 one. Hold the IPv4
		 * address so that the units do not open subflows to it that an
		 * IPv6 announcement would have made unnecessary.
		 */
		if (ctx->cfg.cross_family == CL_CROSS_FALLBACK && ctx->cfg.cross_family_wait_ms &&
		    c->family == AF_INET6 && r->family == AF_INET && !same_family_usable(c)) {
			r->cross_deadline = ctx->now + ctx->cfg.cross_family_wait_ms / 1000.0;
			cl_decide(ctx, c->token,
				  "holding announced %s up to %u ms: IPv4 on an IPv6 connection, used only if no IPv6 address comes",
				  ep_str(r->family, &r->addr, r->port, a, sizeof(a)),
				  ctx->cfg.cross_family_wait_ms);
		}
		/*
		 * Units that decide by attributes wait a little for the wire's
		 * (an IPv6 ADD_ADDR's travel on the next segment) unless known.
		 */
		if (ctx->needs_attrs && ctx->cfg.wire_attrs && ctx->cfg.attr_wait_ms &&
		    r->attr.source < CL_ATTR_WIRE) {
			r->attr_deadline = ctx->now + ctx->cfg.attr_wait_ms / 1000.0;
			return;
		}
		announce_to_units(ctx, c, r);
		return;
	case MPTCP_EVENT_REMOVED:
		c = cl_conn_find(ctx, ev->token);
		if (!c || !ev->has_rem_id || !(r = remote_find(c, ev->rem_id)))
			return;
		r->removed = true;
		ctx->dirty = true;
		logf_(ctx, "removed", c->token, "conn 0x%08x peer removed id %u",
		      c->token, r->id);
		DISPATCH(ctx, addr_removed, c, r);
		return;
	case MPTCP_EVENT_SUB_ESTABLISHED:
		c = cl_conn_find(ctx, ev->token);
		if (!c)
			return;
		sf = sf_from_event(c, ev);
		if (!sf) {
			/* Not ours (e.g. opened by the peer): track it anyway. */
			for (int i = 0; i < CL_MAX_SUBFLOWS && !sf; i++)
				if (!c->subflows[i].used)
					sf = &c->subflows[i];
			if (!sf)
				return;
			memset(sf, 0, sizeof(*sf));
			sf->used = true;
			sf->family = ev->family;
			sf->laddr = ev->saddr;
			sf->raddr = ev->daddr;
			sf->rport = ev->dport;
			sf->created_at = ctx->now;
		}
		if (sf->state == CL_SF_CLOSED && sf->close_when_up) {
			/* Closed while its SYN was out: now it has a port, close it for real. */
			sf->close_when_up = false;
			sf->lport = ev->sport;
			sf->loc_id = ev->loc_id;
			sf->state = CL_SF_ESTABLISHED;
			cl_subflow_close(ctx, c, sf, "it was closed while connecting");
			return;
		}
		sf->lport = ev->sport;
		sf->loc_id = ev->loc_id;
		sf->rem_id = ev->rem_id;
		sf->peer_backup = ev->backup;
		if (!sf->ifindex) {
			struct cl_uplink *u = uplink_by_addr(ctx, ev->family, &ev->saddr);
			sf->ifindex = u ? u->ifindex : ev->ifindex;
		}
		sf->state = CL_SF_ESTABLISHED;
		sf->attempts = 0;
		sf->last_error = 0;
		sf->peer_closed = sf->gave_up = false;
		sf->established_at = ctx->now;
		ctx->dirty = true;
		{
			struct cl_uplink *u = cl_uplink_by_ifindex(ctx, sf->ifindex);
			char when[64] = "";
			/* Time from the uplink coming up, only when that was an event we saw. */
			if (u && !u->up_at_start)
				snprintf(when, sizeof(when), " (%.3f s after uplink %s came up)",
					 ctx->now - u->up_since, u->name);
			logf_(ctx, "subflow", c->token,
			      "conn 0x%08x subflow established %s %s -> %s%s%s",
			      c->token, uplink_name(ctx, sf->ifindex),
			      ep_str(sf->family, &sf->laddr, sf->lport, a, sizeof(a)),
			      ep_str(sf->family, &sf->raddr, sf->rport, b, sizeof(b)),
			      sf->backup ? " backup" : "", when);
		}
		claim_orphans(ctx, c); /* attributes seen on this subflow before we knew its port */
		DISPATCH(ctx, subflow_established, c, sf);
		return;
	case MPTCP_EVENT_SUB_CLOSED:
		c = cl_conn_find(ctx, ev->token);
		if (!c || !(sf = sf_from_event(c, ev)))
			return;
		if (!sf->lport)
			sf->lport = ev->sport;
		logf_(ctx, "subflow", c->token,
		      "conn 0x%08x subflow closed %s %s -> %s%s%s",
		      c->token, uplink_name(ctx, sf->ifindex),
		      ep_str(sf->family, &sf->laddr, sf->lport, a, sizeof(a)),
		      ep_str(sf->family, &sf->raddr, sf->rport, b, sizeof(b)),
		      ev->error ? ": " : "", ev->error ? strerror(ev->error) : "");
		bool was_live = sf->state != CL_SF_CLOSED;
		sf->state = CL_SF_CLOSED;
		if (ev->error)
			sf->last_error = ev->error;
		else if (!sf->closing_by_us && was_live)
			sf->peer_closed = true;
		ctx->dirty = true;
		DISPATCH(ctx, subflow_closed, c, sf, ev->error);
		return;
	default:
		return;
	}
}

/* ---- actions ---------------------------------------------------------- */

static void fill_local(struct cl_ctx *ctx, const struct cl_uplink *u, int family,
		       struct mptcp_pm_nl_addr *l)
{
	memset(l, 0, sizeof(*l));
	l->family = family;
	if (family == AF_INET)
		l->addr.v4 = u->v4;
	else
		l->addr.v6 = u->v6;
	l->id = cl_local_id(ctx, family, &l->addr);
	/* Bound to the device as well as the address: the uplink is chosen even
	 * where source routing is missing. */
	l->ifindex = u->ifindex;
}

static int sf_create(struct cl_ctx *ctx, struct cl_conn *c, struct cl_uplink *u,
		     struct cl_subflow *sf, const char *reason)
{
	struct mptcp_pm_nl_addr l, rem = {0};
	char a[64];

	fill_local(ctx, u, sf->family, &l);
	if (sf->backup)
		l.flags |= MPTCP_PM_ADDR_FLAG_BACKUP; /* MP_JOIN SYN with B set */
	rem.family = sf->family;
	rem.addr = sf->raddr;
	rem.port = sf->rport;
	sf->laddr = l.addr;
	sf->loc_id = l.id;
	sf->ifindex = u->ifindex;
	sf->lport = 0;
	sf->closing_by_us = false;
	sf->created_at = ctx->now;
	ep_str(sf->family, &sf->raddr, sf->rport, a, sizeof(a));
	if (!l.id) {
		sf->state = CL_SF_CLOSED;
		cl_decide(ctx, c->token, "no subflow %s -> %s: no free local address id",
			  u->name, a);
		return -ENOSPC;
	}
	if (ctx->exec.route_ok && !ctx->exec.route_ok(ctx, u, &l, &rem)) {
		sf->last_error = ENETUNREACH;
		sf->state = CL_SF_CLOSED;
		cl_decide(ctx, c->token, "subflow %s \u2192 %s waits: no route from %s via %s yet (%s)",
			  u->name, a, u->name, u->name, reason);
		cl_subflow_retry_later(ctx, c, sf, "no route");
		return -ENETUNREACH;
	}
	int rc = ctx->exec.subflow_create(ctx, c->token, &l, &rem);
	ctx->dirty = true;
	if (rc == 0) {
		sf->state = CL_SF_CONNECTING;
		cl_decide(ctx, c->token, "created subflow %s \u2192 %s: %s%s", u->name, a,
			  reason, sf->backup ? " [backup]" : "");
		return 0;
	}
	sf->last_error = -rc;
	sf->state = CL_SF_CLOSED;
	cl_decide(ctx, c->token, "subflow %s \u2192 %s failed (%s): %s", u->name, a,
		  strerror(-rc), reason);
	cl_subflow_retry_later(ctx, c, sf, strerror(-rc));
	return rc;
}

bool cl_admit(struct cl_ctx *ctx, struct cl_conn *c, struct cl_uplink *u,
	      struct cl_remote *r, char *why, size_t len)
{
	for (unsigned i = 0; i < ctx->n_units; i++)
		if (ctx->units[i]->admit && !ctx->units[i]->admit(ctx, c, u, r, why, len))
			return false;
	return true;
}

bool cl_want_backup(struct cl_ctx *ctx, struct cl_conn *c, struct cl_remote *r)
{
	for (unsigned i = 0; i < ctx->n_units; i++)
		if (ctx->units[i]->backup && ctx->units[i]->backup(ctx, c, r) == 1)
			return true;
	return false;
}

int cl_subflow_open_flag(struct cl_ctx *ctx, struct cl_conn *c, struct cl_uplink *u,
			 struct cl_remote *r, int backup, const char *reason)
{
	char a[64], why[160] = "";
	if (!cl_uplink_usable(u, r->family) || !cl_remote_usable(ctx, c, r))
		return -EINVAL;
	if (cl_subflow_find(c, u, r))
		return -EEXIST;
	ep_str(r->family, &r->addr, r->port, a, sizeof(a));
	if (!cl_admit(ctx, c, u, r, why, sizeof(why))) {
		/* Logged once per reason and address, not on every fill. */
		if (strncmp(r->refused, why, sizeof(r->refused) - 1)) {
			snprintf(r->refused, sizeof(r->refused), "%s", why);
			cl_decide(ctx, c->token, "no subflow %s \u2192 %s: %s", u->name, a, why);
		}
		return -EPERM;
	}
	r->refused[0] = 0;
	if (cl_conn_extra_subflows(c) >= ctx->cfg.max_subflows) {
		cl_decide(ctx, c->token, "no subflow %s \u2192 %s: max_subflows %u reached",
			  u->name, a, ctx->cfg.max_subflows);
		return -ENOSPC;
	}
	struct cl_subflow *sf = sf_slot(c, u, r);
	if (!sf)
		return -ENOSPC;
	bool fresh = !sf->used || sf->state == CL_SF_CLOSED;
	sf->used = true;
	sf->family = r->family;
	sf->raddr = r->addr;
	sf->rport = r->port;
	sf->rem_id = r->id;
	sf->backup = backup < 0 ? cl_want_backup(ctx, c, r) : backup != 0;
	sf->failover = sf->standby = sf->peer_closed = sf->gave_up = false;
	if (fresh)
		sf->attempts = 0; /* a new reason to connect resets the budget */
	return sf_create(ctx, c, u, sf, reason);
}

int cl_subflow_open(struct cl_ctx *ctx, struct cl_conn *c, struct cl_uplink *u,
		    struct cl_remote *r, const char *reason)
{
	return cl_subflow_open_flag(ctx, c, u, r, -1, reason);
}

int cl_subflow_set_backup(struct cl_ctx *ctx, struct cl_conn *c, struct cl_subflow *sf,
			  bool backup, const char *reason)
{
	struct mptcp_pm_nl_addr l = {0}, rem = {0};
	char a[64], b[64];
	int rc;

	if (sf->backup == backup || sf->state != CL_SF_ESTABLISHED)
		return 0;
	if (!ctx->exec.set_backup)
		return -EOPNOTSUPP;
	l.family = rem.family = sf->family;
	l.addr = sf->laddr;
	l.port = sf->lport;
	l.id = sf->loc_id;
	rem.addr = sf->raddr;
	rem.port = sf->rport;
	rc = ctx->exec.set_backup(ctx, c->token, &l, &rem, backup);
	ep_str(sf->family, &sf->laddr, sf->lport, a, sizeof(a));
	ep_str(sf->family, &sf->raddr, sf->rport, b, sizeof(b));
	if (rc) {
		cl_decide(ctx, c->token, "could not mark subflow %s \u2192 %s %s (%s): %s", a, b,
			  backup ? "backup" : "active", strerror(-rc), reason);
		return rc;
	}
	sf->backup = backup;
	ctx->dirty = true;
	cl_decide(ctx, c->token, "marked subflow %s %s \u2192 %s %s (MP_PRIO): %s",
		  uplink_name(ctx, sf->ifindex), a, b, backup ? "backup" : "active", reason);
	return 0;
}

int cl_subflow_nudge(struct cl_ctx *ctx, struct cl_conn *c, struct cl_subflow *sf)
{
	struct mptcp_pm_nl_addr l = {0}, rem = {0};
	if (sf->state != CL_SF_ESTABLISHED || !ctx->exec.set_backup)
		return -EINVAL;
	l.family = rem.family = sf->family;
	l.addr = sf->laddr;
	l.port = sf->lport;
	l.id = sf->loc_id;
	rem.addr = sf->raddr;
	rem.port = sf->rport;
	return ctx->exec.set_backup(ctx, c->token, &l, &rem, sf->backup);
}

void cl_reflag(struct cl_ctx *ctx, struct cl_conn *c, const char *why)
{
	for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
		struct cl_subflow *sf = &c->subflows[i];
		struct cl_remote *r;
		if (!sf->used || sf->state != CL_SF_ESTABLISHED || !(r = cl_subflow_remote(c, sf)))
			continue;
		bool want = cl_want_backup(ctx, c, r);
		if (want != sf->backup)
			cl_subflow_set_backup(ctx, c, sf, want, why);
	}
}

/* ---- filling: the spread unit's engine, shaped by the others' admit() --- */

/* Remotes best first: rank (non-backup, priority), then id. */
static int remote_order(struct cl_conn *c, struct cl_remote **out)
{
	int n = 0;
	for (int i = 0; i < CL_MAX_REMOTES; i++)
		if (c->remotes[i].used)
			out[n++] = &c->remotes[i];
	for (int i = 1; i < n; i++)
		for (int k = i; k > 0; k--) {
			struct cl_remote *x = out[k - 1], *y = out[k];
			int rx = cl_remote_rank(x), ry = cl_remote_rank(y);
			if (rx > ry || (rx == ry && x->id <= y->id))
				break;
			out[k - 1] = y;
			out[k] = x;
		}
	return n;
}

static unsigned live_on_uplink(const struct cl_conn *c, const struct cl_uplink *u)
{
	unsigned n = 0;
	for (int i = 0; i < CL_MAX_SUBFLOWS; i++)
		if (sf_live(&c->subflows[i]) && sf_from(&c->subflows[i], u))
			n++;
	return n;
}

/* Uplinks with fewer of c's subflows first (diversity when units limit the count). */
static int uplink_order(struct cl_ctx *ctx, const struct cl_conn *c, struct cl_uplink **out)
{
	int n = 0;
	unsigned load[CL_MAX_UPLINKS];
	for (int i = 0; i < CL_MAX_UPLINKS; i++)
		if (ctx->uplinks[i].used) {
			load[n] = live_on_uplink(c, &ctx->uplinks[i]);
			out[n++] = &ctx->uplinks[i];
		}
	for (int i = 1; i < n; i++)
		for (int k = i; k > 0 && load[k - 1] > load[k]; k--) {
			unsigned t = load[k - 1];
			struct cl_uplink *x = out[k - 1];
			load[k - 1] = load[k];
			out[k - 1] = out[k];
			load[k] = t;
			out[k] = x;
		}
	return n;
}

/* An entry u -> r that filling must leave alone (closed by the peer, given up). */
static bool sf_left_alone(struct cl_conn *c, const struct cl_uplink *u, const struct cl_remote *r)
{
	for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
		const struct cl_subflow *sf = &c->subflows[i];
		if (sf->used && !sf->initial && sf->state == CL_SF_CLOSED && sf_to(sf, r) &&
		    sf_from(sf, u) && (sf->peer_closed || sf->gave_up))
			return true;
	}
	return false;
}

void cl_fill(struct cl_ctx *ctx, struct cl_conn *c, struct cl_uplink *only, const char *why)
{
	struct cl_remote *rs[CL_MAX_REMOTES];
	struct cl_uplink *us[CL_MAX_UPLINKS];
	char reason[200];

	if (!c->established)
		return;
	int nr = remote_order(c, rs);
	for (int i = 0; i < nr; i++) {
		struct cl_remote *r = rs[i];
		if (!cl_remote_usable(ctx, c, r) || (!r->initial && !r->told))
			continue;
		int nu = uplink_order(ctx, c, us);
		for (int k = 0; k < nu; k++) {
			struct cl_uplink *u = us[k];
			if (only && u != only)
				continue;
			if (!cl_uplink_usable(u, r->family) || cl_subflow_find(c, u, r))
				continue;
			/* Re-open what the peer closed or retries gave up on only when the uplink returns. */
			if (!only && sf_left_alone(c, u, r))
				continue;
			snprintf(reason, sizeof(reason), "%s, uplink %s had none",
				 why ? why : r->initial ? "initial address" : "announced address", u->name);
			cl_subflow_open(ctx, c, u, r, reason);
		}
	}
}

int cl_subflow_close(struct cl_ctx *ctx, struct cl_conn *c,
		     struct cl_subflow *sf, const char *reason)
{
	char a[64], b[64];
	int rc = 0;
	ep_str(sf->family, &sf->laddr, sf->lport, a, sizeof(a));
	ep_str(sf->family, &sf->raddr, sf->rport, b, sizeof(b));
	if (sf->state == CL_SF_ESTABLISHED && sf->lport) {
		struct mptcp_pm_nl_addr l = {0}, rem = {0};
		l.family = rem.family = sf->family;
		l.addr = sf->laddr;
		l.port = sf->lport;
		rem.addr = sf->raddr;
		rem.port = sf->rport;
		sf->closing_by_us = true;
		rc = ctx->exec.subflow_destroy(ctx, c->token, &l, &rem);
	} else if (sf->state == CL_SF_CONNECTING) {
		/* No port to name it by yet: it is destroyed when it comes up. */
		sf->close_when_up = true;
	}
	sf->state = CL_SF_CLOSED;
	ctx->dirty = true;
	cl_decide(ctx, c->token, "closed subflow %s %s \u2192 %s: %s%s%s",
		  uplink_name(ctx, sf->ifindex), a, b, reason,
		  rc ? ", destroy failed: " : "", rc ? strerror(-rc) : "");
	return rc;
}

bool cl_subflow_retry_later(struct cl_ctx *ctx, struct cl_conn *c,
			    struct cl_subflow *sf, const char *why)
{
	char a[64];
	ep_str(sf->family, &sf->raddr, sf->rport, a, sizeof(a));
	if (sf->attempts >= ctx->cfg.retry_max) {
		sf->state = CL_SF_CLOSED;
		sf->gave_up = true;
		cl_decide(ctx, c->token, "gave up on subflow %s \u2192 %s after %u attempts (%s)",
			  uplink_name(ctx, sf->ifindex), a, sf->attempts, why);
		return false;
	}
	double delay = ctx->cfg.retry_base_ms / 1000.0;
	for (unsigned i = 0; i < sf->attempts; i++)
		delay *= 2;
	if (delay > ctx->cfg.retry_cap_ms / 1000.0)
		delay = ctx->cfg.retry_cap_ms / 1000.0;
	sf->attempts++;
	sf->state = CL_SF_RETRY_WAIT;
	sf->retry_at = ctx->now + delay;
	ctx->dirty = true;
	cl_decide(ctx, c->token, "retry %u/%u of subflow %s \u2192 %s in %.0f ms (%s)",
		  sf->attempts, ctx->cfg.retry_max, uplink_name(ctx, sf->ifindex), a,
		  delay * 1000, why);
	return true;
}

void cl_routes_changed(struct cl_ctx *ctx)
{
	for (struct cl_conn *c = ctx->conns; c; c = c->next)
		for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
			struct cl_subflow *sf = &c->subflows[i];
			if (sf->used && sf->state == CL_SF_RETRY_WAIT &&
			    sf->last_error == ENETUNREACH && sf->retry_at > ctx->now)
				sf->retry_at = ctx->now;
		}
}

double cl_tick(struct cl_ctx *ctx)
{
	double next = -1;
	expire_orphans(ctx);
	/* Cross-family addresses held for an IPv6 announcement: their time is up. */
	for (struct cl_conn *c = ctx->conns; c; c = c->next)
		for (int i = 0; i < CL_MAX_REMOTES; i++) {
			struct cl_remote *r = &c->remotes[i];
			if (!r->used || !r->cross_deadline)
				continue;
			if (r->cross_deadline > ctx->now) {
				double d = r->cross_deadline - ctx->now;
				if (next < 0 || d < next)
					next = d;
				continue;
			}
			r->cross_deadline = 0;
			ctx->dirty = true;
			if (!r->attr_deadline)
				announce_to_units(ctx, c, r);
		}
	/* Announced addresses whose attributes did not come in time: decide without. */
	for (struct cl_conn *c = ctx->conns; c; c = c->next)
		for (int i = 0; i < CL_MAX_REMOTES; i++) {
			struct cl_remote *r = &c->remotes[i];
			if (!r->used || !r->attr_deadline)
				continue;
			if (r->attr_deadline <= ctx->now) {
				char ip[64];
				ctx->attr_stats.waited_out++;
				cl_decide(ctx, c->token, "address id %u %s: no attributes within %u ms, %s",
					  r->id, mptcp_pm_nl_inaddr_str(r->family, &r->addr, ip, sizeof(ip)),
					  ctx->cfg.attr_wait_ms,
					  r->attr.source ? "using the config's" : "treated as a plain address");
				announce_to_units(ctx, c, r);
				continue;
			}
			double d = r->attr_deadline - ctx->now;
			if (next < 0 || d < next)
				next = d;
		}
	for (struct cl_conn *c = ctx->conns; c; c = c->next) {
		for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
			struct cl_subflow *sf = &c->subflows[i];
			if (!sf->used || sf->state != CL_SF_RETRY_WAIT)
				continue;
			if (sf->retry_at > ctx->now) {
				double d = sf->retry_at - ctx->now;
				if (next < 0 || d < next)
					next = d;
				continue;
			}
			struct cl_uplink *u = cl_uplink_by_ifindex(ctx, sf->ifindex);
			struct cl_remote *r = NULL;
			for (int k = 0; k < CL_MAX_REMOTES && !r; k++)
				if (c->remotes[k].used && sf_to(sf, &c->remotes[k]))
					r = &c->remotes[k];
			if (!cl_uplink_usable(u, sf->family) || !r || !cl_remote_usable(ctx, c, r)) {
				/* Uplink gone: its return will bring the subflow back. */
				sf->state = CL_SF_CLOSED;
				ctx->dirty = true;
				continue;
			}
			char why[160], a[64];
			/* Not counted as live while the units judge it. */
			sf->state = CL_SF_CLOSED;
			if (!cl_admit(ctx, c, u, r, why, sizeof(why))) {
				/* The units changed their mind meanwhile (a failover replaced it). */
				cl_decide(ctx, c->token, "dropped the retry of subflow %s \u2192 %s: %s",
					  u->name, ep_str(r->family, &r->addr, r->port, a, sizeof(a)), why);
				ctx->dirty = true;
				continue;
			}
			snprintf(why, sizeof(why), "retry %u/%u after %s", sf->attempts,
				 ctx->cfg.retry_max,
				 sf->last_error ? strerror(sf->last_error) : "failure");
			sf_create(ctx, c, u, sf, why);
			if (sf->state == CL_SF_RETRY_WAIT) {
				double d = sf->retry_at - ctx->now;
				if (next < 0 || d < next)
					next = d;
			}
		}
	}
	/* The units' own timers (make-after-break's return to a better address). */
	for (unsigned k = 0; k < ctx->n_units; k++) {
		if (!ctx->units[k]->tick)
			continue;
		double d = ctx->units[k]->tick(ctx);
		if (d >= 0 && (next < 0 || d < next))
			next = d;
	}
	return next;
}

/* ---- dark-path detection ------------------------------------------------- */

/* The peer answers out-of-window probes at most every 500 ms (tcp_invalid_ratelimit). */
#define CL_PROBE_GAP 0.6
/* Samples in a row with data arriving: a stream, whose stop means something. */
#define CL_STREAM_SAMPLES 3

bool cl_health_wanted(const struct cl_ctx *ctx)
{
	bool unit = false;

	if (!ctx->cfg.health_interval_ms)
		return false;
	for (unsigned u = 0; u < ctx->n_units; u++)
		unit |= ctx->units[u]->needs_health;
	if (!unit)
		return false;
	for (const struct cl_conn *c = ctx->conns; c; c = c->next)
		if (c->established)
			return true;
	return false;
}

static struct cl_subflow *sf_by_tuple(struct cl_ctx *ctx, const struct cl_tcp_sample *s,
				      struct cl_conn **conn)
{
	for (struct cl_conn *c = ctx->conns; c; c = c->next)
		for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
			struct cl_subflow *sf = &c->subflows[i];
			if (sf->used && sf->state == CL_SF_ESTABLISHED && sf->family == s->family &&
			    sf->lport == s->lport && sf->rport == s->rport &&
			    mptcp_pm_nl_inaddr_eq(s->family, &sf->laddr, &s->laddr) &&
			    mptcp_pm_nl_inaddr_eq(s->family, &sf->raddr, &s->raddr)) {
				*conn = c;
				return sf;
			}
		}
	return NULL;
}

static void declare_dark(struct cl_ctx *ctx, struct cl_conn *c, struct cl_subflow *sf,
			 double quiet_s, const char *what)
{
	char a[80], b[80];

	ctx->health_stats.dark++;
	sf->hl.dark = true;
	sf->hl.silent_since = ctx->now - quiet_s;
	sf->hl.probe_at = 0;
	ctx->dirty = true;
	cl_decide(ctx, c->token, "path of subflow %s %s -> %s is dark: %s (quiet for %.0f ms)",
		  uplink_name(ctx, sf->ifindex), ep_str(sf->family, &sf->laddr, sf->lport, a, sizeof(a)),
		  ep_str(sf->family, &sf->raddr, sf->rport, b, sizeof(b)), what, quiet_s * 1000);
	DISPATCH(ctx, path_dark, c, sf);
}

static void send_probe(struct cl_ctx *ctx, struct cl_subflow *sf, uint32_t segs_in,
		       enum cl_probe_kind kind)
{
	if (!ctx->exec.probe || ctx->exec.probe(ctx, sf))
		return;
	ctx->health_stats.probes++;
	sf->hl.probe_kind = kind;
	sf->hl.probe_at = sf->hl.last_probe_at = ctx->now;
	sf->hl.probe_segs_in = segs_in;
}

/* A configured wait in ms, but at least floor_s (3 RTT). */
static double wait_s(unsigned ms, double floor_s)
{
	return ms / 1000.0 < floor_s ? floor_s : ms / 1000.0;
}

void cl_on_tcp_sample(struct cl_ctx *ctx, const struct cl_tcp_sample *s)
{
	struct cl_conn *c = NULL;
	struct cl_subflow *sf = sf_by_tuple(ctx, s, &c);
	struct cl_sf_health *h;
	double dark_after, probe_wait, last_probe;
	bool rx_grew, acked_grew;
	char what[160];

	if (!sf || !c->established)
		return;
	h = &sf->hl;
	dark_after = wait_s(ctx->cfg.dark_after_ms, 3.0 * s->rtt_us / 1e6);
	probe_wait = wait_s(ctx->cfg.probe_wait_ms, 3.0 * s->rtt_us / 1e6);
	if (!h->sampled) {
		h->sampled = true;
		h->rx_bytes = s->bytes_received;
		h->acked_bytes = s->bytes_acked;
		h->segs_in = s->segs_in;
		h->rx_at = ctx->now; /* last_probe_at stays 0: no probe yet */
		return;
	}
	rx_grew = s->bytes_received > h->rx_bytes;
	acked_grew = s->bytes_acked > h->acked_bytes;
	h->rx_bytes = s->bytes_received;
	h->acked_bytes = s->bytes_acked;
	h->segs_in = s->segs_in;

	if (h->dark) {
		/* Back only on progress, not on a stray segment. */
		if (rx_grew || acked_grew) {
			ctx->health_stats.back++;
			h->dark = false;
			h->rx_streak = 0;
			ctx->dirty = true;
			cl_decide(ctx, c->token, "path of subflow %s -> port %u carries traffic again",
				  uplink_name(ctx, sf->ifindex), sf->rport);
			DISPATCH(ctx, path_back, c, sf);
		}
		return;
	}
	/*
	 * Sending: data in flight and nothing acknowledged for a while. Loss
	 * recovery looks the same for a moment, so a probe decides (below); only
	 * when none can be sent is four times as long without an ACK enough.
	 */
	if (s->unacked && !acked_grew && !h->probe_at &&
	    s->last_ack_recv_ms / 1000.0 >= (ctx->exec.probe ? 4 : 1) * dark_after) {
		snprintf(what, sizeof(what), "%u segment(s) in flight and no ACK for %u ms (RTO backoff %u)",
			 s->unacked, s->last_ack_recv_ms, s->backoff);
		declare_dark(ctx, c, sf, s->last_ack_recv_ms / 1000.0, what);
		return;
	}
	if (rx_grew || acked_grew) {
		if (rx_grew)
			h->rx_streak++;
		h->rx_at = ctx->now;
		h->probe_at = 0;
		return;
	}
	/* A probe is out: an answer means a pause of the sender, none means a dark path. */
	if (h->probe_at) {
		if (s->segs_in > h->probe_segs_in) {
			ctx->health_stats.answered++;
			h->probe_at = 0;
			h->rx_streak = 0; /* the stream ended: probe again only after the next one */
		} else if (ctx->now - h->probe_at >= probe_wait) {
			static const char *const why[] = {
				[CL_PROBE_STREAM] = "no data after a stream",
				[CL_PROBE_SENDING] = "data in flight and no ACK",
				[CL_PROBE_IDLE] = "idle",
			};
			/* Quiet since the last data or ACK; idle: all we know is the unanswered probe. */
			double quiet = h->probe_kind == CL_PROBE_IDLE ? ctx->now - h->probe_at
				       : h->probe_kind == CL_PROBE_SENDING ? s->last_ack_recv_ms / 1000.0
									   : s->last_data_recv_ms / 1000.0;
			snprintf(what, sizeof(what), "%s, and a probe got no answer in %.0f ms",
				 why[h->probe_kind], (ctx->now - h->probe_at) * 1000);
			declare_dark(ctx, c, sf, quiet, what);
		}
		return;
	}
	last_probe = ctx->now - h->last_probe_at;
	if (last_probe < CL_PROBE_GAP)
		return;
	/* A stream stopped: is the sender done, or is the path gone? */
	if (h->rx_streak >= CL_STREAM_SAMPLES && s->last_data_recv_ms / 1000.0 >= dark_after) {
		send_probe(ctx, sf, s->segs_in, CL_PROBE_STREAM);
		return;
	}
	/* In flight and unacknowledged: congestion, or a dark path? */
	if (s->unacked && s->last_ack_recv_ms / 1000.0 >= dark_after) {
		send_probe(ctx, sf, s->segs_in, CL_PROBE_SENDING);
		return;
	}
	/* Idle: a probe now and then finds a dark path before the application does. */
	if (ctx->cfg.idle_probe_ms && !sf->standby && !s->unacked &&
	    ctx->now - h->rx_at >= ctx->cfg.idle_probe_ms / 1000.0 &&
	    last_probe >= ctx->cfg.idle_probe_ms / 1000.0)
		send_probe(ctx, sf, s->segs_in, CL_PROBE_IDLE);
}
