// SPDX-License-Identifier: MIT
/*
 * Two trivial XDP programs used by the lab and the benchmarks.
 *
 * xdp_pass: returns XDP_PASS. The lab attaches it to every LB host's eth0
 *   (the slot the XDP load balancer will take) and, in native mode, to the
 *   peer veth in the router namespace: native XDP_TX on a veth only delivers
 *   frames when the peer veth has an XDP program (platform cookbook 3.4,
 *   gotcha 1). It is also the "do nothing" floor for benchmarks.
 *
 * xdp_tx_floor: swaps the Ethernet source and destination addresses and
 *   returns XDP_TX: the cheapest program that sends a packet back out, the
 *   floor for a MAC-rewriting load balancer.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define ETH_ALEN 6 /* a macro in if_ether.h, so not in vmlinux.h */

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

SEC("xdp")
int xdp_tx_floor(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	unsigned char tmp[ETH_ALEN];

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return XDP_TX;
}

/* GPL-compatible so that a later program in this object may use any helper. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";
