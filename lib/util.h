/* SPDX-License-Identifier: MIT */
/* Small shared helpers: messages, argument parsing, running commands in a netns. */
#ifndef MPLB_UTIL_H
#define MPLB_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* "mplb: <message>" on stderr. */
void mplb_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "mplb: warning: <message>" on stderr. */
void mplb_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Verbose messages, printed when mplb_verbose is set (-v). */
extern int mplb_verbose;
void mplb_dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parse an unsigned integer in [min, max]; 0 on success, -1 with a message naming what. */
int parse_uint(const char *s, const char *what, unsigned long min,
	       unsigned long max, unsigned long *out);

/*
 * Parse "A.B.C.D:PORT", "[v6]:PORT" (or a bare address when port_required is
 * false, leaving the port 0). 0 on success, -1 with a message.
 */
int parse_sockaddr(const char *s, bool port_required,
		   struct sockaddr_storage *ss, socklen_t *len);
/* "10.0.0.1:80" / "[fd00::1]:80" into buf. */
const char *sockaddr_str(const struct sockaddr *sa, char *buf, size_t len);

/* Need CAP_NET_ADMIN/root for what; prints how to fix it and returns -1 if not. */
int require_root(const char *what);

/*
 * Run argv (argv[0] looked up in PATH) inside network namespace netns (NULL
 * for the current one). Output is discarded when quiet. Returns the exit
 * status (0..255), or -1 if it could not run; a failure is reported with the
 * command line unless quiet.
 */
int run_cmd(const char *netns, bool quiet, char *const argv[]);
/* Same, with the argument list given inline and NULL-terminated. */
int run(const char *netns, bool quiet, const char *arg0, ...);
/* Run and capture stdout (up to cap-1 bytes, NUL-terminated). */
int run_capture(const char *netns, char *out, size_t cap, char *const argv[]);

/* Enter network namespace name (from /var/run/netns) for the calling thread. */
int netns_enter(const char *name);
bool netns_exists(const char *name);

/* Monotonic clock in seconds. */
double now_sec(void);

#endif /* MPLB_UTIL_H */
