// SPDX-License-Identifier: MIT
/* `mplb sim`: options, the run over every strategy, the table or JSON. */
#include <getopt.h>
#include <jansson.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maglev.h"
#include "mplb/lb_structs.h"
#include "mplb/tsecr.h"
#include "sim.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mplb sim [-j] [-n CONNS] [-b BACKENDS] [-s SUBFLOWS] [--lbs N]\n"
		"                [--strategy NAME[,NAME...]] [--token-sync on|off] [--agree PACKETS]\n"
		"                [--fuzz FRAMES]\n"
		"                [--ring PRIME] [--table ENTRIES] [--seed N]\n"
		"\n"
		"Simulate CONNS MPTCP connections (SUBFLOWS each: the first and its joins)\n"
		"through N LB hosts running the XDP program's own decision code, to BACKENDS\n"
		"backends, under each event: none, a backend added, drained, removed, an LB\n"
		"host restarted with its pinned state or without it, an LB host gone (N > 1).\n"
		"Reports per strategy the joins that reach their connection's backend, the\n"
		"connections broken and subflows lost by each event, and the LB state per\n"
		"connection. Then the same packets through the kernel (BPF_PROG_TEST_RUN, root)\n"
		"and through the simulator: `agreement` is the share that picked the same\n"
		"backend (must be 1.0).\n"
		"\n"
		"  -n CONNS          connections (default 1000000)\n"
		"  -b BACKENDS       backends (default 1000, at most %d)\n"
		"  -s SUBFLOWS       subflows per connection (default 3, at most %d)\n"
		"  --lbs N           LB hosts behind ECMP (default 1, at most %d)\n"
		"  --strategy LIST   hash, hash+lru, per-server, port, token, tsecr, port+tsecr,\n"
		"                    token+tsecr, and the schemes that need a stack change:\n"
		"                    lb-keys, token-id, app-auth (default: all)\n"
		"  --token-sync on|off  the backends push their tokens to every host (default on)\n"
		"  --agree PACKETS   packets of the kernel check (default 20000; 0 = skip)\n"
		"  --fuzz FRAMES     mutated frames through the XDP program (default 20000; 0 = skip):\n"
		"                    each verdict must be PASS, DROP or TX to a present backend\n"
		"  --ring PRIME      Maglev slots (default: a prime >= 100 x backends)\n"
		"  --table ENTRIES   size of each LB table (default CONNS x SUBFLOWS: no eviction)\n"
		"  -j                JSON\n"
		"\nexample: mplb sim -n 100000 -b 100 --lbs 2\n",
		SIM_MAX_BACKENDS, SIM_MAX_SUBFLOWS, SIM_MAX_LBS);
}

/* Is name in the comma-separated list (all when there is none)? */
static bool selected(const char *list, const char *name)
{
	char l[260], needle[64];

	if (!list)
		return true;
	snprintf(l, sizeof(l), ",%s,", list);
	snprintf(needle, sizeof(needle), ",%s,", name);
	return strstr(l, needle) != NULL;
}

static uint32_t prime_at_least(uint32_t n)
{
	while (!maglev_is_prime(n))
		n++;
	return n;
}

int cmd_sim(int argc, char **argv)
{
	enum { O_LBS = 256, O_STRAT, O_SYNC, O_AGREE, O_FUZZ, O_RING, O_TABLE, O_SEED };
	static const struct option longopts[] = {
		{"lbs", required_argument, NULL, O_LBS},       {"strategy", required_argument, NULL, O_STRAT},
		{"token-sync", required_argument, NULL, O_SYNC}, {"agree", required_argument, NULL, O_AGREE},
		{"fuzz", required_argument, NULL, O_FUZZ},
		{"ring", required_argument, NULL, O_RING},     {"table", required_argument, NULL, O_TABLE},
		{"seed", required_argument, NULL, O_SEED},     {"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, 'j'},              {NULL, 0, NULL, 0}};
	struct sim_opts o = {.conns = 1000000, .backends = 1000, .subflows = 3, .lbs = 1, .token_sync = true};
	unsigned long v, agree = 20000, fuzz = 20000;
	const char *only = NULL;
	bool json = false;
	uint32_t agree_failed = 0, fuzz_failed = 0;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "jhn:b:s:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (parse_uint(optarg, "sim -n", 1, 50000000, &v))
				return 2;
			o.conns = (uint32_t)v;
			break;
		case 'b':
			if (parse_uint(optarg, "sim -b", 2, SIM_MAX_BACKENDS, &v))
				return 2;
			o.backends = (uint32_t)v;
			break;
		case 's':
			if (parse_uint(optarg, "sim -s", 1, SIM_MAX_SUBFLOWS, &v))
				return 2;
			o.subflows = (int)v;
			break;
		case O_LBS:
			if (parse_uint(optarg, "sim --lbs", 1, SIM_MAX_LBS, &v))
				return 2;
			o.lbs = (int)v;
			break;
		case O_STRAT:
			only = optarg;
			break;
		case O_SYNC:
			if (strcmp(optarg, "on") && strcmp(optarg, "off")) {
				mplb_err("sim --token-sync: want on or off, got '%s'", optarg);
				return 2;
			}
			o.token_sync = !strcmp(optarg, "on");
			break;
		case O_AGREE:
			if (parse_uint(optarg, "sim --agree", 0, 10000000, &agree))
				return 2;
			break;
		case O_FUZZ:
			if (parse_uint(optarg, "sim --fuzz", 0, 100000000, &fuzz))
				return 2;
			break;
		case O_RING:
			if (parse_uint(optarg, "sim --ring", 2, 100000007, &v) || !maglev_is_prime((uint32_t)v)) {
				mplb_err("sim --ring: want a prime");
				return 2;
			}
			o.ring_size = (uint32_t)v;
			break;
		case O_TABLE:
			if (parse_uint(optarg, "sim --table", 16, 1u << 30, &v))
				return 2;
			o.table_entries = (uint32_t)v;
			break;
		case O_SEED:
			if (parse_uint(optarg, "sim --seed", 0, ~0ul, &v))
				return 2;
			o.seed = v;
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
		mplb_err("sim: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (!o.ring_size)
		o.ring_size = prime_at_least(o.backends * 100 < 65537 ? 65537 : o.backends * 100);
	if (!o.table_entries)
		o.table_entries = o.conns * (uint32_t)o.subflows;
	if (only) {
		char buf[256], *save = NULL;
		snprintf(buf, sizeof(buf), "%s", only);
		for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			bool known = false;
			for (int i = 0; sim_strategies[i].name; i++)
				known |= !strcmp(sim_strategies[i].name, t);
			if (!known) {
				mplb_err("sim --strategy: unknown strategy '%s' (mplb sim --help lists them)", t);
				return 2;
			}
		}
	}

	int todo = 0, done = 0;
	bool progress = isatty(STDERR_FILENO);
	for (int i = 0; sim_strategies[i].name; i++)
		todo += selected(only, sim_strategies[i].name);
	json_t *root = json_object(), *jst = json_array();
	if (!json) {
		printf("mplb sim: %u connections x %d subflows, %u backends, %d LB host%s, token sync %s, "
		       "ring %u\n\n", o.conns, o.subflows, o.backends, o.lbs, o.lbs > 1 ? "s" : "",
		       o.token_sync ? "on" : "off", o.ring_size);
		printf("%-12s %-13s %9s %9s %9s %9s %9s %10s\n", "strategy", "event", "joins ok", "checked",
		       "broken", "sf lost", "B/conn", "time");
	}
	for (int i = 0; sim_strategies[i].name; i++) {
		const struct sim_strategy *st = &sim_strategies[i];
		struct sim_result res[SIM_EV_MAX];
		if (!selected(only, st->name))
			continue;
		if (progress)
			fprintf(stderr, "\rmplb sim: %-12s (%d of %d)", st->name, ++done, todo);
		if (sim_run_strategy(&o, st, res)) {
			mplb_err("sim: %s: out of memory", st->name);
			json_decref(root);
			json_decref(jst);
			return 1;
		}
		json_t *js = json_pack("{s:s, s:b, s:f}", "strategy", st->name, "needs_stack_change",
				       st->stack_change, "seconds", res[0].seconds);
		if (st->stack_change)
			json_object_set_new(js, "stack_change", json_string(st->what));
		json_t *jev = json_object();
		for (int e = 0; e < SIM_EV_MAX; e++) {
			const struct sim_result *r = &res[e];
			if (!r->ran)
				continue;
			json_object_set_new(jev, sim_event_name(e),
					    json_pack("{s:I, s:I, s:f, s:I, s:I, s:I, s:f}", "joins",
						      (json_int_t)r->joins, "joins_ok", (json_int_t)r->joins_ok,
						      "join_success", r->joins ? (double)r->joins_ok / r->joins : 1.0,
						      "checked", (json_int_t)r->checked, "broken",
						      (json_int_t)r->broken, "subflows_lost",
						      (json_int_t)r->subflows_lost, "state_bytes_per_conn",
						      r->state_bytes_per_conn));
			if (!json) {
				char name[24];
				snprintf(name, sizeof(name), "%s%s", st->name, st->stack_change ? "*" : "");
				printf("%-12s %-13s %8.2f%% %9llu %9llu %9llu %9.1f %9.2fs\n", e ? "" : name,
				       sim_event_name(e), r->joins ? 100.0 * r->joins_ok / r->joins : 100.0,
				       (unsigned long long)r->checked, (unsigned long long)r->broken,
				       (unsigned long long)r->subflows_lost, r->state_bytes_per_conn,
				       e ? 0.0 : res[0].seconds);
			}
		}
		json_object_set_new(js, "events", jev);
		fflush(stdout);
		json_array_append_new(jst, js);
	}
	if (progress)
		fprintf(stderr, "\r%60s\r", "");
	json_object_set_new(root, "options", json_pack("{s:I, s:i, s:I, s:i, s:b, s:I}", "connections",
			   (json_int_t)o.conns, "subflows", o.subflows, "backends", (json_int_t)o.backends,
			   "lbs", o.lbs, "token_sync", o.token_sync, "ring_size", (json_int_t)o.ring_size));
	json_object_set_new(root, "strategies", jst);
	if (agree) {
		uint32_t bad = 0;
		double share = sim_agreement((uint32_t)agree, o.backends, o.seed, &bad);
		if (share < 0) {
			if (!json)
				printf("\nagreement: not checked (needs root to load the XDP program)\n");
			json_object_set_new(root, "agreement", json_null());
		} else {
			if (!json)
				printf("\nagreement with the kernel: %.6f (%u packets through BPF_PROG_TEST_RUN and "
				       "the simulator, %u differed; %u backends)\n", share, (unsigned)agree, bad,
				       o.backends > MPLB_MAX_BACKENDS ? MPLB_MAX_BACKENDS : o.backends);
			json_object_set_new(root, "agreement", json_real(share));
			json_object_set_new(root, "agreement_packets", json_integer((json_int_t)agree));
			agree_failed = bad;
		}
	}
	if (fuzz) {
		uint32_t bad = 0, verdicts[4];
		if (sim_fuzz_frames((uint32_t)fuzz, o.backends, o.seed, &bad, verdicts) < 0) {
			if (!json)
				printf("mutated frames: not run (needs root to load the XDP program)\n");
			json_object_set_new(root, "fuzz_frames", json_null());
		} else {
			if (!json)
				printf("mutated frames through the XDP program, backends leaving and returning: %lu "
				       "(pass %u, drop %u, tx %u, aborted %u), %u verdict(s) other than PASS, DROP or TX "
				       "to a present backend\n", fuzz, verdicts[XDP_PASS], verdicts[XDP_DROP],
				       verdicts[XDP_TX], verdicts[XDP_ABORTED], bad);
			json_object_set_new(root, "fuzz_frames", json_integer((json_int_t)fuzz));
			json_object_set_new(root, "fuzz_verdicts", json_pack("{s:i, s:i, s:i, s:i}", "pass",
					    verdicts[XDP_PASS], "drop", verdicts[XDP_DROP], "tx", verdicts[XDP_TX],
					    "aborted", verdicts[XDP_ABORTED]));
			json_object_set_new(root, "fuzz_violations", json_integer(bad));
			fuzz_failed = bad;
		}
	}
	if (json) {
		json_dumpf(root, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		printf("\n* needs a stack change: modelled in the simulator, no XDP code.\n"
		       "broken: first subflows that left their backend; sf lost: joins that did; a removed\n"
		       "backend's own connections are not counted (they end with it).\n");
		if (o.backends > TSECR_MAX_IDS)
			printf("tsecr ids are %u bits: backends %u..%u send plain TSvals and rely on the LRU.\n",
			       TSECR_ID_BITS, TSECR_MAX_IDS, o.backends - 1);
	}
	json_decref(root);
	if (fuzz_failed) {
		mplb_err("sim: %u mutated frame(s) got a verdict other than PASS, DROP or TX to a present backend",
			 fuzz_failed);
		return 1;
	}
	if (agree_failed) {
		mplb_err("sim: the simulator and the XDP program decided %u packet(s) differently", agree_failed);
		return 1;
	}
	return 0;
}
