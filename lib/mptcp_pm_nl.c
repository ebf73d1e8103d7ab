// SPDX-License-Identifier: MIT
/* libmnl client of the mptcp_pm generic netlink family (see mptcp_pm_nl.h). */
#include "mptcp_pm_nl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

const char *mptcp_pm_nl_inaddr_str(int family, const union mptcp_pm_nl_inaddr *a,
				char *buf, size_t len)
{
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, a, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

bool mptcp_pm_nl_inaddr_eq(int family, const union mptcp_pm_nl_inaddr *a,
			const union mptcp_pm_nl_inaddr *b)
{
	if (family == AF_INET)
		return a->v4.s_addr == b->v4.s_addr;
	return !memcmp(&a->v6, &b->v6, sizeof(a->v6));
}

void mptcp_pm_nl_sockaddr(struct sockaddr_storage *ss, int family,
			  const union mptcp_pm_nl_inaddr *a, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;
		s->sin_family = AF_INET;
		s->sin_addr = a->v4;
		s->sin_port = htons(port);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
		s->sin6_family = AF_INET6;
		s->sin6_addr = a->v6;
		s->sin6_port = htons(port);
	}
}

const char *mptcp_pm_nl_event_name(uint8_t type)
{
	switch (type) {
	case MPTCP_EVENT_CREATED: return "created";
	case MPTCP_EVENT_ESTABLISHED: return "established";
	case MPTCP_EVENT_CLOSED: return "closed";
	case MPTCP_EVENT_ANNOUNCED: return "announced";
	case MPTCP_EVENT_REMOVED: return "removed";
	case MPTCP_EVENT_SUB_ESTABLISHED: return "sub_established";
	case MPTCP_EVENT_SUB_CLOSED: return "sub_closed";
	case MPTCP_EVENT_SUB_PRIORITY: return "sub_priority";
	case MPLB_EVENT_LISTENER_CREATED: return "listener_created";
	case MPLB_EVENT_LISTENER_CLOSED: return "listener_closed";
	default: return "unknown";
	}
}

/* ---- parsing ---------------------------------------------------------- */

static int copy_exact(const struct nlattr *a, void *dst, size_t len)
{
	if (mnl_attr_get_payload_len(a) != len)
		return -EINVAL;
	memcpy(dst, mnl_attr_get_payload(a), len);
	return 0;
}

int mptcp_pm_nl_addr_parse(const struct nlattr *nest, struct mptcp_pm_nl_addr *out)
{
	const struct nlattr *a;
	memset(out, 0, sizeof(*out));
	mnl_attr_for_each_nested(a, nest) {
		int rc = 0;
		switch (mnl_attr_get_type(a)) {
		case MPTCP_PM_ADDR_ATTR_FAMILY:
			rc = mnl_attr_validate(a, MNL_TYPE_U16);
			if (!rc)
				out->family = mnl_attr_get_u16(a);
			break;
		case MPTCP_PM_ADDR_ATTR_ID:
			rc = mnl_attr_validate(a, MNL_TYPE_U8);
			if (!rc)
				out->id = mnl_attr_get_u8(a);
			break;
		case MPTCP_PM_ADDR_ATTR_ADDR4:
			rc = copy_exact(a, &out->addr.v4, 4);
			break;
		case MPTCP_PM_ADDR_ATTR_ADDR6:
			rc = copy_exact(a, &out->addr.v6, 16);
			break;
		case MPTCP_PM_ADDR_ATTR_PORT:
			rc = mnl_attr_validate(a, MNL_TYPE_U16);
			if (!rc)
				out->port = mnl_attr_get_u16(a); /* host order */
			break;
		case MPTCP_PM_ADDR_ATTR_FLAGS:
			rc = mnl_attr_validate(a, MNL_TYPE_U32);
			if (!rc)
				out->flags = mnl_attr_get_u32(a);
			break;
		case MPTCP_PM_ADDR_ATTR_IF_IDX:
			rc = mnl_attr_validate(a, MNL_TYPE_U32);
			if (!rc)
				out->ifindex = (int)mnl_attr_get_u32(a);
			break;
		default:
			break; /* newer kernels may add attributes */
		}
		if (rc < 0)
			return -EINVAL;
	}
	return out->family == AF_INET || out->family == AF_INET6 ? 0 : -EINVAL;
}

int mptcp_pm_nl_event_parse(const struct nlmsghdr *nlh, struct mptcp_pm_nl_event *ev)
{
	const struct genlmsghdr *g;
	const struct nlattr *a;
	int addr_family = 0; /* from the address attributes themselves */

	memset(ev, 0, sizeof(*ev));
	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return -EINVAL;
	g = mnl_nlmsg_get_payload(nlh);
	ev->type = g->cmd;
	mnl_attr_for_each(a, nlh, GENL_HDRLEN) {
		int rc = 0;
		uint16_t be16;
		switch (mnl_attr_get_type(a)) {
		case MPTCP_ATTR_TOKEN:
			rc = mnl_attr_validate(a, MNL_TYPE_U32);
			if (!rc)
				ev->token = mnl_attr_get_u32(a);
			break;
		case MPTCP_ATTR_FAMILY:
			rc = mnl_attr_validate(a, MNL_TYPE_U16);
			if (!rc)
				ev->family = mnl_attr_get_u16(a);
			break;
		case MPTCP_ATTR_LOC_ID:
			rc = mnl_attr_validate(a, MNL_TYPE_U8);
			if (!rc) {
				ev->loc_id = mnl_attr_get_u8(a);
				ev->has_loc_id = true;
			}
			break;
		case MPTCP_ATTR_REM_ID:
			rc = mnl_attr_validate(a, MNL_TYPE_U8);
			if (!rc) {
				ev->rem_id = mnl_attr_get_u8(a);
				ev->has_rem_id = true;
			}
			break;
		case MPTCP_ATTR_SADDR4:
			rc = copy_exact(a, &ev->saddr.v4, 4);
			ev->has_saddr = !rc;
			addr_family = AF_INET;
			break;
		case MPTCP_ATTR_SADDR6:
			rc = copy_exact(a, &ev->saddr.v6, 16);
			ev->has_saddr = !rc;
			addr_family = AF_INET6;
			break;
		case MPTCP_ATTR_DADDR4:
			rc = copy_exact(a, &ev->daddr.v4, 4);
			ev->has_daddr = !rc;
			addr_family = AF_INET;
			break;
		case MPTCP_ATTR_DADDR6:
			rc = copy_exact(a, &ev->daddr.v6, 16);
			ev->has_daddr = !rc;
			addr_family = AF_INET6;
			break;
		case MPTCP_ATTR_SPORT:
			rc = copy_exact(a, &be16, 2);
			ev->sport = ntohs(be16);
			ev->has_sport = !rc;
			break;
		case MPTCP_ATTR_DPORT:
			rc = copy_exact(a, &be16, 2);
			ev->dport = ntohs(be16);
			ev->has_dport = !rc;
			break;
		case MPTCP_ATTR_BACKUP:
			rc = mnl_attr_validate(a, MNL_TYPE_U8);
			if (!rc)
				ev->backup = mnl_attr_get_u8(a);
			break;
		case MPTCP_ATTR_ERROR:
			rc = mnl_attr_validate(a, MNL_TYPE_U8);
			if (!rc) {
				ev->error = mnl_attr_get_u8(a);
				ev->has_error = true;
			}
			break;
		case MPTCP_ATTR_FLAGS:
			rc = mnl_attr_validate(a, MNL_TYPE_U16);
			if (!rc)
				ev->flags = mnl_attr_get_u16(a);
			break;
		case MPTCP_ATTR_TIMEOUT:
			rc = mnl_attr_validate(a, MNL_TYPE_U32);
			if (!rc)
				ev->timeout = mnl_attr_get_u32(a);
			break;
		case MPTCP_ATTR_IF_IDX:
			rc = mnl_attr_validate(a, MNL_TYPE_U32);
			if (!rc)
				ev->ifindex = (int)mnl_attr_get_u32(a);
			break;
		case MPTCP_ATTR_RESET_REASON:
			rc = mnl_attr_validate(a, MNL_TYPE_U32);
			if (!rc)
				ev->reset_reason = mnl_attr_get_u32(a);
			break;
		case MPTCP_ATTR_RESET_FLAGS:
			rc = mnl_attr_validate(a, MNL_TYPE_U32);
			if (!rc)
				ev->reset_flags = mnl_attr_get_u32(a);
			break;
		case MPLB_ATTR_SERVER_SIDE:
			rc = mnl_attr_validate(a, MNL_TYPE_U8);
			if (!rc && mnl_attr_get_u8(a))
				ev->server_side = true;
			break;
		default:
			break;
		}
		if (rc < 0)
			return -EINVAL;
	}
	/* ANNOUNCED carries no FAMILY attribute: the address attribute says it. */
	if (!ev->family)
		ev->family = addr_family;
	/* 6.18 moved "server side" into the flags; accept both encodings. */
	if (ev->flags & MPLB_PM_EV_FLAG_SERVER_SIDE)
		ev->server_side = true;
	return 0;
}

/* ---- building --------------------------------------------------------- */

void mptcp_pm_nl_put_addr(struct nlmsghdr *nlh, uint16_t type,
		       const struct mptcp_pm_nl_addr *a)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, type);
	mnl_attr_put_u16(nlh, MPTCP_PM_ADDR_ATTR_FAMILY, (uint16_t)a->family);
	if (a->family == AF_INET)
		mnl_attr_put(nlh, MPTCP_PM_ADDR_ATTR_ADDR4, 4, &a->addr.v4);
	else
		mnl_attr_put(nlh, MPTCP_PM_ADDR_ATTR_ADDR6, 16, &a->addr.v6);
	if (a->id)
		mnl_attr_put_u8(nlh, MPTCP_PM_ADDR_ATTR_ID, a->id);
	if (a->port) /* host order, unlike the event attributes */
		mnl_attr_put_u16(nlh, MPTCP_PM_ADDR_ATTR_PORT, a->port);
	if (a->flags)
		mnl_attr_put_u32(nlh, MPTCP_PM_ADDR_ATTR_FLAGS, a->flags);
	if (a->ifindex)
		mnl_attr_put_u32(nlh, MPTCP_PM_ADDR_ATTR_IF_IDX, (uint32_t)a->ifindex);
	mnl_attr_nest_end(nlh, nest);
}

static struct nlmsghdr *genl_header(void *buf, uint16_t family_id, uint8_t cmd,
				    uint16_t flags, uint32_t seq, uint8_t version)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = family_id;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

struct nlmsghdr *mptcp_pm_nl_build_request(void *buf, uint16_t family_id,
					uint8_t cmd, uint32_t seq,
					uint32_t token,
					const struct mptcp_pm_nl_addr *local,
					const struct mptcp_pm_nl_addr *remote)
{
	struct nlmsghdr *nlh = genl_header(buf, family_id, cmd, NLM_F_ACK, seq,
					   MPTCP_PM_VER);
	if (token)
		mnl_attr_put_u32(nlh, MPTCP_PM_ATTR_TOKEN, token);
	if (local)
		mptcp_pm_nl_put_addr(nlh, MPTCP_PM_ATTR_ADDR, local);
	if (remote)
		mptcp_pm_nl_put_addr(nlh, MPTCP_PM_ATTR_ADDR_REMOTE, remote);
	return nlh;
}

/* ---- transport -------------------------------------------------------- */

/* Copy the extack message (if any) of an NLMSG_ERROR into errmsg. */
static void extack_msg(const struct nlmsghdr *nlh, char *errmsg, size_t len)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	size_t off;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	off = sizeof(*err);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	mnl_attr_for_each(a, nlh, off) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
			snprintf(errmsg, len, "%s", mnl_attr_get_str(a));
			return;
		}
	}
}

typedef int (*msg_cb)(const struct nlmsghdr *nlh, void *data);

/*
 * Send a request on sock and consume replies until its ack/error or the end
 * of a dump. Replies that are not errors go to cb.
 */
static int transact(struct mnl_socket *sock, struct nlmsghdr *req,
		    msg_cb cb, void *data, char *errmsg, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t portid = mnl_socket_get_portid(sock);
	uint32_t seq = req->nlmsg_seq;

	if (errmsg)
		errmsg[0] = 0;
	if (mnl_socket_sendto(sock, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(sock, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int len = (int)n;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid)
				continue; /* stale reply of an earlier request */
			if (nlh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
				if (err->error && errmsg)
					extack_msg(nlh, errmsg, errlen);
				return err->error;
			}
			if (cb) {
				int rc = cb(nlh, data);
				if (rc < 0)
					return rc;
			}
		}
	}
}

static struct mnl_socket *genl_socket(void)
{
	struct mnl_socket *s = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
	int one = 1;
	if (!s)
		return NULL;
	if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(s);
		return NULL;
	}
	/* Extended acks carry the kernel's reason ("invalid token", ...). */
	mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &one, sizeof(one));
	return s;
}

struct family_info {
	uint16_t id;
	uint32_t events_group;
};

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	struct family_info *fi = data;
	const struct nlattr *a, *g, *ga;

	mnl_attr_for_each(a, nlh, GENL_HDRLEN) {
		switch (mnl_attr_get_type(a)) {
		case CTRL_ATTR_FAMILY_ID:
			if (mnl_attr_validate(a, MNL_TYPE_U16) == 0)
				fi->id = mnl_attr_get_u16(a);
			break;
		case CTRL_ATTR_MCAST_GROUPS:
			mnl_attr_for_each_nested(g, a) {
				const char *name = NULL;
				uint32_t id = 0;
				mnl_attr_for_each_nested(ga, g) {
					if (mnl_attr_get_type(ga) == CTRL_ATTR_MCAST_GRP_NAME &&
					    mnl_attr_validate(ga, MNL_TYPE_NUL_STRING) == 0)
						name = mnl_attr_get_str(ga);
					else if (mnl_attr_get_type(ga) == CTRL_ATTR_MCAST_GRP_ID &&
						 mnl_attr_validate(ga, MNL_TYPE_U32) == 0)
						id = mnl_attr_get_u32(ga);
				}
				if (name && !strcmp(name, MPTCP_PM_EV_GRP_NAME))
					fi->events_group = id;
			}
			break;
		}
	}
	return 0;
}

int mptcp_pm_nl_open(struct mptcp_pm_nl *pm)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct family_info fi = {0};
	int rc;

	memset(pm, 0, sizeof(*pm));
	pm->seq = (uint32_t)time(NULL);
	pm->cmd = genl_socket();
	if (!pm->cmd)
		return -errno;
	struct nlmsghdr *nlh = genl_header(buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
					   NLM_F_ACK, ++pm->seq, 1);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, MPTCP_PM_NAME);
	rc = transact(pm->cmd, nlh, family_cb, &fi, pm->errmsg, sizeof(pm->errmsg));
	if (rc < 0 || !fi.id) {
		mptcp_pm_nl_close(pm);
		return rc < 0 ? rc : -ENOENT;
	}
	pm->family_id = fi.id;
	pm->events_group = fi.events_group;
	return 0;
}

int mptcp_pm_nl_subscribe(struct mptcp_pm_nl *pm)
{
	int grp = (int)pm->events_group;
	int rcvbuf = 4 << 20;

	if (!pm->events_group)
		return -ENOENT;
	pm->ev = genl_socket();
	if (!pm->ev)
		return -errno;
	/* Bursts of events (many connections at once) must not overrun us. */
	setsockopt(mnl_socket_get_fd(pm->ev), SOL_SOCKET, SO_RCVBUFFORCE,
		   &rcvbuf, sizeof(rcvbuf));
	if (mnl_socket_setsockopt(pm->ev, NETLINK_ADD_MEMBERSHIP, &grp,
				  sizeof(grp)) < 0) {
		int err = -errno;
		mnl_socket_close(pm->ev);
		pm->ev = NULL;
		return err;
	}
	return 0;
}

int mptcp_pm_nl_event_fd(const struct mptcp_pm_nl *pm)
{
	return pm->ev ? mnl_socket_get_fd(pm->ev) : -1;
}

void mptcp_pm_nl_close(struct mptcp_pm_nl *pm)
{
	if (pm->ev)
		mnl_socket_close(pm->ev);
	if (pm->cmd)
		mnl_socket_close(pm->cmd);
	pm->ev = pm->cmd = NULL;
}

/*
 * Read one datagram (non-blocking) and call cb for each event in it. 1 when a
 * datagram was read, 0 when none was pending, -errno; *count grows by the
 * events delivered.
 */
static int read_datagram(struct mptcp_pm_nl *pm, mptcp_pm_nl_event_cb cb, void *data,
			 int *count)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 2];
	ssize_t n = recv(mnl_socket_get_fd(pm->ev), buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return 0; /* an empty read must end a drain, not spin it */
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int len = (int)n;
	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		struct mptcp_pm_nl_event ev;
		if (nlh->nlmsg_type != pm->family_id)
			continue;
		if (mptcp_pm_nl_event_parse(nlh, &ev) < 0)
			continue; /* malformed: skip rather than act on half of it */
		cb(&ev, data);
		(*count)++;
	}
	return 1;
}

int mptcp_pm_nl_read_events(struct mptcp_pm_nl *pm, mptcp_pm_nl_event_cb cb,
			    void *data)
{
	int count = 0;
	int rc = read_datagram(pm, cb, data, &count);

	return rc < 0 ? rc : count;
}

int mptcp_pm_nl_drain_events(struct mptcp_pm_nl *pm, mptcp_pm_nl_event_cb cb,
			     void *data)
{
	int count = 0, rc;

	while ((rc = read_datagram(pm, cb, data, &count)) > 0)
		;
	return rc < 0 ? rc : count;
}

int mptcp_pm_nl_open_events(struct mptcp_pm_nl *pm, char *why, size_t whylen)
{
	int rc = mptcp_pm_nl_open(pm);

	if (rc == -ENOENT) {
		snprintf(why, whylen,
			 "generic netlink family '%s' not found: the kernel needs CONFIG_MPTCP=y",
			 MPTCP_PM_NAME);
		return rc;
	}
	if (rc < 0) {
		snprintf(why, whylen, "resolving '%s': %s", MPTCP_PM_NAME, strerror(-rc));
		return rc;
	}
	if (!pm->events_group) {
		snprintf(why, whylen, "family '%s' has no '%s' group", MPTCP_PM_NAME,
			 MPTCP_PM_EV_GRP_NAME);
		mptcp_pm_nl_close(pm);
		return -ENOENT;
	}
	rc = mptcp_pm_nl_subscribe(pm);
	if (rc < 0) {
		if (rc == -EPERM || rc == -EACCES)
			snprintf(why, whylen, "joining '%s' needs CAP_NET_ADMIN (run as root)",
				 MPTCP_PM_EV_GRP_NAME);
		else
			snprintf(why, whylen, "joining '%s': %s", MPTCP_PM_EV_GRP_NAME,
				 strerror(-rc));
		mptcp_pm_nl_close(pm);
		return rc;
	}
	return 0;
}

static int command(struct mptcp_pm_nl *pm, uint8_t cmd, uint32_t token,
		   const struct mptcp_pm_nl_addr *local,
		   const struct mptcp_pm_nl_addr *remote)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mptcp_pm_nl_build_request(buf, pm->family_id, cmd,
						      ++pm->seq, token, local, remote);
	return transact(pm->cmd, nlh, NULL, NULL, pm->errmsg, sizeof(pm->errmsg));
}

int mptcp_pm_nl_announce(struct mptcp_pm_nl *pm, uint32_t token,
			 const struct mptcp_pm_nl_addr *local)
{
	struct mptcp_pm_nl_addr a = *local;
	a.flags |= MPTCP_PM_ADDR_FLAG_SIGNAL; /* the kernel requires it */
	return command(pm, MPTCP_PM_CMD_ANNOUNCE, token, &a, NULL);
}

int mptcp_pm_nl_remove(struct mptcp_pm_nl *pm, uint32_t token, uint8_t loc_id)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mptcp_pm_nl_build_request(buf, pm->family_id,
						      MPTCP_PM_CMD_REMOVE, ++pm->seq,
						      token, NULL, NULL);
	mnl_attr_put_u8(nlh, MPTCP_PM_ATTR_LOC_ID, loc_id);
	return transact(pm->cmd, nlh, NULL, NULL, pm->errmsg, sizeof(pm->errmsg));
}

int mptcp_pm_nl_subflow_create(struct mptcp_pm_nl *pm, uint32_t token,
			       const struct mptcp_pm_nl_addr *local,
			       const struct mptcp_pm_nl_addr *remote)
{
	return command(pm, MPTCP_PM_CMD_SUBFLOW_CREATE, token, local, remote);
}

int mptcp_pm_nl_subflow_destroy(struct mptcp_pm_nl *pm, uint32_t token,
				const struct mptcp_pm_nl_addr *local,
				const struct mptcp_pm_nl_addr *remote)
{
	return command(pm, MPTCP_PM_CMD_SUBFLOW_DESTROY, token, local, remote);
}

int mptcp_pm_nl_set_flags(struct mptcp_pm_nl *pm, uint32_t token,
			  const struct mptcp_pm_nl_addr *local,
			  const struct mptcp_pm_nl_addr *remote, uint32_t flags)
{
	struct mptcp_pm_nl_addr l = *local;
	l.flags = flags;
	return command(pm, MPTCP_PM_CMD_SET_FLAGS, token, &l, remote);
}

struct dump_ctx {
	mptcp_pm_nl_addr_cb cb;
	void *data;
	int count;
};

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *d = data;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, GENL_HDRLEN) {
		struct mptcp_pm_nl_addr addr;
		if (mnl_attr_get_type(a) != MPTCP_PM_ATTR_ADDR)
			continue;
		if (mptcp_pm_nl_addr_parse(a, &addr) == 0) {
			d->cb(&addr, d->data);
			d->count++;
		}
	}
	return 0;
}

int mptcp_pm_nl_get_addr_dump(struct mptcp_pm_nl *pm, uint32_t token,
			      mptcp_pm_nl_addr_cb cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct dump_ctx d = {cb, data, 0};
	struct nlmsghdr *nlh = genl_header(buf, pm->family_id, MPTCP_PM_CMD_GET_ADDR,
					   NLM_F_DUMP, ++pm->seq,
					   MPTCP_PM_VER);
	if (token)
		mnl_attr_put_u32(nlh, MPTCP_PM_ATTR_TOKEN, token);
	int rc = transact(pm->cmd, nlh, dump_cb, &d, pm->errmsg, sizeof(pm->errmsg));
	return rc < 0 ? rc : d.count;
}

/* ---- in-kernel path manager: endpoints and limits --------------------- */

int mptcp_pm_nl_endpoint_add(struct mptcp_pm_nl *pm, const struct mptcp_pm_nl_addr *addr)
{
	return command(pm, MPTCP_PM_CMD_ADD_ADDR, 0, addr, NULL);
}

int mptcp_pm_nl_endpoint_del(struct mptcp_pm_nl *pm, const struct mptcp_pm_nl_addr *addr)
{
	return command(pm, MPTCP_PM_CMD_DEL_ADDR, 0, addr, NULL);
}

int mptcp_pm_nl_endpoint_set_flags(struct mptcp_pm_nl *pm, const struct mptcp_pm_nl_addr *addr,
				   uint32_t flags)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mptcp_pm_nl_addr a = *addr;
	struct nlmsghdr *nlh;
	struct nlattr *nest;

	/*
	 * Built by hand: the kernel reads FLAGS even when 0 (clearing backup),
	 * while mptcp_pm_nl_put_addr omits a zero flags attribute.
	 */
	nlh = genl_header(buf, pm->family_id, MPTCP_PM_CMD_SET_FLAGS, NLM_F_ACK, ++pm->seq,
			  MPTCP_PM_VER);
	nest = mnl_attr_nest_start(nlh, MPTCP_PM_ATTR_ADDR);
	mnl_attr_put_u16(nlh, MPTCP_PM_ADDR_ATTR_FAMILY, (uint16_t)a.family);
	if (a.family == AF_INET)
		mnl_attr_put(nlh, MPTCP_PM_ADDR_ATTR_ADDR4, 4, &a.addr.v4);
	else
		mnl_attr_put(nlh, MPTCP_PM_ADDR_ATTR_ADDR6, 16, &a.addr.v6);
	if (a.id)
		mnl_attr_put_u8(nlh, MPTCP_PM_ADDR_ATTR_ID, a.id);
	mnl_attr_put_u32(nlh, MPTCP_PM_ADDR_ATTR_FLAGS, flags);
	mnl_attr_nest_end(nlh, nest);
	return transact(pm->cmd, nlh, NULL, NULL, pm->errmsg, sizeof(pm->errmsg));
}

struct limits_out {
	uint32_t rcv_add_addrs, subflows;
	bool got;
};

static int limits_cb(const struct nlmsghdr *nlh, void *data)
{
	struct limits_out *l = data;
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, GENL_HDRLEN) {
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			continue;
		if (mnl_attr_get_type(a) == MPTCP_PM_ATTR_RCV_ADD_ADDRS) {
			l->rcv_add_addrs = mnl_attr_get_u32(a);
			l->got = true;
		} else if (mnl_attr_get_type(a) == MPTCP_PM_ATTR_SUBFLOWS) {
			l->subflows = mnl_attr_get_u32(a);
			l->got = true;
		}
	}
	return 0;
}

int mptcp_pm_nl_get_limits(struct mptcp_pm_nl *pm, uint32_t *rcv_add_addrs, uint32_t *subflows)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct limits_out l = {0};
	struct nlmsghdr *nlh = genl_header(buf, pm->family_id, MPTCP_PM_CMD_GET_LIMITS,
					   NLM_F_ACK, ++pm->seq, MPTCP_PM_VER);
	int rc = transact(pm->cmd, nlh, limits_cb, &l, pm->errmsg, sizeof(pm->errmsg));

	if (rc < 0)
		return rc;
	if (!l.got)
		return -ENODATA;
	*rcv_add_addrs = l.rcv_add_addrs;
	*subflows = l.subflows;
	return 0;
}

int mptcp_pm_nl_set_limits(struct mptcp_pm_nl *pm, uint32_t rcv_add_addrs, uint32_t subflows)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = genl_header(buf, pm->family_id, MPTCP_PM_CMD_SET_LIMITS,
					   NLM_F_ACK, ++pm->seq, MPTCP_PM_VER);

	mnl_attr_put_u32(nlh, MPTCP_PM_ATTR_RCV_ADD_ADDRS, rcv_add_addrs);
	mnl_attr_put_u32(nlh, MPTCP_PM_ATTR_SUBFLOWS, subflows);
	return transact(pm->cmd, nlh, NULL, NULL, pm->errmsg, sizeof(pm->errmsg));
}
