/* SPDX-License-Identifier: MIT */
/*
 * The system side of the server agent, all in the current network
 * namespace: sysctls, addresses, listening sockets, MIB counters, the
 * namespace's identity, SOCK_DESTROY. (bpffs and cgroup v2: lib/sysmounts.h.)
 */
#ifndef MPLB_SERVER_SYS_H
#define MPLB_SERVER_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server_config.h"

/* "net.mptcp.enabled" -> /proc/sys/net/mptcp/enabled. 0 or -1 (errno set). */
int sysctl_get(const char *name, char *val, size_t len);
int sysctl_set(const char *name, const char *val);

/* Inode of /proc/self/ns/net: names this namespace in journals and state. */
int netns_inode(unsigned long *ino);
/* SO_NETNS_COOKIE of this namespace (what bpf_get_netns_cookie returns). */
int netns_cookie(uint64_t *cookie);

/* Interface holding address a in this namespace, or -1 (name in ifname). */
int addr_iface(const struct srv_addr *a, char *ifname, size_t len);
/* Up, non-loopback interfaces of this namespace; returns how many. */
int up_interfaces(char names[][16], int cap);

struct listener {
	struct srv_addr addr; /* all-zero address = wildcard */
	uint16_t port;
	bool v6only_unknown;
};
/* TCP sockets in LISTEN (MPTCP listeners have a TCP one too), IPv4 and IPv6. */
int tcp_listeners(struct listener *out, int cap);
/* TCP sockets (not listeners, any other state) whose local address is addr; -1 on error. */
int tcp_sockets_on(const struct srv_addr *addr);
/* A listener accepting addr:port (exact, wildcard, or dual-stack [::]). */
bool listener_covers(const struct listener *l, int n, const struct srv_addr *addr, uint16_t port);

#define SRV_MIB_MAX 128
struct srv_mib {
	int count;
	char name[SRV_MIB_MAX][40]; /* without "MPTcpExt" */
	uint64_t value[SRV_MIB_MAX];
};
int srv_mib_read(struct srv_mib *m);
uint64_t srv_mib_get(const struct srv_mib *m, const char *name);

/*
 * Abort the TCP socket with this 4-tuple (SOCK_DESTROY through sock_diag,
 * CONFIG_INET_DIAG_DESTROY): the kernel sends a RST. For an MPTCP subflow
 * only that subflow goes; the connection continues on its others.
 * Ports in host order. 0 or -errno.
 */
int sock_destroy_tcp(int family, const void *src, uint16_t sport, const void *dst,
		     uint16_t dport);

#endif /* MPLB_SERVER_SYS_H */
