// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * mplb advert: carry address attributes (backup, priority, community) next to
 * the kernel's own ADD_ADDR, in an RFC 6994 experimental option that stock
 * peers ignore (include/mplb/addr_attr.h, docs/addr-attributes.md).
 *
 * advert_egress (tc egress of the advertising host's interfaces):
 *   - ADD_ADDR (E=0) for a configured address, segment without payload:
 *       room for 8 more option bytes -> append (id, attr) to that segment;
 *       otherwise (IPv6 ADD_ADDR beside timestamps fills all 40 bytes) ->
 *       clone the ADD_ADDR out unchanged, then turn this copy into a carrier:
 *       the same pure ACK with the ADD_ADDR replaced by the attribute option;
 *       remember the pair until the ADD_ADDR's echo comes back and repeat it
 *       on the connection's later pure ACKs that have room.
 *     Every retransmission of the ADD_ADDR passes here again and gets the
 *     same treatment: the attributes are exactly as reliable as the ADD_ADDR.
 *   - MP_CAPABLE SYN/ACK from a configured address: append (0, attr), the
 *     initial address's attributes (the kernel never announces id 0).
 * advert_ingress (tc ingress): ADD_ADDR echoes (E=1) retire pending pairs.
 *
 * Both return TC_ACT_UNSPEC (tcx: "next"), so other programs on the same hook
 * (the server agent's) still run.
 */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "advert_tcp.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define PASS ADV_TC_UNSPEC

/* Test hook (mplb advert run --test-malform): write broken options instead. */
const volatile __u8 malform = ADV_MALFORM_NONE;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct advert_addr_key);
	__type(value, struct advert_addr_val);
} advert_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32); /* MPTCP token */
	__type(value, struct advert_pending);
} advert_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ADV_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} advert_stats SEC(".maps");

/* Set while our own clone re-enters this hook, so it passes untouched. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} advert_busy SEC(".maps");

/* Connections with pending pairs (approximate: LRU evictions are not seen).
 * Zero lets pure ACKs skip the token lookup. */
__u32 pending_live;

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&advert_stats, &idx);

	if (c)
		(*c)++;
}

static __always_inline void put_attr_hdr(struct optbuf *ob, __u32 npairs)
{
	opt_put(ob, ADDR_ATTR_KIND);
	opt_put(ob, (__u8)ADDR_ATTR_LEN(npairs));
	opt_put(ob, ADDR_ATTR_EXID_HI);
	opt_put(ob, ADDR_ATTR_EXID_LO);
}

/* The test hook's deliberately broken attribute options. */
__noinline int adv_put_malformed(struct optbuf *ob, __u8 id, __u8 attr)
{
	if (!ob)
		return -1;
	switch (malform) {
	case ADV_MALFORM_SHORT:
		opt_put(ob, ADDR_ATTR_KIND);
		opt_put(ob, 3);
		opt_put(ob, ADDR_ATTR_EXID_HI);
		break;
	case ADV_MALFORM_ODD:
		opt_put(ob, ADDR_ATTR_KIND);
		opt_put(ob, 5);
		opt_put(ob, ADDR_ATTR_EXID_HI);
		opt_put(ob, ADDR_ATTR_EXID_LO);
		opt_put(ob, id);
		break;
	case ADV_MALFORM_OVERLONG:
		/* Claims 12 bytes; the header ends after 8: past the option area. */
		opt_put(ob, ADDR_ATTR_KIND);
		opt_put(ob, 12);
		opt_put(ob, ADDR_ATTR_EXID_HI);
		opt_put(ob, ADDR_ATTR_EXID_LO);
		opt_put(ob, id);
		opt_put(ob, attr);
		opt_put(ob, 0);
		opt_put(ob, 0);
		return 0; /* no NOP padding: the claimed length must overrun */
	case ADV_MALFORM_EMPTY:
		put_attr_hdr(ob, 0);
		break;
	case ADV_MALFORM_DUP:
		put_attr_hdr(ob, 2);
		opt_put(ob, id);
		opt_put(ob, attr);
		opt_put(ob, id);
		opt_put(ob, attr ^ ADDR_ATTR_B);
		break;
	}
	opt_pad(ob);
	return 0;
}

/* ob += one attribute option with a single pair, padded. */
static __always_inline void put_one_pair(struct optbuf *ob, __u8 id, __u8 attr)
{
	put_attr_hdr(ob, 1);
	opt_put(ob, id);
	opt_put(ob, attr);
	opt_pad(ob);
}

static __always_inline void pending_add(__u32 token, __u8 id, __u8 attr)
{
	struct advert_pending *p = bpf_map_lookup_elem(&advert_pending, &token);
	struct advert_pending fresh = {};
	int slot = -1;

	if (!p) {
		fresh.e[0].id = id;
		fresh.e[0].attr = attr;
		fresh.e[0].repeats_left = ADVERT_REPEAT_MAX;
		if (!bpf_map_update_elem(&advert_pending, &token, &fresh, BPF_NOEXIST))
			__sync_fetch_and_add(&pending_live, 1);
		return;
	}
	for (int i = 0; i < ADVERT_PENDING_MAX; i++) {
		if (p->e[i].repeats_left && p->e[i].id == id) {
			slot = i;
			break;
		}
		if (slot < 0 && !p->e[i].repeats_left)
			slot = i;
	}
	if (slot < 0)
		slot = 0; /* full: the oldest-looking slot makes room */
	if (slot < ADVERT_PENDING_MAX) {
		p->e[slot].id = id;
		p->e[slot].attr = attr;
		p->e[slot].repeats_left = ADVERT_REPEAT_MAX;
	}
}

static __always_inline void pending_drop_if_empty(__u32 token, struct advert_pending *p)
{
	for (int i = 0; i < ADVERT_PENDING_MAX; i++)
		if (p->e[i].repeats_left)
			return;
	if (!bpf_map_delete_elem(&advert_pending, &token))
		__sync_fetch_and_sub(&pending_live, 1);
}

static __always_inline int on_add_addr(struct __sk_buff *skb, struct tcp_seg *s, struct opt_scan *o)
{
	struct advert_addr_key key = {.family = o->add_family};
	struct advert_addr_val *val;
	struct optbuf ob = {};
	__u32 room, zero = 0;
	__u32 *busy;
	__u32 token;

	count(ADV_ADD_ADDR_TX);
	__builtin_memcpy(key.addr, o->add_addr_bytes, 16);
	val = bpf_map_lookup_elem(&advert_addrs, &key);
	if (!val) {
		count(ADV_ADD_ADDR_NO_ATTR);
		return PASS;
	}
	if (!seg_is_headers_only(skb, s)) {
		count(ADV_SKIP_DATA);
		return PASS;
	}
	room = TCP_MAX_OPTION_SPACE - s->optlen;
	if (room >= ADDR_ATTR_PADDED_LEN(1)) {
		adv_copy_opts(s, &ob, 0, 0);
		if (malform) {
			adv_put_malformed(&ob, o->add_id, val->attr);
			count(ADV_TEST_MALFORMED);
		} else {
			put_one_pair(&ob, o->add_id, val->attr);
		}
		if (adv_rewrite_opts(skb, s, &ob)) {
			count(ADV_ERR_HELPER);
			return ADV_TC_SHOT; /* maybe half rewritten; the kernel retransmits it */
		}
		count(ADV_TX_INLINE);
		return PASS;
	}

	/* No room: the ADD_ADDR goes out as a clone, this copy becomes the carrier. */
	if (s->l4_off + s->doff != skb->len) {
		count(ADV_SKIP_NOT_LAST);
		return PASS;
	}
	busy = bpf_map_lookup_elem(&advert_busy, &zero);
	if (!busy)
		return PASS;
	*busy = 1;
	if (bpf_clone_redirect(skb, skb->ifindex, 0)) {
		*busy = 0;
		count(ADV_ERR_HELPER);
		return PASS; /* the ADD_ADDR still goes; its retransmission retries */
	}
	*busy = 0;
	adv_copy_opts(s, &ob, o->add_off, o->add_len);
	put_one_pair(&ob, o->add_id, val->attr);
	if (adv_rewrite_opts(skb, s, &ob)) {
		count(ADV_ERR_HELPER);
		return ADV_TC_SHOT; /* the ADD_ADDR itself already left as the clone */
	}
	count(ADV_TX_CARRIER);
	token = sock_mptcp_token(skb->sk);
	if (token)
		pending_add(token, o->add_id, val->attr);
	else
		count(ADV_NO_TOKEN);
	return PASS;
}

static __always_inline int on_synack(struct __sk_buff *skb, struct tcp_seg *s)
{
	struct advert_addr_key key = {.family = s->family};
	struct advert_addr_val *val;
	struct optbuf ob = {};

	__builtin_memcpy(key.addr, s->saddr, 16);
	val = bpf_map_lookup_elem(&advert_addrs, &key);
	if (!val || !(val->flags & ADVERT_ADDR_F_INITIAL) || !seg_is_headers_only(skb, s))
		return PASS;
	if (TCP_MAX_OPTION_SPACE - s->optlen < ADDR_ATTR_PADDED_LEN(1)) {
		count(ADV_SKIP_NO_ROOM);
		return PASS;
	}
	adv_copy_opts(s, &ob, 0, 0);
	put_one_pair(&ob, 0, val->attr); /* id 0: the initial address */
	if (adv_rewrite_opts(skb, s, &ob)) {
		count(ADV_ERR_HELPER);
		return ADV_TC_SHOT; /* the peer retransmits its SYN */
	}
	count(ADV_TX_SYNACK);
	return PASS;
}

/* Repeat pending pairs of this connection on a pure ACK with room. */
static __always_inline int on_pure_ack(struct __sk_buff *skb, struct tcp_seg *s)
{
	struct advert_pending *p;
	struct optbuf ob = {};
	__u32 fit, n = 0, token;
	__u8 ids[ADVERT_PENDING_MAX], attrs[ADVERT_PENDING_MAX];

	token = sock_mptcp_token(skb->sk);
	if (!token)
		return PASS;
	p = bpf_map_lookup_elem(&advert_pending, &token);
	if (!p)
		return PASS;
	fit = ADDR_ATTR_PAIRS_FIT(TCP_MAX_OPTION_SPACE - s->optlen);
	if (!fit || !seg_is_headers_only(skb, s))
		return PASS;
	for (int i = 0; i < ADVERT_PENDING_MAX; i++) {
		if (!p->e[i].repeats_left || n >= fit)
			continue;
		ids[n & (ADVERT_PENDING_MAX - 1)] = p->e[i].id;
		attrs[n & (ADVERT_PENDING_MAX - 1)] = p->e[i].attr;
		p->e[i].repeats_left--;
		n++;
	}
	if (!n) {
		pending_drop_if_empty(token, p);
		return PASS;
	}
	adv_copy_opts(s, &ob, 0, 0);
	put_attr_hdr(&ob, n);
	for (__u32 i = 0; i < ADVERT_PENDING_MAX; i++) {
		if (i >= n)
			break;
		opt_put(&ob, ids[i]);
		opt_put(&ob, attrs[i]);
	}
	opt_pad(&ob);
	if (adv_rewrite_opts(skb, s, &ob)) {
		count(ADV_ERR_HELPER);
		return ADV_TC_SHOT; /* a pure ACK: the next one acks the same data */
	}
	count(ADV_TX_REPEAT);
	pending_drop_if_empty(token, p);
	return PASS;
}

SEC("tc")
int advert_egress(struct __sk_buff *skb)
{
	struct tcp_seg s;
	struct opt_scan o;
	__u32 zero = 0;
	__u32 *busy = bpf_map_lookup_elem(&advert_busy, &zero);

	if (busy && *busy)
		return PASS; /* our own clone of an ADD_ADDR */
	if (adv_parse_seg(skb, &s))
		return PASS;
	adv_scan_opts(&s, &o);
	if (o.has_attr)
		return PASS;
	if (o.malformed || o.eol) {
		if (o.add_addr && !o.add_echo)
			count(ADV_SKIP_OPTS);
		return PASS;
	}
	if (o.add_addr && !o.add_echo && !o.add_draft)
		return on_add_addr(skb, &s, &o);
	if ((s.flags & (ADV_TCP_SYN | ADV_TCP_ACK)) == (ADV_TCP_SYN | ADV_TCP_ACK) && o.has_mpc)
		return on_synack(skb, &s);
	if (pending_live && (s.flags & (ADV_TCP_SYN | ADV_TCP_FIN | ADV_TCP_RST)) == 0 &&
	    (s.flags & ADV_TCP_ACK) && s.payload == 0)
		return on_pure_ack(skb, &s);
	return PASS;
}

SEC("tc")
int advert_ingress(struct __sk_buff *skb)
{
	struct advert_pending *p;
	struct tcp_seg s;
	struct opt_scan o;
	__u32 token;

	if (adv_parse_seg(skb, &s))
		return PASS;
	adv_scan_opts(&s, &o);
	if (!o.add_addr || !o.add_echo)
		return PASS;
	count(ADV_ECHO_RX);
	if (!pending_live)
		return PASS;
	token = adv_rx_token(skb, &s);
	if (!token)
		return PASS;
	p = bpf_map_lookup_elem(&advert_pending, &token);
	if (!p)
		return PASS;
	for (int i = 0; i < ADVERT_PENDING_MAX; i++) {
		if (p->e[i].repeats_left && p->e[i].id == o.add_id) {
			p->e[i].repeats_left = 0;
			count(ADV_ECHO_RETIRED);
		}
	}
	pending_drop_if_empty(token, p);
	return PASS;
}
