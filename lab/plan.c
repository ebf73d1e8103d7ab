/* SPDX-License-Identifier: MIT */
/*
 * Lab options and the topology plan: every host, interface and address is
 * computed here as data, before anything touches the kernel, so that apply.c,
 * the state file and `lab status` all describe the same thing.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab/lab_internal.h"
#include "util.h"

static const char *const client_pm_names[] = {"fullmesh", "subflow", "none", "mplb"};
static const char *const server_pm_names[] = {"per-server", "port", "none", "tsecr", "token"};
static const char *const xdp_mode_names[] = {"native", "generic", "none"};
static const char *const role_names[] = {"client", "router", "lb", "backend"};
static const char *const lb_kind_names[] = {"mplb", "kernel"};
static const char *const pool_state_names[] = {"active", "draining", "removed"};
/* What the lab offers: the balancer's strategies alone and the combinations
 * that make sense (tsecr needs port or token for the MP_JOIN SYN). */
static const char *const strategies[] = {"hash", "port", "token", "tsecr",
					 "token+tsecr", "port+tsecr"};

const char *lab_client_pm_name(enum lab_client_pm pm) { return client_pm_names[pm]; }
const char *lab_server_pm_name(enum lab_server_pm pm) { return server_pm_names[pm]; }
const char *lab_xdp_mode_name(enum lab_xdp_mode m) { return xdp_mode_names[m]; }
const char *lab_role_name(enum lab_role r) { return role_names[r]; }
const char *lab_lb_kind_name(enum lab_lb_kind k) { return lb_kind_names[k]; }
const char *lab_pool_state_name(enum lab_pool_state s) { return pool_state_names[s]; }

/*
 * Defaults follow where the joins go. port: joins reach VIP:base+m through
 * the balancer, which routes them by port. none: stock clients join the
 * VIP itself (no C bit), so the balancer must recognise the token.
 * per-server: joins go to the backend's own address, around the balancer,
 * which then only ever sees first subflows: the Maglev ring is enough.
 */
static const char *lab_default_strategy(enum lab_server_pm pm)
{
	switch (pm) {
	case SERVER_PM_PORT: return "port";
	case SERVER_PM_NONE: return "token";
	/* The balancer follows TSecr for every non-SYN packet, but an MP_JOIN
	 * SYN carries no TSecr: it goes to the VIP and is routed by token. */
	case SERVER_PM_TSECR: return "token+tsecr";
	/* The agent pushes every token to every LB host: joins to the VIP itself. */
	case SERVER_PM_TOKEN: return "token";
	default: return "hash";
	}
}

void lab_opts_default(struct lab_opts *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->name, sizeof(o->name), "mplb");
	o->clients = 2;
	o->uplinks = 2;
	o->lbs = 1;
	o->backends = 4;
	snprintf(o->vip4, sizeof(o->vip4), "10.200.0.1");
	snprintf(o->vip6, sizeof(o->vip6), "fd00:200::1");
	o->port = 80;
	o->join_port_base = 20000;
	o->client_pm = CLIENT_PM_FULLMESH;
	o->server_pm = SERVER_PM_PER_SERVER;
	o->server_agent = true;
	o->xdp = XDP_MODE_NATIVE;
	o->lb = LAB_LB_MPLB;
	/* lb_strategy stays empty: lab_opts_parse() fills in the default
	 * for the chosen --server-pm. */
}

static int pick(const char *s, const char *what, const char *const *names,
		size_t n, int *out)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, names[i])) {
			*out = (int)i;
			return 0;
		}
	char list[128] = "";
	for (size_t i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			 i ? "|" : "", names[i]);
	mplb_err("%s: expected %s, got '%s'", what, list, s);
	return -1;
}

/* The lab name becomes a namespace prefix and part of paths: keep it tame. */
static int check_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 15)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || (c == '-' && i > 0)))
			goto bad;
	}
	return 0;
bad:
	mplb_err("--name: 1 to 15 letters, digits, '_' or '-' (not first), got '%s'", s);
	return -1;
}

int lab_check_name(const char *s) { return check_name(s); }

bool lab_runs_agent(const struct lab_opts *o)
{
	return o->server_agent && o->server_pm != SERVER_PM_NONE;
}

static void usage_up(FILE *f)
{
	fprintf(f,
		"usage: mplb lab up [OPTIONS]\n"
		"  --name NAME            namespace prefix (default mplb)\n"
		"  --clients N            client hosts c1..cN (default 2, max %d)\n"
		"  --uplinks N            uplinks (paths) per client (default 2, max %d)\n"
		"  --lbs N                LB hosts lb1..lbN (default 1, max %d)\n"
		"  --backends N           backends b1..bN (default 4, max %d)\n"
		"  --vip4 ADDR            IPv4 VIP (default 10.200.0.1)\n"
		"  --vip6 ADDR            IPv6 VIP (default fd00:200::1)\n"
		"  --port PORT            service port (default 80)\n"
		"  --client-pm fullmesh|subflow|none|mplb\n"
		"                         client path manager: stock kernel endpoints, or the\n"
		"                         `mplb client` daemon in each client (default fullmesh)\n"
		"  --server-pm per-server|port|tsecr|token|none\n"
		"                         what each backend does for the balancer (default per-server):\n"
		"                         announce its own address, announce VIP:join port, write its\n"
		"                         id into TSval (tsecr, with --lb-strategy token+tsecr or\n"
		"                         port+tsecr), push its tokens to the LB hosts (token), or\n"
		"                         nothing\n"
		"  --server-agent on|off  on: `mplb server run` on every backend does it (default);\n"
		"                         off: the lab's own sysctls and endpoints (no tsecr; a control)\n"
		"  --join-port-base PORT  backend m announces VIP:PORT+m with the port schemes (default 20000)\n"
		"  --xdp native|generic|none           XDP mode on the LB hosts (default native)\n"
		"  --lb mplb|kernel       balancer on the LB hosts: the XDP balancer `mplb lb`, or\n"
		"                         the kernel's ECMP forwarding (baseline) (default mplb)\n"
		"  --lb-strategy hash|port|token|tsecr|token+tsecr|port+tsecr\n"
		"                         strategy of both VIPs (default: port with --server-pm port,\n"
		"                         token with none, token+tsecr with tsecr, hash with per-server)\n"
		"  --lb-xmit tx|redirect  the balancer sends frames back with XDP_TX or with\n"
		"                         bpf_redirect to eth0 (default tx)\n"
		"  --uplink-rate RATE     tbf on both ends of every client uplink, e.g. 50mbit\n"
		"                         (default: unshaped)\n"
		"  --bgp on|off           BIRD on the router and the LB hosts: BGP announces the VIPs\n"
		"                         from each LB host that can forward, the router ECMPs over\n"
		"                         them, BFD (20 ms x 3) withdraws a dead one (default: on\n"
		"                         with --lbs > 1)\n"
		"  --token-sync on|off    the agents push their tokens and join subflows to every LB\n"
		"                         host (default: on with a token strategy and the agents)\n",
		LAB_MAX_CLIENTS, LAB_MAX_UPLINKS, LAB_MAX_LBS, LAB_MAX_BACKENDS);
}

int lab_opts_parse(struct lab_opts *o, int argc, char **argv)
{
	enum { O_NAME = 256, O_CLIENTS, O_UPLINKS, O_LBS, O_BACKENDS, O_VIP4,
	       O_VIP6, O_PORT, O_CPM, O_SPM, O_JPB, O_XDP, O_LB, O_STRATEGY,
	       O_RATE, O_AGENT, O_XMIT, O_BGP, O_SYNC };
	static const struct option longopts[] = {
		{"name", required_argument, NULL, O_NAME},
		{"clients", required_argument, NULL, O_CLIENTS},
		{"uplinks", required_argument, NULL, O_UPLINKS},
		{"lbs", required_argument, NULL, O_LBS},
		{"backends", required_argument, NULL, O_BACKENDS},
		{"vip4", required_argument, NULL, O_VIP4},
		{"vip6", required_argument, NULL, O_VIP6},
		{"port", required_argument, NULL, O_PORT},
		{"client-pm", required_argument, NULL, O_CPM},
		{"server-pm", required_argument, NULL, O_SPM},
		{"join-port-base", required_argument, NULL, O_JPB},
		{"xdp", required_argument, NULL, O_XDP},
		{"lb", required_argument, NULL, O_LB},
		{"lb-strategy", required_argument, NULL, O_STRATEGY},
		{"uplink-rate", required_argument, NULL, O_RATE},
		{"server-agent", required_argument, NULL, O_AGENT},
		{"lb-xmit", required_argument, NULL, O_XMIT},
		{"bgp", required_argument, NULL, O_BGP},
		{"token-sync", required_argument, NULL, O_SYNC},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long v;
	int c, e;
	bool strategy_given = false;
	int bgp = -1, sync = -1; /* -1: the default for the rest of the options */
	static const char *const onoff[] = {"off", "on"};
	struct in_addr a4;
	struct in6_addr a6;

	optind = 0; /* glibc: full re-initialisation */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case O_NAME:
			if (check_name(optarg))
				return -1;
			snprintf(o->name, sizeof(o->name), "%s", optarg);
			break;
		case O_CLIENTS:
			if (parse_uint(optarg, "--clients", 1, LAB_MAX_CLIENTS, &v))
				return -1;
			o->clients = v;
			break;
		case O_UPLINKS:
			if (parse_uint(optarg, "--uplinks", 1, LAB_MAX_UPLINKS, &v))
				return -1;
			o->uplinks = v;
			break;
		case O_LBS:
			if (parse_uint(optarg, "--lbs", 1, LAB_MAX_LBS, &v))
				return -1;
			o->lbs = v;
			break;
		case O_BACKENDS:
			if (parse_uint(optarg, "--backends", 1, LAB_MAX_BACKENDS, &v))
				return -1;
			o->backends = v;
			break;
		case O_VIP4:
			if (inet_pton(AF_INET, optarg, &a4) != 1) {
				mplb_err("--vip4: '%s' is not an IPv4 address", optarg);
				return -1;
			}
			inet_ntop(AF_INET, &a4, o->vip4, sizeof(o->vip4));
			break;
		case O_VIP6:
			if (inet_pton(AF_INET6, optarg, &a6) != 1) {
				mplb_err("--vip6: '%s' is not an IPv6 address", optarg);
				return -1;
			}
			inet_ntop(AF_INET6, &a6, o->vip6, sizeof(o->vip6));
			break;
		case O_PORT:
			if (parse_uint(optarg, "--port", 1, 65535, &v))
				return -1;
			o->port = v;
			break;
		case O_JPB:
			if (parse_uint(optarg, "--join-port-base", 1,
				       65535 - LAB_MAX_BACKENDS, &v))
				return -1;
			o->join_port_base = v;
			break;
		case O_CPM:
			if (pick(optarg, "--client-pm", client_pm_names, 4, &e))
				return -1;
			o->client_pm = e;
			break;
		case O_SPM:
			if (pick(optarg, "--server-pm", server_pm_names, ARRAY_SIZE(server_pm_names), &e))
				return -1;
			o->server_pm = e;
			break;
		case O_AGENT:
			if (pick(optarg, "--server-agent", onoff, 2, &e))
				return -1;
			o->server_agent = e;
			break;
		case O_BGP:
			if (pick(optarg, "--bgp", onoff, 2, &bgp))
				return -1;
			break;
		case O_SYNC:
			if (pick(optarg, "--token-sync", onoff, 2, &sync))
				return -1;
			break;
		case O_XDP:
			if (pick(optarg, "--xdp", xdp_mode_names, 3, &e))
				return -1;
			o->xdp = e;
			break;
		case O_LB:
			if (pick(optarg, "--lb", lb_kind_names, 2, &e))
				return -1;
			o->lb = e;
			break;
		case O_XMIT: {
			static const char *const xmits[] = {"tx", "redirect"};
			if (pick(optarg, "--lb-xmit", xmits, 2, &e))
				return -1;
			o->lb_redirect = e == 1;
			break;
		}
		case O_STRATEGY:
			if (pick(optarg, "--lb-strategy", strategies, ARRAY_SIZE(strategies), &e))
				return -1;
			snprintf(o->lb_strategy, sizeof(o->lb_strategy), "%s", optarg);
			strategy_given = true;
			break;
		case O_RATE:
			/* tc parses it; keep it to what tc calls a rate. */
			if (!optarg[0] || strlen(optarg) >= sizeof(o->uplink_rate) ||
			    strspn(optarg, "0123456789.") == 0 ||
			    optarg[strspn(optarg, "0123456789.abgikmpstABGIKMPST")]) {
				mplb_err("--uplink-rate: a tc rate such as 50mbit or 1gbit, got '%s'", optarg);
				return -1;
			}
			snprintf(o->uplink_rate, sizeof(o->uplink_rate), "%s", optarg);
			break;
		case 'h':
			usage_up(stdout);
			return 1;
		default:
			mplb_err("lab up: unknown or incomplete option '%s'",
				 argv[optind - 1]);
			usage_up(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		mplb_err("lab up: unexpected argument '%s'", argv[optind]);
		usage_up(stderr);
		return -1;
	}
	if (!o->lb_strategy[0])
		snprintf(o->lb_strategy, sizeof(o->lb_strategy), "%s",
			 lab_default_strategy(o->server_pm));
	if (o->lb == LAB_LB_KERNEL && strcmp(o->lb_strategy, "hash")) {
		/* An explicit strategy with the kernel baseline is a mistake;
		 * the defaults simply do not apply. */
		if (strategy_given) {
			mplb_err("--lb-strategy %s needs --lb mplb: kernel ECMP hashes the 5-tuple",
				 o->lb_strategy);
			return -1;
		}
		snprintf(o->lb_strategy, sizeof(o->lb_strategy), "hash");
	}
	if (o->server_pm == SERVER_PM_TSECR) {
		/* Only the agent writes ids into TSval, only mplb lb reads them,
		 * and a SYN's TSecr is 0: MP_JOIN SYNs need the token or the
		 * join port (docs/tsecr.md). */
		if (!o->server_agent) {
			mplb_err("--server-pm tsecr needs the server agent (it writes the id into TSval); drop --server-agent off");
			return -1;
		}
		if (o->lb != LAB_LB_MPLB) {
			mplb_err("--server-pm tsecr needs --lb mplb: kernel ECMP does not read TSecr");
			return -1;
		}
		if (strcmp(o->lb_strategy, "token+tsecr") && strcmp(o->lb_strategy, "port+tsecr")) {
			mplb_err("--server-pm tsecr needs --lb-strategy token+tsecr or port+tsecr: an MP_JOIN SYN carries no TSecr, got %s",
				 o->lb_strategy);
			return -1;
		}
	}
	if (o->server_pm == SERVER_PM_TOKEN && !o->server_agent) {
		mplb_err("--server-pm token needs the server agent (it pushes the tokens); drop --server-agent off");
		return -1;
	}
	if (o->server_pm == SERVER_PM_TOKEN && (o->lb != LAB_LB_MPLB || !strstr(o->lb_strategy, "token"))) {
		mplb_err("--server-pm token needs --lb mplb with a token strategy (token, token+tsecr)");
		return -1;
	}
	/* BGP by default where it matters: a tier of LB hosts behind ECMP. */
	o->bgp = bgp >= 0 ? bgp : (o->lb == LAB_LB_MPLB && o->lbs > 1);
	if (o->bgp && o->lb != LAB_LB_MPLB) {
		mplb_err("--bgp on needs --lb mplb: the balancer announces the VIPs it can forward");
		return -1;
	}
	bool token = o->lb == LAB_LB_MPLB && strstr(o->lb_strategy, "token");
	o->token_sync = sync >= 0 ? sync : (token && lab_runs_agent(o));
	if (o->server_pm == SERVER_PM_TOKEN && !o->token_sync) {
		mplb_err("--server-pm token is the agent pushing tokens: --token-sync off leaves it nothing to do; "
			 "for the first wave's per-host learning use --server-pm none --lb-strategy token");
		return -1;
	}
	if (o->token_sync && !(token && lab_runs_agent(o))) {
		mplb_err("--token-sync on needs a token strategy and the server agents (--server-pm token or tsecr)");
		return -1;
	}
	if (o->lb == LAB_LB_MPLB && o->xdp == XDP_MODE_NONE) {
		mplb_err("--xdp none leaves no place for the XDP balancer; add --lb kernel, or use --xdp generic");
		return -1;
	}
	/* Join ports must not be the service port: the kernel's join-only
	 * listener would then shadow the service on the VIP, and the
	 * balancer's join-port range [base, base + backends] (backend id m
	 * at base + m) must not swallow it either. */
	bool port_scheme = o->server_pm == SERVER_PM_PORT ||
			   (o->lb == LAB_LB_MPLB && strstr(o->lb_strategy, "port"));
	if (port_scheme && o->port >= o->join_port_base &&
	    o->port <= o->join_port_base + o->backends) {
		mplb_err("--port %u collides with the join ports %u..%u; change --join-port-base",
			 o->port, o->join_port_base, o->join_port_base + o->backends);
		return -1;
	}
	return 0;
}

static struct lab_host *add_host(struct lab_plan *p, const char *prefix,
				 enum lab_role role, const char *id_fmt,
				 unsigned index, unsigned max_ifaces)
{
	struct lab_host *h = &p->hosts[p->n_hosts++];
	memset(h, 0, sizeof(*h));
	snprintf(h->id, sizeof(h->id), id_fmt, index);
	snprintf(h->netns, sizeof(h->netns), "%s-%s", prefix, h->id);
	h->role = role;
	h->index = index;
	h->ifaces = calloc(max_ifaces, sizeof(*h->ifaces));
	snprintf(h->xdp_mode, sizeof(h->xdp_mode), "none");
	return h->ifaces ? h : NULL;
}

static struct lab_iface *add_iface(struct lab_host *h, const char *fmt, unsigned a,
				   unsigned b)
{
	struct lab_iface *ifc = &h->ifaces[h->n_ifaces++];
	snprintf(ifc->name, sizeof(ifc->name), fmt, a, b);
	return ifc;
}

/* Connect two interfaces as a veth pair. */
static void pair(struct lab_host *ha, struct lab_iface *a, struct lab_host *hb,
		 struct lab_iface *b)
{
	snprintf(a->peer_host, sizeof(a->peer_host), "%s", hb->id);
	snprintf(a->peer_name, sizeof(a->peer_name), "%s", b->name);
	snprintf(b->peer_host, sizeof(b->peer_host), "%s", ha->id);
	snprintf(b->peer_name, sizeof(b->peer_name), "%s", a->name);
}

int lab_plan_build(const struct lab_opts *o, struct lab_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->opts = *o;
	p->hosts = calloc(o->clients + 1 + o->lbs + o->backends, sizeof(*p->hosts));
	if (!p->hosts)
		return -1;

	/* The router: one veth per client uplink, the server bridge, one
	 * bridge port per LB host and per backend. */
	struct lab_host *rt = add_host(p, o->name, ROLE_ROUTER, "rt", 0,
				       o->clients * o->uplinks + 1 + o->lbs + o->backends);
	if (!rt)
		goto oom;
	struct lab_iface *br = add_iface(rt, "br0", 0, 0);
	br->is_bridge = true;
	snprintf(br->addr4, sizeof(br->addr4), "10.100.0.1/16");
	snprintf(br->addr6, sizeof(br->addr6), "fd00:100::1/64");

	for (unsigned i = 1; i <= o->clients; i++) {
		struct lab_host *c = add_host(p, o->name, ROLE_CLIENT, "c%u", i, o->uplinks);
		if (!c)
			goto oom;
		for (unsigned j = 1; j <= o->uplinks; j++) {
			struct lab_iface *u = add_iface(c, "eth%u", j, 0);
			struct lab_iface *r = add_iface(rt, "c%uu%u", i, j);
			pair(c, u, rt, r);
			u->uplink = r->uplink = j;
			u->table = LAB_TABLE_BASE + j;
			snprintf(u->addr4, sizeof(u->addr4), "10.%u.%u.2/24", j, i);
			snprintf(u->addr6, sizeof(u->addr6), "fd00:%u:%u::2/64", j, i);
			snprintf(u->gateway4, sizeof(u->gateway4), "10.%u.%u.1", j, i);
			snprintf(u->gateway6, sizeof(u->gateway6), "fd00:%u:%u::1", j, i);
			snprintf(r->addr4, sizeof(r->addr4), "10.%u.%u.1/24", j, i);
			snprintf(r->addr6, sizeof(r->addr6), "fd00:%u:%u::1/64", j, i);
		}
	}
	for (unsigned k = 1; k <= o->lbs; k++) {
		struct lab_host *lb = add_host(p, o->name, ROLE_LB, "lb%u", k, 1);
		if (!lb)
			goto oom;
		struct lab_iface *e = add_iface(lb, "eth0", 0, 0);
		struct lab_iface *r = add_iface(rt, "lb%u", k, 0);
		pair(lb, e, rt, r);
		snprintf(r->master, sizeof(r->master), "br0");
		snprintf(e->addr4, sizeof(e->addr4), "10.100.1.%u/16", k);
		snprintf(e->addr6, sizeof(e->addr6), "fd00:100::1:%u/64", k);
		snprintf(lb->xdp_iface, sizeof(lb->xdp_iface), "eth0");
	}
	for (unsigned m = 1; m <= o->backends; m++) {
		struct lab_host *b = add_host(p, o->name, ROLE_BACKEND, "b%u", m, 1);
		if (!b)
			goto oom;
		struct lab_iface *e = add_iface(b, "eth0", 0, 0);
		struct lab_iface *r = add_iface(rt, "b%u", m, 0);
		pair(b, e, rt, r);
		snprintf(r->master, sizeof(r->master), "br0");
		snprintf(b->server4, sizeof(b->server4), "10.100.2.%u", m);
		snprintf(b->server6, sizeof(b->server6), "fd00:100::2:%u", m);
		snprintf(e->addr4, sizeof(e->addr4), "%s/16", b->server4);
		snprintf(e->addr6, sizeof(e->addr6), "%s/64", b->server6);
		if (o->server_pm == SERVER_PM_PORT ||
		    (o->server_pm == SERVER_PM_TSECR && strstr(o->lb_strategy, "port")))
			b->join_port = o->join_port_base + m;
		if (lab_runs_agent(o)) {
			snprintf(b->agent_name, sizeof(b->agent_name), "%s", b->netns);
			snprintf(b->agent_config, sizeof(b->agent_config), "%s/%s/server-%s.ini",
				 LAB_RUN_ROOT, o->name, b->id);
			/* The agent's scheme for both VIPs: tsecr with the port
			 * strategy also announces the join port (tsecr+port). */
			snprintf(b->agent_scheme, sizeof(b->agent_scheme), "%s%s",
				 lab_server_pm_name(o->server_pm),
				 o->server_pm == SERVER_PM_TSECR && b->join_port		? "+port"
				 : o->server_pm == SERVER_PM_TSECR && o->token_sync ? "+token"
													   : "");
		}
	}
	return 0;
oom:
	mplb_err("lab: out of memory");
	lab_plan_free(p);
	return -1;
}

void lab_plan_free(struct lab_plan *p)
{
	for (unsigned i = 0; p->hosts && i < p->n_hosts; i++)
		free(p->hosts[i].ifaces);
	free(p->hosts);
	p->hosts = NULL;
	p->n_hosts = 0;
}

struct lab_host *lab_plan_host(struct lab_plan *p, const char *id)
{
	for (unsigned i = 0; i < p->n_hosts; i++)
		if (!strcmp(p->hosts[i].id, id))
			return &p->hosts[i];
	return NULL;
}

static bool digits_after(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(s, prefix, n) || !s[n] || s[n] == '0')
		return false;
	for (s += n; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

bool lab_host_id_valid(const char *id)
{
	return !strcmp(id, "rt") || digits_after(id, "c") ||
	       digits_after(id, "lb") || digits_after(id, "b");
}
