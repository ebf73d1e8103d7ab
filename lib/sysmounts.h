/* SPDX-License-Identifier: MIT */
/*
 * The filesystems mplb's components stand on: bpffs at /sys/fs/bpf (every
 * pinned map) and the cgroup v2 hierarchy (sock_ops programs). Like bpftool,
 * libxdp and Cilium, mplb mounts what is missing instead of failing, says so
 * once, and refuses with the fix where mounting would not help.
 */
#ifndef MPLB_SYSMOUNTS_H
#define MPLB_SYSMOUNTS_H

#include <stdbool.h>
#include <stddef.h>

#define MPLB_BPFFS "/sys/fs/bpf"
/* Where mplb mounts cgroup v2 when no cgroup2 is mounted anywhere (as Cilium's /run/cilium/cgroupv2). */
#define MPLB_CGROUP2_FALLBACK "/run/mplb/cgroup2"

/* Is /sys/fs/bpf a bpffs in this mount namespace? */
bool mplb_bpffs_mounted(void);

/*
 * Make sure pins made under /sys/fs/bpf are the ones every other mplb
 * command sees: mount bpffs there when it is missing (once, with a note).
 * Refuses, naming the fix, when this process has a private /sys that hides
 * the host's (`ip netns exec` remounts /sys), when it is not root, or when
 * the kernel has no bpffs. `what` names the command in messages.
 * 0 when usable, -1 with a message.
 */
int mplb_bpffs_ensure(const char *what);

/*
 * Mount point of cgroup v2 in buf. When none is mounted, mount one at
 * MPLB_CGROUP2_FALLBACK (with a note). 0, or -1 with a message.
 */
int mplb_cgroup2_ensure(char *buf, size_t len, const char *what);

/* Mount point of cgroup v2 if one is mounted (no side effect), 0 or -1. */
int mplb_cgroup2_find(char *buf, size_t len);

/*
 * Commands the tools run (ip, tc, sysctl, ethtool, nft, bird) live in
 * /usr/sbin and /sbin, which a user's PATH may lack: append them.
 */
void mplb_path_add_sbin(void);

#endif /* MPLB_SYSMOUNTS_H */
