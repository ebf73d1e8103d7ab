// SPDX-License-Identifier: MIT
/*
 * Reference L4 balancer for `mplb lb bench`: a minimal program with the
 * per-packet work of Katran's established-flow path, written for this
 * project (Katran is not packaged for Debian), so that mplb's paths are
 * reported as ratios to a balancer built and run in the same benchmark:
 *
 *   total counter -> Ethernet, IPv4 (no options, no fragments) or IPv6 ->
 *   TCP/UDP ports (no option walk) -> VIP hash lookup -> size check ->
 *   LRU counter -> this CPU's connection LRU (array of maps, fallback LRU)
 *   -> non-SYN: LRU lookup -> real; miss: jhash(source, ports) % ring ->
 *   ring -> real, LRU insert -> router MAC -> VIP and real counters ->
 *   IPIP (IPv4 in IPv4, IPv6/IPv4 in IPv6) -> XDP_TX.
 *
 * It is a yardstick, not a product: no ICMP, no QUIC, no health checks.
 */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "ref_l4lb.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define ETH_ALEN 6
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_IPIP_ 4
#define IPPROTO_IPV6_ 41
#define IPV6_NH_FRAGMENT 44
#define IP_MF_OFFSET 0x3FFF
#define TCP_SYN 0x02
#define JHASH_INITVAL 0xdeadbeef
#define REF_SEED 0x74657374u

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct ref_vip_key);
	__type(value, struct ref_vip_meta);
	__uint(max_entries, 512);
} ref_vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct ref_real);
	__uint(max_entries, REF_MAX_REALS);
} ref_reals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, REF_RING_SIZE * REF_MAX_VIPS);
} ref_rings SEC(".maps");

struct ref_lru_inner {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(key_size, sizeof(struct ref_flow)); /* sizes, not types: libbpf's inner-map rule */
	__uint(value_size, sizeof(struct ref_lru_val));
	__uint(max_entries, REF_LRU_ENTRIES);
};

/* One LRU per CPU, created by userspace (Katran's layout: no LRU shared between CPUs). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, REF_MAX_CPUS);
	__array(values, struct ref_lru_inner);
} ref_lru_mapping SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct ref_flow);
	__type(value, struct ref_lru_val);
	__uint(max_entries, REF_LRU_ENTRIES);
} ref_fallback_lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct ref_ctl);
	__uint(max_entries, 1);
} ref_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct ref_stat);
	__uint(max_entries, REF_MAX_VIPS + REF_CNT_MAX);
} ref_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct ref_stat);
	__uint(max_entries, REF_MAX_REALS);
} ref_real_stats SEC(".maps");

/* Bob Jenkins' lookup3 (as the kernel's jhash.h), the hash Katran rings use. */
static __always_inline __u32 rol32(__u32 w, int s)
{
	return (w << s) | (w >> (32 - s));
}

#define JHASH_MIX(a, b, c)                                  \
	do {                                                \
		a -= c; a ^= rol32(c, 4);  c += b;          \
		b -= a; b ^= rol32(a, 6);  a += c;          \
		c -= b; c ^= rol32(b, 8);  b += a;          \
		a -= c; a ^= rol32(c, 16); c += b;          \
		b -= a; b ^= rol32(a, 19); a += c;          \
		c -= b; c ^= rol32(b, 4);  b += a;          \
	} while (0)

#define JHASH_FINAL(a, b, c)                                \
	do {                                                \
		c ^= b; c -= rol32(b, 14);                  \
		a ^= c; a -= rol32(c, 11);                  \
		b ^= a; b -= rol32(a, 25);                  \
		c ^= b; c -= rol32(b, 16);                  \
		a ^= c; a -= rol32(c, 4);                   \
		b ^= a; b -= rol32(a, 14);                  \
		c ^= b; c -= rol32(b, 24);                  \
	} while (0)

static __always_inline __u32 jhash_2words(__u32 a, __u32 b, __u32 initval)
{
	__u32 c = initval + JHASH_INITVAL + (2 << 2);

	a += c;
	b += c;
	JHASH_FINAL(a, b, c);
	return c;
}

static __always_inline __u32 jhash_4words(const __u32 *k, __u32 initval)
{
	__u32 a, b, c;

	a = b = c = JHASH_INITVAL + (4 << 2) + initval;
	a += k[0];
	b += k[1];
	c += k[2];
	JHASH_MIX(a, b, c);
	a += k[3];
	JHASH_FINAL(a, b, c);
	return c;
}

static __always_inline __u32 flow_hash(const struct ref_flow *f, bool v6)
{
	__u32 ports = ((__u32)f->port16[1] << 16) | f->port16[0];

	if (v6)
		return jhash_2words(jhash_4words(f->src, REF_SEED), ports, REF_SEED);
	return jhash_2words(f->src[0], ports, REF_SEED);
}

static __always_inline __u16 csum_fold(__u32 csum)
{
#pragma clang loop unroll(full)
	for (int i = 0; i < 4; i++)
		if (csum >> 16)
			csum = (csum & 0xffff) + (csum >> 16);
	return ~csum;
}

static __always_inline void count(void *map, __u32 idx, __u64 v2)
{
	struct ref_stat *s = bpf_map_lookup_elem(map, &idx);

	if (s) {
		s->v1 += 1;
		s->v2 += v2;
	}
}

static __always_inline int encap_v4(struct xdp_md *ctx, const struct ref_ctl *ctl,
				    const struct ref_flow *f, const struct ref_real *real,
				    __u8 tos, __u16 pkt_bytes)
{
	struct ethhdr *new_eth, *old_eth;
	struct iphdr *iph;
	void *data, *data_end;
	__u32 csum = 0;
	__u16 *w;

	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr)))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	new_eth = data;
	iph = data + sizeof(struct ethhdr);
	old_eth = data + sizeof(struct iphdr);
	if ((void *)(iph + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(new_eth->h_source, old_eth->h_dest, ETH_ALEN);
	__builtin_memcpy(new_eth->h_dest, ctl->mac, ETH_ALEN);
	new_eth->h_proto = bpf_htons(ETH_P_IP);
	iph->version = 4;
	iph->ihl = 5;
	iph->frag_off = 0;
	iph->protocol = IPPROTO_IPIP_;
	iph->check = 0;
	iph->tos = tos;
	iph->tot_len = bpf_htons(pkt_bytes + sizeof(struct iphdr));
	iph->id = 0;
	iph->daddr = real->addr[0];
	/* 172.16.0.0/16 with the flow's source port and address mixed in, for RSS on the real. */
	iph->saddr = ((((__u32)f->port16[0] << 16) ^ f->src[0]) & bpf_htonl(0x0000ffff)) |
		     bpf_htonl(0xac100000);
	iph->ttl = 64;
	w = (__u16 *)iph;
#pragma clang loop unroll(full)
	for (int i = 0; i < (int)sizeof(struct iphdr) / 2; i++)
		csum += w[i];
	iph->check = csum_fold(csum);
	return XDP_TX;
}

static __always_inline int encap_v6(struct xdp_md *ctx, const struct ref_ctl *ctl,
				    const struct ref_flow *f, const struct ref_real *real,
				    bool inner_v6, __u8 tc, __u16 payload_len, __u32 hash)
{
	struct ethhdr *new_eth, *old_eth;
	struct ipv6hdr *ip6h;
	void *data, *data_end;

	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct ipv6hdr)))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	new_eth = data;
	ip6h = data + sizeof(struct ethhdr);
	old_eth = data + sizeof(struct ipv6hdr);
	if ((void *)(ip6h + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(new_eth->h_source, old_eth->h_dest, ETH_ALEN);
	__builtin_memcpy(new_eth->h_dest, ctl->mac, ETH_ALEN);
	new_eth->h_proto = bpf_htons(ETH_P_IPV6);
	*(__u32 *)ip6h = bpf_htonl((6u << 28) | ((__u32)tc << 20) | (hash & 0xfffff));
	ip6h->payload_len = bpf_htons(payload_len);
	ip6h->nexthdr = inner_v6 ? IPPROTO_IPV6_ : IPPROTO_IPIP_;
	ip6h->hop_limit = 64;
	ip6h->saddr.in6_u.u6_addr32[0] = bpf_htonl(0x01000000);
	ip6h->saddr.in6_u.u6_addr32[1] = 0;
	ip6h->saddr.in6_u.u6_addr32[2] = 0;
	ip6h->saddr.in6_u.u6_addr32[3] = f->src[3] ^ f->port16[0];
	__builtin_memcpy(&ip6h->daddr, real->addr, 16);
	return XDP_TX;
}

SEC("xdp")
int ref_l4lb(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ref_flow flow = {};
	struct ref_vip_key vk = {};
	struct ref_vip_meta *vip;
	struct ref_real *real = NULL;
	struct ref_lru_val *lv, nv = {};
	struct ref_ctl *ctl;
	void *lru;
	__u32 cpu, pos = 0, hash = 0, zero = 0, l4_off;
	__u16 pkt_bytes, *ports;
	__u8 tos, tcp_flags = 0;
	bool v6;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	count(&ref_stats, REF_MAX_VIPS + REF_CNT_TOTAL, data_end - data);
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > data_end)
			return XDP_DROP;
		if (iph->ihl != 5 || (iph->frag_off & bpf_htons(IP_MF_OFFSET)))
			return XDP_DROP;
		v6 = false;
		flow.proto = iph->protocol;
		flow.src[0] = iph->saddr;
		flow.dst[0] = iph->daddr;
		tos = iph->tos;
		pkt_bytes = bpf_ntohs(iph->tot_len);
		l4_off = sizeof(*eth) + sizeof(*iph);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = (void *)(eth + 1);

		if ((void *)(ip6h + 1) > data_end)
			return XDP_DROP;
		if (ip6h->nexthdr == IPV6_NH_FRAGMENT)
			return XDP_DROP;
		v6 = true;
		flow.proto = ip6h->nexthdr;
		__builtin_memcpy(flow.src, &ip6h->saddr, 16);
		__builtin_memcpy(flow.dst, &ip6h->daddr, 16);
		tos = (bpf_ntohs(*(__u16 *)ip6h) >> 4) & 0xff;
		pkt_bytes = bpf_ntohs(ip6h->payload_len);
		l4_off = sizeof(*eth) + sizeof(*ip6h);
	} else {
		return XDP_PASS;
	}
	if (flow.proto == IPPROTO_TCP_) {
		struct tcphdr *th = data + l4_off;

		if ((void *)(th + 1) > data_end)
			return XDP_DROP;
		tcp_flags = ((__u8 *)th)[13];
	} else if (flow.proto == IPPROTO_UDP_) {
		if (data + l4_off + sizeof(struct udphdr) > data_end)
			return XDP_DROP;
	} else {
		return XDP_PASS;
	}
	ports = data + l4_off;
	flow.port16[0] = ports[0];
	flow.port16[1] = ports[1];

	__builtin_memcpy(vk.addr, flow.dst, 16);
	vk.port = flow.port16[1];
	vk.proto = flow.proto;
	vip = bpf_map_lookup_elem(&ref_vips, &vk);
	if (!vip)
		return XDP_PASS;
	if (data_end - data > REF_MAX_PKT_SIZE)
		return XDP_DROP;
	count(&ref_stats, REF_MAX_VIPS + REF_CNT_LRU, 0);

	cpu = bpf_get_smp_processor_id();
	lru = bpf_map_lookup_elem(&ref_lru_mapping, &cpu);
	if (!lru) {
		lru = &ref_fallback_lru;
		count(&ref_stats, REF_MAX_VIPS + REF_CNT_FALLBACK_LRU, 0);
	}
	if (!(tcp_flags & TCP_SYN)) {
		lv = bpf_map_lookup_elem(lru, &flow);
		if (lv) {
			pos = lv->pos;
			real = bpf_map_lookup_elem(&ref_reals, &pos);
		}
	}
	if (!real) {
		__u32 slot, *rp;

		count(&ref_stats, REF_MAX_VIPS + REF_CNT_LRU_MISS, 0);
		hash = flow_hash(&flow, v6);
		slot = REF_RING_SIZE * vip->vip_num + hash % REF_RING_SIZE;
		rp = bpf_map_lookup_elem(&ref_rings, &slot);
		if (!rp || *rp == 0)
			return XDP_DROP;
		pos = *rp;
		real = bpf_map_lookup_elem(&ref_reals, &pos);
		if (!real)
			return XDP_DROP;
		nv.pos = pos;
		bpf_map_update_elem(lru, &flow, &nv, BPF_ANY);
	}
	ctl = bpf_map_lookup_elem(&ref_ctl, &zero);
	if (!ctl)
		return XDP_DROP;
	count(&ref_stats, vip->vip_num, pkt_bytes);
	count(&ref_real_stats, pos, pkt_bytes);
	if (real->flags & REF_REAL_F_IPV6)
		return encap_v6(ctx, ctl, &flow, real, v6, tos,
				v6 ? pkt_bytes + sizeof(struct ipv6hdr) : pkt_bytes, hash);
	if (v6)
		return XDP_DROP; /* IPv6 in IPv4 is not a thing here */
	return encap_v4(ctx, ctl, &flow, real, tos, pkt_bytes);
}
