/* SPDX-License-Identifier: MIT */
#ifndef MPLB_DECODE_H
#define MPLB_DECODE_H
int cmd_decode(int argc, char **argv);
#endif
