/* SPDX-License-Identifier: MIT */
/*
 * mplb load balancer: map keys, map values, flags and counter indices shared
 * by the XDP program (bpf/lb.bpf.c) and its userspace control plane (lb/).
 * This is the one definition; neither side keeps a copy.
 *
 * Compiles in BPF (after vmlinux.h, which defines __u8..__u64) and in
 * userspace C11 (linux/types.h). Every struct is laid out without implicit
 * padding so both compilers agree byte for byte. Addresses and ports are in
 * network byte order, exactly as on the wire; everything else is host order.
 */
#ifndef MPLB_LB_STRUCTS_H
#define MPLB_LB_STRUCTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* ---- Sizes (defaults; userspace overrides max_entries before load) ---- */
#define MPLB_RING_SIZE_DEFAULT 65537 /* prime, as Maglev and Katran */
#define MPLB_MAX_VIPS_DEFAULT 16
/* Backend ids are 0..MPLB_MAX_BACKENDS-1: the tsecr id field is 8 bits. */
#define MPLB_MAX_BACKENDS 256
#define MPLB_TOKEN_ENTRIES_DEFAULT 65536
#define MPLB_FLOW_ENTRIES_DEFAULT 65536
#define MPLB_LRU_ENTRIES_DEFAULT 65536
/* Ring slot / map value meaning "no backend" (an empty ring). */
#define MPLB_NO_BACKEND 0xffffffffu

/*
 * Version of the pinned map layout (what the maps mean, beyond the sizes the
 * kernel checks). A restarted `mplb lb run` reuses pinned maps only when the
 * lb_layout map says this number; bump it when a struct below changes.
 */
#define MPLB_LB_LAYOUT_VERSION 1

/* ---- Address families in keys (not AF_*: BPF has no libc) ---- */
#define MPLB_FAMILY_V4 4
#define MPLB_FAMILY_V6 6

/*
 * VIP lookup key. IPv4 uses addr[0], the rest is zero. port 0 never names a
 * service: it keys the fragment entry of (address, proto), used for every
 * IPv4 fragment because a non-first fragment carries no port.
 */
struct vip_key {
	__u32 addr[4];
	__u16 port; /* network order */
	__u8 proto; /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 family;
};

/* Per-VIP strategy flags (vip_meta.flags). A strategy name sets a few. */
#define VIP_F_PORT (1u << 0)       /* join ports [base, base+count) pick backend port-base */
#define VIP_F_TOKEN (1u << 1)      /* learn tokens from MP_CAPABLE, route MP_JOIN by token */
#define VIP_F_TSECR (1u << 2)      /* non-SYN packets follow the id in TSecr */
#define VIP_F_LRU (1u << 3)        /* per-flow LRU connection table (Katran-style) */
#define VIP_F_JOIN_ENTRY (1u << 8) /* this key is a join port of the VIP, not its service port */
#define VIP_F_FRAG_ENTRY (1u << 9) /* this key is the (address, proto) fragment entry */

/* What to do with an MP_JOIN SYN whose token is unknown (vip_meta.unknown_token). */
#define UNKNOWN_TOKEN_DROP 0
#define UNKNOWN_TOKEN_RING 1
/* Drop it (counted) for up to lb_config.token_hold_ms after that token's
 * first SYN, so the client's retransmission meets a table the backend's
 * agent has filled meanwhile (token sync); then take the ring. */
#define UNKNOWN_TOKEN_HOLD 2

struct vip_meta {
	__u32 vip_num; /* index of the VIP's ring and counters */
	__u32 flags;   /* VIP_F_* */
	__u16 join_port_base; /* host order */
	__u16 join_port_count;
	__u8 unknown_token; /* UNKNOWN_TOKEN_* */
	__u8 pad[3];
};

/* Backend (real) definition, indexed by backend id in the backends array. */
#define BACKEND_F_PRESENT (1u << 0)  /* configured: an all-zero slot is unused */
#define BACKEND_F_DRAINING (1u << 1) /* no new ring flows; pinned flows still go there */

struct backend {
	__u32 addr[4]; /* encapsulation destination (IPIP mode) */
	__u8 mac[6];   /* next-hop MAC: backends share the balancer's segment */
	__u8 family;   /* MPLB_FAMILY_* of addr */
	__u8 flags;    /* BACKEND_F_* */
};

/*
 * What the control plane knows of a backend id, kept in a pinned map so that
 * a restarted `mplb lb run` and `mplb lb stats -n NAME` know it too: the
 * config's name, and when the backend left the config (its entry stays,
 * draining, for remove_grace_s). The data plane never reads it.
 */
#define MPLB_NAME_LEN 64
struct backend_meta {
	char name[MPLB_NAME_LEN];
	__u64 removed_ns; /* CLOCK_MONOTONIC (= bpf_ktime_get_ns) it left the config; 0: in it */
	__u32 weight;
	__u8 health_down; /* drained by the balancer's health checks (kept across restarts) */
	__u8 pad[3];
};

/* A VIP number's config name (vip_info[vip_num]), for stats without the file. */
struct vip_info {
	char name[MPLB_NAME_LEN];
};

/* 5-tuple (IPv4 in src[0]/dst[0]). */
struct flow_key {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport; /* network order */
	__u16 dport;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};

/*
 * Key -> token cache slot (key_tokens, per CPU, direct-mapped): the
 * MP_CAPABLE repeats of one connection arrive on one CPU (RSS), so a
 * per-CPU array answers them without SHA-256, a lock or an allocation.
 */
#define MPLB_KEY_CACHE_ENTRIES 4096 /* power of two */
struct key_token {
	__u64 key;
	__u32 token;
	__u32 valid;
};

/*
 * TSecr -> decoded backend id cache slot (tsecr_cache, per CPU,
 * direct-mapped). Every segment a client sends within one tick of the
 * server's clock echoes the same TSval, so one decode (two SipHash) serves
 * them all. key_tag ties the slot to the key it was decoded with (never 0:
 * an empty slot matches nothing), so a new key invalidates every slot.
 */
#define MPLB_TSECR_CACHE_ENTRIES 4096 /* power of two */
struct tsecr_slot {
	__u64 key_tag;
	__u32 tsecr;
	__s32 id; /* TSECR_NO_ID included */
};

/* Token map value: token -> backend learned from an MP_CAPABLE ACK. */
#define TOKEN_F_COLLIDED (1u << 0) /* seen on two backends: joins for it are dropped */

struct token_entry {
	__u64 learned_ns; /* bpf_ktime_get_ns() at first insertion */
	__u32 backend_id; /* first backend that taught the token */
	__u16 flags;      /* TOKEN_F_* */
	__u16 collisions; /* saturating count of conflicting sightings */
};

/* Flow map / LRU value: a subflow pinned to a backend. */
struct flow_entry {
	__u64 created_ns;
	__u32 backend_id;
	__u32 pad;
};

/* Forwarding modes (lb_config.forwarding). */
#define LB_FWD_DSR 0  /* rewrite MACs, frame goes to the backend on the same segment */
#define LB_FWD_IPIP 1 /* IPIP / IP6IP6 / IP4-in-IP6, outer source synthesised per flow */

/* How a forwarded frame leaves (lb_config.xmit). */
#define LB_XMIT_TX 0       /* XDP_TX, out the interface it came in on */
#define LB_XMIT_REDIRECT 1 /* bpf_redirect(redirect_ifindex) */

/* Run-time configuration, entry 0 of config_map. Changeable on reload. */
struct lb_config {
	__u8 src_mac[6]; /* the egress interface's MAC */
	__u8 forwarding; /* LB_FWD_* */
	__u8 xmit;       /* LB_XMIT_* */
	__u32 redirect_ifindex;
	__u32 max_pkt_size; /* IPIP: drop (counted) if the encapsulated frame exceeds it; 0 = no check */
	__u32 token_hold_ms; /* UNKNOWN_TOKEN_HOLD: how long an unknown token's SYNs are held */
	__u64 tsecr_key[2]; /* SipHash key of the tsecr encoding (include/mplb/tsecr.h) */
};

/* Per-CPU counter (per VIP, per backend, per lb_stat index). */
struct lb_counter {
	__u64 packets;
	__u64 bytes;
};

/*
 * Counter indices of the lb_stats map, with the name `mplb lb stats` prints
 * and the group it belongs to. One X-macro so the enum and the names cannot
 * drift apart.
 *   path  = how the backend was chosen (exactly one per forwarded packet)
 *   event = something noticed on the way (zero or more per packet)
 *   pass  = XDP_PASS reasons, drop = XDP_DROP reasons, xmit = how it left
 * The *_learned / *_started / *_deleted events count every entry that enters
 * or leaves an LRU table by a write; the control plane derives the
 * *_evicted counts from them (lb/lb_evict.c): evicted = in - deleted - present.
 * The control plane's own writes have their own counters (join_flow_pushed,
 * join_flow_deleted, token_swept, *_evicted): its read-modify-write of a
 * per-CPU slot would lose the data plane's increments made meanwhile.
 */
#define LB_STATS(X)                                                          \
	X(PATH_RING, "ring", "path")                                         \
	X(PATH_FRAG_RING, "frag_ring", "path")                               \
	X(PATH_PORT, "port", "path")                                         \
	X(PATH_TOKEN_HIT, "token_hit", "path")                               \
	X(PATH_TOKEN_PUSHED, "token_pushed", "path")                         \
	X(PATH_TOKEN_MISS_RING, "token_miss_ring", "path")                   \
	X(PATH_FLOW_HIT, "join_flow_hit", "path")                            \
	X(PATH_TSECR, "tsecr", "path")                                       \
	X(PATH_LRU_HIT, "lru_hit", "path")                                   \
	X(PATH_FALLBACK, "fallback_ring", "path")                            \
	X(EV_TOKEN_LEARNED, "token_learned", "event")                        \
	X(EV_TOKEN_REFRESHED, "token_refreshed", "event")                    \
	X(EV_TOKEN_COLLISION, "token_collision", "event")                    \
	X(EV_TOKEN_MISS, "token_miss", "event")                              \
	X(EV_TOKEN_HOLD_EXPIRED, "token_hold_expired", "event")              \
	X(EV_TSECR_NO_ID, "tsecr_no_id", "event")                            \
	X(EV_LRU_MISS, "lru_miss", "event")                                  \
	X(EV_TCPOPT_MALFORMED, "tcpopt_malformed", "event")                  \
	X(EV_IPV4_OPTIONS, "ipv4_options", "event")                          \
	X(EV_IPV4_FRAGMENT, "ipv4_fragment", "event")                        \
	X(EV_IPV6_FRAGMENT, "ipv6_fragment", "event")                        \
	X(EV_IPV6_EXT_HDR, "ipv6_ext_hdr_walked", "event")                   \
	X(EV_STALE_BACKEND, "stale_backend", "event")                        \
	X(PASS_NOT_IP, "not_ip", "pass")                                     \
	X(PASS_NOT_VIP, "not_vip", "pass")                                   \
	X(PASS_FRAG_NOT_VIP, "frag_not_vip", "pass")                         \
	X(PASS_IPV6_EXT_HDR, "ipv6_ext_hdr", "pass")                         \
	X(PASS_MALFORMED_L3, "malformed_l3", "pass")                         \
	X(DROP_MALFORMED_L4, "malformed_l4", "drop")                         \
	X(DROP_TOKEN_UNKNOWN, "token_unknown", "drop")                       \
	X(DROP_TOKEN_COLLIDED, "token_collided", "drop")                     \
	X(DROP_TOKEN_HELD, "token_held", "drop")                             \
	X(DROP_PORT_NO_BACKEND, "port_no_backend", "drop")                   \
	X(DROP_RING_EMPTY, "ring_empty", "drop")                             \
	X(DROP_NO_CONFIG, "no_config", "drop")                               \
	X(DROP_ENCAP_FAMILY, "encap_family", "drop")                         \
	X(DROP_ENCAP_FAILED, "encap_failed", "drop")                         \
	X(DROP_TOO_BIG, "too_big", "drop")                                   \
	X(XMIT_TX, "tx", "xmit")                                             \
	X(XMIT_REDIRECT, "redirect", "xmit")                                 \
	X(XMIT_ICMP_TOO_BIG, "icmp_too_big", "xmit")                         \
	X(EV_TOKEN_SWEPT, "token_swept", "event")                            \
	X(EV_LRU_LEARNED, "lru_learned", "event")                            \
	X(EV_FLOW_LEARNED, "join_flow_learned", "event")                     \
	X(EV_FLOW_PUSHED, "join_flow_pushed", "event")                       \
	X(EV_FLOW_DELETED, "join_flow_deleted", "event")                     \
	X(EV_HOLD_STARTED, "token_hold_started", "event")                    \
	X(EV_TOKEN_EVICTED, "token_evicted", "event")                        \
	X(EV_HOLD_EVICTED, "token_hold_evicted", "event")                    \
	X(EV_FLOW_EVICTED, "join_flow_evicted", "event")                     \
	X(EV_LRU_EVICTED, "lru_evicted", "event")

#define LB_STAT_ENUM_(id, name, group) LB_STAT_##id,
enum lb_stat { LB_STATS(LB_STAT_ENUM_) LB_STAT_MAX };
#undef LB_STAT_ENUM_

/*
 * Flow hash for the Maglev ring: a murmur3-style mix of the 5-tuple. Plain
 * integer arithmetic so the control plane (or a simulator) computes the same
 * value. Fragments hash (src, dst, proto) only, ports zero.
 */
static inline __u32 lb_mix32(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51u;
	k = (k << 15) | (k >> 17);
	k *= 0x1b873593u;
	h ^= k;
	h = (h << 13) | (h >> 19);
	return h * 5 + 0xe6546b64u;
}

static inline __u32 lb_fmix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* lb_mix32(h, 0): an IPv4 flow's three zero words cost a rotate and a multiply-add each. */
static inline __u32 lb_mix32_zero(__u32 h)
{
	h = (h << 13) | (h >> 19);
	return h * 5 + 0xe6546b64u;
}

static inline __u32 lb_flow_hash(const struct flow_key *f)
{
	__u32 h = 0x6d706c62u; /* "mplb" */

	if (f->family == MPLB_FAMILY_V4) { /* the same value, without the zero words' work */
		h = lb_mix32(h, f->src[0]);
		h = lb_mix32_zero(lb_mix32_zero(lb_mix32_zero(h)));
		h = lb_mix32(h, f->dst[0]);
		h = lb_mix32_zero(lb_mix32_zero(lb_mix32_zero(h)));
	} else {
		h = lb_mix32(h, f->src[0]);
		h = lb_mix32(h, f->src[1]);
		h = lb_mix32(h, f->src[2]);
		h = lb_mix32(h, f->src[3]);
		h = lb_mix32(h, f->dst[0]);
		h = lb_mix32(h, f->dst[1]);
		h = lb_mix32(h, f->dst[2]);
		h = lb_mix32(h, f->dst[3]);
	}
	h = lb_mix32(h, ((__u32)f->sport << 16) | f->dport);
	h = lb_mix32(h, f->proto);
	return lb_fmix32(h);
}

/*
 * a % d without a division (Lemire, Kaser, Kurz, "Faster remainder by direct
 * computation", 2019): exact for every 32-bit a and 0 < d < 2^32, with
 * m = lb_fastmod_m(d) computed once. The 64x64 -> high 64 product is taken
 * in 32-bit halves, so BPF (which has no 128-bit multiply) runs it too.
 * The ring's size is a load-time value, so % would be a real division.
 */
static inline __u64 lb_fastmod_m(__u32 d)
{
	return ~0ULL / d + 1;
}

/* The XDP program's ring geometry: its size and the size's fastmod constant, always together. */
#define LB_RODATA_SET_RING(rodata, rs) \
	((rodata)->ring_size = (rs), (rodata)->ring_m = lb_fastmod_m(rs))

static inline __u32 lb_fastmod(__u32 a, __u64 m, __u32 d)
{
	__u64 low = m * a;

	return (__u32)((((low >> 32) * d) + (((low & 0xffffffffULL) * d) >> 32)) >> 32);
}

#endif /* MPLB_LB_STRUCTS_H */
