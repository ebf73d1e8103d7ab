/* SPDX-License-Identifier: MIT */
/*
 * XDP on the lab's LB hosts. The program is loaded once in the host's
 * namespace (BPF programs are not tied to a network namespace); attaching is
 * a netlink request, so it is made after setns() into the namespace that
 * owns the interface. Nothing is pinned: an attached XDP program stays until
 * it is detached or its interface disappears.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "bpf/xdp_pass.skel.h"
#include "lab/lab_internal.h"
#include "util.h"

static int original_netns_fd = -1;

int lab_setns(const char *netns)
{
	if (original_netns_fd < 0) {
		original_netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (original_netns_fd < 0) {
			mplb_err("cannot open /proc/self/ns/net: %s (network namespaces missing? need CONFIG_NET_NS)",
				 strerror(errno));
			return -1;
		}
	}
	if (!netns) {
		if (setns(original_netns_fd, CLONE_NEWNET) < 0) {
			mplb_err("cannot return to the original network namespace: %s",
				 strerror(errno));
			return -1;
		}
		return 0;
	}
	return netns_enter(netns);
}

/* libbpf's own messages: warnings always, the rest with -v. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || (level == LIBBPF_INFO && !mplb_verbose))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

struct xdp_pass_bpf *lab_xdp_load(void)
{
	libbpf_set_print(libbpf_print);
	struct xdp_pass_bpf *skel = xdp_pass_bpf__open_and_load();
	if (!skel)
		mplb_err("BPF: cannot load the XDP program xdp_pass: %s (needs CONFIG_BPF_SYSCALL and CAP_BPF/root; or use --xdp none)",
			 strerror(errno));
	return skel;
}

void lab_xdp_unload(struct xdp_pass_bpf *skel)
{
	xdp_pass_bpf__destroy(skel);
}

const char *lab_xdp_attach(struct xdp_pass_bpf *skel, const char *netns,
			   const char *ifname, enum lab_xdp_mode mode)
{
	const char *attached = NULL;
	int prog_fd = bpf_program__fd(skel->progs.xdp_pass);
	int err;

	if (lab_setns(netns))
		return NULL;
	unsigned ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		mplb_err("%s: no interface %s", netns, ifname);
		goto out;
	}
	if (mode == XDP_MODE_NATIVE) {
		err = bpf_xdp_attach(ifindex, prog_fd, XDP_FLAGS_DRV_MODE, NULL);
		if (!err) {
			attached = "native";
			goto out;
		}
		mplb_warn("%s %s: native XDP failed (%s); falling back to generic mode",
			  netns, ifname, strerror(-err));
	}
	err = bpf_xdp_attach(ifindex, prog_fd, XDP_FLAGS_SKB_MODE, NULL);
	if (!err)
		attached = "generic";
	else
		mplb_err("%s %s: cannot attach XDP in generic mode: %s", netns,
			 ifname, strerror(-err));
out:
	if (lab_setns(NULL))
		return NULL;
	return attached;
}

void lab_xdp_detach(const char *netns, const char *ifname)
{
	if (!netns_exists(netns) || lab_setns(netns))
		return;
	unsigned ifindex = if_nametoindex(ifname);
	if (ifindex) {
		/* Both modes: detaching with flags 0 removes only the native
		 * program, and a leftover generic one blocks a later native
		 * attach (cookbook gotcha 3). */
		libbpf_set_print(NULL);
		bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
		bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
		libbpf_set_print(libbpf_print);
	}
	lab_setns(NULL);
}
