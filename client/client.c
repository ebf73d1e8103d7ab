// SPDX-License-Identifier: MIT
/* "mplb client": command line, config file, state file location. */
#include <arpa/inet.h>
#include <dirent.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cfgval.h"
#include "client/client.h"
#include "client/client_int.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mplb client run [-c FILE] [--netns NAME] [-j]\n"
		"       mplb client status [--netns NAME | -f STATEFILE] [-j]\n"
		"\n"
		"run     select the kernel's userspace path manager (net.mptcp.path_manager,\n"
		"        restored on exit) and open subflows from every local uplink to\n"
		"        every address the server allows (spread policy), shaped by the\n"
		"        units in 'policy =' (make-after-break, make-before-break, priority,\n"
		"        community) and the peer's address attributes (learnt from the wire\n"
		"        by a tc program on each uplink, or [remote NAME] config stand-ins).\n"
		"        Runs until SIGINT/SIGTERM. -j prints JSON lines.\n"
		"status  connections, remote addresses, subflows and decisions of a\n"
		"        running daemon (from %s/client-<netns or pid>.json).\n"
		"\n"
		"example (in network namespace cli; --netns enters it the way nsenter does,\n"
		"keeping the host's /sys, so pinned maps and cgroups stay visible;\n"
		"`ip netns exec` remounts /sys and hides them):\n"
		"  mplb client run --netns cli -c client/examples/client.ini &\n"
		"  mplb client status --netns cli\n",
		CLIENT_STATE_DIR);
}

struct ini_ctx {
	struct cl_config *cfg;
	char *state_dir;
	size_t state_dir_len;
	const char *path;
	int errors;
};

/* [remote NAME]: attributes of a peer address, a stand-in for the wire's. */
static int remote_key(struct ini_ctx *ic, const char *sname, const char *name, const char *value)
{
	struct cl_config *cfg = ic->cfg;
	struct cl_static_attr *st = NULL;
	unsigned long v;

	for (unsigned i = 0; i < cfg->n_static_attrs && !st; i++)
		if (!strcmp(cfg->static_attrs[i].name, sname))
			st = &cfg->static_attrs[i];
	if (!st) {
		if (cfg->n_static_attrs >= CL_MAX_STATIC_ATTRS) {
			mplb_err("%s: more than %d [remote] sections", ic->path, CL_MAX_STATIC_ATTRS);
			return -1;
		}
		st = &cfg->static_attrs[cfg->n_static_attrs++];
		memset(st, 0, sizeof(*st));
		snprintf(st->name, sizeof(st->name), "%s", sname);
		st->attr.source = CL_ATTR_CONFIG;
	}
	if (!strcmp(name, "address")) {
		if (inet_pton(AF_INET, value, &st->addr.v4) == 1)
			st->family = AF_INET;
		else if (inet_pton(AF_INET6, value, &st->addr.v6) == 1)
			st->family = AF_INET6;
		else {
			mplb_err("%s: [remote %s]: '%s' is not an IPv4 or IPv6 address", ic->path, sname, value);
			return -1;
		}
	} else if (!strcmp(name, "backup")) {
		if (cfg_parse_bool(value, &st->attr.backup)) {
			mplb_err("%s: [remote %s]: backup must be yes or no", ic->path, sname);
			return -1;
		}
	} else if (!strcmp(name, "priority")) {
		if (parse_uint(value, "priority", 0, ADDR_ATTR_PRIO_MAX, &v))
			return -1;
		st->attr.prio = (uint8_t)v;
	} else if (!strcmp(name, "community")) {
		/* 1..15 as in mplb advert: 0 means none (an address of its own), so it is not written. */
		if (parse_uint(value, "community", 1, ADDR_ATTR_COMMUNITY_MAX, &v)) {
			mplb_err("%s: [remote %s]: leave community out for an address of its own", ic->path,
				 sname);
			return -1;
		}
		st->attr.community = (uint8_t)v;
	} else {
		mplb_err("%s: unknown key '%s' in [remote %s]", ic->path, name, sname);
		return -1;
	}
	return 0;
}

static int client_ini_key(void *user, const char *section, const char *name,
		       const char *value)
{
	struct ini_ctx *ic = user;
	struct cl_config *cfg = ic->cfg;
	unsigned long v;
	bool b;

	if (!strncmp(section, "remote ", 7)) {
		const char *sname = section + 7;
		while (*sname == ' ')
			sname++;
		if (!*sname || remote_key(ic, sname, name, value))
			goto bad;
		return 1;
	}
	if (strcmp(section, "client")) {
		mplb_warn("%s: ignoring section [%s]", ic->path, section);
		return 1;
	}
	if (!strcmp(name, "max_subflows")) {
		if (parse_uint(value, "max_subflows", 0, 64, &v))
			goto bad;
		cfg->max_subflows = (unsigned)v;
	} else if (!strcmp(name, "retry_max")) {
		if (parse_uint(value, "retry_max", 0, 100, &v))
			goto bad;
		cfg->retry_max = (unsigned)v;
	} else if (!strcmp(name, "retry_base_ms")) {
		if (parse_uint(value, "retry_base_ms", 1, 60000, &v))
			goto bad;
		cfg->retry_base_ms = (unsigned)v;
	} else if (!strcmp(name, "retry_cap_ms")) {
		if (parse_uint(value, "retry_cap_ms", 1, 600000, &v))
			goto bad;
		cfg->retry_cap_ms = (unsigned)v;
	} else if (!strcmp(name, "policy")) {
		snprintf(cfg->policy, sizeof(cfg->policy), "%s", value);
	} else if (!strcmp(name, "wire_attributes")) {
		if (cfg_parse_bool(value, &cfg->wire_attrs)) {
			mplb_err("%s: wire_attributes must be yes or no", ic->path);
			goto bad;
		}
	} else if (!strcmp(name, "attr_wait_ms")) {
		if (parse_uint(value, "attr_wait_ms", 0, 10000, &v))
			goto bad;
		cfg->attr_wait_ms = (unsigned)v;
	} else if (!strcmp(name, "keep")) {
		if (!strcmp(value, "one"))
			cfg->keep_non_backup = false;
		else if (!strcmp(value, "non-backup"))
			cfg->keep_non_backup = true;
		else {
			mplb_err("%s: keep must be 'one' or 'non-backup', not '%s'", ic->path, value);
			goto bad;
		}
	} else if (!strcmp(name, "health_interval_ms")) {
		if (parse_uint(value, "health_interval_ms", 0, 1000, &v))
			goto bad;
		cfg->health_interval_ms = (unsigned)v;
	} else if (!strcmp(name, "dark_after_ms")) {
		if (parse_uint(value, "dark_after_ms", 20, 60000, &v))
			goto bad;
		cfg->dark_after_ms = (unsigned)v;
	} else if (!strcmp(name, "probe_wait_ms")) {
		if (parse_uint(value, "probe_wait_ms", 10, 60000, &v))
			goto bad;
		cfg->probe_wait_ms = (unsigned)v;
	} else if (!strcmp(name, "idle_probe_ms")) {
		if (parse_uint(value, "idle_probe_ms", 0, 3600000, &v))
			goto bad;
		if (v && v < 600) {
			mplb_err("%s: idle_probe_ms must be 0 (off) or at least 600: a peer answers "
				 "probes at most every 500 ms (net.ipv4.tcp_invalid_ratelimit)", ic->path);
			goto bad;
		}
		cfg->idle_probe_ms = (unsigned)v;
	} else if (!strcmp(name, "community_subflows")) {
		if (parse_uint(value, "community_subflows", 1, 8, &v))
			goto bad;
		cfg->community_subflows = (unsigned)v;
	} else if (!strcmp(name, "withdraw_lost")) {
		if (cfg_parse_bool(value, &b)) {
			mplb_err("%s: withdraw_lost must be yes or no", ic->path);
			goto bad;
		}
		cfg->withdraw_lost = b;
	} else if (!strcmp(name, "cross_family")) {
		if (!strcmp(value, "fallback"))
			cfg->cross_family = CL_CROSS_FALLBACK;
		else if (!cfg_parse_bool(value, &b))
			cfg->cross_family = b ? CL_CROSS_YES : CL_CROSS_NO;
		else {
			mplb_err("%s: cross_family must be fallback, yes or no, not '%s'", ic->path, value);
			goto bad;
		}
	} else if (!strcmp(name, "cross_family_wait_ms")) {
		if (parse_uint(value, "cross_family_wait_ms", 0, 10000, &v))
			goto bad;
		cfg->cross_family_wait_ms = (unsigned)v;
	} else if (!strcmp(name, "state_dir")) {
		snprintf(ic->state_dir, ic->state_dir_len, "%s", value);
	} else if (!strcmp(name, "uplinks")) {
		char buf[512], *save = NULL;
		snprintf(buf, sizeof(buf), "%s", value);
		cfg->n_uplinks = 0;
		for (char *t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
			if (cfg->n_uplinks >= CL_MAX_UPLINKS) {
				mplb_err("%s: more than %d uplinks", ic->path, CL_MAX_UPLINKS);
				goto bad;
			}
			snprintf(cfg->uplinks[cfg->n_uplinks++], IF_NAMESIZE, "%s", t);
		}
	} else {
		mplb_err("%s: unknown key '%s' in [client]", ic->path, name);
		goto bad;
	}
	return 1;
bad:
	ic->errors++;
	return 0;
}

int client_config_load(const char *path, struct cl_config *cfg, char *state_dir,
		       size_t state_dir_len)
{
	struct ini_ctx ic = {cfg, state_dir, state_dir_len, path, 0};
	int rc = cfg_ini_parse(path, client_ini_key, &ic, &ic.errors);
	for (unsigned i = 0; !rc && !ic.errors && i < cfg->n_static_attrs; i++)
		if (!cfg->static_attrs[i].family) {
			mplb_err("%s: [remote %s] has no 'address ='", path, cfg->static_attrs[i].name);
			ic.errors++;
		}
	return rc || ic.errors ? -1 : 0;
}

static void set_state_path(struct client_daemon *d)
{
	if (d->netns[0])
		snprintf(d->state_path, sizeof(d->state_path), "%s/client-%s.json",
			 d->state_dir, d->netns);
	else
		snprintf(d->state_path, sizeof(d->state_path), "%s/client-%d.json",
			 d->state_dir, (int)getpid());
}

static int cmd_run(int argc, char **argv)
{
	static struct client_daemon d; /* large: keep it off the stack */
	const char *conf = NULL;

	memset(&d, 0, sizeof(d));
	cl_config_defaults(&d.cfg);
	snprintf(d.state_dir, sizeof(d.state_dir), "%s", CLIENT_STATE_DIR);
	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
			conf = argv[++i];
		} else if (!strcmp(argv[i], "--netns") && i + 1 < argc) {
			snprintf(d.netns, sizeof(d.netns), "%s", argv[++i]);
		} else if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			d.json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			mplb_err("client run: unknown or incomplete argument '%s'", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (conf && client_config_load(conf, &d.cfg, d.state_dir, sizeof(d.state_dir)))
		return 2;
	{
		char err[200];
		int n = cl_policy_resolve(d.cfg.policy, d.units, CL_MAX_UNITS, err, sizeof(err));
		if (n < 0) {
			mplb_err("%s", err);
			return 2;
		}
		d.n_units = (unsigned)n;
		d.policy = d.units[0];
	}
	set_state_path(&d);
	return client_daemon_run(&d);
}

static int cmd_status(int argc, char **argv)
{
	char path[PATH_MAX] = "";
	bool json = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--netns") && i + 1 < argc) {
			snprintf(path, sizeof(path), "%s/client-%s.json", CLIENT_STATE_DIR, argv[++i]);
		} else if (!strcmp(argv[i], "-f") && i + 1 < argc) {
			snprintf(path, sizeof(path), "%s", argv[++i]);
		} else if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			mplb_err("client status: unknown or incomplete argument '%s'", argv[i]);
			return 2;
		}
	}
	if (!path[0]) {
		/* No name given: fine when exactly one daemon runs. */
		DIR *dir = opendir(CLIENT_STATE_DIR);
		struct dirent *e;
		int found = 0;
		while (dir && (e = readdir(dir))) {
			size_t n = strlen(e->d_name);
			if (strncmp(e->d_name, "client-", 7) || n < 6 ||
			    strcmp(e->d_name + n - 5, ".json"))
				continue;
			if (found++)
				fprintf(stderr, "  %s\n", e->d_name);
			else
				snprintf(path, sizeof(path), "%s/%s", CLIENT_STATE_DIR, e->d_name);
		}
		if (dir)
			closedir(dir);
		if (!found) {
			mplb_err("no running mplb client (no %s/client-*.json)", CLIENT_STATE_DIR);
			return 1;
		}
		if (found > 1) {
			mplb_err("several clients run (%s and the files above): pick one with --netns or -f",
				 path);
			return 2;
		}
	}
	return client_status(path, json);
}

int cmd_client(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return cmd_status(argc - 1, argv + 1);
	mplb_err("client: unknown subcommand '%s'", argv[1]);
	usage(stderr);
	return 2;
}
