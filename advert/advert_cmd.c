// SPDX-License-Identifier: MIT
/* "mplb advert": run the advertiser, show its state, check a config. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "advert/advert.h"
#include "advert/advert_cmd.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mplb advert run -c FILE [--netns NAME] [-j]\n"
		"       mplb advert status [--netns NAME | -f STATEFILE] [-j]\n"
		"       mplb advert check -c FILE\n"
		"\n"
		"run     attach the attribute program to the interfaces ([advert] interfaces,\n"
		"        default all but lo) and put each [address NAME]'s backup/priority/\n"
		"        community next to the kernel's ADD_ADDR for it (RFC 6994 option,\n"
		"        kind 253 ExID 0x4d41; docs/addr-attributes.md). The kernel still\n"
		"        sends the ADD_ADDRs: configure `ip mptcp endpoint ... signal`.\n"
		"        Runs until SIGINT/SIGTERM; state in <state_dir>/advert-<netns|pid>.json.\n"
		"status  addresses, interfaces and counters of a running advertiser.\n"
		"check   parse a config and print the attribute octet of each address.\n"
		"\n"
		"config:\n"
		"  [advert]\n"
		"  interfaces = eth1, eth2\n"
		"  [address primary]\n"
		"  address = 192.0.2.1\n"
		"  priority = 7          ; 0..7, 7 most preferred\n"
		"  community = 1         ; 1..15, addresses sharing fate share one; none: its own\n"
		"  backup = no           ; yes: use only after a break\n"
		"\n"
		"Test hook (never in production): --test-malform short|odd|overlong|empty|dup\n"
		"writes a broken attribute option instead of the right one.\n");
}

static int malform_by_name(const char *s)
{
	static const char *const names[] = {"none", "short", "odd", "overlong", "empty", "dup"};
	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

static void state_path(const struct advert_config *cfg, char *buf, size_t len)
{
	if (cfg->netns[0])
		snprintf(buf, len, "%s/advert-%s.json", cfg->state_dir, cfg->netns);
	else
		snprintf(buf, len, "%s/advert-%d.json", cfg->state_dir, (int)getpid());
}

static void save_state(struct advert *a, const char *path, const char *dir)
{
	char tmp[PATH_MAX];
	json_t *j = advert_stats_json(a);
	json_object_set_new(j, "pid", json_integer(getpid()));
	mkdir(dir, 0755);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (json_dump_file(j, tmp, JSON_INDENT(1)) == 0)
		rename(tmp, path);
	else
		unlink(tmp);
	json_decref(j);
}

static void print_addresses(const struct advert_config *cfg)
{
	char ip[INET6_ADDRSTRLEN];
	for (unsigned i = 0; i < cfg->n_addrs; i++) {
		const struct advert_address *ad = &cfg->addrs[i];
		inet_ntop(ad->family, ad->addr, ip, sizeof(ip));
		char comm[16];
		if (ad->community)
			snprintf(comm, sizeof(comm), "%u", ad->community);
		else
			snprintf(comm, sizeof(comm), "own");
		printf("  %-12s %-24s backup %-3s priority %u community %-4s octet 0x%02x%s\n", ad->name,
		       ip, ad->backup ? "yes" : "no", ad->priority, comm,
		       advert_address_octet(ad), ad->initial ? "" : " (not on SYN/ACK)");
	}
}

static int cmd_run(int argc, char **argv)
{
	static struct advert_config cfg;
	const char *conf = NULL, *netns = NULL;
	char path[PATH_MAX];
	bool json = false;
	int malform = 0, rc = 1, sfd;
	struct advert *a;
	sigset_t mask;

	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
			conf = argv[++i];
		} else if (!strcmp(argv[i], "--netns") && i + 1 < argc) {
			netns = argv[++i];
		} else if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--test-malform") && i + 1 < argc) {
			malform = malform_by_name(argv[++i]);
			if (malform < 0) {
				mplb_err("advert: --test-malform: one of short, odd, overlong, empty, dup");
				return 2;
			}
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			mplb_err("advert run: unknown or incomplete argument '%s'", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (!conf) {
		mplb_err("advert run: -c FILE is required");
		return 2;
	}
	advert_config_init(&cfg);
	if (advert_config_load(conf, &cfg))
		return 2;
	if (netns)
		snprintf(cfg.netns, sizeof(cfg.netns), "%s", netns);
	cfg.test_malform = malform;
	if (require_root("mplb advert run (loads and attaches BPF)"))
		return 1;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		mplb_err("signalfd: %s", strerror(errno));
		return 1;
	}
	if (advert_start(&cfg, &a)) {
		close(sfd);
		return 1;
	}
	state_path(&cfg, path, sizeof(path));
	if (json) {
		json_t *j = advert_stats_json(a);
		json_object_set_new(j, "event", json_string("start"));
		char *s = json_dumps(j, JSON_COMPACT);
		printf("%s\n", s ? s : "{}");
		free(s);
		json_decref(j);
	} else {
		printf("mplb advert: running%s%s, %u address(es)%s\n", cfg.netns[0] ? " in netns " : "",
		       cfg.netns, cfg.n_addrs, malform ? " (TEST HOOK: malformed options)" : "");
		print_addresses(&cfg);
	}
	fflush(stdout);
	save_state(a, path, cfg.state_dir);
	for (;;) {
		struct pollfd p = {.fd = sfd, .events = POLLIN};
		int n = poll(&p, 1, 1000);
		if (n < 0 && errno != EINTR) {
			mplb_err("poll: %s", strerror(errno));
			break;
		}
		if (n > 0) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				rc = 0;
				break;
			}
		}
		if (advert_refresh(a) > 0 && !json)
			printf("mplb advert: attached to new interface(s)\n");
		save_state(a, path, cfg.state_dir);
	}
	if (json) {
		json_t *j = advert_stats_json(a);
		json_object_set_new(j, "event", json_string("stop"));
		char *s = json_dumps(j, JSON_COMPACT);
		printf("%s\n", s ? s : "{}");
		free(s);
		json_decref(j);
	} else {
		uint64_t st[ADV_STAT_MAX];
		printf("mplb advert: stopping;");
		if (!advert_stats(a, st))
			for (unsigned k = 0; k < ADV_STAT_MAX; k++)
				if (st[k])
					printf(" %s %llu", advert_stat_name(k), (unsigned long long)st[k]);
		printf("\n");
	}
	unlink(path);
	advert_stop(a);
	close(sfd);
	return rc;
}

static int cmd_status(int argc, char **argv)
{
	char path[PATH_MAX] = "";
	bool json = false;
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	size_t i;

	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--netns") && k + 1 < argc)
			snprintf(path, sizeof(path), "/run/mplb/advert-%s.json", argv[++k]);
		else if (!strcmp(argv[k], "-f") && k + 1 < argc)
			snprintf(path, sizeof(path), "%s", argv[++k]);
		else if (!strcmp(argv[k], "-j") || !strcmp(argv[k], "--json"))
			json = true;
		else if (!strcmp(argv[k], "-h") || !strcmp(argv[k], "--help")) {
			usage(stdout);
			return 0;
		}
		else {
			mplb_err("advert status: unknown or incomplete argument '%s'", argv[k]);
			return 2;
		}
	}
	if (!path[0]) {
		mplb_err("advert status: --netns NAME or -f STATEFILE");
		return 2;
	}
	root = json_load_file(path, 0, &jerr);
	if (!root) {
		mplb_err("cannot read %s: %s (is 'mplb advert run' running?)", path, jerr.text);
		return 1;
	}
	if (json) {
		char *s = json_dumps(root, JSON_COMPACT);
		printf("%s\n", s ? s : "{}");
		free(s);
	} else {
		printf("mplb advert (pid %lld)\ninterfaces:",
		       (long long)json_integer_value(json_object_get(root, "pid")));
		json_array_foreach(json_object_get(root, "interfaces"), i, v)
			printf(" %s", json_string_value(json_object_get(v, "name")));
		printf("\naddresses:\n");
		json_array_foreach(json_object_get(root, "addresses"), i, v)
			printf("  %-12s %-24s backup %-3s priority %lld community %lld%s\n",
			       json_string_value(json_object_get(v, "name")),
			       json_string_value(json_object_get(v, "address")),
			       json_is_true(json_object_get(v, "backup")) ? "yes" : "no",
			       (long long)json_integer_value(json_object_get(v, "priority")),
			       (long long)json_integer_value(json_object_get(v, "community")),
			       json_is_true(json_object_get(v, "kernel_signal_endpoint"))
				       ? "" : "  (not a kernel signal endpoint)");
		printf("counters:\n");
		json_object_foreach(json_object_get(root, "counters"), key, v)
			printf("  %-18s %lld\n", key, (long long)json_integer_value(v));
	}
	json_decref(root);
	return 0;
}

static int cmd_check(int argc, char **argv)
{
	static struct advert_config cfg;
	const char *conf = NULL;
	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
			conf = argv[++i];
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			mplb_err("advert check: unknown or incomplete argument '%s'", argv[i]);
			return 2;
		}
	}
	if (!conf) {
		mplb_err("advert check: -c FILE is required");
		return 2;
	}
	advert_config_init(&cfg);
	if (advert_config_load(conf, &cfg))
		return 1;
	printf("%s: %u address(es)\n", conf, cfg.n_addrs);
	print_addresses(&cfg);
	/* Say what "no community" means where it could be mistaken for a shared default. */
	unsigned own = 0, shared = 0;
	for (unsigned i = 0; i < cfg.n_addrs; i++)
		cfg.addrs[i].community ? shared++ : own++;
	if (own > 1)
		printf("note: %u addresses have no community: each is a community of its own, so the\n"
		       "      community policy gives each its own subflow. Addresses that share fate\n"
		       "      (one interface's IPv4 and IPv6) should say so: community = 1..15.\n", own);
	else if (own && shared)
		printf("note: one address has no community: it is a community of its own.\n");
	return 0;
}

int cmd_advert(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	mplb_err("advert: unknown subcommand '%s'", argv[1]);
	usage(stderr);
	return 2;
}
