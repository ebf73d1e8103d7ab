// SPDX-License-Identifier: MIT
/* Backend health checks of the balancer (see lb_health.h). */
#include "lb_health.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lb_runtime.h"
#include "lb_sync.h"
#include "util.h"

#define HEALTH_REQUEST "GET /ready HTTP/1.0\r\n\r\n"
#define HEALTH_DIR "/run/mplb"

struct hb {
	char name[LB_CFG_NAME_LEN];
	struct sockaddr_storage target;
	bool checked; /* a health target is configured */
	bool down;    /* drained by the checks */
	unsigned fails, oks; /* consecutive */
	unsigned long long checks, passed, failed, drains, restores;
	char last_error[96];
	time_t last_change;
	double last_change_ms; /* CLOCK_REALTIME in ms: when hosts of a tier disagreed, and for how long */
	/* one probe in flight */
	int fd;
	bool sent;
	size_t got;
	char resp[64];
};

struct lb_health {
	struct lb_cfg *base, *effective;
	struct hb b[MPLB_MAX_BACKENDS];
	int n;
	bool fail_open; /* every backend down: the ring keeps them all */
	char path[300];
};

void lb_health_path(const char *name, char *buf, size_t len)
{
	/* A pin name may be DIR/NAME: flatten it for the file name. */
	size_t off = (size_t)snprintf(buf, len, HEALTH_DIR "/lb-health-");
	for (const char *p = name; *p && off + 1 < len; p++)
		buf[off++] = *p == '/' ? '_' : *p;
	snprintf(buf + off, len - off, ".json");
}

static struct hb *find(struct lb_health *h, const char *name)
{
	for (int i = 0; i < h->n; i++)
		if (!strcmp(h->b[i].name, name))
			return &h->b[i];
	return NULL;
}

/* Sync the table with a config: keep state by backend name, add new ones. */
static void sync_backends(struct lb_health *h, const struct lb_cfg *cfg)
{
	struct hb *old = malloc(sizeof(h->b));
	int n_old = h->n;

	if (!old)
		return;
	memcpy(old, h->b, sizeof(h->b));
	h->n = 0;
	for (int i = 0; i < cfg->n_backends && h->n < MPLB_MAX_BACKENDS; i++) {
		const struct lb_cfg_backend *cb = &cfg->backends[i];
		struct hb *b = &h->b[h->n++], *prev = NULL;
		for (int k = 0; k < n_old; k++)
			if (!strcmp(old[k].name, cb->name))
				prev = &old[k];
		if (prev) {
			*b = *prev;
		} else {
			memset(b, 0, sizeof(*b));
			snprintf(b->name, sizeof(b->name), "%s", cb->name);
			b->last_change = time(NULL);
		}
		b->fd = -1;
		b->target = cb->health;
		b->checked = cb->health.ss_family != 0;
		if (!b->checked)
			b->down = false; /* no check: never drained by us */
	}
	free(old);
}

struct lb_health *lb_health_new(const struct lb_cfg *cfg)
{
	struct lb_health *h;
	bool any = false;

	for (int i = 0; i < cfg->n_backends; i++)
		any |= cfg->backends[i].health.ss_family != 0;
	if (!any)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->base = calloc(1, sizeof(*h->base));
	h->effective = calloc(1, sizeof(*h->effective));
	if (!h->base || !h->effective) {
		lb_health_free(h);
		return NULL;
	}
	*h->base = *cfg;
	lb_health_path(cfg->name, h->path, sizeof(h->path));
	sync_backends(h, cfg);
	return h;
}

void lb_health_free(struct lb_health *h)
{
	if (!h)
		return;
	unlink(h->path);
	free(h->base);
	free(h->effective);
	free(h);
}

const struct lb_cfg *lb_health_overlay(struct lb_health *h, const struct lb_cfg *file_cfg)
{
	if (file_cfg != h->base)
		*h->base = *file_cfg;
	sync_backends(h, h->base);
	*h->effective = *h->base;
	int left = 0;
	for (int i = 0; i < h->effective->n_backends; i++) {
		struct lb_cfg_backend *cb = &h->effective->backends[i];
		struct hb *b = find(h, cb->name);
		if (b && b->down)
			cb->draining = cb->health_down = true;
		left += !cb->draining && cb->weight;
	}
	/*
	 * Fail open: when every backend would be out, a broken check (or a
	 * broken health endpoint) must not take the whole service down.
	 */
	h->fail_open = !left;
	if (h->fail_open)
		*h->effective = *h->base;
	return h->effective;
}

static void probe_start(struct hb *b)
{
	socklen_t len = b->target.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							 : sizeof(struct sockaddr_in);

	b->sent = false;
	b->got = 0;
	b->resp[0] = 0;
	b->fd = socket(b->target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (b->fd < 0)
		return;
	if (connect(b->fd, (struct sockaddr *)&b->target, len) && errno != EINPROGRESS) {
		snprintf(b->last_error, sizeof(b->last_error), "connect: %s", strerror(errno));
		close(b->fd);
		b->fd = -1;
	}
}

/* Advance one probe on a poll event; true when it is finished (fd closed). */
static bool probe_step(struct hb *b, short revents, bool *ok)
{
	int err = 0;
	socklen_t el = sizeof(err);
	ssize_t n;

	if (!b->sent) {
		getsockopt(b->fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err || (revents & (POLLERR | POLLHUP))) {
			snprintf(b->last_error, sizeof(b->last_error), "connect: %s",
				 strerror(err ? err : ECONNREFUSED));
			goto done_fail;
		}
		if (send(b->fd, HEALTH_REQUEST, strlen(HEALTH_REQUEST), MSG_NOSIGNAL) < 0) {
			snprintf(b->last_error, sizeof(b->last_error), "send: %s", strerror(errno));
			goto done_fail;
		}
		b->sent = true;
		return false;
	}
	n = recv(b->fd, b->resp + b->got, sizeof(b->resp) - 1 - b->got, 0);
	if (n > 0) {
		b->got += (size_t)n;
		b->resp[b->got] = 0;
		if (b->got < sizeof(b->resp) - 1)
			return false;
	} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return false;
	}
	/* EOF, error or enough bytes: judge what came. */
	if (!strncmp(b->resp, "HTTP/1.0 200", 12) || !strncmp(b->resp, "HTTP/1.1 200", 12) ||
	    !strncmp(b->resp, "ready", 5)) {
		*ok = true;
		close(b->fd);
		b->fd = -1;
		return true;
	}
	{
		char line[64];
		snprintf(line, sizeof(line), "%s", b->resp);
		line[strcspn(line, "\r\n")] = 0;
		snprintf(b->last_error, sizeof(b->last_error), "answer '%s'",
			 b->got ? line : "(nothing)");
	}
done_fail:
	close(b->fd);
	b->fd = -1;
	*ok = false;
	return true;
}

static void write_state(struct lb_health *h)
{
	json_t *root = json_object(), *bs = json_object();
	char tmp[320];

	json_object_set_new(root, "interval_ms", json_integer(h->base->health_interval_ms));
	json_object_set_new(root, "fall", json_integer(h->base->health_fall));
	json_object_set_new(root, "rise", json_integer(h->base->health_rise));
	json_object_set_new(root, "pid", json_integer(getpid()));
	json_object_set_new(root, "fail_open", json_boolean(h->fail_open));
	for (int i = 0; i < h->n; i++) {
		const struct hb *b = &h->b[i];
		json_t *o = json_object();
		char t[80];
		if (!b->checked)
			continue;
		json_object_set_new(o, "target", json_string(sockaddr_str((struct sockaddr *)&b->target, t, sizeof(t))));
		json_object_set_new(o, "state", json_string(b->down ? "down" : "up"));
		json_object_set_new(o, "checks", json_integer((json_int_t)b->checks));
		json_object_set_new(o, "passed", json_integer((json_int_t)b->passed));
		json_object_set_new(o, "failed", json_integer((json_int_t)b->failed));
		json_object_set_new(o, "consecutive_failures", json_integer(b->fails));
		json_object_set_new(o, "consecutive_passes", json_integer(b->oks));
		json_object_set_new(o, "drains", json_integer((json_int_t)b->drains));
		json_object_set_new(o, "restores", json_integer((json_int_t)b->restores));
		json_object_set_new(o, "last_change", json_integer((json_int_t)b->last_change));
		json_object_set_new(o, "last_change_ms", json_real(b->last_change_ms));
		json_object_set_new(o, "last_error", json_string(b->last_error));
		json_object_set_new(bs, b->name, o);
	}
	json_object_set_new(root, "backends", bs);
	mkdir(HEALTH_DIR, 0755);
	snprintf(tmp, sizeof(tmp), "%s.tmp", h->path);
	if (json_dump_file(root, tmp, JSON_INDENT(2)) == 0)
		rename(tmp, h->path);
	json_decref(root);
}

static double realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void lb_health_seed(struct lb_health *h, const char *name, bool down)
{
	struct hb *b = find(h, name);

	if (b && b->checked) {
		b->down = down;
		b->fails = down ? h->base->health_fall : 0;
	}
}

void lb_health_round(struct lb_health *h, struct lb_runtime *rt, struct lb_sync *sync)
{
	const struct lb_cfg *cfg = h->base;
	uint32_t timeout = cfg->health_timeout_ms ? cfg->health_timeout_ms
						  : (cfg->health_interval_ms < 1000 ? cfg->health_interval_ms : 1000);
	double start = mono(), deadline = start + timeout / 1000.0;
	double next = start + cfg->health_interval_ms / 1000.0;
	struct pollfd p[MPLB_MAX_BACKENDS + 1];
	bool result[MPLB_MAX_BACKENDS] = {false}, changed = false;
	int idx[MPLB_MAX_BACKENDS];

	for (int i = 0; i < h->n; i++)
		if (h->b[i].checked)
			probe_start(&h->b[i]);
	for (;;) {
		int n = 0;
		double now = mono();
		for (int i = 0; i < h->n; i++) {
			if (h->b[i].fd < 0)
				continue;
			p[n] = (struct pollfd){.fd = h->b[i].fd,
					       .events = h->b[i].sent ? POLLIN : POLLOUT};
			idx[n++] = i;
		}
		if (!n || now >= deadline)
			break;
		/* Pushed tokens must not wait for a slow health check. */
		p[n] = (struct pollfd){.fd = lb_sync_fd(sync), .events = POLLIN};
		int rc = poll(p, (nfds_t)n + 1, (int)((deadline - now) * 1000) + 1);
		if (rc < 0 && errno == EINTR)
			continue; /* a signal: finish the round first, the caller looks at the flags after */
		if (rc > 0 && p[n].revents)
			lb_sync_process(sync);
		for (int k = 0; rc > 0 && k < n; k++)
			if (p[k].revents)
				probe_step(&h->b[idx[k]], p[k].revents, &result[idx[k]]);
	}
	for (int i = 0; i < h->n; i++) {
		struct hb *b = &h->b[i];
		if (!b->checked)
			continue;
		if (b->fd >= 0) { /* still pending at the deadline */
			snprintf(b->last_error, sizeof(b->last_error), "no answer within %u ms", timeout);
			close(b->fd);
			b->fd = -1;
			result[i] = false;
		}
		b->checks++;
		if (result[i]) {
			b->passed++;
			b->oks++;
			b->fails = 0;
			if (b->down && b->oks >= cfg->health_rise) {
				b->down = false;
				b->restores++;
				b->last_change = time(NULL);
				b->last_change_ms = realtime_ms();
				changed = true;
				printf("mplb lb: backend %s healthy again (%u passes): restored\n", b->name,
				       b->oks);
			}
		} else {
			b->failed++;
			b->fails++;
			b->oks = 0;
			if (!b->down && b->fails >= cfg->health_fall) {
				b->down = true;
				b->drains++;
				b->last_change = time(NULL);
				b->last_change_ms = realtime_ms();
				changed = true;
				printf("mplb lb: backend %s failed %u checks (%s): drained\n", b->name,
				       b->fails, b->last_error);
			}
		}
	}
	if (changed) {
		bool was_open = h->fail_open;
		fflush(stdout);
		if (lb_rt_apply(rt, lb_health_overlay(h, h->base)))
			mplb_err("lb: applying the health change failed; the ring is unchanged");
		if (h->fail_open && !was_open)
			mplb_warn("lb: every backend failed its health check: failing open (the ring "
				  "keeps them all)");
	}
	write_state(h);
	/* Rest of the interval; a signal cuts it short. */
	double now = mono();
	if (next > now)
		lb_sync_wait(sync, (long)((next - now) * 1e6));
}

void lb_health_stats(const char *name, json_t *root)
{
	char path[300];
	json_error_t err;
	json_t *st;

	lb_health_path(name, path, sizeof(path));
	st = json_load_file(path, 0, &err);
	if (!st)
		return;
	if (root) {
		json_object_set_new(root, "health", st);
		return;
	}
	const char *k;
	json_t *b;
	printf("\n%-7s %-18s %-6s %8s %8s %8s %7s %8s  %s\n", "health", "backend", "state", "checks",
	       "passed", "failed", "drains", "restores", "last error");
	json_object_foreach(json_object_get(st, "backends"), k, b)
		printf("%-7s %-18s %-6s %8lld %8lld %8lld %7lld %8lld  %s\n", "", k,
		       json_string_value(json_object_get(b, "state")),
		       json_integer_value(json_object_get(b, "checks")),
		       json_integer_value(json_object_get(b, "passed")),
		       json_integer_value(json_object_get(b, "failed")),
		       json_integer_value(json_object_get(b, "drains")),
		       json_integer_value(json_object_get(b, "restores")),
		       json_string_value(json_object_get(b, "last_error")));
	json_decref(st);
}
