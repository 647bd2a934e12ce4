/* utf8.h -- UTF-8 validation for text that leaves the process (the status
 * JSON, the status page): what a backend or a config wrote may be anything. */
#ifndef GSLBD_UTF8_H
#define GSLBD_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length of the valid multi-byte UTF-8 sequence at @s (at most @n bytes), or
 * 0: a lead byte that starts none, a short or broken sequence, an overlong
 * form, a surrogate or a code point beyond U+10FFFF. */
static inline size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0xC2 || s[0] > 0xF4) {
		return 0;
	}
	len = s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
	if (len > n) {
		return 0;
	}
	cp = s[0] & (0x7F >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			return 0;
		}
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF)) {
		return 0;
	}
	return len;
}

#endif
