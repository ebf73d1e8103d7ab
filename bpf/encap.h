/* SPDX-License-Identifier: MIT */
/*
 * Forwarding of the XDP balancer: layer-2 direct server return (MAC rewrite)
 * and IPIP / IPv6-in-IPv6 / IPv4-in-IPv6 encapsulation (as Katran's
 * pckt_encap.h). The outer source address is synthesised from the flow
 * (flow_tag) so the backend NIC's RSS spreads flows that all come from one
 * balancer.
 * Backends decapsulate with BPF (this kernel has no ipip module).
 */
#ifndef MPLB_ENCAP_H
#define MPLB_ENCAP_H

#include "lb_consts.h"
#include "parsing.h"

static __always_inline void set_macs(struct ethhdr *eth, const struct backend *be,
				     const struct lb_config *cfg)
{
	__builtin_memcpy(eth->h_dest, be->mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, cfg->src_mac, ETH_ALEN);
}

/* DSR: the frame keeps its IP header; only the next hop changes. */
static __always_inline int forward_dsr(struct xdp_md *ctx, const struct backend *be,
				       const struct lb_config *cfg)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	set_macs(eth, be, cfg);
	return FURTHER_PROCESSING;
}

/*
 * A per-flow value for the outer source address and flow label: not the
 * ring's hash, which the established paths never compute. Any function of
 * the 5-tuple does for RSS on the backend.
 */
static __always_inline __u32 flow_tag(const struct flow_key *f)
{
	__u32 t = f->src[0] ^ f->src[1] ^ f->src[2] ^ f->src[3] ^
		  (((__u32)f->sport << 16) | f->dport);

	return t ^ (t >> 16);
}

/* 16-bit halves of a 32-bit word, for a one's-complement sum. */
static __always_inline __u32 csum_halves(__u32 w)
{
	return (w & 0xffff) + (w >> 16);
}

/*
 * Open room for an outer header of outer_len bytes between the L2 header and
 * the inner IP header. On success *l3 points at the outer header's place and
 * the Ethernet header (and tag) sit in front of it, EtherType set to
 * outer_proto_be.
 */
static __always_inline int push_outer(struct xdp_md *ctx, const struct packet_desc *pkt,
				      int outer_len, __u16 outer_proto_be,
				      const struct backend *be,
				      const struct lb_config *cfg, void **l3)
{
	void *data, *data_end;
	struct ethhdr *eth;

	if (bpf_xdp_adjust_head(ctx, -outer_len))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	/* The old L2 header now starts outer_len bytes in; no overlap (outer_len >= 20). */
	if (pkt->l2_len == ETH_HLEN + VLAN_HLEN) {
		if (data + outer_len + ETH_HLEN + VLAN_HLEN > data_end)
			return XDP_DROP;
		__builtin_memcpy(data, data + outer_len, ETH_HLEN + VLAN_HLEN);
		((struct vlan_hdr *)(data + ETH_HLEN))->h_vlan_encapsulated_proto =
			outer_proto_be;
		*l3 = data + ETH_HLEN + VLAN_HLEN;
	} else {
		/* Untagged: both MACs are rewritten below, only the EtherType is new. */
		if (data + outer_len + ETH_HLEN > data_end)
			return XDP_DROP;
		((struct ethhdr *)data)->h_proto = outer_proto_be;
		*l3 = data + ETH_HLEN;
	}
	eth = data;
	set_macs(eth, be, cfg);
	return FURTHER_PROCESSING;
}

/* IPv4 in IPv4 (protocol 4). inner_len: bytes from the inner IP header on. */
static __always_inline int encap_ipip4(struct xdp_md *ctx, const struct packet_desc *pkt,
				       const struct backend *be,
				       const struct lb_config *cfg, __u32 inner_len)
{
	__u32 saddr = bpf_htonl(IPIP_V4_SRC_PREFIX | (flow_tag(&pkt->flow) & 0xffff));
	__u16 tot_len = bpf_htons(inner_len + IPV4_HDR_LEN), w0;
	struct iphdr *iph;
	void *l3, *data_end;
	__u32 sum;
	int action;

	action = push_outer(ctx, pkt, IPV4_HDR_LEN, BE_ETH_P_IP, be, cfg, &l3);
	if (action != FURTHER_PROCESSING)
		return action;
	data_end = (void *)(long)ctx->data_end;
	iph = l3;
	if ((void *)(iph + 1) > data_end)
		return XDP_DROP;
	/* Version/IHL and TOS, then TTL and protocol, as the header's 16-bit words. */
	w0 = bpf_htons(0x4500 | pkt->tos);
	iph->version = 4;
	iph->ihl = 5;
	iph->tos = pkt->tos;
	iph->tot_len = tot_len;
	iph->id = 0;
	iph->frag_off = 0;
	iph->ttl = IPIP_TTL;
	iph->protocol = IPPROTO_IPIP_;
	iph->saddr = saddr;
	iph->daddr = be->addr[0];
	/* The checksum from the values in registers, not read back from the packet. */
	sum = (__u32)w0 + tot_len + bpf_htons((IPIP_TTL << 8) | IPPROTO_IPIP_) +
	      csum_halves(saddr) + csum_halves(be->addr[0]);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	iph->check = (__u16)~sum;
	return FURTHER_PROCESSING;
}

/* IPv6 or IPv4 inside IPv6 (next header 41 or 4). */
static __always_inline int encap_ip6(struct xdp_md *ctx, const struct packet_desc *pkt,
				     const struct backend *be,
				     const struct lb_config *cfg, __u32 inner_len)
{
	__u32 tag = flow_tag(&pkt->flow);
	struct ipv6hdr *ip6h;
	void *l3, *data_end;
	int action;

	action = push_outer(ctx, pkt, IPV6_HDR_LEN, BE_ETH_P_IPV6, be, cfg, &l3);
	if (action != FURTHER_PROCESSING)
		return action;
	data_end = (void *)(long)ctx->data_end;
	ip6h = l3;
	if ((void *)(ip6h + 1) > data_end)
		return XDP_DROP;
	/* version 6, traffic class from the inner header, flow label from the flow hash */
	*(__u32 *)ip6h = bpf_htonl((6u << 28) | ((__u32)pkt->tos << 20) |
				   (tag & 0xfffff));
	ip6h->payload_len = bpf_htons(inner_len);
	ip6h->nexthdr = pkt->flow.family == MPLB_FAMILY_V6 ? IPPROTO_IPV6_
							   : IPPROTO_IPIP_;
	ip6h->hop_limit = IPIP_TTL;
	ip6h->saddr.in6_u.u6_addr32[0] = bpf_htonl(IPIP_V6_SRC_PREFIX0);
	ip6h->saddr.in6_u.u6_addr32[1] = 0;
	ip6h->saddr.in6_u.u6_addr32[2] = 0;
	ip6h->saddr.in6_u.u6_addr32[3] = tag;
	ip6h->daddr.in6_u.u6_addr32[0] = be->addr[0];
	ip6h->daddr.in6_u.u6_addr32[1] = be->addr[1];
	ip6h->daddr.in6_u.u6_addr32[2] = be->addr[2];
	ip6h->daddr.in6_u.u6_addr32[3] = be->addr[3];
	return FURTHER_PROCESSING;
}

#endif /* MPLB_ENCAP_H */
