/* SPDX-License-Identifier: MIT */
/* MPTcpExt MIB counters of the current network namespace (/proc/net/netstat). */
#include "probe/mib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "MPTcpExt:"

int mib_parse(const char *text, struct mib_snapshot *snap)
{
	const char *hdr = strstr(text, PREFIX);
	memset(snap, 0, sizeof(*snap));
	if (!hdr)
		return -1;
	const char *hdr_end = strchr(hdr, '\n');
	if (!hdr_end)
		return -1;
	const char *val = hdr_end + 1;
	if (strncmp(val, PREFIX, strlen(PREFIX)))
		return -1;
	const char *h = hdr + strlen(PREFIX), *v = val + strlen(PREFIX);
	/* Walk names and values in step; both lines are space separated. */
	while (snap->count < MIB_MAX) {
		while (*h == ' ')
			h++;
		while (*v == ' ')
			v++;
		if (*h == '\n' || !*h || *v == '\n' || !*v)
			break;
		size_t n = strcspn(h, " \n");
		if (n >= sizeof(snap->name[0]))
			return -1;
		char *end;
		errno = 0;
		unsigned long long x = strtoull(v, &end, 10);
		if (end == v || errno || (*end != ' ' && *end != '\n' && *end))
			return -1;
		memcpy(snap->name[snap->count], h, n);
		snap->name[snap->count][n] = 0;
		snap->value[snap->count++] = x;
		h += n;
		v = end;
	}
	return snap->count ? 0 : -1;
}

int mib_read(struct mib_snapshot *snap)
{
	char buf[16384];
	FILE *f = fopen("/proc/net/netstat", "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	if (mib_parse(buf, snap)) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

uint64_t mib_get(const struct mib_snapshot *snap, const char *name)
{
	for (size_t i = 0; i < snap->count; i++)
		if (!strcmp(snap->name[i], name))
			return snap->value[i];
	return 0;
}
