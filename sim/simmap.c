// SPDX-License-Identifier: MIT
/* Hash maps with BPF map semantics for the simulator (simmap.h). */
#include "simmap.h"

#include <stdlib.h>
#include <string.h>

/* 8 bytes at a time, then a final mix: keys are short (4 to 40 bytes). */
static uint64_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;

	for (; n >= 8; n -= 8, b += 8) {
		memcpy(&w, b, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	if (n) {
		w = 0;
		memcpy(&w, b, n);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
	}
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

int smap_init(struct smap *m, size_t key_size, size_t value_size, size_t cap, bool lru)
{
	memset(m, 0, sizeof(*m));
	m->key_size = key_size;
	m->value_size = value_size;
	m->cap = cap;
	m->lru = lru;
	m->slots = 16;
	while (m->slots < cap * 2) /* load factor <= 1/2 */
		m->slots *= 2;
	m->keys = calloc(m->slots, key_size);
	m->values = calloc(m->slots, value_size);
	m->used = calloc(m->slots, sizeof(*m->used));
	m->tomb = calloc(m->slots, 1);
	m->tag = calloc(m->slots, sizeof(*m->tag));
	return m->keys && m->values && m->used && m->tomb && m->tag ? 0 : -1;
}

void smap_free(struct smap *m)
{
	free(m->keys);
	free(m->values);
	free(m->used);
	free(m->tomb);
	free(m->tag);
	memset(m, 0, sizeof(*m));
}

void smap_clear(struct smap *m)
{
	memset(m->used, 0, m->slots * sizeof(*m->used));
	memset(m->tomb, 0, m->slots);
	m->count = m->tombs = 0;
}

/* The slot holding key, or (insert) the first free one on its probe path; -1 if none. */
static long find(struct smap *m, const void *key, uint64_t h, bool for_insert)
{
	size_t mask = m->slots - 1, i = h & mask;
	uint32_t tag = (uint32_t)(h >> 32);
	long free_slot = -1;

	for (size_t n = 0; n < m->slots; n++, i = (i + 1) & mask) {
		if (!m->used[i]) {
			if (!m->tomb[i])
				return for_insert ? (free_slot >= 0 ? free_slot : (long)i) : -1;
			if (free_slot < 0)
				free_slot = (long)i;
			continue;
		}
		if (m->tag[i] == tag && !memcmp(m->keys + i * m->key_size, key, m->key_size))
			return (long)i;
	}
	return for_insert ? free_slot : -1;
}

void *smap_lookup(struct smap *m, const void *key)
{
	long i = find(m, key, hash_bytes(key, m->key_size), false);

	if (i < 0 || !m->used[i])
		return NULL;
	m->used[i] = ++m->tick;
	return m->values + (size_t)i * m->value_size;
}

static void remove_slot(struct smap *m, size_t i)
{
	m->used[i] = 0;
	m->tomb[i] = 1;
	m->count--;
	m->tombs++;
}

/* Too many tombstones make every probe long: rebuild in place of them. */
static void rehash(struct smap *m)
{
	struct smap n = *m;
	size_t mask = m->slots - 1;

	n.keys = calloc(m->slots, m->key_size);
	n.values = calloc(m->slots, m->value_size);
	n.used = calloc(m->slots, sizeof(*n.used));
	n.tomb = calloc(m->slots, 1);
	n.tag = calloc(m->slots, sizeof(*n.tag));
	if (!n.keys || !n.values || !n.used || !n.tomb || !n.tag) {
		free(n.keys), free(n.values), free(n.used), free(n.tomb), free(n.tag);
		return; /* keep going, slower */
	}
	for (size_t i = 0; i < m->slots; i++) {
		if (!m->used[i])
			continue;
		size_t j = hash_bytes(m->keys + i * m->key_size, m->key_size) & mask;
		while (n.used[j])
			j = (j + 1) & mask;
		memcpy(n.keys + j * m->key_size, m->keys + i * m->key_size, m->key_size);
		memcpy(n.values + j * m->value_size, m->values + i * m->value_size, m->value_size);
		n.used[j] = m->used[i];
		n.tag[j] = m->tag[i];
	}
	free(m->keys), free(m->values), free(m->used), free(m->tomb), free(m->tag);
	n.tombs = 0;
	*m = n;
}

/* LRU: push out the least recently used of a sample (the kernel's LRU is approximate too). */
static void evict_one(struct smap *m)
{
	size_t best = 0, seen = 0;
	uint64_t oldest = UINT64_MAX;
	size_t i = (size_t)(hash_bytes(&m->tick, sizeof(m->tick)) & (m->slots - 1));

	for (size_t n = 0; n < m->slots && seen < 16; n++, i = (i + 1) & (m->slots - 1)) {
		if (!m->used[i])
			continue;
		seen++;
		if (m->used[i] < oldest) {
			oldest = m->used[i];
			best = i;
		}
	}
	if (seen) {
		remove_slot(m, best);
		m->evictions++;
	}
}

int smap_update(struct smap *m, const void *key, const void *value, uint64_t flags)
{
	uint64_t h = hash_bytes(key, m->key_size);
	long i = find(m, key, h, false);

	if (i >= 0 && m->used[i]) {
		if (flags == 1 /* BPF_NOEXIST */)
			return -1;
		memcpy(m->values + (size_t)i * m->value_size, value, m->value_size);
		m->used[i] = ++m->tick;
		return 0;
	}
	if (flags == 2 /* BPF_EXIST */)
		return -1;
	if (m->count >= m->cap) {
		if (!m->lru) {
			m->refused++;
			return -1;
		}
		evict_one(m);
	}
	if (m->tombs > m->slots / 4)
		rehash(m);
	i = find(m, key, h, true);
	if (i < 0)
		return -1;
	m->tag[i] = (uint32_t)(h >> 32);
	if (m->tomb[i])
		m->tombs--;
	memcpy(m->keys + (size_t)i * m->key_size, key, m->key_size);
	memcpy(m->values + (size_t)i * m->value_size, value, m->value_size);
	m->used[i] = ++m->tick;
	m->tomb[i] = 0;
	m->count++;
	return 0;
}

int smap_delete(struct smap *m, const void *key)
{
	long i = find(m, key, hash_bytes(key, m->key_size), false);

	if (i < 0 || !m->used[i])
		return -1;
	remove_slot(m, (size_t)i);
	return 0;
}

void smap_each(struct smap *m, int (*fn)(const void *key, void *value, void *arg), void *arg)
{
	for (size_t i = 0; i < m->slots; i++)
		if (m->used[i] && fn(m->keys + i * m->key_size, m->values + i * m->value_size, arg))
			return;
}
