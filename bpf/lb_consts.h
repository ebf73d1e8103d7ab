/* SPDX-License-Identifier: MIT */
/*
 * Constants of the XDP balancer (bpf/lb.bpf.c). Map layouts, flags and
 * counter indices shared with userspace live in include/mplb/lb_structs.h;
 * this file holds what only the data plane needs.
 */
#ifndef MPLB_LB_CONSTS_H
#define MPLB_LB_CONSTS_H

#include "mplb/lb_packet.h" /* FURTHER_PROCESSING, TCP flags, IPPROTO_TCP_ */

/* vmlinux.h carries types, not the uapi #defines. */
#define ETH_ALEN 6
#define ETH_HLEN 14
#define VLAN_HLEN 4
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8

/* Network-order constants, precomputed so no byte swap runs per packet. */
#define BE_ETH_P_IP bpf_htons(ETH_P_IP)
#define BE_ETH_P_IPV6 bpf_htons(ETH_P_IPV6)
#define BE_ETH_P_8021Q bpf_htons(ETH_P_8021Q)
#define BE_ETH_P_8021AD bpf_htons(ETH_P_8021AD)

#define IPPROTO_IPIP_ 4   /* IPv4 payload (also IPv4-in-IPv6 next header) */
#define IPPROTO_IPV6_ 41  /* IPv6-in-IPv6 next header */
#define IPPROTO_UDP_ 17
/* IPv6 extension headers the balancer walks (at most IPV6_EXT_MAX). */
#define IPV6_EXT_MAX 4
#define IPV6_FRAG_OFFSET 0xfff8 /* fragment header: offset bits */
#define IPV6_FRAG_MF 0x0001
#define IPV6_NH_HOPOPTS 0
#define IPV6_NH_ROUTING 43
#define IPV6_NH_FRAGMENT 44
#define IPV6_NH_DSTOPTS 60

#define IPV4_HDR_LEN 20
#define IPV6_HDR_LEN 40
#define TCP_HDR_LEN 20
#define UDP_HDR_LEN 8
/* IPv4 frag_off field: "more fragments" flag and the offset bits. */
#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF

/*
 * The option walk calls one subprogram per option; every option takes at
 * least one byte, so 40 iterations cover the largest option area.
 */
#define TCP_OPT_MAX_ITERATIONS TCP_MAX_OPTION_SPACE
/*
 * Upper bound for an offset into the frame used to index packet bytes:
 * masking with it lets the verifier bound pointer arithmetic. Frames handled
 * by XDP here fit well below 16 KiB.
 */
#define PKT_OFFSET_MASK 0x3FFF

/* Outer addresses of IPIP (as Katran): 172.16.0.0/16 and 0100::/64 (RFC 6666). */
#define IPIP_V4_SRC_PREFIX 0xAC100000u /* host order */
#define IPIP_V6_SRC_PREFIX0 0x01000000u /* host order, first word */
#define IPIP_TTL 64

/* ICMP too-big replies quote this much of the datagram that did not fit (>= RFC 792's 28). */
#define ICMP_TOO_BIG_QUOTE 64
#define IPPROTO_ICMP_ 1
#define IPPROTO_ICMPV6_ 58

#endif /* MPLB_LB_CONSTS_H */
