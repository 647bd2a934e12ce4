/* sbuf.c -- a growing text buffer for replies and reports (control path only). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/mem.h"
#include "util/sbuf.h"

void sb_init(struct sbuf *b)
{
	b->cap = 4096;
	b->len = 0;
	b->p = xmalloc(b->cap);
	b->p[0] = 0;
}

static void reserve(struct sbuf *b, size_t more)
{
	if (b->len + more + 1 > b->cap) {
		b->cap = (b->len + more + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->p[b->len] = 0;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		reserve(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void sb_append(struct sbuf *b, const char *s, size_t n)
{
	reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

char *sb_take(struct sbuf *b, size_t *len)
{
	char *p = b->p;

	if (len) {
		*len = b->len;
	}
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void sb_clear(struct sbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

const char *sb_printable(char *buf, size_t size, const char *in)
{
	size_t o = 0;

	for (; *in && o + 1 < size; in++) {
		buf[o++] = (unsigned char)*in < 0x20 || *in == 0x7F ? '?' : *in;
	}
	buf[o] = 0;
	return buf;
}

const char *sb_iso_time(char *buf, size_t size, double t)
{
	time_t secs = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&secs, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		return "never";
	}
	return buf;
}
