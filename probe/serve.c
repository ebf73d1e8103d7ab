/* SPDX-License-Identifier: MIT */
/*
 * mplb serve: the backend application for probes. Listens on MPTCP sockets,
 * greets every connection with its backend id (protocol in probe/proto.h),
 * serves one request per connection in its own thread and logs one line
 * (or one JSON object) per connection.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "probe/probe.h"
#include "probe/proto.h"
#include "probe/sock.h"
#include "util.h"

#define MAX_LISTEN 8
#define DEFAULT_MAX_CONNS 256
#define DEFAULT_IDLE_TIMEOUT_S 30
/* After SIGINT/SIGTERM, how long running connections get to finish. */
#define SHUTDOWN_GRACE_MS 2000
/* --log-rtt: period of the RTT samples averaged over a connection's data phase. */
#define RTT_SAMPLE_MS 20

struct serve_cfg {
	uint32_t backend_id;
	bool json;
	uint64_t corrupt_at; /* test hook: UINT64_MAX = off */
	int idle_timeout_ms;
	unsigned long max_conns;
	bool log_rtt; /* per-subflow RTT estimates in the log line (--log-rtt) */
	char hostname[PROTO_HOSTNAME_LEN];
};

struct conn_job {
	const struct serve_cfg *cfg;
	int fd;
	struct sockaddr_storage peer, local;
};

static atomic_int active_conns;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void serve_usage(FILE *f)
{
	fprintf(f,
		"usage: mplb serve [--id N] [--listen ADDR:PORT]... [-j] [--max-conns N]\n"
		"                  [--idle-timeout SECS] [--log-rtt]\n"
		"\n"
		"MPTCP backend for 'mplb probe'. Greets each connection with its backend id\n"
		"and hostname, then serves one bulk/upload/rr request (see probe/proto.h).\n"
		"\n"
		"  --id N              backend id sent in the hello (default 0)\n"
		"  --listen ADDR:PORT  listen address, repeatable (default [::]:80, dual-stack)\n"
		"  -j, --json          one JSON object per line instead of text\n"
		"  --max-conns N       concurrent connections served (default %d; more are closed)\n"
		"  --idle-timeout S    drop a connection idle for S seconds (default %d)\n"
		"  --log-rtt           log each subflow's RTT estimates (tcpi_rtt, tcpi_rcv_rtt)\n"
		"                      after the data phase, and their means over it (sampled\n"
		"                      every %d ms)\n"
		"\n"
		"Runs until SIGINT/SIGTERM, then exits 0.\n"
		"Test hook (not for production): --corrupt-at OFFSET flips the byte at OFFSET\n"
		"of the download stream (bulk/rr), so probes must report that offset.\n",
		DEFAULT_MAX_CONNS, DEFAULT_IDLE_TIMEOUT_S, RTT_SAMPLE_MS);
}

static void log_text_or_json(const struct serve_cfg *cfg, json_t *obj, const char *text)
{
	pthread_mutex_lock(&log_lock);
	if (cfg->json) {
		char *s = json_dumps(obj, JSON_COMPACT);
		if (s) {
			puts(s);
			free(s);
		}
	} else {
		puts(text);
	}
	fflush(stdout);
	pthread_mutex_unlock(&log_lock);
}

/* Outcome of serving one connection, for the log line. */
struct conn_outcome {
	struct proto_request req;
	bool have_req;
	struct proto_status status;
	bool mismatch;
	const char *error; /* static text, or NULL */
	char error_buf[160];
	uint32_t subflows;
	double started;
	bool have_snap;
	struct mptcp_snap snap; /* after the data phase (--log-rtt) */
	/* --log-rtt: RTT estimates averaged over the data phase (sampled every RTT_SAMPLE_MS) */
	double rtt_sum, rcv_rtt_sum;
	unsigned rtt_n, rcv_rtt_n;
};

struct rtt_sampler {
	int fd;
	atomic_bool stop;
	struct conn_outcome *o;
};

/*
 * The kernel's estimates move with the queue they measure; one value read at
 * the end depends on where the queue happened to be. A time average over the
 * transfer compares connections that share a bottleneck fairly.
 */
static void *rtt_sampler_thread(void *arg)
{
	struct rtt_sampler *rs = arg;

	while (!atomic_load(&rs->stop)) {
		struct mptcp_snap snap;
		int rc = mptcp_snapshot(rs->fd, &snap, false);
		if (rc || snap.fallback)
			rc = tcp_snapshot(rs->fd, &snap, false);
		for (uint32_t i = 0; rc == 0 && i < snap.count; i++) {
			if (snap.sf[i].tcp_state != 1)
				continue;
			if (snap.sf[i].rtt_us) {
				rs->o->rtt_sum += snap.sf[i].rtt_us;
				rs->o->rtt_n++;
			}
			if (snap.sf[i].rcv_rtt_us) {
				rs->o->rcv_rtt_sum += snap.sf[i].rcv_rtt_us;
				rs->o->rcv_rtt_n++;
			}
		}
		usleep(RTT_SAMPLE_MS * 1000);
	}
	return NULL;
}

static void set_io_error(struct conn_outcome *o, const char *during, enum io_status st, int err)
{
	char why[96];
	snprintf(o->error_buf, sizeof(o->error_buf), "%s: %s", during,
		 io_status_str(st, err, why, sizeof(why)));
	o->error = o->error_buf;
}

static void serve_request(const struct serve_cfg *cfg, int fd, struct conn_outcome *o)
{
	const struct proto_request *req = &o->req;
	uint64_t useed = req->seed ^ PROTO_UPLOAD_SEED_XOR;
	struct proto_status *s = &o->status;
	int tmo = cfg->idle_timeout_ms, err = 0;
	enum io_status st = IO_OK;

	switch (req->mode) {
	case PROTO_MODE_BULK:
		st = stream_send(fd, req->seed, 0, req->bytes, cfg->corrupt_at, tmo, &err);
		if (st) {
			set_io_error(o, "sending", st, err);
			s->result = PROTO_SHORT;
			return;
		}
		s->bytes_sent = req->bytes;
		break;
	case PROTO_MODE_UPLOAD: {
		bool bad = false;
		st = stream_recv_verify(fd, useed, 0, req->bytes, tmo, &err, &bad,
					&s->bad_offset, &s->bytes_received);
		if (bad) {
			s->result = PROTO_MISMATCH;
			o->mismatch = true;
		}
		if (st) {
			set_io_error(o, "receiving upload", st, err);
			if (!bad)
				s->result = PROTO_SHORT;
		}
		break;
	}
	case PROTO_MODE_RR: {
		uint64_t down_off = 0;
		bool bad = false;
		for (uint32_t r = 0; r < req->rounds; r++) {
			uint64_t at;
			st = stream_recv_verify(fd, useed, (uint64_t)r * PROTO_RR_REQUEST_LEN,
						PROTO_RR_REQUEST_LEN, tmo, &err, &bad, &at,
						&s->bytes_received);
			if (bad && !o->mismatch) {
				o->mismatch = true;
				s->bad_offset = at;
				s->result = PROTO_MISMATCH;
			}
			if (st) {
				set_io_error(o, "receiving rr request", st, err);
				if (!o->mismatch)
					s->result = PROTO_SHORT;
				return;
			}
			uint64_t chunk = proto_rr_chunk(req->bytes, req->rounds, r);
			st = stream_send(fd, req->seed, down_off, chunk, cfg->corrupt_at, tmo, &err);
			if (st) {
				set_io_error(o, "sending rr response", st, err);
				s->result = PROTO_SHORT;
				return;
			}
			down_off += chunk;
			s->bytes_sent += chunk;
		}
		break;
	}
	}
}

static void serve_connection(const struct conn_job *job)
{
	const struct serve_cfg *cfg = job->cfg;
	struct conn_outcome o = {.started = now_sec()};
	uint8_t buf[PROTO_HELLO_LEN];
	struct proto_hello hello = {.backend_id = cfg->backend_id};
	const char *why = NULL;
	int err = 0;
	enum io_status st;

	memcpy(hello.hostname, cfg->hostname, sizeof(hello.hostname));
	proto_encode_hello(buf, &hello);
	st = io_write_full(job->fd, buf, PROTO_HELLO_LEN, cfg->idle_timeout_ms, &err);
	if (st) {
		set_io_error(&o, "sending hello", st, err);
		goto out;
	}
	st = io_read_full(job->fd, buf, PROTO_REQUEST_LEN, cfg->idle_timeout_ms, &err);
	if (st) {
		set_io_error(&o, "reading request", st, err);
		goto out;
	}
	if (proto_decode_request(buf, &o.req, &why)) {
		snprintf(o.error_buf, sizeof(o.error_buf), "bad request: %s", why);
		o.error = o.error_buf;
		o.status.result = PROTO_BAD_REQUEST;
	} else {
		struct rtt_sampler rs = {.fd = job->fd, .o = &o};
		pthread_t sampler;
		bool sampling = cfg->log_rtt &&
				pthread_create(&sampler, NULL, rtt_sampler_thread, &rs) == 0;
		o.have_req = true;
		serve_request(cfg, job->fd, &o);
		if (sampling) {
			atomic_store(&rs.stop, true);
			pthread_join(sampler, NULL);
		}
	}

	struct mptcp_snap snap;
	int snap_rc = mptcp_snapshot(job->fd, &snap, false);
	/* A client without MPTCP (fallback): the TCP connection is the one "subflow". */
	if (snap_rc || snap.fallback)
		snap_rc = tcp_snapshot(job->fd, &snap, false);
	if (snap_rc == 0) {
		o.subflows = snap.established;
		if (cfg->log_rtt) {
			o.snap = snap;
			o.have_snap = true;
		}
	}

	/* Tell the client the verdict even when the data phase went wrong. */
	uint8_t sbuf[PROTO_STATUS_LEN];
	proto_encode_status(sbuf, &o.status);
	st = io_write_full(job->fd, sbuf, sizeof(sbuf), cfg->idle_timeout_ms, &err);
	if (st && !o.error)
		set_io_error(&o, "sending status", st, err);
	if (!st) {
		/* The client closes first (after reading its subflow stats); wait for it. */
		uint8_t drain[256];
		while (io_read_full(job->fd, drain, sizeof(drain), cfg->idle_timeout_ms, &err) == IO_OK)
			;
	}
out:;
	char peer[INET6_ADDRSTRLEN + 8], local[INET6_ADDRSTRLEN + 8];
	addr_str(&job->peer, peer, sizeof(peer));
	addr_str(&job->local, local, sizeof(local));
	double dur = now_sec() - o.started;
	const char *result = o.error && o.status.result == PROTO_OK ? "error" :
			     proto_result_name(o.status.result);
	char text[512];
	int n = snprintf(text, sizeof(text),
			 "conn %s -> %s backend=%u mode=%s bytes=%llu sent=%llu received=%llu "
			 "subflows=%u result=%s",
			 peer, local, cfg->backend_id,
			 o.have_req ? proto_mode_name(o.req.mode) : "-",
			 (unsigned long long)o.req.bytes,
			 (unsigned long long)o.status.bytes_sent,
			 (unsigned long long)o.status.bytes_received, o.subflows, result);
	if (o.mismatch && n > 0 && (size_t)n < sizeof(text))
		n += snprintf(text + n, sizeof(text) - n, " bad_offset=%llu",
			      (unsigned long long)o.status.bad_offset);
	if (o.error && n > 0 && (size_t)n < sizeof(text))
		n += snprintf(text + n, sizeof(text) - n, " error=\"%s\"", o.error);
	if (n > 0 && (size_t)n < sizeof(text))
		n += snprintf(text + n, sizeof(text) - n, " duration=%.3fs", dur);
	for (uint32_t i = 0; o.have_snap && i < o.snap.count && n > 0 && (size_t)n < sizeof(text); i++)
		n += snprintf(text + n, sizeof(text) - n, " sf%u_rtt_us=%u sf%u_rcv_rtt_us=%u", i,
			      o.snap.sf[i].rtt_us, i, o.snap.sf[i].rcv_rtt_us);

	json_t *obj = NULL;
	if (cfg->json) {
		obj = json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:f}",
				"event", "connection", "backend_id", (json_int_t)cfg->backend_id,
				"peer", peer, "local", local, "mode",
				o.have_req ? proto_mode_name(o.req.mode) : "-",
				"bytes", (json_int_t)o.req.bytes,
				"sent", (json_int_t)o.status.bytes_sent,
				"received", (json_int_t)o.status.bytes_received,
				"subflows", (json_int_t)o.subflows, "result", result,
				"duration_s", dur);
		if (obj && o.mismatch)
			json_object_set_new(obj, "bad_offset", json_integer((json_int_t)o.status.bad_offset));
		if (obj && o.error)
			json_object_set_new(obj, "error", json_string(o.error));
		if (obj && o.have_snap) {
			json_t *arr = json_array();
			for (uint32_t i = 0; i < o.snap.count; i++) {
				const struct subflow_snap *sf = &o.snap.sf[i];
				char l[64], r[64];
				json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I, s:I}", "local",
					addr_str(&sf->local, l, sizeof(l)), "remote",
					addr_str(&sf->remote, r, sizeof(r)), "rtt_us", (json_int_t)sf->rtt_us,
					"rttvar_us", (json_int_t)sf->rttvar_us, "rcv_rtt_us",
					(json_int_t)sf->rcv_rtt_us));
			}
			json_object_set_new(obj, "transport",
					    json_string(o.snap.fallback ? "tcp" : "mptcp"));
			json_object_set_new(obj, "rtt_mean_us",
					    json_integer(o.rtt_n ? (json_int_t)(o.rtt_sum / o.rtt_n) : 0));
			json_object_set_new(obj, "rcv_rtt_mean_us",
					    json_integer(o.rcv_rtt_n ? (json_int_t)(o.rcv_rtt_sum / o.rcv_rtt_n) : 0));
			json_object_set_new(obj, "subflow_rtt", arr);
		}
	}
	log_text_or_json(cfg, obj, text);
	json_decref(obj);
}

static void *conn_thread(void *arg)
{
	struct conn_job *job = arg;
	serve_connection(job);
	close(job->fd);
	free(job);
	atomic_fetch_sub(&active_conns, 1);
	return NULL;
}

static void explain_bind_error(const char *addr, int e)
{
	switch (e) {
	case EADDRINUSE:
		mplb_err("cannot listen on %s: %s; another program holds that port "
			 "(see: ss -ltnp), or [::] already covers IPv4 here (dual-stack); "
			 "stop it or pick another --listen ADDR:PORT", addr, strerror(e));
		break;
	case EADDRNOTAVAIL:
		mplb_err("cannot listen on %s: %s; that address is not configured in this "
			 "network namespace (see: ip addr); use one that is, or [::]:PORT",
			 addr, strerror(e));
		break;
	case EACCES:
		mplb_err("cannot listen on %s: %s; ports below 1024 need root "
			 "(CAP_NET_BIND_SERVICE): use sudo or a port >= 1024", addr, strerror(e));
		break;
	default:
		mplb_err("cannot listen on %s: %s", addr, strerror(e));
	}
}

static int open_listener(const struct sockaddr_storage *ss, socklen_t len)
{
	char name[INET6_ADDRSTRLEN + 8];
	int one = 1, zero = 0;
	sockaddr_str((const struct sockaddr *)ss, name, sizeof(name));
	int fd = mptcp_socket_open(ss->ss_family);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Dual-stack: one [::] listener also takes IPv4 connections and joins. */
	if (ss->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0)
		mplb_warn("%s: cannot clear IPV6_V6ONLY: %s", name, strerror(errno));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 1024) < 0) {
		explain_bind_error(name, errno);
		close(fd);
		return -1;
	}
	return fd;
}

int cmd_serve(int argc, char **argv)
{
	enum { OPT_ID = 256, OPT_LISTEN, OPT_CORRUPT, OPT_MAXCONN, OPT_IDLE, OPT_LOGRTT };
	static const struct option opts[] = {
		{"id", required_argument, NULL, OPT_ID},
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"json", no_argument, NULL, 'j'},
		{"corrupt-at", required_argument, NULL, OPT_CORRUPT},
		{"max-conns", required_argument, NULL, OPT_MAXCONN},
		{"idle-timeout", required_argument, NULL, OPT_IDLE},
		{"log-rtt", no_argument, NULL, OPT_LOGRTT},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	/* static: detached connection threads may outlive this frame at exit. */
	static struct serve_cfg cfg;
	cfg = (struct serve_cfg){
		.corrupt_at = UINT64_MAX,
		.idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_S * 1000,
		.max_conns = DEFAULT_MAX_CONNS,
	};
	struct sockaddr_storage addrs[MAX_LISTEN];
	socklen_t lens[MAX_LISTEN];
	int naddrs = 0, c;
	unsigned long v;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ID:
			if (parse_uint(optarg, "--id", 0, UINT32_MAX, &v))
				return 2;
			cfg.backend_id = (uint32_t)v;
			break;
		case OPT_LISTEN:
			if (naddrs == MAX_LISTEN) {
				mplb_err("serve: at most %d --listen addresses", MAX_LISTEN);
				return 2;
			}
			if (parse_sockaddr(optarg, true, &addrs[naddrs], &lens[naddrs]))
				return 2;
			naddrs++;
			break;
		case 'j':
			cfg.json = true;
			break;
		case OPT_LOGRTT:
			cfg.log_rtt = true;
			break;
		case OPT_CORRUPT:
			if (parse_uint(optarg, "--corrupt-at", 0, ULONG_MAX, &v))
				return 2;
			cfg.corrupt_at = v;
			break;
		case OPT_MAXCONN:
			if (parse_uint(optarg, "--max-conns", 1, 65536, &cfg.max_conns))
				return 2;
			break;
		case OPT_IDLE:
			if (parse_uint(optarg, "--idle-timeout", 1, 86400, &v))
				return 2;
			cfg.idle_timeout_ms = (int)v * 1000;
			break;
		case 'h':
			serve_usage(stdout);
			return 0;
		case ':':
			mplb_err("serve: option '%s' needs a value", argv[optind - 1]);
			serve_usage(stderr);
			return 2;
		default:
			mplb_err("serve: unknown option '%s'", argv[optind - 1]);
			serve_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		mplb_err("serve: unexpected argument '%s'", argv[optind]);
		serve_usage(stderr);
		return 2;
	}
	if (!naddrs) {
		parse_sockaddr("[::]:80", true, &addrs[0], &lens[0]);
		naddrs = 1;
	}
	if (cfg.corrupt_at != UINT64_MAX)
		mplb_warn("serve: test hook active: byte %llu of every download is corrupted",
			  (unsigned long long)cfg.corrupt_at);
	if (gethostname(cfg.hostname, sizeof(cfg.hostname) - 1) < 0)
		snprintf(cfg.hostname, sizeof(cfg.hostname), "unknown");

	/*
	 * SIGINT/SIGTERM arrive through a signalfd polled with the listeners;
	 * block them before any thread starts so that all threads inherit it.
	 */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		mplb_err("serve: signalfd: %s", strerror(errno));
		return 1;
	}

	struct pollfd pfd[MAX_LISTEN + 1];
	int nl = 0, rc = 0;
	for (int i = 0; i < naddrs; i++) {
		int fd = open_listener(&addrs[i], lens[i]);
		if (fd < 0) {
			rc = 1;
			goto out;
		}
		pfd[nl++] = (struct pollfd){.fd = fd, .events = POLLIN};
		char name[INET6_ADDRSTRLEN + 8];
		sockaddr_str((const struct sockaddr *)&addrs[i], name, sizeof(name));
		char text[256];
		snprintf(text, sizeof(text), "listening on %s (MPTCP) backend=%u host=%s", name,
			 cfg.backend_id, cfg.hostname);
		json_t *obj = cfg.json ? json_pack("{s:s, s:s, s:I, s:s}", "event", "listening",
						   "address", name, "backend_id",
						   (json_int_t)cfg.backend_id, "hostname",
						   cfg.hostname) : NULL;
		log_text_or_json(&cfg, obj, text);
		json_decref(obj);
	}
	pfd[nl] = (struct pollfd){.fd = sfd, .events = POLLIN};

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 512 * 1024); /* stream buffers: 2 x 64 KiB */
	for (;;) {
		if (poll(pfd, nl + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			mplb_err("serve: poll: %s", strerror(errno));
			rc = 1;
			break;
		}
		if (pfd[nl].revents)
			break; /* SIGINT/SIGTERM */
		for (int i = 0; i < nl; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			struct conn_job *job = calloc(1, sizeof(*job));
			if (!job)
				continue;
			socklen_t pl = sizeof(job->peer);
			job->fd = accept4(pfd[i].fd, (struct sockaddr *)&job->peer, &pl,
					  SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (job->fd < 0) {
				free(job);
				continue; /* EAGAIN, or the peer gave up: nothing to do */
			}
			socklen_t ll = sizeof(job->local);
			getsockname(job->fd, (struct sockaddr *)&job->local, &ll);
			job->cfg = &cfg;
			pthread_t tid;
			if ((unsigned long)atomic_load(&active_conns) >= cfg.max_conns) {
				char peer[INET6_ADDRSTRLEN + 8];
				mplb_warn("serve: %lu connections active (--max-conns); closing %s",
					  cfg.max_conns, addr_str(&job->peer, peer, sizeof(peer)));
				close(job->fd);
				free(job);
				continue;
			}
			atomic_fetch_add(&active_conns, 1);
			if (pthread_create(&tid, &attr, conn_thread, job)) {
				atomic_fetch_sub(&active_conns, 1);
				close(job->fd);
				free(job);
			}
		}
	}
	pthread_attr_destroy(&attr);
	/* Stop accepting; give running connections a moment, then leave. */
	for (int i = 0; i < nl; i++)
		close(pfd[i].fd);
	nl = 0;
	for (int waited = 0; atomic_load(&active_conns) > 0 && waited < SHUTDOWN_GRACE_MS;
	     waited += 50)
		usleep(50 * 1000);
out:
	for (int i = 0; i < nl; i++)
		close(pfd[i].fd);
	close(sfd);
	/* Threads still inside a connection are ended by the process exit. */
	return rc;
}
