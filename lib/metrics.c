// SPDX-License-Identifier: MIT
/* Prometheus text format and its HTTP endpoint (libmicrohttpd). */
#include "metrics.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "util.h"
#include "version.h"

struct mplb_metrics {
	struct MHD_Daemon *d;
	mplb_metrics_render render;
	void *arg;
};

static void put(struct metrics_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return; /* the scrape gets a truncated page, not a crash */
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void puts_(struct metrics_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

void mb_family(struct metrics_buf *b, const char *name, const char *type, const char *help)
{
	puts_(b, "# HELP ");
	puts_(b, name);
	puts_(b, " ");
	puts_(b, help);
	puts_(b, "\n# TYPE ");
	puts_(b, name);
	puts_(b, " ");
	puts_(b, type);
	puts_(b, "\n");
}

/* Label values: backslash, double quote and newline are escaped. */
static void put_escaped(struct metrics_buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			puts_(b, "\\\\");
		else if (*v == '"')
			puts_(b, "\\\"");
		else if (*v == '\n')
			puts_(b, "\\n");
		else
			put(b, v, 1);
	}
}

void mb_sample(struct metrics_buf *b, const char *name, double value, ...)
{
	char num[64];
	va_list ap;
	const char *k;
	bool first = true;

	puts_(b, name);
	va_start(ap, value);
	while ((k = va_arg(ap, const char *))) {
		const char *v = va_arg(ap, const char *);
		puts_(b, first ? "{" : ",");
		puts_(b, k);
		puts_(b, "=\"");
		put_escaped(b, v ? v : "");
		puts_(b, "\"");
		first = false;
	}
	va_end(ap);
	if (!first)
		puts_(b, "}");
	/* Integers print exactly (counters up to 2^53), the rest as %g. */
	if (value == (double)(long long)value && value < 9e15 && value > -9e15)
		snprintf(num, sizeof(num), " %lld\n", (long long)value);
	else
		snprintf(num, sizeof(num), " %.17g\n", value);
	puts_(b, num);
}

void mb_free(struct metrics_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void mb_build_info(struct metrics_buf *b, const char *component)
{
	mb_family(b, "mplb_build_info", "gauge", "The running mplb build (always 1).");
	mb_sample(b, "mplb_build_info", 1, "version", MPLB_VERSION, "component", component, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **req_cls)
{
	struct mplb_metrics *m = cls;
	struct MHD_Response *r;
	struct metrics_buf b = {0};
	unsigned status = MHD_HTTP_OK;
	enum MHD_Result rc;

	(void)version, (void)upload, (void)upload_len, (void)req_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		puts_(&b, "only GET\n");
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (!strcmp(url, "/metrics")) {
		m->render(&b, m->arg);
	} else if (!strcmp(url, "/")) {
		puts_(&b, "mplb: metrics at /metrics\n");
	} else {
		puts_(&b, "not found: try /metrics\n");
		status = MHD_HTTP_NOT_FOUND;
	}
	r = MHD_create_response_from_buffer(b.len, b.p ? b.p : (void *)"", MHD_RESPMEM_MUST_COPY);
	mb_free(&b);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type",
				status == MHD_HTTP_OK && !strcmp(url, "/metrics")
					? "text/plain; version=0.0.4; charset=utf-8"
					: "text/plain; charset=utf-8");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

struct mplb_metrics *mplb_metrics_start(const char *what, const struct sockaddr_storage *addr,
					mplb_metrics_render render, void *arg)
{
	struct mplb_metrics *m = calloc(1, sizeof(*m));
	char a[80];
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	uint16_t port;

	if (!m)
		return NULL;
	m->render = render;
	m->arg = arg;
	if (addr->ss_family == AF_INET6) {
		flags |= MHD_USE_IPv6;
		port = ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
	} else {
		port = ntohs(((const struct sockaddr_in *)addr)->sin_port);
	}
	m->d = MHD_start_daemon(flags, port, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR, addr,
				MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				MHD_OPTION_END);
	if (!m->d) {
		mplb_err("%s: cannot serve metrics on %s: %s (in use, or not an address of this host?)",
			 what, sockaddr_str((const struct sockaddr *)addr, a, sizeof(a)),
			 strerror(errno ? errno : EADDRINUSE));
		free(m);
		return NULL;
	}
	return m;
}

void mplb_metrics_stop(struct mplb_metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->d);
	free(m);
}
