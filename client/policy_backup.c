// SPDX-License-Identifier: MIT
/*
 * Backup policy units (draft-duchene-mptcp-add-addr-00 §2.2: backup addresses).
 *
 * "make-after-break": keep one subflow (keep_non_backup: one from every
 * uplink to every non-backup address, as spread would), never open one to a
 * backup address while that path lives. When the active path is lost (its
 * uplink goes down, or its last subflow closes), open at once one subflow to
 * the best address left, out of a different uplink: another community than
 * the lost address first (shared fate is what the community says), then the
 * best rank (non-backup above backup, then priority). The new subflow is
 * opened active, not backup: the peer's scheduler never sends on a backup
 * subflow while a non-backup one still looks alive, and the dead one does
 * until the peer learns otherwise. Once it is up, the lost local address is
 * withdrawn (RM_ADDR), so the peer closes its side of the dead subflow and
 * re-sends that subflow's unacknowledged data on the new one at once instead
 * of after its stale detection (net.mptcp.stale_loss_cnt RTOs, > 1 s).
 *
 * "make-before-break": the same, plus one standby subflow to the best backup
 * address, opened with the backup flag (MP_JOIN B) from another uplink than
 * the active one. On a break the standby is promoted (MP_PRIO, backup off),
 * the lost address withdrawn, and a new standby chosen.
 */
#include <stdio.h>
#include <string.h>

#include "client/model.h"

static const char *ep(const struct cl_remote *r, char *buf, size_t len)
{
	char ip[64];
	mptcp_pm_nl_inaddr_str(r->family, &r->addr, ip, sizeof(ip));
	snprintf(buf, len, r->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, r->port);
	return buf;
}

static struct cl_remote *remote_by_id(struct cl_conn *c, int id)
{
	for (int i = 0; i < CL_MAX_REMOTES && id >= 0; i++)
		if (c->remotes[i].used && c->remotes[i].id == id)
			return &c->remotes[i];
	return NULL;
}

static struct cl_subflow *standby_sf(struct cl_ctx *ctx, struct cl_conn *c)
{
	struct cl_remote *r = remote_by_id(c, c->bk.standby_id);
	struct cl_uplink *u = cl_uplink_by_ifindex(ctx, c->bk.standby_ifindex);
	if (!r || !u)
		return NULL;
	return cl_subflow_find(c, u, r);
}

/* Live, and not the standby nor on a dark path: a subflow that can carry the active path. */
static bool can_carry(const struct cl_subflow *sf)
{
	return sf->used && sf->state != CL_SF_CLOSED && !sf->standby && !sf->hl.dark;
}

static bool live_nonbackup(struct cl_conn *c)
{
	for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
		struct cl_subflow *sf = &c->subflows[i];
		struct cl_remote *r;
		if (!can_carry(sf))
			continue;
		r = cl_subflow_remote(c, sf);
		if (!r || !r->attr.backup)
			return true;
	}
	return false;
}

/* Live subflows besides the standby. */
static unsigned live_active(struct cl_conn *c)
{
	unsigned n = 0;
	for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
		struct cl_subflow *sf = &c->subflows[i];
		if (can_carry(sf) && !sf->trial)
			n++;
	}
	return n;
}

/* The failover target (or promoted standby) has a live subflow. */
static bool target_live(struct cl_ctx *ctx, struct cl_conn *c)
{
	struct cl_remote *r = remote_by_id(c, c->bk.target_id);
	struct cl_uplink *u = cl_uplink_by_ifindex(ctx, c->bk.target_ifindex);
	struct cl_subflow *sf = r && u ? cl_subflow_find(c, u, r) : NULL;
	return sf && !sf->hl.dark;
}

static bool path_alive(struct cl_ctx *ctx, struct cl_conn *c)
{
	if (target_live(ctx, c))
		return true;
	return ctx->cfg.keep_non_backup ? live_nonbackup(c) : live_active(c) > 0;
}

/* The uplink carrying the active path (the first live non-standby subflow's). */
static int active_ifindex(struct cl_conn *c)
{
	for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
		struct cl_subflow *sf = &c->subflows[i];
		if (can_carry(sf))
			return sf->ifindex;
	}
	return 0;
}

/* Community of the active path's remote (-1: none live). */
static int active_community(struct cl_conn *c)
{
	for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
		struct cl_subflow *sf = &c->subflows[i];
		struct cl_remote *r;
		if (!can_carry(sf))
			continue;
		r = cl_subflow_remote(c, sf);
		if (r)
			return cl_community_key(r);
	}
	return -1;
}

/* A standby candidate: another community than the active path first, then rank. */
static int standby_score(const struct cl_remote *r, int active_comm)
{
	return (cl_community_key(r) != active_comm) << 8 | cl_remote_rank(r);
}

/* ---- admission ------------------------------------------------------------ */

static bool admit_common(struct cl_ctx *ctx, struct cl_conn *c, struct cl_uplink *u,
			 struct cl_remote *r, char *why, size_t len, const char *unit)
{
	char a[64];
	if (c->bk.target_id == r->id && (!c->bk.target_ifindex || c->bk.target_ifindex == u->ifindex))
		return true;
	if (c->bk.standby_id == r->id && c->bk.standby_ifindex == u->ifindex)
		return true;
	if (c->bk.trial_id == r->id && c->bk.trial_ifindex == u->ifindex)
		return true;
	if (r->attr.backup) {
		snprintf(why, len, "%s: %s is a backup address, used only after a break", unit,
			 ep(r, a, sizeof(a)));
		return false;
	}
	if (!ctx->cfg.keep_non_backup && live_active(c) >= 1) {
		snprintf(why, len, "%s: keeps one subflow (keep = one)", unit);
		return false;
	}
	return true;
}

static bool mab_admit(struct cl_ctx *ctx, struct cl_conn *c, struct cl_uplink *u,
		      struct cl_remote *r, char *why, size_t len)
{
	return admit_common(ctx, c, u, r, why, len, "make-after-break");
}

static bool mbb_admit(struct cl_ctx *ctx, struct cl_conn *c, struct cl_uplink *u,
		      struct cl_remote *r, char *why, size_t len)
{
	return admit_common(ctx, c, u, r, why, len, "make-before-break");
}

/* ---- choosing where to go ------------------------------------------------- */

/*
 * Best remote after losing a path in community lost_comm to lost_id: another
 * community first, then not the lost address itself, then rank, then id.
 * want_backup: only backup addresses (make-before-break's standby).
 */
static struct cl_remote *pick_remote(struct cl_ctx *ctx, struct cl_conn *c, int lost_comm,
				     int lost_id, bool want_backup, int avoid_ifindex,
				     struct cl_uplink **uplink)
{
	struct cl_remote *best = NULL;
	struct cl_uplink *best_u = NULL;
	long best_key = -1;

	for (int i = 0; i < CL_MAX_REMOTES; i++) {
		struct cl_remote *r = &c->remotes[i];
		struct cl_uplink *u = NULL;
		unsigned u_load = ~0u;
		if (!cl_remote_usable(ctx, c, r) || (!r->initial && !r->told))
			continue;
		if (want_backup && !r->attr.backup)
			continue;
		/* An uplink other than the lost/active one, least loaded. */
		for (int k = 0; k < CL_MAX_UPLINKS; k++) {
			struct cl_uplink *cand = &ctx->uplinks[k];
			unsigned load = 0;
			if (!cl_uplink_usable(cand, r->family) || cand->ifindex == avoid_ifindex ||
			    cl_subflow_find(c, cand, r))
				continue;
			for (int s = 0; s < CL_MAX_SUBFLOWS; s++)
				if (c->subflows[s].used && c->subflows[s].state != CL_SF_CLOSED &&
				    c->subflows[s].ifindex == cand->ifindex)
					load++;
			if (load < u_load) {
				u = cand;
				u_load = load;
			}
		}
		if (!u)
			continue;
		long key = (long)(cl_community_key(r) != lost_comm) << 12 |
			   (long)(r->id != lost_id) << 11 | (long)cl_remote_rank(r) << 8 | (255 - r->id);
		if (key > best_key) {
			best_key = key;
			best = r;
			best_u = u;
		}
	}
	*uplink = best_u;
	return best;
}

/*
 * Tell the peer the lost local addresses are gone, on the live subflow sf.
 * The RM_ADDR rides on our next ACK there; right after a break the peer may
 * have nothing it may send on sf (its send window is full of the dead
 * subflow's data), so we send that ACK ourselves: an MP_PRIO that changes
 * nothing (or the standby's promotion, which the caller does after this).
 */
static void withdraw_lost(struct cl_ctx *ctx, struct cl_conn *c, struct cl_subflow *sf, bool nudge)
{
	/*
	 * Dark subflows (their uplink is up) are still open: close them now that
	 * a live path exists, so the RM_ADDR below rides on the live one.
	 */
	for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
		struct cl_subflow *d = &c->subflows[i];
		if (d->used && d->state != CL_SF_CLOSED && d->hl.dark && d != sf)
			cl_subflow_close(ctx, c, d, "its path is dark and the connection has a live one");
	}
	if (!ctx->cfg.withdraw_lost || !ctx->exec.withdraw_local || !c->bk.n_lost) {
		c->bk.n_lost = 0;
		c->bk.dark_lost = false;
		return;
	}
	for (unsigned i = 0; i < c->bk.n_lost; i++) {
		if (sf && c->bk.dark_lost && c->bk.dark_loc_id == c->bk.lost_ids[i] &&
		    sf->family == c->bk.dark_family &&
		    mptcp_pm_nl_inaddr_eq(sf->family, &sf->laddr, &c->bk.dark_laddr)) {
			/* The live subflow leaves from that address too (a break past our uplink). */
			cl_decide(ctx, c->token, "kept local address id %u: the live subflow uses it",
				  c->bk.lost_ids[i]);
			continue;
		}
		int rc = ctx->exec.withdraw_local(ctx, c->token, c->bk.lost_ids[i]);
		cl_decide(ctx, c->token,
			  "withdrew local address id %u (RM_ADDR)%s: the peer drops the dead subflow and "
			  "re-sends its data on the live one now, not after its stale detection",
			  c->bk.lost_ids[i], rc ? " - failed" : "");
	}
	c->bk.n_lost = 0;
	c->bk.dark_lost = false;
	if (nudge && sf)
		cl_subflow_nudge(ctx, c, sf);
}

/* The path is gone and nothing live replaces it: open the failover. */
static void failover(struct cl_ctx *ctx, struct cl_conn *c, const char *why, const char *unit)
{
	struct cl_uplink *u;
	struct cl_remote *r;
	char a[64], at[80], reason[300];

	if (!c->established || path_alive(ctx, c))
		return;
	if (!c->bk.break_at)
		c->bk.break_at = ctx->now;
	r = pick_remote(ctx, c, c->bk.lost_community, c->bk.lost_rem_id, false, c->bk.lost_ifindex, &u);
	if (!r) /* only the lost uplink is left (if it comes back): take it */
		r = pick_remote(ctx, c, c->bk.lost_community, c->bk.lost_rem_id, false, -1, &u);
	if (!r) {
		if (!c->bk.broken)
			cl_decide(ctx, c->token, "%s: %s; no usable address and uplink to fail over to, waiting",
				  unit, why);
		c->bk.broken = true;
		return;
	}
	c->bk.broken = false;
	c->bk.target_id = r->id;
	c->bk.target_ifindex = u->ifindex;
	snprintf(reason, sizeof(reason), "%s: %s; failover to %s %s (%s)%s from uplink %s", unit, why,
		 r->attr.backup ? "backup" : "address", ep(r, a, sizeof(a)),
		 cl_attr_str(&r->attr, at, sizeof(at)),
		 c->bk.lost_community >= 0 && cl_community_key(r) != c->bk.lost_community
			 ? ", another community than the lost path" : "",
		 u->name);
	if (cl_subflow_open_flag(ctx, c, u, r, 0, reason) == 0) {
		struct cl_subflow *sf = cl_subflow_find(c, u, r);
		if (sf)
			sf->failover = true;
	}
}

/* Close c's live subflows on uplink u (or the one sf), remembering what was lost. */
/*
 * What losing sf means for the failover: its remote's community and id and
 * its uplink (to avoid them), its local address id (to withdraw, once it
 * was established), and no failover target on it any more.
 */
static void remember_lost(struct cl_conn *c, const struct cl_subflow *sf, const struct cl_remote *r)
{
	if (!sf->standby) {
		c->bk.lost_community = r ? cl_community_key(r) : -1;
		c->bk.lost_rem_id = r ? r->id : -1;
		c->bk.lost_ifindex = sf->ifindex;
	}
	if (sf->state == CL_SF_ESTABLISHED && c->bk.n_lost < CL_MAX_LOST) {
		bool dup = false;
		for (unsigned k = 0; k < c->bk.n_lost; k++)
			dup |= c->bk.lost_ids[k] == sf->loc_id;
		if (!dup)
			c->bk.lost_ids[c->bk.n_lost++] = sf->loc_id;
	}
	if (r && c->bk.target_id == r->id && c->bk.target_ifindex == sf->ifindex)
		c->bk.target_id = -1;
}

static bool lose(struct cl_ctx *ctx, struct cl_conn *c, int ifindex, struct cl_subflow *only,
		 const char *why)
{
	bool any = false;
	for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
		struct cl_subflow *sf = &c->subflows[i];
		struct cl_remote *r;
		if (only ? sf != only : (!sf->used || sf->state == CL_SF_CLOSED || sf->ifindex != ifindex))
			continue;
		r = cl_subflow_remote(c, sf);
		remember_lost(c, sf, r);
		if (sf->state != CL_SF_CLOSED)
			cl_subflow_close(ctx, c, sf, why);
		if (sf->standby) {
			sf->standby = false;
			c->bk.standby_id = -1;
		}
		any = true;
	}
	if (any) {
		c->bk.break_at = ctx->now;
		c->bk.noticed_at = 0;
	}
	return any;
}

/*
 * A dark path: remember what was lost like lose() does, but leave the
 * subflow open. Its uplink is up, so the path may come back (path_back);
 * withdraw_lost() closes it once the failover is up.
 */
static void lose_dark(struct cl_ctx *ctx, struct cl_conn *c, struct cl_subflow *sf)
{
	remember_lost(c, sf, cl_subflow_remote(c, sf)); /* sf is established, not the standby */
	c->bk.dark_lost = true;
	c->bk.dark_family = sf->family;
	c->bk.dark_laddr = sf->laddr;
	c->bk.dark_loc_id = sf->loc_id;
	/* The break happened when the path went quiet, not when we noticed. */
	c->bk.break_at = sf->hl.silent_since ? sf->hl.silent_since : ctx->now;
	c->bk.noticed_at = ctx->now;
}

/* ---- make-after-break ------------------------------------------------------ */

static void mab_uplink_down(struct cl_ctx *ctx, struct cl_uplink *u)
{
	char why[96];
	snprintf(why, sizeof(why), "uplink %s down", u->name);
	for (struct cl_conn *c = ctx->conns; c; c = c->next)
		if (c->established && lose(ctx, c, u->ifindex, NULL, why))
			failover(ctx, c, why, "make-after-break");
}

static void mab_subflow_closed(struct cl_ctx *ctx, struct cl_conn *c, struct cl_subflow *sf, int error)
{
	char why[96];
	struct cl_uplink *u = cl_uplink_by_ifindex(ctx, sf->ifindex);
	if (sf->closing_by_us || !c->established || path_alive(ctx, c))
		return;
	/* The failover itself failed on a working uplink: spread's retries handle it. */
	if (sf->failover && error && cl_uplink_usable(u, sf->family))
		return;
	snprintf(why, sizeof(why), "the active subflow closed%s%s", error ? ": " : " by the peer",
		 error ? strerror(error) : "");
	lose(ctx, c, 0, sf, why);
	failover(ctx, c, why, "make-after-break");
}

static void schedule_return(struct cl_ctx *ctx, struct cl_conn *c, bool failed);
static void trial_failed(struct cl_ctx *ctx, struct cl_conn *c, const char *why);

static void mab_subflow_established(struct cl_ctx *ctx, struct cl_conn *c, struct cl_subflow *sf)
{
	char a[64], noticed[64] = "";
	if (sf->trial) {
		c->bk.trial_up_at = ctx->now;
		c->bk.return_at = ctx->now + 1.0; /* CL_RETURN_SETTLE */
		return;
	}
	if (!sf->failover)
		return;
	if (c->bk.noticed_at > c->bk.break_at)
		snprintf(noticed, sizeof(noticed), ", %.0f ms after it was noticed",
			 (ctx->now - c->bk.noticed_at) * 1000);
	cl_decide(ctx, c->token,
		  "make-after-break: failover subflow to %s up %.0f ms after the break (%s)%s",
		  ep(cl_subflow_remote(c, sf) ? cl_subflow_remote(c, sf) : &c->remotes[0], a, sizeof(a)),
		  (ctx->now - c->bk.break_at) * 1000,
		  c->bk.noticed_at > c->bk.break_at ? "the kernel's last ACK or data on the dark path"
						    : "the event the daemon saw",
		  noticed);
	c->bk.break_at = c->bk.noticed_at = 0;
	withdraw_lost(ctx, c, sf, true);
	schedule_return(ctx, c, false);
}

/* The active path went dark with its uplink up: fail over as if it had closed. */
static void mab_path_dark(struct cl_ctx *ctx, struct cl_conn *c, struct cl_subflow *sf)
{
	char why[96];
	if (sf->trial) {
		/* The better address's path is still dark: no return yet. */
		sf->trial = false;
		cl_subflow_close(ctx, c, sf, "make-after-break: the trial's path is dark");
		trial_failed(ctx, c, "its path is dark");
		return;
	}
	if (!c->established || sf->standby || path_alive(ctx, c))
		return;
	snprintf(why, sizeof(why), "the active path is dark");
	lose_dark(ctx, c, sf);
	failover(ctx, c, why, "make-after-break");
}

/* Back before the failover was up: nothing is withdrawn, the policy keeps what it has. */
static void mab_path_back(struct cl_ctx *ctx, struct cl_conn *c, struct cl_subflow *sf)
{
	(void)ctx;
	(void)sf;
	if (c->bk.broken)
		c->bk.broken = false;
}

static void mab_uplink_up(struct cl_ctx *ctx, struct cl_uplink *u)
{
	char why[96];
	snprintf(why, sizeof(why), "uplink %s came back after a break", u->name);
	for (struct cl_conn *c = ctx->conns; c; c = c->next)
		if (c->bk.broken)
			failover(ctx, c, why, "make-after-break");
}

static void mab_announced(struct cl_ctx *ctx, struct cl_conn *c, struct cl_remote *r)
{
	(void)r;
	if (c->bk.broken)
		failover(ctx, c, "a new address was announced during a break", "make-after-break");
}

/* ---- returning to a better address ---------------------------------------- */

#define CL_RETURN_HOLD_FIRST 2.0  /* s after a failover before the first try */
#define CL_RETURN_HOLD_MAX 60.0
#define CL_RETURN_SETTLE 1.0      /* a trial must stay up this long */

/* The live active subflow (not standby, trial or dark) and its remote. */
static struct cl_subflow *active_sf(struct cl_conn *c, struct cl_remote **r)
{
	for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
		struct cl_subflow *sf = &c->subflows[i];
		if (can_carry(sf) && sf->state == CL_SF_ESTABLISHED && !sf->trial) {
			*r = cl_subflow_remote(c, sf);
			return sf;
		}
	}
	*r = NULL;
	return NULL;
}

/* After a failover: try the better address again later, each failure waiting twice as long. */
static void schedule_return(struct cl_ctx *ctx, struct cl_conn *c, bool failed)
{
	if (ctx->cfg.keep_non_backup)
		return; /* spread re-opens every non-backup address by itself */
	c->bk.return_hold = !c->bk.return_hold ? CL_RETURN_HOLD_FIRST
			    : failed ? c->bk.return_hold * 2 : c->bk.return_hold;
	if (c->bk.return_hold > CL_RETURN_HOLD_MAX)
		c->bk.return_hold = CL_RETURN_HOLD_MAX;
	c->bk.return_at = ctx->now + c->bk.return_hold;
	c->bk.trial_id = -1;
}

static void trial_failed(struct cl_ctx *ctx, struct cl_conn *c, const char *why)
{
	cl_decide(ctx, c->token, "make-after-break: the better address is not back (%s); next try in %.0f s",
		  why, c->bk.return_hold * 2 > CL_RETURN_HOLD_MAX ? CL_RETURN_HOLD_MAX : c->bk.return_hold * 2);
	schedule_return(ctx, c, true);
}

static struct cl_subflow *trial_sf(struct cl_ctx *ctx, struct cl_conn *c)
{
	struct cl_remote *r = remote_by_id(c, c->bk.trial_id);
	struct cl_uplink *u = cl_uplink_by_ifindex(ctx, c->bk.trial_ifindex);
	return r && u ? cl_subflow_find(c, u, r) : NULL;
}

static void return_step(struct cl_ctx *ctx, struct cl_conn *c)
{
	struct cl_remote *cur, *best;
	struct cl_subflow *act = active_sf(c, &cur), *tr;
	struct cl_uplink *u;
	char a[64], reason[240];

	c->bk.return_at = 0;
	if (!act || !cur)
		return;
	if (c->bk.trial_id < 0) {
		/* The best address now, from any uplink but one already going there. */
		best = pick_remote(ctx, c, -1, -1, false, -1, &u);
		if (!best || cl_remote_rank(best) <= cl_remote_rank(cur)) {
			c->bk.return_hold = 0; /* on the best address there is: done */
			return;
		}
		c->bk.trial_id = best->id;
		c->bk.trial_ifindex = u->ifindex;
		c->bk.trial_up_at = 0;
		snprintf(reason, sizeof(reason),
			 "make-after-break: trying %s again (it ranks above the failover's %s), flagged "
			 "backup until it has stayed up %.0f s", ep(best, a, sizeof(a)),
			 cur->attr.backup ? "backup" : "address", CL_RETURN_SETTLE);
		if (cl_subflow_open_flag(ctx, c, u, best, 1, reason) == 0 && (tr = cl_subflow_find(c, u, best))) {
			tr->trial = true;
			c->bk.return_at = ctx->now + 5.0; /* not up by then: not back */
		} else {
			trial_failed(ctx, c, "cannot open a subflow");
		}
		return;
	}
	tr = trial_sf(ctx, c);
	if (!tr || tr->state != CL_SF_ESTABLISHED || tr->hl.dark) {
		if (tr && tr->state != CL_SF_CLOSED)
			cl_subflow_close(ctx, c, tr, "make-after-break: the trial did not come up");
		trial_failed(ctx, c, tr && tr->hl.dark ? "its path is dark" : "no answer");
		return;
	}
	if (ctx->now - c->bk.trial_up_at < CL_RETURN_SETTLE) {
		c->bk.return_at = c->bk.trial_up_at + CL_RETURN_SETTLE;
		return;
	}
	/* Up and quiet for the settle time: it becomes the path, the failover steps back. */
	struct cl_remote *tr_r = cl_subflow_remote(c, tr);
	snprintf(reason, sizeof(reason), "make-after-break: %s is back (up %.1f s): it carries the traffic again",
		 tr_r ? ep(tr_r, a, sizeof(a)) : "the better address", ctx->now - c->bk.trial_up_at);
	tr->trial = false;
	c->bk.target_id = tr_r ? tr_r->id : -1;
	c->bk.target_ifindex = tr->ifindex;
	c->bk.trial_id = -1;
	c->bk.return_hold = 0;
	cl_subflow_set_backup(ctx, c, tr, false, reason);
	cl_subflow_set_backup(ctx, c, act, true, "make-after-break: stepping back for the better address");
	/* Closed a second later: what it has in flight is delivered, not re-sent. */
	c->bk.retire_id = cur->id;
	c->bk.retire_ifindex = act->ifindex;
	c->bk.retire_at = ctx->now + 1.0;
}

static double mab_tick(struct cl_ctx *ctx)
{
	double next = -1;

	for (struct cl_conn *c = ctx->conns; c; c = c->next) {
		if (!c->established)
			continue;
		if (c->bk.retire_at && c->bk.retire_at <= ctx->now) {
			struct cl_remote *r = remote_by_id(c, c->bk.retire_id);
			struct cl_uplink *u = cl_uplink_by_ifindex(ctx, c->bk.retire_ifindex);
			struct cl_subflow *sf = r && u ? cl_subflow_find(c, u, r) : NULL;
			c->bk.retire_at = 0;
			c->bk.retire_id = -1;
			if (sf && !ctx->cfg.keep_non_backup)
				cl_subflow_close(ctx, c, sf, "make-after-break: the failover path is no longer needed");
		}
		if (c->bk.return_at && c->bk.return_at <= ctx->now)
			return_step(ctx, c);
		double t[2] = {c->bk.return_at, c->bk.retire_at};
		for (int k = 0; k < 2; k++)
			if (t[k] > 0 && (next < 0 || t[k] - ctx->now < next))
				next = t[k] - ctx->now;
	}
	return next;
}

const struct cl_policy_ops cl_policy_make_after_break = {
	.name = "make-after-break",
	.needs_attrs = true,
	.admit = mab_admit,
	.addr_announced = mab_announced,
	.subflow_established = mab_subflow_established,
	.subflow_closed = mab_subflow_closed,
	.uplink_up = mab_uplink_up,
	.uplink_down = mab_uplink_down,
	.path_dark = mab_path_dark,
	.path_back = mab_path_back,
	.needs_health = true,
	.tick = mab_tick,
};

/* ---- make-before-break ----------------------------------------------------- */

static void ensure_standby(struct cl_ctx *ctx, struct cl_conn *c, const char *why)
{
	struct cl_subflow *sb = standby_sf(ctx, c);
	struct cl_uplink *u;
	struct cl_remote *r, *cur;
	char a[64], at[80], reason[300];
	int act = active_ifindex(c);

	if (!c->established || !path_alive(ctx, c))
		return;
	/*
	 * The best backup address from another uplink than the active path's,
	 * and in another community: a standby that shares the active path's fate
	 * (the same server link) dies with it.
	 */
	int comm = active_community(c);
	r = pick_remote(ctx, c, comm, -1, true, act, &u);
	if (!r)
		r = pick_remote(ctx, c, comm, -1, true, -1, &u); /* one uplink only */
	cur = sb ? remote_by_id(c, c->bk.standby_id) : NULL;
	if (sb && (!r || (cur && standby_score(cur, comm) >= standby_score(r, comm))))
		return; /* the standby there is as good as any */
	if (!r) {
		if (c->bk.standby_id != -2)
			cl_decide(ctx, c->token, "make-before-break: no backup address announced (yet): no standby");
		c->bk.standby_id = -2; /* said once */
		return;
	}
	if (sb) {
		snprintf(reason, sizeof(reason), "make-before-break: a better backup %s was announced",
			 ep(r, a, sizeof(a)));
		sb->standby = false;
		cl_subflow_close(ctx, c, sb, reason);
	}
	c->bk.standby_id = r->id;
	c->bk.standby_ifindex = u->ifindex;
	snprintf(reason, sizeof(reason), "make-before-break: standby to the best backup %s (%s) from uplink %s: %s",
		 ep(r, a, sizeof(a)), cl_attr_str(&r->attr, at, sizeof(at)), u->name, why);
	if (cl_subflow_open_flag(ctx, c, u, r, 1, reason) == 0) {
		struct cl_subflow *sf = cl_subflow_find(c, u, r);
		if (sf)
			sf->standby = true;
	} else {
		c->bk.standby_id = -1;
	}
}

/* The active path is gone: promote the standby (or fail over like make-after-break). */
static void promote(struct cl_ctx *ctx, struct cl_conn *c, const char *why)
{
	struct cl_subflow *sb = standby_sf(ctx, c);
	char reason[200];

	if (path_alive(ctx, c))
		return;
	if (!sb || sb->state != CL_SF_ESTABLISHED) {
		failover(ctx, c, why, "make-before-break");
		return;
	}
	snprintf(reason, sizeof(reason), "make-before-break: %s; the standby takes over", why);
	struct cl_remote *sr = cl_subflow_remote(c, sb);
	sb->standby = false;
	c->bk.standby_id = -1;
	c->bk.target_id = sr ? sr->id : -1; /* it stays admitted as the active path */
	c->bk.target_ifindex = sb->ifindex;
	/* Withdraw first: the promotion's MP_PRIO ACK then carries the RM_ADDR. */
	withdraw_lost(ctx, c, sb, false);
	cl_subflow_set_backup(ctx, c, sb, false, reason);
	cl_decide(ctx, c->token, "make-before-break: standby promoted %.0f ms after the break (%s)",
		  (ctx->now - c->bk.break_at) * 1000,
		  c->bk.noticed_at > c->bk.break_at ? "the kernel's last ACK or data on the dark path"
						    : "the event the daemon saw");
	c->bk.break_at = c->bk.noticed_at = 0;
	schedule_return(ctx, c, false);
	ensure_standby(ctx, c, "replacing the promoted standby");
}

static void mbb_established(struct cl_ctx *ctx, struct cl_conn *c)
{
	ensure_standby(ctx, c, "connection established");
}

static void mbb_announced(struct cl_ctx *ctx, struct cl_conn *c, struct cl_remote *r)
{
	(void)r;
	if (c->bk.broken)
		failover(ctx, c, "a new address was announced during a break", "make-before-break");
	else
		ensure_standby(ctx, c, "address announced");
}

static void mbb_attrs(struct cl_ctx *ctx, struct cl_conn *c, struct cl_remote *r)
{
	(void)r;
	ensure_standby(ctx, c, "attributes changed");
}

static int mbb_backup(struct cl_ctx *ctx, struct cl_conn *c, struct cl_remote *r)
{
	(void)ctx;
	return c->bk.standby_id >= 0 && r->id == c->bk.standby_id ? 1 : -1;
}

static void mbb_uplink_down(struct cl_ctx *ctx, struct cl_uplink *u)
{
	char why[96];
	snprintf(why, sizeof(why), "uplink %s down", u->name);
	for (struct cl_conn *c = ctx->conns; c; c = c->next) {
		if (!c->established || !lose(ctx, c, u->ifindex, NULL, why))
			continue;
		if (path_alive(ctx, c))
			ensure_standby(ctx, c, why); /* only the standby was lost */
		else
			promote(ctx, c, why);
	}
}

static void mbb_subflow_closed(struct cl_ctx *ctx, struct cl_conn *c, struct cl_subflow *sf, int error)
{
	char why[96];
	if (sf->closing_by_us || !c->established)
		return;
	snprintf(why, sizeof(why), "%s subflow closed%s%s", sf->standby ? "the standby" : "the active",
		 error ? ": " : " by the peer", error ? strerror(error) : "");
	bool was_standby = sf->standby;
	lose(ctx, c, 0, sf, why);
	if (was_standby)
		ensure_standby(ctx, c, why);
	else
		promote(ctx, c, why);
}

static void mbb_subflow_established(struct cl_ctx *ctx, struct cl_conn *c, struct cl_subflow *sf)
{
	mab_subflow_established(ctx, c, sf);
	if (!sf->standby)
		ensure_standby(ctx, c, "a subflow came up");
}

static void mbb_path_dark(struct cl_ctx *ctx, struct cl_conn *c, struct cl_subflow *sf)
{
	if (!c->established)
		return;
	if (sf->trial) {
		mab_path_dark(ctx, c, sf);
		return;
	}
	if (sf->standby) {
		/* A dark standby is no standby: close it and pick another. */
		sf->standby = false;
		c->bk.standby_id = -1;
		cl_subflow_close(ctx, c, sf, "make-before-break: the standby's path is dark");
		ensure_standby(ctx, c, "the standby's path went dark");
		return;
	}
	if (path_alive(ctx, c))
		return;
	lose_dark(ctx, c, sf);
	promote(ctx, c, "the active path is dark");
}

static void mbb_uplink_up(struct cl_ctx *ctx, struct cl_uplink *u)
{
	char why[96];
	snprintf(why, sizeof(why), "uplink %s came back", u->name);
	for (struct cl_conn *c = ctx->conns; c; c = c->next) {
		if (c->bk.broken)
			failover(ctx, c, why, "make-before-break");
		else
			ensure_standby(ctx, c, why);
	}
}

const struct cl_policy_ops cl_policy_make_before_break = {
	.name = "make-before-break",
	.needs_attrs = true,
	.admit = mbb_admit,
	.backup = mbb_backup,
	.conn_established = mbb_established,
	.addr_announced = mbb_announced,
	.addr_attrs = mbb_attrs,
	.subflow_established = mbb_subflow_established,
	.subflow_closed = mbb_subflow_closed,
	.uplink_up = mbb_uplink_up,
	.uplink_down = mbb_uplink_down,
	.path_dark = mbb_path_dark,
	.path_back = mab_path_back,
	.needs_health = true,
	.tick = mab_tick,
};
