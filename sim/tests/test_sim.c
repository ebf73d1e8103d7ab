// SPDX-License-Identifier: MIT
/*
 * The simulator's parts: simmap against a plain reference table (BPF update
 * flags, a full hash refuses, a full LRU evicts and keeps what was just
 * used), and sim_run_strategy on small worlds whose outcome the design fixes
 * (port keeps every join; plain hash breaks on add; token loses joins when
 * the LB restarts without its pins; lb-failure moves nothing under tsecr).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prng.h"
#include "sim/sim.h"
#include "sim/simmap.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	return xorshift64star(&rng);
}

#define REF_KEYS 512

/* Random updates, deletes and lookups agree with an array indexed by key. */
static void test_smap_matches_reference(void **state)
{
	(void)state;
	struct smap m;
	uint64_t ref[REF_KEYS];
	bool have[REF_KEYS] = {false};
	size_t n = 0;

	assert_int_equal(smap_init(&m, sizeof(uint32_t), sizeof(uint64_t), REF_KEYS, false), 0);
	for (int op = 0; op < 200000; op++) {
		uint32_t k = (uint32_t)(rnd() % REF_KEYS);
		uint64_t v = rnd();
		uint64_t *got;
		int r;

		switch (rnd() % 5) {
		case 0: /* BPF_ANY */
			assert_int_equal(smap_update(&m, &k, &v, 0), 0);
			n += !have[k];
			have[k] = true;
			ref[k] = v;
			break;
		case 1: /* BPF_NOEXIST */
			r = smap_update(&m, &k, &v, 1);
			assert_int_equal(r, have[k] ? -1 : 0);
			if (!have[k]) {
				have[k] = true;
				ref[k] = v;
				n++;
			}
			break;
		case 2: /* BPF_EXIST */
			r = smap_update(&m, &k, &v, 2);
			assert_int_equal(r, have[k] ? 0 : -1);
			if (have[k])
				ref[k] = v;
			break;
		case 3:
			assert_int_equal(smap_delete(&m, &k), have[k] ? 0 : -1);
			n -= have[k];
			have[k] = false;
			break;
		default:
			got = smap_lookup(&m, &k);
			if (have[k]) {
				assert_non_null(got);
				assert_true(*got == ref[k]);
			} else {
				assert_null(got);
			}
		}
		assert_int_equal(m.count, n);
	}
	smap_free(&m);
}

/* A full plain hash refuses and counts it; a full LRU evicts and keeps the hot key. */
static void test_smap_full(void **state)
{
	(void)state;
	struct smap h, l;
	uint32_t hot = 0, v = 7;

	assert_int_equal(smap_init(&h, 4, 4, 64, false), 0);
	assert_int_equal(smap_init(&l, 4, 4, 64, true), 0);
	for (uint32_t k = 0; k < 64; k++) {
		assert_int_equal(smap_update(&h, &k, &v, 0), 0);
		assert_int_equal(smap_update(&l, &k, &v, 0), 0);
	}
	uint32_t extra = 1000;
	assert_int_equal(smap_update(&h, &extra, &v, 0), -1);
	assert_int_equal(h.refused, 1);
	assert_int_equal(h.count, 64);
	for (uint32_t k = 1000; k < 2000; k++) {
		assert_non_null(smap_lookup(&l, &hot)); /* used before every insert */
		assert_int_equal(smap_update(&l, &k, &v, 0), 0);
		assert_true(l.count <= 64);
	}
	assert_non_null(smap_lookup(&l, &hot));
	assert_true(l.evictions >= 1000 - 64);
	smap_free(&h);
	smap_free(&l);
}

static const struct sim_strategy *strategy(const char *name)
{
	for (const struct sim_strategy *s = sim_strategies; s->name; s++)
		if (!strcmp(s->name, name))
			return s;
	fail_msg("no strategy %s", name);
	return NULL;
}

static void run(const char *name, int lbs, struct sim_result *res)
{
	struct sim_opts o = {.conns = 2000, .backends = 50, .subflows = 3, .lbs = lbs,
			     .token_sync = true, .ring_size = 65537, .table_entries = 6000, .seed = 1};

	memset(res, 0, sizeof(*res) * SIM_EV_MAX);
	assert_int_equal(sim_run_strategy(&o, strategy(name), res), 0);
	assert_true(res[SIM_EV_NONE].ran);
}

static void test_sim_outcomes(void **state)
{
	(void)state;
	struct sim_result r[SIM_EV_MAX];

	run("port", 1, r);
	assert_int_equal(r[SIM_EV_NONE].joins, 2000 * 2);
	assert_int_equal(r[SIM_EV_NONE].joins_ok, r[SIM_EV_NONE].joins);
	for (int e = 0; e < SIM_EV_MAX; e++)
		if (r[e].ran && e != SIM_EV_RESTART_LOST)
			assert_int_equal(r[e].broken + r[e].subflows_lost, 0);

	run("hash", 1, r);
	assert_true(r[SIM_EV_NONE].joins_ok < r[SIM_EV_NONE].joins / 10); /* joins hash elsewhere */
	assert_true(r[SIM_EV_ADD].broken > 0);                          /* the ring moved them */
	assert_true(r[SIM_EV_NONE].state_bytes_per_conn == 0);

	run("token", 1, r);
	assert_int_equal(r[SIM_EV_NONE].joins_ok, r[SIM_EV_NONE].joins);
	assert_int_equal(r[SIM_EV_RESTART_KEPT].subflows_lost, 0);
	assert_true(r[SIM_EV_RESTART_LOST].subflows_lost > 0);
	assert_true(r[SIM_EV_NONE].state_bytes_per_conn > 0);

	run("port+tsecr", 2, r);
	assert_true(r[SIM_EV_LB_FAILURE].ran);
	assert_int_equal(r[SIM_EV_LB_FAILURE].broken + r[SIM_EV_LB_FAILURE].subflows_lost, 0);
	assert_int_equal(r[SIM_EV_RESTART_LOST].broken, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smap_matches_reference),
		cmocka_unit_test(test_smap_full),
		cmocka_unit_test(test_sim_outcomes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
