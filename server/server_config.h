/* SPDX-License-Identifier: MIT */
/*
 * Server agent configuration: INI file (libinih) -> struct srv_cfg, then
 * validation that needs no root (srv_cfg_validate) and checks of the
 * running system (server_checks.c). Format, every key: server/examples/server.ini.
 */
#ifndef MPLB_SERVER_CONFIG_H
#define MPLB_SERVER_CONFIG_H

#include <net/if.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdint.h>

#define SRV_CFG_NAME_LEN 48
#define SRV_CFG_MAX_VIPS 16
#define SRV_CFG_MAX_ADDRS 8
#define SRV_CFG_MAX_IFACES 8
/* The balancer's backend id space: the tsecr id field is 8 bits (include/mplb/tsecr.h). */
#define SRV_MAX_ID 255

/* Scheme bits of a VIP; `scheme = tsecr+port` sets two. */
#define SRV_SCHEME_PER_SERVER (1u << 0)
#define SRV_SCHEME_PORT (1u << 1)
#define SRV_SCHEME_TSECR (1u << 2)
/* Joins go to the VIP itself and the balancer routes them by token: the
 * agent pushes the VIP's tokens and join subflows to the LB hosts ([sync]). */
#define SRV_SCHEME_TOKEN (1u << 3)

/* What a per-server VIP does with its initial subflow once a join to the own address is up. */
enum srv_initial_subflow { SRV_INITIAL_KEEP, SRV_INITIAL_BACKUP, SRV_INITIAL_CLOSE };

struct srv_addr {
	int family; /* AF_INET / AF_INET6 */
	uint8_t addr[16];
};

struct srv_cfg_vip {
	char name[SRV_CFG_NAME_LEN];
	struct srv_addr addr;
	bool has_addr;
	uint16_t port;
	uint32_t scheme; /* SRV_SCHEME_* */
	uint16_t join_port_base; /* port: announces VIP:(base + id) */
	bool has_join_port_base;
	enum srv_initial_subflow initial_subflow;
	int line;
};

struct srv_cfg {
	char path[256];
	char name[SRV_CFG_NAME_LEN];
	long id; /* -1 until set */
	struct srv_addr addrs[SRV_CFG_MAX_ADDRS]; /* the backend's own (per-server) addresses */
	int n_addrs;
	char ifaces[SRV_CFG_MAX_IFACES][IF_NAMESIZE]; /* empty: every up non-lo interface */
	int n_ifaces;
	bool has_tsecr_key;
	uint64_t tsecr_key[2];
	uint32_t tsecr_keepalive_s; /* 0 = off */
	bool tsecr_restore;         /* off only for negative-control tests */
	bool verify_restore;        /* test aid: check every restored TSecr */
	bool keepalive_fix;         /* one-byte keepalive probes (docs/tsecr.md) */
	long add_addr_timeout_s;    /* -1 = leave the kernel's value */
	bool track_add_addr;
	bool decap;
	uint32_t limit_subflows, limit_add_addr_accepted; /* kernel PM limits; 0 = leave */
	uint16_t health_port; /* 0 = no health endpoint */
	struct srv_addr health_addr;
	bool has_health_addr;
	char cgroup[256]; /* cgroup v2 directory for sock_ops; empty = the hierarchy's root */
	struct srv_cfg_vip vips[SRV_CFG_MAX_VIPS];
	int n_vips;
	/* [sync]: the LB hosts to push tokens to, this backend's key (server_sync.c). */
#define SRV_CFG_MAX_LBS 16
	struct sockaddr_storage sync_lbs[SRV_CFG_MAX_LBS];
	int n_sync_lbs;
	uint8_t sync_key[32];
	bool has_sync_key;
	uint32_t sync_refresh_ms; /* full snapshot period [5000] */
	/* Prometheus /metrics ([server] metrics = ADDR:PORT; off by default). */
	struct sockaddr_storage metrics;
	bool has_metrics;
};

/*
 * Parse path into *cfg (defaults first). 0 on success; -1 after printing
 * "FILE: ..." messages for every problem found.
 */
int srv_cfg_load(const char *path, struct srv_cfg *cfg);
/* Semantic checks that need no root and no system state; 0 or -1 with messages. */
int srv_cfg_validate(const struct srv_cfg *cfg);
/* Scheme string ("per-server", "port", "tsecr", or a '+' list) -> SRV_SCHEME_*. */
int srv_parse_scheme(const char *s, uint32_t *scheme);
const char *srv_scheme_str(uint32_t scheme, char *buf, size_t len);
const char *srv_initial_str(enum srv_initial_subflow v);
/* Union of the schemes of every VIP. */
uint32_t srv_cfg_schemes(const struct srv_cfg *cfg);
/* The VIP's join port (port scheme). */
uint16_t srv_vip_join_port(const struct srv_cfg *cfg, const struct srv_cfg_vip *v);
const char *srv_addr_str(const struct srv_addr *a, char *buf, size_t len);
bool srv_addr_eq(const struct srv_addr *a, const struct srv_addr *b);
int srv_addr_parse(const char *s, struct srv_addr *a);

#endif /* MPLB_SERVER_CONFIG_H */
