/* SPDX-License-Identifier: MIT */
/*
 * TCP segment parsing and TCP option-area rewriting for the address-attribute
 * programs (bpf/advert_tc.bpf.c on the advertiser, bpf/client_attr.bpf.c on
 * the client). tc programs, so everything goes through bpf_skb_load_bytes /
 * bpf_skb_store_bytes on offsets: no packet pointer survives a helper call,
 * and non-linear skbs work too.
 *
 * Only segments whose TCP header ends the packet (no payload: pure ACKs,
 * SYN/ACKs) are ever rewritten. That keeps the rewrite to "change the tail":
 * the TCP header does not move, so skb->csum_start of a CHECKSUM_PARTIAL
 * segment stays right, and GSO never applies.
 */
#ifndef MPLB_ADVERT_TCP_H
#define MPLB_ADVERT_TCP_H

#include "mplb/addr_attr.h"
#include "mplb/mptcp_wire.h"
#include "sock_tuple.h"

#define ADV_ETH_HLEN 14
#define ADV_ETH_P_IP 0x0800
#define ADV_ETH_P_IPV6 0x86DD
#define ADV_IPPROTO_TCP 6
#define ADV_TCP_HDR_LEN 20
#define ADV_TCP_CSUM_OFF 16
#define ADV_TCP_FIN 0x01
#define ADV_TCP_SYN 0x02
#define ADV_TCP_RST 0x04
#define ADV_TCP_ACK 0x10
/* tc verdicts (uapi #defines, not in vmlinux.h). UNSPEC is also tcx's "next". */
#define ADV_TC_UNSPEC (-1)
#define ADV_TC_SHOT 2
#define ADV_OPT_BUF 64		/* stack buffer for the (at most 40) option bytes */
#define ADV_OPT_MASK 63

/* What the parser learnt about one TCP segment. Offsets from skb->data. */
struct tcp_seg {
	__u32 l3_off;
	__u32 l4_off;
	__u32 doff;		/* TCP header bytes, options included */
	__u32 l3_len;		/* IPv4 tot_len or 40 + IPv6 payload_len */
	__u32 payload;		/* TCP payload bytes */
	__u32 optlen;		/* doff - 20 */
	__u8 family;		/* 4 or 6 */
	__u8 flags;		/* TCP flags byte */
	__u8 cut;		/* the packet ends inside the TCP header */
	__u8 pad[3];
	__u16 sport, dport;	/* network order */
	__u8 saddr[16], daddr[16];
	__u8 opts[ADV_OPT_BUF];
};

/*
 * The functions below are global (not inlined): the verifier checks each once,
 * on its own, instead of once per path of the caller, which for three nested
 * 40-byte option loops is beyond its instruction budget. Their pointer
 * arguments may be NULL as far as the verifier knows, hence the checks.
 */

/*
 * Ethernet + IPv4 (options skipped) / IPv6 (no extension headers) + TCP.
 * 0; -1 not a TCP segment we read; -2 the packet ends inside the TCP header
 * (s->cut set, s->optlen = the option bytes present).
 */
__noinline int adv_parse_seg(struct __sk_buff *skb, struct tcp_seg *s)
{
	__u8 b[40];
	__u32 ihl, n, avail;

	if (!s)
		return -1;
	s->cut = 0;
	s->l3_off = ADV_ETH_HLEN;
	if (skb->protocol == bpf_htons(ADV_ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, s->l3_off, b, 20))
			return -1;
		if ((b[0] >> 4) != 4 || b[9] != ADV_IPPROTO_TCP)
			return -1;
		if ((b[6] & 0x3f) || b[7]) /* fragment: no TCP header to trust */
			return -1;
		ihl = (b[0] & 0xf) * 4;
		if (ihl < 20)
			return -1;
		s->family = 4;
		s->l3_len = ((__u32)b[2] << 8) | b[3];
		__builtin_memset(s->saddr, 0, 16);
		__builtin_memset(s->daddr, 0, 16);
		__builtin_memcpy(s->saddr, b + 12, 4);
		__builtin_memcpy(s->daddr, b + 16, 4);
		s->l4_off = s->l3_off + ihl;
	} else if (skb->protocol == bpf_htons(ADV_ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, s->l3_off, b, 40))
			return -1;
		if ((b[0] >> 4) != 6 || b[6] != ADV_IPPROTO_TCP)
			return -1;
		s->family = 6;
		s->l3_len = 40 + (((__u32)b[4] << 8) | b[5]);
		__builtin_memcpy(s->saddr, b + 8, 16);
		__builtin_memcpy(s->daddr, b + 24, 16);
		s->l4_off = s->l3_off + 40;
	} else {
		return -1;
	}
	if (bpf_skb_load_bytes(skb, s->l4_off, b, 20))
		return -1;
	__builtin_memcpy(&s->sport, b, 2); /* both kept in network order */
	__builtin_memcpy(&s->dport, b + 2, 2);
	s->doff = (b[12] >> 4) * 4;
	s->flags = b[13];
	if (s->doff < ADV_TCP_HDR_LEN)
		return -1;
	s->optlen = s->doff - ADV_TCP_HDR_LEN;
	if (s->l4_off - s->l3_off + s->doff > s->l3_len)
		return -1;
	s->payload = s->l3_len - (s->l4_off - s->l3_off) - s->doff;
	n = s->optlen & ADV_OPT_MASK;
	if (!n || n > TCP_MAX_OPTION_SPACE)
		return 0;
	if (!bpf_skb_load_bytes(skb, s->l4_off + ADV_TCP_HDR_LEN, s->opts, n))
		return 0;
	/* The packet ends inside the option area: keep what is there. */
	s->cut = 1;
	avail = skb->len > s->l4_off + ADV_TCP_HDR_LEN ? skb->len - s->l4_off - ADV_TCP_HDR_LEN : 0;
	avail &= ADV_OPT_MASK;
	if (avail >= n)
		return -1;
	s->optlen = avail;
	if (avail && bpf_skb_load_bytes(skb, s->l4_off + ADV_TCP_HDR_LEN, s->opts, avail))
		return -1;
	return -2;
}

/* ADD_ADDR lengths: 4 + {4,16} + {0,1 draft octet} + {0,2 port} + {0,8 HMAC}. */
static __always_inline int add_addr_family(__u32 len, int *draft)
{
	*draft = 0;
	switch (len) {
	case 8: case 10: case 16: case 18:
		return 4;
	case 20: case 22: case 28: case 30:
		return 6;
	case 9: case 11: case 17: case 19:
		*draft = 1;
		return 4;
	case 21: case 23: case 29: case 31:
		*draft = 1;
		return 6;
	}
	return 0;
}

/* What one walk over the option area found. */
struct opt_scan {
	__u8 malformed;		/* zero/overlong length: the walk stopped */
	__u8 eol;		/* an EOL before the end (bytes after it are padding) */
	__u8 has_mpc;		/* an MP_CAPABLE */
	__u8 has_attr;		/* an attribute option of ours is already there */
	__u8 add_addr;		/* an ADD_ADDR (any form) */
	__u8 add_echo;		/* its E bit */
	__u8 add_id;
	__u8 add_len;
	__u8 add_off;		/* offset in the option area */
	__u8 add_family;	/* 4 or 6, from the length */
	__u8 add_draft;		/* draft length with the attribute octet */
	__u8 add_attr;		/* that octet */
	__u8 add_addr_bytes[16];
	__u8 pad[3];
	__u32 next;		/* walk cursor: offset of the next option */
};

/*
 * One option of the walk at o->next. Returns 0 to go on, 1 when the walk is
 * over. A global function per option (like bpf/parsing.h): the caller's loop
 * then carries only the cursor, and the verifier does not multiply the
 * combinations of fields set along 40 iterations.
 */
__noinline int adv_scan_one(const struct tcp_seg *s, struct opt_scan *o)
{
	__u32 i, kind, len, optlen;

	if (!s || !o)
		return 1;
	i = o->next;
	optlen = s->optlen;
	if (i >= optlen || i >= TCP_MAX_OPTION_SPACE)
		return 1;
	kind = s->opts[i & ADV_OPT_MASK];
	if (kind == TCPOPT_EOL_) {
		o->eol = 1;
		return 1;
	}
	if (kind == TCPOPT_NOP_) {
		o->next = i + 1;
		return 0;
	}
	if (i + 1 >= optlen) {
		o->malformed = 1;
		return 1;
	}
	len = s->opts[(i + 1) & ADV_OPT_MASK];
	if (len < 2 || i + len > optlen) {
		o->malformed = 1;
		return 1;
	}
	if (kind == TCPOPT_MPTCP && len >= 3) {
		__u32 sub = s->opts[(i + 2) & ADV_OPT_MASK] >> 4;

		if (sub == MPTCPOPT_MP_CAPABLE) {
			o->has_mpc = 1;
		} else if (sub == MPTCPOPT_ADD_ADDR && len >= 8) {
			int draft, fam = add_addr_family(len, &draft);

			if (fam) {
				o->add_addr = 1;
				o->add_echo = s->opts[(i + 2) & ADV_OPT_MASK] & MPTCP_ADDR_ECHO;
				o->add_id = s->opts[(i + 3) & ADV_OPT_MASK];
				o->add_len = len;
				o->add_off = i;
				o->add_family = fam;
				o->add_draft = draft;
			}
		}
	} else if (kind == ADDR_ATTR_KIND && len >= ADDR_ATTR_HDR_LEN &&
		   s->opts[(i + 2) & ADV_OPT_MASK] == ADDR_ATTR_EXID_HI &&
		   s->opts[(i + 3) & ADV_OPT_MASK] == ADDR_ATTR_EXID_LO) {
		o->has_attr = 1;
	}
	o->next = i + len;
	return 0;
}

/* One walk over the option area: what the advertiser needs to know. */
__noinline int adv_scan_opts(const struct tcp_seg *s, struct opt_scan *o)
{
	if (!s || !o)
		return -1;
	__builtin_memset(o, 0, sizeof(*o));
	for (int k = 0; k < TCP_MAX_OPTION_SPACE; k++)
		if (adv_scan_one(s, o))
			break;
	if (o->add_addr) {
		__u32 off = o->add_off, alen = o->add_family == 4 ? 4 : 16;

		for (__u32 j = 0; j < 16; j++)
			o->add_addr_bytes[j] = j < alen ? s->opts[(off + 4 + j) & ADV_OPT_MASK] : 0;
		if (o->add_draft)
			o->add_attr = s->opts[(off + 4 + alen) & ADV_OPT_MASK];
	}
	return 0;
}

/* A new option area being built. */
struct optbuf {
	__u8 b[ADV_OPT_BUF];
	__u32 len;
	__u32 pad;
};

/*
 * Hide a value's range from the compiler so it keeps the "& mask" the
 * verifier needs (clang drops it after a "< 40" test, and the verifier may
 * not tie the test to the register used for the index).
 */
#define adv_opaque(x) asm volatile("" : "+r"(x))

static __always_inline void opt_put(struct optbuf *ob, __u8 v)
{
	__u32 l = ob->len;

	if (l < TCP_MAX_OPTION_SPACE) {
		adv_opaque(l);
		ob->b[l & ADV_OPT_MASK] = v;
	}
	ob->len = l + 1;
}

/* NOP-pad to a multiple of 4 bytes. */
static __always_inline void opt_pad(struct optbuf *ob)
{
	for (int k = 0; k < 3; k++)
		if (ob->len & 3)
			opt_put(ob, TCPOPT_NOP_);
}

/* ob = the segment's option area without [skip_off, skip_off + skip_len). */
__noinline int adv_copy_opts(const struct tcp_seg *s, struct optbuf *ob, __u32 skip_off,
			     __u32 skip_len)
{
	if (!s || !ob)
		return -1;
	ob->len = 0;
	for (__u32 i = 0; i < TCP_MAX_OPTION_SPACE; i++) {
		if (i >= s->optlen)
			break;
		if (i >= skip_off && i < skip_off + skip_len)
			continue;
		opt_put(ob, s->opts[i & ADV_OPT_MASK]);
	}
	return 0;
}

/*
 * Replace the option area of a segment that has no payload with ob (a
 * multiple of 4 bytes, <= 40): resize the tail, store the bytes, fix the data
 * offset, the IP length (and IPv4 header checksum) and the TCP checksum (option
 * bytes, data offset word, pseudo-header length). The bpf_l*_csum_replace
 * helpers do the right thing for both CHECKSUM_PARTIAL (only the pseudo-header
 * part is folded in; the device or validate_xmit_skb sums the rest from
 * csum_start) and fully computed checksums.
 * 0, or -1 when a helper failed (the caller drops the segment: it may be half
 * rewritten).
 */
__noinline int adv_rewrite_opts(struct __sk_buff *skb, struct tcp_seg *s, struct optbuf *ob)
{
	__u32 olen, nlen, tcp_csum, old_l3, new_l3, old_tcplen, new_tcplen;
	__u8 old_word[2], new_word[2];
	__s64 diff;
	int delta;

	if (!s || !ob)
		return -1;
	olen = s->optlen & ADV_OPT_MASK;
	nlen = ob->len & ADV_OPT_MASK;
	if (nlen > TCP_MAX_OPTION_SPACE || olen > TCP_MAX_OPTION_SPACE || (nlen & 3) || (olen & 3) ||
	    ob->len != nlen)
		return -1;
	tcp_csum = s->l4_off + ADV_TCP_CSUM_OFF;
	old_l3 = s->l3_len;
	delta = (int)nlen - (int)olen;
	new_l3 = old_l3 + delta;
	old_tcplen = old_l3 - (s->l4_off - s->l3_off);
	new_tcplen = old_tcplen + delta;

	/* Checksum difference of the option bytes alone (old area out, new in). */
	diff = bpf_csum_diff((__be32 *)s->opts, olen, (__be32 *)ob->b, nlen, 0);
	if (diff < 0)
		return -1;

	if (delta && bpf_skb_change_tail(skb, skb->len + delta, 0))
		return -1;
	if (nlen && bpf_skb_store_bytes(skb, s->l4_off + ADV_TCP_HDR_LEN, ob->b, nlen, 0))
		return -1;
	if (bpf_l4_csum_replace(skb, tcp_csum, 0, diff, 0))
		return -1;

	/* Data offset: the high nibble of byte 12, checksummed as the word 12-13. */
	if (bpf_skb_load_bytes(skb, s->l4_off + 12, old_word, 2))
		return -1;
	new_word[0] = (__u8)((((ADV_TCP_HDR_LEN + nlen) / 4) << 4) | (old_word[0] & 0x0f));
	new_word[1] = old_word[1];
	if (bpf_skb_store_bytes(skb, s->l4_off + 12, new_word, 1, 0))
		return -1;
	if (bpf_l4_csum_replace(skb, tcp_csum, *(__u16 *)old_word, *(__u16 *)new_word, 2))
		return -1;

	if (delta) {
		__u16 ol = bpf_htons((__u16)old_tcplen), nl = bpf_htons((__u16)new_tcplen);

		if (bpf_l4_csum_replace(skb, tcp_csum, ol, nl, BPF_F_PSEUDO_HDR | 2))
			return -1;
		if (s->family == 4) {
			__u16 o4 = bpf_htons((__u16)old_l3), n4 = bpf_htons((__u16)new_l3);

			if (bpf_skb_store_bytes(skb, s->l3_off + 2, &n4, 2, 0))
				return -1;
			if (bpf_l3_csum_replace(skb, s->l3_off + 10, o4, n4, 2))
				return -1;
		} else {
			__u16 n6 = bpf_htons((__u16)(new_l3 - 40));

			if (bpf_skb_store_bytes(skb, s->l3_off + 4, &n6, 2, 0))
				return -1;
		}
	}
	s->optlen = nlen;
	s->doff = ADV_TCP_HDR_LEN + nlen;
	s->l3_len = new_l3;
	return 0;
}

/* The segment ends with its TCP header (nothing to move when resizing it). */
static __always_inline int seg_is_headers_only(const struct __sk_buff *skb, const struct tcp_seg *s)
{
	return s->payload == 0 && skb->len == s->l4_off + s->doff;
}

/* MPTCP token of the local connection a socket belongs to, 0 if none. */
static __always_inline __u32 sock_mptcp_token(struct bpf_sock *sk)
{
	struct mptcp_sock *msk;

	if (!sk)
		return 0;
	msk = bpf_skc_to_mptcp_sock(sk);
	if (!msk)
		return 0;
	return msk->token;
}

/* Token of the local socket a received segment is for (socket lookup). */
__noinline __u32 adv_rx_token(struct __sk_buff *skb, const struct tcp_seg *s)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 token, tlen;

	if (!s)
		return 0;
	tlen = sock_tuple_fill(&t, s->family != 4, s->saddr, s->daddr, s->sport, s->dport);
	sk = bpf_sk_lookup_tcp(skb, &t, tlen, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	token = sock_mptcp_token(sk);
	bpf_sk_release(sk);
	return token;
}

#endif /* MPLB_ADVERT_TCP_H */
