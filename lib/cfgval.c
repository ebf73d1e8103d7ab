/* SPDX-License-Identifier: MIT */
#include "cfgval.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

int cfg_parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcasecmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "off") || !strcasecmp(v, "false") ||
		 !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

int cfg_parse_u32(const char *v, unsigned long min, unsigned long max, uint32_t *out)
{
	char *end;
	unsigned long x;

	if (!*v || v[0] == '-') /* strtoul would wrap "-1" to a huge value */
		return -1;
	errno = 0;
	x = strtoul(v, &end, 0);
	if (errno || end == v || *end || x < min || x > max || x > UINT32_MAX)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

int cfg_parse_key128(const char *v, uint64_t key[2])
{
	char hi[17], lo[17];

	if (strlen(v) != 32)
		return -1;
	for (int i = 0; i < 32; i++)
		if (!isxdigit((unsigned char)v[i]))
			return -1;
	memcpy(hi, v, 16);
	hi[16] = 0;
	memcpy(lo, v + 16, 16);
	lo[16] = 0;
	key[0] = strtoull(hi, NULL, 16);
	key[1] = strtoull(lo, NULL, 16);
	return 0;
}

int cfg_ini_parse(const char *path, ini_handler handler, void *user, const int *handler_errors)
{
	int rc = ini_parse(path, handler, user);

	if (rc == -1) {
		mplb_err("%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (rc < 0) {
		mplb_err("%s: cannot parse (error %d)", path, rc);
		return -1;
	}
	if (rc > 0) {
		if (!handler_errors || !*handler_errors)
			mplb_err("%s:%d: syntax error", path, rc);
		return -1;
	}
	return 0;
}
