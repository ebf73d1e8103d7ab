/* SPDX-License-Identifier: MIT */
#ifndef MPLB_SERVER_H
#define MPLB_SERVER_H
/* mplb server: the backend agent (docs/server.md). */
int cmd_server(int argc, char **argv);
#endif
