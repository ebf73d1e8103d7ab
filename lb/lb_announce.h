/* SPDX-License-Identifier: MIT */
/*
 * The balancer's word to the routing daemon: while its XDP program is
 * attached and the host is not drained, one route per VIP address sits in
 * [lb] announce_table (blackhole, protocol MPLB_RTPROT). BIRD (or FRR)
 * imports that table and announces the VIPs by BGP; removing the routes
 * withdraws them. The routes are kernel state, like the attached program:
 * a balancer process that dies leaves both, and the host still forwards
 * correctly, so it keeps being announced; a dead host goes silent and BFD
 * withdraws it.
 */
#ifndef MPLB_LB_ANNOUNCE_H
#define MPLB_LB_ANNOUNCE_H

#include <stdbool.h>

#include "lb_config.h"

/* rtm_protocol of the balancer's routes (`ip route show table N proto 242`). */
#define MPLB_RTPROT 242

/*
 * Add (announce) or delete (withdraw) the route of every VIP address of cfg
 * in table cfg->announce_table, in this network namespace. Idempotent.
 * Returns the number of routes changed, or -1 with a message.
 */
int lb_announce(const struct lb_cfg *cfg, bool on);

/* Withdraw by address list (a `stop` or `drain` without the config file). */
int lb_announce_addrs(uint32_t table, const int *family, const uint32_t (*addr)[4], int n, bool on);

#endif /* MPLB_LB_ANNOUNCE_H */
