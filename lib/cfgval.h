/* SPDX-License-Identifier: MIT */
/* Values of mplb's INI config files, parsed one way for every component. */
#ifndef MPLB_CFGVAL_H
#define MPLB_CFGVAL_H

#include <ini.h>
#include <stdbool.h>
#include <stdint.h>

/* yes/no, on/off, true/false, 1/0 (case-insensitive). 0, or -1 if none of them. */
int cfg_parse_bool(const char *v, bool *out);
/* A whole number in [min, max] (decimal, 0x hex or 0 octal). 0, or -1. */
int cfg_parse_u32(const char *v, unsigned long min, unsigned long max, uint32_t *out);
/* 32 hex digits into two 64-bit halves, most significant first. 0, or -1. */
int cfg_parse_key128(const char *v, uint64_t key[2]);

/*
 * Parse an INI file with inih and report what went wrong with the file
 * itself: cannot open, or "PATH:LINE: syntax error". A handler that reports
 * its own errors (and counts them in *handler_errors) may return 0 for a bad
 * line; no second message is printed for it then. 0, or -1.
 */
int cfg_ini_parse(const char *path, ini_handler handler, void *user, const int *handler_errors);

#endif /* MPLB_CFGVAL_H */
