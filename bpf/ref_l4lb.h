/* SPDX-License-Identifier: MIT */
/*
 * Keys and values of the reference L4 balancer (bpf/ref_l4lb.bpf.c), shared
 * with the benchmark that configures it (lb/lb_bench.c). The layout follows
 * Katran's: a VIP map, reals numbered from 1, one ring of REF_RING_SIZE slots
 * per VIP, a connection LRU per CPU.
 */
#ifndef MPLB_REF_L4LB_H
#define MPLB_REF_L4LB_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define REF_RING_SIZE 65537
#define REF_MAX_VIPS 16
#define REF_MAX_REALS 4096
#define REF_MAX_CPUS 128
#define REF_LRU_ENTRIES 8000 /* per CPU */
#define REF_MAX_PKT_SIZE 1514
/* Counters after the per-VIP ones (index REF_MAX_VIPS + n). */
#define REF_CNT_TOTAL 0
#define REF_CNT_LRU 1
#define REF_CNT_LRU_MISS 2
#define REF_CNT_FALLBACK_LRU 3
#define REF_CNT_MAX 4

struct ref_vip_key {
	__u32 addr[4]; /* IPv4 in addr[0] */
	__u16 port;    /* network order */
	__u8 proto;
	__u8 pad;
};

struct ref_vip_meta {
	__u32 flags;
	__u32 vip_num;
};

struct ref_flow {
	__u32 src[4];
	__u32 dst[4];
	__u16 port16[2]; /* source, destination; network order */
	__u8 proto;
	__u8 pad[3];
};

struct ref_lru_val {
	__u32 pos;
	__u32 pad;
	__u64 atime;
};

#define REF_REAL_F_IPV6 1u
struct ref_real {
	__u32 addr[4];
	__u8 flags;
	__u8 pad[3];
};

struct ref_ctl {
	__u8 mac[6]; /* next hop toward the reals */
	__u8 pad[2];
};

struct ref_stat {
	__u64 v1;
	__u64 v2;
};

#endif /* MPLB_REF_L4LB_H */
