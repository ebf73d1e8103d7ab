/* SPDX-License-Identifier: MIT */
/*
 * Balancer configuration: INI file (libinih) -> struct lb_cfg, then
 * validation. Format, with every key: lb/examples/lb.ini.
 */
#ifndef MPLB_LB_CONFIG_H
#define MPLB_LB_CONFIG_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "mplb/lb_structs.h"

#define LB_CFG_MAX_IFACES 8
#define LB_CFG_MAX_VIPS 64
#define LB_CFG_NAME_LEN 64

enum lb_xdp_mode { LB_XDP_NATIVE, LB_XDP_GENERIC };

struct lb_cfg_vip {
	char name[LB_CFG_NAME_LEN];
	int family; /* MPLB_FAMILY_* */
	uint32_t addr[4]; /* network order */
	uint16_t port;    /* host order */
	uint8_t proto;
	uint32_t flags; /* VIP_F_* strategy flags */
	uint16_t join_port_base, join_port_count;
	uint8_t unknown_token;
	bool unknown_token_set; /* given in the file (else: hold with [sync], ring without) */
	int line;
};

struct lb_cfg_backend {
	char name[LB_CFG_NAME_LEN];
	long id; /* -1 until set */
	int family;
	uint32_t addr[4];
	bool has_addr, has_mac;
	uint8_t mac[6];
	uint32_t weight;
	bool draining;
	bool health_down; /* set by the health overlay: draining because its checks fail */
	/* Health check target (`health = ADDR:PORT`); family 0 = no check. */
	struct sockaddr_storage health;
};

struct lb_cfg {
	char path[256];
	char name[LB_CFG_NAME_LEN]; /* pin directory /sys/fs/bpf/mplb/<name> */
	char ifaces[LB_CFG_MAX_IFACES][IF_NAMESIZE];
	int n_ifaces;
	enum lb_xdp_mode xdp_mode;
	uint8_t forwarding; /* LB_FWD_* */
	char redirect_iface[IF_NAMESIZE]; /* empty: XDP_TX */
	uint32_t ring_size, max_vips, token_entries, flow_entries, lru_entries;
	uint32_t max_pkt_size;
	bool has_tsecr_key;
	uint64_t tsecr_key[2];
	/* Backend health checks (lb_health.h): period, timeout, hysteresis. */
	uint32_t health_interval_ms, health_timeout_ms, health_fall, health_rise;
	/* Seconds a backend deleted from the config keeps receiving the
	 * connections pinned to it (join port, token, TSecr) before its entry goes. */
	uint32_t remove_grace_s;
	/* On SIGTERM/SIGINT: leave the data plane attached with its state pinned
	 * (a restart or upgrade picks it up), or detach and unpin. */
	bool detach_on_exit;
	/* Routing table where the balancer keeps a route per VIP while it can
	 * forward, for BIRD/FRR to announce (0 = off). */
	uint32_t announce_table;
	/* Prometheus /metrics on this address ([lb] metrics = ADDR:PORT; off by default). */
	struct sockaddr_storage metrics;
	bool has_metrics;
	/* [sync]: where agents push tokens (lb_sync.h), the master key, policy. */
#define LB_CFG_MAX_SYNCS 4
	struct sockaddr_storage syncs[LB_CFG_MAX_SYNCS];
	int n_syncs;
	uint8_t sync_key[32];
	bool has_sync_key;
	uint32_t token_hold_ms;  /* unknown_token = hold: how long [1500] */
	uint32_t sync_ttl_s;     /* a pushed token not refreshed for this long is swept [30] */
	uint32_t sync_max_skew_s; /* freshness window of a message's sent time [30] */
	struct lb_cfg_vip vips[LB_CFG_MAX_VIPS];
	int n_vips;
	struct lb_cfg_backend backends[MPLB_MAX_BACKENDS];
	int n_backends;
};

/*
 * Parse path into *cfg (defaults first). 0 on success; -1 after printing
 * "FILE: ..." messages for every problem found.
 */
int lb_cfg_load(const char *path, struct lb_cfg *cfg);
/* Semantic checks (conflicts, ranges, interfaces); 0 or -1 with messages. */
int lb_cfg_validate(const struct lb_cfg *cfg);
/* Parse "aa:bb:cc:dd:ee:ff". */
int lb_parse_mac(const char *s, uint8_t mac[6]);
/* Strategy string ("hash", "port", "token", "tsecr", or a '+'/',' list) -> VIP_F_*. */
int lb_parse_strategy(const char *s, uint32_t *flags);
/* Human name of the flags, "hash" when none. */
const char *lb_strategy_str(uint32_t flags, char *buf, size_t len);

#endif /* MPLB_LB_CONFIG_H */
