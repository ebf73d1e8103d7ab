// SPDX-License-Identifier: MIT
/*
 * State file of a running agent (/run/mplb/server-<name>.json, rewritten
 * every second) and `mplb server status`, which prints it together with the
 * live BPF maps pinned under /sys/fs/bpf/mplb/server-<name>/.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "bpf/server_agent.skel.h"
#include "server_int.h"
#include "sysmounts.h"
#include "util.h"

#define SRV_STAT_NAME_(id, name) name,
static const char *const stat_names[] = {SRV_STATS(SRV_STAT_NAME_)};
#undef SRV_STAT_NAME_

/* MIB counters worth showing next to the agent's own (per namespace). */
static const char *const mib_names[] = {
	"AddAddrTx", "AddAddrTxDrop", "EchoAdd", "AddAddr", "EchoAddTx", "MPJoinSynRx",
	"MPJoinAckRx", "MPJoinPortSynRx", "MPJoinRejected", "MismatchPortSynRx",
	"MPCapableSYNRX", "MPCapableEndpAttempt", "MPPrioTx", "MPCurrEstab", "RmSubflow", NULL};

static json_t *counters_json(int fd)
{
	json_t *o = json_object();

	for (uint32_t i = 0; fd >= 0 && i < SRV_STAT_MAX; i++) {
		uint64_t v;
		if (srv_percpu_sum(fd, i, &v) == 0)
			json_object_set_new(o, stat_names[i], json_integer((json_int_t)v));
	}
	return o;
}

static double mono_ms_since(uint64_t ns, uint64_t now_ns)
{
	return ns && now_ns >= ns ? (double)(now_ns - ns) / 1e6 : -1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Announcements grouped per connection (token). The kernel sends at most
 * 1 + 3 retransmissions (ADD_ADDR_RETRANS_MAX): an announcement without echo
 * after 4 transmissions, or 5 s after the last one, is reported never echoed.
 */
static json_t *announcements_json(int fd)
{
	json_t *conns = json_object(), *out = json_array();
	struct srv_ann_key cur, next;
	uint64_t now = mono_ns();
	bool have = fd >= 0 && bpf_map_get_next_key(fd, NULL, &next) == 0;

	while (have) {
		struct srv_ann_val v;
		char tok[16], as[INET6_ADDRSTRLEN];

		cur = next;
		have = bpf_map_get_next_key(fd, &cur, &next) == 0;
		if (bpf_map_lookup_elem(fd, &cur, &v))
			continue;
		snprintf(tok, sizeof(tok), "%08x", cur.token);
		json_t *c = json_object_get(conns, tok);
		if (!c) {
			c = json_object();
			json_object_set_new(c, "token", json_string(tok));
			json_object_set_new(c, "announcements", json_array());
			json_object_set_new(conns, tok, c);
		}
		inet_ntop(cur.family == SRV_FAMILY_V4 ? AF_INET : AF_INET6, cur.addr, as, sizeof(as));
		json_t *a = json_object();
		json_object_set_new(a, "address", json_string(as));
		json_object_set_new(a, "port", json_integer(ntohs(cur.port)));
		json_object_set_new(a, "addr_id", json_integer(v.addr_id));
		json_object_set_new(a, "sent", json_integer(v.tx));
		json_object_set_new(a, "retransmitted", json_integer(v.tx ? v.tx - 1 : 0));
		json_object_set_new(a, "echoed", json_integer(v.echoes));
		json_object_set_new(a, "joins", json_integer(v.joins));
		/* The kernel sends at most 4 (ADD_ADDR_RETRANS_MAX 3); 5 s covers the timer at RTO 200 ms. */
		json_object_set_new(a, "never_echoed",
				    json_boolean(v.echoes == 0 &&
						 (v.tx >= 4 || mono_ms_since(v.last_tx_ns, now) > 5000)));
		json_object_set_new(a, "echo_after_ms",
				    v.first_echo_ns ? json_real((double)(v.first_echo_ns - v.first_tx_ns) / 1e6)
						    : json_null());
		json_object_set_new(a, "join_after_ms",
				    v.join_ns && v.join_ns >= v.first_tx_ns
					    ? json_real((double)(v.join_ns - v.first_tx_ns) / 1e6)
					    : json_null());
		json_object_set_new(a, "age_ms", json_real(mono_ms_since(v.first_tx_ns, now)));
		json_array_append_new(json_object_get(c, "announcements"), a);
	}
	const char *k;
	json_t *c;
	json_object_foreach(conns, k, c)
		json_array_append(out, c);
	json_decref(conns);
	return out;
}

int srv_state_write(struct agent *a)
{
	const struct srv_cfg *cfg = &a->cfg;
	json_t *root = json_object(), *vips = json_array(), *eps = json_array(), *sys = json_object();
	json_t *att = json_array(), *addrs = json_array(), *warns = json_array(), *mib = json_object();
	char tmp[300], s[64], as[INET6_ADDRSTRLEN];
	struct srv_mib m;
	int rc = -1;

	json_object_set_new(root, "name", json_string(cfg->name));
	json_object_set_new(root, "config", json_string(cfg->path));
	json_object_set_new(root, "pid", json_integer(getpid()));
	json_object_set_new(root, "netns_inode", json_integer((json_int_t)a->netns_ino));
	json_object_set_new(root, "id", json_integer(cfg->id));
	json_object_set_new(root, "uptime_s", json_real(now_sec() - a->started));
	json_object_set_new(root, "updated", json_integer((json_int_t)time(NULL)));
	for (int i = 0; i < cfg->n_addrs; i++)
		json_array_append_new(addrs, json_string(srv_addr_str(&cfg->addrs[i], as, sizeof(as))));
	json_object_set_new(root, "addresses", addrs);
	for (int i = 0; i < cfg->n_vips; i++) {
		const struct srv_cfg_vip *v = &cfg->vips[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(v->name));
		json_object_set_new(o, "address", json_string(srv_addr_str(&v->addr, as, sizeof(as))));
		json_object_set_new(o, "port", json_integer(v->port));
		json_object_set_new(o, "scheme", json_string(srv_scheme_str(v->scheme, s, sizeof(s))));
		if (v->scheme & SRV_SCHEME_PORT)
			json_object_set_new(o, "join_port", json_integer(srv_vip_join_port(cfg, v)));
		if (v->scheme & SRV_SCHEME_PER_SERVER)
			json_object_set_new(o, "initial_subflow",
					    json_string(srv_initial_str(v->initial_subflow)));
		json_array_append_new(vips, o);
	}
	json_object_set_new(root, "vips", vips);
	json_object_set_new(root, "c_bit", json_boolean(a->c_bit));
	for (int i = 0; i < a->n_sysctls; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "before", json_string(a->sysctls[i].old));
		json_object_set_new(o, "now", json_string(a->sysctls[i].now));
		json_object_set_new(sys, a->sysctls[i].name, o);
	}
	json_object_set_new(root, "sysctls", sys);
	if (a->limits_set) {
		json_t *o = json_object();
		json_object_set_new(o, "subflows", json_integer(cfg->limit_subflows));
		json_object_set_new(o, "subflows_before", json_integer(a->old_limit_sub));
		json_object_set_new(root, "limits", o);
	}
	for (int i = 0; i < a->n_eps; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "id", json_integer(a->eps[i].id));
		json_object_set_new(o, "address", json_string(srv_addr_str(&a->eps[i].addr, as, sizeof(as))));
		json_object_set_new(o, "port", json_integer(a->eps[i].port));
		json_object_set_new(o, "signal", json_boolean(a->eps[i].flags & MPTCP_PM_ADDR_FLAG_SIGNAL));
		json_object_set_new(o, "dev", json_string(a->eps[i].ifname));
		json_object_set_new(o, "why", json_string(a->eps[i].why));
		json_object_set_new(o, "ours", json_boolean(a->eps[i].ours));
		json_array_append_new(eps, o);
	}
	json_object_set_new(root, "endpoints", eps);
	for (int i = 0; i < a->bpf.n_att; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "interface", json_string(a->bpf.att[i].ifname));
		json_object_set_new(o, "direction", json_string(a->bpf.att[i].ingress ? "ingress" : "egress"));
		json_object_set_new(o, "mode", json_string(a->bpf.att[i].tcx ? "tcx" : "clsact"));
		json_array_append_new(att, o);
	}
	json_object_set_new(root, "tc", att);
	json_object_set_new(root, "sock_ops_cgroup",
			    a->bpf.sockops_link_fd >= 0 ? json_string(a->bpf.cgroup) : json_null());
	json_object_set_new(root, "pins", a->bpf.pinned ? json_string(a->bpf.pin_dir) : json_null());
	{
		json_t *h = json_object();
		json_object_set_new(h, "ready", json_boolean(a->health.ready));
		json_object_set_new(h, "reasons", json_string(a->health.reasons));
		json_object_set_new(h, "port", json_integer(cfg->health_port));
		json_object_set_new(h, "requests", json_integer((json_int_t)a->health.requests));
		json_object_set_new(h, "state_for_s", json_real(now_sec() - a->health.since));
		json_object_set_new(root, "health", h);
	}
	{
		json_t *o = json_object();
		json_object_set_new(o, "tracked_connections", json_integer(a->n_conns));
		json_object_set_new(o, "initial_closed", json_integer((json_int_t)a->initial_closed));
		json_object_set_new(o, "initial_backup", json_integer((json_int_t)a->initial_backup));
		json_object_set_new(o, "failed", json_integer((json_int_t)a->initial_failed));
		json_object_set_new(root, "initial_subflow_actions", o);
	}
	if (a->bpf_loaded) {
		json_object_set_new(root, "counters", counters_json(bpf_map__fd(a->bpf.skel->maps.srv_stats)));
		json_object_set_new(root, "announcements",
				    announcements_json(bpf_map__fd(a->bpf.skel->maps.srv_ann)));
	}
	if (srv_mib_read(&m) == 0)
		for (int i = 0; mib_names[i]; i++)
			json_object_set_new(mib, mib_names[i], json_integer((json_int_t)srv_mib_get(&m, mib_names[i])));
	json_object_set_new(root, "mib", mib);
	for (int i = 0; i < a->n_warnings; i++)
		json_array_append_new(warns, json_string(a->warnings[i]));
	json_object_set_new(root, "warnings", warns);

	snprintf(tmp, sizeof(tmp), "%s.tmp", a->state_path);
	if (json_dump_file(root, tmp, JSON_INDENT(2)) == 0 && rename(tmp, a->state_path) == 0)
		rc = 0;
	json_decref(root);
	return rc;
}

/* ---- status ------------------------------------------------------------------ */

static int open_pin(const char *dir, const char *map)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, map);
	return bpf_obj_get(path);
}

static bool pid_alive(json_int_t pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static void print_text(json_t *st, json_t *counters, json_t *anns, bool live)
{
	json_t *v, *h = json_object_get(st, "health");
	size_t i;

	printf("server %s  id %lld  pid %lld (%s)  netns %lld\n",
	       json_string_value(json_object_get(st, "name")),
	       json_integer_value(json_object_get(st, "id")),
	       json_integer_value(json_object_get(st, "pid")), live ? "running" : "NOT RUNNING",
	       json_integer_value(json_object_get(st, "netns_inode")));
	json_array_foreach(json_object_get(st, "vips"), i, v) {
		printf("  vip %-10s %s port %lld  scheme %s", json_string_value(json_object_get(v, "name")),
		       json_string_value(json_object_get(v, "address")),
		       json_integer_value(json_object_get(v, "port")),
		       json_string_value(json_object_get(v, "scheme")));
		if (json_object_get(v, "join_port"))
			printf("  join port %lld", json_integer_value(json_object_get(v, "join_port")));
		if (json_object_get(v, "initial_subflow"))
			printf("  initial subflow %s",
			       json_string_value(json_object_get(v, "initial_subflow")));
		printf("\n");
	}
	printf("  C bit %s\n", json_is_true(json_object_get(st, "c_bit")) ? "set" : "off");
	json_array_foreach(json_object_get(st, "endpoints"), i, v)
		printf("  endpoint id %lld %s%s%lld %s (%s)\n", json_integer_value(json_object_get(v, "id")),
		       json_string_value(json_object_get(v, "address")), " port ",
		       json_integer_value(json_object_get(v, "port")),
		       json_is_true(json_object_get(v, "signal")) ? "signal" : "",
		       json_string_value(json_object_get(v, "why")));
	{
		const char *k;
		json_object_foreach(json_object_get(st, "sysctls"), k, v)
			printf("  sysctl %s = %s (was %s)\n", k, json_string_value(json_object_get(v, "now")),
			       json_string_value(json_object_get(v, "before")));
	}
	json_array_foreach(json_object_get(st, "tc"), i, v)
		printf("  tc %s %s (%s)\n", json_string_value(json_object_get(v, "interface")),
		       json_string_value(json_object_get(v, "direction")),
		       json_string_value(json_object_get(v, "mode")));
	if (json_string_value(json_object_get(st, "sock_ops_cgroup")))
		printf("  sock_ops on %s\n", json_string_value(json_object_get(st, "sock_ops_cgroup")));
	if (h)
		printf("  health %s%s%s (port %lld, %lld requests)\n",
		       json_is_true(json_object_get(h, "ready")) ? "ready" : "NOT READY",
		       json_is_true(json_object_get(h, "ready")) ? "" : ": ",
		       json_string_value(json_object_get(h, "reasons")),
		       json_integer_value(json_object_get(h, "port")),
		       json_integer_value(json_object_get(h, "requests")));
	if (counters && json_object_size(counters)) {
		const char *k;
		printf("  counters:");
		json_object_foreach(counters, k, v)
			if (json_integer_value(v))
				printf(" %s=%lld", k, json_integer_value(v));
		printf("\n");
	}
	{
		const char *k;
		printf("  MIB:");
		json_object_foreach(json_object_get(st, "mib"), k, v)
			printf(" %s=%lld", k, json_integer_value(v));
		printf("\n");
	}
	if (anns && json_array_size(anns)) {
		json_t *c;
		printf("  announcements (per connection):\n");
		json_array_foreach(anns, i, c) {
			size_t j;
			json_t *a;
			json_array_foreach(json_object_get(c, "announcements"), j, a) {
				json_t *e = json_object_get(a, "echo_after_ms"), *jn = json_object_get(a, "join_after_ms");
				printf("    token %s  %s port %lld id %lld: sent %lld, retransmitted %lld, "
				       "echoed %lld%s",
				       json_string_value(json_object_get(c, "token")),
				       json_string_value(json_object_get(a, "address")),
				       json_integer_value(json_object_get(a, "port")),
				       json_integer_value(json_object_get(a, "addr_id")),
				       json_integer_value(json_object_get(a, "sent")),
				       json_integer_value(json_object_get(a, "retransmitted")),
				       json_integer_value(json_object_get(a, "echoed")),
				       json_is_true(json_object_get(a, "never_echoed")) ? " NEVER ECHOED" : "");
				if (json_is_number(e))
					printf(", echo after %.1f ms", json_number_value(e));
				if (json_is_number(jn))
					printf(", join after %.1f ms", json_number_value(jn));
				printf("\n");
			}
		}
	}
	json_array_foreach(json_object_get(st, "warnings"), i, v)
		printf("  warning: %s\n", json_string_value(v));
}

int srv_status(const char *cfg_path, const char *name, bool json)
{
	struct srv_cfg *cfg = calloc(1, sizeof(*cfg));
	char state[256], dir[256];
	json_t *st, *counters = NULL, *anns = NULL;
	json_error_t jerr;
	int fd_stats, fd_ann, rc = 1;
	bool live;

	if (!cfg)
		return 1;
	if (cfg_path) {
		if (srv_cfg_load(cfg_path, cfg))
			goto out;
		name = cfg->name;
	}
	srv_paths(name, state, NULL, NULL, sizeof(state));
	st = json_load_file(state, 0, &jerr);
	if (!st) {
		mplb_err("server status: no state at %s: is `mplb server run` running with [server] "
			 "name = %s?", state, name);
		goto out;
	}
	live = pid_alive(json_integer_value(json_object_get(st, "pid")));
	srv_pin_dir(name, dir, sizeof(dir));
	fd_stats = open_pin(dir, "srv_stats");
	fd_ann = open_pin(dir, "srv_ann");
	if (live && fd_stats < 0 && json_is_string(json_object_get(st, "pins")))
		mplb_warn("server status: the agent runs but its maps at %s cannot be opened (%s%s): "
			  "showing its last snapshot", dir, strerror(errno),
			  mplb_bpffs_mounted() ? "" : "; /sys/fs/bpf is not the bpffs here: under `ip "
			  "netns exec`? use nsenter --net=/run/netns/NS");
	/* Live maps when they are reachable (same bpffs), else the agent's last snapshot. */
	counters = fd_stats >= 0 ? counters_json(fd_stats) : json_incref(json_object_get(st, "counters"));
	anns = fd_ann >= 0 ? announcements_json(fd_ann) : json_incref(json_object_get(st, "announcements"));
	if (fd_stats >= 0)
		close(fd_stats);
	if (fd_ann >= 0)
		close(fd_ann);
	if (json) {
		json_object_set_new(st, "running", json_boolean(live));
		json_object_set_new(st, "live_maps", json_boolean(fd_stats >= 0));
		if (counters)
			json_object_set(st, "counters", counters);
		if (anns)
			json_object_set(st, "announcements", anns);
		json_dumpf(st, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		print_text(st, counters, anns, live);
	}
	json_decref(counters);
	json_decref(anns);
	json_decref(st);
	rc = live ? 0 : 3;
out:
	free(cfg);
	return rc;
}
