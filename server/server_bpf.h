/* SPDX-License-Identifier: MIT */
/*
 * The BPF side of the server agent: skeleton lifecycle (bpf/server_agent.bpf.c),
 * map contents from the config, tcx links (or clsact filters on kernels
 * without tcx), the cgroup sock_ops link, pins for `mplb server status`.
 *
 * Links are not pinned: when the agent dies, even by SIGKILL, the kernel
 * detaches them. Only the clsact fallback and the pins outlive the process;
 * both go into the journal first.
 */
#ifndef MPLB_SERVER_BPF_H
#define MPLB_SERVER_BPF_H

#include <stdbool.h>
#include <stdint.h>

#include "bpf/server_structs.h"
#include "journal.h"
#include "server_config.h"

struct server_agent_bpf;
struct bpf_link;

#define SRV_MAX_ATTACH (2 * SRV_CFG_MAX_IFACES)

struct srv_attach {
	char ifname[16];
	int ifindex;
	bool ingress;
	bool tcx;      /* tcx link (fd) or a clsact filter (handle/priority) */
	int link_fd;
	uint32_t handle, priority;
};

struct srv_bpf {
	struct server_agent_bpf *skel;
	struct srv_attach att[SRV_MAX_ATTACH];
	int n_att;
	int sockops_link_fd;
	struct bpf_link *iter_link; /* keepalive sweep (iter/tcp) */
	char cgroup[256];
	char pin_dir[256];
	bool pinned;
};

/* Names of the pinned maps under the pin directory. */
extern const char *const srv_pinned_maps[];

/* /sys/fs/bpf/mplb/server-<name> */
void srv_pin_dir(const char *name, char *buf, size_t len);

int srv_bpf_load(struct srv_bpf *b);
/* Write config, VIP and address maps from cfg (also on reload). */
int srv_bpf_fill(struct srv_bpf *b, const struct srv_cfg *cfg, uint64_t netns_cookie);
/* Ingress and egress programs on ifname: tcx, or clsact + cls_bpf as a fallback. */
int srv_bpf_attach_iface(struct srv_bpf *b, const char *ifname, struct journal *j);
/* sock_ops on a cgroup v2 directory (a bpf_link, multi-attach). */
int srv_bpf_attach_sockops(struct srv_bpf *b, const char *cgroup_dir);
int srv_bpf_pin(struct srv_bpf *b, const char *dir, struct journal *j);
/* The keepalive sweep: attach once, then run it (read the iterator) periodically. */
int srv_bpf_attach_sweep(struct srv_bpf *b);
int srv_bpf_sweep(struct srv_bpf *b);
/* Links still attached (health): every tcx link and the sock_ops link. */
bool srv_bpf_attached(const struct srv_bpf *b);
void srv_bpf_destroy(struct srv_bpf *b);

/* Undo helpers, also used by journal replay. */
int srv_tc_detach(int ifindex, bool ingress, uint32_t handle, uint32_t priority);
int srv_clsact_destroy(int ifindex);

/* Sum a per-CPU u64 array entry. */
int srv_percpu_sum(int map_fd, uint32_t key, uint64_t *out);

#endif /* MPLB_SERVER_BPF_H */
