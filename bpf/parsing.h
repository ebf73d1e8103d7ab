/* SPDX-License-Identifier: MIT */
/*
 * Cursor-style packet parsing for the XDP balancer (after xdp-tools'
 * parsing_helpers.h): each helper checks bounds against data_end, advances
 * the cursor and reports what comes next. The TCP option walk is a bounded
 * loop over one global (separately verified) subprogram per option, as
 * Katran's parse_hdr_opt(), so the verifier checks the option code once
 * instead of once per iteration and path.
 */
#ifndef MPLB_PARSING_H
#define MPLB_PARSING_H

#include "lb_consts.h"
#include "mplb/lb_packet.h"
#include "mplb/lb_structs.h"
#include "mplb/mptcp_wire.h"

struct hdr_cursor {
	void *pos;
};

static __always_inline __u32 be32_at(const __u8 *p)
{
	return ((__u32)p[0] << 24) | ((__u32)p[1] << 16) | ((__u32)p[2] << 8) |
	       (__u32)p[3];
}

static __always_inline __u64 be64_at(const __u8 *p)
{
	return ((__u64)be32_at(p) << 32) | be32_at(p + 4);
}

/* Ethernet with up to two 802.1Q/802.1ad tags (QinQ); returns the network-order EtherType. */
static __always_inline int parse_ethhdr(struct hdr_cursor *c, void *data_end,
					__u16 *proto_be)
{
	struct ethhdr *eth = c->pos;

	if ((void *)(eth + 1) > data_end)
		return -1;
	c->pos = eth + 1;
	*proto_be = eth->h_proto;
#pragma clang loop unroll(full)
	for (int i = 0; i < 2; i++) {
		struct vlan_hdr *vh = c->pos;

		if (*proto_be != BE_ETH_P_8021Q && *proto_be != BE_ETH_P_8021AD)
			break;
		if ((void *)(vh + 1) > data_end)
			return -1;
		c->pos = vh + 1;
		*proto_be = vh->h_vlan_encapsulated_proto;
	}
	return 0;
}

/*
 * One TCP option at st->off. Returns 0 to go on, 1 when the walk is over
 * (end of the area, EOL, or a malformed option, which sets st->malformed).
 * Offsets are unsigned and masked so the verifier can bound the pointer; the
 * length byte is read only after checking p + 2, and an option shorter than
 * 4 bytes at the very end (a 3-byte window scale) is still accepted.
 */
__noinline int lb_parse_tcp_option(struct xdp_md *ctx, struct tcp_opt_state *st)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 off, end, len;
	__u8 *p;

	if (!st)
		return 1;
	off = st->off & PKT_OFFSET_MASK;
	end = st->end;
	if (off >= end)
		return 1;
	p = data + off;
	if ((void *)(p + 1) > data_end) {
		st->malformed = 1;
		return 1;
	}
	if (p[0] == TCPOPT_EOL_)
		return 1;
	if (p[0] == TCPOPT_NOP_) {
		st->off = off + 1;
		return 0;
	}
	if ((void *)(p + 2) > data_end || off + 2 > end) {
		st->malformed = 1;
		return 1;
	}
	len = p[1];
	if (len < 2 || off + len > end) {
		st->malformed = 1;
		return 1;
	}
	if (p[0] == TCPOPT_TIMESTAMP_ && len == TCPOLEN_TIMESTAMP_) {
		if ((void *)(p + TCPOLEN_TIMESTAMP_) > data_end) {
			st->malformed = 1;
			return 1;
		}
		st->tsval = be32_at(p + 2);
		st->tsecr = be32_at(p + 6);
		st->has_ts = 1;
	} else if (p[0] == TCPOPT_MPTCP && len >= 3) {
		if ((void *)(p + 3) > data_end) {
			st->malformed = 1;
			return 1;
		}
		st->mptcp_subtype = MPTCP_SUBTYPE(p);
		if (st->mptcp_subtype == MPTCPOPT_MP_CAPABLE &&
		    (len == TCPOLEN_MPTCP_MPC_ACK ||
		     len == TCPOLEN_MPTCP_MPC_ACK_DATA ||
		     len == TCPOLEN_MPTCP_MPC_ACK_DATA_CSUM)) {
			if ((void *)(p + TCPOLEN_MPTCP_MPC_ACK) > data_end) {
				st->malformed = 1;
				return 1;
			}
			/* Sender's key at 4, receiver's (the server's) at 12. */
			st->mpc_receiver_key = be64_at(p + 12);
			st->has_mpc_keys = 1;
		} else if (st->mptcp_subtype == MPTCPOPT_MP_JOIN &&
			   len == TCPOLEN_MPTCP_MPJ_SYN) {
			if ((void *)(p + TCPOLEN_MPTCP_MPJ_SYN) > data_end) {
				st->malformed = 1;
				return 1;
			}
			st->join_token = be32_at(p + 4);
			st->has_join_token = 1;
		}
	}
	st->off = off + len;
	return 0;
}

/*
 * Walk the options of the TCP header at pkt->l4_off (data offset doff
 * words). Linux puts NOP NOP TS first on every segment of a connection that
 * negotiated timestamps: read those 12 bytes in place, and when only the
 * timestamp is wanted (ts_only) stop there.
 */
static __always_inline void parse_tcp_options(struct xdp_md *ctx,
					      struct packet_desc *pkt,
					      __u32 doff_bytes, bool ts_only)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data + ((pkt->l4_off + TCP_HDR_LEN) & PKT_OFFSET_MASK);

	pkt->opts.off = pkt->l4_off + TCP_HDR_LEN;
	pkt->opts.end = pkt->l4_off + doff_bytes;
	pkt->opts.mptcp_subtype = 0xff;
	if (doff_bytes >= TCP_HDR_LEN + 12 && (void *)(p + 12) <= data_end &&
	    *(__u32 *)p == bpf_htonl(0x0101080a)) {
		pkt->opts.tsval = be32_at(p + 4);
		pkt->opts.tsecr = be32_at(p + 8);
		pkt->opts.has_ts = 1;
		if (ts_only)
			return;
		pkt->opts.off += 12;
		/*
		 * An established segment's only other option is a DSS that
		 * ends the area: nothing in it steers, so the walk is over.
		 */
		p += 12;
		if ((void *)(p + 4) <= data_end && p[0] == TCPOPT_MPTCP &&
		    MPTCP_SUBTYPE(p) == MPTCPOPT_DSS && p[1] >= 4 &&
		    pkt->opts.off + p[1] == pkt->opts.end) {
			pkt->opts.mptcp_subtype = MPTCPOPT_DSS;
			return;
		}
	}
	for (int i = 0; i < TCP_OPT_MAX_ITERATIONS; i++)
		if (lb_parse_tcp_option(ctx, &pkt->opts))
			break;
}

#endif /* MPLB_PARSING_H */
