/* SPDX-License-Identifier: MIT */
#include "probe/probe.h"
#include "util.h"
int cmd_probe(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	mplb_err("probe: not implemented yet");
	return 1;
}
int cmd_serve(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	mplb_err("serve: not implemented yet");
	return 1;
}
