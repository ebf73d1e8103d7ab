// SPDX-License-Identifier: MIT
/*
 * mplb advert runtime: load bpf/advert_tc.bpf.c, fill its address map, attach
 * it to interfaces with tcx links (they vanish with the process or the
 * device, so a crash leaves nothing behind), read its counters.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "advert/advert.h"
#include "bpf/advert_tc.skel.h"
#include "mptcp_pm_nl.h"
#include "util.h"

/* libbpf 1.1.2's uapi headers predate tcx (Linux 6.6). */
#define MPLB_BPF_TCX_INGRESS 46
#define MPLB_BPF_TCX_EGRESS 47

struct advert_iface {
	int ifindex;
	char name[IF_NAMESIZE];
	int link_egress, link_ingress;
};

struct advert {
	struct advert_config cfg;
	struct advert_tc_bpf *skel;
	struct advert_iface ifs[ADVERT_MAX_IFACES * 2];
	unsigned n_ifs;
	/* Which configured addresses the kernel PM signals (GET_ADDR dump). */
	bool signalled[ADVERT_MAX_ADDRS];
	int ncpus;
};

static const char *const stat_names[ADV_STAT_MAX] = {ADVERT_STAT_NAMES};

const char *advert_stat_name(unsigned idx)
{
	return idx < ADV_STAT_MAX ? stat_names[idx] : "?";
}

/* Run in cfg->netns for the duration of a call, then come back. */
static int ns_enter(const char *netns, int *saved)
{
	char path[160];
	int fd;

	*saved = -1;
	if (!netns || !netns[0])
		return 0;
	*saved = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*saved < 0) {
		mplb_err("advert: cannot open the current network namespace: %s", strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "/var/run/netns/%s", netns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		mplb_err("advert: cannot enter network namespace '%s': %s", netns, strerror(errno));
		if (fd >= 0)
			close(fd);
		close(*saved);
		*saved = -1;
		return -1;
	}
	close(fd);
	return 0;
}

static void ns_leave(int saved)
{
	if (saved < 0)
		return;
	if (setns(saved, CLONE_NEWNET) < 0)
		mplb_warn("advert: cannot return to the original network namespace: %s", strerror(errno));
	close(saved);
}

static bool iface_wanted(const struct advert_config *cfg, const char *name)
{
	if (!cfg->n_ifaces)
		return strcmp(name, "lo") != 0;
	for (unsigned i = 0; i < cfg->n_ifaces; i++)
		if (!strcmp(cfg->ifaces[i], name))
			return true;
	return false;
}

static void iface_detach(struct advert_iface *it)
{
	if (it->link_egress >= 0)
		close(it->link_egress);
	if (it->link_ingress >= 0)
		close(it->link_ingress);
	it->link_egress = it->link_ingress = -1;
}

static int iface_attach(struct advert *a, int ifindex, const char *name)
{
	struct advert_iface *it;
	int eg, in;

	if (a->n_ifs >= sizeof(a->ifs) / sizeof(a->ifs[0])) {
		mplb_warn("advert: too many interfaces, %s left out", name);
		return -1;
	}
	eg = bpf_link_create(bpf_program__fd(a->skel->progs.advert_egress), ifindex,
			     MPLB_BPF_TCX_EGRESS, NULL);
	if (eg < 0) {
		mplb_err("advert: cannot attach to %s egress (tcx, Linux >= 6.6): %s", name, strerror(-eg));
		return -1;
	}
	in = bpf_link_create(bpf_program__fd(a->skel->progs.advert_ingress), ifindex,
			     MPLB_BPF_TCX_INGRESS, NULL);
	if (in < 0) {
		mplb_err("advert: cannot attach to %s ingress (tcx): %s", name, strerror(-in));
		close(eg);
		return -1;
	}
	it = &a->ifs[a->n_ifs++];
	it->ifindex = ifindex;
	snprintf(it->name, sizeof(it->name), "%s", name);
	it->link_egress = eg;
	it->link_ingress = in;
	mplb_dbg("advert: attached to %s (ifindex %d)", name, ifindex);
	return 0;
}

static void endpoint_cb(const struct mptcp_pm_nl_addr *ep, void *data)
{
	struct advert *a = data;
	if (!(ep->flags & MPTCP_PM_ADDR_FLAG_SIGNAL))
		return;
	for (unsigned i = 0; i < a->cfg.n_addrs; i++) {
		const struct advert_address *ad = &a->cfg.addrs[i];
		if (ad->family == ep->family &&
		    !memcmp(ad->addr, &ep->addr, ad->family == AF_INET ? 4 : 16))
			a->signalled[i] = true;
	}
}

/* In the namespace: which configured addresses are kernel `signal` endpoints. */
static void read_endpoints(struct advert *a)
{
	struct mptcp_pm_nl pm;
	memset(a->signalled, 0, sizeof(a->signalled));
	if (mptcp_pm_nl_open(&pm))
		return;
	mptcp_pm_nl_get_addr_dump(&pm, 0, endpoint_cb, a);
	mptcp_pm_nl_close(&pm);
}

/* In the namespace: attach to new interfaces, forget vanished ones. */
static int refresh_here(struct advert *a)
{
	struct if_nameindex *ifs = if_nameindex(), *p;
	int added = 0;

	if (!ifs)
		return -1;
	for (unsigned i = 0; i < a->n_ifs;) {
		bool present = false;
		for (p = ifs; p->if_index; p++)
			if ((int)p->if_index == a->ifs[i].ifindex && !strcmp(p->if_name, a->ifs[i].name))
				present = true;
		if (present) {
			i++;
			continue;
		}
		iface_detach(&a->ifs[i]);
		a->ifs[i] = a->ifs[--a->n_ifs];
	}
	for (p = ifs; p->if_index; p++) {
		bool have = false;
		if (!iface_wanted(&a->cfg, p->if_name))
			continue;
		for (unsigned i = 0; i < a->n_ifs; i++)
			if (a->ifs[i].ifindex == (int)p->if_index)
				have = true;
		if (!have && !iface_attach(a, (int)p->if_index, p->if_name))
			added++;
	}
	if_freenameindex(ifs);
	read_endpoints(a);
	return added;
}

int advert_refresh(struct advert *a)
{
	int saved, rc;
	if (ns_enter(a->cfg.netns, &saved))
		return -1;
	rc = refresh_here(a);
	ns_leave(saved);
	return rc;
}

static int fill_addrs(struct advert *a)
{
	int fd = bpf_map__fd(a->skel->maps.advert_addrs);
	for (unsigned i = 0; i < a->cfg.n_addrs; i++) {
		const struct advert_address *ad = &a->cfg.addrs[i];
		struct advert_addr_key k = {.family = ad->family == AF_INET ? 4 : 6};
		struct advert_addr_val v = {.attr = advert_address_octet(ad),
					    .flags = ad->initial ? ADVERT_ADDR_F_INITIAL : 0};
		memcpy(k.addr, ad->addr, ad->family == AF_INET ? 4 : 16);
		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY)) {
			mplb_err("advert: cannot program address %s: %s", ad->name, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int advert_start(const struct advert_config *cfg, struct advert **out)
{
	struct advert *a;
	char err[256];
	int saved, rc;

	*out = NULL;
	if (advert_config_check(cfg, err, sizeof(err))) {
		mplb_err("advert: %s", err);
		return -1;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -1;
	a->cfg = *cfg;
	a->ncpus = libbpf_num_possible_cpus();
	if (ns_enter(cfg->netns, &saved)) {
		free(a);
		return -1;
	}
	a->skel = advert_tc_bpf__open();
	if (!a->skel) {
		mplb_err("advert: cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	a->skel->rodata->malform = (__u8)cfg->test_malform;
	rc = advert_tc_bpf__load(a->skel);
	if (rc) {
		mplb_err("advert: cannot load the BPF programs: %s (root? kernel BTF? bpf_skc_to_mptcp_sock needs Linux >= 5.19)",
			 strerror(-rc));
		goto fail;
	}
	if (fill_addrs(a))
		goto fail;
	refresh_here(a);
	if (!a->n_ifs) {
		mplb_err("advert: no interface to attach to%s%s", cfg->netns[0] ? " in netns " : "",
			 cfg->netns);
		goto fail;
	}
	for (unsigned i = 0; i < cfg->n_ifaces; i++) {
		bool found = false;
		for (unsigned k = 0; k < a->n_ifs; k++)
			if (!strcmp(a->ifs[k].name, cfg->ifaces[i]))
				found = true;
		if (!found)
			mplb_warn("advert: interface %s not found (yet): attached when it appears",
				  cfg->ifaces[i]);
	}
	ns_leave(saved);
	*out = a;
	return 0;
fail:
	ns_leave(saved);
	advert_stop(a);
	return -1;
}

void advert_stop(struct advert *a)
{
	if (!a)
		return;
	for (unsigned i = 0; i < a->n_ifs; i++)
		iface_detach(&a->ifs[i]);
	if (a->skel)
		advert_tc_bpf__destroy(a->skel);
	free(a);
}

int advert_stats(const struct advert *a, uint64_t out[ADV_STAT_MAX])
{
	int fd = bpf_map__fd(a->skel->maps.advert_stats);
	uint64_t *v = calloc((size_t)a->ncpus, sizeof(*v));
	if (!v)
		return -1;
	for (uint32_t k = 0; k < ADV_STAT_MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, v))
			continue;
		for (int c = 0; c < a->ncpus; c++)
			out[k] += v[c];
	}
	free(v);
	return 0;
}

json_t *advert_stats_json(const struct advert *a)
{
	json_t *root = json_object(), *ifs = json_array(), *addrs = json_array(), *ctr = json_object();
	uint64_t s[ADV_STAT_MAX];
	char ip[INET6_ADDRSTRLEN], oct[8];

	json_object_set_new(root, "netns", json_string(a->cfg.netns));
	for (unsigned i = 0; i < a->n_ifs; i++)
		json_array_append_new(ifs, json_pack("{s:s, s:i}", "name", a->ifs[i].name, "ifindex",
						     a->ifs[i].ifindex));
	json_object_set_new(root, "interfaces", ifs);
	for (unsigned i = 0; i < a->cfg.n_addrs; i++) {
		const struct advert_address *ad = &a->cfg.addrs[i];
		inet_ntop(ad->family, ad->addr, ip, sizeof(ip));
		snprintf(oct, sizeof(oct), "0x%02x", advert_address_octet(ad));
		json_array_append_new(addrs, json_pack("{s:s, s:s, s:b, s:i, s:i, s:b, s:s, s:b}",
			"name", ad->name, "address", ip, "backup", ad->backup,
			"priority", ad->priority, "community", ad->community, "initial", ad->initial,
			"octet", oct, "kernel_signal_endpoint", a->signalled[i]));
	}
	json_object_set_new(root, "addresses", addrs);
	if (!advert_stats(a, s))
		for (unsigned k = 0; k < ADV_STAT_MAX; k++)
			json_object_set_new(ctr, stat_names[k], json_integer((json_int_t)s[k]));
	json_object_set_new(root, "counters", ctr);
	if (a->cfg.test_malform)
		json_object_set_new(root, "test_malform", json_integer(a->cfg.test_malform));
	return root;
}
