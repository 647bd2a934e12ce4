/* mem.c -- allocation helpers; out of memory at load time is fatal. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

static void oom(void)
{
	fputs("gslbd: fatal: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p) {
		oom();
	}
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p) {
		oom();
	}
	return p;
}

void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p) {
		oom();
	}
	return p;
}

char *xstrdup(const char *s)
{
	return xmemdup(s, strlen(s) + 1);
}

void *xmemdup(const void *p, size_t size)
{
	void *q = xmalloc(size);
	memcpy(q, p, size);
	return q;
}

char **xstrvdup(char *const *v)
{
	size_t n = 0;
	char **d;

	while (v[n]) {
		n++;
	}
	d = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		d[i] = xstrdup(v[i]);
	}
	return d;
}
