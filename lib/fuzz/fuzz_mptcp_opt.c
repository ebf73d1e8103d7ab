// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the option codec. Input: byte 0 picks the parse
 * context, the rest is a TCP option area. Oracle: every option the parser
 * accepts must be rebuilt byte for byte by mptcp_opt_build(), read back
 * identically, and refused with MPTCP_E_SPACE one byte short.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mptcp_opt.h"

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "oracle failed: %s (line %d)\n", #cond, \
				__LINE__);                                    \
			abort();                                              \
		}                                                             \
	} while (0)

static void check_option(const uint8_t *opt, size_t avail,
			 const struct mptcp_parse_ctx *ctx)
{
	struct mptcp_opt o, again;
	const char *why = NULL;
	uint8_t out[TCP_MAX_OPTION_SPACE];
	uint8_t *exact;
	int err, len;

	err = mptcp_opt_parse(opt, avail, ctx, &o, &why);
	if (err) {
		CHECK(err < 0 && why && *why);
		CHECK(mptcp_err_name(err)[0]);
		return;
	}
	CHECK(why == NULL && o.len == opt[1] && o.len <= avail);
	CHECK(mptcp_subtype_name(o.subtype)[0] && mptcp_dialect_name(o.dialect)[0] &&
	      mptcp_phase_name(o.phase)[0]);

	len = mptcp_opt_build(&o, out, sizeof(out));
	if (len != o.len || memcmp(out, opt, o.len)) {
		fprintf(stderr, "build(parse(x)) != x: len %d want %u\n", len, o.len);
		abort();
	}
	/* Exact-size heap buffer so ASan sees any write past the option. */
	exact = malloc(o.len);
	CHECK(exact);
	CHECK(mptcp_opt_build(&o, exact, o.len) == o.len && !memcmp(exact, opt, o.len));
	CHECK(mptcp_opt_build(&o, exact, o.len - 1u) == MPTCP_E_SPACE);
	free(exact);

	CHECK(mptcp_opt_parse(out, (size_t)len, ctx, &again, &why) == MPTCP_OK);
	CHECK(mptcp_opt_equal(&o, &again) && again.len == o.len &&
	      again.dialect == o.dialect && again.phase == o.phase);
}

struct walk_arg {
	const struct mptcp_parse_ctx *ctx;
	const uint8_t *end;
};

static int on_option(uint8_t kind, const uint8_t *opt, size_t len, void *arg)
{
	struct walk_arg *w = arg;

	CHECK(len >= 1 && opt + len <= w->end);
	if (kind == TCPOPT_MPTCP) {
		check_option(opt, len, w->ctx);
		/* Also with the rest of the area available, as a decoder would. */
		check_option(opt, (size_t)(w->end - opt), w->ctx);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mptcp_parse_ctx ctx = { 0 };
	struct walk_arg w;
	const char *why = NULL;
	uint8_t *area;
	size_t n;
	int ret;

	if (size < 1)
		return 0;
	ctx.tcp_flags_known = data[0] & 0x01;
	ctx.tcp_flags = (data[0] & 0x02 ? 0x02 : 0) | (data[0] & 0x04 ? 0x10 : 0);
	ctx.v0 = data[0] & 0x08;
	ctx.rfc_strict = data[0] & 0x10;

	/* Copy to an exact-size heap buffer: overreads become ASan reports. */
	n = size - 1;
	area = malloc(n ? n : 1);
	if (!area)
		return 0;
	memcpy(area, data + 1, n);

	w.ctx = &ctx;
	w.end = area + n;
	ret = tcp_options_walk(area, n, on_option, &w, &why);
	CHECK(ret == 0 || (ret < 0 && why && *why));

	/* The parser alone, on whatever the area starts with. */
	check_option(area, n, &ctx);
	free(area);
	return 0;
}
