/* SPDX-License-Identifier: MIT */
#include "lab/lab.h"
#include "util.h"
int cmd_lab(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	mplb_err("lab: not implemented yet");
	return 1;
}
