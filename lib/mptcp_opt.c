// SPDX-License-Identifier: MIT
/*
 * MPTCP option codec: RFC 8684 suboptions, the RFC 6824 (v0) forms where
 * they differ, and the draft-duchene-mptcp-add-addr-00 extensions.
 *
 * Layout follows Linux net/mptcp/options.c: one switch on the subtype, each
 * case checks the exact length first and only then reads. The writer sits
 * next to the parser of the same subtype and mirrors it field by field;
 * mptcp_opt_build() re-parses its own output, so a struct that would not read
 * back identically is refused instead of silently emitted.
 * docs/wire-format.md records every encoding choice made here.
 */
#include "mptcp_opt.h"

#include <string.h>

#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10

static const struct mptcp_parse_ctx zero_ctx;

/* ---- byte helpers (network order) ---- */

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v & 0xffff);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, v >> 32);
	put_be32(p + 4, v & 0xffffffff);
}

/* Word 0 of every MPTCP option, as Linux's mptcp_option(). */
static void put_header(uint8_t *p, uint8_t len, uint8_t subtype,
		       uint8_t nibble, uint8_t byte3)
{
	p[0] = TCPOPT_MPTCP;
	p[1] = len;
	p[2] = (uint8_t)(subtype << 4 | (nibble & 0xf));
	if (len > 3)
		p[3] = byte3;
}

static int popcount8(uint8_t v)
{
	int n = 0;

	for (; v; v &= v - 1)
		n++;
	return n;
}

#define REJECT(err, sentence)                                                 \
	do {                                                                  \
		*why = (sentence);                                            \
		return (err);                                                 \
	} while (0)

/* ---- MP_CAPABLE ---- */

static int parse_mp_capable(const uint8_t *p, uint8_t len,
			    const struct mptcp_parse_ctx *ctx,
			    struct mptcp_opt *o, const char **why)
{
	struct mptcp_opt_mpc *mpc = &o->u.mpc;
	bool syn = ctx->tcp_flags & TCP_FLAG_SYN;
	bool ack = ctx->tcp_flags & TCP_FLAG_ACK;
	uint8_t version = p[2] & 0xf;
	uint8_t crypto_mask;

	if (version > MPTCP_VERSION_1)
		REJECT(MPTCP_E_VERSION,
		       "MP_CAPABLE version is neither 0 (RFC 6824) nor 1 (RFC 8684)");
	if (version == MPTCP_VERSION_0) {
		if (len != TCPOLEN_MPTCP_MPC_SYNACK && len != TCPOLEN_MPTCP_MPC_ACK)
			REJECT(MPTCP_E_LENGTH,
			       "MP_CAPABLE version 0 length is not 12 (SYN, SYN/ACK) or 20 (ACK)");
	} else if (len != TCPOLEN_MPTCP_MPC_SYN && len != TCPOLEN_MPTCP_MPC_SYNACK &&
		   len != TCPOLEN_MPTCP_MPC_ACK && len != TCPOLEN_MPTCP_MPC_ACK_DATA &&
		   len != TCPOLEN_MPTCP_MPC_ACK_DATA_CSUM) {
		REJECT(MPTCP_E_LENGTH, "MP_CAPABLE length is not one of 4/12/20/22/24");
	}

	/* Phase: v1 lengths are unique; v0 uses 12 on both SYN and SYN/ACK. */
	switch (len) {
	case TCPOLEN_MPTCP_MPC_SYN:
		o->phase = MPTCP_PHASE_SYN;
		break;
	case TCPOLEN_MPTCP_MPC_SYNACK:
		if (version == MPTCP_VERSION_0)
			o->phase = ctx->tcp_flags_known && syn && ack ?
					   MPTCP_PHASE_SYNACK : MPTCP_PHASE_SYN;
		else
			o->phase = MPTCP_PHASE_SYNACK;
		break;
	case TCPOLEN_MPTCP_MPC_ACK:
		o->phase = MPTCP_PHASE_ACK;
		break;
	default:
		o->phase = MPTCP_PHASE_ACK_DATA;
		break;
	}
	if (ctx->tcp_flags_known) {
		if (version == MPTCP_VERSION_0 && len == TCPOLEN_MPTCP_MPC_SYNACK) {
			if (!syn)
				REJECT(MPTCP_E_FLAGS,
				       "MP_CAPABLE version 0 length 12 is only valid on a SYN or SYN/ACK");
		} else if (o->phase == MPTCP_PHASE_SYN && (!syn || ack)) {
			REJECT(MPTCP_E_FLAGS,
			       "MP_CAPABLE length 4 is only valid on a SYN without ACK");
		} else if (o->phase == MPTCP_PHASE_SYNACK && (!syn || !ack)) {
			REJECT(MPTCP_E_FLAGS,
			       "MP_CAPABLE length 12 (version 1) is only valid on a SYN/ACK");
		} else if ((o->phase == MPTCP_PHASE_ACK ||
			    o->phase == MPTCP_PHASE_ACK_DATA) && (syn || !ack)) {
			REJECT(MPTCP_E_FLAGS,
			       "MP_CAPABLE length 20/22/24 is only valid on an ACK without SYN");
		}
	}

	mpc->version = version;
	mpc->flags = p[3];
	if (mpc->flags & MPTCP_CAP_EXTENSIBILITY)
		REJECT(MPTCP_E_FLAGS,
		       "MP_CAPABLE with B (extensibility) set: RFC 8684 receivers ignore the option "
		       "(the drafts' no-join B bit is C in RFC 8684)");
	/* v0 has no C bit: C..H all negotiate the crypto algorithm. */
	crypto_mask = version == MPTCP_VERSION_0 ?
			      MPTCP_CAP_CRYPTO_MASK | MPTCP_CAP_DENY_JOIN_ID0 :
			      MPTCP_CAP_CRYPTO_MASK;
	if (!(mpc->flags & crypto_mask))
		REJECT(MPTCP_E_FLAGS,
		       version == MPTCP_VERSION_0 ?
			       "MP_CAPABLE version 0 with no crypto algorithm bit (C..H all zero)" :
			       "MP_CAPABLE with no crypto algorithm bit (D..H all zero)");
	if (o->phase == MPTCP_PHASE_SYNACK && popcount8(mpc->flags & crypto_mask) != 1)
		REJECT(MPTCP_E_FLAGS,
		       "MP_CAPABLE on a SYN/ACK must select exactly one crypto algorithm bit");
	/* A=1 means the sender requires checksums, so its data must carry one. */
	if (len == TCPOLEN_MPTCP_MPC_ACK_DATA && (mpc->flags & MPTCP_CAP_CHECKSUM_REQD))
		REJECT(MPTCP_E_FLAGS,
		       "MP_CAPABLE length 22 has A (checksum required) set but no checksum (length 24)");

	if (version == MPTCP_VERSION_0)
		o->dialect = MPTCP_DIALECT_V0;
	if (len >= TCPOLEN_MPTCP_MPC_SYNACK) {
		mpc->has_snd_key = true;
		mpc->snd_key = get_be64(p + 4);
	}
	if (len >= TCPOLEN_MPTCP_MPC_ACK) {
		mpc->has_rcv_key = true;
		mpc->rcv_key = get_be64(p + 12);
	}
	if (len >= TCPOLEN_MPTCP_MPC_ACK_DATA) {
		mpc->has_data_len = true;
		mpc->data_len = get_be16(p + 20);
	}
	if (len == TCPOLEN_MPTCP_MPC_ACK_DATA_CSUM) {
		mpc->has_csum = true;
		mpc->csum = get_be16(p + 22);
	}
	return MPTCP_OK;
}

static int write_mp_capable(const struct mptcp_opt_mpc *mpc, uint8_t *p)
{
	uint8_t len;

	if (mpc->has_csum && !mpc->has_data_len)
		return MPTCP_E_INVALID;
	if (mpc->has_data_len && !mpc->has_rcv_key)
		return MPTCP_E_INVALID;
	if (mpc->has_rcv_key && !mpc->has_snd_key)
		return MPTCP_E_INVALID;
	len = mpc->has_csum ? TCPOLEN_MPTCP_MPC_ACK_DATA_CSUM :
	      mpc->has_data_len ? TCPOLEN_MPTCP_MPC_ACK_DATA :
	      mpc->has_rcv_key ? TCPOLEN_MPTCP_MPC_ACK :
	      mpc->has_snd_key ? TCPOLEN_MPTCP_MPC_SYNACK : TCPOLEN_MPTCP_MPC_SYN;

	put_header(p, len, MPTCPOPT_MP_CAPABLE, mpc->version, mpc->flags);
	if (mpc->has_snd_key)
		put_be64(p + 4, mpc->snd_key);
	if (mpc->has_rcv_key)
		put_be64(p + 12, mpc->rcv_key);
	if (mpc->has_data_len)
		put_be16(p + 20, mpc->data_len);
	if (mpc->has_csum)
		put_be16(p + 22, mpc->csum);
	return len;
}

/* ---- MP_JOIN ---- */

static int parse_mp_join(const uint8_t *p, uint8_t len,
			 const struct mptcp_parse_ctx *ctx, struct mptcp_opt *o,
			 const char **why)
{
	struct mptcp_opt_join *join = &o->u.join;
	bool syn = ctx->tcp_flags & TCP_FLAG_SYN;
	bool ack = ctx->tcp_flags & TCP_FLAG_ACK;

	switch (len) {
	case TCPOLEN_MPTCP_MPJ_SYN:
		o->phase = MPTCP_PHASE_SYN;
		if (ctx->tcp_flags_known && (!syn || ack))
			REJECT(MPTCP_E_FLAGS,
			       "MP_JOIN length 12 is only valid on a SYN without ACK");
		break;
	case TCPOLEN_MPTCP_MPJ_SYNACK:
		o->phase = MPTCP_PHASE_SYNACK;
		if (ctx->tcp_flags_known && (!syn || !ack))
			REJECT(MPTCP_E_FLAGS, "MP_JOIN length 16 is only valid on a SYN/ACK");
		break;
	case TCPOLEN_MPTCP_MPJ_ACK:
		o->phase = MPTCP_PHASE_ACK;
		if (ctx->tcp_flags_known && (syn || !ack))
			REJECT(MPTCP_E_FLAGS,
			       "MP_JOIN length 24 is only valid on an ACK without SYN");
		break;
	default:
		REJECT(MPTCP_E_LENGTH,
		       "MP_JOIN length is not 12 (SYN), 16 (SYN/ACK) or 24 (ACK)");
	}

	if (o->phase == MPTCP_PHASE_ACK) {
		join->reserved = (uint16_t)((p[2] & 0xf) << 8 | p[3]);
		memcpy(join->hmac160, p + 4, sizeof(join->hmac160));
		return MPTCP_OK;
	}
	join->backup = p[2] & MPTCP_JOIN_BACKUP;
	join->prio = (p[2] & MPTCP_DRAFT_PRIO_MASK) >> MPTCP_DRAFT_PRIO_SHIFT;
	if (join->prio) {
		if (ctx->rfc_strict)
			REJECT(MPTCP_E_FLAGS,
			       "MP_JOIN priority bits are draft-only (draft-duchene-mptcp-add-addr-00); "
			       "RFC 8684 reserves them");
		o->dialect = MPTCP_DIALECT_DRAFT;
	}
	join->addr_id = p[3];
	if (o->phase == MPTCP_PHASE_SYN) {
		join->token = get_be32(p + 4);
		join->nonce = get_be32(p + 8);
	} else {
		join->hmac64 = get_be64(p + 4);
		join->nonce = get_be32(p + 12);
	}
	return MPTCP_OK;
}

static int write_mp_join(const struct mptcp_opt *o, uint8_t *p)
{
	const struct mptcp_opt_join *join = &o->u.join;
	enum mptcp_phase phase = o->phase;
	uint8_t nibble;

	if (phase == MPTCP_PHASE_NONE)
		phase = o->len == TCPOLEN_MPTCP_MPJ_SYN ? MPTCP_PHASE_SYN :
			o->len == TCPOLEN_MPTCP_MPJ_SYNACK ? MPTCP_PHASE_SYNACK :
			o->len == TCPOLEN_MPTCP_MPJ_ACK ? MPTCP_PHASE_ACK :
			MPTCP_PHASE_NONE;

	if (phase == MPTCP_PHASE_ACK) {
		put_header(p, TCPOLEN_MPTCP_MPJ_ACK, MPTCPOPT_MP_JOIN,
			   join->reserved >> 8, join->reserved & 0xff);
		memcpy(p + 4, join->hmac160, sizeof(join->hmac160));
		return TCPOLEN_MPTCP_MPJ_ACK;
	}
	nibble = (uint8_t)(join->prio << MPTCP_DRAFT_PRIO_SHIFT) |
		 (join->backup ? MPTCP_JOIN_BACKUP : 0);
	if (phase == MPTCP_PHASE_SYN) {
		put_header(p, TCPOLEN_MPTCP_MPJ_SYN, MPTCPOPT_MP_JOIN, nibble,
			   join->addr_id);
		put_be32(p + 4, join->token);
		put_be32(p + 8, join->nonce);
		return TCPOLEN_MPTCP_MPJ_SYN;
	}
	if (phase == MPTCP_PHASE_SYNACK) {
		put_header(p, TCPOLEN_MPTCP_MPJ_SYNACK, MPTCPOPT_MP_JOIN, nibble,
			   join->addr_id);
		put_be64(p + 4, join->hmac64);
		put_be32(p + 12, join->nonce);
		return TCPOLEN_MPTCP_MPJ_SYNACK;
	}
	return MPTCP_E_INVALID;
}

/* ---- DSS ---- */

/* Length implied by the flags, without the optional checksum. */
static uint8_t dss_len(uint8_t flags)
{
	uint8_t len = TCPOLEN_MPTCP_DSS_BASE;

	if (flags & MPTCP_DSS_HAS_ACK)
		len += flags & MPTCP_DSS_ACK64 ? 8 : 4;
	if (flags & MPTCP_DSS_HAS_MAP)
		len += flags & MPTCP_DSS_DSN64 ? TCPOLEN_MPTCP_DSS_MAP64 :
						 TCPOLEN_MPTCP_DSS_MAP32;
	return len;
}

static int parse_dss(const uint8_t *p, uint8_t len, struct mptcp_opt *o,
		     const char **why)
{
	struct mptcp_opt_dss *dss = &o->u.dss;
	uint8_t expected;
	const uint8_t *q;

	if (len < TCPOLEN_MPTCP_DSS_BASE)
		REJECT(MPTCP_E_LENGTH, "DSS length is below 4 (no flags byte)");
	dss->flags = p[3] & MPTCP_DSS_FLAG_MASK;
	if ((dss->flags & MPTCP_DSS_ACK64) && !(dss->flags & MPTCP_DSS_HAS_ACK))
		REJECT(MPTCP_E_FLAGS,
		       "DSS has a (8-byte Data ACK) set without A (Data ACK present)");
	if ((dss->flags & MPTCP_DSS_DSN64) && !(dss->flags & MPTCP_DSS_HAS_MAP))
		REJECT(MPTCP_E_FLAGS,
		       "DSS has m (8-byte DSN) set without M (mapping present)");
	expected = dss_len(dss->flags);
	if (len != expected &&
	    !((dss->flags & MPTCP_DSS_HAS_MAP) && len == expected + TCPOLEN_MPTCP_DSS_CSUM))
		REJECT(MPTCP_E_LENGTH,
		       "DSS length does not match its flags (4, +4/8 Data ACK if A, "
		       "+10/14 mapping if M, +2 checksum only with a mapping)");

	dss->reserved = (uint8_t)((p[2] & 0xf) << 3 | p[3] >> 5);
	dss->data_fin = dss->flags & MPTCP_DSS_DATA_FIN;
	dss->has_ack = dss->flags & MPTCP_DSS_HAS_ACK;
	dss->ack64 = dss->flags & MPTCP_DSS_ACK64;
	dss->has_map = dss->flags & MPTCP_DSS_HAS_MAP;
	dss->dsn64 = dss->flags & MPTCP_DSS_DSN64;
	dss->has_csum = len != expected;
	q = p + 4;
	if (dss->has_ack) {
		dss->data_ack = dss->ack64 ? get_be64(q) : get_be32(q);
		q += dss->ack64 ? 8 : 4;
	}
	if (dss->has_map) {
		dss->dsn = dss->dsn64 ? get_be64(q) : get_be32(q);
		q += dss->dsn64 ? 8 : 4;
		dss->ssn = get_be32(q);
		dss->data_len = get_be16(q + 4);
		q += 6;
		if (dss->has_csum)
			dss->csum = get_be16(q);
	}
	return MPTCP_OK;
}

static int write_dss(const struct mptcp_opt_dss *dss, uint8_t *p)
{
	uint8_t flags = dss->flags & MPTCP_DSS_FLAG_MASK;
	uint8_t len = dss_len(flags);
	uint8_t *q = p + 4;

	if (dss->has_csum) {
		if (!(flags & MPTCP_DSS_HAS_MAP))
			return MPTCP_E_INVALID;
		len += TCPOLEN_MPTCP_DSS_CSUM;
	}
	put_header(p, len, MPTCPOPT_DSS, dss->reserved >> 3,
		   (uint8_t)((dss->reserved & 0x7) << 5 | flags));
	if (flags & MPTCP_DSS_HAS_ACK) {
		if (flags & MPTCP_DSS_ACK64) {
			put_be64(q, dss->data_ack);
			q += 8;
		} else {
			put_be32(q, (uint32_t)dss->data_ack);
			q += 4;
		}
	}
	if (flags & MPTCP_DSS_HAS_MAP) {
		if (flags & MPTCP_DSS_DSN64) {
			put_be64(q, dss->dsn);
			q += 8;
		} else {
			put_be32(q, (uint32_t)dss->dsn);
			q += 4;
		}
		put_be32(q, dss->ssn);
		put_be16(q + 4, dss->data_len);
		q += 6;
		if (dss->has_csum)
			put_be16(q, dss->csum);
	}
	return len;
}

/* ---- ADD_ADDR ---- */

/*
 * Length = 4 + address (4|16) + attribute octet (0|1, DRAFT) + port (0|2)
 * + HMAC (0|8). All 16 sums are distinct, so the length alone tells the
 * layout; E must then agree with the HMAC's presence.
 */
static uint8_t add_addr_len(bool ipv6, bool attr, bool port, bool hmac)
{
	return (uint8_t)(4 + (ipv6 ? 16 : 4) + (attr ? TCPOLEN_MPTCP_ADDR_ATTR : 0) +
			 (port ? TCPOLEN_MPTCP_PORT : 0) +
			 (hmac ? TCPOLEN_MPTCP_ADD_ADDR_HMAC : 0));
}

static bool add_addr_layout(uint8_t len, bool *ipv6, bool *attr, bool *port,
			    bool *hmac)
{
	for (int bits = 0; bits < 16; bits++) {
		*ipv6 = bits & 1;
		*attr = bits & 2;
		*port = bits & 4;
		*hmac = bits & 8;
		if (add_addr_len(*ipv6, *attr, *port, *hmac) == len)
			return true;
	}
	return false;
}

static bool add_addr_is_v0_len(uint8_t len)
{
	return len == TCPOLEN_MPTCP_V0_ADD_ADDR || len == TCPOLEN_MPTCP_V0_ADD_ADDR_PORT ||
	       len == TCPOLEN_MPTCP_V0_ADD_ADDR6 || len == TCPOLEN_MPTCP_V0_ADD_ADDR6_PORT;
}

static int parse_add_addr(const uint8_t *p, uint8_t len,
			  const struct mptcp_parse_ctx *ctx, struct mptcp_opt *o,
			  const char **why)
{
	struct mptcp_opt_add_addr *aa = &o->u.add_addr;
	bool ipv6, attr, port, hmac;
	uint8_t nibble = p[2] & 0xf;
	const uint8_t *q;

	if (!add_addr_layout(len, &ipv6, &attr, &port, &hmac))
		REJECT(MPTCP_E_LENGTH,
		       "ADD_ADDR length is not one of 8/10/16/18/20/22/28/30 "
		       "(draft attribute octet: 9/11/17/19/21/23/29/31)");

	if (ctx->v0 && add_addr_is_v0_len(len)) {
		/* RFC 6824: the nibble is IPVer; no echo, no HMAC. */
		if (nibble != (ipv6 ? MPTCP_ADDR_IPVERSION_6 : MPTCP_ADDR_IPVERSION_4))
			REJECT(MPTCP_E_FLAGS,
			       "v0 ADD_ADDR IPVer does not match its length (4 for 8/10, 6 for 20/22)");
		o->dialect = MPTCP_DIALECT_V0;
	} else {
		if (attr && ctx->rfc_strict)
			REJECT(MPTCP_E_LENGTH,
			       "ADD_ADDR attribute octet (lengths 9/11/17/19/21/23/29/31) is draft-only "
			       "(draft-duchene-mptcp-add-addr-00); RFC 8684 allows 8/10/16/18/20/22/28/30");
		aa->echo = nibble & MPTCP_ADDR_ECHO;
		aa->reserved = nibble >> 1;
		if (aa->echo && hmac)
			REJECT(MPTCP_E_FLAGS,
			       "ADD_ADDR echo (E=1) carries an HMAC; RFC 8684 echoes omit it");
		if (!aa->echo && !hmac)
			REJECT(MPTCP_E_FLAGS,
			       "ADD_ADDR without HMAC must be an echo (E=1); "
			       "a v0 ADD_ADDR is read only with ctx->v0");
		if (attr)
			o->dialect = MPTCP_DIALECT_DRAFT;
	}

	aa->addr_id = p[3];
	aa->addr.family = ipv6 ? 6 : 4;
	memcpy(aa->addr.addr, p + 4, ipv6 ? 16 : 4);
	q = p + 4 + (ipv6 ? 16 : 4);
	if (attr) {
		aa->has_attr = true;
		aa->community = *q >> MPTCP_ADDR_ATTR_COMMUNITY_SHIFT;
		aa->prio = (*q & MPTCP_ADDR_ATTR_PRIO_MASK) >> MPTCP_ADDR_ATTR_PRIO_SHIFT;
		aa->backup = *q & MPTCP_ADDR_ATTR_BACKUP;
		q++;
	}
	if (port) {
		aa->has_port = true;
		aa->port = get_be16(q);
		q += 2;
	}
	if (hmac) {
		aa->has_hmac = true;
		aa->hmac = get_be64(q);
	}
	return MPTCP_OK;
}

/* Neither echo nor HMAC: only RFC 6824 has that form. */
static bool add_addr_is_v0(const struct mptcp_opt_add_addr *aa)
{
	return !aa->echo && !aa->has_hmac;
}

static int write_add_addr(const struct mptcp_opt_add_addr *aa, uint8_t *p)
{
	bool ipv6 = aa->addr.family == 6;
	uint8_t len, nibble;
	uint8_t *q;

	if (aa->addr.family != 4 && aa->addr.family != 6)
		return MPTCP_E_INVALID;
	len = add_addr_len(ipv6, aa->has_attr, aa->has_port, aa->has_hmac);
	if (add_addr_is_v0(aa))
		nibble = ipv6 ? MPTCP_ADDR_IPVERSION_6 : MPTCP_ADDR_IPVERSION_4;
	else
		nibble = (uint8_t)(aa->reserved << 1) | (aa->echo ? MPTCP_ADDR_ECHO : 0);

	put_header(p, len, MPTCPOPT_ADD_ADDR, nibble, aa->addr_id);
	memcpy(p + 4, aa->addr.addr, ipv6 ? 16 : 4);
	q = p + 4 + (ipv6 ? 16 : 4);
	if (aa->has_attr)
		*q++ = (uint8_t)(aa->community << MPTCP_ADDR_ATTR_COMMUNITY_SHIFT |
				 ((aa->prio << MPTCP_ADDR_ATTR_PRIO_SHIFT) & MPTCP_ADDR_ATTR_PRIO_MASK) |
				 (aa->backup ? MPTCP_ADDR_ATTR_BACKUP : 0));
	if (aa->has_port) {
		put_be16(q, aa->port);
		q += 2;
	}
	if (aa->has_hmac)
		put_be64(q, aa->hmac);
	return len;
}

/* ---- REMOVE_ADDR ---- */

static int parse_rm_addr(const uint8_t *p, uint8_t len, struct mptcp_opt *o,
			 const char **why)
{
	struct mptcp_opt_rm_addr *rm = &o->u.rm_addr;

	if (len < TCPOLEN_MPTCP_RM_ADDR_BASE + 1)
		REJECT(MPTCP_E_LENGTH,
		       "REMOVE_ADDR carries no address ID (length must be 3 + n, n >= 1)");
	/* len <= TCP_MAX_OPTION_SPACE was checked by the caller: n <= 37. */
	rm->reserved = p[2] & 0xf;
	rm->n = len - TCPOLEN_MPTCP_RM_ADDR_BASE;
	memcpy(rm->ids, p + 3, rm->n);
	return MPTCP_OK;
}

static int write_rm_addr(const struct mptcp_opt_rm_addr *rm, uint8_t *p)
{
	uint8_t len = TCPOLEN_MPTCP_RM_ADDR_BASE + rm->n;

	if (rm->n < 1 || rm->n > sizeof(rm->ids))
		return MPTCP_E_INVALID;
	put_header(p, len, MPTCPOPT_RM_ADDR, rm->reserved, 0);
	memcpy(p + 3, rm->ids, rm->n);
	return len;
}

/* ---- MP_PRIO ---- */

static int parse_mp_prio(const uint8_t *p, uint8_t len,
			 const struct mptcp_parse_ctx *ctx, struct mptcp_opt *o,
			 const char **why)
{
	struct mptcp_opt_prio *prio = &o->u.prio;

	if (len != TCPOLEN_MPTCP_PRIO && len != TCPOLEN_MPTCP_PRIO_ADDRID)
		REJECT(MPTCP_E_LENGTH, "MP_PRIO length is not 3 (RFC 8684) or 4 (v0 with AddrID)");
	prio->backup = p[2] & MPTCP_PRIO_BACKUP;
	prio->prio = (p[2] & MPTCP_DRAFT_PRIO_MASK) >> MPTCP_DRAFT_PRIO_SHIFT;
	if (len == TCPOLEN_MPTCP_PRIO_ADDRID) {
		o->dialect = MPTCP_DIALECT_V0;
		prio->has_addr_id = true;
		prio->addr_id = p[3];
	}
	/* The draft's bits win the label: they are the more specific reading. */
	if (prio->prio) {
		if (ctx->rfc_strict)
			REJECT(MPTCP_E_FLAGS,
			       "MP_PRIO priority bits are draft-only (draft-duchene-mptcp-add-addr-00); "
			       "RFC 8684 reserves them");
		o->dialect = MPTCP_DIALECT_DRAFT;
	}
	return MPTCP_OK;
}

static int write_mp_prio(const struct mptcp_opt_prio *prio, uint8_t *p)
{
	uint8_t len = prio->has_addr_id ? TCPOLEN_MPTCP_PRIO_ADDRID : TCPOLEN_MPTCP_PRIO;

	put_header(p, len, MPTCPOPT_MP_PRIO,
		   (uint8_t)(prio->prio << MPTCP_DRAFT_PRIO_SHIFT) |
			   (prio->backup ? MPTCP_PRIO_BACKUP : 0),
		   prio->addr_id);
	return len;
}

/* ---- MP_FAIL and MP_FASTCLOSE: 12 reserved bits then 64 bits ---- */

static int parse_reserved_u64(const uint8_t *p, uint8_t len, uint16_t *reserved,
			      uint64_t *value)
{
	if (len != TCPOLEN_MPTCP_FAIL)
		return MPTCP_E_LENGTH;
	*reserved = (uint16_t)((p[2] & 0xf) << 8 | p[3]);
	*value = get_be64(p + 4);
	return MPTCP_OK;
}

static int write_reserved_u64(uint8_t subtype, uint16_t reserved, uint64_t value,
			      uint8_t *p)
{
	put_header(p, TCPOLEN_MPTCP_FAIL, subtype, reserved >> 8, reserved & 0xff);
	put_be64(p + 4, value);
	return TCPOLEN_MPTCP_FAIL;
}

/* ---- MP_TCPRST ---- */

static int parse_tcprst(const uint8_t *p, uint8_t len, struct mptcp_opt *o,
			const char **why)
{
	struct mptcp_opt_tcprst *rst = &o->u.tcprst;

	if (len != TCPOLEN_MPTCP_RST)
		REJECT(MPTCP_E_LENGTH, "MP_TCPRST length is not 4");
	rst->flags = p[2] & 0xf;
	rst->transient = rst->flags & MPTCP_TCPRST_TRANSIENT;
	rst->reason = p[3];
	return MPTCP_OK;
}

static int write_tcprst(const struct mptcp_opt_tcprst *rst, uint8_t *p)
{
	put_header(p, TCPOLEN_MPTCP_RST, MPTCPOPT_MP_TCPRST, rst->flags, rst->reason);
	return TCPOLEN_MPTCP_RST;
}

/* ---- MP_EXPERIMENTAL: opaque ---- */

static int parse_experimental(const uint8_t *p, uint8_t len, struct mptcp_opt *o)
{
	struct mptcp_opt_exp *exp = &o->u.exp;

	exp->nibble = p[2] & 0xf;
	exp->len = len - 3;
	memcpy(exp->data, p + 3, exp->len);
	return MPTCP_OK;
}

static int write_experimental(const struct mptcp_opt_exp *exp, uint8_t *p)
{
	if (exp->len > TCP_MAX_OPTION_SPACE - 3)
		return MPTCP_E_INVALID;
	put_header(p, (uint8_t)(3 + exp->len), MPTCPOPT_MP_EXPERIMENTAL, exp->nibble, 0);
	memcpy(p + 3, exp->data, exp->len);
	return 3 + exp->len;
}

/* ---- entry points ---- */

int mptcp_opt_parse(const uint8_t *buf, size_t avail,
		    const struct mptcp_parse_ctx *ctx, struct mptcp_opt *out,
		    const char **why)
{
	const char *unused_why;
	uint8_t len;
	int err;

	if (!why)
		why = &unused_why;
	*why = NULL;
	if (!ctx)
		ctx = &zero_ctx;
	memset(out, 0, sizeof(*out));

	if (avail < 1)
		REJECT(MPTCP_E_TRUNCATED, "option truncated before its Kind byte");
	if (buf[0] != TCPOPT_MPTCP)
		REJECT(MPTCP_E_KIND, "not an MPTCP option (Kind is not 30)");
	if (avail < 2)
		REJECT(MPTCP_E_TRUNCATED, "MPTCP option truncated before its Length byte");
	len = buf[1];
	if (len > avail)
		REJECT(MPTCP_E_TRUNCATED, "MPTCP option length runs past the bytes available");
	if (len < 3)
		REJECT(MPTCP_E_LENGTH, "MPTCP option length is below 3 (no subtype)");
	if (len > TCP_MAX_OPTION_SPACE)
		REJECT(MPTCP_E_LENGTH, "MPTCP option longer than the 40-byte TCP option space");

	out->subtype = MPTCP_SUBTYPE(buf);
	out->len = len;
	out->dialect = MPTCP_DIALECT_RFC8684;
	out->phase = MPTCP_PHASE_NONE;

	/* Every subtype but MP_PRIO and MP_EXPERIMENTAL needs byte 3. */
	switch (out->subtype) {
	case MPTCPOPT_MP_CAPABLE:
		if (len < 4)
			REJECT(MPTCP_E_LENGTH, "MP_CAPABLE length is not one of 4/12/20/22/24");
		err = parse_mp_capable(buf, len, ctx, out, why);
		break;
	case MPTCPOPT_MP_JOIN:
		err = parse_mp_join(buf, len, ctx, out, why);
		break;
	case MPTCPOPT_DSS:
		err = parse_dss(buf, len, out, why);
		break;
	case MPTCPOPT_ADD_ADDR:
		err = parse_add_addr(buf, len, ctx, out, why);
		break;
	case MPTCPOPT_RM_ADDR:
		err = parse_rm_addr(buf, len, out, why);
		break;
	case MPTCPOPT_MP_PRIO:
		err = parse_mp_prio(buf, len, ctx, out, why);
		break;
	case MPTCPOPT_MP_FAIL:
		err = parse_reserved_u64(buf, len, &out->u.fail.reserved, &out->u.fail.dsn);
		if (err)
			*why = "MP_FAIL length is not 12";
		break;
	case MPTCPOPT_MP_FASTCLOSE:
		err = parse_reserved_u64(buf, len, &out->u.fastclose.reserved,
					 &out->u.fastclose.key);
		if (err)
			*why = "MP_FASTCLOSE length is not 12";
		break;
	case MPTCPOPT_MP_TCPRST:
		err = parse_tcprst(buf, len, out, why);
		break;
	case MPTCPOPT_MP_EXPERIMENTAL:
		err = parse_experimental(buf, len, out);
		break;
	default:
		*why = "unassigned MPTCP subtype (0x9-0xe)";
		err = MPTCP_E_SUBTYPE;
		break;
	}
	if (err) {
		/* Callers see either a full result or a zeroed struct. */
		memset(out, 0, sizeof(*out));
		return err;
	}
	return MPTCP_OK;
}

static int write_option(const struct mptcp_opt *o, uint8_t *p)
{
	switch (o->subtype) {
	case MPTCPOPT_MP_CAPABLE:
		return write_mp_capable(&o->u.mpc, p);
	case MPTCPOPT_MP_JOIN:
		return write_mp_join(o, p);
	case MPTCPOPT_DSS:
		return write_dss(&o->u.dss, p);
	case MPTCPOPT_ADD_ADDR:
		return write_add_addr(&o->u.add_addr, p);
	case MPTCPOPT_RM_ADDR:
		return write_rm_addr(&o->u.rm_addr, p);
	case MPTCPOPT_MP_PRIO:
		return write_mp_prio(&o->u.prio, p);
	case MPTCPOPT_MP_FAIL:
		return write_reserved_u64(MPTCPOPT_MP_FAIL, o->u.fail.reserved,
					  o->u.fail.dsn, p);
	case MPTCPOPT_MP_FASTCLOSE:
		return write_reserved_u64(MPTCPOPT_MP_FASTCLOSE, o->u.fastclose.reserved,
					  o->u.fastclose.key, p);
	case MPTCPOPT_MP_TCPRST:
		return write_tcprst(&o->u.tcprst, p);
	case MPTCPOPT_MP_EXPERIMENTAL:
		return write_experimental(&o->u.exp, p);
	default:
		return MPTCP_E_INVALID;
	}
}

int mptcp_opt_build(const struct mptcp_opt *o, uint8_t *buf, size_t cap)
{
	uint8_t tmp[TCP_MAX_OPTION_SPACE];
	struct mptcp_parse_ctx ctx = { 0 };
	struct mptcp_opt reread;
	int len;

	len = write_option(o, tmp);
	if (len < 0)
		return len;
	if (o->len && o->len != len)
		return MPTCP_E_INVALID;
	/* The mirror check: only the v0 ADD_ADDR needs the v0 reading. */
	ctx.v0 = o->subtype == MPTCPOPT_ADD_ADDR && add_addr_is_v0(&o->u.add_addr);
	if (mptcp_opt_parse(tmp, (size_t)len, &ctx, &reread, NULL) != MPTCP_OK ||
	    !mptcp_opt_equal(o, &reread))
		return MPTCP_E_INVALID;
	if (o->subtype == MPTCPOPT_MP_JOIN && o->phase != MPTCP_PHASE_NONE &&
	    o->phase != reread.phase)
		return MPTCP_E_INVALID;
	if ((size_t)len > cap)
		return MPTCP_E_SPACE;
	memcpy(buf, tmp, (size_t)len);
	return len;
}

/* ---- equality ---- */

static bool mpc_equal(const struct mptcp_opt_mpc *a, const struct mptcp_opt_mpc *b)
{
	return a->version == b->version && a->flags == b->flags &&
	       a->has_snd_key == b->has_snd_key && a->has_rcv_key == b->has_rcv_key &&
	       a->has_data_len == b->has_data_len && a->has_csum == b->has_csum &&
	       a->snd_key == b->snd_key && a->rcv_key == b->rcv_key &&
	       a->data_len == b->data_len && a->csum == b->csum;
}

static bool join_equal(const struct mptcp_opt_join *a, const struct mptcp_opt_join *b)
{
	return a->backup == b->backup && a->prio == b->prio && a->addr_id == b->addr_id &&
	       a->token == b->token && a->nonce == b->nonce && a->hmac64 == b->hmac64 &&
	       !memcmp(a->hmac160, b->hmac160, sizeof(a->hmac160)) &&
	       a->reserved == b->reserved;
}

static bool dss_equal(const struct mptcp_opt_dss *a, const struct mptcp_opt_dss *b)
{
	return a->flags == b->flags && a->data_fin == b->data_fin &&
	       a->has_ack == b->has_ack && a->ack64 == b->ack64 &&
	       a->has_map == b->has_map && a->dsn64 == b->dsn64 &&
	       a->has_csum == b->has_csum && a->data_ack == b->data_ack &&
	       a->dsn == b->dsn && a->ssn == b->ssn && a->data_len == b->data_len &&
	       a->csum == b->csum && a->reserved == b->reserved;
}

static bool add_addr_equal(const struct mptcp_opt_add_addr *a,
			   const struct mptcp_opt_add_addr *b)
{
	size_t alen = a->addr.family == 6 ? 16 : 4;

	return a->echo == b->echo && a->addr_id == b->addr_id &&
	       a->addr.family == b->addr.family &&
	       !memcmp(a->addr.addr, b->addr.addr, alen) &&
	       a->has_port == b->has_port && a->has_hmac == b->has_hmac &&
	       a->has_attr == b->has_attr && a->port == b->port && a->hmac == b->hmac &&
	       a->community == b->community && a->prio == b->prio &&
	       a->backup == b->backup && a->reserved == b->reserved;
}

bool mptcp_opt_equal(const struct mptcp_opt *a, const struct mptcp_opt *b)
{
	if (a->subtype != b->subtype)
		return false;
	switch (a->subtype) {
	case MPTCPOPT_MP_CAPABLE:
		return mpc_equal(&a->u.mpc, &b->u.mpc);
	case MPTCPOPT_MP_JOIN:
		return join_equal(&a->u.join, &b->u.join);
	case MPTCPOPT_DSS:
		return dss_equal(&a->u.dss, &b->u.dss);
	case MPTCPOPT_ADD_ADDR:
		return add_addr_equal(&a->u.add_addr, &b->u.add_addr);
	case MPTCPOPT_RM_ADDR:
		return a->u.rm_addr.n == b->u.rm_addr.n &&
		       a->u.rm_addr.n <= sizeof(a->u.rm_addr.ids) &&
		       a->u.rm_addr.reserved == b->u.rm_addr.reserved &&
		       !memcmp(a->u.rm_addr.ids, b->u.rm_addr.ids, a->u.rm_addr.n);
	case MPTCPOPT_MP_PRIO:
		return a->u.prio.backup == b->u.prio.backup &&
		       a->u.prio.prio == b->u.prio.prio &&
		       a->u.prio.has_addr_id == b->u.prio.has_addr_id &&
		       a->u.prio.addr_id == b->u.prio.addr_id;
	case MPTCPOPT_MP_FAIL:
		return a->u.fail.dsn == b->u.fail.dsn &&
		       a->u.fail.reserved == b->u.fail.reserved;
	case MPTCPOPT_MP_FASTCLOSE:
		return a->u.fastclose.key == b->u.fastclose.key &&
		       a->u.fastclose.reserved == b->u.fastclose.reserved;
	case MPTCPOPT_MP_TCPRST:
		return a->u.tcprst.flags == b->u.tcprst.flags &&
		       a->u.tcprst.transient == b->u.tcprst.transient &&
		       a->u.tcprst.reason == b->u.tcprst.reason;
	case MPTCPOPT_MP_EXPERIMENTAL:
		return a->u.exp.nibble == b->u.exp.nibble && a->u.exp.len == b->u.exp.len &&
		       a->u.exp.len <= sizeof(a->u.exp.data) &&
		       !memcmp(a->u.exp.data, b->u.exp.data, a->u.exp.len);
	default:
		return false;
	}
}

/* ---- names ---- */

const char *mptcp_subtype_name(uint8_t subtype)
{
	switch (subtype) {
	case MPTCPOPT_MP_CAPABLE: return "MP_CAPABLE";
	case MPTCPOPT_MP_JOIN: return "MP_JOIN";
	case MPTCPOPT_DSS: return "DSS";
	case MPTCPOPT_ADD_ADDR: return "ADD_ADDR";
	case MPTCPOPT_RM_ADDR: return "REMOVE_ADDR";
	case MPTCPOPT_MP_PRIO: return "MP_PRIO";
	case MPTCPOPT_MP_FAIL: return "MP_FAIL";
	case MPTCPOPT_MP_FASTCLOSE: return "MP_FASTCLOSE";
	case MPTCPOPT_MP_TCPRST: return "MP_TCPRST";
	case MPTCPOPT_MP_EXPERIMENTAL: return "MP_EXPERIMENTAL";
	default: return "unknown";
	}
}

const char *mptcp_dialect_name(enum mptcp_dialect d)
{
	switch (d) {
	case MPTCP_DIALECT_RFC8684: return "rfc8684";
	case MPTCP_DIALECT_V0: return "v0";
	case MPTCP_DIALECT_DRAFT: return "draft";
	default: return "unknown";
	}
}

const char *mptcp_phase_name(enum mptcp_phase p)
{
	switch (p) {
	case MPTCP_PHASE_NONE: return "none";
	case MPTCP_PHASE_SYN: return "SYN";
	case MPTCP_PHASE_SYNACK: return "SYN/ACK";
	case MPTCP_PHASE_ACK: return "ACK";
	case MPTCP_PHASE_ACK_DATA: return "ACK+data";
	default: return "unknown";
	}
}

const char *mptcp_rst_reason_name(uint8_t reason)
{
	switch (reason) {
	case MPTCP_TCPRST_EUNSPEC: return "unspecified";
	case MPTCP_TCPRST_EMPTCP: return "MPTCP-specific error";
	case MPTCP_TCPRST_ERESOURCE: return "lack of resources";
	case MPTCP_TCPRST_EPROHIBIT: return "administratively prohibited";
	case MPTCP_TCPRST_EWQ2BIG: return "too much outstanding data";
	case MPTCP_TCPRST_EBADPERF: return "unacceptable performance";
	case MPTCP_TCPRST_EMIDDLEBOX: return "middlebox interference";
	default: return "unknown";
	}
}

const char *mptcp_err_name(int err)
{
	switch (err) {
	case MPTCP_OK: return "ok";
	case MPTCP_E_TRUNCATED: return "truncated";
	case MPTCP_E_LENGTH: return "bad length";
	case MPTCP_E_FLAGS: return "bad flags";
	case MPTCP_E_VERSION: return "bad version";
	case MPTCP_E_SUBTYPE: return "unassigned subtype";
	case MPTCP_E_KIND: return "not MPTCP";
	case MPTCP_E_SPACE: return "no space";
	case MPTCP_E_INVALID: return "invalid fields";
	default: return "unknown";
	}
}

/* ---- TCP option walk ---- */

int tcp_options_walk(const uint8_t *opts, size_t optlen, tcp_opt_cb cb,
		     void *arg, const char **why)
{
	const char *unused_why;
	size_t off = 0;
	int ret;

	if (!why)
		why = &unused_why;
	*why = NULL;
	while (off < optlen) {
		uint8_t kind = opts[off];
		uint8_t len;

		if (kind == TCPOPT_EOL_ || kind == TCPOPT_NOP_) {
			ret = cb ? cb(kind, opts + off, 1, arg) : 0;
			if (ret)
				return ret;
			if (kind == TCPOPT_EOL_)
				return 0;
			off++;
			continue;
		}
		if (optlen - off < 2)
			REJECT(MPTCP_E_TRUNCATED,
			       "TCP option truncated before its length byte");
		len = opts[off + 1];
		if (len < 2)
			REJECT(MPTCP_E_LENGTH,
			       "TCP option length below 2 (would loop or overlap)");
		if (len > optlen - off)
			REJECT(MPTCP_E_TRUNCATED,
			       "TCP option runs past the end of the option area");
		ret = cb ? cb(kind, opts + off, len, arg) : 0;
		if (ret)
			return ret;
		off += len;
	}
	return 0;
}
