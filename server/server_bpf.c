// SPDX-License-Identifier: MIT
/* BPF lifecycle of the server agent (see server_bpf.h). */
#include "server_bpf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/server_agent.skel.h"
#include "util.h"

/* Missing from Debian 12's uapi (6.1); values from the kernel's bpf.h. */
#define MPLB_BPF_TCX_INGRESS 46
#define MPLB_BPF_TCX_EGRESS 47

const char *const srv_pinned_maps[] = {"srv_stats", "srv_ann", "srv_config", "srv_vips",
				       "srv_addrs", "srv_verify", NULL};

void srv_pin_dir(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "/sys/fs/bpf/mplb/server-%s", name);
}

int srv_bpf_load(struct srv_bpf *b)
{
	int err;

	memset(b, 0, sizeof(*b));
	b->sockops_link_fd = -1;
	b->skel = server_agent_bpf__open();
	if (!b->skel) {
		mplb_err("server: cannot open the BPF object: %s", strerror(errno));
		return -1;
	}
	err = server_agent_bpf__load(b->skel);
	if (err) {
		mplb_err("server: BPF load failed (%s): the kernel needs BPF, BTF "
			 "(/sys/kernel/btf/vmlinux) and the socket helpers of Linux >= 6.3; run with "
			 "-v -v for the verifier log", strerror(-err));
		server_agent_bpf__destroy(b->skel);
		b->skel = NULL;
		return -1;
	}
	return 0;
}

static void key_of_addr(const struct srv_addr *a, uint32_t addr[4], uint8_t *family)
{
	memset(addr, 0, 16);
	memcpy(addr, a->addr, a->family == AF_INET ? 4 : 16);
	*family = a->family == AF_INET ? SRV_FAMILY_V4 : SRV_FAMILY_V6;
}

static int clear_map(int fd, size_t key_size)
{
	char cur[64], next[64];

	if (key_size > sizeof(cur))
		return -1;
	while (bpf_map_get_next_key(fd, NULL, next) == 0) {
		memcpy(cur, next, key_size);
		if (bpf_map_delete_elem(fd, cur))
			return -1;
	}
	return 0;
}

int srv_bpf_fill(struct srv_bpf *b, const struct srv_cfg *cfg, uint64_t netns_cookie)
{
	struct srv_config c = {0};
	uint32_t zero = 0, one = 1, schemes = srv_cfg_schemes(cfg);
	int fd;

	c.tsecr_key[0] = cfg->tsecr_key[0];
	c.tsecr_key[1] = cfg->tsecr_key[1];
	c.backend_id = (uint32_t)cfg->id;
	c.netns_cookie = netns_cookie;
	if (schemes & SRV_SCHEME_TSECR) {
		c.flags |= SRV_F_TSECR_ENCODE;
		if (cfg->tsecr_restore)
			c.flags |= SRV_F_TSECR_RESTORE;
		if (cfg->tsecr_keepalive_s) {
			c.keepalive_idle_s = cfg->tsecr_keepalive_s;
			if (cfg->keepalive_fix)
				c.flags |= SRV_F_KEEPALIVE_FIX;
		}
	}
	if (cfg->verify_restore)
		c.flags |= SRV_F_VERIFY;
	if (cfg->decap)
		c.flags |= SRV_F_DECAP;
	if (cfg->track_add_addr)
		c.flags |= SRV_F_ADDADDR;

	/* VIPs and addresses first, config last: a new flag never sees an empty table. */
	fd = bpf_map__fd(b->skel->maps.srv_vips);
	if (clear_map(fd, sizeof(struct srv_vip_key)))
		goto fail;
	for (int i = 0; i < cfg->n_vips; i++) {
		const struct srv_cfg_vip *v = &cfg->vips[i];
		struct srv_vip_key k = {0};
		struct srv_vip_val val = {0};

		if (!(v->scheme & SRV_SCHEME_TSECR))
			continue;
		val.flags = SRV_VIP_TSECR | (cfg->tsecr_keepalive_s ? SRV_VIP_KEEPALIVE : 0);
		key_of_addr(&v->addr, k.addr, &k.family);
		k.port = htons(v->port);
		if (bpf_map_update_elem(fd, &k, &val, BPF_ANY))
			goto fail;
		if (v->scheme & SRV_SCHEME_PORT) {
			/* Joins come to the join port through the balancer: they need the id too. */
			k.port = htons(srv_vip_join_port(cfg, v));
			if (bpf_map_update_elem(fd, &k, &val, BPF_ANY))
				goto fail;
		}
	}
	fd = bpf_map__fd(b->skel->maps.srv_addrs);
	if (clear_map(fd, sizeof(struct srv_addr_key)))
		goto fail;
	for (int i = 0; cfg->decap && i < cfg->n_addrs; i++) {
		struct srv_addr_key k = {0};

		key_of_addr(&cfg->addrs[i], k.addr, &k.family);
		if (bpf_map_update_elem(fd, &k, &one, BPF_ANY))
			goto fail;
	}
	if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.srv_config), &zero, &c, BPF_ANY))
		goto fail;
	return 0;
fail:
	mplb_err("server: writing the BPF maps failed: %s", strerror(errno));
	return -1;
}

int srv_tc_detach(int ifindex, bool ingress, uint32_t handle, uint32_t priority)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority);

	return bpf_tc_detach(&hook, &opts);
}

int srv_clsact_destroy(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	return bpf_tc_hook_destroy(&hook);
}

static int attach_one(struct srv_bpf *b, const char *ifname, int ifindex, bool ingress,
		      struct journal *j)
{
	struct bpf_program *prog = ingress ? b->skel->progs.srv_ingress : b->skel->progs.srv_egress;
	struct srv_attach *a = &b->att[b->n_att];
	int fd, err;

	if (b->n_att >= SRV_MAX_ATTACH)
		return -1;
	memset(a, 0, sizeof(*a));
	snprintf(a->ifname, sizeof(a->ifname), "%s", ifname);
	a->ifindex = ifindex;
	a->ingress = ingress;
	a->link_fd = -1;
	/* tcx (6.6+): a link owned by this process, gone with it. libbpf 1.1 has no API: raw create. */
	fd = bpf_link_create(bpf_program__fd(prog), ifindex,
			     ingress ? MPLB_BPF_TCX_INGRESS : MPLB_BPF_TCX_EGRESS, NULL);
	if (fd >= 0) {
		a->tcx = true;
		a->link_fd = fd;
		b->n_att++;
		mplb_dbg("server: tcx %s link on %s", ingress ? "ingress" : "egress", ifname);
		return 0;
	}
	mplb_warn("server: tcx attach on %s failed (%s); falling back to clsact + cls_bpf",
		  ifname, strerror(errno));
	{
		char idx[16];
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(prog));

		snprintf(idx, sizeof(idx), "%d", ifindex);
		{
			const char *args[] = {idx};
			if (journal_add(j, "clsact", 1, args))
				return -1;
		}
		err = bpf_tc_hook_create(&hook);
		if (err == -EEXIST) {
			/* Not ours: the replay must leave it (it cancels the record above). */
			const char *args[] = {idx};
			if (journal_add(j, "clsact-preexisting", 1, args))
				return -1;
		} else if (err) {
			mplb_err("server: cannot create clsact on %s: %s", ifname, strerror(-err));
			return -1;
		}
		err = bpf_tc_attach(&hook, &opts);
		if (err) {
			mplb_err("server: cannot attach the %s program on %s: %s",
				 ingress ? "ingress" : "egress", ifname, strerror(-err));
			return -1;
		}
		a->handle = opts.handle;
		a->priority = opts.priority;
		char h[16], pr[16];
		snprintf(h, sizeof(h), "%u", a->handle);
		snprintf(pr, sizeof(pr), "%u", a->priority);
		const char *args[] = {idx, ingress ? "ingress" : "egress", h, pr};
		if (journal_add(j, "tcfilter", 4, args))
			return -1;
	}
	b->n_att++;
	return 0;
}

int srv_bpf_attach_iface(struct srv_bpf *b, const char *ifname, struct journal *j)
{
	int ifindex = (int)if_nametoindex(ifname);

	if (!ifindex) {
		mplb_err("server: interface %s: no such interface in this network namespace", ifname);
		return -1;
	}
	if (attach_one(b, ifname, ifindex, true, j) || attach_one(b, ifname, ifindex, false, j))
		return -1;
	return 0;
}

int srv_bpf_attach_sockops(struct srv_bpf *b, const char *cgroup_dir)
{
	int cg = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;

	if (cg < 0) {
		mplb_warn("server: cgroup %s: %s; no sock_ops keepalive", cgroup_dir, strerror(errno));
		return -1;
	}
	fd = bpf_link_create(bpf_program__fd(b->skel->progs.srv_sockops), cg, BPF_CGROUP_SOCK_OPS,
			     NULL);
	close(cg);
	if (fd < 0) {
		mplb_warn("server: sock_ops attach on %s failed: %s; no keepalive on tsecr subflows",
			  cgroup_dir, strerror(errno));
		return -1;
	}
	b->sockops_link_fd = fd;
	snprintf(b->cgroup, sizeof(b->cgroup), "%s", cgroup_dir);
	return 0;
}

int srv_bpf_pin(struct srv_bpf *b, const char *dir, struct journal *j)
{
	char path[512];

	snprintf(b->pin_dir, sizeof(b->pin_dir), "%s", dir);
	mkdir("/sys/fs/bpf/mplb", 0700);
	{
		const char *args[] = {dir};
		if (journal_add(j, "pindir", 1, args))
			return -1;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		mplb_err("server: cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; srv_pinned_maps[i]; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(b->skel->obj, srv_pinned_maps[i]);
		const char *args[] = {path};

		snprintf(path, sizeof(path), "%s/%s", dir, srv_pinned_maps[i]);
		if (journal_add(j, "pin", 1, args))
			return -1;
		unlink(path); /* a stale pin of a killed run */
		if (!m || bpf_map__pin(m, path)) {
			mplb_err("server: cannot pin %s: %s", path, strerror(errno));
			return -1;
		}
	}
	b->pinned = true;
	return 0;
}

int srv_bpf_attach_sweep(struct srv_bpf *b)
{
	b->iter_link = bpf_program__attach_iter(b->skel->progs.srv_keepalive_iter, NULL);
	if (!b->iter_link) {
		mplb_warn("server: cannot attach the TCP socket iterator: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int srv_bpf_sweep(struct srv_bpf *b)
{
	char buf[64];
	int fd;

	if (!b->iter_link)
		return -1;
	/* The iterator walks the sockets of the reader's network namespace: ours. */
	fd = bpf_iter_create(bpf_link__fd(b->iter_link));
	if (fd < 0)
		return -1;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return 0;
}

bool srv_bpf_attached(const struct srv_bpf *b)
{
	if (!b->skel || !b->n_att)
		return false;
	for (int i = 0; i < b->n_att; i++) {
		struct bpf_link_info info;
		uint32_t len = sizeof(info);

		if (!b->att[i].tcx)
			continue;
		memset(&info, 0, sizeof(info));
		/* A tcx link whose device went away is defunct: ifindex reads 0. */
		if (bpf_obj_get_info_by_fd(b->att[i].link_fd, &info, &len))
			return false;
		if (!if_indextoname((unsigned)b->att[i].ifindex, (char[IF_NAMESIZE]){0}))
			return false;
	}
	return true;
}

void srv_bpf_destroy(struct srv_bpf *b)
{
	char path[512];

	for (int i = 0; i < b->n_att; i++) {
		struct srv_attach *a = &b->att[i];
		if (a->tcx) {
			if (a->link_fd >= 0)
				close(a->link_fd);
		} else {
			srv_tc_detach(a->ifindex, a->ingress, a->handle, a->priority);
		}
	}
	b->n_att = 0;
	if (b->sockops_link_fd >= 0)
		close(b->sockops_link_fd);
	b->sockops_link_fd = -1;
	bpf_link__destroy(b->iter_link);
	b->iter_link = NULL;
	if (b->pinned) {
		for (int i = 0; srv_pinned_maps[i]; i++) {
			snprintf(path, sizeof(path), "%s/%s", b->pin_dir, srv_pinned_maps[i]);
			unlink(path);
		}
		rmdir(b->pin_dir);
		b->pinned = false;
	}
	if (b->skel)
		server_agent_bpf__destroy(b->skel);
	b->skel = NULL;
}

int srv_percpu_sum(int map_fd, uint32_t key, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v;

	*out = 0;
	if (ncpu <= 0)
		return -1;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -1;
	if (bpf_map_lookup_elem(map_fd, &key, v)) {
		free(v);
		return -1;
	}
	for (int i = 0; i < ncpu; i++)
		*out += v[i];
	free(v);
	return 0;
}
