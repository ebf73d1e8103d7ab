/* SPDX-License-Identifier: MIT */
/*
 * Journal of what `mplb server run` changed, written (and fsync'd) BEFORE
 * each change, so that whatever kills the agent (SIGKILL, a crash, a power
 * cut of the namespace's owner) the next `run` or `mplb server cleanup`
 * can undo every change by replaying the journal backwards.
 *
 * Text, one record per line: "<kind> <arg> <arg>...". Arguments have no
 * spaces. The first line is the header "mplb-server-journal 1".
 */
#ifndef MPLB_SERVER_JOURNAL_H
#define MPLB_SERVER_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#define JOURNAL_MAX_RECORDS 256
#define JOURNAL_MAX_ARGS 6
#define JOURNAL_ARG_LEN 200

struct journal {
	int fd;
	char path[256];
};

struct journal_record {
	char kind[24];
	int argc;
	char argv[JOURNAL_MAX_ARGS][JOURNAL_ARG_LEN];
};

/* Create (truncate) path and write the header. 0 or -1 with a message. */
int journal_create(struct journal *j, const char *path);
/* Append one record and fsync it. 0 or -1 with a message. */
int journal_add(struct journal *j, const char *kind, int argc, const char *const argv[]);
void journal_close(struct journal *j);

/*
 * Read path into recs (up to cap). Returns the number of records, 0 when the
 * file does not exist, -1 on a malformed file (message printed). A torn last
 * line (the agent died while writing it) is ignored: its change was not made.
 */
int journal_read(const char *path, struct journal_record *recs, int cap);

/* Parse one line into rec; 0, or -1 when it is not a record. */
int journal_parse_line(const char *line, struct journal_record *rec);

#endif /* MPLB_SERVER_JOURNAL_H */
