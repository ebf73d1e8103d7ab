/* SPDX-License-Identifier: MIT */
/*
 * The socket-lookup tuple of a received TCP segment, for bpf_sk_lookup_tcp /
 * bpf_skc_lookup_tcp: one definition for every tc program that finds the
 * local socket a segment is for. Addresses are in network order (IPv4 in the
 * first 4 bytes); ports in network order.
 */
#ifndef MPLB_BPF_SOCK_TUPLE_H
#define MPLB_BPF_SOCK_TUPLE_H

/* Fill t and return its length for the lookup helpers. */
static __always_inline __u32 sock_tuple_fill(struct bpf_sock_tuple *t, bool ipv6,
					     const void *saddr, const void *daddr,
					     __be16 sport, __be16 dport)
{
	if (!ipv6) {
		__builtin_memcpy(&t->ipv4.saddr, saddr, 4);
		__builtin_memcpy(&t->ipv4.daddr, daddr, 4);
		t->ipv4.sport = sport;
		t->ipv4.dport = dport;
		return sizeof(t->ipv4);
	}
	__builtin_memcpy(t->ipv6.saddr, saddr, 16);
	__builtin_memcpy(t->ipv6.daddr, daddr, 16);
	t->ipv6.sport = sport;
	t->ipv6.dport = dport;
	return sizeof(t->ipv6);
}

#endif /* MPLB_BPF_SOCK_TUPLE_H */
