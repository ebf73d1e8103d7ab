// SPDX-License-Identifier: MIT
/*
 * Token sync, the receiving side (lb_sync.h; wire format and its security
 * in include/mplb/token_sync.h). Every accepted entry goes straight into the
 * data plane's maps: token_sync (pushed tokens, a hash nobody else writes)
 * and join_flows. Replay state and counters live in the pinned sync_peers
 * map, so a restarted balancer refuses what it refused before.
 */
#include "lb_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/lb.skel.h"
#include "lb_evict.h"
#include "lb_runtime.h"
#include "token_sync.h"
#include "util.h"

#define SYNC_SWEEP_PERIOD_S 1.0

struct lb_sync {
	struct lb_runtime *rt;
	int fds[LB_CFG_MAX_SYNCS];
	int n_fds;
	uint8_t keys[MPLB_MAX_BACKENDS][SYNC_KEY_LEN];
	uint32_t ttl_s, max_skew_s;
	int fd_tokens, fd_flows, fd_peers;
	double next_sweep;
	unsigned long long swept;
	unsigned long long flows_in, flows_out; /* join_flows entries written by this message */
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void derive_keys(struct lb_sync *s, const struct lb_cfg *cfg)
{
	for (uint32_t id = 0; id < MPLB_MAX_BACKENDS; id++)
		sync_key_derive(cfg->sync_key, id, s->keys[id]);
	s->ttl_s = cfg->sync_ttl_s;
	s->max_skew_s = cfg->sync_max_skew_s;
}

struct lb_sync *lb_sync_open(const struct lb_cfg *cfg, struct lb_runtime *rt)
{
	struct lb_sync *s;
	char a[80];

	if (!cfg->n_syncs)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->rt = rt;
	s->fd_tokens = bpf_map__fd(rt->skel->maps.token_sync);
	s->fd_flows = bpf_map__fd(rt->skel->maps.join_flows);
	s->fd_peers = bpf_map__fd(rt->skel->maps.sync_peers);
	derive_keys(s, cfg);
	for (int i = 0; i < cfg->n_syncs; i++) {
		const struct sockaddr_storage *ss = &cfg->syncs[i];
		socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							  : sizeof(struct sockaddr_in);
		int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
		int rcvbuf = 4 << 20;

		sockaddr_str((const struct sockaddr *)ss, a, sizeof(a));
		if (fd >= 0) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			/* Refresh bursts from many backends: room for thousands of datagrams. */
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		}
		if (fd < 0 || bind(fd, (const struct sockaddr *)ss, len)) {
			mplb_err("lb: [sync] listen %s: %s%s", a, strerror(errno),
				 errno == EADDRNOTAVAIL ? " (not an address of this host)" : "");
			if (fd >= 0)
				close(fd);
			lb_sync_close(s);
			return NULL;
		}
		s->fds[s->n_fds++] = fd;
	}
	s->next_sweep = now_sec() + SYNC_SWEEP_PERIOD_S;
	printf("mplb lb: token sync: listening on");
	for (int i = 0; i < cfg->n_syncs; i++)
		printf(" %s", sockaddr_str((const struct sockaddr *)&cfg->syncs[i], a, sizeof(a)));
	printf(" (hold %u ms, ttl %u s)\n", cfg->token_hold_ms, cfg->sync_ttl_s);
	fflush(stdout);
	return s;
}

void lb_sync_close(struct lb_sync *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n_fds; i++)
		close(s->fds[i]);
	free(s);
}

void lb_sync_reconfigure(struct lb_sync *s, const struct lb_cfg *cfg)
{
	if (s && cfg->has_sync_key)
		derive_keys(s, cfg);
}

int lb_sync_fd(const struct lb_sync *s)
{
	return s && s->n_fds ? s->fds[0] : -1;
}

static void peer_get(struct lb_sync *s, uint32_t id, struct sync_peer *p)
{
	memset(p, 0, sizeof(*p));
	bpf_map_lookup_elem(s->fd_peers, &id, p);
}

static void peer_put(struct lb_sync *s, uint32_t id, const struct sync_peer *p)
{
	bpf_map_update_elem(s->fd_peers, &id, p, BPF_ANY);
}

static void reject(struct lb_sync *s, uint32_t id, enum sync_reject why)
{
	struct sync_peer p;

	if (id >= MPLB_MAX_BACKENDS)
		id = MPLB_MAX_BACKENDS; /* the slot for what no id can own */
	peer_get(s, id, &p);
	p.rejected[why]++;
	peer_put(s, id, &p);
}

static void apply_entry(struct lb_sync *s, uint32_t id, const struct sync_entry *e,
			struct sync_peer *p, uint64_t now)
{
	struct token_entry te = {0}, cur;
	struct flow_entry fe = {0}, fcur;

	switch (e->op) {
	case SYNC_OP_TOKEN_ADD:
		if (bpf_map_lookup_elem(s->fd_tokens, &e->token, &cur) == 0) {
			if (cur.backend_id != id) {
				/* Two backends own one token: no join can be routed right. */
				cur.flags |= TOKEN_F_COLLIDED;
				if (cur.collisions < 0xffff)
					cur.collisions++;
				p->collisions++;
			}
			cur.learned_ns = now; /* refresh: the TTL counts from here */
			bpf_map_update_elem(s->fd_tokens, &e->token, &cur, BPF_EXIST);
			break;
		}
		te.learned_ns = now;
		te.backend_id = id;
		if (bpf_map_update_elem(s->fd_tokens, &e->token, &te, BPF_NOEXIST) && errno == E2BIG)
			p->table_full++;
		break;
	case SYNC_OP_TOKEN_DEL:
		if (bpf_map_lookup_elem(s->fd_tokens, &e->token, &cur) == 0 && cur.backend_id == id &&
		    !(cur.flags & TOKEN_F_COLLIDED))
			bpf_map_delete_elem(s->fd_tokens, &e->token);
		break;
	case SYNC_OP_FLOW_ADD:
		/* An entry in counted as one (lb_evict.h): insert, or else overwrite. */
		fe.created_ns = now;
		fe.backend_id = id;
		if (bpf_map_update_elem(s->fd_flows, &e->flow, &fe, BPF_NOEXIST) == 0)
			s->flows_in++;
		else
			bpf_map_update_elem(s->fd_flows, &e->flow, &fe, BPF_EXIST);
		break;
	case SYNC_OP_FLOW_DEL:
		if (bpf_map_lookup_elem(s->fd_flows, &e->flow, &fcur) == 0 && fcur.backend_id == id &&
		    bpf_map_delete_elem(s->fd_flows, &e->flow) == 0)
			s->flows_out++;
		break;
	default:
		break; /* an op of a later version: ignored, the rest still counts */
	}
}

static void handle(struct lb_sync *s, const uint8_t *buf, size_t len)
{
	struct sync_hdr h;
	struct sync_peer p;
	uint64_t now_real = clock_ns(CLOCK_REALTIME), now = clock_ns(CLOCK_MONOTONIC);
	uint64_t skew = (uint64_t)s->max_skew_s * 1000000000ull;
	int n = sync_msg_parse(buf, len, &h);

	if (n < 0) {
		reject(s, MPLB_MAX_BACKENDS, SYNC_REJ_MALFORMED);
		return;
	}
	if (h.backend_id >= MPLB_MAX_BACKENDS) {
		reject(s, h.backend_id, SYNC_REJ_BACKEND);
		return;
	}
	if (!sync_msg_mac_ok(buf, len, s->keys[h.backend_id])) {
		reject(s, h.backend_id, SYNC_REJ_MAC);
		return;
	}
	if (h.sent_ns + skew < now_real || h.sent_ns > now_real + skew) {
		reject(s, h.backend_id, SYNC_REJ_STALE);
		return;
	}
	peer_get(s, h.backend_id, &p);
	if (h.epoch < p.epoch || (h.epoch == p.epoch && h.seq <= p.seq)) {
		p.rejected[SYNC_REJ_REPLAY]++;
		peer_put(s, h.backend_id, &p);
		return;
	}
	p.epoch = h.epoch;
	p.seq = h.seq;
	p.last_rx_ns = now;
	p.messages++;
	p.entries += (uint64_t)n;
	for (int i = 0; i < n; i++) {
		struct sync_entry e;
		sync_msg_entry(buf, (unsigned)i, &e);
		apply_entry(s, h.backend_id, &e, &p, now);
	}
	peer_put(s, h.backend_id, &p);
	lb_stat_add(s->rt->skel, LB_STAT_EV_FLOW_PUSHED, s->flows_in);
	lb_stat_add(s->rt->skel, LB_STAT_EV_FLOW_DELETED, s->flows_out);
	s->flows_in = s->flows_out = 0;
}

/* Pushed tokens that no refresh renewed within ttl_s: their connection is gone. */
static void sweep(struct lb_sync *s)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC), ttl = (uint64_t)s->ttl_s * 1000000000ull;
	__u32 cur, next, *prev = NULL;
	struct token_entry te;
	__u32 dead[1024];
	int n = 0;

	while (bpf_map_get_next_key(s->fd_tokens, prev, &next) == 0) {
		cur = next;
		prev = &cur;
		if (bpf_map_lookup_elem(s->fd_tokens, &cur, &te) == 0 && now - te.learned_ns > ttl) {
			dead[n++] = cur;
			if (n == (int)ARRAY_SIZE(dead))
				break; /* the rest next round */
		}
	}
	unsigned long long swept = 0;
	for (int i = 0; i < n; i++)
		if (bpf_map_delete_elem(s->fd_tokens, &dead[i]) == 0)
			swept++;
	s->swept += swept;
	/* lb_stats event token_swept: lb stats and /metrics show it, as long as the counters live. */
	lb_stat_add(s->rt->skel, LB_STAT_EV_TOKEN_SWEPT, swept);
}

void lb_sync_process(struct lb_sync *s)
{
	uint8_t buf[2048];

	if (!s)
		return;
	for (int i = 0; i < s->n_fds; i++) {
		for (int k = 0; k < 4096; k++) { /* bounded: health checks and signals get their turn */
			ssize_t r = recv(s->fds[i], buf, sizeof(buf), MSG_TRUNC);
			if (r < 0)
				break;
			if ((size_t)r > sizeof(buf)) {
				reject(s, MPLB_MAX_BACKENDS, SYNC_REJ_MALFORMED);
				continue;
			}
			handle(s, buf, (size_t)r);
		}
	}
	if (now_sec() >= s->next_sweep) {
		sweep(s);
		s->next_sweep = now_sec() + SYNC_SWEEP_PERIOD_S;
	}
}

void lb_sync_wait(struct lb_sync *s, long usec)
{
	double end = now_sec() + usec / 1e6;

	if (!s) {
		usleep((useconds_t)usec);
		return;
	}
	for (;;) {
		struct pollfd p[LB_CFG_MAX_SYNCS];
		double left = end - now_sec();
		if (left <= 0)
			break;
		for (int i = 0; i < s->n_fds; i++)
			p[i] = (struct pollfd){.fd = s->fds[i], .events = POLLIN};
		int rc = poll(p, (nfds_t)s->n_fds, (int)(left * 1000) + 1);
		if (rc < 0)
			break; /* a signal: the caller looks at its flags */
		lb_sync_process(s);
	}
}
