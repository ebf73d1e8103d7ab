/* SPDX-License-Identifier: MIT */
/*
 * The client's BPF side (bpf/client_attr.bpf.c): attribute parsing on every
 * uplink's tc ingress, RM_ADDR injection on its egress, and the ring buffer
 * the daemon reads the attributes from.
 */
#ifndef MPLB_CLIENT_ATTR_BPF_H
#define MPLB_CLIENT_ATTR_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mplb/addr_attr.h"

struct client_attr;

/* One validated record (ports in host order). Called from client_attr_poll(). */
typedef void (*client_attr_cb)(const struct attr_event *ev, void *data);

/* Load the programs and the ring buffer. 0, or -errno with a message printed. */
int client_attr_open(struct client_attr **out, client_attr_cb cb, void *data);
/* Attach ingress + egress to ifindex (tcx links, gone with the process). 0 or -errno. */
int client_attr_attach(struct client_attr *ca, int ifindex, const char *name);
void client_attr_detach(struct client_attr *ca, int ifindex);
bool client_attr_attached(const struct client_attr *ca, int ifindex);
/* The ring buffer's epoll fd, for poll(). */
int client_attr_fd(const struct client_attr *ca);
/* Deliver every pending record; returns how many, or -errno. */
int client_attr_poll(struct client_attr *ca);
/* Ask egress to add RM_ADDR(id) to the next `count` pure ACKs of token's connection. */
int client_attr_withdraw(struct client_attr *ca, uint32_t token, uint8_t id, uint8_t count);
/* Forget token's pending RM_ADDR (connection closed). */
void client_attr_forget(struct client_attr *ca, uint32_t token);
/* Counter sums over CPUs, indexed by enum client_attr_stat. 0 or -1. */
int client_attr_stats(const struct client_attr *ca, uint64_t out[CLA_STAT_MAX]);
const char *client_attr_stat_name(unsigned idx);
/* Records dropped by the daemon's own validation (size, family, count). */
uint64_t client_attr_rejected(const struct client_attr *ca);
void client_attr_close(struct client_attr *ca);

/*
 * Validate a ring-buffer record as the daemon does before trusting it (size,
 * family, source, pair count). Exposed for tests. 0 or -EINVAL.
 */
int client_attr_validate(const void *data, size_t size);

#endif /* MPLB_CLIENT_ATTR_BPF_H */
