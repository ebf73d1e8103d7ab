// SPDX-License-Identifier: MIT
/* Balancer configuration: parsing (libinih) and validation. */
#include "lb_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfgval.h"
#include "maglev.h"
#include "token_sync.h"
#include "util.h"

struct parse_ctx {
	struct lb_cfg *cfg;
	int errors;
};

static void cfg_defaults(struct lb_cfg *cfg, const char *path)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	snprintf(cfg->name, sizeof(cfg->name), "default");
	cfg->xdp_mode = LB_XDP_NATIVE;
	cfg->forwarding = LB_FWD_DSR;
	cfg->ring_size = MPLB_RING_SIZE_DEFAULT;
	cfg->max_vips = MPLB_MAX_VIPS_DEFAULT;
	cfg->token_entries = MPLB_TOKEN_ENTRIES_DEFAULT;
	cfg->flow_entries = MPLB_FLOW_ENTRIES_DEFAULT;
	cfg->lru_entries = MPLB_LRU_ENTRIES_DEFAULT;
	cfg->health_interval_ms = 1000;
	cfg->health_fall = 3;
	cfg->health_rise = 2;
	cfg->remove_grace_s = 300;
	cfg->token_hold_ms = 1500;
	cfg->sync_ttl_s = 30;
	cfg->sync_max_skew_s = 30;
}

int lb_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[3 * i]) || !isxdigit((unsigned char)s[3 * i + 1]))
			return -1;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

int lb_parse_strategy(const char *s, uint32_t *flags)
{
	char buf[128], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", s);
	*flags = 0;
	for (tok = strtok_r(buf, "+, ", &save); tok; tok = strtok_r(NULL, "+, ", &save)) {
		if (!strcmp(tok, "hash"))
			;
		else if (!strcmp(tok, "port"))
			*flags |= VIP_F_PORT;
		else if (!strcmp(tok, "token"))
			*flags |= VIP_F_TOKEN;
		else if (!strcmp(tok, "tsecr"))
			*flags |= VIP_F_TSECR;
		else
			return -1;
	}
	return 0;
}

const char *lb_strategy_str(uint32_t flags, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", (flags & VIP_F_PORT) ? "port+" : "",
		 (flags & VIP_F_TOKEN) ? "token+" : "", (flags & VIP_F_TSECR) ? "tsecr+" : "",
		 (flags & VIP_F_LRU) ? "lru+" : "");
	size_t n = strlen(buf);
	if (!n)
		snprintf(buf, len, "hash");
	else
		buf[n - 1] = '\0';
	return buf;
}

static int parse_addr(const char *s, int *family, uint32_t addr[4])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = MPLB_FAMILY_V4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = MPLB_FAMILY_V6;
		return 0;
	}
	return -1;
}

#define BAD(fmt, ...)                                                              \
	do {                                                                       \
		mplb_err("%s: [%s] %s = %s: " fmt, ctx->cfg->path, section, name, value, \
			 ##__VA_ARGS__);                                           \
		ctx->errors++;                                                     \
		return 1; /* keep parsing: report every problem at once */         \
	} while (0)

static int handle_lb(struct parse_ctx *ctx, const char *section, const char *name,
		     const char *value)
{
	struct lb_cfg *cfg = ctx->cfg;

	if (!strcmp(name, "name")) {
		if (!*value || strchr(value, '/') || strlen(value) >= sizeof(cfg->name))
			BAD("want a short name without '/'");
		snprintf(cfg->name, sizeof(cfg->name), "%s", value);
	} else if (!strcmp(name, "interface") || !strcmp(name, "interfaces")) {
		char buf[256], *save = NULL, *tok;

		snprintf(buf, sizeof(buf), "%s", value);
		for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
			if (cfg->n_ifaces >= LB_CFG_MAX_IFACES)
				BAD("at most %d interfaces", LB_CFG_MAX_IFACES);
			if (strlen(tok) >= IF_NAMESIZE)
				BAD("interface name '%s' too long", tok);
			snprintf(cfg->ifaces[cfg->n_ifaces++], IF_NAMESIZE, "%s", tok);
		}
	} else if (!strcmp(name, "xdp")) {
		if (!strcmp(value, "native"))
			cfg->xdp_mode = LB_XDP_NATIVE;
		else if (!strcmp(value, "generic"))
			cfg->xdp_mode = LB_XDP_GENERIC;
		else
			BAD("want native or generic");
	} else if (!strcmp(name, "forwarding")) {
		if (!strcmp(value, "dsr"))
			cfg->forwarding = LB_FWD_DSR;
		else if (!strcmp(value, "ipip"))
			cfg->forwarding = LB_FWD_IPIP;
		else
			BAD("want dsr or ipip");
	} else if (!strcmp(name, "redirect")) {
		if (strlen(value) >= IF_NAMESIZE)
			BAD("interface name too long");
		snprintf(cfg->redirect_iface, IF_NAMESIZE, "%s", value);
	} else if (!strcmp(name, "ring_size")) {
		if (cfg_parse_u32(value, 2, 100000000, &cfg->ring_size) || !maglev_is_prime(cfg->ring_size))
			BAD("want a prime number (default 65537)");
	} else if (!strcmp(name, "max_vips")) {
		if (cfg_parse_u32(value, 1, LB_CFG_MAX_VIPS, &cfg->max_vips))
			BAD("want 1..%d", LB_CFG_MAX_VIPS);
	} else if (!strcmp(name, "token_entries")) {
		if (cfg_parse_u32(value, 16, 1u << 26, &cfg->token_entries))
			BAD("want 16..%u", 1u << 26);
	} else if (!strcmp(name, "flow_entries")) {
		if (cfg_parse_u32(value, 16, 1u << 26, &cfg->flow_entries))
			BAD("want 16..%u", 1u << 26);
	} else if (!strcmp(name, "lru_entries")) {
		if (cfg_parse_u32(value, 16, 1u << 26, &cfg->lru_entries))
			BAD("want 16..%u", 1u << 26);
	} else if (!strcmp(name, "max_pkt_size")) {
		if (cfg_parse_u32(value, 0, 65535, &cfg->max_pkt_size))
			BAD("want 0..65535 (0 = no check)");
	} else if (!strcmp(name, "health_interval_ms")) {
		if (cfg_parse_u32(value, 50, 3600000, &cfg->health_interval_ms))
			BAD("want 50..3600000 (milliseconds between health checks)");
	} else if (!strcmp(name, "health_timeout_ms")) {
		if (cfg_parse_u32(value, 10, 60000, &cfg->health_timeout_ms))
			BAD("want 10..60000 (milliseconds)");
	} else if (!strcmp(name, "health_fall")) {
		if (cfg_parse_u32(value, 1, 100, &cfg->health_fall))
			BAD("want 1..100 (consecutive failures before draining)");
	} else if (!strcmp(name, "health_rise")) {
		if (cfg_parse_u32(value, 1, 100, &cfg->health_rise))
			BAD("want 1..100 (consecutive successes before restoring)");
	} else if (!strcmp(name, "remove_grace_s")) {
		if (cfg_parse_u32(value, 0, 86400, &cfg->remove_grace_s))
			BAD("want 0..86400 (seconds a removed backend keeps its pinned connections)");
	} else if (!strcmp(name, "on_exit")) {
		if (!strcmp(value, "keep"))
			cfg->detach_on_exit = false;
		else if (!strcmp(value, "detach"))
			cfg->detach_on_exit = true;
		else
			BAD("want keep (the data plane outlives the process: restarts lose nothing) or "
			    "detach");
	} else if (!strcmp(name, "metrics")) {
		socklen_t sl;
		if (!strcmp(value, "off"))
			cfg->has_metrics = false;
		else if (parse_sockaddr(value, true, &cfg->metrics, &sl))
			BAD("want off, or ADDR:PORT for Prometheus to scrape (/metrics), e.g. 127.0.0.1:9642");
		else
			cfg->has_metrics = true;
	} else if (!strcmp(name, "announce_table")) {
		if (cfg_parse_u32(value, 0, 0xfffffffeu, &cfg->announce_table) ||
		    (cfg->announce_table >= 253 && cfg->announce_table <= 255))
			BAD("want 0 (off) or a routing table id other than 253..255 (default, main, local)");
	} else if (!strcmp(name, "tsecr_key")) {
		if (cfg_parse_key128(value, cfg->tsecr_key))
			BAD("want 32 hex digits (a 128-bit SipHash key)");
		cfg->has_tsecr_key = true;
	} else {
		BAD("unknown key");
	}
	return 1;
}

static int handle_vip(struct parse_ctx *ctx, const char *section, const char *vname,
		      const char *name, const char *value)
{
	struct lb_cfg *cfg = ctx->cfg;
	struct lb_cfg_vip *v = NULL;
	uint32_t x;

	for (int i = 0; i < cfg->n_vips; i++)
		if (!strcmp(cfg->vips[i].name, vname))
			v = &cfg->vips[i];
	if (!v) {
		if (cfg->n_vips >= LB_CFG_MAX_VIPS)
			BAD("more than %d VIPs", LB_CFG_MAX_VIPS);
		v = &cfg->vips[cfg->n_vips++];
		memset(v, 0, sizeof(*v));
		snprintf(v->name, sizeof(v->name), "%s", vname);
		v->proto = IPPROTO_TCP;
		v->unknown_token = UNKNOWN_TOKEN_RING;
	}
	if (!strcmp(name, "address")) {
		if (parse_addr(value, &v->family, v->addr))
			BAD("not an IPv4 or IPv6 address");
	} else if (!strcmp(name, "port")) {
		if (cfg_parse_u32(value, 1, 65535, &x))
			BAD("want 1..65535");
		v->port = (uint16_t)x;
	} else if (!strcmp(name, "proto")) {
		if (!strcmp(value, "tcp"))
			v->proto = IPPROTO_TCP;
		else if (!strcmp(value, "udp"))
			v->proto = IPPROTO_UDP;
		else
			BAD("want tcp or udp");
	} else if (!strcmp(name, "strategy")) {
		uint32_t f;
		if (lb_parse_strategy(value, &f))
			BAD("want hash, port, token or tsecr (or a '+' list such as token+tsecr)");
		v->flags = (v->flags & VIP_F_LRU) | f;
	} else if (!strcmp(name, "join_port_base")) {
		if (cfg_parse_u32(value, 1, 65535, &x))
			BAD("want 1..65535");
		v->join_port_base = (uint16_t)x;
	} else if (!strcmp(name, "join_port_count")) {
		if (cfg_parse_u32(value, 0, MPLB_MAX_BACKENDS, &x))
			BAD("want 0..%d (one port per backend id)", MPLB_MAX_BACKENDS);
		v->join_port_count = (uint16_t)x;
	} else if (!strcmp(name, "unknown_token")) {
		if (!strcmp(value, "drop"))
			v->unknown_token = UNKNOWN_TOKEN_DROP;
		else if (!strcmp(value, "ring"))
			v->unknown_token = UNKNOWN_TOKEN_RING;
		else if (!strcmp(value, "hold"))
			v->unknown_token = UNKNOWN_TOKEN_HOLD;
		else
			BAD("want drop, ring or hold");
		v->unknown_token_set = true;
	} else if (!strcmp(name, "lru")) {
		bool on;
		if (cfg_parse_bool(value, &on))
			BAD("want on or off");
		v->flags = on ? v->flags | VIP_F_LRU : v->flags & ~VIP_F_LRU;
	} else {
		BAD("unknown key");
	}
	return 1;
}

static int handle_backend(struct parse_ctx *ctx, const char *section, const char *bname,
			  const char *name, const char *value)
{
	struct lb_cfg *cfg = ctx->cfg;
	struct lb_cfg_backend *b = NULL;
	uint32_t x;

	for (int i = 0; i < cfg->n_backends; i++)
		if (!strcmp(cfg->backends[i].name, bname))
			b = &cfg->backends[i];
	if (!b) {
		if (cfg->n_backends >= MPLB_MAX_BACKENDS)
			BAD("more than %d backends: the backend id space is 0..%d", MPLB_MAX_BACKENDS,
			    MPLB_MAX_BACKENDS - 1);
		b = &cfg->backends[cfg->n_backends++];
		memset(b, 0, sizeof(*b));
		snprintf(b->name, sizeof(b->name), "%s", bname);
		b->id = -1;
		b->weight = 1;
	}
	if (!strcmp(name, "id")) {
		if (cfg_parse_u32(value, 0, 0xffffffffu, &x))
			BAD("want a number");
		if (x >= MPLB_MAX_BACKENDS)
			BAD("backend id space is 0..%d (8 bits, shared with the tsecr encoding)",
			    MPLB_MAX_BACKENDS - 1);
		b->id = x;
	} else if (!strcmp(name, "address")) {
		if (parse_addr(value, &b->family, b->addr))
			BAD("not an IPv4 or IPv6 address");
		b->has_addr = true;
	} else if (!strcmp(name, "mac")) {
		if (lb_parse_mac(value, b->mac))
			BAD("bad MAC address, want aa:bb:cc:dd:ee:ff");
		b->has_mac = true;
	} else if (!strcmp(name, "weight")) {
		if (cfg_parse_u32(value, 0, 1000000, &b->weight))
			BAD("want 0..1000000");
	} else if (!strcmp(name, "health")) {
		socklen_t hl;
		if (!strcmp(value, "off"))
			memset(&b->health, 0, sizeof(b->health));
		else if (parse_sockaddr(value, true, &b->health, &hl))
			BAD("want off, or ADDR:PORT of the backend's health endpoint (mplb server: "
			    "its address and health_port)");
	} else if (!strcmp(name, "state")) {
		if (!strcmp(value, "active"))
			b->draining = false;
		else if (!strcmp(value, "draining"))
			b->draining = true;
		else
			BAD("want active or draining");
	} else {
		BAD("unknown key");
	}
	return 1;
}

static int handle_sync(struct parse_ctx *ctx, const char *section, const char *name,
		       const char *value)
{
	struct lb_cfg *cfg = ctx->cfg;

	if (!strcmp(name, "listen")) {
		char buf[512], *save = NULL, *tok;
		socklen_t sl;

		snprintf(buf, sizeof(buf), "%s", value);
		for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
			if (cfg->n_syncs >= LB_CFG_MAX_SYNCS)
				BAD("at most %d listen addresses", LB_CFG_MAX_SYNCS);
			if (parse_sockaddr(tok, true, &cfg->syncs[cfg->n_syncs], &sl))
				BAD("want ADDR:PORT[, ADDR:PORT] (the agents' [sync] lb names them)");
			cfg->n_syncs++;
		}
	} else if (!strcmp(name, "key")) {
		if (sync_key_parse(value, cfg->sync_key))
			BAD("want 64 hex digits (a 256-bit key; `mplb lb sync-key --new` makes one)");
		cfg->has_sync_key = true;
	} else if (!strcmp(name, "hold_ms")) {
		if (cfg_parse_u32(value, 0, 60000, &cfg->token_hold_ms))
			BAD("want 0..60000 (milliseconds an unknown token's MP_JOIN SYNs are dropped)");
	} else if (!strcmp(name, "ttl_s")) {
		if (cfg_parse_u32(value, 2, 86400, &cfg->sync_ttl_s))
			BAD("want 2..86400 (seconds a pushed token lives without a refresh)");
	} else if (!strcmp(name, "max_skew_s")) {
		if (cfg_parse_u32(value, 1, 3600, &cfg->sync_max_skew_s))
			BAD("want 1..3600 (seconds between a message's sent time and this host's clock)");
	} else {
		BAD("unknown key");
	}
	return 1;
}

static int on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;

	if (!strcmp(section, "lb"))
		return handle_lb(ctx, section, name, value);
	if (!strcmp(section, "sync"))
		return handle_sync(ctx, section, name, value);
	if (!strncmp(section, "vip ", 4) && section[4])
		return handle_vip(ctx, section, section + 4, name, value);
	if (!strncmp(section, "backend ", 8) && section[8])
		return handle_backend(ctx, section, section + 8, name, value);
	mplb_err("%s: unknown section [%s] (want [lb], [sync], [vip NAME], [backend NAME])",
		 ctx->cfg->path, section);
	ctx->errors++;
	return 1;
}

int lb_cfg_load(const char *path, struct lb_cfg *cfg)
{
	struct parse_ctx ctx = {.cfg = cfg};

	cfg_defaults(cfg, path);
	if (cfg_ini_parse(path, on_ini_entry, &ctx, NULL)) /* its handlers never fail a line */
		return -1;
	/* With token sync, a join whose token has not arrived yet waits for it. */
	for (int i = 0; i < cfg->n_vips; i++)
		if (!cfg->vips[i].unknown_token_set)
			cfg->vips[i].unknown_token = cfg->n_syncs ? UNKNOWN_TOKEN_HOLD : UNKNOWN_TOKEN_RING;
	return ctx.errors ? -1 : 0;
}

static bool same_addr(int fa, const uint32_t *a, int fb, const uint32_t *b)
{
	return fa == fb && !memcmp(a, b, 16);
}

static const char *addr_str(int family, const uint32_t *a, char *buf, size_t len)
{
	return inet_ntop(family == MPLB_FAMILY_V6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)len);
}

#define VERR(...)                                                                 \
	do {                                                                      \
		mplb_err(__VA_ARGS__);                                            \
		errors++;                                                         \
	} while (0)

int lb_cfg_validate(const struct lb_cfg *cfg)
{
	const char *p = cfg->path;
	char a1[INET6_ADDRSTRLEN];
	int errors = 0;

	if (!cfg->n_ifaces)
		VERR("%s: [lb] interface is missing", p);
	for (int i = 0; i < cfg->n_ifaces; i++)
		if (!if_nametoindex(cfg->ifaces[i]))
			VERR("%s: [lb] interface %s: no such interface here (ip link show)", p,
			     cfg->ifaces[i]);
	if (cfg->redirect_iface[0] && !if_nametoindex(cfg->redirect_iface))
		VERR("%s: [lb] redirect = %s: no such interface here", p, cfg->redirect_iface);
	if (!cfg->n_vips)
		VERR("%s: no [vip NAME] section", p);
	if ((uint32_t)cfg->n_vips > cfg->max_vips)
		VERR("%s: %d VIPs but [lb] max_vips = %u", p, cfg->n_vips, cfg->max_vips);
	if ((uint64_t)cfg->ring_size * cfg->max_vips > 200000000ull)
		VERR("%s: ring_size x max_vips = %llu ring slots, too many (max 200M)", p,
		     (unsigned long long)cfg->ring_size * cfg->max_vips);

	for (int i = 0; i < cfg->n_vips; i++) {
		const struct lb_cfg_vip *v = &cfg->vips[i];

		if (!v->family) {
			VERR("%s: [vip %s] address is missing", p, v->name);
			continue;
		}
		if (!v->port)
			VERR("%s: [vip %s] port is missing", p, v->name);
		if ((v->flags & VIP_F_PORT) && !v->join_port_count)
			VERR("%s: [vip %s] strategy port needs join_port_base and join_port_count", p,
			     v->name);
		if (!(v->flags & VIP_F_PORT) && v->join_port_count)
			VERR("%s: [vip %s] join ports are set but strategy has no 'port'", p, v->name);
		if ((v->flags & VIP_F_PORT) &&
		    (uint32_t)v->join_port_base + v->join_port_count > 65536)
			VERR("%s: [vip %s] join ports %u..%u run past 65535", p, v->name,
			     v->join_port_base, v->join_port_base + v->join_port_count - 1);
		if ((v->flags & (VIP_F_TOKEN | VIP_F_TSECR)) && v->proto != IPPROTO_TCP)
			VERR("%s: [vip %s] strategies token and tsecr need proto = tcp", p, v->name);
		if ((v->flags & VIP_F_TSECR) && !cfg->has_tsecr_key)
			VERR("%s: [vip %s] strategy tsecr needs [lb] tsecr_key", p, v->name);

		for (int j = 0; j < cfg->n_vips; j++) {
			const struct lb_cfg_vip *w = &cfg->vips[j];

			if (j == i || v->proto != w->proto || !same_addr(v->family, v->addr, w->family, w->addr))
				continue;
			if (j > i && v->port == w->port)
				VERR("%s: [vip %s] and [vip %s] are both %s port %u/%s", p, v->name, w->name,
				     addr_str(v->family, v->addr, a1, sizeof(a1)), v->port,
				     v->proto == IPPROTO_TCP ? "tcp" : "udp");
			/* A join port range may not swallow another service port or range. */
			if ((v->flags & VIP_F_PORT) && w->port >= v->join_port_base &&
			    w->port < v->join_port_base + v->join_port_count)
				VERR("%s: [vip %s] join ports %u..%u overlap the service port %u of [vip %s]",
				     p, v->name, v->join_port_base,
				     v->join_port_base + v->join_port_count - 1, w->port, w->name);
			if (j > i && (v->flags & VIP_F_PORT) && (w->flags & VIP_F_PORT) &&
			    v->join_port_base < w->join_port_base + w->join_port_count &&
			    w->join_port_base < v->join_port_base + v->join_port_count)
				VERR("%s: [vip %s] and [vip %s] have overlapping join port ranges", p,
				     v->name, w->name);
		}
		if ((v->flags & VIP_F_PORT) && v->port >= v->join_port_base &&
		    v->port < v->join_port_base + v->join_port_count)
			VERR("%s: [vip %s] join ports %u..%u include its own service port %u", p,
			     v->name, v->join_port_base, v->join_port_base + v->join_port_count - 1,
			     v->port);
		if ((v->flags & VIP_F_PORT)) {
			for (int b = 0; b < cfg->n_backends; b++)
				if (cfg->backends[b].id >= v->join_port_count)
					VERR("%s: [vip %s] backend %s has id %ld, outside the %u join ports",
					     p, v->name, cfg->backends[b].name, cfg->backends[b].id,
					     v->join_port_count);
		}
	}

	if (cfg->n_syncs && !cfg->has_sync_key)
		VERR("%s: [sync] listen needs [sync] key (64 hex digits, shared with no one: agents get "
		     "their own keys from `mplb lb sync-key`)", p);
	if (cfg->has_sync_key && !cfg->n_syncs)
		VERR("%s: [sync] key without [sync] listen: where do the agents send?", p);
	for (int i = 0; i < cfg->n_vips; i++)
		if (cfg->vips[i].unknown_token == UNKNOWN_TOKEN_HOLD && !cfg->n_syncs)
			mplb_warn("%s: [vip %s] unknown_token = hold without [sync]: nothing will fill "
				  "the table while the SYN is held", p, cfg->vips[i].name);

	if (!cfg->n_backends)
		VERR("%s: no [backend NAME] section", p);
	for (int i = 0; i < cfg->n_backends; i++) {
		const struct lb_cfg_backend *b = &cfg->backends[i];

		if (b->id < 0)
			VERR("%s: [backend %s] id is missing (0..%d)", p, b->name, MPLB_MAX_BACKENDS - 1);
		if (!b->has_mac)
			VERR("%s: [backend %s] mac is missing (the next hop on this segment)", p, b->name);
		if (cfg->forwarding == LB_FWD_IPIP && !b->has_addr)
			VERR("%s: [backend %s] forwarding = ipip needs an address", p, b->name);
		if (cfg->forwarding == LB_FWD_IPIP && b->family == MPLB_FAMILY_V4)
			for (int k = 0; k < cfg->n_vips; k++)
				if (cfg->vips[k].family == MPLB_FAMILY_V6) {
					VERR("%s: [backend %s] is IPv4 but [vip %s] is IPv6: IPv6-in-IPv4 is not supported",
					     p, b->name, cfg->vips[k].name);
					break;
				}
		for (int j = i + 1; j < cfg->n_backends; j++)
			if (b->id >= 0 && b->id == cfg->backends[j].id)
				VERR("%s: [backend %s] and [backend %s] share id %ld", p, b->name,
				     cfg->backends[j].name, b->id);
	}
	if (cfg->health_timeout_ms && cfg->health_timeout_ms > cfg->health_interval_ms)
		VERR("%s: [lb] health_timeout_ms %u exceeds health_interval_ms %u", p,
		     cfg->health_timeout_ms, cfg->health_interval_ms);
	if ((uint64_t)cfg->ring_size < (uint64_t)MAGLEV_MIN_SLOTS_PER_BACKEND * cfg->n_backends)
		mplb_warn("%s: ring_size %u < 100 x %d backends: Maglev balance will be uneven", p,
			  cfg->ring_size, cfg->n_backends);
	return errors ? -1 : 0;
}
