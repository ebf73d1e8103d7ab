/* SPDX-License-Identifier: MIT */
/*
 * The mplb probe protocol, version 1, spoken by `mplb serve` (backend) and
 * `mplb probe` (client) over one MPTCP connection. All integers are
 * big-endian; every message starts with magic "MPLB" (0x4d504c42), a u16
 * version (1) and a u16 type.
 *
 *   server -> client, right after accept():
 *     HELLO    80 bytes  magic u32 | version u16 | type u16 = 1
 *                        | backend_id u32 | reserved u32 = 0
 *                        | hostname 64 bytes, NUL-padded (NUL-terminated)
 *   client -> server:
 *     REQUEST  32 bytes  magic u32 | version u16 | type u16 = 2
 *                        | mode u32 (1 bulk, 2 upload, 3 rr) | rounds u32
 *                        | bytes u64 | seed u64
 *   data phase, by mode:
 *     bulk     server -> client: bytes of stream D
 *     upload   client -> server: bytes of stream U
 *     rr       `rounds` times: client -> server 64 bytes of stream U (round r
 *              at offset 64*r), then server -> client the next chunk of
 *              stream D: bytes/rounds each, the last one also takes
 *              bytes % rounds. Offsets in D are contiguous across rounds.
 *   server -> client, after the data phase:
 *     STATUS   40 bytes  magic u32 | version u16 | type u16 = 3
 *                        | result u32 (enum proto_result) | reserved u32
 *                        | bad_offset u64 (first bad byte of U, if MISMATCH)
 *                        | bytes_received u64 | bytes_sent u64 (data phase only)
 *   then the client closes; the server closes when it reads EOF.
 *
 * Payload streams: D is payload_stream(seed), U is payload_stream(seed ^
 * PROTO_UPLOAD_SEED_XOR), so an echo cannot pass as an upload. Byte i of
 * payload_stream(s) is byte (i % 8) (little-endian) of
 * splitmix64(s + (i / 8 + 1) * 0x9e3779b97f4a7c15). It is random-access, so
 * both ends check every byte at any offset without storing anything.
 */
#ifndef MPLB_PROBE_PROTO_H
#define MPLB_PROBE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_MAGIC 0x4d504c42u /* "MPLB" */
#define PROTO_VERSION 1
#define PROTO_HELLO_LEN 80
#define PROTO_REQUEST_LEN 32
#define PROTO_STATUS_LEN 40
#define PROTO_HOSTNAME_LEN 64
#define PROTO_RR_REQUEST_LEN 64
#define PROTO_UPLOAD_SEED_XOR 0xa5a5a5a5deadbeefULL
/* Request bounds the server enforces (and the client option parser). */
#define PROTO_MAX_BYTES (1ULL << 40)
#define PROTO_MAX_ROUNDS 1000000u

enum proto_type { PROTO_HELLO = 1, PROTO_REQUEST = 2, PROTO_STATUS = 3 };
enum proto_mode { PROTO_MODE_BULK = 1, PROTO_MODE_UPLOAD = 2, PROTO_MODE_RR = 3 };
enum proto_result {
	PROTO_OK = 0,
	PROTO_MISMATCH = 1, /* the server saw a wrong byte of stream U */
	PROTO_SHORT = 2, /* the server's peer stopped early (EOF / timeout) */
	PROTO_BAD_REQUEST = 3,
};

struct proto_hello {
	uint32_t backend_id;
	char hostname[PROTO_HOSTNAME_LEN]; /* always NUL-terminated after decode */
};

struct proto_request {
	uint32_t mode; /* enum proto_mode */
	uint32_t rounds; /* rr only; 1 otherwise */
	uint64_t bytes;
	uint64_t seed;
};

struct proto_status {
	uint32_t result; /* enum proto_result */
	uint64_t bad_offset;
	uint64_t bytes_received;
	uint64_t bytes_sent;
};

void proto_encode_hello(uint8_t out[PROTO_HELLO_LEN], const struct proto_hello *h);
void proto_encode_request(uint8_t out[PROTO_REQUEST_LEN], const struct proto_request *r);
void proto_encode_status(uint8_t out[PROTO_STATUS_LEN], const struct proto_status *s);
/*
 * Decoders: 0 on success, -1 with a short reason in *why (static string) for
 * a wrong magic, version, type or out-of-range field.
 */
int proto_decode_hello(const uint8_t in[PROTO_HELLO_LEN], struct proto_hello *h,
		       const char **why);
int proto_decode_request(const uint8_t in[PROTO_REQUEST_LEN], struct proto_request *r,
			 const char **why);
int proto_decode_status(const uint8_t in[PROTO_STATUS_LEN], struct proto_status *s,
			const char **why);

const char *proto_mode_name(uint32_t mode); /* "bulk"/"upload"/"rr"/"?" */
int proto_mode_parse(const char *s); /* enum value, or -1 */
const char *proto_result_name(uint32_t result);

/* Size of rr round r's response (bytes/rounds, the last adds the remainder). */
uint64_t proto_rr_chunk(uint64_t bytes, uint32_t rounds, uint32_t round);

/* Fill buf with bytes [offset, offset+len) of payload_stream(seed). */
void payload_fill(uint64_t seed, uint64_t offset, uint8_t *buf, size_t len);
/*
 * Check buf against bytes [offset, offset+len) of the stream. Returns true if
 * all match; otherwise false with the stream offset of the first bad byte.
 */
bool payload_verify(uint64_t seed, uint64_t offset, const uint8_t *buf, size_t len,
		    uint64_t *bad_offset);

#endif /* MPLB_PROBE_PROTO_H */
