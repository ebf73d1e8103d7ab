/* SPDX-License-Identifier: MIT */
/*
 * Backend id carried in the TCP timestamp: the one encoder/decoder shared by
 * the XDP balancer (decode, on TSecr) and the server agent (encode on TSval at
 * egress, restore TSecr at ingress). docs/tsecr.md explains the choices; the
 * layout in short:
 *
 *   bit 31                    16 15           8 7            0
 *      +-------------------------+--------------+-------------+
 *      | E: the server clock's   | id ^ pad(E)  | chk(E, id)  |
 *      |    LOW 16 bits          |   (8 bits)   |  (8 bits)   |
 *      +-------------------------+--------------+-------------+
 *
 *   wire       = (clock << 16) | code,   E = clock & 0xffff
 *   pad(E)     = SipHash-2-4(key, 1 << 32 | E)               & 0xff
 *   chk(E, id) = SipHash-2-4(key, 2 << 32 | E << 8 | id)     & 0xff
 *
 * The clock's low 16 bits move to the high half ("shifted clock", as
 * draft-olteanu does with 14 bits), so the TSecr the client echoes carries
 * them and the agent can restore the kernel's original value exactly: the
 * missing high 16 bits come from the socket's current clock (tsecr_restore).
 * Consequences: the wire TSval advances 2^16 per tick and wraps every 2^16
 * ticks (65.5 s at 1 kHz); PAWS on the client needs a segment from the server
 * at least every 32.7 s (docs/tsecr.md, "PAWS").
 *
 * A TSecr that was not produced by the encoder decodes to "no id" except with
 * probability 2^-8; a client that knows its own id and wants another must
 * guess an 8-bit keyed check (1 in 256 per packet), which is no better than
 * choosing source ports until the ring hits the target when there are at
 * most 256 backends (the id space).
 *
 * No libc, no loops: usable from BPF (after vmlinux.h) and C11 userspace.
 */
#ifndef MPLB_TSECR_H
#define MPLB_TSECR_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TSECR_CODE_BITS 16
#define TSECR_ID_BITS 8
#define TSECR_CHECK_BITS 8
#define TSECR_MAX_IDS (1u << TSECR_ID_BITS)
#define TSECR_CODE_MASK ((1u << TSECR_CODE_BITS) - 1)
#define TSECR_NO_ID (-1)

#define TSECR_ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define TSECR_SIPROUND(v0, v1, v2, v3)                                       \
	do {                                                                 \
		v0 += v1;                                                    \
		v1 = TSECR_ROTL64(v1, 13);                                   \
		v1 ^= v0;                                                    \
		v0 = TSECR_ROTL64(v0, 32);                                   \
		v2 += v3;                                                    \
		v3 = TSECR_ROTL64(v3, 16);                                   \
		v3 ^= v2;                                                    \
		v0 += v3;                                                    \
		v3 = TSECR_ROTL64(v3, 21);                                   \
		v3 ^= v0;                                                    \
		v2 += v1;                                                    \
		v1 = TSECR_ROTL64(v1, 17);                                   \
		v1 ^= v2;                                                    \
		v2 = TSECR_ROTL64(v2, 32);                                   \
	} while (0)

/*
 * SipHash-2-4 of one 64-bit word (the 8 message bytes are m in little-endian
 * order, so this equals the reference siphash() over those bytes).
 */
static inline __u64 tsecr_siphash_u64(const __u64 key[2], __u64 m)
{
	__u64 v0 = 0x736f6d6570736575ULL ^ key[0];
	__u64 v1 = 0x646f72616e646f6dULL ^ key[1];
	__u64 v2 = 0x6c7967656e657261ULL ^ key[0];
	__u64 v3 = 0x7465646279746573ULL ^ key[1];
	__u64 b = 8ULL << 56;

	v3 ^= m;
	TSECR_SIPROUND(v0, v1, v2, v3);
	TSECR_SIPROUND(v0, v1, v2, v3);
	v0 ^= m;
	v3 ^= b;
	TSECR_SIPROUND(v0, v1, v2, v3);
	TSECR_SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	TSECR_SIPROUND(v0, v1, v2, v3);
	TSECR_SIPROUND(v0, v1, v2, v3);
	TSECR_SIPROUND(v0, v1, v2, v3);
	TSECR_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static inline __u32 tsecr_pad(const __u64 key[2], __u32 epoch)
{
	return (__u32)tsecr_siphash_u64(key, (1ULL << 32) | epoch) &
	       (TSECR_MAX_IDS - 1);
}

static inline __u32 tsecr_check(const __u64 key[2], __u32 epoch, __u32 id)
{
	return (__u32)tsecr_siphash_u64(key, (2ULL << 32) | (epoch << 8) | id) &
	       ((1u << TSECR_CHECK_BITS) - 1);
}

/*
 * TSval to send for the kernel's TSval ts_clock: its low 16 bits shifted up,
 * backend id (< 256) encoded in the low 16. Callers must pass an id below
 * TSECR_MAX_IDS.
 */
static inline __u32 tsecr_encode(const __u64 key[2], __u32 ts_clock, __u32 id)
{
	__u32 epoch = ts_clock & TSECR_CODE_MASK;
	id &= TSECR_MAX_IDS - 1;
	return (epoch << TSECR_CODE_BITS) |
	       ((id ^ tsecr_pad(key, epoch)) << TSECR_CHECK_BITS) |
	       tsecr_check(key, epoch, id);
}

/* Backend id carried by tsecr, or TSECR_NO_ID if its check does not match. */
static inline int tsecr_decode(const __u64 key[2], __u32 tsecr)
{
	__u32 epoch = tsecr >> TSECR_CODE_BITS;
	__u32 id = ((tsecr >> TSECR_CHECK_BITS) ^ tsecr_pad(key, epoch)) &
		   (TSECR_MAX_IDS - 1);
	if ((tsecr & ((1u << TSECR_CHECK_BITS) - 1)) !=
	    tsecr_check(key, epoch, id))
		return TSECR_NO_ID;
	return (int)id;
}

/*
 * How far ahead of the socket's clock an echoed TSval may be and still be
 * taken as recent. The kernel stamps a segment with its departure time
 * (skb->skb_mstamp_ns, EDT): with pacing that can lie ahead of the clock
 * the agent reads when the echo comes back (a pure ACK sent right after a
 * paced 64 KB burst at a low rate carries a TSval tens of ms ahead). One
 * second covers any pacing horizon (fq's default horizon is 10 s but this
 * kernel has no fq; internal pacing never runs ahead of the clock by more
 * than one burst).
 */
#define TSECR_RESTORE_FUTURE_TICKS 1024u

/*
 * The kernel's TSval that wire_tsecr echoes, given the socket's current
 * timestamp clock (what the kernel would put in TSval now: tcp clock in ms +
 * tsoffset). The low 16 bits travel in the wire's high half; the high 16
 * come from current_clock, taking the candidate at or before current_clock
 * (allowing TSECR_RESTORE_FUTURE_TICKS ahead, see above). Exact whenever the
 * echoed value is at most 65536 - 1024 ticks old (64.5 s at 1 kHz) and at
 * most 1024 ticks ahead.
 */
static inline __u32 tsecr_restore(__u32 wire_tsecr, __u32 current_clock)
{
	__u32 low16 = wire_tsecr >> TSECR_CODE_BITS;
	__u32 candidate = (current_clock & ~TSECR_CODE_MASK) | low16;

	if ((__s32)(candidate - current_clock) > (__s32)TSECR_RESTORE_FUTURE_TICKS)
		candidate -= 1u << TSECR_CODE_BITS;
	else if ((__s32)(current_clock - candidate) >=
		 (__s32)((1u << TSECR_CODE_BITS) - TSECR_RESTORE_FUTURE_TICKS))
		candidate += 1u << TSECR_CODE_BITS;
	return candidate;
}

#endif /* MPLB_TSECR_H */
