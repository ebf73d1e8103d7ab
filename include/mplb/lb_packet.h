/* SPDX-License-Identifier: MIT */
/*
 * What the balancer's parser tells its decision about a packet
 * (struct packet_desc), shared by the XDP program (bpf/parsing.h fills it)
 * and the simulator (sim/, which builds it from synthetic connections).
 * Compiles in BPF (after vmlinux.h) and in userspace C11.
 */
#ifndef MPLB_LB_PACKET_H
#define MPLB_LB_PACKET_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "mplb/lb_structs.h"

/* Stage functions return an XDP action, or this to let the next stage run. */
#define FURTHER_PROCESSING -1

#define IPPROTO_TCP_ 6
/* TCP flags byte (offset 13 of the header). */
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

/*
 * What the option walk found. Passed to a global subprogram in BPF, so it
 * holds scalars only (the verifier's rule for pointer arguments).
 */
struct tcp_opt_state {
	__u32 off; /* next option, from the start of the frame */
	__u32 end; /* end of the option area (data offset), from the frame start */
	__u32 tsval;
	__u32 tsecr;
	__u64 mpc_receiver_key; /* MP_CAPABLE ACK: second key = the server's */
	__u32 join_token;       /* MP_JOIN SYN: receiver's token */
	__u8 has_ts;
	__u8 has_mpc_keys;
	__u8 has_join_token;
	__u8 mptcp_subtype; /* subtype of the last MPTCP option, 0xff if none */
	__u8 malformed;     /* zero/overlong length, or truncated at packet end */
	__u8 pad[3];
};

/* Everything the decision needs about the packet. */
struct packet_desc {
	struct flow_key flow;
	struct tcp_opt_state opts;
	__u32 l4_off;  /* from the frame start */
	__u16 l2_len;  /* 14, 18 with an 802.1Q/802.1ad tag, 22 with two */
	__u8 tcp_flags;
	__u8 tos;      /* IPv4 TOS / IPv6 traffic class, copied to the outer header */
	__u8 is_fragment; /* IPv4 or IPv6 fragment, first or not: L4 is not parsed */
	__u8 has_ip_options;
	__u8 pad[2];
};

#endif /* MPLB_LB_PACKET_H */
