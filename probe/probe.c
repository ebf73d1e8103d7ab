/* SPDX-License-Identifier: MIT */
/*
 * mplb probe: open MPTCP connections to a VIP, wait for the expected
 * subflows, transfer and verify every byte (protocol in probe/proto.h), and
 * report per connection which backend answered and which paths carried it.
 *
 * Join accounting. Two sources, both reported:
 *  - mptcp_pm genl events (primary, needs CAP_NET_ADMIN): a thread listens
 *    for SUB_ESTABLISHED / SUB_CLOSED during the run. Events are keyed by the
 *    connection's token (mptcpi_token) and by the subflow's address/port
 *    4-tuple. Per connection: attempted = distinct join 4-tuples seen (the
 *    initial subflow produces no SUB_* event) plus joins still pending in
 *    the final snapshot; failed = 4-tuples closed without ever being
 *    established. A join still in SYN_SENT at the end counts as pending.
 *  - MIB deltas of this network namespace over the run (/proc/net/netstat,
 *    MPTcpExt): MPJoinSynTx and friends. Netns-wide, so other traffic in the
 *    namespace is counted too; used for join_failures when events are
 *    unavailable (join attempts - MPJoinSynAckRx).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <jansson.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "mptcp_info.h"
#include "mptcp_pm_nl.h"
#include "probe/mib.h"
#include "probe/probe.h"
#include "probe/proto.h"
#include "probe/sock.h"
#include "util.h"

#define MAX_CONNS 256
#define DEFAULT_CONNS 4
#define DEFAULT_BYTES (1000 * 1000)
#define DEFAULT_SUBFLOWS 2
#define DEFAULT_TIMEOUT_S 10
#define DEFAULT_ROUNDS 100
#define SUBFLOW_POLL_MS 10
#define STATE_ESTABLISHED 1

struct probe_opts {
	bool json;
	unsigned long conns;
	uint64_t bytes;
	uint32_t mode;
	unsigned long subflows; /* established subflows expected per connection */
	unsigned long timeout_s;
	unsigned long rounds;
	unsigned long paths; /* paths expected per connection; 0 = derive */
	uint64_t seed;
	struct sockaddr_storage target, bind;
	socklen_t target_len, bind_len;
	bool have_bind;
	bool tcp; /* plain TCP instead of MPTCP (--tcp) */
	unsigned long settle_ms; /* pause between "subflows up" and the transfer */
	char target_str[INET6_ADDRSTRLEN + 8];
};

struct conn_result {
	unsigned index;
	const struct probe_opts *opts;
	int fd;
	char error[256]; /* first failure, empty when none */
	bool hello_ok;
	struct proto_hello hello;
	struct sockaddr_storage local;
	uint64_t seed;
	uint32_t token;
	bool fallback;
	bool subflows_reached; /* reached `subflows` within the wait */
	double subflow_wait_s;
	bool transfer_done; /* data phase and status completed */
	bool download_bad;
	uint64_t download_bad_offset;
	bool status_ok;
	struct proto_status status;
	uint64_t app_bytes; /* payload moved in the data phase, both directions */
	double t_start, t_end;
	bool snap_ok;
	struct mptcp_snap snap;
	unsigned paths_used;
	/* join accounting (events) */
	unsigned joins_attempted, joins_failed, joins_pending;
	bool verified;
};

/* ---- mptcp_pm event collection ---------------------------------------- */

#define JOIN_TUPLES_MAX 4096

struct join_tuple {
	uint32_t token;
	struct sockaddr_storage saddr, daddr;
	bool established, closed;
	uint8_t error;
};

static struct {
	pthread_mutex_t lock;
	struct mptcp_pm_nl pm; /* closing twice is harmless: close NULLs the sockets */
	int stop_pipe[2];
	pthread_t thread;
	bool running;
	bool lost; /* ENOBUFS or table full: counts are lower bounds */
	size_t n;
	struct join_tuple t[JOIN_TUPLES_MAX];
	char why_unavailable[200];
} events = {.lock = PTHREAD_MUTEX_INITIALIZER, .stop_pipe = {-1, -1}};

static bool same_endpoint(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port &&
	       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
}

/*
 * A subflow end of an event as a sockaddr, the key of the join table. An
 * absent address stays all-zero (family 0), so such events still group.
 */
static void event_endpoint(struct sockaddr_storage *ss, int family, bool has,
			   const union mptcp_pm_nl_inaddr *a, uint16_t port)
{
	if (has)
		mptcp_pm_nl_sockaddr(ss, family, a, port);
	else
		memset(ss, 0, sizeof(*ss));
}

/* Called with events.lock held. */
static void on_pm_event(const struct mptcp_pm_nl_event *ev, void *arg)
{
	(void)arg;
	if (ev->type != MPTCP_EVENT_SUB_ESTABLISHED && ev->type != MPTCP_EVENT_SUB_CLOSED)
		return;
	struct sockaddr_storage saddr, daddr;
	event_endpoint(&saddr, ev->family, ev->has_saddr, &ev->saddr, ev->sport);
	event_endpoint(&daddr, ev->family, ev->has_daddr, &ev->daddr, ev->dport);
	struct join_tuple *t = NULL;
	for (size_t i = 0; i < events.n; i++)
		if (events.t[i].token == ev->token && same_endpoint(&events.t[i].saddr, &saddr) &&
		    same_endpoint(&events.t[i].daddr, &daddr)) {
			t = &events.t[i];
			break;
		}
	if (!t) {
		if (events.n == JOIN_TUPLES_MAX) {
			events.lost = true;
			return;
		}
		t = &events.t[events.n++];
		memset(t, 0, sizeof(*t));
		t->token = ev->token;
		t->saddr = saddr;
		t->daddr = daddr;
	}
	if (ev->type == MPTCP_EVENT_SUB_ESTABLISHED) {
		t->established = true;
	} else {
		t->closed = true;
		if (ev->has_error)
			t->error = ev->error;
	}
	if (mplb_verbose) {
		char s[64], d[64];
		mplb_dbg("event %s token=%08x %s -> %s error=%u", mptcp_pm_nl_event_name(ev->type),
			 ev->token, addr_str(&saddr, s, sizeof(s)), addr_str(&daddr, d, sizeof(d)),
			 ev->error);
	}
}

static void events_drain(void)
{
	pthread_mutex_lock(&events.lock);
	/* Until empty: the final drain must see every join queued so far. */
	if (mptcp_pm_nl_drain_events(&events.pm, on_pm_event, NULL) < 0)
		events.lost = true;
	pthread_mutex_unlock(&events.lock);
}

static void *events_thread(void *arg)
{
	(void)arg;
	struct pollfd p[2] = {
		{.fd = mptcp_pm_nl_event_fd(&events.pm), .events = POLLIN},
		{.fd = events.stop_pipe[0], .events = POLLIN},
	};
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents)
			events_drain();
	}
	return NULL;
}

static void events_start(void)
{
	if (mptcp_pm_nl_open_events(&events.pm, events.why_unavailable,
				    sizeof(events.why_unavailable)))
		return;
	if (pipe2(events.stop_pipe, O_CLOEXEC) < 0 ||
	    pthread_create(&events.thread, NULL, events_thread, NULL)) {
		snprintf(events.why_unavailable, sizeof(events.why_unavailable),
			 "cannot start the event thread");
		mptcp_pm_nl_close(&events.pm);
		return;
	}
	events.running = true;
}

static void events_stop(void)
{
	if (events.running) {
		if (write(events.stop_pipe[1], "x", 1) < 0)
			mplb_warn("probe: cannot stop the event thread");
		pthread_join(events.thread, NULL);
		events.running = false;
	}
	for (int i = 0; i < 2; i++)
		if (events.stop_pipe[i] >= 0)
			close(events.stop_pipe[i]);
	mptcp_pm_nl_close(&events.pm);
}

static void events_account(struct conn_result *r)
{
	pthread_mutex_lock(&events.lock);
	for (size_t i = 0; i < events.n; i++) {
		const struct join_tuple *t = &events.t[i];
		if (t->token != r->token)
			continue;
		r->joins_attempted++;
		if (t->closed && !t->established)
			r->joins_failed++;
	}
	pthread_mutex_unlock(&events.lock);
	/* Joins still in progress at the snapshot have produced no event yet. */
	for (uint32_t i = 0; i < r->snap.count; i++)
		if (r->snap.sf[i].tcp_state != STATE_ESTABLISHED && i > 0)
			r->joins_pending++;
	r->joins_attempted += r->joins_pending;
}

/* ---- one connection ---------------------------------------------------- */

static void fail(struct conn_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct conn_result *r, const char *fmt, ...)
{
	if (r->error[0])
		return; /* keep the first, root cause */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
}

static const char *io_why(enum io_status st, int err, char *buf, size_t len)
{
	return io_status_str(st, err, buf, len);
}

/* Wait until `want` subflows are established or the deadline passes. */
static void wait_subflows(struct conn_result *r, unsigned want, double timeout_s)
{
	double t0 = now_sec();
	struct mptcp_snap snap;
	for (;;) {
		if (mptcp_snapshot(r->fd, &snap, false) == 0) {
			if (snap.fallback) {
				r->fallback = true;
				break;
			}
			if (snap.established >= want) {
				r->subflows_reached = true;
				break;
			}
		}
		if (now_sec() - t0 >= timeout_s)
			break;
		usleep(SUBFLOW_POLL_MS * 1000);
	}
	r->subflow_wait_s = now_sec() - t0;
}

static void run_transfer(struct conn_result *r)
{
	const struct probe_opts *o = r->opts;
	int tmo = (int)o->timeout_s * 1000, err = 0;
	char why[96];
	enum io_status st;
	struct proto_request req = {
		.mode = o->mode,
		.rounds = o->mode == PROTO_MODE_RR ? (uint32_t)o->rounds : 1,
		.bytes = o->bytes,
		.seed = r->seed,
	};
	uint64_t useed = r->seed ^ PROTO_UPLOAD_SEED_XOR, got = 0;
	uint8_t buf[PROTO_REQUEST_LEN > PROTO_STATUS_LEN ? PROTO_REQUEST_LEN : PROTO_STATUS_LEN];

	proto_encode_request(buf, &req);
	r->t_start = now_sec();
	st = io_write_full(r->fd, buf, PROTO_REQUEST_LEN, tmo, &err);
	if (st) {
		fail(r, "sending the request: %s", io_why(st, err, why, sizeof(why)));
		return;
	}
	switch (o->mode) {
	case PROTO_MODE_BULK:
		st = stream_recv_verify(r->fd, r->seed, 0, o->bytes, tmo, &err, &r->download_bad,
					&r->download_bad_offset, &got);
		r->app_bytes = got;
		if (st) {
			fail(r, "download stopped after %llu of %llu bytes: %s",
			     (unsigned long long)got, (unsigned long long)o->bytes,
			     io_why(st, err, why, sizeof(why)));
			return;
		}
		break;
	case PROTO_MODE_UPLOAD:
		st = stream_send(r->fd, useed, 0, o->bytes, UINT64_MAX, tmo, &err);
		if (st) {
			fail(r, "upload failed: %s", io_why(st, err, why, sizeof(why)));
			return;
		}
		r->app_bytes = o->bytes;
		break;
	case PROTO_MODE_RR: {
		uint64_t down = 0;
		for (uint32_t round = 0; round < req.rounds; round++) {
			st = stream_send(r->fd, useed, (uint64_t)round * PROTO_RR_REQUEST_LEN,
					 PROTO_RR_REQUEST_LEN, UINT64_MAX, tmo, &err);
			if (st) {
				fail(r, "rr round %u: sending: %s", round,
				     io_why(st, err, why, sizeof(why)));
				return;
			}
			r->app_bytes += PROTO_RR_REQUEST_LEN;
			uint64_t chunk = proto_rr_chunk(o->bytes, req.rounds, round);
			got = 0;
			st = stream_recv_verify(r->fd, r->seed, down, chunk, tmo, &err,
						&r->download_bad, &r->download_bad_offset, &got);
			r->app_bytes += got;
			if (st) {
				fail(r, "rr round %u: receiving: %s", round,
				     io_why(st, err, why, sizeof(why)));
				return;
			}
			down += chunk;
		}
		break;
	}
	}
	st = io_read_full(r->fd, buf, PROTO_STATUS_LEN, tmo, &err);
	r->t_end = now_sec();
	if (st) {
		fail(r, "reading the server's status: %s", io_why(st, err, why, sizeof(why)));
		return;
	}
	const char *bad;
	if (proto_decode_status(buf, &r->status, &bad)) {
		fail(r, "bad status message: %s", bad);
		return;
	}
	r->status_ok = true;
	r->transfer_done = true;
}

static void *run_connection(void *arg)
{
	struct conn_result *r = arg;
	const struct probe_opts *o = r->opts;
	int tmo = (int)o->timeout_s * 1000, err = 0;
	char why[96];
	enum io_status st;
	uint8_t hello[PROTO_HELLO_LEN];
	const char *bad;

	if (o->tcp)
		r->fd = socket(o->target.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			       IPPROTO_TCP);
	else
		r->fd = mptcp_socket_open(o->target.ss_family);
	if (r->fd < 0) {
		fail(r, "cannot create %s socket: %s", o->tcp ? "a TCP" : "an MPTCP", strerror(errno));
		return NULL;
	}
	if (o->have_bind && bind(r->fd, (const struct sockaddr *)&o->bind, o->bind_len) < 0) {
		char b[INET6_ADDRSTRLEN + 8];
		fail(r, "cannot bind to %s: %s", sockaddr_str((const void *)&o->bind, b, sizeof(b)),
		     strerror(errno));
		return NULL;
	}
	st = io_connect(r->fd, (const struct sockaddr *)&o->target, o->target_len, tmo, &err);
	if (st) {
		fail(r, "connect to %s failed: %s", o->target_str,
		     st == IO_TIMEOUT ? "no answer (timed out)" : io_why(st, err, why, sizeof(why)));
		return NULL;
	}
	socklen_t ll = sizeof(r->local);
	getsockname(r->fd, (struct sockaddr *)&r->local, &ll);
	st = io_read_full(r->fd, hello, sizeof(hello), tmo, &err);
	if (st) {
		fail(r, "no hello from %s: %s", o->target_str,
		     st == IO_EOF ? "server closed the connection" : io_why(st, err, why, sizeof(why)));
		return NULL;
	}
	if (proto_decode_hello(hello, &r->hello, &bad)) {
		fail(r, "bad hello from %s: %s", o->target_str, bad);
		return NULL;
	}
	r->hello_ok = true;
	struct mptcp_snap snap;
	if (!o->tcp && mptcp_snapshot(r->fd, &snap, false) == 0) {
		r->token = snap.token;
		r->fallback = snap.fallback;
	}
	if (!r->fallback && !o->tcp)
		wait_subflows(r, (unsigned)o->subflows, (double)o->timeout_s);
	/* Let the path managers finish reacting to the new subflows (MP_PRIO,
	 * announcements) so the transfer measures the settled connection. */
	if (o->settle_ms)
		usleep((useconds_t)(o->settle_ms * 1000));
	run_transfer(r);
	/* Subflow statistics right before close, after the transfer. */
	if (o->tcp) {
		/* Plain TCP by request: one "subflow", never a fallback. */
		if (tcp_snapshot(r->fd, &r->snap, true) == 0)
			r->snap_ok = true;
		else
			fail(r, "reading TCP_INFO: %s", strerror(errno));
		r->snap.fallback = false;
	} else if (mptcp_snapshot(r->fd, &r->snap, true) == 0) {
		r->snap_ok = true;
	} else {
		fail(r, "reading MPTCP_FULL_INFO: %s", strerror(errno));
	}
	if (r->snap.fallback)
		r->fallback = true;
	/* The socket stays open until main has collected the join events. */
	return NULL;
}

/* ---- evaluation and output -------------------------------------------- */

static unsigned count_paths_used(const struct mptcp_snap *s)
{
	unsigned n = 0;
	for (uint32_t i = 0; i < s->count; i++) {
		if (s->sf[i].tcp_state != STATE_ESTABLISHED)
			continue;
		bool seen = false;
		for (uint32_t j = 0; j < i; j++)
			if (s->sf[j].tcp_state == STATE_ESTABLISHED &&
			    !strcmp(s->sf[j].ifname, s->sf[i].ifname))
				seen = true;
		if (!seen)
			n++;
	}
	return n;
}

/* Non-loopback, up interfaces with an address of family (IPv6: not link-local). */
static unsigned count_uplinks(int family)
{
	struct ifaddrs *list, *a;
	char names[64][IF_NAMESIZE];
	unsigned n = 0;
	if (getifaddrs(&list) < 0)
		return 1;
	for (a = list; a; a = a->ifa_next) {
		if (!a->ifa_addr || a->ifa_addr->sa_family != family)
			continue;
		if ((a->ifa_flags & IFF_LOOPBACK) || !(a->ifa_flags & IFF_UP))
			continue;
		if (family == AF_INET6 &&
		    IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)a->ifa_addr)->sin6_addr))
			continue;
		bool seen = false;
		for (unsigned i = 0; i < n; i++)
			if (!strcmp(names[i], a->ifa_name))
				seen = true;
		if (!seen && n < 64)
			snprintf(names[n++], IF_NAMESIZE, "%s", a->ifa_name);
	}
	freeifaddrs(list);
	return n;
}

static void evaluate(struct conn_result *r)
{
	const struct probe_opts *o = r->opts;
	if (r->snap_ok)
		r->paths_used = count_paths_used(&r->snap);
	if (r->fallback)
		fail(r, "connection fell back to plain TCP (no MPTCP): is MPTCP enabled on the server "
			"and not stripped by a middlebox?");
	if (r->download_bad)
		fail(r, "download mismatch: first bad byte at offset %llu",
		     (unsigned long long)r->download_bad_offset);
	if (r->status_ok && r->status.result == PROTO_MISMATCH)
		fail(r, "server reported upload mismatch: first bad byte at offset %llu",
		     (unsigned long long)r->status.bad_offset);
	else if (r->status_ok && r->status.result != PROTO_OK)
		fail(r, "server reported status '%s'", proto_result_name(r->status.result));
	r->verified = r->transfer_done && !r->download_bad && r->status_ok &&
		      r->status.result == PROTO_OK && !r->fallback;
	if (r->hello_ok && r->snap_ok && r->snap.established < o->subflows)
		fail(r, "only %u of %lu subflows established (waited %.1f s)", r->snap.established,
		     o->subflows, r->subflow_wait_s);
}

static bool conn_ok(const struct conn_result *r)
{
	return r->verified && r->snap_ok && r->snap.established >= r->opts->subflows && !r->error[0];
}

static const char *state_name(uint8_t st)
{
	static const char *names[] = {"?", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1",
				      "FIN-WAIT-2", "TIME-WAIT", "CLOSE", "CLOSE-WAIT",
				      "LAST-ACK", "LISTEN", "CLOSING"};
	return st < ARRAY_SIZE(names) ? names[st] : "?";
}

struct summary {
	unsigned conns, verified, ok;
	unsigned long sf_expected, sf_established;
	unsigned long join_attempts, join_failures;
	unsigned long paths_used, paths_expected;
	uint64_t bytes;
	double elapsed, goodput_bps;
	const char *join_source;
	struct mib_snapshot mib_before, mib_after;
	bool mib_ok;
};

static uint64_t mib_delta(const struct summary *s, const char *name)
{
	uint64_t a = mib_get(&s->mib_after, name), b = mib_get(&s->mib_before, name);
	return a >= b ? a - b : 0;
}

static uint64_t mib_join_attempts(const struct summary *s)
{
	return mib_delta(s, "MPJoinSynTx") + mib_delta(s, "MPJoinSynTxCreatSkErr") +
	       mib_delta(s, "MPJoinSynTxBindErr") + mib_delta(s, "MPJoinSynTxConnectErr");
}

static double goodput(uint64_t bytes, double secs)
{
	return secs > 0 ? (double)bytes * 8 / secs : 0;
}

static void print_table(const struct probe_opts *o, struct conn_result *res,
			const struct summary *s)
{
	printf("probe %s  mode %s  %lu x %llu bytes  subflows expected %lu\n\n", o->target_str,
	       proto_mode_name(o->mode), o->conns, (unsigned long long)o->bytes, o->subflows);
	for (unsigned i = 0; i < o->conns; i++) {
		struct conn_result *r = &res[i];
		char local[64];
		printf("conn %u  ", i);
		if (r->hello_ok)
			printf("backend %u (%s)  ", r->hello.backend_id, r->hello.hostname);
		else
			printf("backend ?  ");
		printf("token %08x  %s -> %s  %s\n", r->token, addr_str(&r->local, local, sizeof(local)),
		       o->target_str, conn_ok(r) ? "OK" : "FAILED");
		printf("  verified %s  subflows %u/%lu  paths %u  joins %u (failed %u, pending %u)",
		       r->verified ? "yes" : "no", r->snap_ok ? r->snap.established : 0, o->subflows,
		       r->paths_used, r->joins_attempted, r->joins_failed, r->joins_pending);
		if (r->transfer_done)
			printf("  %llu bytes in %.3f s = %.1f Mbit/s",
			       (unsigned long long)r->app_bytes, r->t_end - r->t_start,
			       goodput(r->app_bytes, r->t_end - r->t_start) / 1e6);
		printf("\n");
		if (r->error[0])
			printf("  error: %s\n", r->error);
		if (r->snap_ok && r->snap.count) {
			printf("    %-3s %-40s %-40s %-10s %-9s %12s %12s\n", "id", "local", "remote",
			       "iface", "state", "tx_bytes", "rx_bytes");
			for (uint32_t k = 0; k < r->snap.count; k++) {
				const struct subflow_snap *sf = &r->snap.sf[k];
				char l[64], rm[64];
				printf("    %-3u %-40s %-40s %-10s %-9s %12llu %12llu\n", sf->id,
				       addr_str(&sf->local, l, sizeof(l)),
				       addr_str(&sf->remote, rm, sizeof(rm)), sf->ifname,
				       state_name(sf->tcp_state), (unsigned long long)sf->bytes_acked,
				       (unsigned long long)sf->bytes_received);
			}
		}
		printf("\n");
	}
	printf("summary: %u/%u connections verified, subflows %lu/%lu established, paths %lu/%lu, "
	       "joins %lu (failed %lu, via %s), %llu bytes, goodput %.1f Mbit/s",
	       s->verified, s->conns, s->sf_established, s->sf_expected, s->paths_used,
	       s->paths_expected, s->join_attempts, s->join_failures, s->join_source,
	       (unsigned long long)s->bytes, s->goodput_bps / 1e6);
	if (s->mib_ok)
		printf("  [MIB: MPJoinSynTx %llu, MPJoinSynAckRx %llu, MPJoinAckHMacFailure %llu]",
		       (unsigned long long)mib_delta(s, "MPJoinSynTx"),
		       (unsigned long long)mib_delta(s, "MPJoinSynAckRx"),
		       (unsigned long long)mib_delta(s, "MPJoinSynAckHMacFailure"));
	printf("  => %s\n", s->ok == s->conns ? "OK" : "FAILED");
}

static json_t *addr_json(const struct sockaddr_storage *ss)
{
	char b[64];
	return json_string(addr_str(ss, b, sizeof(b)));
}

static void print_json(const struct probe_opts *o, struct conn_result *res,
		       const struct summary *s)
{
	json_t *doc = json_object(), *conns = json_array();
	json_object_set_new(doc, "target", json_string(o->target_str));
	json_object_set_new(doc, "mode", json_string(proto_mode_name(o->mode)));
	json_object_set_new(doc, "transport", json_string(o->tcp ? "tcp" : "mptcp"));
	json_object_set_new(doc, "bytes_per_connection", json_integer((json_int_t)o->bytes));
	if (o->mode == PROTO_MODE_RR)
		json_object_set_new(doc, "rounds", json_integer((json_int_t)o->rounds));
	json_object_set_new(doc, "seed", json_integer((json_int_t)(o->seed & INT64_MAX)));
	for (unsigned i = 0; i < o->conns; i++) {
		struct conn_result *r = &res[i];
		json_t *c = json_object(), *sfs = json_array();
		char tok[16];
		snprintf(tok, sizeof(tok), "%08x", r->token);
		json_object_set_new(c, "index", json_integer(i));
		json_object_set_new(c, "ok", json_boolean(conn_ok(r)));
		json_object_set_new(c, "verified", json_boolean(r->verified));
		json_object_set_new(c, "error", r->error[0] ? json_string(r->error) : json_null());
		json_object_set_new(c, "backend_id",
				    r->hello_ok ? json_integer(r->hello.backend_id) : json_null());
		json_object_set_new(c, "hostname",
				    r->hello_ok ? json_string(r->hello.hostname) : json_null());
		json_object_set_new(c, "token", json_string(tok));
		json_object_set_new(c, "local", addr_json(&r->local));
		json_object_set_new(c, "remote", json_string(o->target_str));
		json_object_set_new(c, "fallback", json_boolean(r->fallback));
		json_object_set_new(c, "subflows_expected", json_integer((json_int_t)o->subflows));
		json_object_set_new(c, "subflows_established",
				    json_integer(r->snap_ok ? r->snap.established : 0));
		json_object_set_new(c, "subflows_reached_in_wait", json_boolean(r->subflows_reached));
		json_object_set_new(c, "subflow_wait_s", json_real(r->subflow_wait_s));
		json_object_set_new(c, "paths_used", json_integer(r->paths_used));
		json_object_set_new(c, "joins_attempted", json_integer(r->joins_attempted));
		json_object_set_new(c, "join_failures", json_integer(r->joins_failed));
		json_object_set_new(c, "joins_pending", json_integer(r->joins_pending));
		json_object_set_new(c, "bytes", json_integer((json_int_t)r->app_bytes));
		double dt = r->transfer_done ? r->t_end - r->t_start : 0;
		json_object_set_new(c, "transfer_s", json_real(dt));
		json_object_set_new(c, "goodput_bps", json_real(goodput(r->app_bytes, dt)));
		json_object_set_new(c, "download_bad_offset",
				    r->download_bad ? json_integer((json_int_t)r->download_bad_offset)
						    : json_null());
		if (r->status_ok) {
			json_t *st = json_pack("{s:s, s:I, s:I}", "result",
					       proto_result_name(r->status.result), "bytes_received",
					       (json_int_t)r->status.bytes_received, "bytes_sent",
					       (json_int_t)r->status.bytes_sent);
			if (r->status.result == PROTO_MISMATCH)
				json_object_set_new(st, "bad_offset",
						    json_integer((json_int_t)r->status.bad_offset));
			json_object_set_new(c, "server_status", st);
		} else {
			json_object_set_new(c, "server_status", json_null());
		}
		for (uint32_t k = 0; r->snap_ok && k < r->snap.count; k++) {
			const struct subflow_snap *sf = &r->snap.sf[k];
			json_t *j = json_object();
			json_object_set_new(j, "id", json_integer(sf->id));
			json_object_set_new(j, "local", addr_json(&sf->local));
			json_object_set_new(j, "remote", addr_json(&sf->remote));
			json_object_set_new(j, "interface", json_string(sf->ifname));
			json_object_set_new(j, "state", json_string(state_name(sf->tcp_state)));
			json_object_set_new(j, "established",
					    json_boolean(sf->tcp_state == STATE_ESTABLISHED));
			json_object_set_new(j, "tx_bytes", json_integer((json_int_t)sf->bytes_acked));
			json_object_set_new(j, "tx_wire_bytes", json_integer((json_int_t)sf->bytes_sent));
			json_object_set_new(j, "rx_bytes", json_integer((json_int_t)sf->bytes_received));
			json_object_set_new(j, "rtt_us", json_integer(sf->rtt_us));
			json_object_set_new(j, "rcv_rtt_us", json_integer(sf->rcv_rtt_us));
			json_array_append_new(sfs, j);
		}
		json_object_set_new(c, "subflows", sfs);
		json_array_append_new(conns, c);
	}
	json_object_set_new(doc, "connections", conns);

	json_t *sum = json_object();
	json_object_set_new(sum, "ok", json_boolean(s->ok == s->conns));
	json_object_set_new(sum, "connections", json_integer(s->conns));
	json_object_set_new(sum, "connections_ok", json_integer(s->ok));
	json_object_set_new(sum, "connections_verified", json_integer(s->verified));
	json_object_set_new(sum, "subflows_expected", json_integer((json_int_t)s->sf_expected));
	json_object_set_new(sum, "subflows_established",
			    json_integer((json_int_t)s->sf_established));
	json_object_set_new(sum, "join_attempts", json_integer((json_int_t)s->join_attempts));
	json_object_set_new(sum, "join_failures", json_integer((json_int_t)s->join_failures));
	json_object_set_new(sum, "join_accounting", json_string(s->join_source));
	json_object_set_new(sum, "bytes", json_integer((json_int_t)s->bytes));
	json_object_set_new(sum, "elapsed_s", json_real(s->elapsed));
	json_object_set_new(sum, "goodput_bps", json_real(s->goodput_bps));
	json_object_set_new(sum, "paths_used", json_integer((json_int_t)s->paths_used));
	json_object_set_new(sum, "paths_expected", json_integer((json_int_t)s->paths_expected));
	if (s->mib_ok) {
		json_t *mib = json_object();
		for (size_t i = 0; i < s->mib_after.count; i++) {
			uint64_t d = mib_delta(s, s->mib_after.name[i]);
			if (d)
				json_object_set_new(mib, s->mib_after.name[i],
						    json_integer((json_int_t)d));
		}
		json_object_set_new(sum, "mib_delta", mib);
		json_object_set_new(sum, "mib_join_attempts",
				    json_integer((json_int_t)mib_join_attempts(s)));
	} else {
		json_object_set_new(sum, "mib_delta", json_null());
	}
	json_object_set_new(doc, "summary", sum);
	json_dumpf(doc, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(doc);
}

/* ---- options ----------------------------------------------------------- */

static void probe_usage(FILE *f)
{
	fprintf(f,
		"usage: mplb probe [-j] [-n CONNS] [-s BYTES] [-m bulk|upload|rr] [-r ROUNDS]\n"
		"                  [--subflows N] [--paths N] [--timeout SECS] [--bind ADDR]\n"
		"                  [--seed N] [--tcp] [--settle MS] VIP:PORT\n"
		"\n"
		"Open CONNS MPTCP connections to VIP:PORT (an 'mplb serve' backend or a load\n"
		"balancer in front of some), wait until each has N established subflows, move\n"
		"BYTES per connection, verify every byte, and report the backend, subflows,\n"
		"interfaces, per-subflow bytes, joins and goodput.\n"
		"\n"
		"  -j, --json        one JSON document instead of the table\n"
		"  -n, --conns N     connections, run in parallel (default %d, max %d)\n"
		"  -s, --size BYTES  payload per connection; suffix k/M/G = 10^3/10^6/10^9\n"
		"                    (default %d)\n"
		"  -m, --mode MODE   bulk (server sends), upload (client sends), rr (ROUNDS\n"
		"                    request/response round trips) (default bulk)\n"
		"  -r, --rounds N    rr round trips (default %d)\n"
		"  --subflows N      established subflows expected per connection, initial\n"
		"                    one included (default %d)\n"
		"  --paths N         distinct local interfaces expected per connection\n"
		"                    (default: N subflows capped by the local uplinks)\n"
		"  --timeout SECS    bound for connect, subflow wait and each I/O wait (default %d)\n"
		"  --bind ADDR       local address of the initial subflow\n"
		"  --seed N          payload seed (default random; connection i uses seed+i)\n"
		"  --tcp             plain TCP instead of MPTCP (one subflow; a control, or to\n"
		"                    check what a balancer does to non-MPTCP clients)\n"
		"  --settle MS       wait MS after the subflows are up, before the transfer, so\n"
		"                    path-manager reactions (MP_PRIO, announcements) land first\n"
		"\n"
		"Exit status: 0 all connections verified with their subflows, 1 otherwise,\n"
		"2 usage error.\n",
		DEFAULT_CONNS, MAX_CONNS, DEFAULT_BYTES, DEFAULT_ROUNDS, DEFAULT_SUBFLOWS,
		DEFAULT_TIMEOUT_S);
}

static int parse_size(const char *s, uint64_t *out)
{
	char num[32];
	size_t n = strlen(s);
	unsigned long mult = 1, v;
	if (n && n < sizeof(num)) {
		switch (s[n - 1]) {
		case 'k': case 'K': mult = 1000; n--; break;
		case 'm': case 'M': mult = 1000 * 1000; n--; break;
		case 'g': case 'G': mult = 1000 * 1000 * 1000; n--; break;
		}
	}
	if (!n || n >= sizeof(num)) {
		mplb_err("--size: expected a byte count such as 4000000 or 4M, got '%s'", s);
		return -1;
	}
	memcpy(num, s, n);
	num[n] = 0;
	if (parse_uint(num, "--size", 0, PROTO_MAX_BYTES / mult, &v))
		return -1;
	*out = (uint64_t)v * mult;
	return 0;
}

static int parse_probe_args(int argc, char **argv, struct probe_opts *o)
{
	enum { OPT_SUBFLOWS = 256, OPT_PATHS, OPT_TIMEOUT, OPT_BIND, OPT_SEED, OPT_TCP, OPT_SETTLE };
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"conns", required_argument, NULL, 'n'},
		{"size", required_argument, NULL, 's'},
		{"mode", required_argument, NULL, 'm'},
		{"rounds", required_argument, NULL, 'r'},
		{"subflows", required_argument, NULL, OPT_SUBFLOWS},
		{"paths", required_argument, NULL, OPT_PATHS},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"bind", required_argument, NULL, OPT_BIND},
		{"seed", required_argument, NULL, OPT_SEED},
		{"tcp", no_argument, NULL, OPT_TCP},
		{"settle", required_argument, NULL, OPT_SETTLE},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	unsigned long v;
	int c, m;
	bool have_seed = false, have_subflows = false;

	*o = (struct probe_opts){
		.conns = DEFAULT_CONNS, .bytes = DEFAULT_BYTES, .mode = PROTO_MODE_BULK,
		.subflows = DEFAULT_SUBFLOWS, .timeout_s = DEFAULT_TIMEOUT_S,
		.rounds = DEFAULT_ROUNDS,
	};
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jn:s:m:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': o->json = true; break;
		case 'n':
			if (parse_uint(optarg, "--conns", 1, MAX_CONNS, &o->conns))
				return 2;
			break;
		case 's':
			if (parse_size(optarg, &o->bytes))
				return 2;
			break;
		case 'm':
			if ((m = proto_mode_parse(optarg)) < 0) {
				mplb_err("--mode: expected bulk, upload or rr, got '%s'", optarg);
				return 2;
			}
			o->mode = (uint32_t)m;
			break;
		case 'r':
			if (parse_uint(optarg, "--rounds", 1, PROTO_MAX_ROUNDS, &o->rounds))
				return 2;
			break;
		case OPT_SUBFLOWS:
			/* The kernel allows at most 8 additional subflows. */
			if (parse_uint(optarg, "--subflows", 1, 9, &o->subflows))
				return 2;
			have_subflows = true;
			break;
		case OPT_TCP:
			o->tcp = true;
			break;
		case OPT_SETTLE:
			if (parse_uint(optarg, "--settle", 0, 60000, &o->settle_ms))
				return 2;
			break;
		case OPT_PATHS:
			if (parse_uint(optarg, "--paths", 1, 64, &o->paths))
				return 2;
			break;
		case OPT_TIMEOUT:
			if (parse_uint(optarg, "--timeout", 1, 3600, &o->timeout_s))
				return 2;
			break;
		case OPT_BIND:
			if (parse_sockaddr(optarg, false, &o->bind, &o->bind_len))
				return 2;
			o->have_bind = true;
			break;
		case OPT_SEED:
			if (parse_uint(optarg, "--seed", 0, ULONG_MAX, &v))
				return 2;
			o->seed = v;
			have_seed = true;
			break;
		case 'h':
			probe_usage(stdout);
			return -1;
		case ':':
			mplb_err("probe: option '%s' needs a value", argv[optind - 1]);
			probe_usage(stderr);
			return 2;
		default:
			mplb_err("probe: unknown option '%s'", argv[optind - 1]);
			probe_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		mplb_err(optind >= argc ? "probe: missing VIP:PORT" : "probe: too many arguments");
		probe_usage(stderr);
		return 2;
	}
	if (parse_sockaddr(argv[optind], true, &o->target, &o->target_len))
		return 2;
	if (o->tcp) {
		if (have_subflows && o->subflows != 1) {
			mplb_err("probe: --tcp opens one TCP connection: --subflows must be 1");
			return 2;
		}
		o->subflows = 1;
	}
	sockaddr_str((const struct sockaddr *)&o->target, o->target_str, sizeof(o->target_str));
	if (o->have_bind && o->bind.ss_family != o->target.ss_family) {
		char b[INET6_ADDRSTRLEN + 8];
		mplb_err("--bind %s and %s are of different address families",
			 sockaddr_str((const struct sockaddr *)&o->bind, b, sizeof(b)), o->target_str);
		return 2;
	}
	if (o->mode == PROTO_MODE_RR && o->rounds > o->bytes && o->bytes) {
		/* Fine for the protocol; only the remainder round carries data. */
		mplb_dbg("rr: fewer bytes than rounds; most responses are empty");
	}
	if (!have_seed && getrandom(&o->seed, sizeof(o->seed), 0) != sizeof(o->seed))
		o->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	o->seed &= INT64_MAX; /* printable as a JSON integer */
	return 0;
}

int cmd_probe(int argc, char **argv)
{
	struct probe_opts o;
	int rc = parse_probe_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	signal(SIGPIPE, SIG_IGN);
	/* Check MPTCP once, so that a missing feature is one clear message. */
	if (!o.tcp) {
		int probe_fd = mptcp_socket_open(o.target.ss_family);
		if (probe_fd < 0)
			return 1;
		close(probe_fd);
	}

	struct conn_result *res = calloc(o.conns, sizeof(*res));
	pthread_t *tids = calloc(o.conns, sizeof(*tids));
	if (!res || !tids) {
		mplb_err("probe: out of memory");
		free(res);
		free(tids);
		return 1;
	}
	struct summary s = {.conns = (unsigned)o.conns};
	s.mib_ok = mib_read(&s.mib_before) == 0;
	events_start();
	bool have_events = events.running;
	if (!have_events)
		mplb_dbg("probe: no mptcp_pm events (%s); join accounting from MIB counters",
			 events.why_unavailable);

	double t0 = now_sec();
	for (unsigned i = 0; i < o.conns; i++) {
		res[i] = (struct conn_result){.index = i, .opts = &o, .fd = -1, .seed = o.seed + i};
		if (pthread_create(&tids[i], NULL, run_connection, &res[i])) {
			fail(&res[i], "cannot start a thread: %s", strerror(errno));
			tids[i] = 0;
		}
	}
	for (unsigned i = 0; i < o.conns; i++)
		if (tids[i])
			pthread_join(tids[i], NULL);
	s.elapsed = now_sec() - t0;

	/* Collect queued join events while the connections still exist. */
	if (events.running)
		events_drain();
	double first = 0, last = 0;
	for (unsigned i = 0; i < o.conns; i++) {
		struct conn_result *r = &res[i];
		if (events.running && r->snap_ok)
			events_account(r);
		evaluate(r);
		s.verified += r->verified;
		s.ok += conn_ok(r);
		s.sf_expected += o.subflows;
		s.sf_established += r->snap_ok ? r->snap.established : 0;
		s.join_attempts += r->joins_attempted;
		s.join_failures += r->joins_failed;
		s.paths_used += r->paths_used;
		s.bytes += r->app_bytes;
		if (r->transfer_done) {
			if (!first || r->t_start < first)
				first = r->t_start;
			if (r->t_end > last)
				last = r->t_end;
		}
	}
	for (unsigned i = 0; i < o.conns; i++)
		if (res[i].fd >= 0)
			close(res[i].fd);
	events_stop();
	if (s.mib_ok)
		s.mib_ok = mib_read(&s.mib_after) == 0;
	s.goodput_bps = goodput(s.bytes, last - first);
	unsigned long paths = o.paths;
	if (!paths) {
		unsigned up = count_uplinks(o.target.ss_family);
		paths = o.subflows < up ? o.subflows : (up ? up : 1);
	}
	s.paths_expected = paths * o.conns;
	if (have_events) {
		s.join_source = events.lost ? "pm-events (some lost)" : "pm-events";
	} else if (s.mib_ok) {
		s.join_source = "mib";
		uint64_t att = mib_join_attempts(&s), okj = mib_delta(&s, "MPJoinSynAckRx");
		s.join_attempts = att;
		s.join_failures = att > okj ? att - okj : 0;
	} else {
		s.join_source = "none";
	}

	if (o.json)
		print_json(&o, res, &s);
	else
		print_table(&o, res, &s);
	fflush(stdout);
	for (unsigned i = 0; i < o.conns; i++)
		if (!conn_ok(&res[i]))
			mplb_err("probe: connection %u: %s", i,
				 res[i].error[0] ? res[i].error : "not verified");
	rc = s.ok == s.conns ? 0 : 1;
	if (rc)
		mplb_err("probe: %u of %u connections failed", s.conns - s.ok, s.conns);
	free(res);
	free(tids);
	return rc;
}
