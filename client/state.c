// SPDX-License-Identifier: MIT
/*
 * mplb client state file: the daemon rewrites it (tmp + rename, so readers
 * never see half a file) on every change; "mplb client status" reads it.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client/attr_bpf.h"
#include "client/client_int.h"
#include "util.h"

static json_t *ip_json(int family, const union mptcp_pm_nl_inaddr *a)
{
	char buf[64];
	return json_string(mptcp_pm_nl_inaddr_str(family, a, buf, sizeof(buf)));
}

static json_t *ep_json(int family, const union mptcp_pm_nl_inaddr *a, uint16_t port)
{
	char ip[64], buf[80];
	mptcp_pm_nl_inaddr_str(family, a, ip, sizeof(ip));
	snprintf(buf, sizeof(buf), family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
	return json_string(buf);
}

static json_t *attr_json(const struct cl_attr *a)
{
	static const char *const src[] = {"none", "config", "wire", "wire-draft"};
	if (!a->source)
		return json_null();
	return json_pack("{s:s, s:b, s:i, s:i}", "source", src[a->source & 3], "backup", a->backup,
			 "priority", a->prio, "community", a->community);
}

static json_t *token_json(uint32_t token)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "0x%08x", token);
	return json_string(buf);
}

json_t *client_state_json(const struct client_daemon *d)
{
	const struct cl_ctx *ctx = &d->ctx;
	json_t *root = json_object();
	json_t *ups = json_array(), *conns = json_array(), *decs = json_array();
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_set_new(root, "pid", json_integer(getpid()));
	json_object_set_new(root, "netns", json_string(d->netns));
	{
		char units[160];
		json_object_set_new(root, "policy", json_string(cl_policy_names(ctx, units, sizeof(units))));
	}
	json_object_set_new(root, "max_subflows", json_integer(ctx->cfg.max_subflows));
	json_object_set_new(root, "path_manager_before", json_string(d->old_pm));
	json_object_set_new(root, "updated", json_real(ts.tv_sec + ts.tv_nsec / 1e9));
	json_object_set_new(root, "mono", json_real(ctx->now));

	for (int i = 0; i < CL_MAX_UPLINKS; i++) {
		const struct cl_uplink *u = &ctx->uplinks[i];
		if (!u->used || !u->allowed)
			continue;
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(u->name));
		json_object_set_new(o, "ifindex", json_integer(u->ifindex));
		json_object_set_new(o, "up", json_boolean(u->oper_up));
		union mptcp_pm_nl_inaddr a;
		if (u->has_v4) {
			a.v4 = u->v4;
			json_object_set_new(o, "ipv4", ip_json(AF_INET, &a));
		}
		if (u->has_v6) {
			a.v6 = u->v6;
			json_object_set_new(o, "ipv6", ip_json(AF_INET6, &a));
		}
		json_array_append_new(ups, o);
	}
	json_object_set_new(root, "uplinks", ups);

	for (const struct cl_conn *c = ctx->conns; c; c = c->next) {
		json_t *o = json_object(), *rs = json_array(), *sfs = json_array();
		json_object_set_new(o, "token", token_json(c->token));
		json_object_set_new(o, "local", ep_json(c->family, &c->laddr, c->lport));
		json_object_set_new(o, "remote", ep_json(c->family, &c->raddr, c->rport));
		json_object_set_new(o, "established", json_boolean(c->established));
		json_object_set_new(o, "deny_join_id0", json_boolean(c->deny_join_id0));
		json_object_set_new(o, "peer_sends_attributes", json_boolean(c->peer_attrs));
		if (c->bk.broken || c->bk.target_id >= 0 || c->bk.standby_id >= 0)
			json_object_set_new(o, "backup_state", json_pack("{s:b, s:i, s:i}",
				"broken", c->bk.broken, "failover_to_id", c->bk.target_id,
				"standby_id", c->bk.standby_id));
		for (int i = 0; i < CL_MAX_REMOTES; i++) {
			const struct cl_remote *r = &c->remotes[i];
			if (!r->used)
				continue;
			json_array_append_new(rs, json_pack("{s:i, s:o, s:i, s:b, s:b, s:b, s:o, s:b, s:b}",
				"id", r->id, "address", ip_json(r->family, &r->addr),
				"port", r->port, "initial", r->initial,
				"removed", r->removed, "usable", cl_remote_usable(ctx, c, r),
				"attributes", attr_json(&r->attr),
				"waiting_for_attributes", r->attr_deadline > 0,
				"waiting_for_same_family", r->cross_deadline > 0));
		}
		json_object_set_new(o, "remote_addresses", rs);
		for (int i = 0; i < CL_MAX_SUBFLOWS; i++) {
			const struct cl_subflow *sf = &c->subflows[i];
			if (!sf->used)
				continue;
			const struct cl_uplink *u = NULL;
			for (int k = 0; k < CL_MAX_UPLINKS && !u; k++)
				if (ctx->uplinks[k].used && ctx->uplinks[k].ifindex == sf->ifindex)
					u = &ctx->uplinks[k];
			json_t *j = json_pack(
				"{s:o, s:o, s:s, s:i, s:i, s:s, s:b, s:i, s:i, s:b, s:b}",
				"local", ep_json(sf->family, &sf->laddr, sf->lport),
				"remote", ep_json(sf->family, &sf->raddr, sf->rport),
				"uplink", u ? u->name : "", "loc_id", sf->loc_id,
				"rem_id", sf->rem_id, "state", cl_sf_state_name(sf->state),
				"initial", sf->initial, "attempts", sf->attempts,
				"error", sf->last_error, "backup", sf->backup,
				"peer_backup", sf->peer_backup);
			if (sf->failover)
				json_object_set_new(j, "failover", json_true());
			if (sf->standby)
				json_object_set_new(j, "standby", json_true());
			if (sf->hl.dark)
				json_object_set_new(j, "dark", json_true());
			json_array_append_new(sfs, j);
		}
		json_object_set_new(o, "subflows", sfs);
		json_array_append_new(conns, o);
	}
	json_object_set_new(root, "connections", conns);

	unsigned n = ctx->n_decisions < CL_DECISIONS ? ctx->n_decisions : CL_DECISIONS;
	for (unsigned k = ctx->n_decisions - n; k < ctx->n_decisions; k++) {
		const struct cl_decision *dc = &ctx->decisions[k % CL_DECISIONS];
		json_array_append_new(decs, json_pack("{s:f, s:o, s:s}", "mono", dc->time,
						      "token", token_json(dc->token),
						      "text", dc->text));
	}
	json_object_set_new(root, "decisions", decs);

	/* Attributes: what the daemon did with them, and what the BPF side counted. */
	json_t *at = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"wire", d->attr != NULL,
		"pairs", (json_int_t)ctx->attr_stats.pairs, "applied", (json_int_t)ctx->attr_stats.applied,
		"held_until_announced", (json_int_t)ctx->attr_stats.early,
		"held_for_connection", (json_int_t)ctx->attr_stats.orphaned,
		"expired", (json_int_t)ctx->attr_stats.expired, "changed", (json_int_t)ctx->attr_stats.changed,
		"decided_without", (json_int_t)ctx->attr_stats.waited_out);
	if (d->attr) {
		uint64_t st[CLA_STAT_MAX];
		json_t *b = json_object();
		if (!client_attr_stats(d->attr, st))
			for (unsigned k = 0; k < CLA_STAT_MAX; k++)
				json_object_set_new(b, client_attr_stat_name(k), json_integer((json_int_t)st[k]));
		json_object_set_new(b, "rejected_records", json_integer((json_int_t)client_attr_rejected(d->attr)));
		json_object_set_new(at, "bpf", b);
	}
	json_object_set_new(root, "attributes", at);
	json_object_set_new(root, "health", json_pack("{s:b, s:I, s:I, s:I, s:I}",
		"sampling", d->health != NULL,
		"probes", (json_int_t)ctx->health_stats.probes,
		"answered", (json_int_t)ctx->health_stats.answered,
		"dark", (json_int_t)ctx->health_stats.dark,
		"back", (json_int_t)ctx->health_stats.back));
	return root;
}

int client_state_save(struct client_daemon *d)
{
	char tmp[PATH_MAX + 8];
	json_t *root = client_state_json(d);
	int rc = 0;

	d->ctx.dirty = false;
	mkdir(d->state_dir, 0755);
	snprintf(tmp, sizeof(tmp), "%s.tmp", d->state_path);
	if (json_dump_file(root, tmp, JSON_INDENT(1)) < 0 || rename(tmp, d->state_path) < 0) {
		static bool warned;
		if (!warned)
			mplb_warn("cannot write state file %s: %s", d->state_path, strerror(errno));
		warned = true;
		unlink(tmp);
		rc = -1;
	}
	json_decref(root);
	return rc;
}

void client_state_remove(struct client_daemon *d)
{
	if (d->state_path[0])
		unlink(d->state_path);
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

int client_status(const char *path, bool json)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	size_t i, k;
	json_t *v, *w;

	if (!root) {
		mplb_err("cannot read %s: %s (is 'mplb client run' running?)", path, jerr.text);
		return 1;
	}
	if (json) {
		char *s = json_dumps(root, JSON_COMPACT);
		printf("%s\n", s ? s : "{}");
		free(s);
		json_decref(root);
		return 0;
	}
	printf("mplb client (pid %lld%s%s), policy %s, max_subflows %lld, path_manager was %s\n",
	       (long long)json_integer_value(json_object_get(root, "pid")),
	       jstr(root, "netns")[0] ? ", netns " : "", jstr(root, "netns"),
	       jstr(root, "policy"),
	       (long long)json_integer_value(json_object_get(root, "max_subflows")),
	       jstr(root, "path_manager_before"));
	printf("uplinks:\n");
	json_array_foreach(json_object_get(root, "uplinks"), i, v)
		printf("  %-10s %-4s %-16s %s\n", jstr(v, "name"),
		       json_is_true(json_object_get(v, "up")) ? "up" : "down",
		       jstr(v, "ipv4"), jstr(v, "ipv6"));
	printf("connections:\n");
	json_array_foreach(json_object_get(root, "connections"), i, v) {
		printf("  %s %s -> %s%s%s\n", jstr(v, "token"), jstr(v, "local"),
		       jstr(v, "remote"),
		       json_is_true(json_object_get(v, "established")) ? "" : " (not established)",
		       json_is_true(json_object_get(v, "deny_join_id0")) ? " (deny-join-id0)" : "");
		printf("    remote addresses:\n");
		json_array_foreach(json_object_get(v, "remote_addresses"), k, w) {
			json_t *a = json_object_get(w, "attributes");
			char attrs[96] = "no attributes";
			if (json_is_object(a))
				snprintf(attrs, sizeof(attrs), "prio %lld community %lld%s (%s)",
					 (long long)json_integer_value(json_object_get(a, "priority")),
					 (long long)json_integer_value(json_object_get(a, "community")),
					 json_is_true(json_object_get(a, "backup")) ? " backup" : "",
					 jstr(a, "source"));
			printf("      id %-3lld %s port %lld  %s%s%s%s%s\n",
			       (long long)json_integer_value(json_object_get(w, "id")),
			       jstr(w, "address"),
			       (long long)json_integer_value(json_object_get(w, "port")), attrs,
			       json_is_true(json_object_get(w, "initial")) ? " (initial)" : "",
			       json_is_true(json_object_get(w, "usable")) ? "" : " (not used)",
			       json_is_true(json_object_get(w, "waiting_for_attributes")) ? " (waiting for attributes)" : "",
			       json_is_true(json_object_get(w, "waiting_for_same_family")) ? " (held: waiting for an IPv6 address)" : "");
		}
		printf("    subflows:\n");
		json_array_foreach(json_object_get(v, "subflows"), k, w)
			/*
			 * Two backup bits: ours (MP_JOIN B / MP_PRIO we sent; the kernel's
			 * request_bkup) and the peer's (what its SYN/ACK or MP_PRIO said;
			 * the `backup` of `ip mptcp monitor`). The scheduler honours either.
			 */
			printf("      %-6s %s -> %s  %s%s%s%s%s%s%s\n", jstr(w, "uplink"), jstr(w, "local"),
			       jstr(w, "remote"), jstr(w, "state"),
			       json_is_true(json_object_get(w, "initial")) ? " (initial)" : "",
			       json_is_true(json_object_get(w, "backup")) ? " backup (ours)" : "",
			       json_is_true(json_object_get(w, "peer_backup")) ? " backup (peer's)" : "",
			       json_is_true(json_object_get(w, "failover")) ? " failover" : "",
			       json_is_true(json_object_get(w, "standby")) ? " standby" : "",
			       json_is_true(json_object_get(w, "dark")) ? " DARK" : "");
	}
	printf("decisions:\n");
	json_array_foreach(json_object_get(root, "decisions"), i, v)
		printf("  %s %s\n", jstr(v, "token"), jstr(v, "text"));
	{
		json_t *at = json_object_get(root, "attributes"), *b = json_object_get(at, "bpf");
		const char *key;
		printf("attributes (%s): pairs %lld, applied %lld, expired %lld, decided without %lld\n",
		       json_is_true(json_object_get(at, "wire")) ? "wire" : "config only",
		       (long long)json_integer_value(json_object_get(at, "pairs")),
		       (long long)json_integer_value(json_object_get(at, "applied")),
		       (long long)json_integer_value(json_object_get(at, "expired")),
		       (long long)json_integer_value(json_object_get(at, "decided_without")));
		if (json_is_object(b)) {
			printf("  bpf:");
			json_object_foreach(b, key, v)
				if (json_integer_value(v))
					printf(" %s %lld", key, (long long)json_integer_value(v));
			printf("\n");
		}
	}
	{
		json_t *h = json_object_get(root, "health");
		if (json_is_object(h))
			printf("dark-path detection (%s): probes %lld, answered %lld, paths dark %lld, back %lld\n",
			       json_is_true(json_object_get(h, "sampling")) ? "sock_diag" : "off",
			       (long long)json_integer_value(json_object_get(h, "probes")),
			       (long long)json_integer_value(json_object_get(h, "answered")),
			       (long long)json_integer_value(json_object_get(h, "dark")),
			       (long long)json_integer_value(json_object_get(h, "back")));
	}
	json_decref(root);
	return 0;
}
