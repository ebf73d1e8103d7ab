/* SPDX-License-Identifier: MIT */
#ifndef MPLB_LAB_H
#define MPLB_LAB_H
int cmd_lab(int argc, char **argv);
#endif
