/* arena.h -- bump allocation for load-time data that lives and dies with one
 * snapshot (or one zone): no per-object malloc header, one free for all. */
#ifndef GSLBD_ARENA_H
#define GSLBD_ARENA_H

#include <stddef.h>

struct arena;

struct arena *arena_new(void);

/* @size bytes, 8-aligned, zeroed. Aborts on exhaustion (load time only). */
void *arena_alloc(struct arena *a, size_t size);
void *arena_memdup(struct arena *a, const void *p, size_t size);

/* Bytes handed out so far (for memory reports). */
size_t arena_used(const struct arena *a);

/* Free every block. NULL is a no-op. */
void arena_free(struct arena *a);

#endif
