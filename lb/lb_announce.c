// SPDX-License-Identifier: MIT
/* VIP routes in the announce table, over rtnetlink (libmnl). */
#include "lb_announce.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "util.h"

static int route_msg(struct mnl_socket *nl, uint32_t table, int family, const uint32_t addr[4],
		     bool add)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	uint32_t seq = (uint32_t)time(NULL), portid = mnl_socket_get_portid(nl);
	int af = family == MPLB_FAMILY_V6 ? AF_INET6 : AF_INET;
	ssize_t n;

	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)af;
	rtm->rtm_dst_len = af == AF_INET6 ? 128 : 32;
	rtm->rtm_table = table < 256 ? (unsigned char)table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = MPLB_RTPROT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_BLACKHOLE;
	mnl_attr_put(nlh, RTA_DST, af == AF_INET6 ? 16 : 4, addr);
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	if (mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL) < 0)
		return -errno;
	return 0;
}

int lb_announce_addrs(uint32_t table, const int *family, const uint32_t (*addr)[4], int n, bool on)
{
	struct mnl_socket *nl;
	int changed = 0;

	if (!table)
		return 0;
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mplb_err("lb: rtnetlink: %s", strerror(errno));
		if (nl)
			mnl_socket_close(nl);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		bool dup = false;
		for (int k = 0; k < i; k++)
			dup |= family[k] == family[i] && !memcmp(addr[k], addr[i], 16);
		if (dup)
			continue;
		int rc = route_msg(nl, table, family[i], addr[i], on);
		if (rc == 0) {
			changed++;
		} else if (!(rc == -ESRCH && !on)) { /* withdrawing a route that is gone: done */
			mplb_err("lb: cannot %s the VIP route in table %u: %s", on ? "add" : "delete",
				 table, strerror(-rc));
			mnl_socket_close(nl);
			return -1;
		}
	}
	mnl_socket_close(nl);
	return changed;
}

int lb_announce(const struct lb_cfg *cfg, bool on)
{
	int family[LB_CFG_MAX_VIPS];
	uint32_t addr[LB_CFG_MAX_VIPS][4];

	for (int i = 0; i < cfg->n_vips; i++) {
		family[i] = cfg->vips[i].family;
		memcpy(addr[i], cfg->vips[i].addr, 16);
	}
	return lb_announce_addrs(cfg->announce_table, family, (const uint32_t(*)[4])addr,
				 cfg->n_vips, on);
}
