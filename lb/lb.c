// SPDX-License-Identifier: MIT
/*
 * mplb lb: run the XDP balancer in the foreground, print its counters, or
 * check a config. See lb/examples/lb.ini for the config format.
 */
#include "lb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "lb_bench.h"
#include "lb_config.h"
#include "lb_health.h"
#include "lb_runtime.h"
#include "sysmounts.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mplb lb run   -c FILE [-n NAME]\n"
		"                                attach the XDP balancer, run until SIGINT/SIGTERM\n"
		"                                (SIGHUP reloads FILE: only changed ring slots are written);\n"
		"                                -n overrides [lb] name, so that several instances (one per\n"
		"                                namespace) share one FILE; NAME may be DIR/NAME\n"
		"       mplb lb reload -c FILE | -n NAME\n"
		"                                make a running balancer re-read its FILE (SIGHUP) and\n"
		"                                wait for its verdict\n"
		"       mplb lb stats [-j] -c FILE | -n NAME\n"
		"                                counters of a running balancer (pinned under\n"
		"                                /sys/fs/bpf/mplb/NAME; use nsenter, not 'ip netns exec')\n"
		"       mplb lb check -c FILE    validate FILE (no root needed)\n"
		"       mplb lb bench [-j] [-r REPEAT] [-p PASSES]\n"
		"                                ns per packet of each decision path (BPF_PROG_TEST_RUN)\n"
		"\nexample: mplb lb check -c lb/examples/lb.ini\n");
}

static volatile sig_atomic_t got_stop, got_hup;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
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

static void summary(const struct lb_cfg *cfg)
{
	char a[INET6_ADDRSTRLEN], st[64];

	for (int i = 0; i < cfg->n_vips; i++) {
		const struct lb_cfg_vip *v = &cfg->vips[i];
		inet_ntop(v->family == MPLB_FAMILY_V6 ? AF_INET6 : AF_INET, v->addr, a, sizeof(a));
		printf("vip %-12s %s port %u/%s strategy %s", v->name, a, v->port,
		       v->proto == IPPROTO_TCP ? "tcp" : "udp", lb_strategy_str(v->flags, st, sizeof(st)));
		if (v->flags & VIP_F_PORT)
			printf(" join ports %u..%u", v->join_port_base,
			       v->join_port_base + v->join_port_count - 1);
		if (v->flags & VIP_F_TOKEN)
			printf(" unknown_token %s", v->unknown_token == UNKNOWN_TOKEN_DROP ? "drop" : "ring");
		printf("\n");
	}
	for (int i = 0; i < cfg->n_backends; i++) {
		const struct lb_cfg_backend *b = &cfg->backends[i];
		printf("backend %-8s id %ld weight %u %s\n", b->name, b->id, b->weight,
		       b->draining ? "draining" : "active");
	}
}

static int do_check(const char *path)
{
	struct lb_cfg *cfg = calloc(1, sizeof(*cfg));
	int rc = 1;

	if (!cfg)
		return 1;
	if (lb_cfg_load(path, cfg) == 0 && lb_cfg_validate(cfg) == 0) {
		summary(cfg);
		printf("%s: OK\n", path);
		rc = 0;
	}
	free(cfg);
	return rc;
}

/*
 * A pin name: [lb] name rules, plus one optional level ("lab/lb1"), so that
 * instances started by a tool can pin inside that tool's own directory.
 */
static int check_pin_name(const char *name)
{
	const char *slash = strchr(name, '/');
	if (!*name || strlen(name) >= LB_CFG_NAME_LEN || name[0] == '/' || strstr(name, "..") ||
	    (slash && (strchr(slash + 1, '/') || !slash[1]))) {
		mplb_err("lb run: -n '%s': want NAME or DIR/NAME (no '..', < %d characters)", name,
			 LB_CFG_NAME_LEN);
		return -1;
	}
	return 0;
}

/*
 * A running balancer keeps "PID GENERATION VERDICT" in /run/mplb/lb/NAME.run
 * (NAME with '/' as '_'), so `mplb lb reload` can find it and wait for the
 * outcome of its SIGHUP.
 */
#define LB_RUN_DIR "/run/mplb/lb"

static void run_file_path(const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/", LB_RUN_DIR);
	for (const char *c = name; *c && n < (int)len - 5; c++)
		buf[n++] = *c == '/' ? '_' : *c;
	snprintf(buf + n, len - n, ".run");
}

static void run_file_write(const char *name, unsigned gen, const char *verdict)
{
	char path[256], tmp[272];
	FILE *f;

	mkdir("/run/mplb", 0755);
	mkdir(LB_RUN_DIR, 0755);
	run_file_path(name, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return; /* reload by signal still works without it */
	fprintf(f, "%d %u %s\n", (int)getpid(), gen, verdict);
	fclose(f);
	rename(tmp, path);
}

static int run_file_read(const char *name, int *pid, unsigned *gen, char *verdict, size_t vlen)
{
	char path[256], line[512];
	FILE *f;
	int n = 0;

	run_file_path(name, path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(line, sizeof(line), f) && sscanf(line, "%d %u %n", pid, gen, &n) >= 2 && n > 0) {
		line[strcspn(line, "\n")] = 0;
		snprintf(verdict, vlen, "%s", line + n);
		fclose(f);
		return 0;
	}
	fclose(f);
	return -1;
}

static int do_run(const char *path, const char *name)
{
	struct lb_runtime *rt = calloc(1, sizeof(*rt));
	struct lb_cfg *cfg = calloc(1, sizeof(*cfg)), *next = calloc(1, sizeof(*cfg));
	struct sigaction sa = {.sa_handler = on_signal};
	struct lb_health *health = NULL; /* backends with `health =` checks */
	int rc = 1;

	if (!rt || !cfg || !next)
		goto out;
	if (lb_cfg_load(path, cfg) || lb_cfg_validate(cfg))
		goto out;
	if (name)
		snprintf(cfg->name, sizeof(cfg->name), "%s", name);
	if (require_root("mplb lb run (loads and attaches XDP)") || mplb_bpffs_ensure("mplb lb run"))
		goto out;
	libbpf_set_print(libbpf_print);
	if (lb_rt_load(rt, cfg))
		goto out;
	/* Pins first: stats, reload and a restarted run all go through them. */
	if (lb_rt_pin(rt) || lb_rt_attach(rt))
		goto out_destroy;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	printf("mplb lb: %s attached (%s, %s) on", cfg->name,
	       cfg->xdp_mode == LB_XDP_GENERIC ? "generic" : "native",
	       cfg->forwarding == LB_FWD_IPIP ? "ipip" : "dsr");
	for (int i = 0; i < cfg->n_ifaces; i++)
		printf(" %s", cfg->ifaces[i]);
	printf("; %d VIPs, %d backends; maps in %s; Ctrl-C stops\n", cfg->n_vips, cfg->n_backends,
	       rt->pin_dir);
	fflush(stdout);
	unsigned reload_gen = 0;
	run_file_write(rt->cfg.name, reload_gen, "running");
	health = lb_health_new(cfg);
	while (!got_stop) {
		lb_rt_expire(rt);
		if (health)
			lb_health_round(health, rt); /* one check round, then the rest of the interval */
		else
			usleep(200000); /* a SIGHUP between the loop test and a pause() would wait for the next signal */
		if (got_hup) {
			got_hup = 0;
			reload_gen++;
			if (lb_cfg_load(path, next) || lb_cfg_validate(next)) {
				mplb_err("lb: reload of %s rejected; still running the previous config", path);
				run_file_write(rt->cfg.name, reload_gen,
					       "rejected: config invalid, previous config still running (see its log)");
				continue;
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
				mplb_err("lb: reload has %d VIPs, the maps hold %u; restart to grow",
					 next->n_vips, rt->cfg.max_vips);
				run_file_write(rt->cfg.name, reload_gen,
					       "rejected: more VIPs than the maps hold; restart to grow");
				continue;
			}
			if (!health)
				health = lb_health_new(next);
			if (lb_rt_apply(rt, health ? lb_health_overlay(health, next) : next) == 0) {
				char verdict[128];
				printf("mplb lb: reloaded %s: %d VIPs, %d backends\n", path, next->n_vips,
				       next->n_backends);
				snprintf(verdict, sizeof(verdict), "reloaded: %d VIPs, %d backends",
					 next->n_vips, next->n_backends);
				run_file_write(rt->cfg.name, reload_gen, verdict);
			} else {
				run_file_write(rt->cfg.name, reload_gen,
					       "failed: maps not updated (see its log)");
			}
			fflush(stdout);
		}
	}
	printf("mplb lb: detaching\n");
	{
		char run_path[256];
		run_file_path(rt->cfg.name, run_path, sizeof(run_path));
		unlink(run_path);
	}
	lb_health_free(health);
	rc = 0;
out_destroy:
	lb_rt_destroy(rt);
out:
	free(rt);
	free(cfg);
	free(next);
	return rc;
}

/* ---- stats ---- */

struct counter_sum {
	unsigned long long packets, bytes;
};

static int sum_percpu(int fd, uint32_t key, struct counter_sum *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct lb_counter *v;

	out->packets = out->bytes = 0;
	if (ncpu <= 0)
		return -1;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -1;
	if (bpf_map_lookup_elem(fd, &key, v)) {
		free(v);
		return -1;
	}
	for (int i = 0; i < ncpu; i++) {
		out->packets += v[i].packets;
		out->bytes += v[i].bytes;
	}
	free(v);
	return 0;
}

#define LB_STAT_NAME_(id, name, group) name,
#define LB_STAT_GROUP_(id, name, group) group,
static const char *const stat_names[] = {LB_STATS(LB_STAT_NAME_)};
static const char *const stat_groups[] = {LB_STATS(LB_STAT_GROUP_)};

static int open_pin(const char *dir, const char *map)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, map);
	return bpf_obj_get(path);
}

static long count_entries(int fd, size_t key_size)
{
	char cur[64], next[64];
	long n = 0;

	if (fd < 0 || key_size > sizeof(cur))
		return -1;
	if (bpf_map_get_next_key(fd, NULL, next))
		return 0;
	do {
		n++;
		memcpy(cur, next, key_size);
	} while (!bpf_map_get_next_key(fd, cur, next));
	return n;
}

static int do_stats(const char *path, const char *name, bool json)
{
	struct lb_cfg *cfg = calloc(1, sizeof(*cfg));
	int fd_stats = -1, fd_vip = -1, fd_be = -1, fd_tok = -1, fd_flow = -1, rc = 1;
	int fd_meta = -1, fd_vinfo = -1;
	char dir[256];
	json_t *root = NULL, *jc = NULL, *jv = NULL, *jb = NULL;

	if (!cfg)
		return 1;
	if (path) {
		if (lb_cfg_load(path, cfg))
			goto out;
		name = cfg->name;
	}
	lb_pin_dir(name, dir, sizeof(dir));
	fd_stats = open_pin(dir, "lb_stats");
	if (fd_stats < 0) {
		if (!mplb_bpffs_mounted())
			mplb_err("lb stats: no bpffs at /sys/fs/bpf in this mount namespace, so no "
				 "balancer pinned its maps here: is `mplb lb run` running? Under `ip netns "
				 "exec` /sys is private: use `nsenter --net=/run/netns/NS mplb lb stats ...`");
		else
			mplb_err("lb stats: no balancer maps at %s (%s): is `mplb lb run` running with "
				 "this name (-n) or config (-c)?", dir, strerror(errno));
		goto out;
	}
	fd_meta = open_pin(dir, "backend_meta");
	fd_vinfo = open_pin(dir, "vip_info");
	fd_vip = open_pin(dir, "vip_stats");
	fd_be = open_pin(dir, "backend_stats");
	fd_tok = open_pin(dir, "token_map");
	fd_flow = open_pin(dir, "join_flows");
	if (json) {
		root = json_object();
		jc = json_object();
		jv = json_object();
		jb = json_object();
		json_object_set_new(root, "name", json_string(name));
	} else {
		printf("%-7s %-18s %14s %16s\n", "group", "counter", "packets", "bytes");
	}
	for (int i = 0; i < LB_STAT_MAX; i++) {
		struct counter_sum s;
		if (sum_percpu(fd_stats, (uint32_t)i, &s))
			continue;
		if (json) {
			json_t *o = json_object();
			json_object_set_new(o, "group", json_string(stat_groups[i]));
			json_object_set_new(o, "packets", json_integer((json_int_t)s.packets));
			json_object_set_new(o, "bytes", json_integer((json_int_t)s.bytes));
			json_object_set_new(jc, stat_names[i], o);
		} else if (s.packets) {
			printf("%-7s %-18s %14llu %16llu\n", stat_groups[i], stat_names[i], s.packets,
			       s.bytes);
		}
	}
	int nv = path ? cfg->n_vips : LB_CFG_MAX_VIPS;
	if (!json)
		printf("\n%-7s %-18s %14s %16s\n", "vip", "name", "packets", "bytes");
	for (int i = 0; fd_vip >= 0 && i < nv; i++) {
		struct counter_sum s;
		char label[80];
		if (sum_percpu(fd_vip, (uint32_t)i, &s))
			break;
		struct vip_info vi = {0};
		if (path)
			snprintf(label, sizeof(label), "%s", cfg->vips[i].name);
		else if (fd_vinfo >= 0 && !bpf_map_lookup_elem(fd_vinfo, &(uint32_t){(uint32_t)i}, &vi) &&
			 vi.name[0])
			snprintf(label, sizeof(label), "%.*s", (int)sizeof(vi.name), vi.name);
		else if (!s.packets)
			continue; /* a VIP number no config uses */
		else
			snprintf(label, sizeof(label), "#%d", i);
		if (json) {
			json_t *o = json_object();
			json_object_set_new(o, "packets", json_integer((json_int_t)s.packets));
			json_object_set_new(o, "bytes", json_integer((json_int_t)s.bytes));
			json_object_set_new(jv, label, o);
		} else if (path || s.packets) {
			printf("%-7s %-18s %14llu %16llu\n", "", label, s.packets, s.bytes);
		}
	}
	if (!json)
		printf("\n%-7s %-18s %14s %16s\n", "backend", "name", "packets", "bytes");
	for (uint32_t id = 0; fd_be >= 0 && id < MPLB_MAX_BACKENDS; id++) {
		struct counter_sum s;
		char label[80];
		const char *bn = NULL;
		if (sum_percpu(fd_be, id, &s))
			break;
		struct backend_meta bm = {0};
		for (int i = 0; path && i < cfg->n_backends; i++)
			if (cfg->backends[i].id == (long)id)
				bn = cfg->backends[i].name;
		/* The running balancer's own record: also names backends in their removal grace. */
		if (!bn && fd_meta >= 0 && !bpf_map_lookup_elem(fd_meta, &id, &bm) && bm.name[0]) {
			bm.name[sizeof(bm.name) - 1] = 0;
			bn = bm.name;
		}
		if (!bn && !s.packets)
			continue;
		snprintf(label, sizeof(label), "%s", bn ? bn : "?");
		if (json) {
			json_t *o = json_object();
			json_object_set_new(o, "id", json_integer(id));
			json_object_set_new(o, "packets", json_integer((json_int_t)s.packets));
			json_object_set_new(o, "bytes", json_integer((json_int_t)s.bytes));
			json_object_set_new(jb, label, o);
		} else {
			printf("%-7u %-18s %14llu %16llu\n", id, label, s.packets, s.bytes);
		}
	}
	long tokens = count_entries(fd_tok, sizeof(uint32_t));
	long flows = count_entries(fd_flow, sizeof(struct flow_key));
	if (json) {
		json_object_set_new(root, "counters", jc);
		json_object_set_new(root, "vips", jv);
		json_object_set_new(root, "backends", jb);
		json_object_set_new(root, "tokens", json_integer(tokens));
		json_object_set_new(root, "join_flows", json_integer(flows));
		lb_health_stats(name, root);
		json_dumpf(root, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(root);
	} else {
		printf("\ntokens known: %ld, join flows pinned: %ld\n", tokens, flows);
		lb_health_stats(name, NULL);
	}
	rc = 0;
out:
	for (int fd, i = 0; i < 7; i++) {
		fd = (int[]){fd_stats, fd_vip, fd_be, fd_tok, fd_flow, fd_meta, fd_vinfo}[i];
		if (fd >= 0)
			close(fd);
	}
	free(cfg);
	return rc;
}

/* SIGHUP the balancer running NAME (or FILE's [lb] name) and wait for its verdict. */
static int do_reload(const char *path, const char *name)
{
	char nm[LB_CFG_NAME_LEN], verdict[256], comm[64] = "", proc[64];
	unsigned gen, gen2;
	int pid, pid2;

	if (!name) {
		struct lb_cfg *cfg = calloc(1, sizeof(*cfg));
		if (!cfg || lb_cfg_load(path, cfg)) {
			free(cfg);
			return 1;
		}
		snprintf(nm, sizeof(nm), "%s", cfg->name);
		free(cfg);
	} else {
		snprintf(nm, sizeof(nm), "%s", name);
	}
	if (run_file_read(nm, &pid, &gen, verdict, sizeof(verdict))) {
		mplb_err("lb reload: no balancer named '%s' is running (no %s entry); start it with "
			 "'mplb lb run', or pass the -n NAME it runs under", nm, LB_RUN_DIR);
		return 1;
	}
	snprintf(proc, sizeof(proc), "/proc/%d/comm", pid);
	FILE *f = fopen(proc, "r");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
	}
	if (strncmp(comm, "mplb", 4)) {
		mplb_err("lb reload: balancer '%s' (pid %d) is not running any more; start it again", nm, pid);
		return 1;
	}
	if (kill(pid, SIGHUP)) {
		mplb_err("lb reload: cannot signal pid %d: %s", pid, strerror(errno));
		return 1;
	}
	for (double t0 = now_sec(); now_sec() - t0 < 5.0; usleep(20000)) {
		if (run_file_read(nm, &pid2, &gen2, verdict, sizeof(verdict)) == 0 && gen2 != gen) {
			bool ok = !strncmp(verdict, "reloaded", 8);
			printf("lb %s: %s\n", nm, verdict);
			return ok ? 0 : 1;
		}
	}
	mplb_err("lb reload: balancer '%s' (pid %d) gave no verdict within 5 s; see its log", nm, pid);
	return 1;
}

int cmd_lb(int argc, char **argv)
{
	const char *path = NULL, *name = NULL, *sub;
	bool json = false;
	int opt;
	unsigned long repeat = 100000, passes = 7;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	sub = argv[1];
	optind = 2;
	static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
						 {"json", no_argument, NULL, 'j'},
						 {"config", required_argument, NULL, 'c'},
						 {"name", required_argument, NULL, 'n'},
						 {NULL, 0, NULL, 0}};
	while ((opt = getopt_long(argc, argv, "c:n:r:p:jh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'r':
			if (parse_uint(optarg, "lb bench -r", 1, 100000000, &repeat))
				return 2;
			break;
		case 'p':
			if (parse_uint(optarg, "lb bench -p", 1, 1000, &passes))
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		mplb_err("lb: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (!strcmp(sub, "bench")) {
		return lb_bench(json, (int)repeat, (int)passes);
	}
	if (!strcmp(sub, "stats")) {
		if (!path && !name) {
			mplb_err("lb stats: need -c FILE or -n NAME");
			return 2;
		}
		return do_stats(path, name, json);
	}
	if (!strcmp(sub, "reload")) {
		if (!path && !name) {
			mplb_err("lb reload: need -c FILE or -n NAME");
			return 2;
		}
		if (require_root("mplb lb reload (signals the balancer)"))
			return 1;
		return do_reload(path, name);
	}
	if (!path) {
		mplb_err("lb %s: need -c FILE", sub);
		return 2;
	}
	if (!strcmp(sub, "run")) {
		if (name && check_pin_name(name))
			return 2;
		return do_run(path, name);
	}
	if (!strcmp(sub, "check"))
		return do_check(path);
	mplb_err("lb: unknown subcommand '%s'", sub);
	usage(stderr);
	return 2;
}
