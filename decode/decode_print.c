/* SPDX-License-Identifier: MIT */
/*
 * Printers for mplb decode: one line per MPTCP suboption, either readable
 * text (tcpdump-like) or one JSON object per line built with jansson.
 *
 * JSON conventions, chosen so nothing is lost on the way to a consumer:
 * keys, HMACs, tokens and nonces are "0x..." hex strings (64-bit values
 * stay exact); 64-bit sequence numbers (data_ack, dsn) are decimal strings
 * for the same reason; everything 32 bits or narrower is a JSON integer.
 * A field appears only when the option carries it.
 */
#include "decode/decode_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "mplb/mptcp_wire.h"

void decode_tcp_flags_str(uint8_t flags, char *buf, size_t len)
{
	/* tcpdump's order and letters (print-tcp.c tcp_flag_values). */
	static const struct {
		uint8_t bit;
		char letter;
	} letters[] = {
		{0x01, 'F'}, {0x02, 'S'}, {0x04, 'R'}, {0x08, 'P'},
		{0x10, '.'}, {0x20, 'U'}, {0x40, 'E'}, {0x80, 'W'},
	};
	size_t n = 0;

	if (len == 0)
		return;
	if (!flags) {
		snprintf(buf, len, "none");
		return;
	}
	for (size_t i = 0; i < sizeof(letters) / sizeof(letters[0]); i++)
		if ((flags & letters[i].bit) && n + 1 < len)
			buf[n++] = letters[i].letter;
	buf[n] = '\0';
}

static const char *layer_name(enum decode_layer layer)
{
	switch (layer) {
	case LAYER_LINK: return "link";
	case LAYER_IP: return "ip";
	case LAYER_TCP: return "tcp";
	case LAYER_MPTCP: return "mptcp";
	}
	return "?";
}

static void addr_text(const struct mptcp_addr *a, char *buf, size_t len)
{
	int af = a->family == 6 ? AF_INET6 : AF_INET;

	if (!inet_ntop(af, a->addr, buf, len))
		snprintf(buf, len, "?");
}

static void hex_bytes(const uint8_t *p, size_t n, char *buf, size_t len)
{
	size_t off = (size_t)snprintf(buf, len, "0x");

	for (size_t i = 0; i < n && off + 3 <= len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%02x", p[i]);
}

/* ---- text ---- */

static void text_endpoint(char *buf, size_t len, int ip_version,
			  const char *addr, uint16_t port)
{
	if (ip_version == 6)
		snprintf(buf, len, "[%s]:%u", addr, port);
	else
		snprintf(buf, len, "%s:%u", addr, port);
}

/* "frame 3 10.0.1.1:40000 > 10.200.0.1:80 [S.]" (as much as is known) */
static void text_prefix(struct decode_out *out, const struct decode_pkt *pkt)
{
	char s[INET6_ADDRSTRLEN + 8], d[INET6_ADDRSTRLEN + 8], fl[12];

	fprintf(out->f, "frame %lu", pkt->frame);
	if (pkt->have_tcp) {
		text_endpoint(s, sizeof(s), pkt->ip_version, pkt->src, pkt->sport);
		text_endpoint(d, sizeof(d), pkt->ip_version, pkt->dst, pkt->dport);
		decode_tcp_flags_str(pkt->tcp_flags, fl, sizeof(fl));
		fprintf(out->f, " %s > %s [%s]", s, d, fl);
	} else if (pkt->ip_version) {
		fprintf(out->f, " %s > %s", pkt->src, pkt->dst);
	}
}

static void text_mpc(FILE *f, const struct mptcp_opt_mpc *m)
{
	fprintf(f, " flags A=%d B=%d C=%d H=%d",
		!!(m->flags & MPTCP_CAP_CHECKSUM_REQD),
		!!(m->flags & MPTCP_CAP_EXTENSIBILITY),
		!!(m->flags & MPTCP_CAP_DENY_JOIN_ID0),
		!!(m->flags & MPTCP_CAP_HMAC_SHA256));
	/* D..G are unassigned; show them only when a sender set one. */
	if (m->flags & (MPTCP_CAP_FLAG_D | MPTCP_CAP_FLAG_E | MPTCP_CAP_FLAG_F |
			MPTCP_CAP_FLAG_G))
		fprintf(f, " D=%d E=%d F=%d G=%d", !!(m->flags & MPTCP_CAP_FLAG_D),
			!!(m->flags & MPTCP_CAP_FLAG_E),
			!!(m->flags & MPTCP_CAP_FLAG_F),
			!!(m->flags & MPTCP_CAP_FLAG_G));
	if (m->has_snd_key)
		fprintf(f, " sender_key 0x%016" PRIx64, m->snd_key);
	if (m->has_rcv_key)
		fprintf(f, " receiver_key 0x%016" PRIx64, m->rcv_key);
	if (m->has_data_len)
		fprintf(f, " data_len %u", m->data_len);
	if (m->has_csum)
		fprintf(f, " checksum 0x%04x", m->csum);
}

static void text_join(FILE *f, const struct mptcp_opt *o)
{
	const struct mptcp_opt_join *j = &o->u.join;
	char hmac[2 + 40 + 1];

	/* In the third ACK these bits are reserved, not B/priority. */
	if (o->phase != MPTCP_PHASE_ACK) {
		fprintf(f, " backup %d", j->backup);
		if (j->prio)
			fprintf(f, " prio %u", j->prio);
	}
	switch (o->phase) {
	case MPTCP_PHASE_SYN:
		fprintf(f, " addr_id %u token 0x%08x nonce 0x%08x", j->addr_id,
			j->token, j->nonce);
		break;
	case MPTCP_PHASE_SYNACK:
		fprintf(f, " addr_id %u hmac 0x%016" PRIx64 " nonce 0x%08x",
			j->addr_id, j->hmac64, j->nonce);
		break;
	default:
		hex_bytes(j->hmac160, sizeof(j->hmac160), hmac, sizeof(hmac));
		fprintf(f, " hmac %s", hmac);
		break;
	}
}

static void text_dss(FILE *f, const struct mptcp_opt_dss *d)
{
	fprintf(f, " flags 0x%02x", d->flags);
	if (d->data_fin)
		fprintf(f, " DATA_FIN");
	if (d->has_ack)
		fprintf(f, " ack %" PRIu64 "%s", d->data_ack,
			d->ack64 ? "" : " (32-bit)");
	if (d->has_map)
		fprintf(f, " dsn %" PRIu64 "%s ssn %u data_len %u", d->dsn,
			d->dsn64 ? "" : " (32-bit)", d->ssn, d->data_len);
	if (d->has_csum)
		fprintf(f, " checksum 0x%04x", d->csum);
}

static void text_add_addr(FILE *f, const struct mptcp_opt_add_addr *a)
{
	char addr[INET6_ADDRSTRLEN];

	addr_text(&a->addr, addr, sizeof(addr));
	fprintf(f, "%s id %u %s", a->echo ? " echo" : "", a->addr_id, addr);
	if (a->has_attr)
		fprintf(f, " community %u prio %u backup %d", a->community,
			a->prio, a->backup);
	if (a->has_port)
		fprintf(f, " port %u", a->port);
	if (a->has_hmac)
		fprintf(f, " hmac 0x%016" PRIx64, a->hmac);
}

static void text_option(FILE *f, const struct mptcp_opt *o)
{
	const char *phase = mptcp_phase_name(o->phase);

	fprintf(f, " %s", mptcp_subtype_name(o->subtype));
	if (o->subtype == MPTCPOPT_MP_CAPABLE)
		fprintf(f, " v%u", o->u.mpc.version);
	if (o->dialect != MPTCP_DIALECT_RFC8684)
		fprintf(f, " (%s)", mptcp_dialect_name(o->dialect));
	if (o->phase != MPTCP_PHASE_NONE && phase)
		fprintf(f, " %s", phase);
	fprintf(f, " len %u", o->len);

	switch (o->subtype) {
	case MPTCPOPT_MP_CAPABLE:
		text_mpc(f, &o->u.mpc);
		break;
	case MPTCPOPT_MP_JOIN:
		text_join(f, o);
		break;
	case MPTCPOPT_DSS:
		text_dss(f, &o->u.dss);
		break;
	case MPTCPOPT_ADD_ADDR:
		text_add_addr(f, &o->u.add_addr);
		break;
	case MPTCPOPT_RM_ADDR:
		fprintf(f, " ids");
		for (unsigned i = 0; i < o->u.rm_addr.n && i < sizeof(o->u.rm_addr.ids); i++)
			fprintf(f, "%c%u", i ? ',' : ' ', o->u.rm_addr.ids[i]);
		break;
	case MPTCPOPT_MP_PRIO:
		fprintf(f, " backup %d", o->u.prio.backup);
		if (o->u.prio.prio)
			fprintf(f, " prio %u", o->u.prio.prio);
		if (o->u.prio.has_addr_id)
			fprintf(f, " addr_id %u", o->u.prio.addr_id);
		break;
	case MPTCPOPT_MP_FAIL:
		fprintf(f, " dsn %" PRIu64, o->u.fail.dsn);
		break;
	case MPTCPOPT_MP_FASTCLOSE:
		fprintf(f, " receiver_key 0x%016" PRIx64, o->u.fastclose.key);
		break;
	case MPTCPOPT_MP_TCPRST:
		fprintf(f, " flags 0x%x transient %d reason %u (%s)",
			o->u.tcprst.flags, o->u.tcprst.transient,
			o->u.tcprst.reason,
			mptcp_rst_reason_name(o->u.tcprst.reason));
		break;
	case MPTCPOPT_MP_EXPERIMENTAL: {
		char data[2 + 2 * sizeof(o->u.exp.data) + 1];
		size_t n = o->u.exp.len < sizeof(o->u.exp.data) ? o->u.exp.len
							      : sizeof(o->u.exp.data);
		hex_bytes(o->u.exp.data, n, data, sizeof(data));
		fprintf(f, " nibble 0x%x data %s", o->u.exp.nibble, data);
		break;
	}
	default:
		break;
	}
}

/* ---- JSON ---- */

static void jset(json_t *obj, const char *key, json_t *value)
{
	/* json_object_set_new frees value and fails only when out of memory. */
	json_object_set_new(obj, key, value);
}

static void jset_hex64(json_t *obj, const char *key, uint64_t v, int digits)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%0*" PRIx64, digits, v);
	jset(obj, key, json_string(buf));
}

static void jset_u64dec(json_t *obj, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	jset(obj, key, json_string(buf));
}

static json_t *json_packet(const struct decode_pkt *pkt)
{
	json_t *o = json_object();
	char fl[12];

	if (!o)
		return NULL;
	jset(o, "frame", json_integer((json_int_t)pkt->frame));
	jset(o, "time", json_real((double)pkt->ts.tv_sec +
				  (double)pkt->ts.tv_usec / 1e6));
	if (pkt->ip_version) {
		jset(o, "ip_version", json_integer(pkt->ip_version));
		jset(o, "src", json_string(pkt->src));
		jset(o, "dst", json_string(pkt->dst));
	}
	if (pkt->have_tcp) {
		jset(o, "sport", json_integer(pkt->sport));
		jset(o, "dport", json_integer(pkt->dport));
		decode_tcp_flags_str(pkt->tcp_flags, fl, sizeof(fl));
		jset(o, "tcp_flags", json_string(fl));
		jset(o, "tcp_flags_raw", json_integer(pkt->tcp_flags));
	}
	return o;
}

static void json_mpc(json_t *j, const struct mptcp_opt_mpc *m)
{
	jset(j, "version", json_integer(m->version));
	jset(j, "flags", json_integer(m->flags));
	jset(j, "checksum_required", json_boolean(m->flags & MPTCP_CAP_CHECKSUM_REQD));
	jset(j, "extensibility", json_boolean(m->flags & MPTCP_CAP_EXTENSIBILITY));
	jset(j, "no_more_subflows", json_boolean(m->flags & MPTCP_CAP_DENY_JOIN_ID0));
	jset(j, "flag_d", json_boolean(m->flags & MPTCP_CAP_FLAG_D));
	jset(j, "flag_e", json_boolean(m->flags & MPTCP_CAP_FLAG_E));
	jset(j, "flag_f", json_boolean(m->flags & MPTCP_CAP_FLAG_F));
	jset(j, "flag_g", json_boolean(m->flags & MPTCP_CAP_FLAG_G));
	jset(j, "hmac_sha256", json_boolean(m->flags & MPTCP_CAP_HMAC_SHA256));
	if (m->has_snd_key)
		jset_hex64(j, "sender_key", m->snd_key, 16);
	if (m->has_rcv_key)
		jset_hex64(j, "receiver_key", m->rcv_key, 16);
	if (m->has_data_len)
		jset(j, "data_len", json_integer(m->data_len));
	if (m->has_csum)
		jset(j, "checksum", json_integer(m->csum));
}

static void json_join(json_t *j, const struct mptcp_opt *o)
{
	const struct mptcp_opt_join *jn = &o->u.join;
	char hmac[2 + 40 + 1];

	if (o->phase != MPTCP_PHASE_ACK) {
		/* The flags nibble as sent: B in bit 0, the DRAFT priority above it. */
		jset(j, "flags", json_integer((jn->prio << MPTCP_DRAFT_PRIO_SHIFT) |
					      (jn->backup ? MPTCP_JOIN_BACKUP : 0)));
		jset(j, "backup", json_boolean(jn->backup));
		if (o->dialect == MPTCP_DIALECT_DRAFT || jn->prio)
			jset(j, "prio", json_integer(jn->prio));
	}
	switch (o->phase) {
	case MPTCP_PHASE_SYN:
		jset(j, "addr_id", json_integer(jn->addr_id));
		jset_hex64(j, "token", jn->token, 8);
		jset_hex64(j, "nonce", jn->nonce, 8);
		break;
	case MPTCP_PHASE_SYNACK:
		jset(j, "addr_id", json_integer(jn->addr_id));
		jset_hex64(j, "hmac", jn->hmac64, 16);
		jset_hex64(j, "nonce", jn->nonce, 8);
		break;
	default:
		hex_bytes(jn->hmac160, sizeof(jn->hmac160), hmac, sizeof(hmac));
		jset(j, "hmac", json_string(hmac));
		jset(j, "reserved", json_integer(jn->reserved));
		break;
	}
}

static void json_dss(json_t *j, const struct mptcp_opt_dss *d)
{
	jset(j, "flags", json_integer(d->flags));
	jset(j, "data_fin", json_boolean(d->data_fin));
	jset(j, "has_data_ack", json_boolean(d->has_ack));
	jset(j, "data_ack64", json_boolean(d->ack64));
	jset(j, "has_mapping", json_boolean(d->has_map));
	jset(j, "dsn64", json_boolean(d->dsn64));
	if (d->has_ack)
		jset_u64dec(j, "data_ack", d->data_ack);
	if (d->has_map) {
		jset_u64dec(j, "dsn", d->dsn);
		jset(j, "ssn", json_integer(d->ssn));
		jset(j, "data_len", json_integer(d->data_len));
	}
	jset(j, "has_checksum", json_boolean(d->has_csum));
	if (d->has_csum)
		jset(j, "checksum", json_integer(d->csum));
}

static void json_add_addr(json_t *j, const struct mptcp_opt_add_addr *a)
{
	char addr[INET6_ADDRSTRLEN];

	addr_text(&a->addr, addr, sizeof(addr));
	jset(j, "echo", json_boolean(a->echo));
	jset(j, "addr_id", json_integer(a->addr_id));
	jset(j, "addr_family", json_integer(a->addr.family));
	jset(j, "addr", json_string(addr));
	if (a->has_port)
		jset(j, "port", json_integer(a->port));
	if (a->has_hmac)
		jset_hex64(j, "hmac", a->hmac, 16);
	if (a->has_attr) {
		jset(j, "community", json_integer(a->community));
		jset(j, "prio", json_integer(a->prio));
		jset(j, "backup", json_boolean(a->backup));
	}
}

/* Stable lower-case tokens for JSON consumers (the codec's names are for people). */
static const char *json_phase_name(enum mptcp_phase p)
{
	switch (p) {
	case MPTCP_PHASE_SYN: return "syn";
	case MPTCP_PHASE_SYNACK: return "synack";
	case MPTCP_PHASE_ACK: return "ack";
	case MPTCP_PHASE_ACK_DATA: return "ack_data";
	case MPTCP_PHASE_NONE: break;
	}
	return NULL;
}

static void json_option(json_t *j, const struct mptcp_opt *o)
{
	const char *phase = json_phase_name(o->phase);

	jset(j, "len", json_integer(o->len));
	jset(j, "subtype", json_integer(o->subtype));
	jset(j, "subtype_name", json_string(mptcp_subtype_name(o->subtype)));
	jset(j, "dialect", json_string(mptcp_dialect_name(o->dialect)));
	if (phase)
		jset(j, "phase", json_string(phase));

	switch (o->subtype) {
	case MPTCPOPT_MP_CAPABLE:
		json_mpc(j, &o->u.mpc);
		break;
	case MPTCPOPT_MP_JOIN:
		json_join(j, o);
		break;
	case MPTCPOPT_DSS:
		json_dss(j, &o->u.dss);
		break;
	case MPTCPOPT_ADD_ADDR:
		json_add_addr(j, &o->u.add_addr);
		break;
	case MPTCPOPT_RM_ADDR: {
		json_t *ids = json_array();
		for (unsigned i = 0; i < o->u.rm_addr.n && i < sizeof(o->u.rm_addr.ids); i++)
			json_array_append_new(ids, json_integer(o->u.rm_addr.ids[i]));
		jset(j, "ids", ids);
		break;
	}
	case MPTCPOPT_MP_PRIO:
		jset(j, "flags", json_integer((o->u.prio.prio << MPTCP_DRAFT_PRIO_SHIFT) |
					      (o->u.prio.backup ? MPTCP_PRIO_BACKUP : 0)));
		jset(j, "backup", json_boolean(o->u.prio.backup));
		if (o->dialect == MPTCP_DIALECT_DRAFT || o->u.prio.prio)
			jset(j, "prio", json_integer(o->u.prio.prio));
		if (o->u.prio.has_addr_id)
			jset(j, "addr_id", json_integer(o->u.prio.addr_id));
		break;
	case MPTCPOPT_MP_FAIL:
		jset_u64dec(j, "dsn", o->u.fail.dsn);
		jset(j, "reserved", json_integer(o->u.fail.reserved));
		break;
	case MPTCPOPT_MP_FASTCLOSE:
		jset_hex64(j, "receiver_key", o->u.fastclose.key, 16);
		jset(j, "reserved", json_integer(o->u.fastclose.reserved));
		break;
	case MPTCPOPT_MP_TCPRST:
		jset(j, "flags", json_integer(o->u.tcprst.flags));
		jset(j, "transient", json_boolean(o->u.tcprst.transient));
		jset(j, "reason", json_integer(o->u.tcprst.reason));
		jset(j, "reason_name",
		     json_string(mptcp_rst_reason_name(o->u.tcprst.reason)));
		break;
	case MPTCPOPT_MP_EXPERIMENTAL: {
		char data[2 + 2 * sizeof(o->u.exp.data) + 1];
		size_t n = o->u.exp.len < sizeof(o->u.exp.data) ? o->u.exp.len
							      : sizeof(o->u.exp.data);
		hex_bytes(o->u.exp.data, n, data, sizeof(data));
		jset(j, "nibble", json_integer(o->u.exp.nibble));
		jset(j, "data", json_string(data));
		break;
	}
	default:
		break;
	}
}

static void json_emit(struct decode_out *out, json_t *j)
{
	char *line;

	if (!j) {
		out->write_failed = true;
		return;
	}
	/*
	 * 16 significant digits print a microsecond epoch timestamp exactly
	 * (10 + 6), where the default 17 would show binary rounding noise.
	 */
	line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER |
				     JSON_REAL_PRECISION(16));
	json_decref(j);
	if (!line || fprintf(out->f, "%s\n", line) < 0)
		out->write_failed = true;
	free(line);
}

static void text_end(struct decode_out *out)
{
	if (fputc('\n', out->f) == EOF)
		out->write_failed = true;
}

void decode_print_option(struct decode_out *out, const struct decode_pkt *pkt,
			 unsigned index, const struct mptcp_opt *o)
{
	json_t *j;

	if (!out->json) {
		text_prefix(out, pkt);
		text_option(out->f, o);
		text_end(out);
		return;
	}
	j = json_packet(pkt);
	if (j) {
		jset(j, "option_index", json_integer(index));
		json_option(j, o);
	}
	json_emit(out, j);
}

void decode_print_option_error(struct decode_out *out,
			       const struct decode_pkt *pkt, unsigned index,
			       int subtype, int len, const char *reason)
{
	json_t *j;

	if (!out->json) {
		text_prefix(out, pkt);
		fprintf(out->f, " MPTCP malformed: %s", reason);
		if (subtype >= 0)
			fprintf(out->f, " (subtype %d %s", subtype,
				mptcp_subtype_name((uint8_t)subtype));
		else
			fprintf(out->f, " (no subtype");
		if (len >= 0)
			fprintf(out->f, ", len %d)", len);
		else
			fprintf(out->f, ")");
		text_end(out);
		return;
	}
	j = json_packet(pkt);
	if (j) {
		jset(j, "option_index", json_integer(index));
		jset(j, "layer", json_string(layer_name(LAYER_MPTCP)));
		jset(j, "error", json_string(reason));
		jset(j, "subtype", subtype >= 0 ? json_integer(subtype) : json_null());
		jset(j, "len", len >= 0 ? json_integer(len) : json_null());
	}
	json_emit(out, j);
}

void decode_print_packet_problem(struct decode_out *out,
				 const struct decode_pkt *pkt,
				 enum decode_layer layer, const char *reason)
{
	json_t *j;

	if (!out->json) {
		text_prefix(out, pkt);
		fprintf(out->f, " %s: %s", layer_name(layer), reason);
		text_end(out);
		return;
	}
	j = json_packet(pkt);
	if (j) {
		jset(j, "layer", json_string(layer_name(layer)));
		jset(j, "error", json_string(reason));
	}
	json_emit(out, j);
}
