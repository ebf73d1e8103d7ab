// SPDX-License-Identifier: MIT
/*
 * `mplb server run`: apply the configuration to this network namespace
 * (sysctls, path-manager limits and endpoints, BPF programs, health
 * endpoint), keep it up, and undo everything on exit. Every change is
 * journalled before it is made (journal.h); a run that finds a journal
 * first undoes what the previous, killed, run left.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "server_int.h"
#include "sysmounts.h"
#include "util.h"

#define C_BIT_SYSCTL "net.mptcp.allow_join_initial_addr_port"
#define ADD_ADDR_TIMEOUT_SYSCTL "net.mptcp.add_addr_timeout"
#define STATE_PERIOD_MS 1000
/*
 * Keepalive sweep period (s): a subflow gets its keepalive at most this long
 * after MPTCP reset it; tsecr_keepalive (<= 30 s) plus this stays below the
 * 32.7 s after which the client's PAWS would drop the server's segments.
 */
#define SWEEP_PERIOD_S 2

void srv_paths(const char *name, char *state, char *journal, char *lock, size_t len)
{
	if (state)
		snprintf(state, len, SRV_RUN_DIR "/server-%s.json", name);
	if (journal)
		snprintf(journal, len, SRV_RUN_DIR "/server-%s.journal", name);
	if (lock)
		snprintf(lock, len, SRV_RUN_DIR "/server-%s.lock", name);
}

static void agent_warn(struct agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void agent_warn(struct agent *a, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mplb_warn("server: %s", msg);
	if (a->n_warnings < (int)ARRAY_SIZE(a->warnings))
		snprintf(a->warnings[a->n_warnings++], sizeof(a->warnings[0]), "%s", msg);
}

static int jrec(struct agent *a, const char *kind, int argc, ...)
{
	const char *argv[JOURNAL_MAX_ARGS];
	va_list ap;

	va_start(ap, argc);
	for (int i = 0; i < argc && i < JOURNAL_MAX_ARGS; i++)
		argv[i] = va_arg(ap, const char *);
	va_end(ap);
	return journal_add(&a->j, kind, argc, argv);
}

/* ---- sysctls and limits -------------------------------------------------- */

static int apply_sysctl(struct agent *a, const char *name, const char *want)
{
	struct srv_sysctl *s;
	char old[32];

	if (sysctl_get(name, old, sizeof(old))) {
		mplb_err("server: cannot read %s: %s (kernel without MPTCP?)", name, strerror(errno));
		return -1;
	}
	if (a->n_sysctls >= (int)ARRAY_SIZE(a->sysctls))
		return -1;
	s = &a->sysctls[a->n_sysctls++];
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->old, sizeof(s->old), "%s", old);
	snprintf(s->now, sizeof(s->now), "%s", want);
	if (!strcmp(old, want))
		return 0; /* already so: nothing to undo */
	if (jrec(a, "sysctl", 2, name, old))
		return -1;
	if (sysctl_set(name, want)) {
		mplb_err("server: cannot set %s = %s: %s", name, want, strerror(errno));
		return -1;
	}
	mplb_dbg("server: %s %s -> %s", name, old, want);
	return 0;
}

static int apply_limits(struct agent *a)
{
	uint32_t add, sub, want_add, want_sub;
	char sa[16], ss[16];
	int rc;

	if (!a->cfg.limit_subflows && !a->cfg.limit_add_addr_accepted)
		return 0;
	rc = mptcp_pm_nl_get_limits(&a->pm, &add, &sub);
	if (rc) {
		mplb_err("server: cannot read the path-manager limits: %s", strerror(-rc));
		return -1;
	}
	want_add = a->cfg.limit_add_addr_accepted ? a->cfg.limit_add_addr_accepted : add;
	want_sub = a->cfg.limit_subflows ? a->cfg.limit_subflows : sub;
	a->old_limit_add = add;
	a->old_limit_sub = sub;
	if (want_add == add && want_sub == sub)
		return 0;
	snprintf(sa, sizeof(sa), "%u", add);
	snprintf(ss, sizeof(ss), "%u", sub);
	if (jrec(a, "limits", 2, sa, ss))
		return -1;
	rc = mptcp_pm_nl_set_limits(&a->pm, want_add, want_sub);
	if (rc) {
		mplb_err("server: cannot set the path-manager limits: %s %s", strerror(-rc),
			 a->pm.errmsg);
		return -1;
	}
	a->limits_set = true;
	return 0;
}

/* ---- endpoints ------------------------------------------------------------ */

struct ep_list {
	struct mptcp_pm_nl_addr e[64];
	int n;
};

static void ep_collect(const struct mptcp_pm_nl_addr *addr, void *data)
{
	struct ep_list *l = data;

	if (l->n < (int)ARRAY_SIZE(l->e))
		l->e[l->n++] = *addr;
}

static int ep_dump(struct mptcp_pm_nl *pm, struct ep_list *l)
{
	int rc;

	l->n = 0;
	rc = mptcp_pm_nl_get_addr_dump(pm, 0, ep_collect, l);
	return rc < 0 ? rc : 0;
}

static void to_nl_addr(const struct srv_addr *s, uint16_t port, struct mptcp_pm_nl_addr *n)
{
	memset(n, 0, sizeof(*n));
	n->family = s->family;
	memcpy(&n->addr, s->addr, s->family == AF_INET ? 4 : 16);
	n->port = port;
}

static bool nl_addr_is(const struct mptcp_pm_nl_addr *e, const struct srv_addr *s, uint16_t port)
{
	return e->family == s->family && e->port == port &&
	       !memcmp(&e->addr, s->addr, s->family == AF_INET ? 4 : 16);
}

static const char *flags_str(uint32_t f, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", (f & MPTCP_PM_ADDR_FLAG_SIGNAL) ? "signal," : "",
		 (f & MPTCP_PM_ADDR_FLAG_SUBFLOW) ? "subflow," : "",
		 (f & MPTCP_PM_ADDR_FLAG_BACKUP) ? "backup," : "",
		 (f & MPTCP_PM_ADDR_FLAG_FULLMESH) ? "fullmesh," : "");
	size_t n = strlen(buf);
	if (n)
		buf[n - 1] = 0;
	else
		snprintf(buf, len, "none");
	return buf;
}

/*
 * Make sure an endpoint (address, port) with flags exists. One that is
 * already there with the same flags is used as is and left on exit (it is
 * not ours); one with other flags is an error, not silently changed.
 */
static int apply_endpoint(struct agent *a, const struct srv_addr *addr, uint16_t port,
			  uint32_t flags, const char *ifname, const char *why, bool keep_while_used)
{
	struct ep_list *l = calloc(1, sizeof(*l));
	struct srv_endpoint *ep;
	struct mptcp_pm_nl_addr req;
	char as[INET6_ADDRSTRLEN], fs[64], ids[8], ps[8];
	int rc = -1, id;
	bool used[256] = {false};

	if (!l || a->n_eps >= SRV_MAX_ENDPOINTS)
		goto out;
	if (ep_dump(&a->pm, l)) {
		mplb_err("server: cannot list the MPTCP endpoints: %s", a->pm.errmsg);
		goto out;
	}
	srv_addr_str(addr, as, sizeof(as));
	ep = &a->eps[a->n_eps];
	memset(ep, 0, sizeof(*ep));
	ep->addr = *addr;
	ep->port = port;
	ep->flags = flags;
	ep->why = why;
	snprintf(ep->ifname, sizeof(ep->ifname), "%s", ifname ? ifname : "");
	for (int i = 0; i < l->n; i++) {
		used[l->e[i].id] = true;
		if (!nl_addr_is(&l->e[i], addr, port))
			continue;
		if ((l->e[i].flags & ~MPTCP_PM_ADDR_FLAG_IMPLICIT) != flags) {
			char have[64], want[64];
			snprintf(ps, sizeof(ps), "%u", port);
			mplb_err("server: an MPTCP endpoint for %s%s%s already exists (id %u, flags %s), "
				 "not created by this agent; the %s needs flags %s: remove it "
				 "(ip mptcp endpoint delete id %u) or change the config",
				 as, port ? " port " : "", port ? ps : "", l->e[i].id,
				 flags_str(l->e[i].flags, have, sizeof(have)), why,
				 flags_str(flags, want, sizeof(want)), l->e[i].id);
			goto out;
		}
		ep->id = l->e[i].id;
		/* Left in place by the previous run while in use: still ours (journalled). */
		ep->ours = false;
		for (int k = 0; k < a->n_kept; k++)
			if (!strcmp(a->kept[k].kind, "endpoint") && atoi(a->kept[k].argv[0]) == ep->id)
				ep->ours = true;
		a->n_eps++;
		mplb_dbg("server: endpoint %s id %u already present, used as is", as, ep->id);
		rc = 0;
		goto out;
	}
	for (id = 1; id < 256 && used[id]; id++)
		;
	if (id == 256) {
		mplb_err("server: no free MPTCP endpoint id");
		goto out;
	}
	ep->id = (uint8_t)id;
	snprintf(ids, sizeof(ids), "%d", id);
	snprintf(ps, sizeof(ps), "%u", port);
	if (keep_while_used ? jrec(a, "endpoint", 4, ids, as, ps, "keep-while-used")
			    : jrec(a, "endpoint", 3, ids, as, ps))
		goto out;
	to_nl_addr(addr, port, &req);
	req.id = ep->id;
	req.flags = flags;
	req.ifindex = ifname ? (int)if_nametoindex(ifname) : 0;
	rc = mptcp_pm_nl_endpoint_add(&a->pm, &req);
	if (rc) {
		mplb_err("server: cannot add the MPTCP endpoint %s%s%s (%s): %s%s%s", as,
			 port ? " port " : "", port ? ps : "", why, strerror(-rc),
			 a->pm.errmsg[0] ? ": " : "", a->pm.errmsg);
		if (rc == -EINVAL && l->n >= 8)
			mplb_err("server: the kernel allows 8 endpoints per network namespace");
		rc = -1;
		goto out;
	}
	ep->ours = true;
	a->n_eps++;
	mplb_dbg("server: endpoint %s id %d flags %s (%s)", as, id, flags_str(flags, fs, sizeof(fs)),
		 why);
	rc = 0;
out:
	free(l);
	return rc;
}

static int apply_endpoints(struct agent *a)
{
	const struct srv_cfg *cfg = &a->cfg;
	uint32_t schemes = srv_cfg_schemes(cfg);

	if (schemes & SRV_SCHEME_PER_SERVER) {
		for (int i = 0; i < cfg->n_addrs; i++) {
			char ifname[16];
			if (addr_iface(&cfg->addrs[i], ifname, sizeof(ifname)))
				ifname[0] = 0;
			if (apply_endpoint(a, &cfg->addrs[i], 0, MPTCP_PM_ADDR_FLAG_SIGNAL,
					   ifname[0] ? ifname : NULL, "per-server address", false))
				return -1;
		}
	}
	for (int i = 0; i < cfg->n_vips; i++) {
		const struct srv_cfg_vip *v = &cfg->vips[i];
		if (v->scheme & SRV_SCHEME_PORT) {
			/* The kernel opens a join-only listener on VIP:port for it. */
			if (apply_endpoint(a, &v->addr, srv_vip_join_port(cfg, v),
					   MPTCP_PM_ADDR_FLAG_SIGNAL, "lo", "port scheme join port", false))
				return -1;
		}
	}
	for (int i = 0; i < cfg->n_vips; i++) {
		const struct srv_cfg_vip *v = &cfg->vips[i];
		bool dup = false;
		if (v->initial_subflow != SRV_INITIAL_BACKUP)
			continue;
		for (int k = 0; k < a->n_eps; k++)
			if (srv_addr_eq(&a->eps[k].addr, &v->addr) && !a->eps[k].port)
				dup = true;
		/*
		 * A flag-less endpoint for the VIP: SET_FLAGS backup on it sends
		 * MP_PRIO. Deleting it makes the kernel close the VIP subflow of
		 * every connection, so the undo leaves it while sockets use the VIP.
		 */
		if (!dup && apply_endpoint(a, &v->addr, 0, 0, "lo", "initial_subflow backup", true))
			return -1;
	}
	return 0;
}

/* ---- BPF ------------------------------------------------------------------ */

static int apply_bpf(struct agent *a)
{
	const struct srv_cfg *cfg = &a->cfg;
	uint32_t schemes = srv_cfg_schemes(cfg);
	bool need_tc = (schemes & SRV_SCHEME_TSECR) || cfg->decap || cfg->track_add_addr;
	char dir[256];

	if (!need_tc)
		return 0;
	if (srv_bpf_load(&a->bpf))
		return -1;
	a->bpf_loaded = true;
	if (srv_bpf_fill(&a->bpf, cfg, a->netns_cookie))
		return -1;
	for (int i = 0; i < a->n_ifaces; i++)
		if (srv_bpf_attach_iface(&a->bpf, a->ifaces[i], &a->j))
			return -1;
	if ((schemes & SRV_SCHEME_TSECR) && cfg->tsecr_keepalive_s) {
		char cg[256];
		if (cfg->cgroup[0])
			snprintf(cg, sizeof(cg), "%s", cfg->cgroup);
		else if (mplb_cgroup2_ensure(cg, sizeof(cg), "mplb server run"))
			cg[0] = 0;
		if (!cg[0])
			agent_warn(a, "no cgroup v2 hierarchy: keepalive comes from the %d s sweep only",
				   SWEEP_PERIOD_S);
		else if (srv_bpf_attach_sockops(&a->bpf, cg))
			agent_warn(a, "sock_ops not attached on %s: keepalive comes from the %d s "
				      "sweep only", cg, SWEEP_PERIOD_S);
		if (srv_bpf_attach_sweep(&a->bpf))
			agent_warn(a, "no socket iterator: MPTCP join subflows get no keepalive, and "
				      "after 32.7 s of server silence on one the client's PAWS drops "
				      "its segments until the clock wraps");
	}
	srv_pin_dir(cfg->name, dir, sizeof(dir));
	/* bpffs was made sure of at start (mplb_bpffs_ensure): a pin that fails is an error. */
	return srv_bpf_pin(&a->bpf, dir, &a->j);
}

/* ---- apply / teardown ------------------------------------------------------ */

static int apply(struct agent *a)
{
	const struct srv_cfg *cfg = &a->cfg;
	uint32_t schemes = srv_cfg_schemes(cfg);
	char ino[32], v[24];

	snprintf(ino, sizeof(ino), "%lu", a->netns_ino);
	/* Records a previous run could not undo yet (an endpoint still in use) stay journalled. */
	a->n_kept = journal_read(a->journal_path, a->kept, (int)ARRAY_SIZE(a->kept));
	if (a->n_kept < 0)
		a->n_kept = 0;
	if (journal_create(&a->j, a->journal_path) || jrec(a, "netns", 1, ino))
		return -1;
	for (int i = 0; i < a->n_kept; i++) {
		const char *args[JOURNAL_MAX_ARGS];
		if (!strcmp(a->kept[i].kind, "netns"))
			continue;
		for (int k = 0; k < a->kept[i].argc; k++)
			args[k] = a->kept[i].argv[k];
		if (journal_add(&a->j, a->kept[i].kind, a->kept[i].argc, args))
			return -1;
	}
	/* The C bit: no joins to the VIP's address and port (the balancer cannot steer them). */
	a->c_bit = schemes & (SRV_SCHEME_PER_SERVER | SRV_SCHEME_PORT);
	if (a->c_bit && apply_sysctl(a, C_BIT_SYSCTL, "0"))
		return -1;
	if (cfg->add_addr_timeout_s >= 0) {
		snprintf(v, sizeof(v), "%ld", cfg->add_addr_timeout_s);
		if (apply_sysctl(a, ADD_ADDR_TIMEOUT_SYSCTL, v))
			return -1;
	}
	if (apply_limits(a) || apply_endpoints(a) || apply_bpf(a))
		return -1;
	if (srv_health_open(a))
		return -1;
	if (jrec(a, "state", 1, a->state_path))
		return -1;
	return srv_state_write(a);
}

static void say(bool announce, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(bool announce, const char *fmt, ...)
{
	va_list ap;

	if (!announce && !mplb_verbose)
		return;
	va_start(ap, fmt);
	fputs("mplb server: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	fflush(stdout);
}

/* Returns 0 (deleted or gone), 1 (kept: in use), -1 (failed). */
static int undo_endpoint(struct mptcp_pm_nl *pm, const struct journal_record *r, bool announce)
{
	struct ep_list *l = calloc(1, sizeof(*l));
	unsigned long id = strtoul(r->argv[0], NULL, 10);
	struct srv_addr addr;
	uint16_t port = (uint16_t)strtoul(r->argv[2], NULL, 10);
	int rc = 0;

	if (!l || srv_addr_parse(r->argv[1], &addr)) {
		free(l);
		return -1;
	}
	if (ep_dump(pm, l) == 0) {
		for (int i = 0; i < l->n; i++) {
			if (l->e[i].id != id)
				continue;
			if (!nl_addr_is(&l->e[i], &addr, port)) {
				mplb_warn("server: endpoint id %lu is now %s, not ours: left in place", id,
					  "another address");
				break;
			}
			if (r->argc >= 4 && !strcmp(r->argv[3], "keep-while-used")) {
				/* Back to active first: the joins go with the per-server endpoints. */
				struct mptcp_pm_nl_addr e = l->e[i];
				int users;
				if (e.flags & MPTCP_PM_ADDR_FLAG_BACKUP)
					mptcp_pm_nl_endpoint_set_flags(pm, &e, 0);
				users = tcp_sockets_on(&addr);
				if (users > 0) {
					mplb_warn("server: endpoint id %lu (%s) left in place: %d TCP sockets use "
						  "that address and deleting it would make the kernel close "
						  "their subflows; `mplb server cleanup` removes it later",
						  id, r->argv[1], users);
					rc = 1;
					break;
				}
			}
			rc = mptcp_pm_nl_endpoint_del(pm, &l->e[i]);
			if (rc)
				mplb_warn("server: cannot delete endpoint id %lu: %s %s", id, strerror(-rc),
					  pm->errmsg);
			else
				say(announce, "removed endpoint id %lu (%s%s%s)", id, r->argv[1],
				    port ? " port " : "", port ? r->argv[2] : "");
			break;
		}
	}
	free(l);
	return rc;
}

int srv_undo_journal(const char *journal_path, bool announce)
{
	struct journal_record *recs = calloc(JOURNAL_MAX_RECORDS, sizeof(*recs));
	struct mptcp_pm_nl pm;
	bool pm_ok = false, skip_clsact[4096] = {false};
	unsigned long ino = 0;
	int n, errors = 0, kept[JOURNAL_MAX_RECORDS], n_kept = 0;

	if (!recs)
		return -1;
	n = journal_read(journal_path, recs, JOURNAL_MAX_RECORDS);
	if (n < 0) {
		free(recs);
		return -1;
	}
	if (n == 0) {
		unlink(journal_path);
		free(recs);
		return 0;
	}
	netns_inode(&ino);
	for (int i = 0; i < n; i++)
		if (!strcmp(recs[i].kind, "netns") && strtoul(recs[i].argv[0], NULL, 10) != ino) {
			mplb_err("server: %s was written in network namespace inode %s, this is %lu: "
				 "run `mplb server cleanup` inside that namespace (mplb lab exec / nsenter)",
				 journal_path, recs[i].argv[0], ino);
			free(recs);
			return -1;
		}
	pm_ok = mptcp_pm_nl_open(&pm) == 0;
	for (int i = n - 1; i >= 0; i--) {
		const struct journal_record *r = &recs[i];
		const char *k = r->kind;

		if (!strcmp(k, "netns")) {
			continue;
		} else if (!strcmp(k, "sysctl") && r->argc == 2) {
			if (sysctl_set(r->argv[0], r->argv[1])) {
				mplb_warn("server: cannot restore %s = %s: %s", r->argv[0], r->argv[1],
					  strerror(errno));
				errors++;
			} else {
				say(announce, "restored %s = %s", r->argv[0], r->argv[1]);
			}
		} else if (!strcmp(k, "limits") && r->argc == 2) {
			if (!pm_ok || mptcp_pm_nl_set_limits(&pm, (uint32_t)strtoul(r->argv[0], NULL, 10),
							    (uint32_t)strtoul(r->argv[1], NULL, 10))) {
				mplb_warn("server: cannot restore the path-manager limits");
				errors++;
			} else {
				say(announce, "restored limits add_addr_accepted %s subflows %s",
				    r->argv[0], r->argv[1]);
			}
		} else if (!strcmp(k, "endpoint") && (r->argc == 3 || r->argc == 4)) {
			int rc = pm_ok ? undo_endpoint(&pm, r, announce) : -1;
			if (rc < 0)
				errors++;
			else if (rc > 0)
				kept[n_kept++] = i;
		} else if (!strcmp(k, "pin") && r->argc == 1) {
			if (unlink(r->argv[0]) && errno != ENOENT)
				errors++;
		} else if (!strcmp(k, "pindir") && r->argc == 1) {
			if (rmdir(r->argv[0]) && errno != ENOENT)
				mplb_warn("server: cannot remove %s: %s", r->argv[0], strerror(errno));
		} else if (!strcmp(k, "tcfilter") && r->argc == 4) {
			int ifindex = atoi(r->argv[0]);
			int rc = srv_tc_detach(ifindex, !strcmp(r->argv[1], "ingress"),
					       (uint32_t)strtoul(r->argv[2], NULL, 10),
					       (uint32_t)strtoul(r->argv[3], NULL, 10));
			if (rc && rc != -ENOENT && rc != -ENODEV)
				errors++;
			else
				say(announce, "removed the tc %s filter on ifindex %d", r->argv[1], ifindex);
		} else if (!strcmp(k, "clsact-preexisting") && r->argc == 1) {
			int ifindex = atoi(r->argv[0]);
			if (ifindex > 0 && ifindex < (int)ARRAY_SIZE(skip_clsact))
				skip_clsact[ifindex] = true;
		} else if (!strcmp(k, "clsact") && r->argc == 1) {
			int ifindex = atoi(r->argv[0]);
			if (ifindex > 0 && ifindex < (int)ARRAY_SIZE(skip_clsact) && !skip_clsact[ifindex])
				srv_clsact_destroy(ifindex);
		} else if (!strcmp(k, "state") && r->argc == 1) {
			unlink(r->argv[0]);
		} else {
			mplb_warn("server: unknown journal record '%s' ignored", k);
		}
	}
	if (pm_ok)
		mptcp_pm_nl_close(&pm);
	if (errors) {
		mplb_err("server: %d changes could not be undone; the journal %s is kept", errors,
			 journal_path);
		free(recs);
		return -1;
	}
	if (n_kept) {
		/* Rewrite the journal with what is left (and the namespace it belongs to). */
		struct journal j;
		char ino_s[32];
		const char *args[JOURNAL_MAX_ARGS];
		snprintf(ino_s, sizeof(ino_s), "%lu", ino);
		args[0] = ino_s;
		if (journal_create(&j, journal_path) || journal_add(&j, "netns", 1, args)) {
			free(recs);
			return -1;
		}
		for (int i = n_kept - 1; i >= 0; i--) {
			const struct journal_record *r = &recs[kept[i]];
			for (int k = 0; k < r->argc; k++)
				args[k] = r->argv[k];
			journal_add(&j, r->kind, r->argc, args);
		}
		journal_close(&j);
		free(recs);
		return 0;
	}
	free(recs);
	unlink(journal_path);
	return 0;
}

/* ---- initial subflow policy (per-server) ----------------------------------- */

static int vip_of(const struct agent *a, int family, const union mptcp_pm_nl_inaddr *addr,
		  uint16_t port)
{
	for (int i = 0; i < a->cfg.n_vips; i++) {
		const struct srv_cfg_vip *v = &a->cfg.vips[i];
		if (v->addr.family == family && v->port == port &&
		    !memcmp(v->addr.addr, addr, family == AF_INET ? 4 : 16))
			return i;
	}
	return -1;
}

static bool own_addr(const struct agent *a, int family, const union mptcp_pm_nl_inaddr *addr)
{
	for (int i = 0; i < a->cfg.n_addrs; i++)
		if (a->cfg.addrs[i].family == family &&
		    !memcmp(a->cfg.addrs[i].addr, addr, family == AF_INET ? 4 : 16))
			return true;
	return false;
}

/* Events of a dual-stack ([::]) listener carry IPv4 as ::ffff:a.b.c.d: match it as IPv4. */
static int unmapped(int family, const union mptcp_pm_nl_inaddr *in, union mptcp_pm_nl_inaddr *out)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	*out = *in;
	if (family == AF_INET6 && !memcmp(in->v6.s6_addr, prefix, 12)) {
		memset(out, 0, sizeof(*out));
		memcpy(&out->v4, &in->v6.s6_addr[12], 4);
		return AF_INET;
	}
	return family;
}

static struct srv_conn *conn_find(struct agent *a, uint32_t token)
{
	for (int i = 0; i < a->n_conns; i++)
		if (a->conns[i].token == token)
			return &a->conns[i];
	return NULL;
}

static void act_initial(struct agent *a, struct srv_conn *c)
{
	const struct srv_cfg_vip *v = &a->cfg.vips[c->vip];
	char l[64], r[64];

	c->acted = true;
	sockaddr_str((struct sockaddr *)&c->local, l, sizeof(l));
	sockaddr_str((struct sockaddr *)&c->remote, r, sizeof(r));
	if (v->initial_subflow == SRV_INITIAL_CLOSE) {
		const void *la, *ra;
		uint16_t lp, rp;
		int rc;
		if (c->local.ss_family == AF_INET) {
			la = &((struct sockaddr_in *)&c->local)->sin_addr;
			ra = &((struct sockaddr_in *)&c->remote)->sin_addr;
			lp = ntohs(((struct sockaddr_in *)&c->local)->sin_port);
			rp = ntohs(((struct sockaddr_in *)&c->remote)->sin_port);
		} else {
			la = &((struct sockaddr_in6 *)&c->local)->sin6_addr;
			ra = &((struct sockaddr_in6 *)&c->remote)->sin6_addr;
			lp = ntohs(((struct sockaddr_in6 *)&c->local)->sin6_port);
			rp = ntohs(((struct sockaddr_in6 *)&c->remote)->sin6_port);
		}
		rc = sock_destroy_tcp(c->local.ss_family, la, lp, ra, rp);
		if (rc) {
			a->initial_failed++;
			mplb_warn("server: closing the initial subflow %s -> %s of token %08x failed: %s",
				  l, r, c->token, strerror(-rc));
		} else {
			a->initial_closed++;
			mplb_dbg("server: closed initial subflow %s -> %s (token %08x)", l, r, c->token);
		}
	} else if (v->initial_subflow == SRV_INITIAL_BACKUP) {
		/*
		 * The in-kernel PM has no per-connection MP_PRIO: SET_FLAGS on the
		 * VIP's endpoint sends MP_PRIO on the VIP subflow of every
		 * connection that announced an address. Toggle it, so that the
		 * connections that joined since the last toggle get it too.
		 */
		for (int k = 0; k < a->n_eps; k++) {
			struct mptcp_pm_nl_addr na;
			if (!srv_addr_eq(&a->eps[k].addr, &v->addr) || a->eps[k].port)
				continue;
			to_nl_addr(&a->eps[k].addr, 0, &na);
			na.id = a->eps[k].id;
			mptcp_pm_nl_endpoint_set_flags(&a->pm, &na, 0);
			if (mptcp_pm_nl_endpoint_set_flags(&a->pm, &na, MPTCP_PM_ADDR_FLAG_BACKUP)) {
				a->initial_failed++;
				mplb_warn("server: SET_FLAGS backup on the VIP endpoint failed: %s",
					  a->pm.errmsg);
			} else {
				a->initial_backup++;
			}
			break;
		}
	}
}

static void on_pm_event(const struct mptcp_pm_nl_event *ev, void *data)
{
	struct agent *a = data;
	struct srv_conn *c;

	srv_sync_event(a->sync, a, ev);
	switch (ev->type) {
	case MPTCP_EVENT_CREATED:
	case MPTCP_EVENT_ESTABLISHED: {
		union mptcp_pm_nl_inaddr local;
		int vip;
		if (!ev->server_side || !ev->has_saddr || !ev->has_daddr)
			return;
		vip = vip_of(a, unmapped(ev->family, &ev->saddr, &local), &local, ev->sport);
		if (vip < 0 || a->cfg.vips[vip].initial_subflow == SRV_INITIAL_KEEP)
			return;
		if ((c = conn_find(a, ev->token)))
			return;
		if (a->n_conns >= SRV_MAX_CONNS) {
			/* Drop the oldest: a full table must not stop new connections. */
			memmove(&a->conns[0], &a->conns[1], sizeof(a->conns[0]) * (SRV_MAX_CONNS - 1));
			a->n_conns--;
		}
		c = &a->conns[a->n_conns++];
		memset(c, 0, sizeof(*c));
		c->token = ev->token;
		c->vip = vip;
		mptcp_pm_nl_sockaddr(&c->local, ev->family, &ev->saddr, ev->sport);
		mptcp_pm_nl_sockaddr(&c->remote, ev->family, &ev->daddr, ev->dport);
		break;
	}
	case MPTCP_EVENT_SUB_ESTABLISHED: {
		union mptcp_pm_nl_inaddr local;
		c = conn_find(a, ev->token);
		if (!c || c->acted || !ev->has_saddr ||
		    !own_addr(a, unmapped(ev->family, &ev->saddr, &local), &local))
			return;
		act_initial(a, c);
		break;
	}
	case MPTCP_EVENT_CLOSED:
		c = conn_find(a, ev->token);
		if (c) {
			*c = a->conns[a->n_conns - 1];
			a->n_conns--;
		}
		break;
	default:
		break;
	}
}

/* ---- run --------------------------------------------------------------------- */

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && mplb_verbose < 2)
		return 0;
	if (level == LIBBPF_INFO && !mplb_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int take_lock(struct agent *a)
{
	mkdir(SRV_RUN_DIR, 0755);
	a->lock_fd = open(a->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (a->lock_fd < 0) {
		mplb_err("server: cannot open %s: %s", a->lock_path, strerror(errno));
		return -1;
	}
	if (flock(a->lock_fd, LOCK_EX | LOCK_NB)) {
		char pid[32] = "?";
		ssize_t n = pread(a->lock_fd, pid, sizeof(pid) - 1, 0);
		if (n > 0)
			pid[n] = 0;
		pid[strcspn(pid, "\n")] = 0;
		mplb_err("server: instance '%s' is already running (pid %s); stop it first, or give "
			 "this config another [server] name", a->cfg.name, pid);
		close(a->lock_fd);
		a->lock_fd = -1;
		return -1;
	}
	char pid[32];
	int len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(a->lock_fd, 0) || pwrite(a->lock_fd, pid, (size_t)len, 0) != len)
		mplb_warn("server: cannot write the pid to %s", a->lock_path);
	return 0;
}

static void summary(const struct agent *a)
{
	const struct srv_cfg *cfg = &a->cfg;
	char s[64], as[INET6_ADDRSTRLEN];

	printf("mplb server: %s (backend id %ld) up in netns %lu:", cfg->name, cfg->id, a->netns_ino);
	for (int i = 0; i < cfg->n_vips; i++) {
		const struct srv_cfg_vip *v = &cfg->vips[i];
		printf(" vip %s %s%s%s:%u %s", v->name, v->addr.family == AF_INET6 ? "[" : "",
		       srv_addr_str(&v->addr, as, sizeof(as)), v->addr.family == AF_INET6 ? "]" : "",
		       v->port, srv_scheme_str(v->scheme, s, sizeof(s)));
	}
	printf("; C bit %s; endpoints %d; tc on", a->c_bit ? "set" : "off", a->n_eps);
	for (int i = 0; i < a->bpf.n_att; i += 2)
		printf(" %s", a->bpf.att[i].ifname);
	if (!a->bpf.n_att)
		printf(" (none)");
	if (cfg->health_port)
		printf("; health :%u", cfg->health_port);
	printf("\n");
	fflush(stdout);
}

int srv_run(const char *cfg_path)
{
	struct agent *a = calloc(1, sizeof(*a));
	sigset_t sigs;
	int sfd = -1, rc = 1;
	double next_state = 0, next_sweep = 0;

	if (!a)
		return 1;
	a->lock_fd = a->health_fd = -1;
	a->j.fd = -1;
	a->bpf.sockops_link_fd = -1;
	if (srv_cfg_load(cfg_path, &a->cfg) || srv_cfg_validate(&a->cfg))
		goto out_free;
	if (require_root("mplb server run (sysctls, MPTCP endpoints, BPF)") ||
	    mplb_bpffs_ensure("mplb server run"))
		goto out_free;
	libbpf_set_print(libbpf_print);
	a->started = now_sec();
	srv_paths(a->cfg.name, a->state_path, a->journal_path, a->lock_path, sizeof(a->state_path));
	if (take_lock(a))
		goto out_free;
	if (netns_inode(&a->netns_ino) || netns_cookie(&a->netns_cookie)) {
		mplb_err("server: cannot identify this network namespace: %s", strerror(errno));
		goto out_unlock;
	}
	if (access(a->journal_path, F_OK) == 0) {
		say(true, "undoing the changes of a previous run that did not exit cleanly (%s)",
		    a->journal_path);
		if (srv_undo_journal(a->journal_path, true))
			goto out_unlock;
	}
	if (mptcp_pm_nl_open(&a->pm)) {
		mplb_err("server: the kernel has no mptcp_pm netlink family: CONFIG_MPTCP is off");
		goto out_unlock;
	}
	if (srv_check_system(a))
		goto out_pm;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);

	if (apply(a)) {
		mplb_err("server: setup failed; undoing what was done");
		goto out_teardown;
	}
	/* Events for token sync and the initial_subflow policy (CAP_NET_ADMIN: we have it). */
	a->sync = srv_sync_open(a);
	if (a->cfg.n_sync_lbs && !a->sync) {
		mplb_err("server: cannot open the token sync sockets: %s", strerror(errno));
		goto out_teardown;
	}
	for (int i = 0; i < a->cfg.n_vips; i++)
		if ((a->cfg.vips[i].initial_subflow != SRV_INITIAL_KEEP || a->sync) && !a->pm_events) {
			if (mptcp_pm_nl_subscribe(&a->pm))
				agent_warn(a, "cannot subscribe to mptcp_pm events: initial_subflow "
					      "policy inactive; token sync by snapshot only");
			else
				a->pm_events = true;
		}
	a->metrics = srv_metrics_start(a);
	if (a->cfg.has_metrics && !a->metrics)
		goto out_teardown;
	srv_health_evaluate(a);
	summary(a);
	for (;;) {
		struct pollfd p[3] = {{.fd = sfd, .events = POLLIN},
				      {.fd = a->health_fd, .events = POLLIN},
				      {.fd = a->pm_events ? mptcp_pm_nl_event_fd(&a->pm) : -1,
				       .events = POLLIN}};
		double now = now_sec();
		int wait = next_state > now ? (int)((next_state - now) * 1000) + 1 : 0;
		double sync_in = srv_sync_tick(a->sync, a);

		if (sync_in >= 0 && (int)(sync_in * 1000) + 1 < wait)
			wait = (int)(sync_in * 1000) + 1;

		if (poll(p, 3, wait) < 0 && errno != EINTR)
			break;
		if (p[0].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGHUP) {
				say(true, "SIGHUP: configuration changes take effect on restart; state "
					  "refreshed");
				next_state = 0;
			} else {
				break;
			}
		}
		if (p[1].revents)
			srv_health_serve(a);
		if (p[2].revents) {
			int n = mptcp_pm_nl_read_events(&a->pm, on_pm_event, a);
			if (n == -ENOBUFS)
				agent_warn(a, "mptcp_pm events were lost (socket overrun)");
		}
		if (now_sec() >= next_state) {
			srv_health_evaluate(a);
			srv_state_write(a);
			next_state = now_sec() + STATE_PERIOD_MS / 1000.0;
		}
		if (a->bpf.iter_link && now_sec() >= next_sweep) {
			srv_bpf_sweep(&a->bpf);
			next_sweep = now_sec() + SWEEP_PERIOD_S;
		}
	}
	say(true, "%s: stopping, undoing every change", a->cfg.name);
	rc = 0;
out_teardown:
	srv_metrics_stop(a->metrics); /* before the maps it reads */
	a->metrics = NULL;
	srv_sync_close(a->sync);
	a->sync = NULL;
	if (a->health_fd >= 0)
		close(a->health_fd);
	a->health_fd = -1;
	if (a->bpf_loaded)
		srv_bpf_destroy(&a->bpf); /* links first: the programs stop before the maps go */
	journal_close(&a->j);
	if (srv_undo_journal(a->journal_path, mplb_verbose > 0))
		rc = 1;
	if (sfd >= 0)
		close(sfd);
out_pm:
	mptcp_pm_nl_close(&a->pm);
out_unlock:
	if (a->lock_fd >= 0) {
		unlink(a->lock_path);
		close(a->lock_fd);
	}
out_free:
	free(a);
	return rc;
}
