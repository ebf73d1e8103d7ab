// SPDX-License-Identifier: MIT
/* System helpers of the server agent (see server_sys.h). */
#include "server_sys.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/inet_diag.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "util.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static void sysctl_path(const char *name, char *path, size_t len)
{
	size_t off = (size_t)snprintf(path, len, "/proc/sys/");
	for (const char *p = name; *p && off + 1 < len; p++)
		path[off++] = *p == '.' ? '/' : *p;
	path[off] = 0;
}

int sysctl_get(const char *name, char *val, size_t len)
{
	char path[256];
	int fd;
	ssize_t n;

	sysctl_path(name, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, val, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	val[n] = 0;
	while (n > 0 && (val[n - 1] == '\n' || val[n - 1] == ' '))
		val[--n] = 0;
	return 0;
}

int sysctl_set(const char *name, const char *val)
{
	char path[256];
	int fd, rc = 0;

	sysctl_path(name, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		rc = -1;
	close(fd);
	return rc;
}

int netns_inode(unsigned long *ino)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st))
		return -1;
	*ino = (unsigned long)st.st_ino;
	return 0;
}

int netns_cookie(uint64_t *cookie)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;
	socklen_t len = sizeof(*cookie);

	if (fd < 0)
		return -1;
	rc = getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len);
	close(fd);
	return rc;
}

int addr_iface(const struct srv_addr *a, char *ifname, size_t len)
{
	struct ifaddrs *list, *i;
	int rc = -1;

	if (getifaddrs(&list) < 0)
		return -1;
	for (i = list; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != a->family)
			continue;
		const void *p = a->family == AF_INET
					? (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr
					: (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		if (!memcmp(p, a->addr, a->family == AF_INET ? 4 : 16)) {
			snprintf(ifname, len, "%s", i->ifa_name);
			rc = 0;
			break;
		}
	}
	freeifaddrs(list);
	return rc;
}

int up_interfaces(char names[][16], int cap)
{
	struct if_nameindex *ni = if_nameindex(), *p;
	int n = 0, fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (!ni || fd < 0) {
		if (ni)
			if_freenameindex(ni);
		if (fd >= 0)
			close(fd);
		return 0;
	}
	/* ioctl, not /sys/class/net: under setns the sysfs mount is the host's. */
	for (p = ni; p->if_index && n < cap; p++) {
		struct ifreq ifr;

		if (!strcmp(p->if_name, "lo"))
			continue;
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", p->if_name);
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) || !(ifr.ifr_flags & IFF_UP))
			continue;
		snprintf(names[n++], 16, "%s", p->if_name);
	}
	close(fd);
	if_freenameindex(ni);
	return n;
}

/* /proc/net/tcp: "sl local_address rem_address st ..." with hex addresses in host-order words. */
static int read_sockets(const char *path, int family, struct listener *out, int n, int cap,
			bool listening)
{
	FILE *f = fopen(path, "re");
	char line[512];

	if (!f)
		return n;
	if (!fgets(line, sizeof(line), f)) { /* header */
		fclose(f);
		return n;
	}
	while (n < cap && fgets(line, sizeof(line), f)) {
		char local[64], remote[64];
		unsigned int st, port;
		int sl;

		if (sscanf(line, " %d: %63[0-9A-Fa-f:] %63[0-9A-Fa-f:] %x", &sl, local, remote, &st) != 4)
			continue;
		if ((st == 0x0A) != listening) /* TCP_LISTEN */
			continue;
		char *colon = strchr(local, ':');
		if (!colon)
			continue;
		*colon = 0;
		if (sscanf(colon + 1, "%x", &port) != 1)
			continue;
		struct listener *l = &out[n];
		memset(l, 0, sizeof(*l));
		l->addr.family = family;
		l->port = (uint16_t)port;
		size_t words = family == AF_INET ? 1 : 4;
		if (strlen(local) != words * 8)
			continue;
		for (size_t w = 0; w < words; w++) {
			char hex[9];
			uint32_t v;
			memcpy(hex, local + 8 * w, 8);
			hex[8] = 0;
			v = (uint32_t)strtoul(hex, NULL, 16);
			/* each word is printed as the host-order value of the network-order word */
			memcpy(l->addr.addr + 4 * w, &v, 4);
		}
		n++;
	}
	fclose(f);
	return n;
}

int tcp_listeners(struct listener *out, int cap)
{
	int n = read_sockets("/proc/net/tcp", AF_INET, out, 0, cap, true);
	return read_sockets("/proc/net/tcp6", AF_INET6, out, n, cap, true);
}

int tcp_sockets_on(const struct srv_addr *addr)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	struct listener *s = calloc(8192, sizeof(*s));
	int n, count = 0;

	if (!s)
		return -1;
	n = read_sockets("/proc/net/tcp", AF_INET, s, 0, 8192, false);
	n = read_sockets("/proc/net/tcp6", AF_INET6, s, n, 8192, false);
	for (int i = 0; i < n; i++) {
		struct srv_addr a = s[i].addr;
		if (a.family == AF_INET6 && !memcmp(a.addr, mapped, 12)) {
			memmove(a.addr, a.addr + 12, 4);
			memset(a.addr + 4, 0, 12);
			a.family = AF_INET;
		}
		count += srv_addr_eq(&a, addr);
	}
	free(s);
	return count;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

bool listener_covers(const struct listener *l, int n, const struct srv_addr *addr, uint16_t port)
{
	for (int i = 0; i < n; i++) {
		if (l[i].port != port)
			continue;
		if (srv_addr_eq(&l[i].addr, addr))
			return true;
		if (l[i].addr.family == addr->family &&
		    all_zero(l[i].addr.addr, addr->family == AF_INET ? 4 : 16))
			return true;
		/* [::] without IPV6_V6ONLY takes IPv4 too (mplb serve's default). */
		if (l[i].addr.family == AF_INET6 && addr->family == AF_INET &&
		    all_zero(l[i].addr.addr, 16))
			return true;
	}
	return false;
}

int srv_mib_read(struct srv_mib *m)
{
	FILE *f = fopen("/proc/net/netstat", "re");
	char *names = NULL, *values = NULL, *line = NULL;
	size_t cap = 0;

	memset(m, 0, sizeof(*m));
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "MPTcpExt:", 9))
			continue;
		if (!names)
			names = strdup(line);
		else if (!values)
			values = strdup(line);
	}
	free(line);
	fclose(f);
	if (!names || !values) {
		free(names);
		free(values);
		return -1;
	}
	char *sn = NULL, *sv = NULL;
	char *tn = strtok_r(names + 9, " \n", &sn), *tv = strtok_r(values + 9, " \n", &sv);
	while (tn && tv && m->count < SRV_MIB_MAX) {
		snprintf(m->name[m->count], sizeof(m->name[0]), "%s", tn);
		m->value[m->count++] = strtoull(tv, NULL, 10);
		tn = strtok_r(NULL, " \n", &sn);
		tv = strtok_r(NULL, " \n", &sv);
	}
	free(names);
	free(values);
	return 0;
}

uint64_t srv_mib_get(const struct srv_mib *m, const char *name)
{
	for (int i = 0; i < m->count; i++)
		if (!strcmp(m->name[i], name))
			return m->value[i];
	return 0;
}

int sock_destroy_tcp(int family, const void *src, uint16_t sport, const void *dst,
		     uint16_t dport)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg;
	char buf[4096];
	int fd, rc = -EIO;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};

	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DESTROY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	msg.nlh.nlmsg_seq = 1;
	msg.req.sdiag_family = (uint8_t)family;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = ~0u;
	msg.req.id.idiag_sport = htons(sport);
	msg.req.id.idiag_dport = htons(dport);
	memcpy(msg.req.id.idiag_src, src, family == AF_INET ? 4 : 16);
	memcpy(msg.req.id.idiag_dst, dst, family == AF_INET ? 4 : 16);
	msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		goto out;
	}
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		rc = -errno;
		goto out;
	}
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	if (NLMSG_OK(h, (unsigned)n) && h->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr *e = NLMSG_DATA(h);
		rc = e->error;
	}
out:
	close(fd);
	return rc;
}
