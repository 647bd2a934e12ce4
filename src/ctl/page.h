/* page.h -- the status page for people (GET /): every pool with its policy
 * and state, every member with its health, admin override, last probe and
 * answers per second, and a small chart per pool of the last minutes, drawn
 * from a ring of samples. Self-contained HTML: inline CSS and SVG, no script.
 *
 * The ring is kept by whoever serves the page (the HTTP thread samples on a
 * timer of its own); workers never see it. */
#ifndef GSLBD_PAGE_H
#define GSLBD_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "data/snapshot.h"
#include "health/health.h"
#include "util/sbuf.h"

struct stats;

#define PAGE_SAMPLES 60		 /* kept per pool */
#define PAGE_SAMPLE_INTERVAL 5.0 /* seconds between samples: five minutes shown */
#define PAGE_MAX_SERIES 1000	 /* pools charted; those past it get no chart */

/* One pool's samples, by pool name (kept across reloads). */
struct page_series {
	char *name;
	uint64_t answers[PAGE_SAMPLES];	 /* the pool's answers counter */
	double latency_ms[PAGE_SAMPLES]; /* mean last-probe latency of its members; <0: none */
	double at[PAGE_SAMPLES];	 /* wall clock; 0: no sample */
	unsigned seen;			 /* sample round that last saw the pool */
};

struct page_history {
	struct page_series *series;
	size_t n, cap;
	unsigned head;	 /* the slot the next sample goes to */
	unsigned rounds; /* samples taken */
};

void page_history_init(struct page_history *h);
void page_history_clear(struct page_history *h);

/* Take one sample of every pool of @snap (at most PAGE_MAX_SERIES) at wall
 * clock @now. Pools the snapshot no longer names are dropped. The thread
 * that owns @h, holding @snap. */
void page_history_sample(struct page_history *h, const struct snapshot *snap,
			 struct health_table *t, const struct stats *st, double now);

/* Append the page to @out. @h may be NULL (no charts); @now is wall clock. */
void page_render(struct sbuf *out, const struct snapshot *snap, struct health_table *t,
		 const struct page_history *h, double now);

/* Append @s to @out with &, <, >, " and ' escaped; bytes that are not
 * printable ASCII or valid UTF-8 become U+FFFD. */
void page_escape(struct sbuf *out, const char *s);

#endif
