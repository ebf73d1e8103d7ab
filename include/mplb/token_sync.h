/* SPDX-License-Identifier: MIT */
/*
 * Token sync: the wire format in which a backend's agent (`mplb server run`)
 * tells every LB host which MPTCP tokens and join subflows are its own, so a
 * join that ECMP hands to any LB host reaches the backend that owns the
 * connection. Sender: server/server_sync.c. Receiver: lb/lb_sync.c.
 * Design and alternatives: docs/scale-out.md.
 *
 * One UDP datagram:
 *
 *   struct sync_hdr       40 bytes
 *   struct sync_entry     48 bytes each, hdr.count of them (<= SYNC_MAX_ENTRIES)
 *   HMAC-SHA256           32 bytes, over everything before it
 *
 * All multi-byte fields are in network order, except the flow key, which is
 * byte for byte the balancer's struct flow_key (addresses and ports as on the
 * wire, family and proto single bytes).
 *
 * Authentication. Backend id B signs with its own key,
 *   key_B = HMAC-SHA256(master, "mplb token sync v1" || be32(B)),
 * where master is the 32-byte [sync] key of the balancers. A backend holds
 * only key_B (`mplb lb sync-key` prints it), so it can speak for id B and no
 * other: it cannot steer another backend's tokens or delete them. A message
 * is taken only if its MAC verifies, its sent time is within the receiver's
 * max_skew_s of the receiver's clock, and its (epoch, seq) is above the last
 * one taken from B (a replay, or an old epoch, is dropped and counted).
 * Entries apply to id B only: a token already owned by another id is marked
 * collided (joins for it are dropped, as for a learned collision), never
 * moved.
 */
#ifndef MPLB_TOKEN_SYNC_H
#define MPLB_TOKEN_SYNC_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "mplb/lb_structs.h"

#define SYNC_MAGIC 0x4d504c53u /* "MPLS" */
#define SYNC_VERSION 1
#define SYNC_PORT_DEFAULT 4790
#define SYNC_MAC_LEN 32
#define SYNC_KEY_LEN 32
/* 40 + 24 * 48 + 32 = 1224 bytes: one datagram fits any path MTU >= 1280. */
#define SYNC_MAX_ENTRIES 24
#define SYNC_KEY_LABEL "mplb token sync v1"

/* sync_hdr.type */
#define SYNC_T_UPDATE 1 /* entries from events (new, closed) */
#define SYNC_T_REFRESH 2 /* a periodic snapshot of what the backend has now */

struct sync_hdr {
	__u32 magic;
	__u8 version;
	__u8 type;
	__u16 count;
	__u32 backend_id;
	__u32 pad;
	__u64 epoch;   /* the sender's start, ns since the Unix epoch: a restart moves it up */
	__u64 seq;     /* strictly increasing within an epoch */
	__u64 sent_ns; /* CLOCK_REALTIME when sent, for the receiver's freshness window */
};

/* sync_entry.op */
#define SYNC_OP_TOKEN_ADD 1 /* token is the sender's (also a refresh) */
#define SYNC_OP_TOKEN_DEL 2 /* the connection closed */
#define SYNC_OP_FLOW_ADD 3  /* a join subflow to a VIP is the sender's: flow as the LB sees it */
#define SYNC_OP_FLOW_DEL 4

struct sync_entry {
	__u8 op;
	__u8 pad[3];
	__u32 token; /* TOKEN_*: the server-side token (network order) */
	struct flow_key flow; /* FLOW_*: client -> VIP */
};

#define SYNC_MSG_LEN(n) (sizeof(struct sync_hdr) + (n) * sizeof(struct sync_entry) + SYNC_MAC_LEN)

/* Reasons a receiver drops a message (index of its counters). */
#define SYNC_REJECTS(X)                                   \
	X(SYNC_REJ_MALFORMED, "malformed")                \
	X(SYNC_REJ_BACKEND, "unknown_backend")            \
	X(SYNC_REJ_MAC, "bad_mac")                        \
	X(SYNC_REJ_STALE, "stale")                        \
	X(SYNC_REJ_REPLAY, "replay")

#define SYNC_REJ_ENUM_(id, name) id,
enum sync_reject { SYNC_REJECTS(SYNC_REJ_ENUM_) SYNC_REJ_MAX };
#undef SYNC_REJ_ENUM_

/* What a receiver keeps per sender id (the pinned sync_peers map): replay state and counts. */
struct sync_peer {
	__u64 epoch, seq;   /* the last message taken */
	__u64 last_rx_ns;   /* CLOCK_MONOTONIC of the last message taken */
	__u64 messages, entries;
	__u64 rejected[SYNC_REJ_MAX];
	__u64 collisions;   /* tokens it claimed that another id owns */
	__u64 table_full;   /* tokens it claimed that did not fit */
};

#endif /* MPLB_TOKEN_SYNC_H */
