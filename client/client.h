/* SPDX-License-Identifier: MIT */
/* mplb client: a path-manager daemon on the kernel's userspace path manager. */
#ifndef MPLB_CLIENT_H
#define MPLB_CLIENT_H
int cmd_client(int argc, char **argv);
#endif
