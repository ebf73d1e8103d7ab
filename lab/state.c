/* SPDX-License-Identifier: MIT */
/*
 * The lab's state file, /run/mplb/<name>/lab.json: the options it was built
 * with, every host with its namespace, role, interfaces and addresses, the
 * VIPs, the XDP mode that really attached and the pids of the processes it
 * started. `lab up` compares options against it, `lab down` reads the pids,
 * `lab status` prints it, and other tools (tests, the demo) may read it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lab/lab_internal.h"
#include "util.h"

json_t *lab_opts_to_json(const struct lab_opts *o)
{
	return json_pack("{s:s, s:i, s:i, s:i, s:i, s:s, s:s, s:i, s:s, s:s, s:b, s:i, s:s, s:s, s:s, s:s, s:s, s:b, s:b}",
			 "name", o->name, "clients", (int)o->clients, "uplinks",
			 (int)o->uplinks, "lbs", (int)o->lbs, "backends",
			 (int)o->backends, "vip4", o->vip4, "vip6", o->vip6, "port",
			 (int)o->port, "client_pm", lab_client_pm_name(o->client_pm),
			 "server_pm", lab_server_pm_name(o->server_pm),
			 "server_agent", o->server_agent,
			 "join_port_base", (int)o->join_port_base, "xdp",
			 lab_xdp_mode_name(o->xdp), "lb", lab_lb_kind_name(o->lb),
			 "lb_strategy", o->lb_strategy, "uplink_rate", o->uplink_rate,
			 "lb_xmit", o->lb_redirect ? "redirect" : "tx", "bgp", o->bgp, "token_sync",
			 o->token_sync);
}

static json_t *iface_json(const struct lab_iface *ifc)
{
	json_t *j = json_pack("{s:s}", "name", ifc->name);
	if (ifc->is_bridge)
		json_object_set_new(j, "kind", json_string("bridge"));
	else
		json_object_set_new(j, "kind", json_string("veth"));
	if (ifc->peer_host[0]) {
		json_object_set_new(j, "peer_host", json_string(ifc->peer_host));
		json_object_set_new(j, "peer", json_string(ifc->peer_name));
	}
	if (ifc->master[0])
		json_object_set_new(j, "master", json_string(ifc->master));
	json_t *addrs = json_array();
	if (ifc->addr4[0])
		json_array_append_new(addrs, json_string(ifc->addr4));
	if (ifc->addr6[0])
		json_array_append_new(addrs, json_string(ifc->addr6));
	json_object_set_new(j, "addresses", addrs);
	if (ifc->uplink) {
		json_object_set_new(j, "uplink", json_integer(ifc->uplink));
		if (ifc->table)
			json_object_set_new(j, "table", json_integer(ifc->table));
		if (ifc->gateway4[0])
			json_object_set_new(j, "gateway4", json_string(ifc->gateway4));
		if (ifc->gateway6[0])
			json_object_set_new(j, "gateway6", json_string(ifc->gateway6));
	}
	return j;
}

static json_t *host_json(const struct lab_plan *p, const struct lab_host *h)
{
	json_t *j = json_pack("{s:s, s:s, s:s}", "id", h->id, "role",
			      lab_role_name(h->role), "netns", h->netns);
	json_t *ifaces = json_array();
	for (unsigned i = 0; i < h->n_ifaces; i++)
		json_array_append_new(ifaces, iface_json(&h->ifaces[i]));
	json_object_set_new(j, "interfaces", ifaces);

	if (h->role == ROLE_BACKEND) {
		json_object_set_new(j, "per_server", json_pack("{s:s, s:s}",
				   "ipv4", h->server4, "ipv6", h->server6));
		json_object_set_new(j, "vips_on_lo", json_pack("[s, s]",
				   p->opts.vip4, p->opts.vip6));
		if (h->join_port)
			json_object_set_new(j, "join_port", json_integer(h->join_port));
		if (h->mac[0])
			json_object_set_new(j, "mac", json_string(h->mac));
		/* The backend agent: `mplb server status -n NAME` in the host's
		 * namespace reports it; its pid is in "processes" ("agent"). */
		if (h->agent_name[0]) {
			char st[LAB_NAME_LEN + 64];
			snprintf(st, sizeof(st), "%s/server-%s.json", LAB_RUN_ROOT, h->agent_name);
			json_object_set_new(j, "agent", json_pack("{s:s, s:s, s:s, s:s}",
					   "name", h->agent_name, "config", h->agent_config,
					   "scheme", h->agent_scheme, "state", st));
		}
		/* Its entry in the XDP balancer's pool: id m (so that the port
		 * strategy's join port base + id is the port it announces);
		 * `mplb lab backend` changes the state. */
		if (p->opts.lb == LAB_LB_MPLB)
			json_object_set_new(j, "pool", json_pack("{s:i, s:s}", "id",
					   (int)h->index, "state",
					   lab_pool_state_name(POOL_ACTIVE)));
	}
	if (h->xdp_iface[0])
		json_object_set_new(j, "xdp", json_pack("{s:s, s:s, s:s}",
				   "interface", h->xdp_iface, "mode", h->xdp_mode,
				   "program", strcmp(h->xdp_mode, "none") ? h->xdp_prog : ""));
	json_t *procs = json_array();
	for (unsigned i = 0; i < h->n_procs; i++)
		if (h->procs[i].pid > 0)
			json_array_append_new(procs, json_pack("{s:s, s:i, s:s}", "name",
					      h->procs[i].name, "pid", (int)h->procs[i].pid,
					      "log", h->procs[i].log));
	json_object_set_new(j, "processes", procs);
	return j;
}

json_t *lab_state_build(const struct lab_plan *p)
{
	char when[32];
	time_t t = time(NULL);
	char run_dir[256];

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	lab_run_dir(p->opts.name, run_dir, sizeof(run_dir));
	json_t *j = json_pack("{s:i, s:s, s:s, s:s}", "version", LAB_STATE_VERSION,
			      "name", p->opts.name, "created", when, "run_dir", run_dir);
	json_object_set_new(j, "options", lab_opts_to_json(&p->opts));
	json_object_set_new(j, "vips", json_pack("{s:s, s:s, s:i}", "ipv4",
			   p->opts.vip4, "ipv6", p->opts.vip6, "port", (int)p->opts.port));

	/* The XDP mode of the lab: what attached on the LB hosts (the weakest
	 * if they differ, so a fallback is never hidden). */
	const char *mode = "none";
	for (unsigned i = 0; i < p->n_hosts; i++) {
		const struct lab_host *h = &p->hosts[i];
		if (h->role != ROLE_LB)
			continue;
		if (!strcmp(mode, "none") || !strcmp(h->xdp_mode, "generic"))
			mode = h->xdp_mode;
	}
	json_object_set_new(j, "xdp", json_pack("{s:s, s:s}", "requested",
			   lab_xdp_mode_name(p->opts.xdp), "attached", mode));
	json_t *bal = json_pack("{s:s, s:s}", "kind", lab_lb_kind_name(p->opts.lb),
				"strategy", p->opts.lb_strategy);
	if (p->opts.lb == LAB_LB_MPLB) {
		char ini[320];
		snprintf(ini, sizeof(ini), "%s/%s", run_dir, LAB_LB_INI);
		json_object_set_new(bal, "config", json_string(ini));
		if (p->tsecr_key[0])
			json_object_set_new(bal, "tsecr_key", json_string(p->tsecr_key));
		if (p->sync_key[0])
			json_object_set_new(bal, "sync_key", json_string(p->sync_key));
	}
	json_object_set_new(j, "balancer", bal);

	json_t *hosts = json_array();
	for (unsigned i = 0; i < p->n_hosts; i++)
		json_array_append_new(hosts, host_json(p, &p->hosts[i]));
	json_object_set_new(j, "hosts", hosts);
	return j;
}

int lab_state_write(const char *name, json_t *state)
{
	char dir[256], path[320], tmp[330];

	lab_run_dir(name, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, LAB_STATE_FILE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* Write then rename: a reader never sees half a file. */
	if (json_dump_file(state, tmp, JSON_INDENT(2)) ||
	    rename(tmp, path)) {
		mplb_err("cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

json_t *lab_state_read(const char *name)
{
	char dir[256], path[320];
	json_error_t err;

	lab_run_dir(name, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, LAB_STATE_FILE);
	if (access(path, F_OK))
		return NULL;
	json_t *j = json_load_file(path, 0, &err);
	if (!j)
		mplb_err("%s: unreadable state (%s, line %d); run 'mplb lab down --name %s'",
			 path, err.text, err.line, name);
	return j;
}

json_t *lab_state_host(json_t *state, const char *id)
{
	size_t i;
	json_t *h;

	json_array_foreach(json_object_get(state, "hosts"), i, h) {
		const char *hid = json_string_value(json_object_get(h, "id"));
		if (hid && !strcmp(hid, id))
			return h;
	}
	return NULL;
}

/* What the backend's agent reports about itself (its state file, rewritten
 * every second): running, health verdict, C bit, endpoints, tc links. */
static void add_agent_status(json_t *agent, const char *netns, bool netns_exists)
{
	const char *name = json_string_value(json_object_get(agent, "name"));
	json_t *st = name ? lab_agent_state(name) : NULL;
	pid_t pid = st ? (pid_t)json_integer_value(json_object_get(st, "pid")) : 0;
	bool running = netns_exists && pid > 0 && lab_pid_in_netns(pid, netns);
	json_t *health = json_object_get(st, "health");

	json_object_set_new(agent, "running", json_boolean(running));
	if (st) {
		json_object_set_new(agent, "pid", json_integer(pid));
		json_object_set_new(agent, "ready", json_boolean(running &&
				    json_is_true(json_object_get(health, "ready"))));
		json_object_set(agent, "reasons", json_object_get(health, "reasons"));
		json_object_set(agent, "c_bit", json_object_get(st, "c_bit"));
		json_object_set_new(agent, "endpoints",
				    json_integer((json_int_t)json_array_size(json_object_get(st, "endpoints"))));
		json_object_set_new(agent, "tc_links",
				    json_integer((json_int_t)json_array_size(json_object_get(st, "tc"))));
		json_object_set(agent, "warnings", json_object_get(st, "warnings"));
	}
	json_decref(st);
}

void lab_state_add_liveness(json_t *state)
{
	size_t i, k;
	json_t *h, *p;

	json_array_foreach(json_object_get(state, "hosts"), i, h) {
		const char *netns = json_string_value(json_object_get(h, "netns"));
		bool exists = netns && netns_exists(netns);
		json_object_set_new(h, "netns_exists", json_boolean(exists));
		json_array_foreach(json_object_get(h, "processes"), k, p) {
			pid_t pid = (pid_t)json_integer_value(json_object_get(p, "pid"));
			json_object_set_new(p, "alive", json_boolean(
				exists && lab_pid_in_netns(pid, netns)));
		}
		json_t *agent = json_object_get(h, "agent");
		if (agent)
			add_agent_status(agent, netns, exists);
	}
}
