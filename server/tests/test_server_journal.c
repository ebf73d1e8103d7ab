// SPDX-License-Identifier: MIT
/*
 * The agent's journal cut at every byte (the agent killed while writing
 * it): journal_read returns exactly the records that were written whole,
 * never an error for a torn tail, never a record that was cut, and the
 * header torn means nothing to undo. Also: a journal of another program is
 * refused, and a garbled record in the middle is an error, not skipped.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/journal.h"

static char dir[] = "/tmp/mplb-journal-XXXXXX";

static const char *const rec_kind[] = {"netns", "sysctl", "limits", "endpoint", "endpoint",
				       "pindir", "pin", "clsact", "tcfilter", "state"};
static const char *const rec_args[][4] = {
	{"4026532001"},
	{"net.mptcp.allow_join_initial_addr_port", "1"},
	{"0", "2"},
	{"3", "10.100.2.1", "0"},
	{"4", "10.200.0.1", "20001", "keep-while-used"},
	{"/sys/fs/bpf/mplb/server-b1"},
	{"/sys/fs/bpf/mplb/server-b1/srv_stats"},
	{"2"},
	{"2", "ingress", "49152", "1"},
	{"/run/mplb/server-b1.json"},
};
static const int rec_argc[] = {1, 2, 2, 3, 4, 1, 1, 1, 4, 1};
#define NREC ((int)(sizeof(rec_kind) / sizeof(rec_kind[0])))

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[64];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_torn_everywhere(void **state)
{
	char path[128], cut[128], *whole;
	struct journal j;
	struct journal_record *recs = calloc(JOURNAL_MAX_RECORDS, sizeof(*recs));
	long ends[NREC + 1], len;
	FILE *f;

	(void)state;
	assert_non_null(recs);
	snprintf(path, sizeof(path), "%s/j", dir);
	snprintf(cut, sizeof(cut), "%s/cut", dir);
	assert_int_equal(journal_create(&j, path), 0);
	f = fopen(path, "r");
	fseek(f, 0, SEEK_END);
	ends[0] = ftell(f); /* the header alone */
	fclose(f);
	for (int i = 0; i < NREC; i++) {
		assert_int_equal(journal_add(&j, rec_kind[i], rec_argc[i], rec_args[i]), 0);
		f = fopen(path, "r");
		fseek(f, 0, SEEK_END);
		ends[i + 1] = ftell(f);
		fclose(f);
	}
	journal_close(&j);
	len = ends[NREC];
	whole = malloc((size_t)len);
	f = fopen(path, "r");
	assert_int_equal(fread(whole, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	assert_int_equal(journal_read(path, recs, JOURNAL_MAX_RECORDS), NREC);

	for (long k = 0; k <= len; k++) {
		int want = 0, got;
		for (int i = 1; i <= NREC; i++)
			if (ends[i] <= k)
				want = i;
		f = fopen(cut, "w");
		assert_int_equal(fwrite(whole, 1, (size_t)k, f), (size_t)k);
		fclose(f);
		got = journal_read(cut, recs, JOURNAL_MAX_RECORDS);
		if (got != want)
			fail_msg("journal cut at byte %ld of %ld: %d records, want %d", k, len, got, want);
		for (int i = 0; i < got; i++) {
			assert_string_equal(recs[i].kind, rec_kind[i]);
			assert_int_equal(recs[i].argc, rec_argc[i]);
			for (int a = 0; a < rec_argc[i]; a++)
				assert_string_equal(recs[i].argv[a], rec_args[i][a]);
		}
	}
	free(whole);
	free(recs);
}

static void test_foreign_and_garbled(void **state)
{
	char path[128];
	struct journal_record recs[8];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/foreign", dir);
	f = fopen(path, "w");
	fputs("#!/bin/sh\nrm -rf /\n", f);
	fclose(f);
	assert_int_equal(journal_read(path, recs, 8), -1);
	snprintf(path, sizeof(path), "%s/garbled", dir);
	f = fopen(path, "w");
	fputs("mplb-server-journal 1\nsysctl net.x 1\n\n \x01\x02 bad\nstate /x\n", f);
	fclose(f);
	assert_int_equal(journal_read(path, recs, 8), -1); /* refused, not skipped over */
	snprintf(path, sizeof(path), "%s/absent", dir);
	assert_int_equal(journal_read(path, recs, 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_torn_everywhere),
		cmocka_unit_test(test_foreign_and_garbled),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
