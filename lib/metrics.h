/* SPDX-License-Identifier: MIT */
/*
 * Prometheus metrics of the daemons (`[lb] metrics`, `[server] metrics`):
 * the text exposition format, built in a buffer, and served on GET
 * /metrics by libmicrohttpd (its own thread; the render callback reads
 * only kernel maps and files, which are safe from any thread).
 */
#ifndef MPLB_METRICS_H
#define MPLB_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct metrics_buf {
	char *p;
	size_t len, cap;
};

/* "# HELP name help" and "# TYPE name type" (counter, gauge). */
void mb_family(struct metrics_buf *b, const char *name, const char *type, const char *help);
/*
 * One sample: name{labels} value. labels is a list of key, value strings
 * ending with NULL; values are escaped as the format says.
 */
void mb_sample(struct metrics_buf *b, const char *name, double value, ...)
	__attribute__((sentinel));
void mb_free(struct metrics_buf *b);

struct mplb_metrics;
typedef void (*mplb_metrics_render)(struct metrics_buf *b, void *arg);

/*
 * Serve /metrics on addr (IPv4 or IPv6, port required). NULL with a message
 * naming what failed (port in use, bad address). what names the daemon.
 */
struct mplb_metrics *mplb_metrics_start(const char *what, const struct sockaddr_storage *addr,
					mplb_metrics_render render, void *arg);
void mplb_metrics_stop(struct mplb_metrics *m);

/* The build: "mplb_build_info{version,component} 1", for every daemon. */
void mb_build_info(struct metrics_buf *b, const char *component);

#endif /* MPLB_METRICS_H */
