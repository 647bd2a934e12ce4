/* arena.c -- bump allocation in 1 MiB blocks. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "mem.h"

#define BLOCK_SIZE (1u << 20)

struct block {
	struct block *next;
	size_t used, size;
	uint64_t data[]; /* 8-aligned */
};

struct arena {
	struct block *head;
	size_t total;
};

struct arena *arena_new(void)
{
	return xcalloc(1, sizeof(struct arena));
}

void *arena_alloc(struct arena *a, size_t size)
{
	struct block *b = a->head;
	void *p;

	size = (size + 7) & ~(size_t)7;
	if (!b || b->used + size > b->size) {
		/* Large objects get a block of their own, placed behind the
		 * current one so that its free space is not wasted. */
		size_t bs = size > BLOCK_SIZE / 4 ? size : BLOCK_SIZE;
		struct block *nb = xmalloc(sizeof(*nb) + bs);
		nb->used = 0;
		nb->size = bs;
		if (b && bs != BLOCK_SIZE) {
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			a->head = nb;
		}
		b = nb;
	}
	p = (char *)b->data + b->used;
	b->used += size;
	a->total += size;
	memset(p, 0, size);
	return p;
}

void *arena_memdup(struct arena *a, const void *p, size_t size)
{
	void *q = arena_alloc(a, size);
	memcpy(q, p, size);
	return q;
}

size_t arena_used(const struct arena *a)
{
	return a->total;
}

void arena_free(struct arena *a)
{
	if (!a) {
		return;
	}
	for (struct block *b = a->head, *n; b; b = n) {
		n = b->next;
		free(b);
	}
	free(a);
}
