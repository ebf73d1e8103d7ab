// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * mplb XDP load balancer: keeps every subflow of an MPTCP connection on one
 * backend. The program reads as a sequence of stages (Katran style); each
 * returns an XDP action, or FURTHER_PROCESSING to go on:
 *
 *   parse_l3      Ethernet (+802.1Q, QinQ), IPv4 (options skipped by ihl,
 *                 fragments flagged), IPv6 (extension headers walked,
 *                 fragments flagged)
 *   lookup_vip    (address, port, proto); fragments use the
 *                 (address, proto) fragment entry, since a non-first
 *                 fragment has no port
 *   parse_l4      TCP/UDP header, TCP options (timestamps, MPTCP)
 *   pick_backend  per VIP strategy flags, in this order:
 *                 join port -> join flow -> TSecr id -> MP_JOIN token ->
 *                 connection LRU -> Maglev ring
 *   learn_token   MP_CAPABLE ACK: token of the server key -> chosen backend
 *   forward       DSR (MAC rewrite) or IPIP, XDP_TX or bpf_redirect
 *
 * Every decision is counted (include/mplb/lb_structs.h, LB_STATS).
 */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "encap.h"
#include "icmp.h"
#include "lb_consts.h"
#include "lb_maps.h"
#include "mplb/lb_structs.h"
#include "mplb/sha256_min.h"
#include "mplb/tsecr.h"
#include "parsing.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by the control plane before load; sizes the ring array. */
const volatile __u32 ring_size = MPLB_RING_SIZE_DEFAULT;
const volatile __u32 max_vips = MPLB_MAX_VIPS_DEFAULT;
/* lb_fastmod_m(ring_size), so the ring slot costs multiplies, not a division. */
const volatile __u64 ring_m = ~0ULL / MPLB_RING_SIZE_DEFAULT + 1;

static __always_inline void count(__u32 idx, __u64 bytes)
{
	struct lb_counter *c = bpf_map_lookup_elem(&lb_stats, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void count_in(void *map, __u32 idx, __u64 bytes)
{
	struct lb_counter *c = bpf_map_lookup_elem(map, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/*
 * Token of an MPTCP key. A global function: verified once, on its own,
 * instead of inline in every path that reaches it.
 */
__noinline __u32 lb_token_of_key(__u64 key)
{
	return sha256_min_token(key);
}

/* The decision (pick_backend, learn_token), shared with the simulator. */
#define LB_INLINE static __always_inline
#define LB_LOOKUP(map, key) bpf_map_lookup_elem(&map, key)
#define LB_UPDATE(map, key, val, flags) bpf_map_update_elem(&map, key, val, flags)
#define LB_NOW_NS() bpf_ktime_get_ns()
#define LB_COUNT(idx, bytes) count(idx, bytes)
#define LB_RING_SIZE ring_size
#define LB_RING_M ring_m
#define LB_MAX_VIPS max_vips
#define LB_NTOHS(x) bpf_ntohs(x)
#define LB_TOKEN_OF_KEY(key) lb_token_of_key(key)
#include "mplb/lb_decide.h"

static __always_inline bool is_ipv6_ext(__u8 nh)
{
	return nh == IPV6_NH_HOPOPTS || nh == IPV6_NH_ROUTING || nh == IPV6_NH_FRAGMENT ||
	       nh == IPV6_NH_DSTOPTS;
}

/*
 * IPv6 extension headers, at most IPV6_EXT_MAX of them: hop-by-hop, routing,
 * destination options, fragment. A routing header with segments left means
 * the VIP is not the final destination: the kernel decides (passed). A
 * fragment, first or not, is balanced on (src, dst, proto) as IPv4
 * fragments are, so all its pieces reach one backend. Anything longer or
 * cut short is passed, counted.
 */
static __always_inline int walk_ipv6_ext(void *data, void *data_end, struct packet_desc *pkt,
					 __u8 *nh, __u64 bytes)
{
	__u32 off = pkt->l4_off;

#pragma clang loop unroll(full)
	for (int i = 0; i < IPV6_EXT_MAX; i++) {
		__u8 *e;

		if (!is_ipv6_ext(*nh))
			break;
		e = data + (off & PKT_OFFSET_MASK);
		if ((void *)(e + 8) > data_end)
			return lb_verdict(XDP_PASS, LB_STAT_PASS_MALFORMED_L3, bytes);
		if (*nh == IPV6_NH_FRAGMENT) {
			__u16 fo = ((__u16)e[2] << 8) | e[3];
			if (fo & (IPV6_FRAG_OFFSET | IPV6_FRAG_MF))
				pkt->is_fragment = 1;
			off += 8;
		} else {
			if (*nh == IPV6_NH_ROUTING && e[3])
				return lb_verdict(XDP_PASS, LB_STAT_PASS_IPV6_EXT_HDR, bytes);
			off += ((__u32)e[1] + 1) * 8;
		}
		*nh = e[0];
	}
	if (is_ipv6_ext(*nh))
		return lb_verdict(XDP_PASS, LB_STAT_PASS_IPV6_EXT_HDR, bytes);
	count(LB_STAT_EV_IPV6_EXT_HDR, bytes);
	pkt->l4_off = off;
	return FURTHER_PROCESSING;
}

static __always_inline int parse_l3(struct xdp_md *ctx, struct packet_desc *pkt,
				    __u64 bytes)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct hdr_cursor c = {.pos = data};
	__u16 proto;

	if (parse_ethhdr(&c, data_end, &proto))
		return lb_verdict(XDP_PASS, LB_STAT_PASS_MALFORMED_L3, bytes);
	pkt->l2_len = c.pos - data;

	if (proto == BE_ETH_P_IP) {
		struct iphdr *iph = c.pos;
		__u32 ihl_bytes;

		if ((void *)(iph + 1) > data_end)
			return lb_verdict(XDP_PASS, LB_STAT_PASS_MALFORMED_L3, bytes);
		ihl_bytes = (__u32)iph->ihl * 4;
		if (ihl_bytes < IPV4_HDR_LEN)
			return lb_verdict(XDP_PASS, LB_STAT_PASS_MALFORMED_L3, bytes);
		pkt->has_ip_options = ihl_bytes > IPV4_HDR_LEN;
		pkt->l4_off = pkt->l2_len + ihl_bytes;
		pkt->is_fragment = (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET)) != 0;
		pkt->tos = iph->tos;
		pkt->flow.family = MPLB_FAMILY_V4;
		pkt->flow.proto = iph->protocol;
		pkt->flow.src[0] = iph->saddr;
		pkt->flow.dst[0] = iph->daddr;
	} else if (proto == BE_ETH_P_IPV6) {
		struct ipv6hdr *ip6h = c.pos;
		__u8 nh;

		if ((void *)(ip6h + 1) > data_end)
			return lb_verdict(XDP_PASS, LB_STAT_PASS_MALFORMED_L3, bytes);
		nh = ip6h->nexthdr;
		pkt->l4_off = pkt->l2_len + IPV6_HDR_LEN;
		if (is_ipv6_ext(nh)) {
			int rc = walk_ipv6_ext(data, data_end, pkt, &nh, bytes);
			if (rc != FURTHER_PROCESSING)
				return rc;
		}
		pkt->tos = (bpf_ntohs(*(__u16 *)ip6h) >> 4) & 0xff;
		pkt->flow.family = MPLB_FAMILY_V6;
		pkt->flow.proto = nh;
		__builtin_memcpy(pkt->flow.src, &ip6h->saddr, 16);
		__builtin_memcpy(pkt->flow.dst, &ip6h->daddr, 16);
	} else {
		return lb_verdict(XDP_PASS, LB_STAT_PASS_NOT_IP, bytes);
	}
	if (pkt->flow.proto != IPPROTO_TCP_ && pkt->flow.proto != IPPROTO_UDP_)
		return lb_verdict(XDP_PASS, LB_STAT_PASS_NOT_VIP, bytes);
	return FURTHER_PROCESSING;
}

/*
 * Finds the VIP. Needs the ports, so it reads the first 4 bytes of L4 for a
 * whole packet; IPv4 fragments (first or not) all use the fragment entry and
 * a 3-tuple hash, so every fragment of a datagram reaches the same backend.
 */
static __always_inline int lookup_vip(struct xdp_md *ctx, struct packet_desc *pkt,
				      struct vip_meta **meta, __u64 bytes)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct vip_key key = {};
	__u16 *ports;

	key.addr[0] = pkt->flow.dst[0];
	key.addr[1] = pkt->flow.dst[1];
	key.addr[2] = pkt->flow.dst[2];
	key.addr[3] = pkt->flow.dst[3];
	key.proto = pkt->flow.proto;
	key.family = pkt->flow.family;
	if (pkt->is_fragment) {
		key.port = 0;
		*meta = bpf_map_lookup_elem(&vip_map, &key);
		if (!*meta)
			return lb_verdict(XDP_PASS, LB_STAT_PASS_FRAG_NOT_VIP, bytes);
		count(pkt->flow.family == MPLB_FAMILY_V6 ? LB_STAT_EV_IPV6_FRAGMENT
							 : LB_STAT_EV_IPV4_FRAGMENT, bytes);
		return FURTHER_PROCESSING;
	}
	ports = data + (pkt->l4_off & PKT_OFFSET_MASK);
	if ((void *)(ports + 2) > data_end)
		return lb_verdict(XDP_PASS, LB_STAT_PASS_MALFORMED_L3, bytes);
	pkt->flow.sport = ports[0];
	pkt->flow.dport = ports[1];
	key.port = ports[1];
	*meta = bpf_map_lookup_elem(&vip_map, &key);
	if (!*meta)
		return lb_verdict(XDP_PASS, LB_STAT_PASS_NOT_VIP, bytes);
	return FURTHER_PROCESSING;
}

/*
 * The TCP options matter only to VIPs that route by token or TSecr: other
 * VIPs skip the walk (Katran reads no options either).
 */
static __always_inline int parse_l4(struct xdp_md *ctx, struct packet_desc *pkt,
				    const struct vip_meta *meta, __u64 bytes)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 off = pkt->l4_off & PKT_OFFSET_MASK;

	if (pkt->has_ip_options)
		count(LB_STAT_EV_IPV4_OPTIONS, bytes);
	if (pkt->is_fragment)
		return FURTHER_PROCESSING;
	if (pkt->flow.proto == IPPROTO_TCP_) {
		struct tcphdr *th = data + off;
		__u32 doff_bytes;

		if ((void *)(th + 1) > data_end)
			return lb_verdict(XDP_DROP, LB_STAT_DROP_MALFORMED_L4, bytes);
		doff_bytes = (__u32)th->doff * 4;
		if (doff_bytes < TCP_HDR_LEN)
			return lb_verdict(XDP_DROP, LB_STAT_DROP_MALFORMED_L4, bytes);
		pkt->tcp_flags = ((__u8 *)th)[13];
		if (!(meta->flags & (VIP_F_TOKEN | VIP_F_TSECR)))
			return FURTHER_PROCESSING;
		parse_tcp_options(ctx, pkt, doff_bytes, !(meta->flags & VIP_F_TOKEN));
		if (pkt->opts.malformed)
			count(LB_STAT_EV_TCPOPT_MALFORMED, bytes);
	} else {
		if (data + off + UDP_HDR_LEN > data_end)
			return lb_verdict(XDP_DROP, LB_STAT_DROP_MALFORMED_L4, bytes);
	}
	return FURTHER_PROCESSING;
}


static __always_inline int forward(struct xdp_md *ctx, const struct packet_desc *pkt,
				   const struct lb_config *cfg, __u32 backend_id, __u64 bytes)
{
	struct backend *be = bpf_map_lookup_elem(&backends, &backend_id);
	int action;

	if (!be)
		return lb_verdict(XDP_DROP, LB_STAT_DROP_RING_EMPTY, bytes);
	if (cfg->forwarding == LB_FWD_IPIP) {
		__u32 inner_len = bytes - pkt->l2_len;
		__u32 outer = be->family == MPLB_FAMILY_V6 ? IPV6_HDR_LEN : IPV4_HDR_LEN;

		if (cfg->max_pkt_size && bytes + outer > cfg->max_pkt_size) {
			/* Tell the sender what fits (its TCP lowers the MSS), as a router would. */
			__u32 mtu = cfg->max_pkt_size - outer - pkt->l2_len;

			if (cfg->max_pkt_size < outer + pkt->l2_len + IPV4_HDR_LEN)
				return lb_verdict(XDP_DROP, LB_STAT_DROP_TOO_BIG, bytes);
			action = pkt->flow.family == MPLB_FAMILY_V6
					 ? icmp6_too_big(ctx, pkt, mtu, bytes)
					 : icmp4_too_big(ctx, pkt, (__u16)mtu, bytes);
			if (action == XDP_TX)
				return lb_verdict(XDP_TX, LB_STAT_XMIT_ICMP_TOO_BIG, bytes);
			return lb_verdict(XDP_DROP, LB_STAT_DROP_TOO_BIG, bytes);
		}
		if (be->family == MPLB_FAMILY_V6)
			action = encap_ip6(ctx, pkt, be, cfg, inner_len);
		else if (pkt->flow.family == MPLB_FAMILY_V4)
			action = encap_ipip4(ctx, pkt, be, cfg, inner_len);
		else
			return lb_verdict(XDP_DROP, LB_STAT_DROP_ENCAP_FAMILY, bytes);
		if (action != FURTHER_PROCESSING)
			return lb_verdict(action, LB_STAT_DROP_ENCAP_FAILED, bytes);
	} else {
		action = forward_dsr(ctx, be, cfg);
		if (action != FURTHER_PROCESSING)
			return lb_verdict(action, LB_STAT_DROP_ENCAP_FAILED, bytes);
	}
	count_in(&backend_stats, backend_id, bytes);
	if (cfg->xmit == LB_XMIT_REDIRECT) {
		count(LB_STAT_XMIT_REDIRECT, bytes);
		return bpf_redirect(cfg->redirect_ifindex, 0);
	}
	count(LB_STAT_XMIT_TX, bytes);
	return XDP_TX;
}

SEC("xdp")
int xdp_lb(struct xdp_md *ctx)
{
	__u64 bytes = ctx->data_end - ctx->data;
	struct packet_desc pkt = {};
	struct vip_meta *meta = NULL;
	struct decision d = {};
	struct lb_config *cfg;
	__u32 zero = 0;
	int action;

	action = parse_l3(ctx, &pkt, bytes);
	if (action != FURTHER_PROCESSING)
		return action;
	action = lookup_vip(ctx, &pkt, &meta, bytes);
	if (action != FURTHER_PROCESSING || !meta)
		return action;
	count_in(&vip_stats, meta->vip_num, bytes);
	action = parse_l4(ctx, &pkt, meta, bytes);
	if (action != FURTHER_PROCESSING)
		return action;
	cfg = bpf_map_lookup_elem(&config_map, &zero);
	if (!cfg)
		return lb_verdict(XDP_DROP, LB_STAT_DROP_NO_CONFIG, bytes);

	action = lb_decide(&pkt, meta, cfg, &d, bytes);
	if (action != FURTHER_PROCESSING)
		return action;
	return forward(ctx, &pkt, cfg, d.backend_id, bytes);
}
