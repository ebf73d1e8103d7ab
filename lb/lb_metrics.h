/* SPDX-License-Identifier: MIT */
/* Prometheus metrics of the balancer (lb_metrics.c). */
#ifndef MPLB_LB_METRICS_H
#define MPLB_LB_METRICS_H

#include <stdbool.h>

#include "lb_config.h"
#include "lb_runtime.h"

struct lb_metrics;

/* NULL when [lb] metrics is not set, or on error (with a message). */
struct lb_metrics *lb_metrics_start(const struct lb_cfg *cfg, struct lb_runtime *rt);
void lb_metrics_set_announced(struct lb_metrics *m, bool on);
void lb_metrics_stop(struct lb_metrics *m);

#endif /* MPLB_LB_METRICS_H */
