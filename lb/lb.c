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
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "lb_bench.h"
#include "lb_config.h"
#include "lb_evict.h"
#include "lb_health.h"
#include "lb_run.h"
#include "lb_runtime.h"
#include "sysmounts.h"
#include "token_sync.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mplb lb run   -c FILE [-n NAME]\n"
		"                                attach the XDP balancer, run until SIGINT/SIGTERM\n"
		"                                (SIGHUP reloads FILE: only changed ring slots are written);\n"
		"                                -n overrides [lb] name, so that several instances (one per\n"
		"                                namespace) share one FILE; NAME may be DIR/NAME\n"
		"                                SIGTERM/SIGINT: the process exits, the data plane keeps\n"
		"                                forwarding with its state pinned ([lb] on_exit = keep);\n"
		"                                the next run takes it over (program swapped atomically)\n"
		"       mplb lb reload -c FILE | -n NAME\n"
		"                                make a running balancer re-read its FILE (SIGHUP) and\n"
		"                                wait for its verdict\n"
		"       mplb lb stop -c FILE | -n NAME\n"
		"                                full stop: withdraw the VIPs, detach, drop the pinned state\n"
		"       mplb lb drain [-w SECS] [-q SECS] -c FILE | -n NAME\n"
		"                                withdraw the VIPs' routes ([lb] announce_table) and keep\n"
		"                                forwarding until nothing arrives for -q (1 s), at most -w (30 s)\n"
		"       mplb lb resume -c FILE | -n NAME\n"
		"                                announce again after a drain\n"
		"       mplb lb stats [-j] -c FILE | -n NAME\n"
		"                                counters of a running balancer (pinned under\n"
		"                                /sys/fs/bpf/mplb/NAME; use nsenter, not 'ip netns exec')\n"
		"       mplb lb ring [-j] -c FILE | -n NAME\n"
		"                                the Maglev rings the data plane holds: a digest per VIP\n"
		"                                (equal on every host of a tier) and slots per backend\n"
		"       mplb lb sync-key --new | -c FILE -i ID\n"
		"                                a fresh [sync] key for the balancers, or backend ID's key\n"
		"                                for its agent's [sync] key (derived from FILE's)\n"
		"       mplb lb check -c FILE    validate FILE (no root needed)\n"
		"       mplb lb bench [-j] [-r REPEAT] [-p PASSES]\n"
		"                                ns per packet of each decision path (BPF_PROG_TEST_RUN)\n"
		"\nexample: mplb lb check -c lb/examples/lb.ini\n");
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
			printf(" unknown_token %s", v->unknown_token == UNKNOWN_TOKEN_DROP   ? "drop"
						    : v->unknown_token == UNKNOWN_TOKEN_HOLD ? "hold"
											     : "ring");
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


/* Token sync counters per sending backend id (the pinned sync_peers map); printed, or JSON. */
static json_t *sync_stats(int fd, bool json)
{
	static const char *const why[] = {
#define SYNC_REJ_NAME_(id, name) name,
		SYNC_REJECTS(SYNC_REJ_NAME_)
#undef SYNC_REJ_NAME_
	};
	json_t *all = json ? json_object() : NULL;
	bool header = false;

	for (uint32_t id = 0; fd >= 0 && id <= MPLB_MAX_BACKENDS; id++) {
		struct sync_peer p;
		unsigned long long rej = 0;
		if (bpf_map_lookup_elem(fd, &id, &p))
			break;
		for (int r = 0; r < SYNC_REJ_MAX; r++)
			rej += p.rejected[r];
		if (!p.messages && !rej)
			continue;
		char label[16];
		if (id < MPLB_MAX_BACKENDS)
			snprintf(label, sizeof(label), "%u", id);
		else
			snprintf(label, sizeof(label), "none");
		if (json) {
			json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "messages",
					      (json_int_t)p.messages, "entries", (json_int_t)p.entries,
					      "epoch", (json_int_t)p.epoch, "seq", (json_int_t)p.seq,
					      "collisions", (json_int_t)p.collisions, "table_full",
					      (json_int_t)p.table_full);
			json_t *r = json_object();
			for (int k = 0; k < SYNC_REJ_MAX; k++)
				json_object_set_new(r, why[k], json_integer((json_int_t)p.rejected[k]));
			json_object_set_new(o, "rejected", r);
			json_object_set_new(all, label, o);
			continue;
		}
		if (!header) {
			printf("\n%-7s %-6s %10s %10s %10s  %s\n", "sync", "from", "messages", "entries",
			       "rejected", "why");
			header = true;
		}
		char reasons[160] = "";
		for (int k = 0; k < SYNC_REJ_MAX; k++)
			if (p.rejected[k])
				snprintf(reasons + strlen(reasons), sizeof(reasons) - strlen(reasons),
					 "%s%s %llu", reasons[0] ? ", " : "", why[k],
					 (unsigned long long)p.rejected[k]);
		printf("%-7s %-6s %10llu %10llu %10llu  %s\n", "", label, (unsigned long long)p.messages,
		       (unsigned long long)p.entries, rej, reasons);
	}
	return all;
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
	long tokens = lb_map_count(fd_tok);
	long flows = lb_map_count(fd_flow);
	int fd_push = open_pin(dir, "token_sync"), fd_peers = open_pin(dir, "sync_peers");
	long pushed = fd_push >= 0 ? lb_map_count(fd_push) : 0;
	json_t *jsync = sync_stats(fd_peers, json);
	if (fd_push >= 0)
		close(fd_push);
	if (fd_peers >= 0)
		close(fd_peers);
	if (json) {
		json_object_set_new(root, "counters", jc);
		json_object_set_new(root, "vips", jv);
		json_object_set_new(root, "backends", jb);
		json_object_set_new(root, "tokens", json_integer(tokens));
		json_object_set_new(root, "tokens_pushed", json_integer(pushed));
		json_object_set_new(root, "join_flows", json_integer(flows));
		if (jsync)
			json_object_set_new(root, "sync", jsync);
		lb_health_stats(name, root);
		json_dumpf(root, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(root);
	} else {
		printf("\ntokens learned: %ld, pushed by the backends: %ld; join flows pinned: %ld\n",
		       tokens, pushed, flows);
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

/*
 * The Maglev rings as the data plane holds them (pinned ch_rings): per VIP,
 * a digest of every slot and the share of each backend. Hosts of a tier
 * that run one config must print the same digests.
 */
static int do_ring(const char *path, const char *name, bool json)
{
	struct lb_cfg *cfg = calloc(1, sizeof(*cfg));
	char dir[256];
	int fd_ring = -1, fd_vinfo = -1, rc = 1;
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info);
	json_t *root = json ? json_object() : NULL, *jv = json ? json_object() : NULL;

	if (!cfg)
		return 1;
	if (path) {
		if (lb_cfg_load(path, cfg))
			goto out;
		name = cfg->name;
	}
	lb_pin_dir(name, dir, sizeof(dir));
	fd_ring = open_pin(dir, "ch_rings");
	fd_vinfo = open_pin(dir, "vip_info");
	if (fd_ring < 0 || fd_vinfo < 0 || bpf_obj_get_info_by_fd(fd_vinfo, &info, &len)) {
		mplb_err("lb ring: no balancer maps at %s: is `mplb lb run` running with this name?", dir);
		goto out;
	}
	uint32_t max_vips = info.max_entries, ring_size;
	memset(&info, 0, sizeof(info));
	len = sizeof(info);
	bpf_obj_get_info_by_fd(fd_ring, &info, &len);
	ring_size = max_vips ? info.max_entries / max_vips : 0;
	if (!json)
		printf("%-12s %-10s %-16s %s\n", "vip", "slots", "digest", "slots per backend id");
	for (uint32_t v = 0; v < max_vips; v++) {
		struct vip_info vi = {0};
		uint32_t count[MPLB_MAX_BACKENDS + 1] = {0}, id;
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		uint8_t dg[32];
		unsigned dl = 0;
		char hex[17], per[1024] = "";

		if (bpf_map_lookup_elem(fd_vinfo, &v, &vi) || !vi.name[0] || !md) {
			EVP_MD_CTX_free(md);
			continue;
		}
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		for (uint32_t k = 0; k < ring_size; k++) {
			uint32_t slot = v * ring_size + k;
			if (bpf_map_lookup_elem(fd_ring, &slot, &id))
				id = MPLB_NO_BACKEND;
			EVP_DigestUpdate(md, &id, sizeof(id));
			count[id < MPLB_MAX_BACKENDS ? id : MPLB_MAX_BACKENDS]++;
		}
		EVP_DigestFinal_ex(md, dg, &dl);
		EVP_MD_CTX_free(md);
		for (int i = 0; i < 8; i++)
			snprintf(hex + 2 * i, 3, "%02x", dg[i]);
		json_t *jc = json ? json_object() : NULL;
		for (uint32_t b = 0; b <= MPLB_MAX_BACKENDS; b++) {
			if (!count[b])
				continue;
			char k[16];
			snprintf(k, sizeof(k), b < MPLB_MAX_BACKENDS ? "%u" : "none", b);
			if (json)
				json_object_set_new(jc, k, json_integer(count[b]));
			else
				snprintf(per + strlen(per), sizeof(per) - strlen(per), "%s%s:%u",
					 per[0] ? " " : "", k, count[b]);
		}
		vi.name[sizeof(vi.name) - 1] = 0;
		if (json)
			json_object_set_new(jv, vi.name, json_pack("{s:i, s:s, s:o}", "slots",
					   (int)ring_size, "digest", hex, "backends", jc));
		else
			printf("%-12s %-10u %-16s %s\n", vi.name, ring_size, hex, per);
	}
	if (json) {
		json_object_set_new(root, "name", json_string(name));
		json_object_set_new(root, "rings", jv);
		jv = NULL;
		json_dumpf(root, stdout, JSON_INDENT(2));
		printf("\n");
	}
	rc = 0;
out:
	if (fd_ring >= 0)
		close(fd_ring);
	if (fd_vinfo >= 0)
		close(fd_vinfo);
	json_decref(jv);
	json_decref(root);
	free(cfg);
	return rc;
}

/* A new master key, or the key a backend's agent signs with (include/mplb/token_sync.h). */
static int sync_key_cmd(const char *path, bool new_key, bool have_id, uint32_t id)
{
	uint8_t key[SYNC_KEY_LEN];
	char hex[2 * SYNC_KEY_LEN + 1];

	if (new_key) {
		if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key)) {
			mplb_err("lb sync-key: getrandom: %s", strerror(errno));
			return 1;
		}
	} else {
		struct lb_cfg *cfg = calloc(1, sizeof(*cfg));
		int rc = 1;
		if (!path || !have_id) {
			mplb_err("lb sync-key: need --new, or -c FILE and -i BACKEND_ID");
			free(cfg);
			return 2;
		}
		if (!cfg || lb_cfg_load(path, cfg)) {
			free(cfg);
			return 1;
		}
		if (!cfg->has_sync_key)
			mplb_err("lb sync-key: %s has no [sync] key (make one: mplb lb sync-key --new)", path);
		else {
			sync_key_derive(cfg->sync_key, id, key);
			rc = 0;
		}
		free(cfg);
		if (rc)
			return rc;
	}
	sync_key_format(key, hex);
	printf("%s\n", hex);
	return 0;
}

int cmd_lb(int argc, char **argv)
{
	const char *path = NULL, *name = NULL, *sub;
	bool json = false;
	int opt;
	unsigned long repeat = 100000, passes = 7, wait_s = 30, quiet_s = 1, backend_id = 0;
	bool new_key = false, have_id = false;

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
						 {"new", no_argument, NULL, 'N'},
						 {"id", required_argument, NULL, 'i'},
						 {NULL, 0, NULL, 0}};
	while ((opt = getopt_long(argc, argv, "c:n:r:p:w:q:i:jh", longopts, NULL)) != -1) {
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
		case 'N':
			new_key = true;
			break;
		case 'i':
			if (parse_uint(optarg, "lb sync-key -i", 0, MPLB_MAX_BACKENDS - 1, &backend_id))
				return 2;
			have_id = true;
			break;
		case 'w':
			if (parse_uint(optarg, "lb drain -w", 1, 3600, &wait_s))
				return 2;
			break;
		case 'q':
			if (parse_uint(optarg, "lb drain -q", 1, 600, &quiet_s))
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
	if (!strcmp(sub, "sync-key"))
		return sync_key_cmd(path, new_key, have_id, (uint32_t)backend_id);
	if (!strcmp(sub, "bench")) {
		return lb_bench(json, (int)repeat, (int)passes);
	}
	if (!strcmp(sub, "ring")) {
		if (!path && !name) {
			mplb_err("lb ring: need -c FILE or -n NAME");
			return 2;
		}
		return do_ring(path, name, json);
	}
	if (!strcmp(sub, "stats")) {
		if (!path && !name) {
			mplb_err("lb stats: need -c FILE or -n NAME");
			return 2;
		}
		return do_stats(path, name, json);
	}
	if (!strcmp(sub, "reload") || !strcmp(sub, "stop") || !strcmp(sub, "drain") ||
	    !strcmp(sub, "resume")) {
		char what[64];
		if (!path && !name) {
			mplb_err("lb %s: need -c FILE or -n NAME", sub);
			return 2;
		}
		snprintf(what, sizeof(what), "mplb lb %s", sub);
		if (require_root(what))
			return 1;
		if (!strcmp(sub, "reload"))
			return lb_reload_cmd(path, name);
		if (mplb_bpffs_ensure(what))
			return 1;
		if (!strcmp(sub, "stop"))
			return lb_stop_cmd(path, name);
		return lb_drain_cmd(path, name, !strcmp(sub, "resume"), (double)wait_s, (double)quiet_s);
	}
	if (!path) {
		mplb_err("lb %s: need -c FILE", sub);
		return 2;
	}
	if (!strcmp(sub, "run")) {
		if (name && check_pin_name(name))
			return 2;
		return lb_run(path, name);
	}
	if (!strcmp(sub, "check"))
		return do_check(path);
	mplb_err("lb: unknown subcommand '%s'", sub);
	usage(stderr);
	return 2;
}
