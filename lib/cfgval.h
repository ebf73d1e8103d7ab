/* SPDX-License-Identifier: MIT */
/* Values of mplb's INI config files, parsed one way for every component. */
#ifndef MPLB_CFGVAL_H
#define MPLB_CFGVAL_H

#include <stdbool.h>
#include <stdint.h>

/* yes/no, on/off, true/false, 1/0 (case-insensitive). 0, or -1 if none of them. */
int cfg_parse_bool(const char *v, bool *out);
/* A whole number in [min, max] (decimal, 0x hex or 0 octal). 0, or -1. */
int cfg_parse_u32(const char *v, unsigned long min, unsigned long max, uint32_t *out);
/* 32 hex digits into two 64-bit halves, most significant first. 0, or -1. */
int cfg_parse_key128(const char *v, uint64_t key[2]);

#endif /* MPLB_CFGVAL_H */
