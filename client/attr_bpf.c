// SPDX-License-Identifier: MIT
/* The client's BPF side: load, attach per uplink (tcx), ring buffer, counters. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/client_attr.skel.h"
#include "client/attr_bpf.h"
#include "util.h"

/* libbpf 1.1.2's uapi headers predate tcx (Linux 6.6). */
#define MPLB_BPF_TCX_INGRESS 46
#define MPLB_BPF_TCX_EGRESS 47
#define CA_MAX_IFS 32

struct client_attr {
	struct client_attr_bpf *skel;
	struct ring_buffer *rb;
	client_attr_cb cb;
	void *data;
	int ncpus;
	uint64_t rejected;
	unsigned rm_entries;
	struct {
		int ifindex;
		int link_in, link_eg;
	} ifs[CA_MAX_IFS];
};

static const char *const names[CLA_STAT_MAX] = {CLIENT_ATTR_STAT_NAMES};

const char *client_attr_stat_name(unsigned idx)
{
	return idx < CLA_STAT_MAX ? names[idx] : "?";
}

int client_attr_validate(const void *data, size_t size)
{
	const struct attr_event *ev = data;
	if (!data || size < sizeof(*ev))
		return -EINVAL;
	if (ev->family != 4 && ev->family != 6)
		return -EINVAL;
	if (ev->source != ATTR_SRC_OPTION && ev->source != ATTR_SRC_DRAFT)
		return -EINVAL;
	if (!ev->n || ev->n > ADDR_ATTR_MAX_PAIRS)
		return -EINVAL;
	return 0;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct client_attr *ca = ctx;
	struct attr_event ev;

	if (client_attr_validate(data, size)) {
		ca->rejected++;
		return 0; /* never stop the loop for one bad record */
	}
	memcpy(&ev, data, sizeof(ev));
	ev.sport = ntohs(ev.sport);
	ev.dport = ntohs(ev.dport);
	ca->cb(&ev, ca->data);
	return 0;
}

int client_attr_open(struct client_attr **out, client_attr_cb cb, void *data)
{
	struct client_attr *ca = calloc(1, sizeof(*ca));
	int err;

	*out = NULL;
	if (!ca)
		return -ENOMEM;
	for (int i = 0; i < CA_MAX_IFS; i++)
		ca->ifs[i].ifindex = ca->ifs[i].link_in = ca->ifs[i].link_eg = -1;
	ca->cb = cb;
	ca->data = data;
	ca->ncpus = libbpf_num_possible_cpus();
	ca->skel = client_attr_bpf__open_and_load();
	if (!ca->skel) {
		err = -errno;
		mplb_warn("client: cannot load the attribute BPF programs (%s): peer attributes come "
			  "only from the config", strerror(-err));
		free(ca);
		return err ? err : -EINVAL;
	}
	ca->rb = ring_buffer__new(bpf_map__fd(ca->skel->maps.client_attr_events), on_record, ca, NULL);
	if (!ca->rb) {
		err = -errno;
		mplb_warn("client: cannot open the attribute ring buffer: %s", strerror(-err));
		client_attr_bpf__destroy(ca->skel);
		free(ca);
		return err ? err : -EINVAL;
	}
	*out = ca;
	return 0;
}

bool client_attr_attached(const struct client_attr *ca, int ifindex)
{
	for (int i = 0; i < CA_MAX_IFS; i++)
		if (ca->ifs[i].ifindex == ifindex)
			return true;
	return false;
}

int client_attr_attach(struct client_attr *ca, int ifindex, const char *name)
{
	int slot = -1, in, eg;
	if (client_attr_attached(ca, ifindex))
		return 0;
	for (int i = 0; i < CA_MAX_IFS && slot < 0; i++)
		if (ca->ifs[i].ifindex < 0)
			slot = i;
	if (slot < 0)
		return -ENOSPC;
	in = bpf_link_create(bpf_program__fd(ca->skel->progs.client_attr_ingress), ifindex,
			     MPLB_BPF_TCX_INGRESS, NULL);
	if (in < 0) {
		mplb_warn("client: cannot attach the attribute parser to %s (tcx, Linux >= 6.6): %s",
			  name, strerror(-in));
		return in;
	}
	eg = bpf_link_create(bpf_program__fd(ca->skel->progs.client_attr_egress), ifindex,
			     MPLB_BPF_TCX_EGRESS, NULL);
	if (eg < 0) {
		mplb_warn("client: cannot attach to %s egress (tcx): %s", name, strerror(-eg));
		close(in);
		return eg;
	}
	ca->ifs[slot].ifindex = ifindex;
	ca->ifs[slot].link_in = in;
	ca->ifs[slot].link_eg = eg;
	mplb_dbg("client: attribute programs on %s", name);
	return 0;
}

void client_attr_detach(struct client_attr *ca, int ifindex)
{
	for (int i = 0; i < CA_MAX_IFS; i++)
		if (ca->ifs[i].ifindex == ifindex) {
			close(ca->ifs[i].link_in);
			close(ca->ifs[i].link_eg);
			ca->ifs[i].ifindex = ca->ifs[i].link_in = ca->ifs[i].link_eg = -1;
		}
}

int client_attr_fd(const struct client_attr *ca)
{
	return ring_buffer__epoll_fd(ca->rb);
}

int client_attr_poll(struct client_attr *ca)
{
	return ring_buffer__consume(ca->rb);
}

int client_attr_withdraw(struct client_attr *ca, uint32_t token, uint8_t id, uint8_t count)
{
	struct client_rm_val v = {.id = id, .count = count};
	int fd = bpf_map__fd(ca->skel->maps.client_rm);
	bool existed = bpf_map_lookup_elem(fd, &token, &(struct client_rm_val){0}) == 0;
	if (bpf_map_update_elem(fd, &token, &v, BPF_ANY))
		return -errno;
	if (!existed)
		ca->rm_entries++;
	ca->skel->bss->rm_live = ca->rm_entries;
	return 0;
}

void client_attr_forget(struct client_attr *ca, uint32_t token)
{
	int fd = bpf_map__fd(ca->skel->maps.client_rm);
	if (bpf_map_delete_elem(fd, &token) == 0 && ca->rm_entries)
		ca->rm_entries--;
	ca->skel->bss->rm_live = ca->rm_entries;
}

int client_attr_stats(const struct client_attr *ca, uint64_t out[CLA_STAT_MAX])
{
	int fd = bpf_map__fd(ca->skel->maps.client_attr_stats);
	uint64_t *v = calloc((size_t)ca->ncpus, sizeof(*v));
	if (!v)
		return -1;
	for (uint32_t k = 0; k < CLA_STAT_MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, v))
			continue;
		for (int c = 0; c < ca->ncpus; c++)
			out[k] += v[c];
	}
	free(v);
	return 0;
}

uint64_t client_attr_rejected(const struct client_attr *ca)
{
	return ca->rejected;
}

void client_attr_close(struct client_attr *ca)
{
	if (!ca)
		return;
	for (int i = 0; i < CA_MAX_IFS; i++)
		if (ca->ifs[i].ifindex >= 0)
			client_attr_detach(ca, ca->ifs[i].ifindex);
	ring_buffer__free(ca->rb);
	client_attr_bpf__destroy(ca->skel);
	free(ca);
}
