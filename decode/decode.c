/* SPDX-License-Identifier: MIT */
#include "decode/decode.h"
#include "util.h"
int cmd_decode(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	mplb_err("decode: not implemented yet");
	return 1;
}
