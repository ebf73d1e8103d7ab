// SPDX-License-Identifier: MIT
/*
 * sock_diag sampling and probes for dark-path detection (tcp_health.h).
 * Subflows are ordinary TCP sockets to sock_diag, so one dump per family
 * of the established sockets, with INET_DIAG_INFO (struct tcp_info), gives
 * each subflow's in-flight segments and the time since its last ACK and
 * data. Model: ss(8)'s inet_diag use.
 */
#include "client/tcp_health.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pktbuild.h"
#include "util.h"

#define TCP_STATE_ESTABLISHED 1 /* include/net/tcp_states.h */

struct tcp_health {
	struct mnl_socket *nl;
	unsigned seq;
};

struct tcp_health *tcp_health_open(void)
{
	struct tcp_health *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (!h->nl || mnl_socket_bind(h->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mplb_warn("sock_diag unavailable (%s): no dark-path detection, breaks are seen only when "
			  "an uplink goes down or a subflow closes", strerror(errno));
		if (h->nl)
			mnl_socket_close(h->nl);
		free(h);
		return NULL;
	}
	return h;
}

void tcp_health_close(struct tcp_health *h)
{
	if (!h)
		return;
	mnl_socket_close(h->nl);
	free(h);
}

struct dump_ctx {
	void (*cb)(const struct cl_tcp_sample *s, void *data);
	void *data;
};

/* An IPv4 subflow of a dual-stack socket shows as ::ffff:a.b.c.d: report it as IPv4. */
static void put_addr(struct cl_tcp_sample *s, int family, const __be32 *src, const __be32 *dst)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (family == AF_INET6 && !memcmp(src, mapped, 12) && !memcmp(dst, mapped, 12)) {
		s->family = AF_INET;
		memcpy(&s->laddr.v4, &src[3], 4);
		memcpy(&s->raddr.v4, &dst[3], 4);
		return;
	}
	s->family = family;
	if (family == AF_INET) {
		memcpy(&s->laddr.v4, src, 4);
		memcpy(&s->raddr.v4, dst, 4);
	} else {
		memcpy(&s->laddr.v6, src, 16);
		memcpy(&s->raddr.v6, dst, 16);
	}
}

static int on_msg(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *d = data;
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct cl_tcp_sample s;
	struct tcp_info ti;
	const struct nlattr *a;
	bool have_info = false;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*m)))
		return MNL_CB_OK;
	memset(&s, 0, sizeof(s));
	memset(&ti, 0, sizeof(ti));
	put_addr(&s, m->idiag_family, m->id.idiag_src, m->id.idiag_dst);
	s.lport = ntohs(m->id.idiag_sport);
	s.rport = ntohs(m->id.idiag_dport);
	mnl_attr_for_each(a, nlh, sizeof(*m)) {
		if (mnl_attr_get_type(a) != INET_DIAG_INFO)
			continue;
		uint16_t len = mnl_attr_get_payload_len(a);
		/* An older or newer kernel's tcp_info: take what both know. */
		memcpy(&ti, mnl_attr_get_payload(a), len < sizeof(ti) ? len : sizeof(ti));
		have_info = true;
	}
	if (!have_info)
		return MNL_CB_OK;
	s.unacked = ti.tcpi_unacked;
	s.last_data_recv_ms = ti.tcpi_last_data_recv;
	s.last_ack_recv_ms = ti.tcpi_last_ack_recv;
	s.rtt_us = ti.tcpi_rtt;
	s.rttvar_us = ti.tcpi_rttvar;
	s.backoff = ti.tcpi_backoff;
	s.segs_in = ti.tcpi_segs_in;
	s.bytes_received = ti.tcpi_bytes_received;
	s.bytes_acked = ti.tcpi_bytes_acked;
	d->cb(&s, d->data);
	return MNL_CB_OK;
}

static int dump_family(struct tcp_health *h, int family, struct dump_ctx *d)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;
	unsigned seq = ++h->seq, portid = mnl_socket_get_portid(h->nl);
	ssize_t n;
	int rc;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = (uint8_t)family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = 1u << TCP_STATE_ESTABLISHED;
	req->idiag_ext = 1u << (INET_DIAG_INFO - 1);
	if (mnl_socket_sendto(h->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(h->nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		rc = mnl_cb_run(buf, (size_t)n, seq, portid, on_msg, d);
		if (rc == MNL_CB_STOP)
			return 0;
		if (rc < 0)
			return errno ? -errno : -EIO;
	}
}

int tcp_health_dump(struct tcp_health *h, void (*cb)(const struct cl_tcp_sample *s, void *data),
		    void *data)
{
	struct dump_ctx d = {cb, data};
	int rc = dump_family(h, AF_INET, &d);

	if (!rc)
		rc = dump_family(h, AF_INET6, &d);
	return rc;
}

/*
 * An ACK with a sequence number far from anything the peer expects: the
 * peer's TCP discards it and answers with an ACK of its own state (a
 * duplicate or challenge ACK), which arrives on our subflow like any other
 * (tcpi_segs_in moves) if the path works both ways. It carries no data and
 * no options, so neither TCP nor MPTCP state changes on either side.
 */
int tcp_health_probe(int family, const union mptcp_pm_nl_inaddr *laddr, uint16_t lport,
		     const union mptcp_pm_nl_inaddr *raddr, uint16_t rport, int ifindex)
{
	uint8_t th[20] = {0};
	uint32_t rnd[2];
	char ifname[IF_NAMESIZE];
	int fd, rc = 0;

	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd[0] = (uint32_t)time(NULL) * 2654435761u, rnd[1] = rnd[0] ^ 0x5bd1e995u;
	th[0] = lport >> 8, th[1] = (uint8_t)lport;
	th[2] = rport >> 8, th[3] = (uint8_t)rport;
	/*
	 * Random numbers: outside the peer's receive window but for the
	 * window's share of 2^32 (a few MB of 4 GB), and then the ACK number is
	 * too old half the time, which draws a challenge ACK (RFC 5961):
	 * a working path goes unanswered about once in 1500 probes.
	 */
	memcpy(th + 4, &rnd[0], 4);
	memcpy(th + 8, &rnd[1], 4);
	th[12] = 5 << 4;
	th[13] = 0x10; /* ACK */
	th[14] = 0x01; /* window 256 */
	fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	if (ifindex > 0 && if_indextoname((unsigned)ifindex, ifname))
		setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname) + 1);
	if (family == AF_INET) {
		struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr = laddr->v4};
		struct sockaddr_in dst = {.sin_family = AF_INET, .sin_addr = raddr->v4};
		uint8_t ph[12];
		uint32_t sum;

		memcpy(ph, &laddr->v4, 4);
		memcpy(ph + 4, &raddr->v4, 4);
		ph[8] = 0, ph[9] = IPPROTO_TCP, ph[10] = 0, ph[11] = sizeof(th);
		sum = pkt_fold(pkt_sum(th, sizeof(th), pkt_sum(ph, sizeof(ph), 0)));
		th[16] = (uint8_t)(sum >> 8), th[17] = (uint8_t)sum;
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) ||
		    sendto(fd, th, sizeof(th), 0, (struct sockaddr *)&dst, sizeof(dst)) != sizeof(th))
			rc = -errno;
	} else {
		struct sockaddr_in6 src = {.sin6_family = AF_INET6, .sin6_addr = laddr->v6};
		struct sockaddr_in6 dst = {.sin6_family = AF_INET6, .sin6_addr = raddr->v6};
		int off = 16; /* the kernel fills the TCP checksum at this offset */

		if (setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &off, sizeof(off)) ||
		    bind(fd, (struct sockaddr *)&src, sizeof(src)) ||
		    sendto(fd, th, sizeof(th), 0, (struct sockaddr *)&dst, sizeof(dst)) != sizeof(th))
			rc = -errno;
	}
	close(fd);
	return rc;
}
