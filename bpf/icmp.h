/* SPDX-License-Identifier: MIT */
/*
 * ICMP "too big" replies for frames that IPIP would grow past max_pkt_size
 * (as Katran's send_icmp_too_big): fragmentation needed (type 3 code 4) for
 * IPv4 with DF, packet too big (ICMPv6 type 2) for IPv6. The frame is turned
 * around in place: the L2 header (tags kept, MACs swapped), a new IP header
 * from the VIP to the sender, the ICMP header with the MTU that fits, and
 * the first ICMP_TOO_BIG_QUOTE bytes of the datagram. The sender's TCP then
 * lowers its MSS instead of retransmitting into a silent drop.
 */
#ifndef MPLB_ICMP_H
#define MPLB_ICMP_H

#include "lb_consts.h"
#include "parsing.h"

static __always_inline __u16 csum_fold32(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/*
 * Make room for new_l3 bytes (IP + ICMP headers) in front of the old IP
 * header, move the L2 header up, swap its MACs, and cut the frame to
 * l2 + new_l3 + quote. FURTHER_PROCESSING with *l3 at the new IP header,
 * all of new_l3 + quote checked to be in the frame; or XDP_DROP.
 */
static __always_inline int icmp_turn_around(struct xdp_md *ctx, __u32 l2, int new_l3, __u32 bytes,
					    void **l3)
{
	void *data, *data_end;
	__u8 mac[ETH_ALEN];
	int want = (int)l2 + new_l3 + ICMP_TOO_BIG_QUOTE;

	if (bpf_xdp_adjust_head(ctx, -new_l3))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (l2 == ETH_HLEN + 2 * VLAN_HLEN) {
		if (data + new_l3 + ETH_HLEN + 2 * VLAN_HLEN > data_end)
			return XDP_DROP;
		__builtin_memcpy(data, data + new_l3, ETH_HLEN + 2 * VLAN_HLEN);
	} else if (l2 == ETH_HLEN + VLAN_HLEN) {
		if (data + new_l3 + ETH_HLEN + VLAN_HLEN > data_end)
			return XDP_DROP;
		__builtin_memcpy(data, data + new_l3, ETH_HLEN + VLAN_HLEN);
	} else {
		if (data + new_l3 + ETH_HLEN > data_end)
			return XDP_DROP;
		__builtin_memcpy(data, data + new_l3, ETH_HLEN);
	}
	if (data + ETH_HLEN > data_end)
		return XDP_DROP;
	__builtin_memcpy(mac, ((struct ethhdr *)data)->h_dest, ETH_ALEN);
	__builtin_memcpy(((struct ethhdr *)data)->h_dest, ((struct ethhdr *)data)->h_source, ETH_ALEN);
	__builtin_memcpy(((struct ethhdr *)data)->h_source, mac, ETH_ALEN);
	/* The frame is now bytes + new_l3 long (from the caller: pointer sums do not verify). */
	if (bpf_xdp_adjust_tail(ctx, want - (int)(bytes & 0xffff) - new_l3))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + l2 + new_l3 + ICMP_TOO_BIG_QUOTE > data_end)
		return XDP_DROP;
	*l3 = data + l2;
	return FURTHER_PROCESSING;
}

/* IPv4 with DF: fragmentation needed, next-hop MTU mtu. -1: not DF (the caller drops). */
static __always_inline int icmp4_too_big(struct xdp_md *ctx, const struct packet_desc *pkt, __u16 mtu,
					 __u32 bytes)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l2 = pkt->l2_len & 0x1f, saddr, daddr;
	struct iphdr *iph = data + l2, *nip;
	void *l3;
	__u8 *icmp;
	int rc;

	if ((void *)(iph + 1) > data_end || !(iph->frag_off & bpf_htons(IP_DF)) ||
	    data + l2 + ICMP_TOO_BIG_QUOTE > data_end)
		return -1;
	saddr = iph->saddr;
	daddr = iph->daddr;
	rc = icmp_turn_around(ctx, l2, IPV4_HDR_LEN + 8, bytes, &l3);
	if (rc != FURTHER_PROCESSING)
		return rc;
	nip = l3;
	icmp = (__u8 *)(nip + 1);
	nip->version = 4;
	nip->ihl = 5;
	nip->tos = 0xc0; /* internetwork control, as routers send ICMP */
	nip->tot_len = bpf_htons(IPV4_HDR_LEN + 8 + ICMP_TOO_BIG_QUOTE);
	nip->id = 0;
	nip->frag_off = 0;
	nip->ttl = IPIP_TTL;
	nip->protocol = IPPROTO_ICMP_;
	nip->check = 0;
	nip->saddr = daddr; /* the VIP */
	nip->daddr = saddr;
	nip->check = csum_fold32((__u64)bpf_csum_diff(NULL, 0, (__be32 *)nip, IPV4_HDR_LEN, 0) & 0xffffffff);
	icmp[0] = 3; /* destination unreachable */
	icmp[1] = 4; /* fragmentation needed and DF set */
	icmp[2] = icmp[3] = icmp[4] = icmp[5] = 0;
	*(__u16 *)(icmp + 6) = bpf_htons(mtu);
	*(__u16 *)(icmp + 2) = csum_fold32(
		(__u64)bpf_csum_diff(NULL, 0, (__be32 *)icmp, 8 + ICMP_TOO_BIG_QUOTE, 0) & 0xffffffff);
	return XDP_TX;
}

/* IPv6: packet too big, MTU mtu. */
static __always_inline int icmp6_too_big(struct xdp_md *ctx, const struct packet_desc *pkt, __u32 mtu,
					 __u32 bytes)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l2 = pkt->l2_len & 0x1f, saddr[4], daddr[4], tail[2];
	struct ipv6hdr *ip6 = data + l2, *nip;
	void *l3;
	__u8 *icmp;
	__s64 sum;
	int rc;

	if ((void *)(ip6 + 1) > data_end || data + l2 + ICMP_TOO_BIG_QUOTE > data_end)
		return XDP_DROP;
	__builtin_memcpy(saddr, &ip6->saddr, 16);
	__builtin_memcpy(daddr, &ip6->daddr, 16);
	rc = icmp_turn_around(ctx, l2, IPV6_HDR_LEN + 8, bytes, &l3);
	if (rc != FURTHER_PROCESSING)
		return rc;
	nip = l3;
	icmp = (__u8 *)(nip + 1);
	*(__u32 *)nip = bpf_htonl(6u << 28);
	nip->payload_len = bpf_htons(8 + ICMP_TOO_BIG_QUOTE);
	nip->nexthdr = IPPROTO_ICMPV6_;
	nip->hop_limit = 255;
	__builtin_memcpy(&nip->saddr, daddr, 16); /* the VIP */
	__builtin_memcpy(&nip->daddr, saddr, 16);
	icmp[0] = 2; /* packet too big */
	icmp[1] = 0;
	icmp[2] = icmp[3] = 0;
	*(__u32 *)(icmp + 4) = bpf_htonl(mtu);
	/* Pseudo-header (addresses, upper-layer length, next header), then the message. */
	tail[0] = bpf_htonl(8 + ICMP_TOO_BIG_QUOTE);
	tail[1] = bpf_htonl(IPPROTO_ICMPV6_);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&nip->saddr, 32, 0);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)tail, 8, (__wsum)sum);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)icmp, 8 + ICMP_TOO_BIG_QUOTE, (__wsum)sum);
	*(__u16 *)(icmp + 2) = csum_fold32((__u64)sum & 0xffffffff);
	return XDP_TX;
}

#endif /* MPLB_ICMP_H */
