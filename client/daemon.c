// SPDX-License-Identifier: MIT
/*
 * mplb client daemon: the event loop. One poll() over the mptcp_pm events
 * socket, an rtnetlink socket (links and addresses) and a signalfd; the
 * timeout is the next retry deadline. Everything else is in the core.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "client/attr_bpf.h"
#include "client/client_int.h"
#include "client/tcp_health.h"
#include "util.h"

#define SYSCTL_PM "/proc/sys/net/mptcp/path_manager"
#define SYSCTL_PM_AVAIL "/proc/sys/net/mptcp/available_path_managers"

static int read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	size_t n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = 0;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, val, strlen(val));
	int err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

/* ---- executor: the core's requests to the kernel ---------------------- */

static int exec_create(struct cl_ctx *ctx, uint32_t token,
		       const struct mptcp_pm_nl_addr *l,
		       const struct mptcp_pm_nl_addr *r)
{
	struct client_daemon *d = ctx->exec.data;
	int rc = mptcp_pm_nl_subflow_create(&d->pm, token, l, r);
	if (rc && d->pm.errmsg[0])
		mplb_dbg("SUBFLOW_CREATE: %s", d->pm.errmsg);
	return rc;
}

static int exec_destroy(struct cl_ctx *ctx, uint32_t token,
			const struct mptcp_pm_nl_addr *l,
			const struct mptcp_pm_nl_addr *r)
{
	struct client_daemon *d = ctx->exec.data;
	int rc = mptcp_pm_nl_subflow_destroy(&d->pm, token, l, r);
	if (rc && d->pm.errmsg[0])
		mplb_dbg("SUBFLOW_DESTROY: %s", d->pm.errmsg);
	return rc;
}

static int exec_set_backup(struct cl_ctx *ctx, uint32_t token,
			   const struct mptcp_pm_nl_addr *l,
			   const struct mptcp_pm_nl_addr *r, bool backup)
{
	struct client_daemon *d = ctx->exec.data;
	int rc = mptcp_pm_nl_set_flags(&d->pm, token, l, r, backup ? MPTCP_PM_ADDR_FLAG_BACKUP : 0);
	if (rc && d->pm.errmsg[0])
		mplb_dbg("SET_FLAGS: %s", d->pm.errmsg);
	return rc;
}

/*
 * Tell the peer a local address is gone. For ids other than 0 the kernel's
 * REMOVE does it (the dead subflow was destroyed first, so the RM_ADDR rides
 * on a live one). For id 0 the kernel needs a subflow with local id 0 to
 * exist and then sends on the first subflow able to send, which is that dead
 * one: the egress program adds the RM_ADDR to live ACKs instead.
 */
static int exec_withdraw(struct cl_ctx *ctx, uint32_t token, uint8_t loc_id)
{
	struct client_daemon *d = ctx->exec.data;
	int rc;
	if (loc_id == 0 && d->attr)
		return client_attr_withdraw(d->attr, token, 0, 3);
	rc = mptcp_pm_nl_remove(&d->pm, token, loc_id);
	if (rc && d->pm.errmsg[0])
		mplb_dbg("REMOVE id %u: %s", loc_id, d->pm.errmsg);
	return rc;
}

static int exec_probe(struct cl_ctx *ctx, const struct cl_subflow *sf)
{
	int rc = tcp_health_probe(sf->family, &sf->laddr, sf->lport, &sf->raddr, sf->rport, sf->ifindex);
	(void)ctx;
	if (rc)
		mplb_dbg("probe on port %u: %s", sf->lport, strerror(-rc));
	return rc;
}

static void on_tcp_sample(const struct cl_tcp_sample *s, void *data)
{
	struct client_daemon *d = data;
	cl_on_tcp_sample(&d->ctx, s);
}

/* RTM_GETROUTE with FIB match: only a real route entry counts. */
static bool exec_route_ok(struct cl_ctx *ctx, const struct cl_uplink *u,
			  const struct mptcp_pm_nl_addr *l,
			  const struct mptcp_pm_nl_addr *r)
{
	struct client_daemon *d = ctx->exec.data;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	size_t alen = l->family == AF_INET ? 4 : 16;
	bool ok = false;

	if (!d->rtq)
		return true;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++d->rtq_seq;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)l->family;
	rtm->rtm_dst_len = rtm->rtm_src_len = (unsigned char)(alen * 8);
	rtm->rtm_flags = RTM_F_FIB_MATCH;
	mnl_attr_put(nlh, RTA_DST, alen, &r->addr);
	mnl_attr_put(nlh, RTA_SRC, alen, &l->addr);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)u->ifindex);
	if (mnl_socket_sendto(d->rtq, nlh, nlh->nlmsg_len) < 0)
		return true; /* cannot tell: let the kernel try */
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(d->rtq, buf, sizeof(buf));
		if (n < 0)
			return true; /* cannot tell: let the kernel try */
		const struct nlmsghdr *m = (const struct nlmsghdr *)buf;
		int len = (int)n;
		for (; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
			if (m->nlmsg_seq != d->rtq_seq)
				continue;
			if (m->nlmsg_type == RTM_NEWROUTE)
				ok = true;
			return ok; /* one reply: the route or an error */
		}
	}
}

static void exec_log(struct cl_ctx *ctx, const char *kind, uint32_t token,
		     const char *text)
{
	struct client_daemon *d = ctx->exec.data;
	if (d->json) {
		char tok[16];
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(tok, sizeof(tok), "0x%08x", token);
		json_t *o = json_pack("{s:f, s:f, s:s, s:s, s:s}", "time",
				      ts.tv_sec + ts.tv_nsec / 1e9, "mono", ctx->now,
				      "kind", kind, "token", token ? tok : "",
				      "msg", text);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(o);
	} else {
		printf("mplb client: %s\n", text);
	}
	fflush(stdout);
}

/* ---- rtnetlink: uplink discovery and changes --------------------------- */

static void handle_link(struct client_daemon *d, const struct nlmsghdr *nlh)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	const char *name = NULL;

	if (ifi->ifi_flags & IFF_LOOPBACK)
		return;
	mnl_attr_for_each(a, nlh, sizeof(*ifi))
		if (mnl_attr_get_type(a) == IFLA_IFNAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			name = mnl_attr_get_str(a);
	if (nlh->nlmsg_type == RTM_DELLINK) {
		cl_uplink_gone(&d->ctx, ifi->ifi_index);
		return;
	}
	if (!name)
		return;
	bool up = (ifi->ifi_flags & IFF_UP) && (ifi->ifi_flags & IFF_RUNNING);
	cl_uplink_update(&d->ctx, ifi->ifi_index, name, up);
}

static void handle_addr(struct client_daemon *d, const struct nlmsghdr *nlh)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	const void *local = NULL, *address = NULL;
	uint32_t flags = ifa->ifa_flags;
	size_t alen = ifa->ifa_family == AF_INET ? 4 : 16;

	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return;
	if (ifa->ifa_scope != RT_SCOPE_UNIVERSE)
		return; /* link-local, host: not an uplink address */
	mnl_attr_for_each(a, nlh, sizeof(*ifa)) {
		switch (mnl_attr_get_type(a)) {
		case IFA_LOCAL:
			if (mnl_attr_get_payload_len(a) == alen)
				local = mnl_attr_get_payload(a);
			break;
		case IFA_ADDRESS:
			if (mnl_attr_get_payload_len(a) == alen)
				address = mnl_attr_get_payload(a);
			break;
		case IFA_FLAGS:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				flags = mnl_attr_get_u32(a);
			break;
		}
	}
	const void *addr = local ? local : address; /* IFA_LOCAL on ptp links */
	if (!addr)
		return;
	/* A tentative address cannot be bound yet; DAD's end re-announces it. */
	bool add = nlh->nlmsg_type == RTM_NEWADDR &&
		   !(flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED));
	cl_uplink_addr(&d->ctx, (int)ifa->ifa_index, ifa->ifa_family, addr, add);
}

static void handle_rtnl_msg(struct client_daemon *d, const struct nlmsghdr *nlh)
{
	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		handle_link(d, nlh);
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		handle_addr(d, nlh);
		break;
	case RTM_NEWROUTE:
		cl_routes_changed(&d->ctx);
		break;
	}
}

static int rtnl_read(struct client_daemon *d, struct mnl_socket *s, bool until_done)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	for (;;) {
		ssize_t n = recv(mnl_socket_get_fd(s), buf, sizeof(buf),
				 until_done ? 0 : MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			if (errno == ENOBUFS) {
				mplb_warn("rtnetlink overrun: interface state may be stale");
				return 0;
			}
			return -errno;
		}
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int len = (int)n;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
				if (e->error)
					return e->error;
				continue;
			}
			handle_rtnl_msg(d, nlh);
		}
		if (!until_done)
			return 0;
	}
}

static int rtnl_dump(struct client_daemon *d, uint16_t type, int family)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	int rc;
	if (!s)
		return -errno;
	if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		mnl_socket_close(s);
		return rc;
	}
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = 1;
	struct rtgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = (unsigned char)family;
	if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0)
		rc = -errno;
	else
		rc = rtnl_read(d, s, true);
	mnl_socket_close(s);
	return rc;
}

static int rtnl_open(struct client_daemon *d)
{
	int rcvbuf = 1 << 20;
	d->rtnl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!d->rtnl)
		return -errno;
	setsockopt(mnl_socket_get_fd(d->rtnl), SOL_SOCKET, SO_RCVBUFFORCE,
		   &rcvbuf, sizeof(rcvbuf));
	/* Subscribe before dumping so no change falls between the two. */
	/* Routes too: a returning uplink is usable once its route is back. */
	if (mnl_socket_bind(d->rtnl, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
			    RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	d->rtq = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (d->rtq && mnl_socket_bind(d->rtq, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(d->rtq);
		d->rtq = NULL;
	}
	d->ctx.startup = true;
	int rc = rtnl_dump(d, RTM_GETLINK, AF_UNSPEC);
	if (!rc)
		rc = rtnl_dump(d, RTM_GETADDR, AF_UNSPEC);
	d->ctx.startup = false;
	return rc;
}

/* ---- attributes from the wire -------------------------------------------- */

static void on_attr_record(const struct attr_event *ev, void *data)
{
	struct client_daemon *d = data;
	union mptcp_pm_nl_inaddr peer, us;
	int family = ev->family == 4 ? AF_INET : AF_INET6;

	memset(&peer, 0, sizeof(peer));
	memset(&us, 0, sizeof(us));
	memcpy(&peer, ev->saddr, family == AF_INET ? 4 : 16);
	memcpy(&us, ev->daddr, family == AF_INET ? 4 : 16);
	for (unsigned i = 0; i < ev->n && i < ADDR_ATTR_MAX_PAIRS; i++)
		cl_on_attr(&d->ctx, ev->token, family, &peer, &us, ev->sport, ev->dport, ev->ids[i],
			   ev->attrs[i], ev->source == ATTR_SRC_DRAFT ? CL_ATTR_WIRE_DRAFT : CL_ATTR_WIRE);
}

/* Attach the attribute programs to every allowed uplink, detach from gone ones. */
static void attr_sync_uplinks(struct client_daemon *d)
{
	if (!d->attr)
		return;
	for (int i = 0; i < CL_MAX_UPLINKS; i++) {
		struct cl_uplink *u = &d->ctx.uplinks[i];
		if (u->used && u->allowed)
			client_attr_attach(d->attr, u->ifindex, u->name);
	}
}

/* ---- the loop ---------------------------------------------------------- */

static void on_event(const struct mptcp_pm_nl_event *ev, void *data)
{
	struct client_daemon *d = data;
	mplb_dbg("event %s token 0x%08x", mptcp_pm_nl_event_name(ev->type), ev->token);
	/*
	 * Attributes travel in the segment that carries the ADD_ADDR (or the
	 * SYN/ACK): the ring buffer has them before the kernel's event, so read
	 * it first and the units decide with them.
	 */
	if (d->attr)
		client_attr_poll(d->attr);
	if (ev->type == MPTCP_EVENT_CLOSED && d->attr)
		client_attr_forget(d->attr, ev->token);
	cl_on_pm_event(&d->ctx, ev);
}

static int check_kernel(void)
{
	char avail[128];
	if (access("/proc/sys/net/mptcp", F_OK) != 0) {
		mplb_err("this kernel has no MPTCP (/proc/sys/net/mptcp missing): need CONFIG_MPTCP=y");
		return -1;
	}
	if (read_file(SYSCTL_PM_AVAIL, avail, sizeof(avail)) < 0 ||
	    access(SYSCTL_PM, W_OK) != 0) {
		mplb_err("this kernel has no selectable path manager (%s missing): need Linux >= 6.15",
			 SYSCTL_PM_AVAIL);
		return -1;
	}
	if (!strstr(avail, "userspace")) {
		mplb_err("the kernel's path managers are '%s': the userspace path manager is missing",
			 avail);
		return -1;
	}
	return 0;
}

int client_daemon_run(struct client_daemon *d)
{
	struct pollfd pfd[4];
	int npfd = 3;
	sigset_t mask;
	int sfd, rc = 1;
	bool pm_switched = false;

	if (require_root("mplb client run"))
		return 1;
	if (d->netns[0] && netns_enter(d->netns))
		return 1;
	if (check_kernel())
		return 1;

	struct cl_executor exec = {exec_create, exec_destroy, exec_route_ok, exec_log, d,
				   exec_set_backup, exec_withdraw, exec_probe};
	cl_ctx_init(&d->ctx, &d->cfg, d->units[0], &exec);
	for (unsigned i = 1; i < d->n_units; i++)
		cl_ctx_add_unit(&d->ctx, d->units[i]);
	d->ctx.now = now_sec();
	if (d->cfg.wire_attrs && client_attr_open(&d->attr, on_attr_record, d))
		d->attr = NULL; /* warned: config stand-ins only */
	/* Dark paths (a break past our uplinks) are seen in the subflows' tcp_info. */
	for (unsigned i = 0; i < d->n_units && d->cfg.health_interval_ms; i++)
		if (d->units[i]->needs_health && !d->health)
			d->health = tcp_health_open();

	int err = mptcp_pm_nl_open(&d->pm);
	if (err == -ENOENT) {
		mplb_err("generic netlink family '%s' not found: the kernel lacks the MPTCP path manager API",
			 MPTCP_PM_NAME);
		return 1;
	} else if (err) {
		mplb_err("cannot open generic netlink: %s", strerror(-err));
		return 1;
	}
	/*
	 * Subscribe before selecting the userspace PM: a userspace-PM
	 * connection with no subscriber drops every ADD_ADDR it receives.
	 */
	err = mptcp_pm_nl_subscribe(&d->pm);
	if (err) {
		mplb_err("cannot subscribe to %s: %s", MPTCP_PM_EV_GRP_NAME, strerror(-err));
		goto out;
	}
	if (read_file(SYSCTL_PM, d->old_pm, sizeof(d->old_pm)) < 0)
		snprintf(d->old_pm, sizeof(d->old_pm), "kernel");
	err = write_file(SYSCTL_PM, "userspace");
	if (err) {
		mplb_err("cannot select the userspace path manager (%s): %s", SYSCTL_PM,
			 strerror(-err));
		goto out;
	}
	pm_switched = true;

	err = rtnl_open(d);
	if (err) {
		mplb_err("cannot watch interfaces (rtnetlink): %s", strerror(-err));
		goto out;
	}
	attr_sync_uplinks(d);

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		mplb_err("signalfd: %s", strerror(errno));
		goto out;
	}

	{
		char msg[400], units[160];
		snprintf(msg, sizeof(msg),
			 "running (policy %s, max_subflows %u, path_manager %s -> userspace%s%s, "
			 "peer attributes %s)",
			 cl_policy_names(&d->ctx, units, sizeof(units)), d->cfg.max_subflows, d->old_pm,
			 d->netns[0] ? ", netns " : "", d->netns,
			 d->attr ? "from the wire" : d->cfg.n_static_attrs ? "from the config only" : "off");
		exec_log(&d->ctx, "start", 0, msg);
	}
	client_state_save(d);

	pfd[0] = (struct pollfd){.fd = mptcp_pm_nl_event_fd(&d->pm), .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = mnl_socket_get_fd(d->rtnl), .events = POLLIN};
	pfd[2] = (struct pollfd){.fd = sfd, .events = POLLIN};
	if (d->attr)
		pfd[npfd++] = (struct pollfd){.fd = client_attr_fd(d->attr), .events = POLLIN};
	double last_save = 0;
	for (;;) {
		d->ctx.now = now_sec();
		double next = cl_tick(&d->ctx);
		/* Counters move without model changes: refresh the state file each second. */
		if (d->ctx.dirty || d->ctx.now - last_save > 1.0) {
			client_state_save(d);
			last_save = d->ctx.now;
		}
		int timeout = next < 0 || next > 1.0 ? 1000 : (int)(next * 1000) + 1;
		bool sample = d->health && cl_health_wanted(&d->ctx);
		if (sample && timeout > (int)d->cfg.health_interval_ms)
			timeout = (int)d->cfg.health_interval_ms;
		int n = poll(pfd, (nfds_t)npfd, timeout);
		if (n < 0 && errno != EINTR) {
			mplb_err("poll: %s", strerror(errno));
			break;
		}
		d->ctx.now = now_sec();
		if (pfd[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				char msg[64];
				snprintf(msg, sizeof(msg), "signal %d: stopping", (int)si.ssi_signo);
				exec_log(&d->ctx, "stop", 0, msg);
				rc = 0;
				break;
			}
		}
		if (pfd[1].revents & POLLIN) {
			rtnl_read(d, d->rtnl, false);
			attr_sync_uplinks(d);
		}
		if (npfd > 3 && (pfd[3].revents & POLLIN))
			client_attr_poll(d->attr);
		if (pfd[0].revents & POLLIN) {
			int got;
			while ((got = mptcp_pm_nl_read_events(&d->pm, on_event, d)) > 0)
				;
			if (got == -ENOBUFS)
				mplb_warn("mptcp_pm events overrun: some connections may be missed");
		}
		if (sample && d->ctx.now - d->last_health >= d->cfg.health_interval_ms / 1000.0) {
			d->last_health = d->ctx.now;
			int err2 = tcp_health_dump(d->health, on_tcp_sample, d);
			if (err2)
				mplb_dbg("sock_diag dump: %s", strerror(-err2));
		}
	}
	close(sfd);
out:
	if (pm_switched) {
		/* Only new sockets see the change: live connections keep their PM. */
		if (write_file(SYSCTL_PM, d->old_pm))
			mplb_warn("could not restore %s to '%s'", SYSCTL_PM, d->old_pm);
	}
	client_state_remove(d);
	if (d->rtnl)
		mnl_socket_close(d->rtnl);
	if (d->rtq)
		mnl_socket_close(d->rtq);
	mptcp_pm_nl_close(&d->pm);
	client_attr_close(d->attr);
	d->attr = NULL;
	tcp_health_close(d->health);
	d->health = NULL;
	cl_ctx_free(&d->ctx);
	return rc;
}
