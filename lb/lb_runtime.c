// SPDX-License-Identifier: MIT
/* Balancer skeleton lifecycle and map programming. */
#include "lb_runtime.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/lb.skel.h"
#include "lb_evict.h"
#include "maglev.h"
#include "util.h"

/* Every map: what a restart must find again. lb_layout first, so a
 * half-written directory is recognised as one. */
const char *const lb_pinned_maps[] = {"lb_layout", "lb_stats", "vip_stats", "backend_stats",
				      "token_map", "join_flows", "conn_lru", "config_map",
				      "vip_map", "backends", "ch_rings", "backend_meta",
				      "vip_info", "token_sync", "token_hold", "sync_peers", NULL};

void lb_pin_dir(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "/sys/fs/bpf/mplb/%s", name);
}

static int iface_mac(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	rc = ioctl(fd, SIOCGIFHWADDR, &ifr);
	close(fd);
	if (rc)
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

static bool pin_exists(const char *dir, const char *map)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, map);
	return access(path, F_OK) == 0;
}

/*
 * A pinned map is reused only if the kernel object is what this build would
 * create: same type, key and value sizes, entries and flags. Anything else
 * is a layout change (an upgrade, or a config that resized a table): say
 * which map and what to do, instead of libbpf's generic "incompatible".
 */
static int check_reusable(struct bpf_map *m, int fd, const char *dir)
{
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info);
	const char *name = bpf_map__name(m);

	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		mplb_err("lb: cannot read the pinned map %s/%s: %s", dir, name, strerror(errno));
		return -1;
	}
	if (info.type == bpf_map__type(m) && info.key_size == bpf_map__key_size(m) &&
	    info.value_size == bpf_map__value_size(m) &&
	    info.max_entries == bpf_map__max_entries(m) && info.map_flags == bpf_map__map_flags(m))
		return 0;
	if (info.max_entries != bpf_map__max_entries(m) && info.key_size == bpf_map__key_size(m) &&
	    info.value_size == bpf_map__value_size(m))
		mplb_err("lb: the pinned map %s/%s has %u entries, this config wants %u: a table size "
			 "(ring_size, max_vips, token_entries, flow_entries, lru_entries) changed. Put "
			 "the old size back to keep the state, or drop the state with `mplb lb stop -n "
			 "NAME` and start again", dir, name, info.max_entries, bpf_map__max_entries(m));
	else
		mplb_err("lb: the pinned map %s/%s was made by another mplb version (key %u/%u, value "
			 "%u/%u bytes, type %u/%u): its state cannot be carried over. Run the version that "
			 "made it, or drop the state with `mplb lb stop -n NAME` and start again",
			 dir, name, info.key_size, bpf_map__key_size(m), info.value_size,
			 bpf_map__value_size(m), info.type, bpf_map__type(m));
	return -1;
}

/*
 * The event counters of a version that counts more (or fewer) events: they
 * are statistics, not what the balancer learned, so they start again from
 * zero in a new map (the old pin is removed; lb_rt_pin pins the new one)
 * instead of refusing the restart. True when that happened.
 */
static bool counters_resized(struct bpf_map *m, int fd, const char *path)
{
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.max_entries == bpf_map__max_entries(m) ||
	    info.key_size != bpf_map__key_size(m) || info.value_size != bpf_map__value_size(m) ||
	    info.type != bpf_map__type(m))
		return false;
	mplb_warn("lb: this version counts %u kinds of events, the pinned counters %u: the event "
		  "counters (lb_stats) start from zero; learned state is kept",
		  bpf_map__max_entries(m), info.max_entries);
	unlink(path);
	return true;
}

/* Reuse every pinned map of dir; maps this version added are created (and pinned later). */
static int reuse_pins(struct lb_bpf *s, const char *dir, bool *stats_fresh)
{
	char path[512];
	__u32 zero = 0, layout = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/lb_layout", dir);
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_map_lookup_elem(fd, &zero, &layout) || layout != MPLB_LB_LAYOUT_VERSION) {
		mplb_err("lb: the maps pinned at %s have layout version %u, this mplb uses %u: their "
			 "state cannot be carried over. Run the version that made them, or drop the "
			 "state with `mplb lb stop -n NAME` and start again", dir, layout,
			 MPLB_LB_LAYOUT_VERSION);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	for (int i = 0; lb_pinned_maps[i]; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(s->obj, lb_pinned_maps[i]);

		snprintf(path, sizeof(path), "%s/%s", dir, lb_pinned_maps[i]);
		if (!m || access(path, F_OK))
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0) {
			mplb_err("lb: cannot open the pinned map %s: %s", path, strerror(errno));
			return -1;
		}
		if (!strcmp(lb_pinned_maps[i], "lb_stats") &&
		    counters_resized(m, fd, path)) {
			close(fd); /* counts, not state: a fresh map, pinned in its place */
			*stats_fresh = true;
			continue;
		}
		if (check_reusable(m, fd, dir) || bpf_map__reuse_fd(m, fd)) {
			close(fd);
			return -1;
		}
		close(fd); /* reuse_fd took its own copy */
	}
	return 0;
}

/* What a previous run left in the reused maps: removal times, the ring mirror. */
static void read_back(struct lb_runtime *rt)
{
	int fd = bpf_map__fd(rt->skel->maps.backend_meta);
	uint32_t n = rt->cfg.ring_size * rt->cfg.max_vips;

	for (uint32_t id = 0; id < MPLB_MAX_BACKENDS; id++) {
		struct backend_meta bm;
		if (!bpf_map_lookup_elem(fd, &id, &bm) && bm.removed_ns)
			rt->removed_at[id] = bm.removed_ns / 1e9;
	}
	fd = bpf_map__fd(rt->skel->maps.ch_rings);
	for (uint32_t slot = 0; slot < n; slot++)
		bpf_map_lookup_elem(fd, &slot, &rt->rings[slot]);
}


int lb_rt_load(struct lb_runtime *rt, const struct lb_cfg *cfg, bool pinned)
{
	char *vlog = rt->verifier_log;
	size_t vlog_size = rt->verifier_log_size;
	bool stats_fresh = false;
	struct lb_bpf *s;
	int err;

	memset(rt, 0, sizeof(*rt));
	rt->verifier_log = vlog;
	rt->verifier_log_size = vlog_size;
	s = lb_bpf__open();
	if (!s) {
		mplb_err("lb: cannot open the BPF object: %s", strerror(errno));
		return -1;
	}
	if (vlog && vlog_size) {
		bpf_program__set_log_level(s->progs.xdp_lb, 4);
		bpf_program__set_log_buf(s->progs.xdp_lb, vlog, vlog_size);
	}
	LB_RODATA_SET_RING(s->rodata, cfg->ring_size);
	s->rodata->max_vips = cfg->max_vips;
	bpf_map__set_max_entries(s->maps.ch_rings, cfg->ring_size * cfg->max_vips);
	bpf_map__set_max_entries(s->maps.vip_stats, cfg->max_vips);
	bpf_map__set_max_entries(s->maps.vip_info, cfg->max_vips);
	/* service port + join ports + fragment entry per VIP */
	bpf_map__set_max_entries(s->maps.vip_map, cfg->max_vips * (MPLB_MAX_BACKENDS + 2));
	bpf_map__set_max_entries(s->maps.token_map, cfg->token_entries);
	bpf_map__set_max_entries(s->maps.token_sync, cfg->token_entries);
	bpf_map__set_max_entries(s->maps.join_flows, cfg->flow_entries);
	bpf_map__set_max_entries(s->maps.conn_lru, cfg->lru_entries);
	if (pinned) {
		lb_pin_dir(cfg->name, rt->pin_dir, sizeof(rt->pin_dir));
		rt->reused = pin_exists(rt->pin_dir, "lb_stats") || pin_exists(rt->pin_dir, "lb_layout");
		if (rt->reused && reuse_pins(s, rt->pin_dir, &stats_fresh)) {
			lb_bpf__destroy(s);
			return -1;
		}
	}
	err = lb_bpf__load(s);
	if (err) {
		mplb_err("lb: BPF load failed (%s); run with -v for the verifier log",
			 strerror(-err));
		lb_bpf__destroy(s);
		return -1;
	}
	rt->skel = s;
	rt->rings = calloc((size_t)cfg->ring_size * cfg->max_vips, sizeof(uint32_t));
	if (!rt->rings) {
		lb_rt_close(rt);
		return -1;
	}
	rt->cfg = *cfg;
	rt->cfg.n_vips = 0;
	rt->cfg.n_backends = 0;
	{
		__u32 zero = 0, layout = MPLB_LB_LAYOUT_VERSION;
		bpf_map_update_elem(bpf_map__fd(s->maps.lb_layout), &zero, &layout, BPF_ANY);
	}
	if (rt->reused) {
		read_back(rt);
		rt->reused_tokens = lb_map_count(bpf_map__fd(s->maps.token_map));
		rt->reused_flows = lb_map_count(bpf_map__fd(s->maps.join_flows));
		rt->reused_lru = lb_map_count(bpf_map__fd(s->maps.conn_lru));
		if (stats_fresh) /* evictions count from here, not from the old counters' start */
			lb_evict_seed(s);
		lb_evict_account(s);
	}
	if (pinned && lb_rt_pin(rt)) {
		lb_rt_close(rt);
		return -1;
	}
	return lb_rt_apply(rt, cfg);
}

static void vip_meta_of(const struct lb_cfg_vip *v, uint32_t num, struct vip_key *k,
			struct vip_meta *m)
{
	memset(k, 0, sizeof(*k));
	memset(m, 0, sizeof(*m));
	memcpy(k->addr, v->addr, 16);
	k->port = htons(v->port);
	k->proto = v->proto;
	k->family = (__u8)v->family;
	m->vip_num = num;
	m->flags = v->flags;
	m->join_port_base = v->join_port_base;
	m->join_port_count = v->join_port_count;
	m->unknown_token = v->unknown_token;
}

/* The set of vip_map entries cfg needs. */
static int desired_vip_entries(const struct lb_cfg *cfg, struct vip_key *keys,
			       struct vip_meta *metas, int cap)
{
	int n = 0;

	for (int i = 0; i < cfg->n_vips; i++) {
		const struct lb_cfg_vip *v = &cfg->vips[i];
		struct vip_key k;
		struct vip_meta m;
		bool frag_done = false;

		vip_meta_of(v, (uint32_t)i, &k, &m);
		if (n >= cap)
			return -1;
		keys[n] = k, metas[n++] = m;
		for (uint32_t p = 0; (v->flags & VIP_F_PORT) && p < v->join_port_count; p++) {
			struct vip_meta jm = m;
			jm.flags |= VIP_F_JOIN_ENTRY;
			if (n >= cap)
				return -1;
			keys[n] = k;
			keys[n].port = htons((uint16_t)(v->join_port_base + p));
			metas[n++] = jm;
		}
		/*
		 * Fragments of (address, proto) follow the first VIP
		 * declared on it: a non-first fragment has no port to tell.
		 */
		for (int j = 0; j < i; j++)
			if (cfg->vips[j].proto == v->proto && cfg->vips[j].family == v->family &&
			    !memcmp(cfg->vips[j].addr, v->addr, 16))
				frag_done = true;
		if (!frag_done) {
			struct vip_meta fm = m;
			fm.flags = VIP_F_FRAG_ENTRY;
			if (n >= cap)
				return -1;
			keys[n] = k;
			keys[n].port = 0;
			metas[n++] = fm;
		}
	}
	return n;
}

static int program_rings(struct lb_runtime *rt, const struct lb_cfg *cfg)
{
	uint32_t rs = rt->cfg.ring_size, *table, *changed;
	struct maglev_backend mb[MPLB_MAX_BACKENDS];
	int fd = bpf_map__fd(rt->skel->maps.ch_rings), n = 0, rc;
	size_t total_changed = 0;

	for (int i = 0; i < cfg->n_backends; i++) {
		const struct lb_cfg_backend *b = &cfg->backends[i];
		if (b->draining || !b->weight)
			continue;
		mb[n].key = maglev_key_of_name(b->name);
		mb[n].id = (uint32_t)b->id;
		mb[n].weight = b->weight;
		n++;
	}
	table = malloc((size_t)rs * sizeof(*table));
	changed = malloc((size_t)rs * sizeof(*changed));
	if (!table || !changed) {
		free(table), free(changed);
		return -1;
	}
	rc = maglev_build(mb, (size_t)n, rs, table);
	if (rc < 0) {
		mplb_err("lb: Maglev table build failed: %s", strerror(-rc));
		free(table), free(changed);
		return -1;
	}
	/*
	 * Same backends for every VIP. The mirror starts as the kernel's
	 * zeroed array, so the delta of the first run is a full write and
	 * later runs (SIGHUP) write only the slots Maglev moved. Rings of
	 * unused VIP numbers are never read (no vip_map entry points there).
	 */
	for (uint32_t v = 0; v < (uint32_t)cfg->n_vips; v++) {
		uint32_t *mirror = rt->rings + (size_t)v * rs;
		size_t nch = maglev_delta(mirror, table, rs, changed);

		for (size_t c = 0; c < nch; c++) {
			uint32_t slot = v * rs + changed[c];
			if (bpf_map_update_elem(fd, &slot, &table[changed[c]], BPF_ANY))
				goto fail;
			mirror[changed[c]] = table[changed[c]];
		}
		total_changed += nch;
	}
	mplb_dbg("lb: ring: %d backends in the table, %zu slots written", n, total_changed);
	free(table), free(changed);
	return 0;
fail:
	mplb_err("lb: writing ring slots failed: %s", strerror(errno));
	free(table), free(changed);
	return -1;
}

static uint64_t mono_ns(double sec)
{
	return (uint64_t)(sec * 1e9);
}

/* Names and removal times into the pinned control-plane maps. */
static int write_meta(struct lb_runtime *rt, const struct lb_cfg *cfg)
{
	int fd = bpf_map__fd(rt->skel->maps.backend_meta);

	for (uint32_t id = 0; id < MPLB_MAX_BACKENDS; id++) {
		struct backend_meta bm = {0}, old = {0};
		const struct lb_cfg_backend *b = NULL;

		for (int i = 0; i < cfg->n_backends; i++)
			if (cfg->backends[i].id == (long)id)
				b = &cfg->backends[i];
		if (b) {
			snprintf(bm.name, sizeof(bm.name), "%s", b->name);
			bm.weight = b->weight;
		} else if (rt->removed_at[id]) {
			bpf_map_lookup_elem(fd, &id, &old);
			bm = old; /* keeps its name while in its removal grace */
			bm.removed_ns = mono_ns(rt->removed_at[id]);
		}
		if (bpf_map_update_elem(fd, &id, &bm, BPF_ANY))
			return -1;
	}
	fd = bpf_map__fd(rt->skel->maps.vip_info);
	for (uint32_t v = 0; v < rt->cfg.max_vips; v++) {
		struct vip_info vi = {0};
		if ((int)v < cfg->n_vips)
			snprintf(vi.name, sizeof(vi.name), "%s", cfg->vips[v].name);
		if (bpf_map_update_elem(fd, &v, &vi, BPF_ANY))
			return -1;
	}
	return 0;
}

int lb_rt_apply(struct lb_runtime *rt, const struct lb_cfg *cfg)
{
	int cap = cfg->n_vips * (MPLB_MAX_BACKENDS + 2) + 1, n, fd;
	struct vip_key *keys = calloc((size_t)cap, sizeof(*keys)), cur, next;
	struct vip_meta *metas = calloc((size_t)cap, sizeof(*metas));
	struct lb_config c = {0};
	uint32_t zero = 0;
	int rc = -1;
	bool have;

	if (!keys || !metas)
		goto out;
	if (cfg->ring_size != rt->cfg.ring_size || cfg->max_vips != rt->cfg.max_vips ||
	    cfg->token_entries != rt->cfg.token_entries ||
	    cfg->flow_entries != rt->cfg.flow_entries || cfg->lru_entries != rt->cfg.lru_entries)
		mplb_warn("lb: table sizes changed: they take effect on restart only");

	/* config */
	c.forwarding = cfg->forwarding;
	c.max_pkt_size = cfg->max_pkt_size;
	c.token_hold_ms = cfg->token_hold_ms;
	c.tsecr_key[0] = cfg->tsecr_key[0];
	c.tsecr_key[1] = cfg->tsecr_key[1];
	if (cfg->redirect_iface[0]) {
		c.xmit = LB_XMIT_REDIRECT;
		c.redirect_ifindex = if_nametoindex(cfg->redirect_iface);
		if (iface_mac(cfg->redirect_iface, c.src_mac))
			mplb_warn("lb: cannot read the MAC of %s", cfg->redirect_iface);
	} else if (cfg->n_ifaces && iface_mac(cfg->ifaces[0], c.src_mac)) {
		mplb_warn("lb: cannot read the MAC of %s", cfg->ifaces[0]);
	}
	if (bpf_map_update_elem(bpf_map__fd(rt->skel->maps.config_map), &zero, &c, BPF_ANY))
		goto fail;

	/*
	 * Backends in two passes around the ring: present ones first (a ring
	 * slot must never name a backend the map does not have yet), rings,
	 * then clear the ones that left (a removed backend's slots have moved
	 * by then, so no packet meets a slot that names nobody).
	 */
	fd = bpf_map__fd(rt->skel->maps.backends);
	for (uint32_t id = 0; id < MPLB_MAX_BACKENDS; id++) {
		struct backend be = {0};
		bool present = false;
		for (int i = 0; i < cfg->n_backends; i++) {
			const struct lb_cfg_backend *b = &cfg->backends[i];
			if (b->id != (long)id)
				continue;
			memcpy(be.addr, b->addr, 16);
			memcpy(be.mac, b->mac, 6);
			be.family = (__u8)b->family;
			be.flags = BACKEND_F_PRESENT | (b->draining ? BACKEND_F_DRAINING : 0);
			present = true;
		}
		if (present && bpf_map_update_elem(fd, &id, &be, BPF_ANY))
			goto fail;
	}

	/* rings before VIPs: a new VIP must never see an unprogrammed ring */
	if (program_rings(rt, cfg))
		goto out;

	/*
	 * A backend that left the config is out of the ring now, but it may
	 * still be serving connections pinned to it by join port, token or
	 * TSecr: keep its entry, draining, for remove_grace_s (lb_rt_expire
	 * clears it), like a drain that ends by itself.
	 */
	for (uint32_t id = 0; id < MPLB_MAX_BACKENDS; id++) {
		struct backend be = {0};
		bool present = false;
		for (int i = 0; i < cfg->n_backends; i++)
			present |= cfg->backends[i].id == (long)id;
		if (present) {
			rt->removed_at[id] = 0;
			continue;
		}
		if (cfg->remove_grace_s && bpf_map_lookup_elem(fd, &id, &be) == 0 &&
		    (be.flags & BACKEND_F_PRESENT)) {
			if (!rt->removed_at[id])
				rt->removed_at[id] = now_sec();
			be.flags |= BACKEND_F_DRAINING;
			if (bpf_map_update_elem(fd, &id, &be, BPF_ANY))
				goto fail;
			continue;
		}
		memset(&be, 0, sizeof(be));
		rt->removed_at[id] = 0;
		if (bpf_map_update_elem(fd, &id, &be, BPF_ANY))
			goto fail;
	}

	if (write_meta(rt, cfg))
		goto fail;

	n = desired_vip_entries(cfg, keys, metas, cap);
	if (n < 0)
		goto out;
	fd = bpf_map__fd(rt->skel->maps.vip_map);
	for (int i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &keys[i], &metas[i], BPF_ANY))
			goto fail;
	/* remove keys the new config no longer has */
	have = bpf_map_get_next_key(fd, NULL, &cur) == 0;
	while (have) {
		bool keep = false;
		have = bpf_map_get_next_key(fd, &cur, &next) == 0;
		for (int i = 0; i < n && !keep; i++)
			keep = !memcmp(&keys[i], &cur, sizeof(cur));
		if (!keep)
			bpf_map_delete_elem(fd, &cur);
		cur = next;
	}
	{
		uint32_t rs = rt->cfg.ring_size, mv = rt->cfg.max_vips;
		uint32_t te = rt->cfg.token_entries, fe = rt->cfg.flow_entries, le = rt->cfg.lru_entries;
		rt->cfg = *cfg;
		/* sizes stay what the maps were created with */
		rt->cfg.ring_size = rs, rt->cfg.max_vips = mv;
		rt->cfg.token_entries = te, rt->cfg.flow_entries = fe, rt->cfg.lru_entries = le;
	}
	rc = 0;
	goto out;
fail:
	mplb_err("lb: map update failed: %s", strerror(errno));
out:
	free(keys);
	free(metas);
	return rc;
}

static const char *mode_name(uint32_t flags)
{
	return (flags & XDP_FLAGS_SKB_MODE) ? "generic" : "native";
}

void lb_rt_expire(struct lb_runtime *rt)
{
	int fd = bpf_map__fd(rt->skel->maps.backends);
	double now = now_sec();

	for (uint32_t id = 0; id < MPLB_MAX_BACKENDS; id++) {
		struct backend be = {0};
		if (!rt->removed_at[id] || now - rt->removed_at[id] < rt->cfg.remove_grace_s)
			continue;
		rt->removed_at[id] = 0;
		{
			struct backend_meta bm = {0};
			bpf_map_update_elem(bpf_map__fd(rt->skel->maps.backend_meta), &id, &bm, BPF_ANY);
		}
		if (bpf_map_update_elem(fd, &id, &be, BPF_ANY))
			mplb_warn("lb: cannot clear removed backend %u: %s", id, strerror(errno));
		else
			printf("mplb lb: backend id %u removed %u s ago: entry cleared\n", id,
			       rt->cfg.remove_grace_s);
	}
}

/* The program attached to ifindex in mode (XDP_FLAGS_DRV_MODE / SKB_MODE): its id and name. */
static __u32 attached_prog(int ifindex, uint32_t mode, char *name, size_t len)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_prog_info info = {0};
	__u32 ilen = sizeof(info), id;
	int fd;

	name[0] = 0;
	if (bpf_xdp_query(ifindex, 0, &q))
		return 0;
	id = mode == XDP_FLAGS_SKB_MODE ? q.skb_prog_id : q.drv_prog_id;
	if (!id)
		return 0;
	fd = bpf_prog_get_fd_by_id(id);
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &ilen))
		snprintf(name, len, "%s", info.name);
	if (fd >= 0)
		close(fd);
	return id;
}

int lb_rt_attach(struct lb_runtime *rt)
{
	int prog = bpf_program__fd(rt->skel->progs.xdp_lb);

	rt->xdp_flags = rt->cfg.xdp_mode == LB_XDP_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	for (int i = 0; i < rt->cfg.n_ifaces; i++) {
		int ifindex = (int)if_nametoindex(rt->cfg.ifaces[i]), err;
		uint32_t other = rt->xdp_flags == XDP_FLAGS_DRV_MODE ? XDP_FLAGS_SKB_MODE
								      : XDP_FLAGS_DRV_MODE;
		char have[BPF_OBJ_NAME_LEN], have_other[BPF_OBJ_NAME_LEN];
		__u32 old_id, other_id;

		if (!ifindex) {
			mplb_err("lb: interface %s: no such interface", rt->cfg.ifaces[i]);
			return -1;
		}
		old_id = attached_prog(ifindex, rt->xdp_flags, have, sizeof(have));
		other_id = attached_prog(ifindex, other, have_other, sizeof(have_other));
		if (other_id) {
			mplb_err("lb: %s has an XDP program (%s, id %u) in %s mode, and [lb] xdp = %s: %s",
				 rt->cfg.ifaces[i], have_other, other_id, mode_name(other),
				 mode_name(rt->xdp_flags),
				 !strcmp(have_other, "xdp_lb")
					 ? "a running data plane changes mode only through `mplb lb stop -n "
					   "NAME` (its state is dropped)"
					 : "detach it first (ip link set dev IF xdp off)");
			return -1;
		}
		if (old_id && strcmp(have, "xdp_lb")) {
			mplb_err("lb: %s already runs another XDP program (%s, id %u); detach it first "
				 "(ip link set dev %s xdp off)", rt->cfg.ifaces[i], have, old_id,
				 rt->cfg.ifaces[i]);
			return -1;
		}
		if (old_id) {
			/*
			 * A previous run's data plane: swap programs in one netlink
			 * call that names the one it replaces, so no packet meets a
			 * bare interface and a concurrent change is refused (EEXIST).
			 */
			int old_fd = bpf_prog_get_fd_by_id(old_id);
			LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = old_fd);
			err = old_fd < 0 ? -errno
					 : bpf_xdp_attach(ifindex, prog, rt->xdp_flags | XDP_FLAGS_REPLACE, &o);
			if (old_fd >= 0)
				close(old_fd);
			if (err) {
				mplb_err("lb: replacing the running program on %s failed: %s",
					 rt->cfg.ifaces[i], strerror(-err));
				return -1;
			}
			rt->ifindex[rt->n_attached++] = ifindex;
			rt->replaced++;
			mplb_dbg("lb: replaced program id %u on %s", old_id, rt->cfg.ifaces[i]);
			continue;
		}
		err = bpf_xdp_attach(ifindex, prog, rt->xdp_flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
		if (err) {
			/* Say which mode would work, so the fix is one config line. */
			int alt = bpf_xdp_attach(ifindex, prog, other | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
			if (!alt) {
				bpf_xdp_detach(ifindex, other, NULL);
				mplb_err("lb: %s XDP attach on %s failed (%s); %s mode works: set "
					 "'xdp = %s' in [lb]",
					 mode_name(rt->xdp_flags), rt->cfg.ifaces[i], strerror(-err),
					 mode_name(other), mode_name(other));
			} else {
				mplb_err("lb: XDP attach on %s failed in %s mode (%s) and in %s mode (%s)",
					 rt->cfg.ifaces[i], mode_name(rt->xdp_flags), strerror(-err),
					 mode_name(other), strerror(-alt));
			}
			return -1;
		}
		rt->ifindex[rt->n_attached++] = ifindex;
		mplb_dbg("lb: attached to %s (%s)", rt->cfg.ifaces[i], mode_name(rt->xdp_flags));
	}
	return 0;
}

void lb_rt_detach(struct lb_runtime *rt)
{
	for (int i = 0; i < rt->n_attached; i++)
		bpf_xdp_detach(rt->ifindex[i], rt->xdp_flags, NULL);
	rt->n_attached = 0;
}

int lb_rt_pin(struct lb_runtime *rt)
{
	char path[512];

	mkdir("/sys/fs/bpf/mplb", 0700);
	/* A DIR/NAME instance (`run -n`): its DIR first. */
	char *slash = strrchr(rt->pin_dir, '/');
	if (slash && slash > rt->pin_dir + strlen("/sys/fs/bpf/mplb")) {
		*slash = '\0';
		mkdir(rt->pin_dir, 0700);
		*slash = '/';
	}
	if (mkdir(rt->pin_dir, 0700) && errno != EEXIST) {
		mplb_err("lb: cannot create the pin directory %s: %s", rt->pin_dir, strerror(errno));
		return -1;
	}
	for (int i = 0; lb_pinned_maps[i]; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(rt->skel->obj, lb_pinned_maps[i]);
		snprintf(path, sizeof(path), "%s/%s", rt->pin_dir, lb_pinned_maps[i]);
		if (m && access(path, F_OK) == 0)
			continue; /* reused: already pinned */
		if (!m || bpf_map__pin(m, path)) {
			mplb_err("lb: cannot pin %s: %s", path, strerror(errno));
			return -1;
		}
	}
	rt->pinned = 1;
	return 0;
}

void lb_unpin_dir(const char *dir)
{
	char path[512];

	for (int i = 0; lb_pinned_maps[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, lb_pinned_maps[i]);
		unlink(path);
	}
	rmdir(dir);
}

void lb_rt_close(struct lb_runtime *rt)
{
	/* Netlink-attached programs and pinned maps hold their own references. */
	if (rt->skel)
		lb_bpf__destroy(rt->skel);
	rt->skel = NULL;
	free(rt->rings);
	rt->rings = NULL;
}

void lb_rt_destroy(struct lb_runtime *rt)
{
	lb_rt_detach(rt);
	if (rt->pinned) {
		lb_unpin_dir(rt->pin_dir);
		rt->pinned = 0;
	}
	lb_rt_close(rt);
}
