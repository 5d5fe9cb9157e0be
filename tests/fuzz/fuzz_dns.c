/* SPDX-License-Identifier: MIT */
/*
 * fuzz_dns: the DNS answer parser on arbitrary bytes (the first byte's
 * low bit says whether the message is cut). Whatever it returns,
 * a name it gives is a NUL-terminated string of at most CT_NAME_MAX bytes
 * and it gives at most CT_NAME_ADDRS_MAX addresses of a known family.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_dns_answer a;
	int rc =
	    size ? ct_dns_parse(data + 1, size - 1, data[0] & 1, &a) : ct_dns_parse(data, 0, 0, &a);
	if (rc == 1) {
		if (strlen(a.name) > CT_NAME_MAX || !a.naddrs || a.naddrs > CT_NAME_ADDRS_MAX)
			abort();
		for (uint32_t i = 0; i < a.naddrs; i++)
			if (a.addrs[i].family != 2 && a.addrs[i].family != 10)
				abort();
	} else if (rc != 0 && rc != -1) {
		abort();
	}
	return 0;
}
