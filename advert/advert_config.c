// SPDX-License-Identifier: MIT
/* mplb advert: configuration ([advert] and [address NAME] INI sections). */
#include <arpa/inet.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfgval.h"
#include "advert/advert.h"
#include "util.h"

void advert_config_init(struct advert_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "/run/mplb");
}

uint8_t advert_address_octet(const struct advert_address *ad)
{
	return addr_attr_octet(ad->community, ad->priority, ad->backup);
}

static int bad(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int parse_small(const char *v, unsigned max, uint8_t *out)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);
	if (!*v || *end || n > max)
		return -1;
	*out = (uint8_t)n;
	return 0;
}

static struct advert_address *address_section(struct advert_config *cfg, const char *name,
					      char *err, size_t errlen)
{
	for (unsigned i = 0; i < cfg->n_addrs; i++)
		if (!strcmp(cfg->addrs[i].name, name))
			return &cfg->addrs[i];
	if (cfg->n_addrs >= ADVERT_MAX_ADDRS) {
		bad(err, errlen, "more than %d [address] sections", ADVERT_MAX_ADDRS);
		return NULL;
	}
	struct advert_address *ad = &cfg->addrs[cfg->n_addrs++];
	memset(ad, 0, sizeof(*ad));
	snprintf(ad->name, sizeof(ad->name), "%s", name);
	ad->initial = true;
	return ad;
}

int advert_config_key(struct advert_config *cfg, const char *section, const char *name,
		      const char *value, char *err, size_t errlen)
{
	if (!strcmp(section, "advert")) {
		if (!strcmp(name, "interfaces")) {
			char buf[512], *save = NULL;
			snprintf(buf, sizeof(buf), "%s", value);
			cfg->n_ifaces = 0;
			for (char *t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
				if (cfg->n_ifaces >= ADVERT_MAX_IFACES)
					return bad(err, errlen, "more than %d interfaces", ADVERT_MAX_IFACES);
				if (strlen(t) >= IF_NAMESIZE)
					return bad(err, errlen, "interface name '%s' too long", t);
				snprintf(cfg->ifaces[cfg->n_ifaces++], IF_NAMESIZE, "%s", t);
			}
		} else if (!strcmp(name, "netns")) {
			snprintf(cfg->netns, sizeof(cfg->netns), "%s", value);
		} else if (!strcmp(name, "state_dir")) {
			snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", value);
		} else {
			return bad(err, errlen, "unknown key '%s' in [advert]", name);
		}
		return 1;
	}
	if (strncmp(section, "address ", 8) && strcmp(section, "address"))
		return 0;
	const char *sname = section[7] ? section + 8 : "";
	while (*sname == ' ')
		sname++;
	if (!*sname)
		return bad(err, errlen, "[address] needs a name: [address NAME]");
	struct advert_address *ad = address_section(cfg, sname, err, errlen);
	if (!ad)
		return -1;
	if (!strcmp(name, "address")) {
		if (inet_pton(AF_INET, value, ad->addr) == 1)
			ad->family = AF_INET;
		else if (inet_pton(AF_INET6, value, ad->addr) == 1)
			ad->family = AF_INET6;
		else
			return bad(err, errlen, "[address %s]: '%s' is not an IPv4 or IPv6 address", sname, value);
	} else if (!strcmp(name, "backup")) {
		if (cfg_parse_bool(value, &ad->backup))
			return bad(err, errlen, "[address %s]: backup must be yes or no, not '%s'", sname, value);
	} else if (!strcmp(name, "priority")) {
		if (parse_small(value, ADDR_ATTR_PRIO_MAX, &ad->priority))
			return bad(err, errlen, "[address %s]: priority must be 0..7 (7 most preferred), not '%s'",
				   sname, value);
	} else if (!strcmp(name, "community")) {
		/* 0 on the wire is "no community": an address of its own (the draft gives 0 no meaning). */
		if (parse_small(value, ADDR_ATTR_COMMUNITY_MAX, &ad->community) || ad->community == 0)
			return bad(err, errlen,
				   "[address %s]: community must be 1..15, not '%s' (addresses that share "
				   "fate share a value; leave the key out for an address of its own)",
				   sname, value);
	} else if (!strcmp(name, "initial")) {
		if (cfg_parse_bool(value, &ad->initial))
			return bad(err, errlen, "[address %s]: initial must be yes or no, not '%s'", sname, value);
	} else {
		return bad(err, errlen, "unknown key '%s' in [address %s]", name, sname);
	}
	return 1;
}

int advert_config_check(const struct advert_config *cfg, char *err, size_t errlen)
{
	for (unsigned i = 0; i < cfg->n_addrs; i++) {
		const struct advert_address *a = &cfg->addrs[i];
		if (!a->family)
			return bad(err, errlen, "[address %s] has no 'address ='", a->name);
		for (unsigned k = 0; k < i; k++) {
			const struct advert_address *b = &cfg->addrs[k];
			if (b->family == a->family &&
			    !memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16))
				return bad(err, errlen, "[address %s] and [address %s] name the same address",
					   b->name, a->name);
		}
	}
	if (!cfg->n_addrs)
		return bad(err, errlen, "no [address NAME] section: nothing to advertise");
	return 0;
}

struct load_ctx {
	struct advert_config *cfg;
	const char *path;
	int errors;
};

static int ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *lc = user;
	char err[256];
	int rc = advert_config_key(lc->cfg, section, name, value, err, sizeof(err));
	if (rc == 0) {
		mplb_err("%s: unknown section [%s] (expected [advert] or [address NAME])", lc->path, section);
		lc->errors++;
		return 0;
	}
	if (rc < 0) {
		mplb_err("%s: %s", lc->path, err);
		lc->errors++;
		return 0;
	}
	return 1;
}

int advert_config_load(const char *path, struct advert_config *cfg)
{
	struct load_ctx lc = {cfg, path, 0};
	char err[256];
	int rc = cfg_ini_parse(path, ini_cb, &lc, &lc.errors);
	if (rc || lc.errors)
		return -1;
	if (advert_config_check(cfg, err, sizeof(err))) {
		mplb_err("%s: %s", path, err);
		return -1;
	}
	return 0;
}
