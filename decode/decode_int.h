/* SPDX-License-Identifier: MIT */
/*
 * mplb decode internals: the packet context the dissector fills in and the
 * printers (text or JSON Lines) that turn one MPTCP suboption into one line.
 */
#ifndef MPLB_DECODE_INT_H
#define MPLB_DECODE_INT_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/time.h>

#include "mptcp_opt.h"

/* Counters for the summary line on stderr. */
struct decode_stats {
	unsigned long packets;
	unsigned long tcp_packets;
	unsigned long mptcp_options;
	unsigned long malformed;      /* MPTCP options the codec rejected */
	unsigned long truncated;      /* packets cut by the capture's snaplen */
	unsigned long bad_headers;    /* link/IP/TCP headers that are invalid */
	unsigned long fragments;      /* non-first fragments, skipped */
};

/* Where a packet-level problem was found (the JSON "layer" key). */
enum decode_layer {
	LAYER_LINK,
	LAYER_IP,
	LAYER_TCP,
	LAYER_MPTCP,
};

/* What is known about the packet being decoded, for the line prefix. */
struct decode_pkt {
	unsigned long frame;          /* 1-based, as tshark numbers frames */
	struct timeval ts;
	int ip_version;               /* 0 until the IP header was read */
	char src[INET6_ADDRSTRLEN];
	char dst[INET6_ADDRSTRLEN];
	bool have_tcp;                /* ports and flags below are valid */
	uint16_t sport, dport;
	uint8_t tcp_flags;
};

struct decode_out {
	FILE *f;
	bool json;
	bool write_failed;            /* stdout went away (closed pipe, full disk) */
};

/* One accepted MPTCP suboption; index counts MPTCP options in the packet from 1. */
void decode_print_option(struct decode_out *out, const struct decode_pkt *pkt,
			 unsigned index, const struct mptcp_opt *o);
/*
 * One MPTCP option the codec rejected (or the capture cut). subtype is -1
 * when the option is too short to carry one, len -1 when it has no length
 * octet.
 */
void decode_print_option_error(struct decode_out *out,
			       const struct decode_pkt *pkt, unsigned index,
			       int subtype, int len, const char *reason);
/* A problem with the packet itself (headers, option list, capture cut). */
void decode_print_packet_problem(struct decode_out *out,
				 const struct decode_pkt *pkt,
				 enum decode_layer layer, const char *reason);

/* tcpdump's flag letters: "S.", "P.", "F.", "R", "none" for no flags. */
void decode_tcp_flags_str(uint8_t flags, char *buf, size_t len);

#endif /* MPLB_DECODE_INT_H */
