/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 of one 8-byte message (an MPTCP key), in one compression block.
 *
 * Written for the XDP balancer, which must turn the server key it sees in an
 * MP_CAPABLE ACK into the server token (RFC 8684 section 3.2: the most
 * significant 32 bits of SHA-256(key), key in network byte order). The same
 * code compiles in userspace, where lb/tests checks it against OpenSSL.
 *
 * Constraints that shaped it: no libc; a bounded 64-round loop the verifier
 * walks once (K[] lands in .rodata, read with a masked index); and a 16-word
 * rolling message schedule so the BPF stack use stays small.
 */
#ifndef MPLB_SHA256_MIN_H
#define MPLB_SHA256_MIN_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define SHA256_MIN_ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

/*
 * The rounds stay a loop: fully unrolled, the 8-word state spills so much
 * that the BPF stack (512 bytes for the whole call chain) overflows.
 */
#if defined(__clang__)
#define SHA256_MIN_NO_UNROLL _Pragma("clang loop unroll(disable)")
#else
#define SHA256_MIN_NO_UNROLL
#endif

/* Digest of the 8 bytes of key in big-endian order, as 8 host-order words. */
static inline __attribute__((always_inline)) void
sha256_min_digest8(__u64 key, __u32 out[8])
{
	static const __u32 K[64] = {
		0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b,
		0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
		0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7,
		0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
		0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152,
		0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
		0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
		0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
		0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
		0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
		0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
		0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
		0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
	};
	/* The padded block: key (8 bytes), 0x80, zeros, bit length 64. */
	__u32 w[16] = {(__u32)(key >> 32), (__u32)key, 0x80000000u, 0, 0, 0,
		       0, 0, 0, 0, 0, 0, 0, 0, 0, 64};
	__u32 a = 0x6a09e667, b = 0xbb67ae85, c = 0x3c6ef372, d = 0xa54ff53a;
	__u32 e = 0x510e527f, f = 0x9b05688c, g = 0x1f83d9ab, h = 0x5be0cd19;

	SHA256_MIN_NO_UNROLL
	for (int i = 0; i < 64; i++) {
		__u32 wi;
		if (i < 16) {
			wi = w[i & 15];
		} else {
			__u32 w15 = w[(i - 15) & 15], w2 = w[(i - 2) & 15];
			__u32 s0 = SHA256_MIN_ROTR(w15, 7) ^
				   SHA256_MIN_ROTR(w15, 18) ^ (w15 >> 3);
			__u32 s1 = SHA256_MIN_ROTR(w2, 17) ^
				   SHA256_MIN_ROTR(w2, 19) ^ (w2 >> 10);
			wi = w[i & 15] + s0 + w[(i - 7) & 15] + s1;
			w[i & 15] = wi;
		}
		__u32 S1 = SHA256_MIN_ROTR(e, 6) ^ SHA256_MIN_ROTR(e, 11) ^
			   SHA256_MIN_ROTR(e, 25);
		__u32 ch = (e & f) ^ (~e & g);
		__u32 t1 = h + S1 + ch + K[i & 63] + wi;
		__u32 S0 = SHA256_MIN_ROTR(a, 2) ^ SHA256_MIN_ROTR(a, 13) ^
			   SHA256_MIN_ROTR(a, 22);
		__u32 maj = (a & b) ^ (a & c) ^ (b & c);
		__u32 t2 = S0 + maj;
		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	out[0] = 0x6a09e667 + a;
	out[1] = 0xbb67ae85 + b;
	out[2] = 0x3c6ef372 + c;
	out[3] = 0xa54ff53a + d;
	out[4] = 0x510e527f + e;
	out[5] = 0x9b05688c + f;
	out[6] = 0x1f83d9ab + g;
	out[7] = 0x5be0cd19 + h;
}

/* MPTCP v1 token of key: the first 32 bits of its SHA-256. */
static inline __attribute__((always_inline)) __u32 sha256_min_token(__u64 key)
{
	__u32 d[8];
	sha256_min_digest8(key, d);
	return d[0];
}

#endif /* MPLB_SHA256_MIN_H */
