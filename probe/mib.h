/* SPDX-License-Identifier: MIT */
/* MPTcpExt MIB counters of the current network namespace (/proc/net/netstat). */
#ifndef MPLB_PROBE_MIB_H
#define MPLB_PROBE_MIB_H

#include <stddef.h>
#include <stdint.h>

#define MIB_MAX 128

struct mib_snapshot {
	size_t count;
	char name[MIB_MAX][40]; /* without the "MPTcpExt" prefix, e.g. "MPJoinSynTx" */
	uint64_t value[MIB_MAX];
};

/*
 * Parse the "MPTcpExt:" header/value line pair from text in /proc/net/netstat
 * format. Returns 0, or -1 when the pair is missing or malformed.
 */
int mib_parse(const char *text, struct mib_snapshot *snap);
/* Read /proc/net/netstat (this process's netns). 0 or -1 with errno. */
int mib_read(struct mib_snapshot *snap);
/* Value of name in snap, 0 when absent. */
uint64_t mib_get(const struct mib_snapshot *snap, const char *name);

#endif /* MPLB_PROBE_MIB_H */
