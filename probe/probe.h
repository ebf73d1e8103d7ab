/* SPDX-License-Identifier: MIT */
#ifndef MPLB_PROBE_H
#define MPLB_PROBE_H
int cmd_probe(int argc, char **argv);
int cmd_serve(int argc, char **argv);
#endif
