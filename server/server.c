// SPDX-License-Identifier: MIT
/*
 * mplb server: the backend agent. Sets up, in its network namespace, what
 * the balancer's scheme needs from the backend (C bit, announcements,
 * timestamp encoding, decapsulation), reports it, and undoes it on exit.
 * docs/server.md; config format: server/examples/server.ini.
 */
#include "server.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "server_int.h"
#include "sysmounts.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mplb server run -c FILE       apply FILE in this network namespace, run until\n"
		"                                     SIGINT/SIGTERM, then undo every change\n"
		"       mplb server check -c FILE     validate FILE (no root needed)\n"
		"       mplb server status [-j] -c FILE | -n NAME\n"
		"                                     scheme, VIPs, endpoints, health, counters,\n"
		"                                     per-connection ADD_ADDR report\n"
		"       mplb server cleanup -c FILE | -n NAME\n"
		"                                     undo what a killed run left (its journal)\n"
		"\n"
		"Run it inside the backend's network namespace with `mplb lab exec HOST --` or\n"
		"nsenter (not `ip netns exec`, which hides the host's bpffs and cgroup mounts).\n"
		"example: mplb server check -c server/examples/server.ini\n");
}

static int do_check(const char *path)
{
	struct srv_cfg *cfg = calloc(1, sizeof(*cfg));
	char s[64], as[INET6_ADDRSTRLEN];
	int rc = 1;

	if (!cfg)
		return 1;
	if (srv_cfg_load(path, cfg) == 0 && srv_cfg_validate(cfg) == 0) {
		printf("server %s: backend id %ld", cfg->name, cfg->id);
		for (int i = 0; i < cfg->n_addrs; i++)
			printf("%s%s", i ? ", " : ", own address ",
			       srv_addr_str(&cfg->addrs[i], as, sizeof(as)));
		printf("\n");
		for (int i = 0; i < cfg->n_vips; i++) {
			const struct srv_cfg_vip *v = &cfg->vips[i];
			printf("vip %-10s %s port %u scheme %s", v->name,
			       srv_addr_str(&v->addr, as, sizeof(as)), v->port,
			       srv_scheme_str(v->scheme, s, sizeof(s)));
			if (v->scheme & SRV_SCHEME_PORT)
				printf(" join port %u", srv_vip_join_port(cfg, v));
			if (v->scheme & SRV_SCHEME_PER_SERVER)
				printf(" initial subflow %s", srv_initial_str(v->initial_subflow));
			printf("\n");
		}
		printf("%s: OK\n", path);
		rc = 0;
	}
	free(cfg);
	return rc;
}

static int do_cleanup(const char *path, const char *name)
{
	struct srv_cfg *cfg = calloc(1, sizeof(*cfg));
	char journal[256], lock[256];
	int rc = 1, fd;

	if (!cfg)
		return 1;
	if (path) {
		if (srv_cfg_load(path, cfg))
			goto out;
		name = cfg->name;
	}
	if (require_root("mplb server cleanup") || mplb_bpffs_ensure("mplb server cleanup"))
		goto out;
	srv_paths(name, NULL, journal, lock, sizeof(journal));
	fd = open(lock, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			mplb_err("server cleanup: instance '%s' is running: stop it (SIGTERM) and it "
				 "undoes its changes itself", name);
			close(fd);
			goto out;
		}
	}
	if (access(journal, F_OK)) {
		printf("mplb server: %s: nothing to undo (no journal)\n", name);
		rc = 0;
	} else if (srv_undo_journal(journal, true) == 0) {
		printf("mplb server: %s: every recorded change undone\n", name);
		rc = 0;
	}
	if (fd >= 0) {
		unlink(lock);
		close(fd);
	}
out:
	free(cfg);
	return rc;
}

int cmd_server(int argc, char **argv)
{
	const char *path = NULL, *name = NULL, *sub;
	bool json = false;
	int opt;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	sub = argv[1];
	optind = 2;
	static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
						 {"json", no_argument, NULL, 'j'},
						 {"config", required_argument, NULL, 'c'},
						 {"name", required_argument, NULL, 'n'},
						 {NULL, 0, NULL, 0}};
	while ((opt = getopt_long(argc, argv, "c:n:jh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		mplb_err("server: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (!strcmp(sub, "status") || !strcmp(sub, "cleanup")) {
		if (!path && !name) {
			mplb_err("server %s: need -c FILE or -n NAME", sub);
			return 2;
		}
		return !strcmp(sub, "status") ? srv_status(path, name, json) : do_cleanup(path, name);
	}
	if (!path) {
		mplb_err("server %s: need -c FILE", sub);
		return 2;
	}
	if (!strcmp(sub, "run"))
		return srv_run(path) ? 1 : 0;
	if (!strcmp(sub, "check"))
		return do_check(path);
	mplb_err("server: unknown subcommand '%s'", sub);
	usage(stderr);
	return 2;
}
