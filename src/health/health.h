/* health.h -- member health: the rise/fall state machine, admin overrides, and
 * the table of atomic words the answer path reads.
 *
 * Health lives outside snapshots. An entry is keyed by what is probed
 * ("ADDRESS:PORT/CHECK"), so two pools sharing a backend share one probe, and a
 * reload that keeps the key keeps the state. Admin overrides are keyed by
 * ("POOL/ADDRESS") since an operator drains a member of a pool. Each entry owns
 * one word in a chunked array that never moves, so workers index it without a
 * lock while the main thread adds entries. */
#ifndef GSLBD_HEALTH_H
#define GSLBD_HEALTH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum health_state { HEALTH_DOWN = 0, HEALTH_UP = 1 };
enum health_admin { ADMIN_NONE = 0, ADMIN_DRAINED = 1, ADMIN_FORCED_UP = 2 };

/* The pure state machine: one counter of consecutive results that disagree
 * with the current state (HAProxy's rise/fall). */
struct health_sm {
	enum health_state state;
	unsigned count; /* consecutive results against the current state */
};

/* Apply one probe result. Returns true if the state changed (after @rise
 * successes while down, or @fall failures while up). Pure. */
bool health_sm_apply(struct health_sm *sm, bool ok, unsigned rise, unsigned fall);

#define HEALTH_BLOCK_BITS 12
#define HEALTH_BLOCK_SIZE (1u << HEALTH_BLOCK_BITS)
#define HEALTH_MAX_BLOCKS 4096

struct health_entry {
	char *key;          /* "192.0.2.10:443/web" or "web/192.0.2.10" (admin) */
	char *target;       /* "192.0.2.10:443" */
	char *check;        /* check name */
	char *kind;         /* "tcp", "https", ... */
	uint32_t word;      /* index of this entry's word */
	bool is_admin;
	bool in_use;        /* referenced by the live snapshot (or being built) */
	unsigned spec_gen;  /* snapshot build that last listed it (main thread) */
	/* Guarded by the table lock: */
	struct health_sm sm;
	enum health_admin admin;
	bool probed;        /* at least one result since start-up */
	bool last_ok;
	char reason[160];   /* of the last result */
	double latency_ms;  /* of the last result */
	double last_probe;  /* wall clock, 0 = never */
	double changed;     /* wall clock of the last state change, 0 = never */
};

struct health_table {
	pthread_mutex_t lock; /* entries and their metadata; never taken by workers */
	struct health_entry **entries;
	size_t nentries, capentries;
	struct health_entry **index; /* open addressing by key hash, size index_mask + 1 */
	size_t index_mask;
	_Atomic(_Atomic uint8_t *) blocks[HEALTH_MAX_BLOCKS];
	uint32_t nwords;
	char *state_file;     /* NULL: no persistence */
	unsigned build_gen;   /* snapshot builds so far (main thread) */
	bool dirty;           /* state changed since the last save */
};

struct health_table *health_table_new(void);
void health_table_free(struct health_table *t);

/* Find or add the health entry for @key. A new entry starts in state
 * @initial_up (or what the state file said). Returns the entry; the table
 * owns it. Main thread, at load time. Marks it in use. */
struct health_entry *health_get(struct health_table *t, const char *key, const char *target,
				const char *check, const char *kind, bool initial_up);

/* Find or add the admin entry for @key ("POOL/ADDRESS"). Main thread. */
struct health_entry *health_get_admin(struct health_table *t, const char *key);

/* Find an entry by key, or NULL. Caller holds t->lock or is the main thread
 * at load time. */
struct health_entry *health_find(struct health_table *t, const char *key);

/* Before a build: clear every in_use flag; the build marks what it uses. */
void health_mark_unused(struct health_table *t);

/* Record one probe result for @e: runs the state machine, updates the word,
 * logs a change once with its reason. @now is wall-clock seconds. Any thread
 * (takes the lock). Returns true if the state changed. */
bool health_record(struct health_table *t, struct health_entry *e, bool ok, const char *reason,
		   double latency_ms, unsigned rise, unsigned fall, double now);

/* Set an admin override; returns 0, or -1 if @e is not an admin entry. Any
 * thread. */
int health_set_admin(struct health_table *t, struct health_entry *e, enum health_admin admin);

/* Word values: bit 0 = up (health entries); admin entries hold enum health_admin. */
static inline uint8_t health_word(const struct health_table *t, uint32_t w)
{
	_Atomic uint8_t *b = atomic_load_explicit(&((struct health_table *)t)->blocks[w >> HEALTH_BLOCK_BITS],
						   memory_order_acquire);
	return atomic_load_explicit(&b[w & (HEALTH_BLOCK_SIZE - 1)], memory_order_relaxed);
}

/* Is a member up, given its health and admin words? Hot path. */
static inline bool health_member_up(const struct health_table *t, uint32_t hword, uint32_t aword)
{
	uint8_t a = health_word(t, aword);
	if (a == ADMIN_DRAINED) {
		return false;
	}
	if (a == ADMIN_FORCED_UP) {
		return true;
	}
	return health_word(t, hword) & 1;
}

/* The state file: "health KEY up|down" and "admin KEY drained|forced-up"
 * lines. Loaded before the first build (entries created later take their
 * state from it); saved atomically (write to a temporary file, fsync,
 * rename), so it is never half-written. Return 0 or -1 (logged). */
int health_load_state(struct health_table *t, const char *path);
int health_save_state(struct health_table *t);

#endif
