/* SPDX-License-Identifier: MIT */
/* MPTCP path-manager event listener over generic netlink (libmnl). */
#include "mptcp_pm_events.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mptcp_info.h"

struct mptcp_pm_events {
	struct mnl_socket *nl;
	uint16_t family_id;
	uint32_t group_id;
	/* One page per datagram is what the kernel sends; 32 KiB covers a batch. */
	char buf[32768];
};

const char *mptcp_pm_event_name(uint8_t type)
{
	switch (type) {
	case MPTCP_EVENT_CREATED: return "CREATED";
	case MPTCP_EVENT_ESTABLISHED: return "ESTABLISHED";
	case MPTCP_EVENT_CLOSED: return "CLOSED";
	case MPTCP_EVENT_ANNOUNCED: return "ANNOUNCED";
	case MPTCP_EVENT_REMOVED: return "REMOVED";
	case MPTCP_EVENT_SUB_ESTABLISHED: return "SUB_ESTABLISHED";
	case MPTCP_EVENT_SUB_CLOSED: return "SUB_CLOSED";
	case MPTCP_EVENT_SUB_PRIORITY: return "SUB_PRIORITY";
	case 15: return "LISTENER_CREATED";
	case 16: return "LISTENER_CLOSED";
	default: return "UNKNOWN";
	}
}

/* Attributes we read, with their minimum payload size (kernel sends these sizes). */
static size_t event_attr_min_len(uint16_t type)
{
	switch (type) {
	case MPTCP_ATTR_TOKEN: return 4;
	case MPTCP_ATTR_FAMILY: return 2;
	case MPTCP_ATTR_LOC_ID: return 1;
	case MPTCP_ATTR_REM_ID: return 1;
	case MPTCP_ATTR_SADDR4: return 4;
	case MPTCP_ATTR_SADDR6: return 16;
	case MPTCP_ATTR_DADDR4: return 4;
	case MPTCP_ATTR_DADDR6: return 16;
	case MPTCP_ATTR_SPORT: return 2;
	case MPTCP_ATTR_DPORT: return 2;
	case MPTCP_ATTR_BACKUP: return 1;
	case MPTCP_ATTR_ERROR: return 1;
	case MPTCP_ATTR_FLAGS: return 2;
	case MPTCP_ATTR_IF_IDX: return 4;
	case MPTCP_ATTR_SERVER_SIDE: return 1;
	default: return 0;
	}
}

struct parse_state {
	struct mptcp_pm_event *ev;
	uint16_t sport_be, dport_be;
	bool has_sport, has_dport;
	bool bad;
};

static int event_attr_cb(const struct nlattr *attr, void *data)
{
	struct parse_state *st = data;
	struct mptcp_pm_event *ev = st->ev;
	uint16_t type = mnl_attr_get_type(attr);
	size_t need = event_attr_min_len(type);
	const void *p = mnl_attr_get_payload(attr);
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ev->saddr;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ev->saddr;
	struct sockaddr_in *d4 = (struct sockaddr_in *)&ev->daddr;
	struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&ev->daddr;

	if (!need)
		return MNL_CB_OK; /* unknown or unused attribute: skip */
	if (mnl_attr_get_payload_len(attr) < need) {
		st->bad = true;
		return MNL_CB_OK;
	}
	switch (type) {
	case MPTCP_ATTR_TOKEN: memcpy(&ev->token, p, 4); break;
	case MPTCP_ATTR_FAMILY: memcpy(&ev->family, p, 2); break;
	case MPTCP_ATTR_LOC_ID: ev->loc_id = *(const uint8_t *)p; ev->has_loc_id = true; break;
	case MPTCP_ATTR_REM_ID: ev->rem_id = *(const uint8_t *)p; ev->has_rem_id = true; break;
	case MPTCP_ATTR_SADDR4:
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, p, 4);
		ev->has_saddr = true;
		break;
	case MPTCP_ATTR_SADDR6:
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, p, 16);
		ev->has_saddr = true;
		break;
	case MPTCP_ATTR_DADDR4:
		d4->sin_family = AF_INET;
		memcpy(&d4->sin_addr, p, 4);
		ev->has_daddr = true;
		break;
	case MPTCP_ATTR_DADDR6:
		d6->sin6_family = AF_INET6;
		memcpy(&d6->sin6_addr, p, 16);
		ev->has_daddr = true;
		break;
	/* Ports arrive big-endian (unlike the host-order port of address nests). */
	case MPTCP_ATTR_SPORT: memcpy(&st->sport_be, p, 2); st->has_sport = true; break;
	case MPTCP_ATTR_DPORT: memcpy(&st->dport_be, p, 2); st->has_dport = true; break;
	case MPTCP_ATTR_BACKUP: ev->backup = *(const uint8_t *)p; break;
	case MPTCP_ATTR_ERROR: ev->error = *(const uint8_t *)p; ev->has_error = true; break;
	case MPTCP_ATTR_FLAGS: memcpy(&ev->flags, p, 2); break;
	case MPTCP_ATTR_IF_IDX: memcpy(&ev->ifindex, p, 4); ev->has_ifindex = true; break;
	case MPTCP_ATTR_SERVER_SIDE: ev->server_side = *(const uint8_t *)p; break;
	}
	return MNL_CB_OK;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port_be)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = port_be;
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = port_be;
}

int mptcp_pm_event_parse(const struct nlmsghdr *nlh, struct mptcp_pm_event *ev)
{
	struct parse_state st = {.ev = ev};

	memset(ev, 0, sizeof(*ev));
	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return -1;
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);
	ev->type = genl->cmd;
	if (mnl_attr_parse(nlh, GENL_HDRLEN, event_attr_cb, &st) < 0 || st.bad)
		return -1;
	if (st.has_sport)
		set_port(&ev->saddr, st.sport_be);
	if (st.has_dport)
		set_port(&ev->daddr, st.dport_be);
	return 0;
}

/* CTRL_CMD_GETFAMILY reply: family id and the id of the events group. */
struct family_reply {
	uint16_t id;
	uint32_t group;
	bool found_group;
};

static int mcast_group_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);
	if (type == CTRL_ATTR_MCAST_GRP_NAME || type == CTRL_ATTR_MCAST_GRP_ID)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int family_attr_cb(const struct nlattr *attr, void *data)
{
	struct family_reply *r = data;
	const struct nlattr *grp;

	switch (mnl_attr_get_type(attr)) {
	case CTRL_ATTR_FAMILY_ID:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
			r->id = mnl_attr_get_u16(attr);
		break;
	case CTRL_ATTR_MCAST_GROUPS:
		mnl_attr_for_each_nested(grp, attr) {
			const struct nlattr *tb[CTRL_ATTR_MCAST_GRP_MAX + 1] = {0};
			if (mnl_attr_parse_nested(grp, mcast_group_cb, tb) < 0)
				continue;
			if (!tb[CTRL_ATTR_MCAST_GRP_NAME] || !tb[CTRL_ATTR_MCAST_GRP_ID] ||
			    mnl_attr_validate(tb[CTRL_ATTR_MCAST_GRP_NAME], MNL_TYPE_STRING) < 0 ||
			    mnl_attr_validate(tb[CTRL_ATTR_MCAST_GRP_ID], MNL_TYPE_U32) < 0)
				continue;
			if (!strcmp(mnl_attr_get_str(tb[CTRL_ATTR_MCAST_GRP_NAME]),
				    MPTCP_PM_EV_GRP_NAME)) {
				r->group = mnl_attr_get_u32(tb[CTRL_ATTR_MCAST_GRP_ID]);
				r->found_group = true;
			}
		}
		break;
	}
	return MNL_CB_OK;
}

static int family_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, GENL_HDRLEN, family_attr_cb, data) < 0 ?
		       MNL_CB_ERROR : MNL_CB_OK;
}

static int resolve_family(struct mptcp_pm_events *evs, char *err, size_t errlen)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(evs->buf);
	struct genlmsghdr *genl;
	struct family_reply reply = {0};
	uint32_t seq = (uint32_t)time(NULL);
	unsigned int portid = mnl_socket_get_portid(evs->nl);

	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = CTRL_CMD_GETFAMILY;
	genl->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, MPTCP_PM_NAME);
	if (mnl_socket_sendto(evs->nl, nlh, nlh->nlmsg_len) < 0) {
		snprintf(err, errlen, "netlink send: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(evs->nl, evs->buf, sizeof(evs->buf));
		if (n < 0) {
			snprintf(err, errlen, "netlink receive: %s", strerror(errno));
			return -1;
		}
		int rc = mnl_cb_run(evs->buf, n, seq, portid, family_msg_cb, &reply);
		if (rc < 0) {
			if (errno == ENOENT)
				snprintf(err, errlen,
					 "generic netlink family '%s' not found: the kernel needs CONFIG_MPTCP=y",
					 MPTCP_PM_NAME);
			else
				snprintf(err, errlen, "resolving '%s': %s", MPTCP_PM_NAME,
					 strerror(errno));
			return -1;
		}
		if (rc == MNL_CB_STOP)
			break;
	}
	if (!reply.id || !reply.found_group) {
		snprintf(err, errlen, "family '%s' has no '%s' group", MPTCP_PM_NAME,
			 MPTCP_PM_EV_GRP_NAME);
		return -1;
	}
	evs->family_id = reply.id;
	evs->group_id = reply.group;
	return 0;
}

struct mptcp_pm_events *mptcp_pm_events_open(char *err, size_t errlen)
{
	struct mptcp_pm_events *evs = calloc(1, sizeof(*evs));
	if (!evs) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	evs->nl = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
	if (!evs->nl) {
		snprintf(err, errlen, "netlink socket: %s", strerror(errno));
		goto fail;
	}
	if (mnl_socket_bind(evs->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "netlink bind: %s", strerror(errno));
		goto fail;
	}
	if (resolve_family(evs, err, errlen))
		goto fail;
	/* A burst of joins must not overflow the socket (ENOBUFS loses events). */
	int rcvbuf = 1 << 20;
	setsockopt(mnl_socket_get_fd(evs->nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		   sizeof(rcvbuf));
	if (mnl_socket_setsockopt(evs->nl, NETLINK_ADD_MEMBERSHIP, &evs->group_id,
				  sizeof(evs->group_id)) < 0) {
		if (errno == EPERM || errno == EACCES)
			snprintf(err, errlen,
				 "joining '%s' needs CAP_NET_ADMIN (run as root)",
				 MPTCP_PM_EV_GRP_NAME);
		else
			snprintf(err, errlen, "joining '%s': %s", MPTCP_PM_EV_GRP_NAME,
				 strerror(errno));
		goto fail;
	}
	return evs;
fail:
	mptcp_pm_events_close(evs);
	return NULL;
}

int mptcp_pm_events_fd(const struct mptcp_pm_events *evs)
{
	return mnl_socket_get_fd(evs->nl);
}

struct dispatch_ctx {
	struct mptcp_pm_events *evs;
	mptcp_pm_event_cb cb;
	void *arg;
	int count;
};

static int dispatch_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dispatch_ctx *ctx = data;
	struct mptcp_pm_event ev;

	if (nlh->nlmsg_type != ctx->evs->family_id)
		return MNL_CB_OK;
	if (mptcp_pm_event_parse(nlh, &ev) == 0) {
		ctx->cb(&ev, ctx->arg);
		ctx->count++;
	}
	return MNL_CB_OK;
}

int mptcp_pm_events_dispatch(struct mptcp_pm_events *evs, mptcp_pm_event_cb cb,
			     void *arg)
{
	struct dispatch_ctx ctx = {.evs = evs, .cb = cb, .arg = arg};
	int fd = mnl_socket_get_fd(evs->nl);

	for (;;) {
		ssize_t n = recv(fd, evs->buf, sizeof(evs->buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return ctx.count;
			return -1;
		}
		if (n == 0)
			return ctx.count;
		/* Multicast events carry seq 0 / portid 0: accept any. */
		if (mnl_cb_run(evs->buf, n, 0, 0, dispatch_msg_cb, &ctx) < 0 &&
		    errno != ESRCH)
			return -1;
	}
}

void mptcp_pm_events_close(struct mptcp_pm_events *evs)
{
	if (!evs)
		return;
	if (evs->nl)
		mnl_socket_close(evs->nl);
	free(evs);
}
