/* SPDX-License-Identifier: MIT */
/*
 * fuzz_containers: the container runtime file parsers (record/ctrjson.c)
 * on arbitrary bytes; the first byte picks Docker's config.v2.json, an OCI
 * config.json or containers.json. Whatever they find is printable ASCII
 * of at most CTR_STR_MAX - 1 bytes, and the return value says whether
 * anything was found. (record/ is not in the library: compiled in.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record/ctrjson.c"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctr_info info;
	int rc;

	memset(&info, 0, sizeof(info));
	if (!size)
		return 0;
	/* a copy of exactly the input's size: ASan sees any read past it */
	char *json = malloc(size - 1 ? size - 1 : 1);
	memcpy(json, data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		rc = ctr_parse_docker(json, size - 1, &info);
		break;
	case 1:
		rc = ctr_parse_oci(json, size - 1, &info);
		break;
	default:
		rc = ctr_parse_storage(json, size - 1, ID, &info);
		break;
	}
	free(json);
	const char *s[4] = {info.name, info.image, info.pod, info.k8s_namespace};
	int any = 0;
	for (int i = 0; i < 4; i++) {
		size_t n = strnlen(s[i], CTR_STR_MAX);
		if (n >= CTR_STR_MAX)
			abort();
		for (size_t k = 0; k < n; k++)
			if (s[i][k] < 0x20 || s[i][k] > 0x7e)
				abort();
		any |= n > 0;
	}
	if (rc != any)
		abort();
	return 0;
}
