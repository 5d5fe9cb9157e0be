/* SPDX-License-Identifier: MIT */
/* text.c: bytes from a trace made safe for JSON and for a terminal. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
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

/* Code points a terminal must not see raw: C1 controls (U+0080..U+009F,
 * which many terminals obey as ESC sequences, 0x9b being CSI), the bidi
 * controls that reorder what is shown (Trojan Source), and the line and
 * paragraph separators that some terminals break lines at. */
static int term_unsafe_cp(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
	       cp == 0x2029;
}

static unsigned utf8_cp(const unsigned char *s, size_t len)
{
	static const unsigned char lead_mask[5] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	unsigned cp = s[0] & lead_mask[len];
	for (size_t i = 1; i < len; i++)
		cp = (cp << 6) | (s[i] & 0x3f);
	return cp;
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
		if (len && term_unsafe_cp(utf8_cp(s + i, len))) {
			/* valid JSON either way; escaped, a terminal showing
			 * the line is safe too */
			unsigned cp = utf8_cp(s + i, len);
			memcpy(o, "\\u", 2);
			for (int k = 0; k < 4; k++)
				o[2 + k] = hex[(cp >> (12 - 4 * k)) & 15];
			o += 6;
			i += len;
			continue;
		}
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

size_t ct_term_escape(char *d, const char *str, size_t n, unsigned flags)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t o = 0, i = 0;

	while (i < n) {
		unsigned char c = s[i];
		if (c >= 0x20 && c < 0x7f && !(c == '\\' && (flags & CT_ESC_BACKSLASH))) {
			d[o++] = (char)c;
			i++;
			continue;
		}
		size_t len = c >= 0x80 ? ct_utf8_seq(s + i, n - i) : 0;
		if (len) {
			unsigned cp = utf8_cp(s + i, len);
			if (term_unsafe_cp(cp)) {
				d[o++] = '\\';
				d[o++] = 'u';
				for (int sh = 12; sh >= 0; sh -= 4)
					d[o++] = hex[(cp >> sh) & 15];
			} else {
				memcpy(d + o, s + i, len);
				o += len;
			}
			i += len;
			continue;
		}
		d[o++] = '\\';
		d[o++] = 'x';
		d[o++] = hex[c >> 4];
		d[o++] = hex[c & 15];
		i++;
	}
	return o;
}

size_t ct_term_str(char *buf, size_t size, const char *s, size_t n, unsigned flags)
{
	if (!size)
		return 0;
	/* Escaped piece by piece so the text is cut between characters,
	 * never inside an escape or a UTF-8 sequence. */
	size_t o = 0, i = 0;
	while (i < n) {
		size_t len = (unsigned char)s[i] >= 0x80
				 ? ct_utf8_seq((const unsigned char *)s + i, n - i)
				 : 1;
		if (!len)
			len = 1;
		char tmp[16];
		size_t t = ct_term_escape(tmp, s + i, len, flags);
		if (o + t >= size)
			break;
		memcpy(buf + o, tmp, t);
		o += t;
		i += len;
	}
	buf[o] = '\0';
	return o;
}

int ct_term_clean(const char *s, size_t n, unsigned flags)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f) {
			if (c == '\\' && (flags & CT_ESC_BACKSLASH))
				return 0;
			i++;
			continue;
		}
		size_t len = c >= 0x80 ? ct_utf8_seq((const unsigned char *)s + i, n - i) : 0;
		if (!len || term_unsafe_cp(utf8_cp((const unsigned char *)s + i, len)))
			return 0;
		i += len;
	}
	return 1;
}

static int shell_plain(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("@%+=:,./_-", *s))
			return 0;
	return 1;
}

char *ct_shell_join(int argc, char *const *argv)
{
	size_t n = 1;
	for (int i = 0; i < argc; i++)
		n += 4 * strlen(argv[i]) + 3; /* every ' becomes '\'' (4 bytes) */
	char *out = malloc(n);
	if (!out)
		return NULL;
	char *p = out;
	for (int i = 0; i < argc; i++) {
		if (i)
			*p++ = ' ';
		if (shell_plain(argv[i])) {
			p = stpcpy(p, argv[i]);
			continue;
		}
		*p++ = '\'';
		for (const char *a = argv[i]; *a; a++) {
			if (*a == '\'')
				p = stpcpy(p, "'\\''");
			else
				*p++ = *a;
		}
		*p++ = '\'';
	}
	*p = 0;
	return out;
}
