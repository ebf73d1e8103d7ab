// SPDX-License-Identifier: MIT
/*
 * The balancer's lifecycle: `mplb lb run` (load or take over the pinned data
 * plane, attach or replace atomically, announce, health, reload), and the
 * commands that talk to a running one: reload, stop, drain, resume.
 *
 * The data plane outlives the process. The XDP program stays attached and
 * the maps pinned when `run` exits on SIGTERM/SIGINT ([lb] on_exit = keep),
 * so a restart, an upgrade or a crash followed by a start loses no token,
 * join flow, LRU entry or removal grace: the next `run` reuses the pins and
 * swaps its program in with XDP_FLAGS_REPLACE. `stop` is the full stop.
 *
 * A running balancer keeps /run/mplb/lb/<NAME>.json (NAME with '/' as '_'):
 * its pid (0 once it has exited with the data plane left running), reload
 * generation and verdict, interfaces, XDP mode, announced VIPs and drain
 * state. <NAME>.lock is flocked while a process runs it.
 */
#include "lb_run.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>
#include <systemd/sd-daemon.h>

#include "bpf/lb.skel.h"
#include "lb_announce.h"
#include "lb_config.h"
#include "lb_evict.h"
#include "lb_health.h"
#include "lb_metrics.h"
#include "lb_runtime.h"
#include "lb_sync.h"
#include "sysmounts.h"
#include "util.h"

#define LB_RUN_DIR "/run/mplb/lb"
#define LOOP_PERIOD_US 200000 /* without health checks: how often flags and attachment are looked at */
#define EVICT_ACCOUNT_S 1.0    /* how often the *_evicted counters are brought up to date */

static volatile sig_atomic_t got_stop, got_hup, got_full_stop, got_usr2;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGUSR1)
		got_full_stop = 1;
	else if (sig == SIGUSR2)
		got_usr2 = 1;
	else
		got_stop = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && mplb_verbose < 2)
		return 0;
	if (level == LIBBPF_INFO && !mplb_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* ---- run state ------------------------------------------------------------ */

static void state_path(const char *name, const char *ext, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/", LB_RUN_DIR);
	for (const char *c = name; *c && n < (int)len - 8; c++)
		buf[n++] = *c == '/' ? '_' : *c;
	snprintf(buf + n, len - (size_t)n, "%s", ext);
}

static unsigned long netns_ino(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : (unsigned long)st.st_ino;
}

json_t *lb_state_read(const char *name)
{
	char path[320];
	json_error_t err;

	state_path(name, ".json", path, sizeof(path));
	return json_load_file(path, 0, &err);
}

static int state_write(const char *name, json_t *st)
{
	char path[320], tmp[340];

	mkdir("/run/mplb", 0755);
	mkdir(LB_RUN_DIR, 0755);
	state_path(name, ".json", path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (json_dump_file(st, tmp, JSON_INDENT(2)) || rename(tmp, path)) {
		unlink(tmp);
		return -1; /* stats and reload by signal still work without it */
	}
	return 0;
}

static void state_remove(const char *name)
{
	char path[320];

	state_path(name, ".json", path, sizeof(path));
	unlink(path);
	state_path(name, ".lock", path, sizeof(path));
	unlink(path);
}

static bool jbool(json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k));
}

/* The state document of a running balancer, from what it runs. */
static json_t *state_build(const struct lb_runtime *rt, const char *cfg_path, unsigned gen,
			   const char *verdict, bool drained, bool announced)
{
	json_t *st = json_object(), *ifs = json_array(), *vips = json_array();
	char a[INET6_ADDRSTRLEN];

	json_object_set_new(st, "name", json_string(rt->cfg.name));
	json_object_set_new(st, "pid", json_integer(getpid()));
	json_object_set_new(st, "generation", json_integer(gen));
	json_object_set_new(st, "verdict", json_string(verdict));
	json_object_set_new(st, "config", json_string(cfg_path));
	json_object_set_new(st, "pin_dir", json_string(rt->pin_dir));
	json_object_set_new(st, "netns", json_integer((json_int_t)netns_ino()));
	json_object_set_new(st, "xdp", json_string(rt->xdp_flags == XDP_FLAGS_SKB_MODE ? "generic" : "native"));
	for (int i = 0; i < rt->cfg.n_ifaces; i++)
		json_array_append_new(ifs, json_string(rt->cfg.ifaces[i]));
	json_object_set_new(st, "interfaces", ifs);
	json_object_set_new(st, "announce_table", json_integer(rt->cfg.announce_table));
	for (int i = 0; i < rt->cfg.n_vips; i++) {
		inet_ntop(rt->cfg.vips[i].family == MPLB_FAMILY_V6 ? AF_INET6 : AF_INET,
			  rt->cfg.vips[i].addr, a, sizeof(a));
		json_array_append_new(vips, json_string(a));
	}
	json_object_set_new(st, "vips", vips);
	json_object_set_new(st, "drained", json_boolean(drained));
	json_object_set_new(st, "announced", json_boolean(announced));
	json_object_set_new(st, "started", json_integer((json_int_t)time(NULL)));
	return st;
}

/* The VIP addresses a state document names (for stop and drain without a config). */
static int state_vips(json_t *st, int *family, uint32_t (*addr)[4], int cap)
{
	size_t i;
	json_t *v;
	int n = 0;

	json_array_foreach(json_object_get(st, "vips"), i, v) {
		const char *s = json_string_value(v);
		if (!s || n >= cap)
			continue;
		memset(addr[n], 0, 16);
		if (inet_pton(AF_INET, s, addr[n]) == 1)
			family[n++] = MPLB_FAMILY_V4;
		else if (inet_pton(AF_INET6, s, addr[n]) == 1)
			family[n++] = MPLB_FAMILY_V6;
	}
	return n;
}

/* flock the instance: one process per balancer name. Returns the fd, or -1 (held: *holder = pid). */
static int instance_lock(const char *name, int *holder)
{
	char path[320];
	int fd;

	*holder = 0;
	mkdir("/run/mplb", 0755);
	mkdir(LB_RUN_DIR, 0755);
	state_path(name, ".lock", path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		json_t *st = lb_state_read(name);
		*holder = st ? (int)json_integer_value(json_object_get(st, "pid")) : -1;
		json_decref(st);
		close(fd);
		return -1;
	}
	return fd;
}

/* Is a process holding the instance lock (a running `mplb lb run`)? */
static bool instance_running(const char *name)
{
	int holder, fd = instance_lock(name, &holder);

	if (fd >= 0) {
		close(fd);
		return false;
	}
	return holder != 0;
}

/* ---- run ------------------------------------------------------------------ */

/* Is our program still the one attached everywhere we attached it? */
static bool still_attached(const struct lb_runtime *rt)
{
	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_program__fd(rt->skel->progs.xdp_lb), &info, &len))
		return false;
	for (int i = 0; i < rt->n_attached; i++) {
		LIBBPF_OPTS(bpf_xdp_query_opts, q);
		if (bpf_xdp_query(rt->ifindex[i], 0, &q))
			return false;
		if ((rt->xdp_flags == XDP_FLAGS_SKB_MODE ? q.skb_prog_id : q.drv_prog_id) != info.id)
			return false;
	}
	return true;
}

struct run_ctx {
	struct lb_runtime *rt;
	const char *cfg_path;
	unsigned gen;
	char verdict[160];
	bool drained, announced;
	struct lb_sync *sync;
	struct lb_metrics *metrics;
};

static void publish(struct run_ctx *c)
{
	json_t *st = state_build(c->rt, c->cfg_path, c->gen, c->verdict, c->drained, c->announced);
	state_write(c->rt->cfg.name, st);
	json_decref(st);
}

/* Announce while attached and not drained; withdraw otherwise. */
static void reconcile_announce(struct run_ctx *c)
{
	bool want = !c->drained && still_attached(c->rt);

	if (!c->rt->cfg.announce_table)
		return;
	if (want == c->announced)
		return;
	if (lb_announce(&c->rt->cfg, want) >= 0) {
		if (!want && !c->drained)
			mplb_warn("lb: our XDP program is no longer attached: VIP routes withdrawn");
		printf("mplb lb: VIPs %s (table %u)\n", want ? "announced" : "withdrawn",
		       c->rt->cfg.announce_table);
		fflush(stdout);
		c->announced = want;
		lb_metrics_set_announced(c->metrics, want);
		publish(c);
	}
}

static void reload(struct run_ctx *c, struct lb_cfg *next, const char *name,
		   struct lb_health **health)
{
	struct lb_runtime *rt = c->rt;

	c->gen++;
	if (lb_cfg_load(c->cfg_path, next) || lb_cfg_validate(next)) {
		mplb_err("lb: reload of %s rejected; still running the previous config", c->cfg_path);
		snprintf(c->verdict, sizeof(c->verdict),
			 "rejected: config invalid, previous config still running (see its log)");
		publish(c);
		return;
	}
	if (name)
		snprintf(next->name, sizeof(next->name), "%s", name);
	if (strcmp(next->name, rt->cfg.name) || next->n_ifaces != rt->cfg.n_ifaces ||
	    next->xdp_mode != rt->cfg.xdp_mode)
		mplb_warn("lb: name, interfaces and xdp mode change on restart only");
	snprintf(next->name, sizeof(next->name), "%s", rt->cfg.name);
	memcpy(next->ifaces, rt->cfg.ifaces, sizeof(next->ifaces));
	next->n_ifaces = rt->cfg.n_ifaces;
	next->xdp_mode = rt->cfg.xdp_mode;
	if (next->n_vips > (int)rt->cfg.max_vips) {
		mplb_err("lb: reload has %d VIPs, the maps hold %u; restart to grow", next->n_vips,
			 rt->cfg.max_vips);
		snprintf(c->verdict, sizeof(c->verdict),
			 "rejected: more VIPs than the maps hold; restart to grow");
		publish(c);
		return;
	}
	if (!*health)
		*health = lb_health_new(next);
	/* VIPs that left the config: withdraw them before the maps forget them. */
	if (c->announced && rt->cfg.announce_table) {
		struct lb_cfg gone = rt->cfg;
		gone.n_vips = 0;
		for (int i = 0; i < rt->cfg.n_vips; i++) {
			bool kept = false;
			for (int k = 0; k < next->n_vips; k++)
				kept |= !memcmp(next->vips[k].addr, rt->cfg.vips[i].addr, 16);
			if (!kept)
				gone.vips[gone.n_vips++] = rt->cfg.vips[i];
		}
		lb_announce(&gone, false);
	}
	if (lb_rt_apply(rt, *health ? lb_health_overlay(*health, next) : next) == 0) {
		printf("mplb lb: reloaded %s: %d VIPs, %d backends\n", c->cfg_path, next->n_vips,
		       next->n_backends);
		snprintf(c->verdict, sizeof(c->verdict), "reloaded: %d VIPs, %d backends", next->n_vips,
			 next->n_backends);
		if (c->announced)
			lb_announce(&rt->cfg, true); /* VIPs the reload added */
		lb_sync_reconfigure(c->sync, &rt->cfg);
	} else {
		snprintf(c->verdict, sizeof(c->verdict), "failed: maps not updated (see its log)");
	}
	publish(c);
	fflush(stdout);
}

/* Seed the health checker with what the previous run had found (pinned). */
static void seed_health(struct lb_health *h, struct lb_runtime *rt)
{
	int fd = bpf_map__fd(rt->skel->maps.backend_meta);

	for (uint32_t id = 0; h && id < MPLB_MAX_BACKENDS; id++) {
		struct backend_meta bm;
		if (!bpf_map_lookup_elem(fd, &id, &bm) && bm.name[0] && bm.health_down) {
			bm.name[sizeof(bm.name) - 1] = 0;
			lb_health_seed(h, bm.name, true);
		}
	}
}

int lb_run(const char *path, const char *name)
{
	struct lb_runtime *rt = calloc(1, sizeof(*rt));
	struct lb_cfg *cfg = calloc(1, sizeof(*cfg)), *next = calloc(1, sizeof(*cfg));
	struct sigaction sa = {.sa_handler = on_signal};
	struct lb_health *health = NULL; /* backends with `health =` checks */
	struct run_ctx c = {.rt = rt, .cfg_path = path};
	int rc = 1, lock = -1, holder;
	json_t *prev;

	if (!rt || !cfg || !next)
		goto out;
	if (lb_cfg_load(path, cfg) || lb_cfg_validate(cfg))
		goto out;
	if (name)
		snprintf(cfg->name, sizeof(cfg->name), "%s", name);
	if (require_root("mplb lb run (loads and attaches XDP)") || mplb_bpffs_ensure("mplb lb run"))
		goto out;
	lock = instance_lock(cfg->name, &holder);
	if (lock < 0) {
		mplb_err("lb run: balancer '%s' is already running (pid %d): stop it first (SIGTERM "
			 "keeps its data plane for this run to take over), or give this one another "
			 "name (-n)", cfg->name, holder);
		goto out;
	}
	/* A drain survives a restart: the operator took the host out, not the process. */
	prev = lb_state_read(cfg->name);
	c.drained = prev && jbool(prev, "drained");
	json_decref(prev);

	libbpf_set_print(libbpf_print);
	if (lb_rt_load(rt, cfg, true))
		goto out;
	if (lb_rt_attach(rt)) {
		/* A fresh data plane that never ran is removed; a reused one stays as it was. */
		if (rt->reused)
			lb_rt_close(rt);
		else
			lb_rt_destroy(rt);
		goto out;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	printf("mplb lb: %s attached (%s, %s) on", cfg->name,
	       cfg->xdp_mode == LB_XDP_GENERIC ? "generic" : "native",
	       cfg->forwarding == LB_FWD_IPIP ? "ipip" : "dsr");
	for (int i = 0; i < cfg->n_ifaces; i++)
		printf(" %s", cfg->ifaces[i]);
	printf("; %d VIPs, %d backends; maps in %s; Ctrl-C stops\n", cfg->n_vips, cfg->n_backends,
	       rt->pin_dir);
	if (rt->reused) {
		int grace = 0;
		for (int id = 0; id < MPLB_MAX_BACKENDS; id++)
			grace += rt->removed_at[id] != 0;
		printf("mplb lb: took over the pinned state of a previous run: %ld tokens, %ld join "
		       "flows, %ld LRU flows, %d backends in their removal grace; program %s\n",
		       rt->reused_tokens, rt->reused_flows, rt->reused_lru, grace,
		       rt->replaced ? "replaced atomically" : "attached (none was running)");
	}
	fflush(stdout);
	snprintf(c.verdict, sizeof(c.verdict), "running");
	c.sync = lb_sync_open(cfg, rt);
	if (cfg->n_syncs && !c.sync)
		goto out_close;
	c.metrics = lb_metrics_start(cfg, rt);
	if (cfg->has_metrics && !c.metrics) {
		lb_sync_close(c.sync);
		goto out_close;
	}
	publish(&c);
	health = lb_health_new(cfg);
	if (health && rt->reused) {
		seed_health(health, rt);
		lb_rt_apply(rt, lb_health_overlay(health, cfg));
	}
	reconcile_announce(&c);
	lb_notify_ready();
	double evict_at = 0;
	while (!got_stop && !got_full_stop) {
		lb_rt_expire(rt);
		if (now_sec() >= evict_at) {
			lb_evict_account(rt->skel);
			evict_at = now_sec() + EVICT_ACCOUNT_S;
		}
		if (health)
			lb_health_round(health, rt, c.sync); /* one check round, then the rest of the interval */
		else
			lb_sync_wait(c.sync, LOOP_PERIOD_US); /* tokens pushed by agents, or a pause */
		if (got_usr2) { /* `mplb lb drain|resume` changed the drain flag */
			json_t *st = lb_state_read(cfg->name);
			got_usr2 = 0;
			c.drained = st && jbool(st, "drained");
			json_decref(st);
			publish(&c);
		}
		reconcile_announce(&c);
		if (got_hup) {
			got_hup = 0;
			reload(&c, next, name, &health);
		}
	}
	lb_metrics_stop(c.metrics); /* before the maps it reads go */
	lb_sync_close(c.sync);
	c.sync = NULL;
	lb_health_free(health);
	if (got_full_stop || cfg->detach_on_exit) {
		printf("mplb lb: %s: stopping: VIPs withdrawn, program detached, state unpinned\n",
		       rt->cfg.name);
		if (rt->cfg.announce_table)
			lb_announce(&rt->cfg, false);
		lb_rt_destroy(rt);
		state_remove(rt->cfg.name);
	} else {
		json_t *st = state_build(rt, path, c.gen, "exited: data plane left running", c.drained,
					 c.announced);
		json_object_set_new(st, "pid", json_integer(0));
		state_write(rt->cfg.name, st);
		json_decref(st);
		printf("mplb lb: %s: exiting; the data plane keeps forwarding with its state pinned in "
		       "%s (a new `mplb lb run` takes it over; `mplb lb stop -n %s` removes it)\n",
		       rt->cfg.name, rt->pin_dir, rt->cfg.name);
		lb_rt_close(rt);
	}
	rc = 0;
	goto out;
out_close:
	lb_rt_close(rt);
out:
	if (lock >= 0)
		close(lock);
	free(rt);
	free(cfg);
	free(next);
	fflush(stdout);
	return rc;
}

/* ---- commands to a running (or left-running) balancer ---------------------- */

static int name_of(const char *path, const char *name, char *out, size_t len)
{
	if (name) {
		snprintf(out, len, "%s", name);
		return 0;
	}
	struct lb_cfg *cfg = calloc(1, sizeof(*cfg));
	if (!cfg || lb_cfg_load(path, cfg)) {
		free(cfg);
		return -1;
	}
	snprintf(out, len, "%s", cfg->name);
	free(cfg);
	return 0;
}

static int pid_of_running(json_t *st)
{
	char proc[64], comm[32] = "";
	int pid = (int)json_integer_value(json_object_get(st, "pid"));
	FILE *f;

	if (pid <= 0)
		return 0;
	snprintf(proc, sizeof(proc), "/proc/%d/comm", pid);
	f = fopen(proc, "r");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
	}
	return strncmp(comm, "mplb", 4) ? 0 : pid;
}

/* The instance's state, in this network namespace, or NULL with a message. */
static json_t *instance(const char *nm, const char *cmd)
{
	json_t *st = lb_state_read(nm);

	if (!st) {
		mplb_err("lb %s: no balancer named '%s' (no %s/%s.json): start it with `mplb lb run`, "
			 "or pass the -n NAME it runs under", cmd, nm, LB_RUN_DIR, nm);
		return NULL;
	}
	if ((unsigned long)json_integer_value(json_object_get(st, "netns")) != netns_ino()) {
		mplb_err("lb %s: balancer '%s' runs in another network namespace: run this command "
			 "there (nsenter --net=/run/netns/NS mplb lb %s ..., or mplb lab exec HOST -- ...)",
			 cmd, nm, cmd);
		json_decref(st);
		return NULL;
	}
	return st;
}

int lb_reload_cmd(const char *path, const char *name)
{
	char nm[LB_CFG_NAME_LEN];
	json_t *st;
	int pid;
	json_int_t gen;

	if (name_of(path, name, nm, sizeof(nm)))
		return 1;
	st = lb_state_read(nm);
	if (!st) {
		mplb_err("lb reload: no balancer named '%s' is running (no %s entry); start it with "
			 "'mplb lb run', or pass the -n NAME it runs under", nm, LB_RUN_DIR);
		return 1;
	}
	pid = pid_of_running(st);
	gen = json_integer_value(json_object_get(st, "generation"));
	json_decref(st);
	if (!pid) {
		mplb_err("lb reload: balancer '%s' is not running any more (its data plane may be); "
			 "start it again with `mplb lb run`", nm);
		return 1;
	}
	if (kill(pid, SIGHUP)) {
		mplb_err("lb reload: cannot signal pid %d: %s", pid, strerror(errno));
		return 1;
	}
	for (double t0 = now_sec(); now_sec() - t0 < 5.0; usleep(20000)) {
		st = lb_state_read(nm);
		if (st && json_integer_value(json_object_get(st, "generation")) != gen) {
			const char *v = json_string_value(json_object_get(st, "verdict"));
			bool ok = v && !strncmp(v, "reloaded", 8);
			printf("lb %s: %s\n", nm, v ? v : "?");
			json_decref(st);
			return ok ? 0 : 1;
		}
		json_decref(st);
	}
	mplb_err("lb reload: balancer '%s' (pid %d) gave no verdict within 5 s; see its log", nm, pid);
	return 1;
}

/* Detach xdp_lb from the interfaces a state names (only if it is ours). */
static void detach_named(json_t *st)
{
	bool generic = !strcmp(json_string_value(json_object_get(st, "xdp")) ?: "", "generic");
	uint32_t mode = generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(st, "interfaces"), i, v) {
		int ifindex = (int)if_nametoindex(json_string_value(v) ?: "");
		LIBBPF_OPTS(bpf_xdp_query_opts, q);
		struct bpf_prog_info info = {0};
		__u32 len = sizeof(info), id;
		int fd;

		if (!ifindex || bpf_xdp_query(ifindex, 0, &q))
			continue;
		id = generic ? q.skb_prog_id : q.drv_prog_id;
		fd = id ? bpf_prog_get_fd_by_id(id) : -1;
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) && !strcmp(info.name, "xdp_lb")) {
			LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = fd);
			bpf_xdp_attach(ifindex, -1, mode | XDP_FLAGS_REPLACE, &o);
		}
		if (fd >= 0)
			close(fd);
	}
}

int lb_stop_cmd(const char *path, const char *name)
{
	char nm[LB_CFG_NAME_LEN], dir[256];
	json_t *st;
	int pid, family[LB_CFG_MAX_VIPS];
	uint32_t addr[LB_CFG_MAX_VIPS][4];

	if (name_of(path, name, nm, sizeof(nm)))
		return 1;
	if (!(st = instance(nm, "stop")))
		return 1;
	pid = pid_of_running(st);
	if (pid && instance_running(nm)) {
		/* The process does the full stop itself: withdraw, detach, unpin. */
		kill(pid, SIGUSR1);
		for (double t0 = now_sec(); now_sec() - t0 < 5.0; usleep(20000))
			if (kill(pid, 0)) {
				printf("lb %s: stopped (pid %d): VIPs withdrawn, program detached, state "
				       "unpinned\n", nm, pid);
				json_decref(st);
				return 0;
			}
		mplb_err("lb stop: balancer '%s' (pid %d) did not stop within 5 s", nm, pid);
		json_decref(st);
		return 1;
	}
	/* Only the data plane is left: undo it from the recorded state. */
	int n = state_vips(st, family, addr, LB_CFG_MAX_VIPS);
	lb_announce_addrs((uint32_t)json_integer_value(json_object_get(st, "announce_table")), family,
			  (const uint32_t(*)[4])addr, n, false);
	detach_named(st);
	snprintf(dir, sizeof(dir), "%s", json_string_value(json_object_get(st, "pin_dir")) ?: "");
	if (dir[0])
		lb_unpin_dir(dir);
	state_remove(nm);
	printf("lb %s: stopped (no process was running): VIPs withdrawn, program detached, state "
	       "unpinned\n", nm);
	json_decref(st);
	return 0;
}

/* Packets of every VIP counter, summed over CPUs. */
static unsigned long long vip_packets(int fd)
{
	int ncpu = libbpf_num_possible_cpus();
	struct lb_counter *v = ncpu > 0 ? calloc((size_t)ncpu, sizeof(*v)) : NULL;
	unsigned long long sum = 0;

	for (__u32 k = 0; v && !bpf_map_lookup_elem(fd, &k, v); k++)
		for (int c = 0; c < ncpu; c++)
			sum += v[c].packets;
	free(v);
	return sum;
}

int lb_drain_cmd(const char *path, const char *name, bool resume, double wait_s, double quiet_s)
{
	char nm[LB_CFG_NAME_LEN], pin[512];
	json_t *st;
	int pid, fd, family[LB_CFG_MAX_VIPS];
	uint32_t addr[LB_CFG_MAX_VIPS][4], table;
	const char *cmd = resume ? "resume" : "drain";

	if (name_of(path, name, nm, sizeof(nm)))
		return 1;
	if (!(st = instance(nm, cmd)))
		return 1;
	table = (uint32_t)json_integer_value(json_object_get(st, "announce_table"));
	json_object_set_new(st, "drained", json_boolean(!resume));
	if (state_write(nm, st)) {
		mplb_err("lb %s: cannot write the state of '%s'", cmd, nm);
		json_decref(st);
		return 1;
	}
	pid = pid_of_running(st);
	if (pid)
		kill(pid, SIGUSR2); /* it withdraws (or announces) and keeps it so */
	int n = state_vips(st, family, addr, LB_CFG_MAX_VIPS);
	if (!table)
		mplb_warn("lb %s: [lb] announce_table is 0: no route to %s; the flag is set for the "
			  "balancer, but traffic follows whatever announces the VIPs", cmd,
			  resume ? "add" : "withdraw");
	else if (resume && !pid)
		mplb_warn("lb resume: no `mplb lb run` for '%s' to announce the VIPs; it will when it "
			  "starts", nm);
	else if (!resume && lb_announce_addrs(table, family, (const uint32_t(*)[4])addr, n, false) < 0) {
		json_decref(st);
		return 1;
	}
	if (resume) {
		printf("lb %s: resumed: the VIPs are announced again while the program is attached\n", nm);
		json_decref(st);
		return 0;
	}
	/* Forward until nothing arrives: the routers move flows away as the withdrawal spreads. */
	snprintf(pin, sizeof(pin), "%s/vip_stats", json_string_value(json_object_get(st, "pin_dir")) ?: "");
	json_decref(st);
	fd = bpf_obj_get(pin);
	if (fd < 0) {
		printf("lb %s: drained (VIPs withdrawn); no counters at %s to watch\n", nm, pin);
		return 0;
	}
	double t0 = now_sec(), last_change = t0, last_print = t0;
	unsigned long long before = vip_packets(fd), total = 0;
	while (now_sec() - last_change < quiet_s && now_sec() - t0 < wait_s) {
		usleep(50000);
		unsigned long long p = vip_packets(fd);
		if (p != before) {
			total += p - before;
			before = p;
			last_change = now_sec();
		}
		if (now_sec() - last_print >= 1.0) {
			printf("lb %s: draining: %llu packets since the withdrawal, last %.0f ms ago\n", nm,
			       total, (now_sec() - last_change) * 1000);
			fflush(stdout);
			last_print = now_sec();
		}
	}
	close(fd);
	if (now_sec() - last_change >= quiet_s) {
		printf("lb %s: drained: VIPs withdrawn; %llu packets forwarded after it, the last "
		       "%.0f ms after; nothing for %.1f s\n", nm, total, (last_change - t0) * 1000, quiet_s);
		return 0;
	}
	mplb_err("lb drain: '%s' still receives VIP traffic after %.0f s (%llu packets since the "
		 "withdrawal): is something else announcing the VIPs here?", nm, wait_s, total);
	return 1;
}

void lb_notify_ready(void)
{
	/* A no-op outside systemd (no $NOTIFY_SOCKET). */
	sd_notify(0, "READY=1\nSTATUS=attached and forwarding");
}
