/* SPDX-License-Identifier: MIT */
/*
 * Server agent (`mplb server`): map keys, values, flags and counter indices
 * shared by its BPF programs (bpf/server_tc.bpf.c, bpf/server_sockops.bpf.c)
 * and its userspace (server/). One definition; neither side keeps a copy.
 *
 * Compiles in BPF (after vmlinux.h) and in C11 userspace (linux/types.h).
 * Structs are laid out without implicit padding. Addresses and ports are in
 * network byte order as on the wire; everything else is host order.
 */
#ifndef MPLB_SERVER_STRUCTS_H
#define MPLB_SERVER_STRUCTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Address families in keys (not AF_*: BPF has no libc). */
#define SRV_FAMILY_V4 4
#define SRV_FAMILY_V6 6

/* srv_config.flags: which parts of the tc programs run. */
#define SRV_F_TSECR_ENCODE (1u << 0)  /* egress: backend id into TSval of VIP segments */
#define SRV_F_TSECR_RESTORE (1u << 1) /* ingress: exact TSecr back before TCP sees it */
#define SRV_F_DECAP (1u << 2)         /* ingress: strip IPIP / IP6IP6 / IP4-in-IP6 to own addresses */
#define SRV_F_ADDADDR (1u << 3)       /* both: per-connection ADD_ADDR / echo / join tracking */
#define SRV_F_VERIFY (1u << 4)        /* test aid: check every restored TSecr against what was sent */
#define SRV_F_KEEPALIVE_FIX (1u << 5) /* egress: zero-length keepalive probes carry one byte */

/* Entry 0 of srv_config. Rewritten in place on reload. */
struct srv_config {
	__u64 tsecr_key[2]; /* SipHash key of include/mplb/tsecr.h, as the balancer's */
	__u32 backend_id;   /* 0..255 */
	__u32 flags;        /* SRV_F_* */
	__u64 netns_cookie; /* sock_ops: only sockets of the agent's netns */
	__u32 keepalive_idle_s;  /* sock_ops: TCP_KEEPIDLE/KEEPINTVL for tsecr VIP subflows */
	__u32 pad;
};

/*
 * VIP table: (address, port) -> what to do with TCP segments from/to it.
 * Port 0 in a key means every port of the address (lookups try the exact
 * port first).
 */
#define SRV_VIP_TSECR (1u << 0)     /* encode TSval / restore TSecr */
#define SRV_VIP_KEEPALIVE (1u << 1) /* sock_ops: keepalive on its subflows */

struct srv_vip_key {
	__u32 addr[4]; /* IPv4 in addr[0] */
	__u16 port;    /* network order; 0 = any */
	__u8 family;   /* SRV_FAMILY_* */
	__u8 pad;
};

struct srv_vip_val {
	__u32 flags; /* SRV_VIP_* */
};

/* Own addresses for which the balancer's encapsulation is removed. */
struct srv_addr_key {
	__u32 addr[4];
	__u8 family;
	__u8 pad[3];
};

/*
 * One announcement of one connection: the ADD_ADDR option's address and
 * port (0 when the option had none) of the connection with local token
 * `token`.
 */
struct srv_ann_key {
	__u32 token;
	__u32 addr[4];
	__u16 port;   /* network order, 0 = no port in the option */
	__u8 family;
	__u8 pad;
};

struct srv_ann_val {
	__u64 first_tx_ns; /* bpf_ktime_get_ns() of the first ADD_ADDR (E=0) seen leaving */
	__u64 last_tx_ns;
	__u64 first_echo_ns; /* first echo (E=1) from the peer, 0 = none yet */
	__u64 join_ns;       /* first MP_JOIN SYN to the announced address:port, 0 = none */
	__u32 tx;            /* ADD_ADDR transmissions (1 + retransmissions) */
	__u32 echoes;
	__u32 joins;
	__u8 addr_id;
	__u8 pad[3];
};

/* Test aid (SRV_F_VERIFY): the TSval the kernel put in a segment before encoding. */
struct srv_verify_key {
	__u32 local[4];  /* the backend's address of the subflow */
	__u32 remote[4];
	__u16 lport;     /* network order */
	__u16 rport;
	__u8 family;
	__u8 pad[3];
	__u32 wire;      /* encoded TSval as sent */
};

/*
 * Counters (per-CPU array), with the names `mplb server status` prints. One
 * X-macro so the enum and the names cannot drift apart.
 */
#define SRV_STATS(X)                                                           \
	X(TSECR_ENCODED, "tsecr_encoded")                                      \
	X(TSECR_RESTORED, "tsecr_restored")                                    \
	X(TSECR_ZERO, "tsecr_zero")             /* TSecr 0 (SYN): nothing to restore */ \
	X(TSECR_NO_SOCKET, "tsecr_no_socket")   /* no socket found: left unchanged */   \
	X(TSECR_NOT_OURS, "tsecr_not_ours")     /* TSecr does not decode to our id */   \
	X(TSECR_USEC_SKIPPED, "tsecr_usec_ts")  /* usec TS socket: not encoded */       \
	X(VERIFY_EXACT, "verify_exact")                                        \
	X(VERIFY_MISMATCH, "verify_mismatch")                                  \
	X(VERIFY_UNKNOWN, "verify_unknown")                                    \
	X(DECAP_IPIP, "decap_ipip")                                            \
	X(DECAP_IP6IP6, "decap_ip6ip6")                                        \
	X(DECAP_IP4IP6, "decap_ip4ip6")                                        \
	X(DECAP_FAILED, "decap_failed")                                        \
	X(ADDADDR_TX, "add_addr_tx")                                           \
	X(ADDADDR_ECHO_RX, "add_addr_echo_rx")                                 \
	X(ADDADDR_UNMATCHED, "add_addr_echo_unmatched")                        \
	X(ADDADDR_NO_TOKEN, "add_addr_no_token")                               \
	X(JOIN_SYN_RX, "join_syn_rx")                                          \
	X(KEEPALIVE_FIXED, "keepalive_probe_fixed")                            \
	X(KEEPALIVE_FIX_FAILED, "keepalive_fix_failed")                        \
	X(CSUM_FAILED, "csum_failed")                                          \
	X(SOCKOPS_KEEPALIVE, "sockops_keepalive_set")                          \
	X(SOCKOPS_FAILED, "sockops_setsockopt_failed")

#define SRV_STAT_ENUM_(id, name) SRV_STAT_##id,
enum srv_stat { SRV_STATS(SRV_STAT_ENUM_) SRV_STAT_MAX };
#undef SRV_STAT_ENUM_

#endif /* MPLB_SERVER_STRUCTS_H */
