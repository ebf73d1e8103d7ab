// SPDX-License-Identifier: MIT
/*
 * Token sync, the sending side: this backend tells every LB host which
 * MPTCP tokens and VIP join subflows are its own (wire format and security:
 * include/mplb/token_sync.h; receiver: lb/lb_sync.c).
 *
 * Two sources, both the kernel's own: mptcp_pm events (a connection is
 * created or closed, a join subflow comes up or goes) for speed, and a full
 * snapshot of the namespace's MPTCP subflows from sock_diag every
 * refresh_ms for truth. The snapshot needs no memory of past events: an
 * agent that restarts, or a LB host that joins the tier late, is filled by
 * the next one, and an entry whose connection is gone stops being refreshed
 * and expires on the LB hosts (their [sync] ttl_s).
 */
#include "server_sync.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/mptcp.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "server_int.h"
#include "token_sync.h"
#include "util.h"

struct srv_sync {
	int fd4, fd6;
	uint32_t id;
	uint8_t key[SYNC_KEY_LEN];
	uint64_t epoch, seq;
	struct sync_entry pending[SYNC_MAX_ENTRIES];
	unsigned n_pending;
	uint8_t pending_type;
	double next_refresh;
	uint32_t refresh_ms;
	struct srv_sync_stats st;
};

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void send_all(struct srv_sync *s, struct agent *a, uint8_t type,
		     const struct sync_entry *e, unsigned n)
{
	uint8_t buf[SYNC_MSG_LEN(SYNC_MAX_ENTRIES)];
	size_t len = sync_msg_build(buf, s->key, type, s->id, s->epoch, ++s->seq, realtime_ns(), e, n);

	for (int i = 0; i < a->cfg.n_sync_lbs; i++) {
		const struct sockaddr_storage *lb = &a->cfg.sync_lbs[i];
		int fd = lb->ss_family == AF_INET6 ? s->fd6 : s->fd4;
		socklen_t sl = lb->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							  : sizeof(struct sockaddr_in);
		if (sendto(fd, buf, len, 0, (const struct sockaddr *)lb, sl) == (ssize_t)len)
			s->st.messages++;
		else
			s->st.send_errors++;
	}
	s->st.entries += n;
}

static void flush(struct srv_sync *s, struct agent *a)
{
	if (!s->n_pending)
		return;
	send_all(s, a, s->pending_type, s->pending, s->n_pending);
	s->n_pending = 0;
}

static void queue(struct srv_sync *s, struct agent *a, uint8_t type, const struct sync_entry *e)
{
	if (s->n_pending && s->pending_type != type)
		flush(s, a);
	s->pending_type = type;
	s->pending[s->n_pending++] = *e;
	if (s->n_pending == SYNC_MAX_ENTRIES)
		flush(s, a);
}

struct srv_sync *srv_sync_open(struct agent *a)
{
	struct srv_sync *s;

	if (!a->cfg.n_sync_lbs)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->fd4 = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	s->fd6 = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	s->id = (uint32_t)a->cfg.id;
	memcpy(s->key, a->cfg.sync_key, SYNC_KEY_LEN);
	/* A restart starts a higher epoch: the LB hosts take its seq 1 again. */
	s->epoch = realtime_ns();
	s->refresh_ms = a->cfg.sync_refresh_ms;
	s->next_refresh = 0; /* a snapshot right away: what was there before this run */
	return s;
}

void srv_sync_close(struct srv_sync *s)
{
	if (!s)
		return;
	if (s->fd4 >= 0)
		close(s->fd4);
	if (s->fd6 >= 0)
		close(s->fd6);
	free(s);
}

const struct srv_sync_stats *srv_sync_stats(const struct srv_sync *s)
{
	return s ? &s->st : NULL;
}

/* Events of a dual-stack ([::]) socket carry IPv4 as ::ffff:a.b.c.d. */
static int plain_family(int family, const void *in, uint8_t out[16])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(out, 0, 16);
	if (family == AF_INET6 && !memcmp(in, mapped, 12)) {
		memcpy(out, (const uint8_t *)in + 12, 4);
		return AF_INET;
	}
	memcpy(out, in, family == AF_INET ? 4 : 16);
	return family;
}

/* Is (family, addr, port) a VIP whose tokens the balancer needs? */
static bool token_vip(const struct agent *a, int family, const uint8_t *addr, uint16_t port)
{
	for (int i = 0; i < a->cfg.n_vips; i++) {
		const struct srv_cfg_vip *v = &a->cfg.vips[i];
		if ((v->scheme & (SRV_SCHEME_TOKEN | SRV_SCHEME_TSECR)) && v->addr.family == family &&
		    v->port == port && !memcmp(v->addr.addr, addr, family == AF_INET ? 4 : 16))
			return true;
	}
	return false;
}

/* The flow key the LB hosts see: client -> VIP, as on the wire. */
static void flow_of(struct flow_key *f, int family, const uint8_t *client, uint16_t cport,
		    const uint8_t *vip, uint16_t vport)
{
	memset(f, 0, sizeof(*f));
	f->family = family == AF_INET6 ? MPLB_FAMILY_V6 : MPLB_FAMILY_V4;
	f->proto = IPPROTO_TCP;
	memcpy(f->src, client, family == AF_INET6 ? 16 : 4);
	memcpy(f->dst, vip, family == AF_INET6 ? 16 : 4);
	f->sport = htons(cport);
	f->dport = htons(vport);
}

void srv_sync_event(struct srv_sync *s, struct agent *a, const struct mptcp_pm_nl_event *ev)
{
	uint8_t local[16], remote[16];
	struct sync_entry e = {0};
	int fam;

	if (!s)
		return;
	e.token = ev->token;
	if (ev->type == MPTCP_EVENT_CLOSED) {
		/* CLOSED names the token only. A DEL for a token that is not ours,
		 * or not a VIP's, changes nothing on the LB hosts (they delete only
		 * the sender's own entries). */
		e.op = SYNC_OP_TOKEN_DEL;
		queue(s, a, SYNC_T_UPDATE, &e);
		s->st.events++;
		flush(s, a);
		return;
	}
	/*
	 * The subflow events carry no "server side" mark (only CREATED and
	 * ESTABLISHED do): what makes an event ours is that its local end is
	 * a token VIP, which only a connection accepted on the VIP has.
	 */
	if (!ev->has_saddr || !ev->has_daddr)
		return;
	fam = plain_family(ev->family, &ev->saddr, local);
	plain_family(ev->family, &ev->daddr, remote);
	if (!token_vip(a, fam, local, ev->sport))
		return;
	switch (ev->type) {
	case MPTCP_EVENT_CREATED:
	case MPTCP_EVENT_ESTABLISHED:
		if (!ev->server_side)
			return;
		e.op = SYNC_OP_TOKEN_ADD;
		break;
	case MPTCP_EVENT_SUB_ESTABLISHED:
	case MPTCP_EVENT_SUB_CLOSED:
		e.op = ev->type == MPTCP_EVENT_SUB_ESTABLISHED ? SYNC_OP_FLOW_ADD : SYNC_OP_FLOW_DEL;
		flow_of(&e.flow, fam, remote, ev->dport, local, ev->sport);
		break;
	default:
		return;
	}
	queue(s, a, SYNC_T_UPDATE, &e);
	s->st.events++;
	flush(s, a); /* a join may be racing this very message */
}

/* ---- snapshot: every MPTCP subflow of the namespace, from sock_diag ---------- */

struct snap_ctx {
	struct srv_sync *s;
	struct agent *a;
	unsigned tokens, flows;
};

static void snap_subflow(struct snap_ctx *c, const struct inet_diag_msg *m, uint32_t token,
			 uint32_t flags)
{
	uint8_t local[16], remote[16];
	struct sync_entry e = {0};
	int fam = plain_family(m->idiag_family, m->id.idiag_src, local);

	plain_family(m->idiag_family, m->id.idiag_dst, remote);
	if (!token_vip(c->a, fam, local, ntohs(m->id.idiag_sport)))
		return;
	if (flags & MPTCP_SUBFLOW_FLAG_MCAP_REM) { /* the connection's first subflow: its token */
		e.op = SYNC_OP_TOKEN_ADD;
		e.token = token;
		queue(c->s, c->a, SYNC_T_REFRESH, &e);
		c->tokens++;
	} else if (flags & MPTCP_SUBFLOW_FLAG_JOIN_REM) { /* a join the client made to the VIP */
		e.op = SYNC_OP_TOKEN_ADD; /* also the token: the first subflow may be gone */
		e.token = token;
		queue(c->s, c->a, SYNC_T_REFRESH, &e);
		e.op = SYNC_OP_FLOW_ADD;
		flow_of(&e.flow, fam, remote, ntohs(m->id.idiag_dport), local, ntohs(m->id.idiag_sport));
		queue(c->s, c->a, SYNC_T_REFRESH, &e);
		c->flows++;
	}
}

static int snap_cb(const struct nlmsghdr *nlh, void *data)
{
	struct snap_ctx *c = data;
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr, *ulp, *mp = NULL;
	uint32_t token = 0, flags = 0;
	bool is_mptcp = false, have_token = false;

	mnl_attr_for_each(attr, nlh, sizeof(*m)) {
		if (mnl_attr_get_type(attr) != INET_DIAG_ULP_INFO)
			continue;
		mnl_attr_for_each_nested(ulp, attr) {
			if (mnl_attr_get_type(ulp) == INET_ULP_INFO_NAME &&
			    !strcmp(mnl_attr_get_str(ulp), "mptcp"))
				is_mptcp = true;
			else if (mnl_attr_get_type(ulp) == INET_ULP_INFO_MPTCP)
				mp = ulp;
		}
	}
	if (!is_mptcp || !mp)
		return MNL_CB_OK;
	mnl_attr_for_each_nested(attr, mp) {
		if (mnl_attr_get_type(attr) == MPTCP_SUBFLOW_ATTR_TOKEN_LOC) {
			token = mnl_attr_get_u32(attr);
			have_token = true;
		} else if (mnl_attr_get_type(attr) == MPTCP_SUBFLOW_ATTR_FLAGS) {
			flags = mnl_attr_get_u32(attr);
		}
	}
	if (have_token)
		snap_subflow(c, m, token, flags);
	return MNL_CB_OK;
}

static int snapshot_family(struct snap_ctx *c, uint8_t family)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;
	uint32_t seq = (uint32_t)time(NULL), portid;
	ssize_t n;
	int rc = 0;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		if (nl)
			mnl_socket_close(nl);
		return -errno;
	}
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = 1u << 1; /* TCP_ESTABLISHED */
	req->idiag_ext = 1u << (INET_DIAG_INFO - 1); /* with the ULP (MPTCP subflow) info */
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
		goto out;
	}
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		int r = mnl_cb_run(buf, (size_t)n, seq, portid, snap_cb, c);
		if (r == MNL_CB_STOP)
			break;
		if (r < 0) {
			rc = -errno;
			break;
		}
	}
out:
	mnl_socket_close(nl);
	return rc;
}

static void snapshot(struct srv_sync *s, struct agent *a)
{
	struct snap_ctx c = {.s = s, .a = a};

	flush(s, a);
	if (snapshot_family(&c, AF_INET) || snapshot_family(&c, AF_INET6))
		s->st.snapshot_errors++;
	flush(s, a);
	s->st.snapshots++;
	s->st.last_tokens = c.tokens;
	s->st.last_flows = c.flows;
}

double srv_sync_tick(struct srv_sync *s, struct agent *a)
{
	double now = now_sec();

	if (!s)
		return -1;
	if (now >= s->next_refresh) {
		snapshot(s, a);
		s->next_refresh = now + s->refresh_ms / 1000.0;
	}
	return s->next_refresh - now;
}
