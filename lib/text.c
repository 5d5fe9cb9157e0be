/* SPDX-License-Identifier: MIT */
/* text.c: bytes from a trace made safe for JSON and for a terminal. */
#include <stdint.h>
#include <string.h>

#include "lib/text.h"

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid
 * (overlong forms, surrogates and code points above U+10FFFF included). */
size_t ct_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0;
	return len;
}

size_t ct_json_escape(char *d, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	char *o = d;
	size_t i = 0;

	/* Runs of eight bytes that need no escape are copied whole. */
	for (; i + 8 <= n; i += 8, o += 8) {
		uint64_t x;
		memcpy(&x, s + i, 8);
		if (ct_any_below(x, 0x20) | ct_any_above(x, 0x7e) | ct_any_equal(x, '"') |
		    ct_any_equal(x, '\\'))
			break;
		memcpy(o, &x, 8);
	}
	while (i < n) {
		unsigned char c = s[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			*o++ = (char)c;
			i++;
			continue;
		}
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
			i++;
			continue;
		}
		size_t len = c >= 0x80 ? ct_utf8_seq(s + i, n - i) : 0;
		if (len) {
			memcpy(o, s + i, len);
			o += len;
			i += len;
			continue;
		}
		memcpy(o, "\\u00", 4);
		o[4] = hex[c >> 4];
		o[5] = hex[c & 15];
		o += 6;
		i++;
	}
	return (size_t)(o - d);
}
