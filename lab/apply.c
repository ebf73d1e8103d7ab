/* SPDX-License-Identifier: MIT */
/*
 * Applying a lab plan to the kernel, and taking it all down again.
 *
 * Configuration goes through iproute2 in batch mode: one `ip -batch` for the
 * namespaces and veth pairs, then per namespace one IPv4/generic batch and
 * one IPv6 batch (`ip -6`, because batch lines take no -6 and `ip rule`
 * does not infer the family from an IPv6 address). The batch files stay in
 * /run/mplb/<name>/ as the record of what was configured. Sysctls are
 * written to /proc/sys after setns() into each namespace.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab/lab_internal.h"
#include "sysmounts.h"
#include "util.h"

volatile sig_atomic_t lab_interrupted;

void lab_run_dir(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", LAB_RUN_ROOT, name);
}

/* ---- small helpers ---------------------------------------------------- */

struct batch {
	char *buf;
	size_t len, cap;
	unsigned lines;
};

static void batch_add(struct batch *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void batch_add(struct batch *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		int n = b->buf ? vsnprintf(b->buf + b->len, room, fmt, ap) : -1;
		va_end(ap);
		if (n >= 0 && (size_t)n + 1 < room) {
			b->len += n;
			b->buf[b->len++] = '\n';
			b->buf[b->len] = 0;
			b->lines++;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 4096;
		char *nb = realloc(b->buf, cap);
		if (!nb) {
			/* The batch then fails to apply and the lab is torn down. */
			mplb_err("lab: out of memory");
			return;
		}
		b->buf = nb;
		b->cap = cap;
	}
}

static void batch_free(struct batch *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

/* Write b to /run/mplb/<name>/<file> and run `ip [-6] [-n netns] -batch`. */
static int batch_run(const char *lab, const char *file, const char *netns,
		     bool ipv6, struct batch *b)
{
	char dir[256], path[400];
	if (!b->lines)
		return 0;
	lab_run_dir(lab, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *f = fopen(path, "w");
	if (!f || fwrite(b->buf, 1, b->len, f) != b->len || fclose(f)) {
		mplb_err("cannot write %s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	char *argv[8];
	int n = 0;
	argv[n++] = "ip";
	if (ipv6)
		argv[n++] = "-6";
	if (netns) {
		argv[n++] = "-n";
		argv[n++] = (char *)netns;
	}
	argv[n++] = "-batch";
	argv[n++] = path;
	argv[n] = NULL;
	return run_cmd(NULL, false, argv) ? -1 : 0;
}

/* Write one sysctl in the current network namespace. */
static int sysctl_write(const char *netns, const char *key, const char *value)
{
	char path[256];
	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	for (char *p = path + strlen("/proc/sys/"); *p; p++)
		if (*p == '.')
			*p = '/';
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, value, strlen(value)) != (ssize_t)strlen(value)) {
		mplb_err("%s: cannot set %s=%s: %s", netns, key, value, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int lab_find_in_path(const char *prog, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, len, "%.*s/%s", (int)n, path, prog);
		if (!access(buf, X_OK))
			return 0;
		path += n + (path[n] == ':');
	}
	return -1;
}

static bool in_path(const char *prog)
{
	char buf[512];
	return lab_find_in_path(prog, buf, sizeof(buf)) == 0;
}

static double t0;
void lab_progress(const char *fmt, ...)
{
	va_list ap;
	printf("  [%5.2fs] ", now_sec() - t0);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}
#define progress lab_progress

/* ---- preflight -------------------------------------------------------- */

/* Can this kernel create veth pairs and bridges? Tried in a throwaway
 * network namespace that disappears with the child. Bit 0: veth, bit 1:
 * bridge missing. */
static int probe_link_kinds(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(4);
		int missing = 0;
		if (run(NULL, true, "ip", "link", "add", "probe0", "type", "veth",
			"peer", "name", "probe1", NULL))
			missing |= 1;
		if (run(NULL, true, "ip", "link", "add", "probe2", "type", "bridge", NULL))
			missing |= 2;
		_exit(missing);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int lab_preflight(const struct lab_opts *o)
{
	if (require_root("mplb lab up"))
		return -1;
	/* The balancers and agents pin maps that `lab down`, stats and tests read. */
	if ((o->lb == LAB_LB_MPLB || lab_runs_agent(o)) && mplb_bpffs_ensure("mplb lab up"))
		return -1;
	if (access("/proc/self/ns/net", F_OK)) {
		mplb_err("network namespaces are missing (no /proc/self/ns/net): need CONFIG_NET_NS");
		return -1;
	}
	if (access("/proc/sys/net/mptcp/enabled", F_OK)) {
		mplb_err("MPTCP is missing (no /proc/sys/net/mptcp/enabled): need CONFIG_MPTCP and CONFIG_MPTCP_IPV6");
		return -1;
	}
	if (!in_path("ip")) {
		mplb_err("'ip' (iproute2) not found in PATH; install iproute2");
		return -1;
	}
	if (o->uplink_rate[0] && !in_path("tc")) {
		mplb_err("'tc' (iproute2) not found in PATH; --uplink-rate needs it");
		return -1;
	}
	if (o->client_pm == CLIENT_PM_MPLB) {
		char avail[128] = "";
		FILE *f = fopen("/proc/sys/net/mptcp/available_path_managers", "re");
		if (f) {
			if (!fgets(avail, sizeof(avail), f))
				avail[0] = 0;
			avail[strcspn(avail, "\n")] = 0;
			fclose(f);
		}
		if (!strstr(avail, "userspace")) {
			mplb_err("--client-pm mplb needs the kernel's userspace path manager "
				 "(Linux >= 6.15: net.mptcp.available_path_managers lists 'userspace'); got '%s'",
				 avail);
			return -1;
		}
	}
	if (o->bgp && !in_path("bird")) {
		mplb_err("--bgp needs BIRD 2 (`bird` not in PATH): apt-get install bird2, or --bgp off");
		return -1;
	}
	if (o->xdp == XDP_MODE_NATIVE && !in_path("ethtool")) {
		mplb_err("'ethtool' not found in PATH (native XDP needs it to turn off checksum offload); install ethtool or use --xdp generic");
		return -1;
	}
	int missing = probe_link_kinds();
	if (missing == 4 || missing < 0) {
		mplb_err("cannot create a network namespace (unshare: CONFIG_NET_NS, CAP_SYS_ADMIN)");
		return -1;
	}
	if (missing & 1) {
		mplb_err("veth interfaces are missing: need CONFIG_VETH");
		return -1;
	}
	if (missing & 2) {
		mplb_err("bridges are missing: need CONFIG_BRIDGE");
		return -1;
	}
	return 0;
}

/* ---- per-role configuration ------------------------------------------ */

struct sysctl_kv {
	const char *key, *value;
};

/* Every namespace. */
static const struct sysctl_kv sysctl_common[] = {
	/* Lab addresses are unique by construction; duplicate address
	 * detection would keep new IPv6 addresses tentative (unusable as a
	 * source or for bind) for about a second. */
	{"net.ipv6.conf.all.accept_dad", "0"},
	{"net.ipv6.conf.default.accept_dad", "0"},
};

static const struct sysctl_kv sysctl_client[] = {
	/* Loose reverse-path filtering: with one source address per uplink
	 * and policy routing, strict checks against the main table's single
	 * default route would drop replies on the other uplinks. */
	{"net.ipv4.conf.all.rp_filter", "2"},
	{"net.ipv4.conf.default.rp_filter", "2"},
	/* An uplink that goes down and comes back keeps its IPv6 address
	 * (IPv4 keeps it anyway), so subflows can be re-created on it. */
	{"net.ipv6.conf.all.keep_addr_on_down", "1"},
	{"net.ipv6.conf.default.keep_addr_on_down", "1"},
};

static const struct sysctl_kv sysctl_router[] = {
	{"net.ipv4.conf.all.forwarding", "1"},
	{"net.ipv6.conf.all.forwarding", "1"},
	/* ECMP to several LB hosts hashes the 5-tuple, not just addresses,
	 * so the subflows of one client spread like real flows. */
	{"net.ipv4.fib_multipath_hash_policy", "1"},
	{"net.ipv6.fib_multipath_hash_policy", "1"},
	/* Direct server return: replies carry the VIP as source but come
	 * from a backend, not from the LB host the VIP is routed to. */
	{"net.ipv4.conf.all.rp_filter", "0"},
	{"net.ipv4.conf.default.rp_filter", "0"},
};

static const struct sysctl_kv sysctl_lb[] = {
	/* The stand-in load balancer is the kernel's forwarding path. */
	{"net.ipv4.conf.all.forwarding", "1"},
	{"net.ipv6.conf.all.forwarding", "1"},
	/* VIP packets leave by the interface they came in on (eth0); an
	 * ICMP redirect would teach the router to bypass the LB. IPv6 has
	 * no such sysctl: the kernel sends a redirect only for a link-local
	 * target (ndisc_send_redirect), and the next hops here are global. */
	{"net.ipv4.conf.all.send_redirects", "0"},
	{"net.ipv4.conf.default.send_redirects", "0"},
	/* The baseline balancer: ECMP over the backends hashed on the
	 * 5-tuple, which sends an MPTCP join to a random backend. */
	{"net.ipv4.fib_multipath_hash_policy", "1"},
	{"net.ipv6.fib_multipath_hash_policy", "1"},
	{"net.ipv4.conf.all.rp_filter", "0"},
	{"net.ipv4.conf.default.rp_filter", "0"},
};

static const struct sysctl_kv sysctl_backend[] = {
	/* The VIP is on lo: answer ARP only for addresses of the receiving
	 * interface, and never use the VIP as an ARP source, so that no
	 * backend claims the VIP on the shared segment. IPv6 needs nothing:
	 * neighbour solicitations are answered only for addresses of the
	 * receiving interface (ndisc_recv_ns, strict lookup). */
	{"net.ipv4.conf.all.arp_ignore", "1"},
	{"net.ipv4.conf.all.arp_announce", "2"},
	/* Packets to the VIP arrive on eth0 for an address on lo. */
	{"net.ipv4.conf.all.rp_filter", "0"},
	{"net.ipv4.conf.default.rp_filter", "0"},
};

static int apply_sysctls(const struct lab_plan *p, const struct lab_host *h)
{
	const struct sysctl_kv *role;
	size_t n;
	int rc = 0;

	switch (h->role) {
	case ROLE_CLIENT: role = sysctl_client; n = ARRAY_SIZE(sysctl_client); break;
	case ROLE_ROUTER: role = sysctl_router; n = ARRAY_SIZE(sysctl_router); break;
	case ROLE_LB: role = sysctl_lb; n = ARRAY_SIZE(sysctl_lb); break;
	default: role = sysctl_backend; n = ARRAY_SIZE(sysctl_backend); break;
	}
	if (lab_setns(h->netns))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(sysctl_common) && !rc; i++)
		rc = sysctl_write(h->netns, sysctl_common[i].key, sysctl_common[i].value);
	for (size_t i = 0; i < n && !rc; i++)
		rc = sysctl_write(h->netns, role[i].key, role[i].value);
	/* The C bit: the backend refuses joins to its initial address and
	 * port (the VIP), which the LB cannot steer to the right backend;
	 * clients then join only the announced per-server address or port.
	 * With the server agent, the agent sets it (and undoes it). */
	if (!rc && h->role == ROLE_BACKEND && !lab_runs_agent(&p->opts) &&
	    (p->opts.server_pm == SERVER_PM_PER_SERVER || p->opts.server_pm == SERVER_PM_PORT))
		rc = sysctl_write(h->netns, "net.mptcp.allow_join_initial_addr_port", "0");
	if (lab_setns(NULL))
		return -1;
	return rc;
}

static void strip_prefix(char *out, size_t len, const char *addr)
{
	snprintf(out, len, "%s", addr);
	char *slash = strchr(out, '/');
	if (slash)
		*slash = 0;
}

static void config_client(const struct lab_plan *p, const struct lab_host *h,
			  struct batch *b4, struct batch *b6)
{
	char a[LAB_ADDR_LEN];
	for (unsigned n = 0; n < h->n_ifaces; n++) {
		const struct lab_iface *u = &h->ifaces[n];
		batch_add(b4, "link set dev %s up", u->name);
		batch_add(b4, "addr add %s dev %s", u->addr4, u->name);
		batch_add(b6, "addr add %s dev %s nodad", u->addr6, u->name);
		/* One path per uplink: traffic from the uplink's address
		 * leaves by that uplink (subflows bound to it follow it). */
		strip_prefix(a, sizeof(a), u->addr4);
		batch_add(b4, "rule add from %s table %u pref %u", a, u->table, u->table);
		batch_add(b4, "route add default via %s dev %s table %u", u->gateway4,
			  u->name, u->table);
		strip_prefix(a, sizeof(a), u->addr6);
		batch_add(b6, "rule add from %s table %u pref %u", a, u->table, u->table);
		batch_add(b6, "route add default via %s dev %s table %u", u->gateway6,
			  u->name, u->table);
		if (u->uplink == 1) {
			batch_add(b4, "route add default via %s dev %s", u->gateway4, u->name);
			batch_add(b6, "route add default via %s dev %s", u->gateway6, u->name);
		}
	}
	/* Fresh namespaces allow 2 subflows and accept no ADD_ADDR at all. */
	batch_add(b4, "mptcp limits set subflows 8 add_addr_accepted 8");
	/* `mplb client` (userspace path manager) ignores endpoints: it opens
	 * subflows itself, from every uplink. */
	if (p->opts.client_pm == CLIENT_PM_NONE || p->opts.client_pm == CLIENT_PM_MPLB)
		return;
	/* One endpoint per uplink address, both families. `fullmesh` makes
	 * the client join every announced address from every local address,
	 * so joins use all uplinks; with plain `subflow` endpoints a join to
	 * an announced address leaves from whatever address routing picks. */
	const char *flags = p->opts.client_pm == CLIENT_PM_FULLMESH ? "subflow fullmesh"
								    : "subflow";
	for (unsigned n = 0; n < h->n_ifaces; n++) {
		const struct lab_iface *u = &h->ifaces[n];
		strip_prefix(a, sizeof(a), u->addr4);
		batch_add(b4, "mptcp endpoint add %s dev %s %s", a, u->name, flags);
		strip_prefix(a, sizeof(a), u->addr6);
		batch_add(b6, "mptcp endpoint add %s dev %s %s", a, u->name, flags);
	}
}

static void config_router(const struct lab_plan *p, const struct lab_host *h,
			  struct batch *b4, struct batch *b6,
			  struct batch *post)
{
	char lb4[INET_ADDRSTRLEN], lb6[INET6_ADDRSTRLEN];
	/* The bridge first, so that ports can join it. STP off and no
	 * forward delay: ports forward at once; no multicast snooping, so
	 * neighbour discovery is plain flooding. */
	batch_add(b4, "link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0");
	for (unsigned n = 0; n < h->n_ifaces; n++) {
		const struct lab_iface *ifc = &h->ifaces[n];
		if (ifc->master[0])
			batch_add(b4, "link set dev %s master %s", ifc->name, ifc->master);
		batch_add(b4, "link set dev %s up", ifc->name);
		if (ifc->addr4[0])
			batch_add(b4, "addr add %s dev %s", ifc->addr4, ifc->name);
		if (ifc->addr6[0])
			batch_add(b6, "addr add %s dev %s nodad", ifc->addr6, ifc->name);
	}
	/* VIPs to the LB hosts: learned by BGP (lab/bird.c), or one LB by a
	 * plain route, several by ECMP over a nexthop group (5-tuple hash, see
	 * the sysctls). */
	if (p->opts.bgp)
		return;
	if (p->opts.lbs == 1) {
		batch_add(b4, "route add %s/32 via 10.100.1.1 dev br0", p->opts.vip4);
		batch_add(b6, "route add %s/128 via fd00:100::1:1 dev br0", p->opts.vip6);
		return;
	}
	char group4[256] = "", group6[256] = "";
	for (unsigned k = 1; k <= p->opts.lbs; k++) {
		snprintf(lb4, sizeof(lb4), "10.100.1.%u", k);
		snprintf(lb6, sizeof(lb6), "fd00:100::1:%u", k);
		batch_add(post, "nexthop add id %u via %s dev br0", 1000 + k, lb4);
		batch_add(post, "nexthop add id %u via %s dev br0", 2000 + k, lb6);
		snprintf(group4 + strlen(group4), sizeof(group4) - strlen(group4),
			 "%s%u", k > 1 ? "/" : "", 1000 + k);
		snprintf(group6 + strlen(group6), sizeof(group6) - strlen(group6),
			 "%s%u", k > 1 ? "/" : "", 2000 + k);
	}
	batch_add(post, "nexthop add id 1 group %s", group4);
	batch_add(post, "route add %s/32 nhid 1", p->opts.vip4);
	batch_add(post, "nexthop add id 2 group %s", group6);
	batch_add(post, "route add %s/128 nhid 2", p->opts.vip6);
}

static void config_lb(const struct lab_plan *p, const struct lab_host *h,
		      struct batch *b4, struct batch *b6,
		      struct batch *post)
{
	const struct lab_iface *e = &h->ifaces[0];
	char group4[512] = "", group6[512] = "";

	batch_add(b4, "link set dev %s up", e->name);
	batch_add(b4, "addr add %s dev %s", e->addr4, e->name);
	batch_add(b6, "addr add %s dev %s nodad", e->addr6, e->name);
	batch_add(b4, "route add default via 10.100.0.1 dev %s", e->name);
	batch_add(b6, "route add default via fd00:100::1 dev %s", e->name);
	/* Until the XDP load balancer takes over: VIP traffic is forwarded
	 * by the kernel to one of the backends' per-server addresses, ECMP
	 * hashed on the 5-tuple, back out of eth0 (the backends have the VIP
	 * on lo, so the frame just needs the backend's MAC). */
	for (unsigned m = 1; m <= p->opts.backends; m++) {
		batch_add(post, "nexthop add id %u via 10.100.2.%u dev %s", 1000 + m, m, e->name);
		batch_add(post, "nexthop add id %u via fd00:100::2:%u dev %s", 2000 + m, m,
			  e->name);
		snprintf(group4 + strlen(group4), sizeof(group4) - strlen(group4),
			 "%s%u", m > 1 ? "/" : "", 1000 + m);
		snprintf(group6 + strlen(group6), sizeof(group6) - strlen(group6),
			 "%s%u", m > 1 ? "/" : "", 2000 + m);
	}
	batch_add(post, "nexthop add id 1 group %s", group4);
	batch_add(post, "route add %s/32 nhid 1", p->opts.vip4);
	batch_add(post, "nexthop add id 2 group %s", group6);
	batch_add(post, "route add %s/128 nhid 2", p->opts.vip6);
}

static void config_backend(const struct lab_plan *p, const struct lab_host *h,
			   struct batch *b4, struct batch *b6)
{
	const struct lab_iface *e = &h->ifaces[0];

	batch_add(b4, "addr add %s/32 dev lo", p->opts.vip4);
	batch_add(b6, "addr add %s/128 dev lo nodad", p->opts.vip6);
	batch_add(b4, "link set dev %s up", e->name);
	batch_add(b4, "addr add %s dev %s", e->addr4, e->name);
	batch_add(b6, "addr add %s dev %s nodad", e->addr6, e->name);
	/* Direct server return: replies go to the router, not the LB. */
	batch_add(b4, "route add default via 10.100.0.1 dev %s", e->name);
	batch_add(b6, "route add default via fd00:100::1 dev %s", e->name);
	/* The agent applies the rest itself (C bit, endpoints, limits,
	 * add_addr_timeout, tc programs) and undoes it on exit. */
	if (lab_runs_agent(&p->opts))
		return;
	batch_add(b4, "mptcp limits set subflows 8 add_addr_accepted 8");
	switch (p->opts.server_pm) {
	case SERVER_PM_PER_SERVER:
		/* Announce the address that reaches this backend directly
		 * (through the router, not the LB). */
		batch_add(b4, "mptcp endpoint add %s dev %s signal", h->server4, e->name);
		batch_add(b6, "mptcp endpoint add %s dev %s signal", h->server6, e->name);
		break;
	case SERVER_PM_PORT:
		/* Announce VIP:base+m; the kernel opens a join-only listener
		 * there. Joins travel through the LB, which must route them
		 * by port. */
		batch_add(b4, "mptcp endpoint add %s dev lo port %u signal", p->opts.vip4,
			  h->join_port);
		batch_add(b6, "mptcp endpoint add %s dev lo port %u signal", p->opts.vip6,
			  h->join_port);
		break;
	case SERVER_PM_NONE:
	case SERVER_PM_TSECR: /* refused without the agent (plan.c) */
	case SERVER_PM_TOKEN:
		break;
	}
}

/*
 * Three batches per namespace: links, IPv4 and MPTCP (generic); IPv6
 * addresses, rules and routes (`ip -6`); then nexthops and the routes that
 * use them. The nexthop batches run in a second pass over all namespaces:
 * a nexthop needs carrier on its device, which a veth only has once its
 * peer in the other namespace is up, and its groups must not be created
 * with `-6` ("Invalid family for group").
 */
static void plan_host(const struct lab_plan *p, const struct lab_host *h,
		      struct batch *b4, struct batch *b6, struct batch *post)
{
	batch_add(b4, "link set dev lo up");
	switch (h->role) {
	case ROLE_CLIENT: config_client(p, h, b4, b6); break;
	case ROLE_ROUTER: config_router(p, h, b4, b6, post); break;
	case ROLE_LB: config_lb(p, h, b4, b6, post); break;
	case ROLE_BACKEND: config_backend(p, h, b4, b6); break;
	}
}

static int configure_hosts(const struct lab_plan *p)
{
	struct batch *post = calloc(p->n_hosts, sizeof(*post));
	char file[64];
	int rc = post ? 0 : -1;

	for (unsigned i = 0; i < p->n_hosts && !rc; i++) {
		const struct lab_host *h = &p->hosts[i];
		struct batch b4 = {0}, b6 = {0};
		plan_host(p, h, &b4, &b6, &post[i]);
		snprintf(file, sizeof(file), "%s.ip", h->id);
		rc = batch_run(p->opts.name, file, h->netns, false, &b4);
		snprintf(file, sizeof(file), "%s.ip6", h->id);
		if (!rc)
			rc = batch_run(p->opts.name, file, h->netns, true, &b6);
		batch_free(&b4);
		batch_free(&b6);
		if (lab_interrupted)
			rc = -1;
	}
	for (unsigned i = 0; i < p->n_hosts && !rc; i++) {
		snprintf(file, sizeof(file), "%s.nexthops.ip", p->hosts[i].id);
		rc = batch_run(p->opts.name, file, p->hosts[i].netns, false, &post[i]);
	}
	for (unsigned i = 0; post && i < p->n_hosts; i++)
		batch_free(&post[i]);
	free(post);
	return rc;
}

/* ---- uplink shaping ---------------------------------------------------- */

/*
 * tbf on both ends of every client uplink: the client's ethJ (uploads) and
 * the router's cIuJ (downloads). Equal, unshaped veths let the MPTCP
 * scheduler leave all but one subflow idle; a rate per path makes it use
 * them all, and makes a transfer last long enough to change things under it.
 */
static int shape_uplinks(const struct lab_plan *p)
{
	char dir[256], path[400];
	int rc = 0;

	if (!p->opts.uplink_rate[0])
		return 0;
	lab_run_dir(p->opts.name, dir, sizeof(dir));
	for (unsigned i = 0; i < p->n_hosts && !rc; i++) {
		const struct lab_host *h = &p->hosts[i];
		if (h->role != ROLE_CLIENT && h->role != ROLE_ROUTER)
			continue;
		snprintf(path, sizeof(path), "%s/%s.tc", dir, h->id);
		FILE *f = fopen(path, "w");
		if (!f) {
			mplb_err("cannot write %s: %s", path, strerror(errno));
			return -1;
		}
		for (unsigned n = 0; n < h->n_ifaces; n++)
			if (h->ifaces[n].uplink)
				fprintf(f, "qdisc add dev %s root tbf rate %s burst 32kb latency 100ms\n",
					h->ifaces[n].name, p->opts.uplink_rate);
		if (fclose(f)) {
			mplb_err("cannot write %s: %s", path, strerror(errno));
			return -1;
		}
		rc = run(NULL, false, "tc", "-n", h->netns, "-batch", path, NULL) ? -1 : 0;
	}
	return rc;
}

/* ---- XDP --------------------------------------------------------------- */

static int setup_xdp(struct lab_plan *p, struct xdp_pass_bpf *skel)
{
	struct lab_host *rt = lab_plan_host(p, "rt");
	for (unsigned i = 0; i < p->n_hosts; i++) {
		struct lab_host *h = &p->hosts[i];
		if (h->role != ROLE_LB)
			continue;
		char peer[IFNAMSIZ];
		snprintf(peer, sizeof(peer), "%s", h->ifaces[0].peer_name);
		if (p->opts.xdp == XDP_MODE_NATIVE) {
			/* Checksum trap: a native XDP program that sends a
			 * packet on (XDP_TX) loses CHECKSUM_PARTIAL, so the
			 * veth feeding the LB must hand over full checksums. */
			if (run(rt->netns, true, "ethtool", "-K", peer, "tx", "off", NULL)) {
				mplb_err("%s: 'ethtool -K %s tx off' failed", rt->netns, peer);
				return -1;
			}
		}
		const char *mode = lab_xdp_attach(skel, h->netns, h->xdp_iface, p->opts.xdp);
		if (!mode)
			return -1;
		snprintf(h->xdp_mode, sizeof(h->xdp_mode), "%s", mode);
		snprintf(h->xdp_prog, sizeof(h->xdp_prog), "xdp_pass");
		/* Native XDP_TX on a veth delivers frames only when the peer
		 * veth runs an XDP program too (gotcha 1); generic needs none. */
		if (!strcmp(mode, "native") &&
		    !lab_xdp_attach(skel, rt->netns, peer, XDP_MODE_NATIVE))
			return -1;
	}
	return 0;
}

/* ---- backends: mplb serve --------------------------------------------- */

int lab_self_exe(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	if (n < 0) {
		mplb_err("readlink /proc/self/exe: %s", strerror(errno));
		return -1;
	}
	buf[n] = 0;
	return 0;
}

pid_t lab_spawn(struct lab_host *h, const char *name, const char *exe,
		char *const argv[], const char *log)
{
	if (h->n_procs >= LAB_MAX_PROCS) {
		mplb_err("%s: too many processes", h->id);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		mplb_err("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* Detached: own session (no terminal signals), output to the
		 * log, default signal handling. */
		setsid();
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (netns_enter(h->netns))
			_exit(127);
		int logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (logfd < 0 || nullfd < 0)
			_exit(127);
		dup2(nullfd, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		execv(exe, argv);
		fprintf(stderr, "mplb: cannot run %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	struct lab_proc *pr = &h->procs[h->n_procs++];
	snprintf(pr->name, sizeof(pr->name), "%s", name);
	snprintf(pr->log, sizeof(pr->log), "%s", log);
	pr->pid = pid;
	return pid;
}

static pid_t spawn_serve(const struct lab_plan *p, struct lab_host *h, const char *exe)
{
	char id[16], listen[32], log[256];
	snprintf(id, sizeof(id), "%u", h->index);
	snprintf(listen, sizeof(listen), "[::]:%u", p->opts.port);
	snprintf(log, sizeof(log), "%s/%s/%s.log", LAB_RUN_ROOT, p->opts.name, h->id);
	char *argv[] = {"mplb", "serve", "--id", id, "--listen", listen, NULL};
	return lab_spawn(h, "serve", exe, argv, log);
}

/* Is there a TCP listener on port in pid's network namespace? Reads
 * /proc/<pid>/net/tcp{,6}, which show the namespace of that process. An
 * MPTCP listener shows up there through its TCP subflow listener. */
static bool listening(pid_t pid, unsigned port)
{
	static const char *files[] = {"tcp6", "tcp"};
	char path[64], line[256], want[16];
	snprintf(want, sizeof(want), ":%04X", port);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, files[i]);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			char local[64], remote[64], st[8];
			size_t n;
			if (sscanf(line, " %*s %63s %63s %7s", local, remote, st) == 3 &&
			    (n = strlen(local)) > strlen(want) &&
			    !strcmp(local + n - strlen(want), want) && !strcmp(st, "0A")) {
				fclose(f);
				return true;
			}
		}
		fclose(f);
	}
	return false;
}

#define SERVE_READY_TIMEOUT 3.0 /* seconds for every backend to listen */

static int start_backends(struct lab_plan *p)
{
	char exe[512];
	if (lab_self_exe(exe, sizeof(exe)))
		return -1;
	unsigned total = 0;
	for (unsigned i = 0; i < p->n_hosts; i++)
		if (p->hosts[i].role == ROLE_BACKEND) {
			if (spawn_serve(p, &p->hosts[i], exe) < 0)
				return -1;
			total++;
		}

	/* Bounded wait until each serve listens or exits. */
	double deadline = now_sec() + SERVE_READY_TIMEOUT;
	unsigned ready = 0, dead = 0;
	bool *done = calloc(p->n_hosts, sizeof(*done));
	if (!done)
		return -1;
	while (ready + dead < total && now_sec() < deadline && !lab_interrupted) {
		for (unsigned i = 0; i < p->n_hosts; i++) {
			struct lab_host *h = &p->hosts[i];
			if (h->role != ROLE_BACKEND || done[i])
				continue;
			int status;
			struct lab_proc *serve = &h->procs[0];
			if (waitpid(serve->pid, &status, WNOHANG) == serve->pid) {
				done[i] = true;
				dead++;
				mplb_warn("%s: mplb serve exited (%s %d) at start; see %s",
					  h->id, WIFEXITED(status) ? "status" : "signal",
					  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
					  serve->log);
				serve->pid = 0;
			} else if (listening(serve->pid, p->opts.port)) {
				done[i] = true;
				ready++;
			}
		}
		if (ready + dead < total)
			usleep(10000);
	}
	free(done);
	if (ready + dead < total && !lab_interrupted)
		mplb_warn("%u of %u backends not listening on port %u after %.0f s; see their logs",
			  total - ready - dead, total, p->opts.port, SERVE_READY_TIMEOUT);
	progress("backends: %u of %u serving on [::]:%u", ready, total, p->opts.port);
	/* The agents after serve: their health is "ready" only once something
	 * listens on the VIP's port. */
	if (lab_runs_agent(&p->opts) && !lab_interrupted)
		return lab_start_agents(p);
	return 0;
}

/* ---- up ---------------------------------------------------------------- */

#define CHECK_INTERRUPT()                                                      \
	do {                                                                   \
		if (lab_interrupted)                                           \
			goto fail;                                             \
	} while (0)

int lab_apply(struct lab_plan *p)
{
	const char *name = p->opts.name;
	struct xdp_pass_bpf *skel = NULL;
	struct batch host = {0};
	char dir[256];

	t0 = now_sec();
	lab_run_dir(name, dir, sizeof(dir));
	if (mkdir(dir, 0755) && errno != EEXIST) {
		mplb_err("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	/* Load BPF before creating anything: a kernel without BPF stops here. */
	if (p->opts.xdp != XDP_MODE_NONE && !(skel = lab_xdp_load()))
		goto fail;
	CHECK_INTERRUPT();

	for (unsigned i = 0; i < p->n_hosts; i++)
		batch_add(&host, "netns add %s", p->hosts[i].netns);
	if (batch_run(name, "netns.ip", NULL, false, &host))
		goto fail;
	batch_free(&host);
	progress("namespaces: %u created", p->n_hosts);
	CHECK_INTERRUPT();

	/* Sysctls before the interfaces exist, so that the "default" values
	 * apply to every interface created afterwards. */
	for (unsigned i = 0; i < p->n_hosts; i++) {
		if (apply_sysctls(p, &p->hosts[i]))
			goto fail;
		CHECK_INTERRUPT();
	}
	progress("sysctls set");

	/* Both ends of every veth are created directly in their namespaces. */
	unsigned pairs = 0;
	for (unsigned i = 0; i < p->n_hosts; i++) {
		const struct lab_host *h = &p->hosts[i];
		if (h->role == ROLE_ROUTER)
			continue;
		for (unsigned n = 0; n < h->n_ifaces; n++) {
			const struct lab_iface *ifc = &h->ifaces[n];
			const struct lab_host *peer = lab_plan_host(p, ifc->peer_host);
			batch_add(&host, "link add name %s netns %s type veth peer name %s netns %s",
				  ifc->name, h->netns, ifc->peer_name, peer->netns);
			pairs++;
		}
	}
	if (batch_run(name, "links.ip", NULL, false, &host))
		goto fail;
	batch_free(&host);
	progress("links: %u veth pairs", pairs);
	CHECK_INTERRUPT();

	if (configure_hosts(p))
		goto fail;
	CHECK_INTERRUPT();
	progress("addresses, routes, MPTCP endpoints configured (client-pm %s, server-pm %s)",
		 lab_client_pm_name(p->opts.client_pm),
		 lab_server_pm_name(p->opts.server_pm));
	if (shape_uplinks(p))
		goto fail;
	if (p->opts.uplink_rate[0])
		progress("uplinks shaped: tbf %s on both ends of each", p->opts.uplink_rate);
	CHECK_INTERRUPT();

	if (skel) {
		if (setup_xdp(p, skel))
			goto fail;
		const char *mode = "none";
		for (unsigned i = 0; i < p->n_hosts; i++)
			if (p->hosts[i].role == ROLE_LB)
				mode = p->hosts[i].xdp_mode;
		progress("XDP: xdp_pass attached to the LB hosts' eth0 (%s mode)", mode);
		lab_xdp_unload(skel); /* attached programs stay */
		skel = NULL;
	}
	CHECK_INTERRUPT();

	/* The keys before the backends: the agents and lb.ini share them. */
	if (p->opts.lb == LAB_LB_MPLB && lab_tsecr_key_new(p))
		goto fail;
	if (p->opts.token_sync && lab_sync_key_new(p))
		goto fail;
	if (start_backends(p))
		goto fail;
	CHECK_INTERRUPT();
	if (p->opts.lb == LAB_LB_MPLB) {
		if (lab_read_backend_macs(p) || lab_start_balancers(p))
			goto fail;
		CHECK_INTERRUPT();
	}
	/* BGP once the balancers keep their VIP routes: sessions come up announcing. */
	if (p->opts.bgp) {
		if (lab_start_bird(p) || lab_wait_bgp(p, p->opts.lbs, 20.0))
			goto fail;
		CHECK_INTERRUPT();
	}
	if (p->opts.client_pm == CLIENT_PM_MPLB) {
		if (lab_start_client_daemons(p))
			goto fail;
		CHECK_INTERRUPT();
	}
	return 0;

fail:
	batch_free(&host);
	if (skel)
		lab_xdp_unload(skel);
	mplb_err("lab up %s; removing what was created",
		 lab_interrupted ? "interrupted" : "failed");
	lab_teardown(name, NULL, false);
	return -1;
}

/* ---- down -------------------------------------------------------------- */

static bool lab_netns_name(const char *lab, const char *entry)
{
	size_t n = strlen(lab);
	return !strncmp(entry, lab, n) && entry[n] == '-' &&
	       lab_host_id_valid(entry + n + 1);
}

int lab_list_netns(const char *name, char ***out)
{
	DIR *d = opendir("/var/run/netns");
	char **list = NULL;
	int n = 0;
	struct dirent *e;

	*out = NULL;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (!lab_netns_name(name, e->d_name))
			continue;
		char **nl = realloc(list, (n + 1) * sizeof(*list));
		if (!nl)
			break;
		list = nl;
		list[n++] = strdup(e->d_name);
	}
	closedir(d);
	*out = list;
	return n;
}

void lab_free_list(char **list, int n)
{
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static bool same_netns(pid_t pid, const struct stat *ns)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	return !stat(path, &st) && st.st_ino == ns->st_ino && st.st_dev == ns->st_dev;
}

bool lab_pid_in_netns(pid_t pid, const char *netns)
{
	char path[300];
	struct stat ns;
	snprintf(path, sizeof(path), "/var/run/netns/%s", netns);
	return pid > 0 && !stat(path, &ns) && same_netns(pid, &ns);
}

/* Signal every process living in one of the namespaces; returns how many. */
static int signal_lab_processes(struct stat *ns, int n_ns, int sig)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int count = 0;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 1 || pid == getpid())
			continue;
		for (int i = 0; i < n_ns; i++)
			if (same_netns((pid_t)pid, &ns[i])) {
				if (!kill((pid_t)pid, sig))
					count++;
				break;
			}
	}
	closedir(d);
	return count;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_tree(const char *path)
{
	if (!access(path, F_OK))
		nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#define KILL_GRACE 1.0 /* seconds between SIGTERM and SIGKILL */

int lab_teardown(const char *name, json_t *state, bool verbose)
{
	char **netns;
	int n = lab_list_netns(name, &netns);
	struct stat *ns = calloc(n ? n : 1, sizeof(*ns));
	int stopped = 0;
	(void)state; /* processes are found by namespace, recorded or not */

	if (!ns) {
		lab_free_list(netns, n);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[300];
		snprintf(path, sizeof(path), "/var/run/netns/%s", netns[i]);
		stat(path, &ns[i]);
	}
	/* The server agents first, alone, and waited for: each undoes its
	 * own changes (endpoints, sysctls, tc links, pins, journal) while its
	 * namespace and the processes it checks still exist. */
	lab_stop_agents(name, netns, n);
	/* Every process in a lab namespace: serve, and anything started with
	 * `lab exec` or left by a crashed `up`. TERM first, KILL after a grace
	 * period. */
	stopped = signal_lab_processes(ns, n, SIGTERM);
	double deadline = now_sec() + KILL_GRACE;
	while (stopped && signal_lab_processes(ns, n, 0) && now_sec() < deadline) {
		while (waitpid(-1, NULL, WNOHANG) > 0) /* our own children */
			;
		usleep(10000);
	}
	if (stopped && signal_lab_processes(ns, n, SIGKILL))
		usleep(20000);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	/* An agent that was killed left its journal: replay it in its
	 * namespace (pins live on the host's bpffs, beyond the namespace). */
	lab_cleanup_agents(name, netns, n);

	/* XDP off explicitly (both modes), then the namespaces; their
	 * interfaces, routes and endpoints go with them. */
	for (int i = 0; i < n; i++) {
		const char *id = netns[i] + strlen(name) + 1;
		if (!strncmp(id, "lb", 2)) {
			lab_xdp_detach(netns[i], "eth0");
			char peer[IFNAMSIZ], rt[300];
			snprintf(peer, sizeof(peer), "%s", id);
			snprintf(rt, sizeof(rt), "%s-rt", name);
			lab_xdp_detach(rt, peer);
		}
	}
	struct batch b = {0};
	for (int i = 0; i < n; i++)
		batch_add(&b, "netns del %s", netns[i]);
	int rc = 0;
	if (b.lines) {
		/* The run directory may be gone (crashed up): use /run/mplb. */
		char dir[256];
		lab_run_dir(name, dir, sizeof(dir));
		mkdir(LAB_RUN_ROOT, 0755);
		mkdir(dir, 0755);
		rc = batch_run(name, "down.ip", NULL, false, &b);
	}
	batch_free(&b);

	char path[300];
	/* State files of `mplb client` daemons killed before they could
	 * remove them (CLIENT_STATE_DIR/client-<netns>.json). */
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/client-%s.json", LAB_RUN_ROOT, netns[i]);
		unlink(path);
	}
	/* The balancers' run state (/run/mplb/lb/<name>_lb<k>.json, .lock):
	 * they exit leaving their data plane, which went with the namespaces. */
	for (int k = 1; k <= LAB_MAX_LBS; k++) {
		static const char *const ext[] = {"json", "lock"};
		for (size_t e = 0; e < ARRAY_SIZE(ext); e++) {
			snprintf(path, sizeof(path), "%s/lb/%s_lb%d.%s", LAB_RUN_ROOT, name, k, ext[e]);
			unlink(path);
		}
		snprintf(path, sizeof(path), "%s/lb-health-%s_lb%d.json", LAB_RUN_ROOT, name, k);
		unlink(path);
	}
	lab_run_dir(name, path, sizeof(path));
	rm_tree(path);
	snprintf(path, sizeof(path), "%s/%s", LAB_BPFFS_ROOT, name);
	rm_tree(path);
	rmdir(LAB_BPFFS_ROOT); /* only if empty */

	if (verbose)
		printf("lab %s: %d namespaces removed, %d processes stopped\n", name, n,
		       stopped);
	free(ns);
	lab_free_list(netns, n);
	return rc ? -1 : n;
}
