// SPDX-License-Identifier: MIT
/* Maglev table population: determinism, balance, weights, disruption, errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "maglev.h"

#define SIZE MAGLEV_DEFAULT_SIZE

static struct maglev_backend *make_backends(size_t n)
{
	struct maglev_backend *b = calloc(n, sizeof(*b));
	char name[32];

	assert_non_null(b);
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "backend-%zu", i);
		b[i].key = maglev_key_of_name(name);
		b[i].id = (uint32_t)i;
		b[i].weight = 1;
	}
	return b;
}

static void counts(const uint32_t *t, uint32_t size, uint32_t *cnt, size_t n)
{
	memset(cnt, 0, n * sizeof(*cnt));
	for (uint32_t i = 0; i < size; i++) {
		assert_true(t[i] < n); /* no hole, no stray id */
		cnt[t[i]]++;
	}
}

static void test_prime(void **state)
{
	(void)state;
	assert_false(maglev_is_prime(0));
	assert_false(maglev_is_prime(1));
	assert_true(maglev_is_prime(2));
	assert_true(maglev_is_prime(7));
	assert_false(maglev_is_prime(65535));
	assert_true(maglev_is_prime(65537));
	assert_true(maglev_is_prime(655373));
	assert_false(maglev_is_prime(4294967295u));
	assert_true(maglev_is_prime(4294967291u)); /* largest 32-bit prime */
}

static void test_errors(void **state)
{
	struct maglev_backend *b = make_backends(3);
	uint32_t t[13];

	(void)state;
	assert_int_equal(maglev_build(b, 3, 12, t), -EINVAL);   /* not prime */
	assert_int_equal(maglev_build(b, 3, 1, t), -EINVAL);    /* too small */
	assert_int_equal(maglev_build(b, 3, 13, NULL), -EINVAL);
	assert_int_equal(maglev_build(NULL, 3, 13, t), -EINVAL);
	b[2].key = b[0].key; /* duplicate key */
	assert_int_equal(maglev_build(b, 3, 13, t), -EINVAL);
	b[2].key = 99;
	b[2].id = b[1].id; /* duplicate id */
	assert_int_equal(maglev_build(b, 3, 13, t), -EINVAL);
	/* No backend, or all weight 0: every slot empty. */
	assert_int_equal(maglev_build(NULL, 0, 13, t), 0);
	for (int i = 0; i < 13; i++)
		assert_int_equal(t[i], MAGLEV_EMPTY);
	b[2].id = 2;
	b[0].weight = b[1].weight = b[2].weight = 0;
	assert_int_equal(maglev_build(b, 3, 13, t), 0);
	assert_int_equal(t[5], MAGLEV_EMPTY);
	/* 3 backends in 13 slots: built, but warns (< 100 slots each). */
	b[0].weight = b[1].weight = b[2].weight = 1;
	assert_int_equal(maglev_build(b, 3, 13, t), 1);
	free(b);
}

static void test_deterministic(void **state)
{
	size_t n = 50;
	struct maglev_backend *b = make_backends(n), *r = make_backends(n);
	uint32_t *t1 = malloc(SIZE * 4), *t2 = malloc(SIZE * 4);

	(void)state;
	for (size_t i = 0; i < n; i++) /* same set, reversed order */
		r[i] = b[n - 1 - i];
	assert_int_equal(maglev_build(b, n, SIZE, t1), 0);
	assert_int_equal(maglev_build(r, n, SIZE, t2), 0);
	assert_memory_equal(t1, t2, SIZE * 4);
	assert_int_equal(maglev_build(b, n, SIZE, t2), 0);
	assert_memory_equal(t1, t2, SIZE * 4);
	free(t1), free(t2), free(b), free(r);
}

static void test_single_backend(void **state)
{
	struct maglev_backend *b = make_backends(1);
	uint32_t t[7];

	(void)state;
	b[0].id = 42;
	assert_true(maglev_build(b, 1, 7, t) >= 0);
	for (int i = 0; i < 7; i++)
		assert_int_equal(t[i], 42);
	free(b);
}

/* Equal weights: each backend gets floor(M/N) or ceil(M/N) slots (the paper's bound). */
static void test_balance(void **state)
{
	size_t ns[] = {3, 10, 100, 655};
	uint32_t *t = malloc(SIZE * 4), cnt[655];

	(void)state;
	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		size_t n = ns[k];
		struct maglev_backend *b = make_backends(n);
		uint32_t lo = SIZE / n, hi = lo + 1;

		assert_int_equal(maglev_build(b, n, SIZE, t), 0);
		counts(t, SIZE, cnt, n);
		for (size_t i = 0; i < n; i++) {
			assert_true(cnt[i] >= lo);
			assert_true(cnt[i] <= hi);
		}
		free(b);
	}
	free(t);
}

/* Weights 1:2:3:4 give shares within 1% of 10/20/30/40 %. */
static void test_weights(void **state)
{
	size_t n = 4;
	struct maglev_backend *b = make_backends(n);
	uint32_t *t = malloc(SIZE * 4), cnt[4];

	(void)state;
	for (size_t i = 0; i < n; i++)
		b[i].weight = (uint32_t)(i + 1);
	assert_int_equal(maglev_build(b, n, SIZE, t), 0);
	counts(t, SIZE, cnt, n);
	for (size_t i = 0; i < n; i++) {
		double share = (double)cnt[i] / SIZE, want = (i + 1) / 10.0;
		assert_true(share > want - 0.01 && share < want + 0.01);
	}
	/* Weight 0 removes a backend from the table. */
	b[1].weight = 0;
	assert_int_equal(maglev_build(b, n, SIZE, t), 0);
	counts(t, SIZE, cnt, n);
	assert_int_equal(cnt[1], 0);
	free(b), free(t);
}

/*
 * Removing one of N backends moves its own slots plus a few %, adding one
 * moves about 1/(N+1); the paper reports a few % extra at M = 65537.
 */
static void test_disruption(void **state)
{
	size_t n = 100;
	struct maglev_backend *b = make_backends(n + 1);
	uint32_t *before = malloc(SIZE * 4), *after = malloc(SIZE * 4);
	uint32_t *changed = malloc(SIZE * 4);
	size_t moved;
	double frac;

	(void)state;
	assert_int_equal(maglev_build(b, n, SIZE, before), 0);
	/* add backend n */
	assert_int_equal(maglev_build(b, n + 1, SIZE, after), 0);
	moved = maglev_delta(before, after, SIZE, changed);
	frac = (double)moved / SIZE;
	print_message("add 1 to %zu: %.4f of slots moved (ideal %.4f)\n", n, frac,
		      1.0 / (n + 1));
	assert_true(frac >= 1.0 / (n + 1) * 0.9);
	assert_true(frac <= 1.0 / (n + 1) * 2.0);
	for (size_t i = 0; i < moved; i++) /* delta lists exactly the changed slots */
		assert_int_not_equal(before[changed[i]], after[changed[i]]);
	/* remove backend 37 (weight 0 = drain out of the ring) */
	b[37].weight = 0;
	assert_int_equal(maglev_build(b, n, SIZE, after), 0);
	moved = maglev_delta(before, after, SIZE, NULL);
	frac = (double)moved / SIZE;
	print_message("remove 1 of %zu: %.4f of slots moved (ideal %.4f)\n", n, frac,
		      1.0 / n);
	assert_true(frac >= 1.0 / n * 0.9);
	assert_true(frac <= 1.0 / n * 2.0);
	/* every slot that belonged to a surviving backend and moved is "collateral" */
	size_t collateral = 0;
	for (uint32_t i = 0; i < SIZE; i++)
		if (before[i] != 37 && before[i] != after[i])
			collateral++;
	assert_true((double)collateral / SIZE < 0.02);
	assert_int_equal(maglev_delta(before, before, SIZE, changed), 0);
	free(b), free(before), free(after), free(changed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prime),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_single_backend),
		cmocka_unit_test(test_balance),
		cmocka_unit_test(test_weights),
		cmocka_unit_test(test_disruption),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
