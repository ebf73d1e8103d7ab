/* SPDX-License-Identifier: MIT */
/*
 * What the kernel says about our subflows' TCP sockets, for dark-path
 * detection: a sock_diag (inet_diag) dump of established TCP sockets with
 * their tcp_info, and a probe that makes the peer's TCP answer on a subflow
 * (an out-of-window ACK: RFC 9293 3.10.7.4, the peer replies with an ACK,
 * at most once per net.ipv4.tcp_invalid_ratelimit, 500 ms by default).
 * The daemon owns none of these sockets: the application does.
 */
#ifndef MPLB_CLIENT_TCP_HEALTH_H
#define MPLB_CLIENT_TCP_HEALTH_H

#include <stdint.h>

#include "client/model.h"

struct tcp_health;

/* NULL (and a warning) when sock_diag is unavailable. */
struct tcp_health *tcp_health_open(void);
void tcp_health_close(struct tcp_health *h);
/* Dump both families; cb per established TCP socket. 0 or -errno. */
int tcp_health_dump(struct tcp_health *h, void (*cb)(const struct cl_tcp_sample *s, void *data),
		    void *data);
/* Send one probe on the subflow laddr:lport -> raddr:rport out of ifindex. 0 or -errno. */
int tcp_health_probe(int family, const union mptcp_pm_nl_inaddr *laddr, uint16_t lport,
		     const union mptcp_pm_nl_inaddr *raddr, uint16_t rport, int ifindex);

#endif
