/* SPDX-License-Identifier: MIT */
/*
 * `mplb lab`: the network-namespace lab. Subcommands:
 *   up [OPTIONS]              build it (idempotent), start the backends
 *   down [--name N]           remove everything (also leftovers of a crash)
 *   status [--name N] [-j]    what is up, as a table or JSON
 *   exec [--name N] HOST -- CMD...   run CMD inside HOST's namespace
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab/lab.h"
#include "lab/lab_internal.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mplb lab up [--name NAME] [OPTIONS]     build the lab (see 'mplb lab up --help')\n"
		"       mplb lab down [--name NAME]             remove it, with all its processes\n"
		"       mplb lab status [--name NAME] [-j]      hosts, addresses, processes, XDP mode\n"
		"       mplb lab exec [--name NAME] HOST -- CMD...   run CMD in HOST (c1, rt, lb1, b3, ...)\n"
		"       mplb lab backend [--name NAME] drain|remove|add|restore HOST | list\n"
		"                                               change the balancer's pool, reload it\n"
		"       mplb lab uplink [--name NAME] HOST J down|up  take a client uplink down / back up\n"
		"       mplb lab lb [--name NAME] HOST restart|stop|start|drain|resume|fail|revive\n"
		"                                               what happens to one LB host of the tier\n");
}

/* Serialise up/down of all labs: flock on /run/mplb itself, so that no
 * lock file is left behind. */
int lab_lock_run_root(void)
{
	if (mkdir(LAB_RUN_ROOT, 0755) && errno != EEXIST) {
		mplb_err("cannot create %s: %s", LAB_RUN_ROOT, strerror(errno));
		return -1;
	}
	int fd = open(LAB_RUN_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX)) {
		mplb_err("cannot lock %s: %s", LAB_RUN_ROOT, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void on_signal(int sig)
{
	(void)sig;
	lab_interrupted = 1;
}

static void catch_signals(void)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* Parse a lone "--name NAME" (and -j for status) from argv[1..]. */
static int parse_name_only(int argc, char **argv, char *name, size_t len, bool *json)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc) {
			if (lab_check_name(argv[++i]))
				return -1;
			snprintf(name, len, "%s", argv[i]);
		} else if (!strncmp(argv[i], "--name=", 7)) {
			if (lab_check_name(argv[i] + 7))
				return -1;
			snprintf(name, len, "%s", argv[i] + 7);
		} else if (json && (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))) {
			*json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 1;
		} else {
			mplb_err("lab %s: unexpected argument '%s'", argv[0], argv[i]);
			usage(stderr);
			return -1;
		}
	}
	return 0;
}

static int lab_up(int argc, char **argv)
{
	struct lab_opts o;
	struct lab_plan plan;
	int rc;

	lab_opts_default(&o);
	rc = lab_opts_parse(&o, argc, argv);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (lab_preflight(&o))
		return 1;
	int lock = lab_lock_run_root();
	if (lock < 0)
		return 1;
	catch_signals();

	/* Idempotent: the same options again is a no-op; different ones are
	 * refused rather than half-applied over a running lab. */
	json_t *state = lab_state_read(o.name);
	char **netns;
	int n_netns = lab_list_netns(o.name, &netns);
	lab_free_list(netns, n_netns);
	if (state) {
		json_t *want = lab_opts_to_json(&o);
		bool same = json_equal(want, json_object_get(state, "options"));
		json_decref(want);
		if (same && n_netns > 0) {
			printf("lab %s: already up (same options); nothing changed. 'mplb lab status --name %s' shows it.\n",
			       o.name, o.name);
			json_decref(state);
			close(lock);
			return 0;
		}
		if (n_netns > 0) {
			mplb_err("lab %s is already up with different options; run 'mplb lab down --name %s' first",
				 o.name, o.name);
			json_decref(state);
			close(lock);
			return 1;
		}
		json_decref(state); /* stale state without namespaces */
	} else if (n_netns > 0) {
		mplb_err("lab %s: %d namespaces of an earlier, unfinished 'up' exist; run 'mplb lab down --name %s' first",
			 o.name, n_netns, o.name);
		close(lock);
		return 1;
	}
	if (lab_plan_build(&o, &plan)) {
		close(lock);
		return 1;
	}
	printf("lab %s: up: %u clients x %u uplinks, %u LB host%s, %u backends, VIPs %s [%s] port %u\n",
	       o.name, o.clients, o.uplinks, o.lbs, o.lbs > 1 ? "s" : "", o.backends,
	       o.vip4, o.vip6, o.port);
	fflush(stdout);
	double start = now_sec();
	rc = lab_apply(&plan);
	if (!rc) {
		state = lab_state_build(&plan);
		rc = state ? lab_state_write(o.name, state) : -1;
		json_decref(state);
		if (rc || lab_interrupted) {
			if (lab_interrupted)
				mplb_err("lab up: interrupted");
			lab_teardown(o.name, NULL, false);
			rc = -1;
		}
	}
	if (!rc)
		printf("lab %s: up in %.2f s; state in %s/%s/%s\n", o.name, now_sec() - start,
		       LAB_RUN_ROOT, o.name, LAB_STATE_FILE);
	lab_plan_free(&plan);
	close(lock);
	return rc ? 1 : 0;
}

static int lab_down(int argc, char **argv)
{
	char name[LAB_NAME_LEN] = "mplb";
	int rc = parse_name_only(argc, argv, name, sizeof(name), NULL);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (require_root("mplb lab down"))
		return 1;
	int lock = lab_lock_run_root();
	if (lock < 0)
		return 1;
	/* Finish even if interrupted: a half-removed lab is worse. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	json_t *state = lab_state_read(name);
	int n = lab_teardown(name, state, false);
	json_decref(state);
	close(lock);
	if (n < 0) {
		mplb_err("lab %s: down did not finish cleanly", name);
		return 1;
	}
	if (n == 0)
		printf("lab %s: nothing up\n", name);
	else
		printf("lab %s: down (%d namespaces removed)\n", name, n);
	return 0;
}

static void print_table(json_t *state)
{
	size_t i, k, a;
	json_t *h, *ifc, *addr, *p;

	json_t *vips = json_object_get(state, "vips");
	json_t *xdp = json_object_get(state, "xdp");
	json_t *opts = json_object_get(state, "options");
	json_t *bal = json_object_get(state, "balancer");
	const char *rate = json_string_value(json_object_get(opts, "uplink_rate"));
	printf("lab %s  VIPs %s [%s] port %lld  client-pm %s  server-pm %s%s  xdp %s (requested %s)\n",
	       json_string_value(json_object_get(state, "name")),
	       json_string_value(json_object_get(vips, "ipv4")),
	       json_string_value(json_object_get(vips, "ipv6")),
	       json_integer_value(json_object_get(vips, "port")),
	       json_string_value(json_object_get(opts, "client_pm")),
	       json_string_value(json_object_get(opts, "server_pm")),
	       json_is_false(json_object_get(opts, "server_agent")) ? " (lab-configured, no agent)"
	       : strcmp(json_string_value(json_object_get(opts, "server_pm")), "none") ? " (mplb server)" : "",
	       json_string_value(json_object_get(xdp, "attached")),
	       json_string_value(json_object_get(xdp, "requested")));
	if (bal && !strcmp(json_string_value(json_object_get(bal, "kind")), "mplb"))
		printf("balancer mplb lb, strategy %s, config %s",
		       json_string_value(json_object_get(bal, "strategy")),
		       json_string_value(json_object_get(bal, "config")));
	else
		printf("balancer: kernel ECMP on the LB hosts (5-tuple hash, the baseline)");
	printf("%s%s\n", rate && rate[0] ? "; uplinks shaped to " : "", rate && rate[0] ? rate : "");
	printf("%-5s %-8s %-16s %-6s %-8s %s\n", "HOST", "ROLE", "NAMESPACE", "XDP",
	       "PROCS", "INTERFACES");
	json_array_foreach(json_object_get(state, "hosts"), i, h) {
		char procs[64] = "-";
		size_t np = json_array_size(json_object_get(h, "processes"));
		if (np) {
			size_t alive = 0;
			json_array_foreach(json_object_get(h, "processes"), k, p)
				alive += json_is_true(json_object_get(p, "alive"));
			snprintf(procs, sizeof(procs), "%zu/%zu", alive, np);
		}
		json_t *x = json_object_get(h, "xdp");
		const char *ns = json_string_value(json_object_get(h, "netns"));
		bool exists = json_is_true(json_object_get(h, "netns_exists"));
		char nscol[64];
		snprintf(nscol, sizeof(nscol), "%s%s", ns, exists ? "" : "(gone)");
		printf("%-5s %-8s %-16s %-6s %-8s", json_string_value(json_object_get(h, "id")),
		       json_string_value(json_object_get(h, "role")), nscol,
		       x ? json_string_value(json_object_get(x, "mode")) : "-", procs);
		bool first = true;
		json_array_foreach(json_object_get(h, "interfaces"), k, ifc) {
			json_t *addrs = json_object_get(ifc, "addresses");
			if (!json_array_size(addrs))
				continue; /* bridge ports: listed by the bridge */
			printf("%s%s", first ? " " : "\n                                              ",
			       json_string_value(json_object_get(ifc, "name")));
			json_array_foreach(addrs, a, addr)
				printf(" %s", json_string_value(addr));
			first = false;
		}
		json_t *ps = json_object_get(h, "per_server");
		json_t *pool = json_object_get(h, "pool");
		if (ps)
			printf("\n%46sper-server %s %s, VIPs on lo", "",
			       json_string_value(json_object_get(ps, "ipv4")),
			       json_string_value(json_object_get(ps, "ipv6")));
		if (pool)
			printf("\n%46spool: id %lld, %s", "",
			       json_integer_value(json_object_get(pool, "id")),
			       json_string_value(json_object_get(pool, "state")));
		json_t *ag = json_object_get(h, "agent");
		if (ag && !json_is_true(json_object_get(ag, "running")))
			printf("\n%46sagent %s: NOT RUNNING (log %s/%s-agent.log)", "",
			       json_string_value(json_object_get(ag, "scheme")),
			       json_string_value(json_object_get(state, "run_dir")),
			       json_string_value(json_object_get(h, "id")));
		else if (ag)
			printf("\n%46sagent %s: pid %lld, %s%s%s, C bit %s, %lld endpoints, %lld tc links", "",
			       json_string_value(json_object_get(ag, "scheme")),
			       json_integer_value(json_object_get(ag, "pid")),
			       json_is_true(json_object_get(ag, "ready")) ? "ready" : "NOT READY",
			       json_is_true(json_object_get(ag, "ready")) ? "" : ": ",
			       json_is_true(json_object_get(ag, "ready")) ? ""
				       : json_string_value(json_object_get(ag, "reasons")),
			       json_is_true(json_object_get(ag, "c_bit")) ? "set" : "off",
			       json_integer_value(json_object_get(ag, "endpoints")),
			       json_integer_value(json_object_get(ag, "tc_links")));
		if (x && json_string_value(json_object_get(x, "program"))[0])
			printf("\n%46sXDP program %s", "",
			       json_string_value(json_object_get(x, "program")));
		putchar('\n');
	}
}

static int lab_status(int argc, char **argv)
{
	char name[LAB_NAME_LEN] = "mplb";
	bool json = false;
	int rc = parse_name_only(argc, argv, name, sizeof(name), &json);
	if (rc)
		return rc > 0 ? 0 : 2;
	char **netns;
	int n = lab_list_netns(name, &netns);
	lab_free_list(netns, n);
	json_t *state = lab_state_read(name);
	if (!state) {
		if (json)
			printf("{\"name\": \"%s\", \"up\": false, \"leftover_namespaces\": %d}\n",
			       name, n);
		else if (n)
			printf("lab %s: not up, but %d namespaces of an unfinished 'up' exist; run 'mplb lab down --name %s'\n",
			       name, n, name);
		else
			printf("lab %s: not up\n", name);
		return 1;
	}
	lab_state_add_liveness(state);
	json_object_set_new(state, "up", json_boolean(n > 0));
	if (json) {
		json_dumpf(state, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		print_table(state);
	}
	json_decref(state);
	return n > 0 ? 0 : 1;
}

static int lab_exec(int argc, char **argv)
{
	char name[LAB_NAME_LEN] = "mplb";
	int i = 1;
	while (i < argc && argv[i][0] == '-' && strcmp(argv[i], "--")) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
			if (lab_check_name(argv[i + 1]))
				return 2;
			snprintf(name, sizeof(name), "%s", argv[i + 1]);
			i += 2;
		} else if (!strncmp(argv[i], "--name=", 7)) {
			if (lab_check_name(argv[i] + 7))
				return 2;
			snprintf(name, sizeof(name), "%s", argv[i] + 7);
			i++;
		} else {
			mplb_err("lab exec: unknown option '%s'", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		mplb_err("lab exec: which host? (c1, rt, lb1, b1, ...)");
		usage(stderr);
		return 2;
	}
	const char *host = argv[i++];
	if (!lab_host_id_valid(host)) {
		mplb_err("lab exec: '%s' is not a host name (c<N>, rt, lb<N>, b<N>)", host);
		return 2;
	}
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (i >= argc) {
		mplb_err("lab exec: no command; write 'mplb lab exec %s -- CMD...'", host);
		return 2;
	}
	if (require_root("mplb lab exec"))
		return 1;
	char netns[LAB_NAME_LEN + 16];
	snprintf(netns, sizeof(netns), "%s-%s", name, host);
	if (!netns_exists(netns)) {
		mplb_err("lab %s has no host %s (no namespace %s); is it up? (mplb lab status --name %s)",
			 name, host, netns, name);
		return 1;
	}
	/* Only the network namespace changes (unlike `ip netns exec`, which
	 * also remounts /sys): bpffs and cgroups stay the host's. exec keeps
	 * stdin/stdout and makes the exit status the command's. */
	if (netns_enter(netns))
		return 1;
	execvp(argv[i], argv + i);
	mplb_err("lab exec: cannot run %s: %s", argv[i], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

/*
 * `lab uplink HOST J down|up`: take a client's uplink J down or bring it
 * back. The kernel flushes the routes of a device that goes down (IPv4 and
 * IPv6; the addresses stay: keep_addr_on_down), so `up` also puts the
 * uplink's policy-routing table back, and the main default for uplink 1.
 */
static int lab_uplink(int argc, char **argv)
{
	char name[LAB_NAME_LEN] = "mplb";
	const char *pos[3] = {NULL};
	int npos = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc) {
			if (lab_check_name(argv[++i]))
				return 2;
			snprintf(name, sizeof(name), "%s", argv[i]);
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: mplb lab uplink [--name NAME] HOST J down|up\n"
			       "  take client HOST's uplink J (ethJ) down, or bring it back up with its routes\n");
			return 0;
		} else if (npos < 3) {
			pos[npos++] = argv[i];
		} else {
			npos++;
		}
	}
	unsigned long j;
	if (npos != 3 || parse_uint(pos[1], "uplink", 1, LAB_MAX_UPLINKS, &j) ||
	    (strcmp(pos[2], "up") && strcmp(pos[2], "down"))) {
		mplb_err("lab uplink: want HOST J down|up, e.g. 'mplb lab uplink c1 2 down'");
		return 2;
	}
	if (require_root("mplb lab uplink"))
		return 1;
	json_t *state = lab_state_read(name);
	json_t *h = state ? lab_state_host(state, pos[0]) : NULL;
	json_t *ifc = NULL, *x;
	size_t k;
	json_array_foreach(h ? json_object_get(h, "interfaces") : NULL, k, x)
		if (json_integer_value(json_object_get(x, "uplink")) == (json_int_t)j &&
		    !strcmp(json_string_value(json_object_get(h, "role")), "client"))
			ifc = x;
	if (!ifc) {
		mplb_err("lab %s: %s", name, !state ? "not up" : "no such client uplink");
		json_decref(state);
		return 1;
	}
	const char *netns = json_string_value(json_object_get(h, "netns"));
	const char *dev = json_string_value(json_object_get(ifc, "name"));
	const char *gw4 = json_string_value(json_object_get(ifc, "gateway4"));
	const char *gw6 = json_string_value(json_object_get(ifc, "gateway6"));
	char table[16];
	snprintf(table, sizeof(table), "%lld", json_integer_value(json_object_get(ifc, "table")));
	int rc = run(netns, false, "ip", "link", "set", "dev", dev, pos[2], NULL);
	if (!rc && !strcmp(pos[2], "up")) {
		rc |= run(netns, false, "ip", "route", "replace", "default", "via", gw4, "dev", dev,
			  "table", table, NULL);
		rc |= run(netns, false, "ip", "-6", "route", "replace", "default", "via", gw6, "dev",
			  dev, "table", table, NULL);
		if (j == 1) {
			rc |= run(netns, false, "ip", "route", "replace", "default", "via", gw4, "dev",
				  dev, NULL);
			rc |= run(netns, false, "ip", "-6", "route", "replace", "default", "via", gw6,
				  "dev", dev, NULL);
		}
	}
	if (!rc)
		printf("lab %s: %s uplink %lu (%s) %s\n", name, pos[0], j, dev, pos[2]);
	json_decref(state);
	return rc ? 1 : 0;
}

int cmd_lab(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "up"))
		return lab_up(argc - 1, argv + 1);
	if (!strcmp(sub, "down"))
		return lab_down(argc - 1, argv + 1);
	if (!strcmp(sub, "status"))
		return lab_status(argc - 1, argv + 1);
	if (!strcmp(sub, "exec"))
		return lab_exec(argc - 1, argv + 1);
	if (!strcmp(sub, "backend"))
		return lab_backend_cmd(argc - 1, argv + 1);
	if (!strcmp(sub, "uplink"))
		return lab_uplink(argc - 1, argv + 1);
	if (!strcmp(sub, "lb"))
		return lab_lb_cmd(argc - 1, argv + 1);
	mplb_err("lab: unknown subcommand '%s'", sub);
	usage(stderr);
	return 2;
}
