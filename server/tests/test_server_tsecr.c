// SPDX-License-Identifier: MIT
/*
 * The shifted TSecr encoding of include/mplb/tsecr.h as the agent uses it:
 * the balancer decodes every encoded value to the id, and tsecr_restore
 * gives back exactly the kernel's TSval for every echo age in the window
 * [-TSECR_RESTORE_FUTURE_TICKS, 2^16 - TSECR_RESTORE_FUTURE_TICKS - 1]
 * (clock wrap included), and is wrong (by 2^16) just outside it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mplb/tsecr.h"
#include "prng.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd64(void)
{
	return xorshift64star(&rng);
}

#define WINDOW_PAST ((1u << 16) - TSECR_RESTORE_FUTURE_TICKS - 1)

static void test_restore_exact_in_window(void **state)
{
	__u64 key[2] = {rnd64(), rnd64()};

	(void)state;
	for (int i = 0; i < 300000; i++) {
		__u32 sent = (__u32)rnd64();
		/* echo age: how long ago (positive) the kernel stamped the echoed TSval */
		__s32 age = (__s32)(rnd64() % (WINDOW_PAST + TSECR_RESTORE_FUTURE_TICKS + 1)) -
			    (__s32)TSECR_RESTORE_FUTURE_TICKS;
		__u32 now = sent + (__u32)age;
		__u32 wire = tsecr_encode(key, sent, 42);

		assert_int_equal(tsecr_decode(key, wire), 42);
		assert_int_equal(tsecr_restore(wire, now), sent);
	}
}

static void test_restore_edges(void **state)
{
	__u64 key[2] = {1, 2};

	(void)state;
	/* Around the clock's 32-bit wrap and the 16-bit carries. */
	const __u32 bases[] = {0, 1, 0xffff, 0x10000, 0xfffeffff, 0xffff0000, 0xffffffff,
			       0x7fffffff, 0x80000000};
	for (unsigned b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		for (__s64 age = -(__s64)TSECR_RESTORE_FUTURE_TICKS; age <= WINDOW_PAST; age += 7) {
			__u32 sent = bases[b];
			__u32 wire = tsecr_encode(key, sent, 3);
			assert_int_equal(tsecr_restore(wire, sent + (__u32)age), sent);
		}
		/* Just outside: off by exactly one wrap of the 16 bits carried. */
		__u32 sent = bases[b], wire = tsecr_encode(key, sent, 3);
		assert_int_equal(tsecr_restore(wire, sent + WINDOW_PAST + 1), sent + 0x10000u);
		assert_int_equal(tsecr_restore(wire, sent - TSECR_RESTORE_FUTURE_TICKS - 1),
				 sent - 0x10000u);
	}
}

/* The brief's plain rule (no future slack) differs only for echoes from the future. */
static void test_restore_matches_plain_rule_for_past_echoes(void **state)
{
	(void)state;
	for (int i = 0; i < 100000; i++) {
		__u32 now = (__u32)rnd64(), age = (__u32)(rnd64() % (WINDOW_PAST + 1));
		__u32 sent = now - age, wire = (sent << 16) | 0x1234;
		__u32 cand = (now & 0xffff0000u) | (wire >> 16);
		if ((__s32)(cand - now) > 0)
			cand -= 0x10000;
		assert_int_equal(tsecr_restore(wire, now), cand);
	}
}

/* On the wire the clock runs 2^16 times faster and wraps every 2^16 ticks (65.5 s at 1 kHz). */
static void test_wire_clock(void **state)
{
	__u64 key[2] = {7, 9};

	(void)state;
	for (__u32 t = 0; t < 200000; t += 13) {
		__u32 a = tsecr_encode(key, t, 5) >> 16, b = tsecr_encode(key, t + 1, 5) >> 16;
		assert_int_equal((a + 1) & 0xffff, b);
	}
	/* PAWS on the client: (s32)(new - old) < 0 once the gap passes 2^15 ticks. */
	__u32 w0 = tsecr_encode(key, 1000, 5);
	assert_true((__s32)(tsecr_encode(key, 1000 + 32767, 5) - w0) > 0);
	assert_true((__s32)(tsecr_encode(key, 1000 + 32769, 5) - w0) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restore_exact_in_window),
		cmocka_unit_test(test_restore_edges),
		cmocka_unit_test(test_restore_matches_plain_rule_for_past_echoes),
		cmocka_unit_test(test_wire_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
