/* SPDX-License-Identifier: MIT */
/*
 * The authentication of token sync messages (wire format:
 * include/mplb/token_sync.h): per-backend keys, building a signed message,
 * and checking one. Shared by the sender (server/) and the receiver (lb/).
 */
#ifndef MPLB_LIB_TOKEN_SYNC_H
#define MPLB_LIB_TOKEN_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mplb/token_sync.h"

/* key_B = HMAC-SHA256(master, SYNC_KEY_LABEL || be32(B)). */
void sync_key_derive(const uint8_t master[SYNC_KEY_LEN], uint32_t backend_id,
		     uint8_t out[SYNC_KEY_LEN]);

/* Parse 64 hex digits into a 32-byte key: 0, or -1. */
int sync_key_parse(const char *hex, uint8_t out[SYNC_KEY_LEN]);
/* 64 hex digits and a NUL into buf (>= 65 bytes). */
void sync_key_format(const uint8_t key[SYNC_KEY_LEN], char *buf);

/*
 * A message of n entries (<= SYNC_MAX_ENTRIES) into buf (>= SYNC_MSG_LEN(n)),
 * signed with key. Returns its length.
 */
size_t sync_msg_build(uint8_t *buf, const uint8_t key[SYNC_KEY_LEN], uint8_t type,
		      uint32_t backend_id, uint64_t epoch, uint64_t seq, uint64_t sent_ns,
		      const struct sync_entry *e, unsigned n);

/*
 * Structure of a received datagram: magic, version, length for its count.
 * On success fills hdr (host order) and returns the entry count; -1 if
 * malformed.
 */
int sync_msg_parse(const uint8_t *buf, size_t len, struct sync_hdr *hdr);
/* Does the MAC of a parsed message verify under key (constant time)? */
bool sync_msg_mac_ok(const uint8_t *buf, size_t len, const uint8_t key[SYNC_KEY_LEN]);
/* Entry i of a parsed message (token in host order). */
void sync_msg_entry(const uint8_t *buf, unsigned i, struct sync_entry *e);

#endif /* MPLB_LIB_TOKEN_SYNC_H */
