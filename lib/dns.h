/* SPDX-License-Identifier: MIT */
/*
 * dns.h: the answers of a DNS response message, read as hostile input. The
 * recorder hands it what the kernel copied of port-53 payloads; every
 * length is checked against what is left, every loop is bounded.
 */
#ifndef CONNTRAIL_LIB_DNS_H
#define CONNTRAIL_LIB_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "format/ctrace.h"

struct ct_dns_answer {
	char name[CT_NAME_MAX + 1]; /* the question's name: lower case, no trailing dot */
	uint32_t ttl;		    /* the smallest TTL along the CNAME chain */
	uint32_t naddrs;
	struct ct_name_addr addrs[CT_NAME_ADDRS_MAX];
};

/*
 * The A and AAAA answers of msg[0..len) (a message without the TCP length
 * prefix) for its one question's name, through CNAME chains of up to 16
 * links. 1 with *out filled when the message is a response with at least
 * one address for its question; 0 when it is valid but not that (a query,
 * an error, no address); -1 when it is malformed (a length past the end,
 * a compression-pointer loop, a name too long, a label byte that is not
 * printable ASCII). cut: msg is only the first len bytes of a longer
 * message (the capture's bound), so an answer record that runs past the end
 * ends the answers instead of making the message malformed.
 */
int ct_dns_parse(const uint8_t *msg, size_t len, int cut, struct ct_dns_answer *out);

#endif
