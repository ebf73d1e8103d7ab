// SPDX-License-Identifier: MIT
/* Maglev lookup table population; see maglev.h. */
#include "maglev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool maglev_is_prime(uint32_t n)
{
	if (n < 2)
		return false;
	if (n % 2 == 0)
		return n == 2;
	for (uint32_t d = 3; (uint64_t)d * d <= n; d += 2)
		if (n % d == 0)
			return false;
	return true;
}

/* splitmix64 finaliser: a full-avalanche 64-bit mix. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

uint64_t maglev_key_of_name(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return mix64(h);
}

/*
 * The paper's two hashes must be independent: different seeds through the
 * mix, and h2 also rotates the key so the two never see the same input
 * bits in the same place.
 */
static uint64_t h1(uint64_t key)
{
	return mix64(key ^ 0x6d61676c65763131ULL); /* "maglev11" */
}

static uint64_t h2(uint64_t key)
{
	return mix64(((key << 29) | (key >> 35)) ^ 0x736b697073656564ULL); /* "skipseed" */
}

struct slot_state {
	uint32_t offset, skip, next; /* next: index j of the permutation to try */
	uint64_t credit;             /* accumulated weight (V2 weighting) */
	uint32_t id, weight;
	uint64_t key;
};

static int cmp_state(const void *a, const void *b)
{
	const struct slot_state *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

int maglev_build(const struct maglev_backend *b, size_t n, uint32_t size,
		 uint32_t *table)
{
	struct slot_state *st;
	uint32_t max_weight = 0, filled = 0;
	size_t m = 0;

	if (!table || !maglev_is_prime(size) || (n && !b))
		return -EINVAL;
	for (uint32_t i = 0; i < size; i++)
		table[i] = MAGLEV_EMPTY;
	st = calloc(n ? n : 1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < i; k++)
			if (b[k].key == b[i].key || b[k].id == b[i].id) {
				free(st);
				return -EINVAL;
			}
		if (!b[i].weight)
			continue;
		st[m].key = b[i].key;
		st[m].id = b[i].id;
		st[m].weight = b[i].weight;
		st[m].offset = (uint32_t)(h1(b[i].key) % size);
		st[m].skip = size > 1 ? (uint32_t)(h2(b[i].key) % (size - 1)) + 1 : 1;
		if (b[i].weight > max_weight)
			max_weight = b[i].weight;
		m++;
	}
	if (!m) {
		free(st);
		return 0;
	}
	/* Input order must not matter: two hosts may list backends differently. */
	qsort(st, m, sizeof(*st), cmp_state);
	while (filled < size) {
		for (size_t i = 0; i < m && filled < size; i++) {
			st[i].credit += st[i].weight;
			while (st[i].credit >= max_weight && filled < size) {
				uint32_t slot;

				st[i].credit -= max_weight;
				do {
					slot = (uint32_t)(((uint64_t)st[i].offset +
							   (uint64_t)st[i].next * st[i].skip) %
							  size);
					st[i].next++;
				} while (table[slot] != MAGLEV_EMPTY);
				table[slot] = st[i].id;
				filled++;
			}
		}
	}
	free(st);
	return (uint64_t)size < (uint64_t)MAGLEV_MIN_SLOTS_PER_BACKEND * m ? 1 : 0;
}

size_t maglev_delta(const uint32_t *old_table, const uint32_t *new_table,
		    uint32_t size, uint32_t *changed)
{
	size_t n = 0;

	for (uint32_t i = 0; i < size; i++)
		if (old_table[i] != new_table[i]) {
			if (changed)
				changed[n] = i;
			n++;
		}
	return n;
}
