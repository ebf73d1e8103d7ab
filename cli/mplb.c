/* SPDX-License-Identifier: MIT */
/* mplb: entry point. Each subcommand lives in its component's folder. */
#include <stdio.h>
#include <string.h>

#include "advert/advert_cmd.h"
#include "client/client.h"
#include "decode/decode.h"
#include "lab/lab.h"
#include "lb/lb.h"
#include "probe/probe.h"
#include "server/server.h"
#include "sim/sim.h"
#include "sysmounts.h"
#include "util.h"
#include "version.h"



struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{"lab", cmd_lab, "build and drive the network-namespace lab"},
	{"probe", cmd_probe, "open MPTCP connections, verify bytes, report subflows"},
	{"serve", cmd_serve, "MPTCP backend application for probes"},
	{"client", cmd_client, "path-manager daemon: spread subflows over local uplinks"},
	{"advert", cmd_advert, "advertise address attributes (backup, priority, community)"},
	{"decode", cmd_decode, "print the MPTCP options of a pcap/pcapng file"},
	{"lb", cmd_lb, "XDP load balancer that keeps MPTCP subflows on one backend"},
	{"server", cmd_server, "backend agent: C bit, announcements, TSecr id, decapsulation"},
	{"sim", cmd_sim, "simulate strategies at scale on the data plane's own decision code"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: mplb [-v] [--version] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
		fprintf(f, "  %-8s %s\n", subcommands[i].name,
			subcommands[i].summary);
	fprintf(f, "  %-8s %s\n", "version", "print the version");
	fprintf(f, "\n'mplb COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	int i = 1;

	/* ip, tc, sysctl and bird live in sbin, which a user's PATH may lack. */
	mplb_path_add_sbin();
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			printf("mplb %s\n", MPLB_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			mplb_verbose++;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			mplb_err("unknown option '%s'", argv[i]);
			usage(stderr);
			return 2;
		}
		i++;
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[i], "version")) {
		printf("mplb %s\n", MPLB_VERSION);
		return 0;
	}
	for (size_t k = 0; k < ARRAY_SIZE(subcommands); k++)
		if (!strcmp(argv[i], subcommands[k].name))
			return subcommands[k].fn(argc - i, argv + i);
	mplb_err("unknown command '%s'", argv[i]);
	usage(stderr);
	return 2;
}
