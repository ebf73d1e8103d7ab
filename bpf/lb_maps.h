/* SPDX-License-Identifier: MIT */
/*
 * Maps of the XDP balancer. max_entries here are defaults for tests; the
 * control plane sets them from the config (bpf_map__set_max_entries) between
 * skeleton open and load. Keys and values: include/mplb/lb_structs.h.
 */
#ifndef MPLB_LB_MAPS_H
#define MPLB_LB_MAPS_H

#include "mplb/lb_structs.h"
#include "mplb/token_sync.h"

/* (address, port, proto) -> VIP; join ports and fragment entries too. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct vip_key);
	__type(value, struct vip_meta);
	__uint(max_entries, 1024);
} vip_map SEC(".maps");

/* Maglev rings, one after the other: slot vip_num * ring_size + hash % ring_size. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, MPLB_MAX_VIPS_DEFAULT * MPLB_RING_SIZE_DEFAULT);
} ch_rings SEC(".maps");

/* Backend id -> where to send. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct backend);
	__uint(max_entries, MPLB_MAX_BACKENDS);
} backends SEC(".maps");

/*
 * Server token -> backend, learned from MP_CAPABLE ACKs. LRU so a flood of
 * handshakes evicts the oldest tokens instead of failing inserts.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, struct token_entry);
	__uint(max_entries, MPLB_TOKEN_ENTRIES_DEFAULT);
} token_map SEC(".maps");

/*
 * Tokens the backends' agents pushed (token sync, lb/lb_sync.c): only a
 * backend's own authenticated messages write here, and a plain hash never
 * evicts, so a flood of forged MP_CAPABLE ACKs (which only reach token_map)
 * cannot push a live connection's token out. Looked up before token_map.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct token_entry);
	__uint(max_entries, MPLB_TOKEN_ENTRIES_DEFAULT);
} token_sync SEC(".maps");

/*
 * MPTCP key -> its token, so the MP_CAPABLE repeats of a connection's first
 * segments do not run SHA-256 again (struct key_token). A cache of a pure
 * function: not pinned; an overwritten or lost slot is computed again.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct key_token);
	__uint(max_entries, MPLB_KEY_CACHE_ENTRIES);
} key_tokens SEC(".maps");

/* TSecr -> backend id, decoded once per server clock tick (struct tsecr_slot); not pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct tsecr_slot);
	__uint(max_entries, MPLB_TSECR_CACHE_ENTRIES);
} tsecr_cache SEC(".maps");

/* First sighting of an unknown token's MP_JOIN SYN (UNKNOWN_TOKEN_HOLD). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16384);
} token_hold SEC(".maps");

/* Join subflows routed by token: their later packets carry no token. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct flow_key);
	__type(value, struct flow_entry);
	__uint(max_entries, MPLB_FLOW_ENTRIES_DEFAULT);
} join_flows SEC(".maps");

/*
 * Optional connection table for ring-routed flows (Katran's LRU). One hash
 * with per-CPU LRU lists (BPF_F_NO_COMMON_LRU): no cross-CPU lock on
 * eviction, and a flow that RSS moves to another CPU is still found.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct flow_key);
	__type(value, struct flow_entry);
	__uint(max_entries, MPLB_LRU_ENTRIES_DEFAULT);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
} conn_lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_config);
	__uint(max_entries, 1);
} config_map SEC(".maps");

/* Layout version of these maps (entry 0: MPLB_LB_LAYOUT_VERSION), for restarts. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} lb_layout SEC(".maps");

/* Control-plane records (names, removal times); never read by the program. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct backend_meta);
	__uint(max_entries, MPLB_MAX_BACKENDS);
} backend_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct vip_info);
	__uint(max_entries, MPLB_MAX_VIPS_DEFAULT);
} vip_info SEC(".maps");

/* Token sync: per sender id (and 256: messages no id can own) replay state and counts. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct sync_peer);
	__uint(max_entries, MPLB_MAX_BACKENDS + 1);
} sync_peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_counter);
	__uint(max_entries, LB_STAT_MAX);
} lb_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_counter);
	__uint(max_entries, MPLB_MAX_VIPS_DEFAULT);
} vip_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_counter);
	__uint(max_entries, MPLB_MAX_BACKENDS);
} backend_stats SEC(".maps");

#endif /* MPLB_LB_MAPS_H */
