// SPDX-License-Identifier: MIT
/* Server agent configuration: parsing (libinih) and validation without root. */
#include "server_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "cfgval.h"
#include "token_sync.h"
#include "util.h"

struct parse_ctx {
	struct srv_cfg *cfg;
	int errors;
};

static void cfg_defaults(struct srv_cfg *cfg, const char *path)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	snprintf(cfg->name, sizeof(cfg->name), "default");
	cfg->id = -1;
	cfg->tsecr_keepalive_s = 20;
	cfg->tsecr_restore = true;
	cfg->keepalive_fix = true;
	cfg->add_addr_timeout_s = 1;
	cfg->track_add_addr = true;
	cfg->limit_subflows = 8;
	cfg->health_port = 8081;
	cfg->sync_refresh_ms = 5000;
}

int srv_addr_parse(const char *s, struct srv_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->addr) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->addr) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	return -1;
}

const char *srv_addr_str(const struct srv_addr *a, char *buf, size_t len)
{
	if (!a->family || !inet_ntop(a->family, a->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

bool srv_addr_eq(const struct srv_addr *a, const struct srv_addr *b)
{
	return a->family == b->family &&
	       !memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16);
}

int srv_parse_scheme(const char *s, uint32_t *scheme)
{
	char buf[128], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", s);
	*scheme = 0;
	for (tok = strtok_r(buf, "+, ", &save); tok; tok = strtok_r(NULL, "+, ", &save)) {
		if (!strcmp(tok, "per-server"))
			*scheme |= SRV_SCHEME_PER_SERVER;
		else if (!strcmp(tok, "port"))
			*scheme |= SRV_SCHEME_PORT;
		else if (!strcmp(tok, "tsecr"))
			*scheme |= SRV_SCHEME_TSECR;
		else if (!strcmp(tok, "token"))
			*scheme |= SRV_SCHEME_TOKEN;
		else
			return -1;
	}
	return *scheme ? 0 : -1;
}

const char *srv_scheme_str(uint32_t scheme, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", (scheme & SRV_SCHEME_PER_SERVER) ? "per-server+" : "",
		 (scheme & SRV_SCHEME_PORT) ? "port+" : "", (scheme & SRV_SCHEME_TSECR) ? "tsecr+" : "",
		 (scheme & SRV_SCHEME_TOKEN) ? "token+" : "");
	size_t n = strlen(buf);
	if (n)
		buf[n - 1] = '\0';
	else
		snprintf(buf, len, "none");
	return buf;
}

const char *srv_initial_str(enum srv_initial_subflow v)
{
	switch (v) {
	case SRV_INITIAL_BACKUP: return "backup";
	case SRV_INITIAL_CLOSE: return "close";
	default: return "keep";
	}
}

uint32_t srv_cfg_schemes(const struct srv_cfg *cfg)
{
	uint32_t s = 0;

	for (int i = 0; i < cfg->n_vips; i++)
		s |= cfg->vips[i].scheme;
	return s;
}

uint16_t srv_vip_join_port(const struct srv_cfg *cfg, const struct srv_cfg_vip *v)
{
	return (uint16_t)(v->join_port_base + (cfg->id < 0 ? 0 : cfg->id));
}

#define BAD(fmt, ...)                                                                      \
	do {                                                                               \
		mplb_err("%s: [%s] %s = %s: " fmt, ctx->cfg->path, section, name, value,   \
			 ##__VA_ARGS__);                                                   \
		ctx->errors++;                                                             \
		return 1; /* keep parsing: report every problem at once */                 \
	} while (0)

static int handle_server(struct parse_ctx *ctx, const char *section, const char *name,
			 const char *value)
{
	struct srv_cfg *cfg = ctx->cfg;
	uint32_t x;

	if (!strcmp(name, "name")) {
		if (!*value || strchr(value, '/') || strchr(value, ' ') ||
		    strlen(value) >= sizeof(cfg->name))
			BAD("want a short name without '/' or spaces (at most %zu characters)",
			    sizeof(cfg->name) - 1);
		snprintf(cfg->name, sizeof(cfg->name), "%s", value);
	} else if (!strcmp(name, "id")) {
		if (cfg_parse_u32(value, 0, 0xffffffffu, &x))
			BAD("want a number");
		if (x > SRV_MAX_ID)
			BAD("the balancer's backend id space is 0..%d (8 bits, shared with the tsecr "
			    "encoding)", SRV_MAX_ID);
		cfg->id = x;
	} else if (!strcmp(name, "address") || !strcmp(name, "addresses")) {
		char buf[512], *save = NULL, *tok;

		snprintf(buf, sizeof(buf), "%s", value);
		for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
			if (cfg->n_addrs >= SRV_CFG_MAX_ADDRS)
				BAD("at most %d addresses", SRV_CFG_MAX_ADDRS);
			if (srv_addr_parse(tok, &cfg->addrs[cfg->n_addrs]))
				BAD("'%s' is not an IPv4 or IPv6 address", tok);
			cfg->n_addrs++;
		}
	} else if (!strcmp(name, "interface") || !strcmp(name, "interfaces")) {
		char buf[256], *save = NULL, *tok;

		snprintf(buf, sizeof(buf), "%s", value);
		for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
			if (cfg->n_ifaces >= SRV_CFG_MAX_IFACES)
				BAD("at most %d interfaces", SRV_CFG_MAX_IFACES);
			if (strlen(tok) >= IF_NAMESIZE)
				BAD("interface name '%s' too long", tok);
			snprintf(cfg->ifaces[cfg->n_ifaces++], IF_NAMESIZE, "%s", tok);
		}
	} else if (!strcmp(name, "tsecr_key")) {
		if (cfg_parse_key128(value, cfg->tsecr_key))
			BAD("want 32 hex digits (the balancer's [lb] tsecr_key)");
		cfg->has_tsecr_key = true;
	} else if (!strcmp(name, "tsecr_keepalive")) {
		if (cfg_parse_u32(value, 0, 30, &cfg->tsecr_keepalive_s))
			BAD("want 0 (off) or 1..30 seconds: the shifted TSval wraps past PAWS after "
			    "32.7 s of server silence");
	} else if (!strcmp(name, "tsecr_restore")) {
		if (cfg_parse_bool(value, &cfg->tsecr_restore))
			BAD("want on or off");
	} else if (!strcmp(name, "verify_restore")) {
		if (cfg_parse_bool(value, &cfg->verify_restore))
			BAD("want on or off");
	} else if (!strcmp(name, "keepalive_fix")) {
		if (cfg_parse_bool(value, &cfg->keepalive_fix))
			BAD("want on or off");
	} else if (!strcmp(name, "add_addr_timeout")) {
		if (!strcmp(value, "keep"))
			cfg->add_addr_timeout_s = -1;
		else if (cfg_parse_u32(value, 0, 120, &x))
			BAD("want keep, or 0..120 seconds (0 = never retransmit)");
		else
			cfg->add_addr_timeout_s = x;
	} else if (!strcmp(name, "track_add_addr")) {
		if (cfg_parse_bool(value, &cfg->track_add_addr))
			BAD("want on or off");
	} else if (!strcmp(name, "decap")) {
		if (cfg_parse_bool(value, &cfg->decap))
			BAD("want on or off");
	} else if (!strcmp(name, "max_subflows")) {
		if (!strcmp(value, "keep"))
			cfg->limit_subflows = 0;
		else if (cfg_parse_u32(value, 1, 8, &cfg->limit_subflows))
			BAD("want keep or 1..8 (the kernel's limit)");
	} else if (!strcmp(name, "max_add_addr_accepted")) {
		if (!strcmp(value, "keep"))
			cfg->limit_add_addr_accepted = 0;
		else if (cfg_parse_u32(value, 1, 8, &cfg->limit_add_addr_accepted))
			BAD("want keep or 1..8 (the kernel's limit)");
	} else if (!strcmp(name, "health_port")) {
		if (cfg_parse_u32(value, 0, 65535, &x))
			BAD("want 0 (off) or a port");
		cfg->health_port = (uint16_t)x;
	} else if (!strcmp(name, "metrics")) {
		socklen_t sl;
		if (!strcmp(value, "off"))
			cfg->has_metrics = false;
		else if (parse_sockaddr(value, true, &cfg->metrics, &sl))
			BAD("want off, or ADDR:PORT for Prometheus to scrape (/metrics), e.g. 127.0.0.1:9643");
		else
			cfg->has_metrics = true;
	} else if (!strcmp(name, "health_address")) {
		if (srv_addr_parse(value, &cfg->health_addr))
			BAD("not an IPv4 or IPv6 address");
		cfg->has_health_addr = true;
	} else if (!strcmp(name, "cgroup")) {
		if (value[0] != '/' || strlen(value) >= sizeof(cfg->cgroup))
			BAD("want an absolute path of a cgroup v2 directory");
		snprintf(cfg->cgroup, sizeof(cfg->cgroup), "%s", value);
	} else {
		BAD("unknown key");
	}
	return 1;
}

static int handle_vip(struct parse_ctx *ctx, const char *section, const char *vname,
		      const char *name, const char *value, int line)
{
	struct srv_cfg *cfg = ctx->cfg;
	struct srv_cfg_vip *v = NULL;
	uint32_t x;

	for (int i = 0; i < cfg->n_vips; i++)
		if (!strcmp(cfg->vips[i].name, vname))
			v = &cfg->vips[i];
	if (!v) {
		if (cfg->n_vips >= SRV_CFG_MAX_VIPS)
			BAD("more than %d VIPs", SRV_CFG_MAX_VIPS);
		if (strlen(vname) >= SRV_CFG_NAME_LEN)
			BAD("VIP name too long");
		v = &cfg->vips[cfg->n_vips++];
		memset(v, 0, sizeof(*v));
		snprintf(v->name, sizeof(v->name), "%s", vname);
		v->line = line;
	}
	if (!strcmp(name, "address")) {
		if (srv_addr_parse(value, &v->addr))
			BAD("not an IPv4 or IPv6 address");
		v->has_addr = true;
	} else if (!strcmp(name, "port")) {
		if (cfg_parse_u32(value, 1, 65535, &x))
			BAD("want 1..65535");
		v->port = (uint16_t)x;
	} else if (!strcmp(name, "scheme")) {
		if (srv_parse_scheme(value, &v->scheme))
			BAD("want per-server, port, token or tsecr (tsecr combines: tsecr+port, "
			    "tsecr+token, tsecr+per-server)");
	} else if (!strcmp(name, "join_port_base")) {
		if (cfg_parse_u32(value, 1, 65535, &x))
			BAD("want 1..65535");
		v->join_port_base = (uint16_t)x;
		v->has_join_port_base = true;
	} else if (!strcmp(name, "initial_subflow")) {
		if (!strcmp(value, "keep"))
			v->initial_subflow = SRV_INITIAL_KEEP;
		else if (!strcmp(value, "backup"))
			v->initial_subflow = SRV_INITIAL_BACKUP;
		else if (!strcmp(value, "close"))
			v->initial_subflow = SRV_INITIAL_CLOSE;
		else
			BAD("want keep, backup or close");
	} else {
		BAD("unknown key");
	}
	return 1;
}

static int handle_sync(struct parse_ctx *ctx, const char *section, const char *name,
		       const char *value)
{
	struct srv_cfg *cfg = ctx->cfg;
	uint32_t x;

	if (!strcmp(name, "lb")) {
		char buf[1024], *save = NULL, *tok;
		socklen_t sl;

		snprintf(buf, sizeof(buf), "%s", value);
		for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
			if (cfg->n_sync_lbs >= SRV_CFG_MAX_LBS)
				BAD("at most %d LB hosts", SRV_CFG_MAX_LBS);
			if (parse_sockaddr(tok, true, &cfg->sync_lbs[cfg->n_sync_lbs], &sl))
				BAD("want ADDR:PORT[, ADDR:PORT] (each LB host's [sync] listen)");
			cfg->n_sync_lbs++;
		}
	} else if (!strcmp(name, "key")) {
		if (sync_key_parse(value, cfg->sync_key))
			BAD("want 64 hex digits: this backend's key, `mplb lb sync-key -c LB.INI -i ID`");
		cfg->has_sync_key = true;
	} else if (!strcmp(name, "refresh_ms")) {
		if (cfg_parse_u32(value, 100, 3600000, &x))
			BAD("want 100..3600000 (milliseconds between full snapshots)");
		cfg->sync_refresh_ms = x;
	} else {
		BAD("unknown key");
	}
	return 1;
}

static int on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;

	if (!strcmp(section, "server"))
		return handle_server(ctx, section, name, value);
	if (!strcmp(section, "sync"))
		return handle_sync(ctx, section, name, value);
	if (!strncmp(section, "vip ", 4) && section[4])
		return handle_vip(ctx, section, section + 4, name, value, 0);
	mplb_err("%s: unknown section [%s] (want [server], [sync] and [vip NAME])", ctx->cfg->path,
		 section);
	ctx->errors++;
	return 1;
}

int srv_cfg_load(const char *path, struct srv_cfg *cfg)
{
	struct parse_ctx ctx = {.cfg = cfg};

	cfg_defaults(cfg, path);
	if (cfg_ini_parse(path, on_ini_entry, &ctx, NULL)) /* its handlers never fail a line */
		return -1;
	return ctx.errors ? -1 : 0;
}

#define VERR(...)                                                                         \
	do {                                                                              \
		mplb_err(__VA_ARGS__);                                                    \
		errors++;                                                                 \
	} while (0)

int srv_cfg_validate(const struct srv_cfg *cfg)
{
	const char *p = cfg->path;
	char a[INET6_ADDRSTRLEN];
	int errors = 0;
	uint32_t schemes = srv_cfg_schemes(cfg);

	if (cfg->id < 0)
		VERR("%s: [server] id is missing (0..%d, the balancer's [backend] id)", p, SRV_MAX_ID);
	if (!cfg->n_vips)
		VERR("%s: no [vip NAME] section", p);
	if ((schemes & SRV_SCHEME_TOKEN) && !cfg->n_sync_lbs)
		VERR("%s: scheme token needs [sync] lb (where to push the tokens) and key", p);
	if (cfg->n_sync_lbs && !cfg->has_sync_key)
		VERR("%s: [sync] lb needs [sync] key (`mplb lb sync-key -c LB.INI -i %ld`)", p, cfg->id);
	if (cfg->has_sync_key && !cfg->n_sync_lbs)
		VERR("%s: [sync] key without [sync] lb: where to push?", p);
	if (cfg->n_sync_lbs && !(schemes & (SRV_SCHEME_TOKEN | SRV_SCHEME_TSECR)))
		mplb_warn("%s: [sync] is set but no VIP has scheme token or tsecr: nothing to push", p);
	if ((schemes & SRV_SCHEME_TSECR) && !cfg->has_tsecr_key)
		VERR("%s: scheme tsecr needs [server] tsecr_key (the balancer's [lb] tsecr_key)", p);
	if (cfg->decap && !cfg->n_addrs)
		VERR("%s: decap = on needs [server] address (the balancer encapsulates to it)", p);
	for (int i = 0; i < cfg->n_addrs; i++)
		for (int j = i + 1; j < cfg->n_addrs; j++)
			if (srv_addr_eq(&cfg->addrs[i], &cfg->addrs[j]))
				VERR("%s: [server] address %s is listed twice", p,
				     srv_addr_str(&cfg->addrs[i], a, sizeof(a)));

	for (int i = 0; i < cfg->n_vips; i++) {
		const struct srv_cfg_vip *v = &cfg->vips[i];

		if (!v->has_addr)
			VERR("%s: [vip %s] address is missing", p, v->name);
		if (!v->port)
			VERR("%s: [vip %s] port is missing", p, v->name);
		if (!v->scheme) {
			VERR("%s: [vip %s] scheme is missing (per-server, port, token or tsecr)", p, v->name);
			continue;
		}
		if ((v->scheme & SRV_SCHEME_TOKEN) && (v->scheme & (SRV_SCHEME_PER_SERVER | SRV_SCHEME_PORT)))
			VERR("%s: [vip %s] token routes joins to the VIP itself; per-server and port set "
			     "the C bit, which forbids that: pick one", p, v->name);
		if ((v->scheme & SRV_SCHEME_PER_SERVER) && (v->scheme & SRV_SCHEME_PORT))
			VERR("%s: [vip %s] per-server and port are two ways to route joins: pick one",
			     p, v->name);
		if ((v->scheme & SRV_SCHEME_PER_SERVER) && !cfg->n_addrs)
			VERR("%s: [vip %s] scheme per-server announces the backend's own address: set "
			     "[server] address", p, v->name);
		if ((v->scheme & SRV_SCHEME_PORT) && !v->has_join_port_base)
			VERR("%s: [vip %s] scheme port needs join_port_base (the balancer's)", p,
			     v->name);
		if (!(v->scheme & SRV_SCHEME_PORT) && v->has_join_port_base)
			VERR("%s: [vip %s] join_port_base is set but scheme has no 'port'", p, v->name);
		if ((v->scheme & SRV_SCHEME_PORT) && v->has_join_port_base && cfg->id >= 0) {
			uint32_t jp = (uint32_t)v->join_port_base + (uint32_t)cfg->id;
			if (jp > 65535)
				VERR("%s: [vip %s] join port %u + id %ld runs past 65535", p, v->name,
				     v->join_port_base, cfg->id);
			for (int j = 0; j < cfg->n_vips; j++)
				if (jp == cfg->vips[j].port &&
				    srv_addr_eq(&cfg->vips[j].addr, &v->addr))
					VERR("%s: [vip %s] join port %u is the service port of [vip %s]",
					     p, v->name, jp, cfg->vips[j].name);
			if (jp == cfg->health_port)
				VERR("%s: [vip %s] join port %u is the health_port", p, v->name, jp);
			if (v->addr.family == AF_INET6)
				mplb_warn("%s: [vip %s] an IPv6 ADD_ADDR with a port (30 bytes) does not fit "
					  "beside TCP timestamps on this kernel: it is dropped "
					  "(MPTcpExt AddAddrTxDrop) and no join happens; prefer an IPv4 VIP "
					  "or scheme per-server", p, v->name);
		}
		if (v->initial_subflow != SRV_INITIAL_KEEP && !(v->scheme & SRV_SCHEME_PER_SERVER))
			VERR("%s: [vip %s] initial_subflow applies to scheme per-server only", p,
			     v->name);
		for (int j = 0; j < cfg->n_addrs; j++)
			if (v->has_addr && srv_addr_eq(&v->addr, &cfg->addrs[j]))
				VERR("%s: [vip %s] address %s is also the backend's own address", p,
				     v->name, srv_addr_str(&v->addr, a, sizeof(a)));
		for (int j = i + 1; j < cfg->n_vips; j++) {
			const struct srv_cfg_vip *w = &cfg->vips[j];
			if (v->port == w->port && srv_addr_eq(&v->addr, &w->addr))
				VERR("%s: [vip %s] and [vip %s] are both %s port %u", p, v->name,
				     w->name, srv_addr_str(&v->addr, a, sizeof(a)), v->port);
			if ((v->scheme & SRV_SCHEME_PORT) && (w->scheme & SRV_SCHEME_PORT) &&
			    srv_addr_eq(&v->addr, &w->addr) &&
			    srv_vip_join_port(cfg, v) == srv_vip_join_port(cfg, w))
				VERR("%s: [vip %s] and [vip %s] announce the same join port %u", p,
				     v->name, w->name, srv_vip_join_port(cfg, v));
		}
		if (cfg->health_port && v->port == cfg->health_port)
			VERR("%s: [vip %s] port %u is also the health_port", p, v->name, v->port);
	}
	if (cfg->health_port && !cfg->has_health_addr && !cfg->n_addrs)
		VERR("%s: health_port %u needs health_address or [server] address (or health_port = 0)",
		     p, cfg->health_port);
	return errors ? -1 : 0;
}
