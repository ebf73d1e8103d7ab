// SPDX-License-Identifier: MIT
/*
 * Readiness of the backend, as the agent sees it, and the tiny TCP endpoint
 * the balancer's health checks read (`[backend] health = ADDR:PORT` in
 * `mplb lb`). It answers an HTTP/1.0 response, so curl works too:
 *   200 "ready"                  every check passes
 *   503 "not ready: <reasons>"   otherwise
 * Checks: each VIP is still on an interface here, something listens on each
 * VIP's service port, the BPF programs are attached, our MPTCP endpoints are
 * present, the C bit is still set.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server_int.h"
#include "util.h"

#define HEALTH_READ_MS 300
#define HEALTH_ACCEPT_BURST 16
/* A verdict younger than this is reused for health requests. */
#define HEALTH_FRESH_S 0.05

int srv_health_open(struct agent *a)
{
	const struct srv_cfg *cfg = &a->cfg;
	const struct srv_addr *ha;
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd, one = 1;
	char as[INET6_ADDRSTRLEN];

	a->health_fd = -1;
	if (!cfg->health_port)
		return 0;
	ha = cfg->has_health_addr ? &cfg->health_addr : &cfg->addrs[0];
	if (ha->family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;
		s->sin_family = AF_INET;
		s->sin_port = htons(cfg->health_port);
		memcpy(&s->sin_addr, ha->addr, 4);
		len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons(cfg->health_port);
		memcpy(&s->sin6_addr, ha->addr, 16);
		len = sizeof(*s);
	}
	fd = socket(ha->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64)) {
		close(fd);
		goto fail;
	}
	a->health_fd = fd;
	return 0;
fail:
	mplb_err("server: cannot open the health endpoint on %s port %u: %s", srv_addr_str(ha, as, sizeof(as)),
		 cfg->health_port, strerror(errno));
	return -1;
}

static void add_reason(char *buf, size_t len, const char *fmt, const char *arg)
{
	size_t off = strlen(buf);
	char one[160];

	snprintf(one, sizeof(one), fmt, arg);
	if (strstr(buf, one) || off + 4 >= len)
		return; /* two VIPs on one address: say it once */
	if (off)
		off += (size_t)snprintf(buf + off, len - off, "; ");
	snprintf(buf + off, len - off, "%s", one);
}

struct ep_seen {
	const struct agent *a;
	bool found[SRV_MAX_ENDPOINTS];
};

static void ep_mark(const struct mptcp_pm_nl_addr *e, void *data)
{
	struct ep_seen *s = data;

	for (int i = 0; i < s->a->n_eps; i++) {
		const struct srv_endpoint *ep = &s->a->eps[i];
		if (e->id == ep->id && e->family == ep->addr.family && e->port == ep->port &&
		    !memcmp(&e->addr, ep->addr.addr, ep->addr.family == AF_INET ? 4 : 16))
			s->found[i] = true;
	}
}

void srv_health_evaluate(struct agent *a)
{
	const struct srv_cfg *cfg = &a->cfg;
	char reasons[sizeof(a->health.reasons)] = "", ifname[16], as[INET6_ADDRSTRLEN + 8];
	struct listener *ls = calloc(1024, sizeof(*ls));
	struct ep_seen seen = {.a = a};
	int nl = ls ? tcp_listeners(ls, 1024) : 0;
	bool ready;

	for (int i = 0; i < cfg->n_vips; i++) {
		const struct srv_cfg_vip *v = &cfg->vips[i];
		srv_addr_str(&v->addr, as, sizeof(as));
		if (addr_iface(&v->addr, ifname, sizeof(ifname)))
			add_reason(reasons, sizeof(reasons), "VIP %s not configured", as);
		else if (!listener_covers(ls, nl, &v->addr, v->port))
			add_reason(reasons, sizeof(reasons), "nothing listens on VIP %s's service port",
				   as);
	}
	if (a->bpf_loaded && !srv_bpf_attached(&a->bpf))
		add_reason(reasons, sizeof(reasons), "%s", "BPF programs detached");
	if (a->n_eps) {
		if (mptcp_pm_nl_get_addr_dump(&a->pm, 0, ep_mark, &seen) < 0)
			add_reason(reasons, sizeof(reasons), "%s", "cannot list MPTCP endpoints");
		else
			for (int i = 0; i < a->n_eps; i++)
				if (!seen.found[i])
					add_reason(reasons, sizeof(reasons), "MPTCP endpoint %s missing",
						   srv_addr_str(&a->eps[i].addr, as, sizeof(as)));
	}
	if (a->c_bit) {
		char v[16];
		if (sysctl_get("net.mptcp.allow_join_initial_addr_port", v, sizeof(v)) || strcmp(v, "0"))
			add_reason(reasons, sizeof(reasons), "%s",
				   "the C bit was cleared (allow_join_initial_addr_port != 0)");
	}
	free(ls);
	ready = !reasons[0];
	if (ready != a->health.ready || !a->health.checks) {
		if (a->health.checks)
			mplb_warn("server: health: %s%s%s", ready ? "ready" : "not ready",
				  ready ? "" : ": ", reasons);
		a->health.since = now_sec();
	}
	a->health.ready = ready;
	snprintf(a->health.reasons, sizeof(a->health.reasons), "%s", reasons);
	a->health.checks++;
	a->health.evaluated = now_sec();
}

static void answer(struct agent *a, int fd)
{
	char req[512], resp[768];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n;

	/* Read what the checker sent (a request line, or nothing): bounded, never blocking the agent. */
	if (poll(&p, 1, HEALTH_READ_MS) > 0)
		(void)!recv(fd, req, sizeof(req), MSG_DONTWAIT);
	if (a->health.ready)
		n = snprintf(resp, sizeof(resp),
			     "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
			     "ready\n");
	else
		n = snprintf(resp, sizeof(resp),
			     "HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
			     "Connection: close\r\n\r\nnot ready: %s\n", a->health.reasons);
	if (n > 0)
		(void)!send(fd, resp, (size_t)n < sizeof(resp) ? (size_t)n : sizeof(resp) - 1,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
	a->health.requests++;
}

void srv_health_serve(struct agent *a)
{
	/* Answer with a fresh verdict (the periodic one may be up to a second old). */
	if (now_sec() - a->health.evaluated > HEALTH_FRESH_S)
		srv_health_evaluate(a);
	for (int i = 0; i < HEALTH_ACCEPT_BURST; i++) {
		int fd = accept4(a->health_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		answer(a, fd);
		close(fd);
	}
}
