/* mem.h -- allocation helpers that abort on exhaustion (load time only). */
#ifndef GSLBD_MEM_H
#define GSLBD_MEM_H

#include <stdlib.h>
#include <string.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
void *xmemdup(const void *p, size_t size);

/* Copy of a NULL-terminated string vector (argv), every string copied. */
char **xstrvdup(char *const *v);

#endif
