/* SPDX-License-Identifier: MIT */
/* The balancer's lifecycle (lb_run.c): run, and the commands to a running one. */
#ifndef MPLB_LB_RUN_H
#define MPLB_LB_RUN_H

#include <stdbool.h>

#include <jansson.h>

/* `mplb lb run -c FILE [-n NAME]`. */
int lb_run(const char *path, const char *name);
/* SIGHUP the balancer and wait for its verdict. */
int lb_reload_cmd(const char *path, const char *name);
/* Full stop: withdraw, detach, unpin (through the process if one runs). */
int lb_stop_cmd(const char *path, const char *name);
/* Withdraw the VIPs and forward until nothing arrives (or resume: announce again). */
int lb_drain_cmd(const char *path, const char *name, bool resume, double wait_s, double quiet_s);
/* The run state of balancer NAME (/run/mplb/lb/NAME.json), or NULL. */
json_t *lb_state_read(const char *name);
/* Tell systemd the balancer is ready (sd_notify), when it runs under it. */
void lb_notify_ready(void);

#endif /* MPLB_LB_RUN_H */
