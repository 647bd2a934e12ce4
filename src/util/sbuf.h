/* sbuf.h -- a growing text buffer for replies and reports (control path only). */
#ifndef GSLBD_SBUF_H
#define GSLBD_SBUF_H

#include <stddef.h>

struct sbuf {
	char *p;    /* always NUL-terminated; owned */
	size_t len;
	size_t cap;
};

void sb_init(struct sbuf *b);

/* Append formatted text (grows as needed; aborts only when memory is out). */
void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append @n bytes of @s. */
void sb_append(struct sbuf *b, const char *s, size_t n);

/* Hand the text to the caller (who frees it); @b is empty afterwards. */
char *sb_take(struct sbuf *b, size_t *len);

void sb_clear(struct sbuf *b);

/* Copy @in to @buf (@size bytes), control characters made visible as '?':
 * text that came from a backend stays on one line. Returns @buf. */
const char *sb_printable(char *buf, size_t size, const char *in);

/* @t (wall-clock seconds) as "2026-12-06T20:05:25Z", or "never" for 0. */
const char *sb_iso_time(char *buf, size_t size, double t);

#endif
