/* SPDX-License-Identifier: MIT */
/*
 * MPTCP v1 cryptography (RFC 8684 sections 3.1, 3.2, 3.4.1) over libcrypto.
 * Keys, tokens and IDSNs are host-order integers; the RFC hashes them in
 * network byte order, which these functions take care of.
 */
#ifndef MPLB_MPTCP_CRYPTO_H
#define MPLB_MPTCP_CRYPTO_H

#include <stdint.h>

#include "mptcp_opt.h"

/* token = most significant 32 bits of SHA-256(key) */
uint32_t mptcp_token_from_key(uint64_t key);
/* IDSN = least significant 64 bits of SHA-256(key) */
uint64_t mptcp_idsn_from_key(uint64_t key);
/* v0 (RFC 6824): SHA-1 based token and IDSN */
uint32_t mptcp_v0_token_from_key(uint64_t key);
uint64_t mptcp_v0_idsn_from_key(uint64_t key);

/*
 * Full 32-byte HMAC-SHA256(key = key1 || key2, msg = nonce1 || nonce2).
 * For the initiator's HMAC-A pass (Key-A, Key-B, R-A, R-B); for HMAC-B pass
 * (Key-B, Key-A, R-B, R-A). The SYN/ACK carries the leftmost 8 bytes, the
 * third ACK the leftmost 20.
 */
void mptcp_join_hmac(uint64_t key1, uint64_t key2, uint32_t nonce1,
		     uint32_t nonce2, uint8_t out[32]);

/*
 * ADD_ADDR truncated HMAC: rightmost 64 bits of
 * HMAC-SHA256(key = key1 || key2, msg = addr_id || address || port),
 * port 0 when absent. key1 is the sender's key.
 */
uint64_t mptcp_add_addr_hmac(uint64_t key1, uint64_t key2, uint8_t addr_id,
			     const struct mptcp_addr *addr, uint16_t port);

#endif /* MPLB_MPTCP_CRYPTO_H */
