/* arena.c -- bump allocation in 1 MiB blocks. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "data/arena.h"
#include "util/mem.h"

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
		/* mmap, not malloc: a freed snapshot's memory goes back to the
		 * system at once instead of staying in malloc's heap. */
		struct block *nb = mmap(NULL, sizeof(*nb) + bs, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (nb == MAP_FAILED) {
			fputs("gslbd: fatal: out of memory\n", stderr);
			abort();
		}
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
	p = (char *)b->data + b->used; /* fresh pages are zero already */
	b->used += size;
	a->total += size;
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
		munmap(b, sizeof(*b) + b->size);
	}
	free(a);
}
