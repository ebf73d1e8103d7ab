// SPDX-License-Identifier: MIT
/*
 * Checks of the running system before `mplb server run` changes anything:
 * kernel features, addresses, interfaces, ports. Errors stop the run with a
 * message naming the fix; warnings are printed and kept in the state file.
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server_int.h"
#include "util.h"

static void warn_keep(struct agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn_keep(struct agent *a, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mplb_warn("server: %s", msg);
	if (a->n_warnings < (int)ARRAY_SIZE(a->warnings))
		snprintf(a->warnings[a->n_warnings++], sizeof(a->warnings[0]), "%s", msg);
}

static const char *ep_str(const struct srv_addr *a, uint16_t port, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN];

	srv_addr_str(a, s, sizeof(s));
	if (a->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", s, port);
	else
		snprintf(buf, len, "%s:%u", s, port);
	return buf;
}

int srv_check_system(struct agent *a)
{
	const struct srv_cfg *cfg = &a->cfg;
	uint32_t schemes = srv_cfg_schemes(cfg);
	bool need_bpf = (schemes & SRV_SCHEME_TSECR) || cfg->decap || cfg->track_add_addr;
	struct listener *ls = calloc(1024, sizeof(*ls));
	char v[64], ifname[16], b1[80];
	int errors = 0, nl;

	if (!ls)
		return -1;
	/* Kernel features. */
	if (sysctl_get("net.mptcp.enabled", v, sizeof(v))) {
		mplb_err("server: no net.mptcp sysctls: this kernel has no MPTCP (CONFIG_MPTCP=y)");
		errors++;
	} else if (strcmp(v, "1")) {
		mplb_err("server: MPTCP is disabled in this network namespace: "
			 "sysctl -w net.mptcp.enabled=1");
		errors++;
	}
	if (sysctl_get("net.mptcp.path_manager", v, sizeof(v)) == 0) {
		if (strcmp(v, "kernel")) {
			mplb_err("server: net.mptcp.path_manager is '%s': the agent drives the in-kernel "
				 "path manager (endpoints); set it to kernel", v);
			errors++;
		}
	} else if (sysctl_get("net.mptcp.pm_type", v, sizeof(v)) == 0 && strcmp(v, "0")) {
		mplb_err("server: net.mptcp.pm_type is %s: the agent needs the in-kernel path manager "
			 "(0)", v);
		errors++;
	}
	if (need_bpf && access("/sys/kernel/btf/vmlinux", R_OK)) {
		mplb_err("server: no kernel BTF (/sys/kernel/btf/vmlinux): the BPF programs need "
			 "CONFIG_DEBUG_INFO_BTF=y");
		errors++;
	}

	/* Interfaces for the tc programs. */
	if (cfg->n_ifaces) {
		for (int i = 0; i < cfg->n_ifaces; i++) {
			if (!if_nametoindex(cfg->ifaces[i])) {
				mplb_err("server: [server] interface %s: no such interface in this network "
					 "namespace (ip link)", cfg->ifaces[i]);
				errors++;
				continue;
			}
			snprintf(a->ifaces[a->n_ifaces++], 16, "%s", cfg->ifaces[i]);
		}
	} else if (need_bpf) {
		a->n_ifaces = up_interfaces(a->ifaces, SRV_CFG_MAX_IFACES);
		if (!a->n_ifaces) {
			mplb_err("server: no interface is up here besides lo: nothing to attach the tc "
				 "programs to (set [server] interface)");
			errors++;
		}
	}

	/* Addresses. */
	for (int i = 0; i < cfg->n_vips; i++) {
		const struct srv_cfg_vip *vp = &cfg->vips[i];
		char as[INET6_ADDRSTRLEN];
		srv_addr_str(&vp->addr, as, sizeof(as));
		if (addr_iface(&vp->addr, ifname, sizeof(ifname))) {
			mplb_err("server: [vip %s] %s is not configured in this network namespace: the "
				 "balancer forwards VIP packets unchanged (DSR), so the backend must own it: "
				 "ip addr add %s/%d dev lo", vp->name, as, as,
				 vp->addr.family == AF_INET ? 32 : 128);
			errors++;
		} else if (strcmp(ifname, "lo")) {
			warn_keep(a, "[vip %s] %s is on %s, not lo: the backend will answer ARP/ND for it "
				     "and compete with the balancer", vp->name, as, ifname);
		}
	}
	for (int i = 0; i < cfg->n_addrs; i++) {
		char as[INET6_ADDRSTRLEN];
		if (addr_iface(&cfg->addrs[i], ifname, sizeof(ifname))) {
			mplb_err("server: [server] address %s is not configured in this network namespace "
				 "(ip addr)", srv_addr_str(&cfg->addrs[i], as, sizeof(as)));
			errors++;
		}
	}

	/* Ports. */
	nl = tcp_listeners(ls, 1024);
	for (int i = 0; i < cfg->n_vips; i++) {
		const struct srv_cfg_vip *vp = &cfg->vips[i];
		if (!listener_covers(ls, nl, &vp->addr, vp->port))
			warn_keep(a, "[vip %s] nothing listens on %s yet: health reports not ready until "
				     "the service does", vp->name, ep_str(&vp->addr, vp->port, b1, sizeof(b1)));
		if ((vp->scheme & SRV_SCHEME_PORT) &&
		    listener_covers(ls, nl, &vp->addr, srv_vip_join_port(cfg, vp))) {
			mplb_err("server: [vip %s] join port %s is already in use by a listener (ss -ltn): "
				 "the kernel's join-only listener needs it; pick another join_port_base",
				 vp->name, ep_str(&vp->addr, srv_vip_join_port(cfg, vp), b1, sizeof(b1)));
			errors++;
		}
	}
	if (cfg->health_port) {
		const struct srv_addr *ha = cfg->has_health_addr ? &cfg->health_addr : &cfg->addrs[0];
		if (listener_covers(ls, nl, ha, cfg->health_port)) {
			mplb_err("server: health_port %s is already in use (ss -ltn); choose another "
				 "health_port", ep_str(ha, cfg->health_port, b1, sizeof(b1)));
			errors++;
		}
	}
	/* The C bit is per network namespace: it also covers every other listener here. */
	if (schemes & (SRV_SCHEME_PER_SERVER | SRV_SCHEME_PORT)) {
		char list[200] = "";
		size_t off = 0;
		int others = 0;
		for (int i = 0; i < nl; i++) {
			bool vip_port = false;
			for (int k = 0; k < cfg->n_vips; k++)
				vip_port |= ls[i].port == cfg->vips[k].port ||
					    ((cfg->vips[k].scheme & SRV_SCHEME_PORT) &&
					     ls[i].port == srv_vip_join_port(cfg, &cfg->vips[k]));
			if (vip_port || ls[i].port == cfg->health_port)
				continue;
			others++;
			if (off < sizeof(list) - 40)
				off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
							off ? ", " : "",
							ep_str(&ls[i].addr, ls[i].port, b1, sizeof(b1)));
		}
		if (others)
			warn_keep(a, "the C bit (net.mptcp.allow_join_initial_addr_port=0) is per network "
				     "namespace: MPTCP clients of the %d other listener(s) here (%s) will not "
				     "open subflows to their address either", others, list);
	}
	free(ls);
	return errors ? -1 : 0;
}
