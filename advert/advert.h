/* SPDX-License-Identifier: MIT */
/*
 * mplb advert: tell MPTCP peers how to use this host's addresses (backup,
 * priority 0-7, community 0-15; draft-duchene-mptcp-add-addr-00 §2.2-2.4).
 *
 * The kernel keeps sending the ADD_ADDRs (in-kernel PM `signal` endpoints, or
 * a userspace PM's ANNOUNCE); this library loads a tc program that puts each
 * announced address's attributes next to its ADD_ADDR in an RFC 6994
 * experimental option (docs/addr-attributes.md), and the initial address's on
 * the MP_CAPABLE SYN/ACK. Usable from any program that advertises:
 * `mplb advert run`, and `mplb server run` (which embeds the [address NAME]
 * sections in its own config through advert_config_key()).
 *
 *   struct advert_config cfg;
 *   advert_config_init(&cfg);
 *   if (advert_config_load("advert.ini", &cfg)) ...
 *   struct advert *a;
 *   if (advert_start(&cfg, &a)) ...          // netns/interfaces from cfg
 *   ... advert_refresh(a) now and then (new interfaces) ...
 *   json_t *j = advert_stats_json(a);
 *   advert_stop(a);
 */
#ifndef MPLB_ADVERT_H
#define MPLB_ADVERT_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mplb/addr_attr.h"

#define ADVERT_MAX_ADDRS 64
#define ADVERT_MAX_IFACES 16

/* One [address NAME] section. */
struct advert_address {
	char name[32];
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network order; IPv4 in the first 4 bytes */
	bool backup;		/* use only after a break (make-after-break) */
	uint8_t priority;	/* 0..7, highest preferred */
	uint8_t community;	/* 0..15, shared fate (e.g. the IPv4 and IPv6 of one interface) */
	bool initial;		/* also on MP_CAPABLE SYN/ACKs from this address (id 0) */
};

struct advert_config {
	char netns[64];				/* "" = the caller's namespace */
	char ifaces[ADVERT_MAX_IFACES][IF_NAMESIZE]; /* empty = every interface but lo */
	unsigned n_ifaces;
	char state_dir[128];			/* for `mplb advert run` status files */
	struct advert_address addrs[ADVERT_MAX_ADDRS];
	unsigned n_addrs;
	int test_malform;			/* enum advert_malform: test hook only */
};

void advert_config_init(struct advert_config *cfg);
/*
 * One INI key. Sections: [advert] (interfaces, netns, state_dir) and
 * [address NAME] (address, backup, priority, community, initial). Returns 1
 * if the key was used, 0 if the section is not advert's (the caller may own
 * it), -1 on a bad key or value (err says which).
 */
int advert_config_key(struct advert_config *cfg, const char *section, const char *name,
		      const char *value, char *err, size_t errlen);
/* Whole-config checks (every address has a value, no duplicates). 0 or -1. */
int advert_config_check(const struct advert_config *cfg, char *err, size_t errlen);
/* Parse an INI file (unknown sections are errors). 0, or -1 with messages printed. */
int advert_config_load(const char *path, struct advert_config *cfg);

struct advert;

/*
 * Load the BPF programs, fill the attribute map and attach tc egress and
 * ingress (tcx links) to the configured interfaces of cfg->netns (entered for
 * the duration of the call only). The links go away with the process if it
 * dies. 0, or -1 with a message.
 */
int advert_start(const struct advert_config *cfg, struct advert **out);
/* Attach to interfaces that appeared since (and forget deleted ones). Returns how many were added. */
int advert_refresh(struct advert *a);
/* Detach and free. NULL is fine. */
void advert_stop(struct advert *a);

/* Counter sums over CPUs, indexed by enum advert_stat. 0 or -1. */
int advert_stats(const struct advert *a, uint64_t out[ADV_STAT_MAX]);
const char *advert_stat_name(unsigned idx);
/* {"netns", "interfaces": [...], "addresses": [...], "counters": {...}} (caller json_decref()s). */
struct json_t *advert_stats_json(const struct advert *a);
/* The attribute octet of an address (draft layout Commu(4)|prio(3)|B(1)). */
uint8_t advert_address_octet(const struct advert_address *ad);

#endif /* MPLB_ADVERT_H */
