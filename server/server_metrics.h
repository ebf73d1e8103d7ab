/* SPDX-License-Identifier: MIT */
/* Prometheus metrics of the server agent (server_metrics.c). */
#ifndef MPLB_SERVER_METRICS_H
#define MPLB_SERVER_METRICS_H

struct agent;
struct srv_metrics;

/* NULL when [server] metrics is not set, or on error (with a message). */
struct srv_metrics *srv_metrics_start(struct agent *a);
void srv_metrics_stop(struct srv_metrics *m);

#endif /* MPLB_SERVER_METRICS_H */
