/* health.h -- member health: the rise/fall state machine, admin overrides, and
 * the table of atomic words the answer path reads.
 *
 * Health lives outside snapshots. A health entry is keyed by what is probed
 * (target and check), so two pools sharing a backend share one probe, and a
 * reload that keeps the key keeps the state. Admin overrides are keyed by pool
 * and member address, since an operator drains a member of a pool. Each entry
 * owns one word in a chunked array that never moves, so workers index it
 * without a lock while a snapshot build adds entries.
 *
 * The table is opaque: its entries, lock and bookkeeping belong to health.c.
 * Other modules hold entry pointers as handles and go through the functions
 * below; only the word array is read inline, by the answer path.
 *
 * Threads: workers read words (health_member_up); the probe thread records
 * results (health_record); a snapshot build (the main thread at start-up, a
 * reload's build thread later) adds entries; the main thread does everything
 * else. Functions that say "any thread" take the table lock themselves. */
#ifndef GSLBD_HEALTH_H
#define GSLBD_HEALTH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

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

/* The part of the table the answer path reads: blocks of one-byte words,
 * allocated before their index is handed out and never moved. It is the
 * table's first member, so a table pointer is a words pointer. */
struct health_words {
	_Atomic(_Atomic uint8_t *) blocks[HEALTH_MAX_BLOCKS];
};

struct health_table;
struct health_entry;

struct health_table *health_table_new(void);
void health_table_free(struct health_table *t);

/* --- building snapshots (the building thread: main at start-up, a reload's
 * build thread later; one build at a time) ---------------------------------- */

/* Start a snapshot build: entries handed out from now on count as first used
 * by this build (health_first_use). */
void health_build_begin(struct health_table *t);

/* Find or add the entry for probing @target ("192.0.2.10:443") with check
 * @check of kind @kind. A new entry starts in state @initial_up, or in what
 * the state file said. Returns NULL only if the key is taken by an admin
 * entry. The table owns the entry. */
struct health_entry *health_get(struct health_table *t, const char *target, const char *check,
				const char *kind, bool initial_up);

/* The entry of members that have no check: always up, still drainable. */
struct health_entry *health_always_up(struct health_table *t);

/* Find or add the admin entry of member @address of pool @pool. */
struct health_entry *health_get_admin(struct health_table *t, const char *pool,
				      const char *address);

/* True the first time @e is seen in the current build (one probe per key,
 * however many pools share it). */
bool health_first_use(struct health_table *t, struct health_entry *e);

/* The entry's word index and key. The key lives as long as the entry. */
uint32_t health_entry_word(const struct health_entry *e);
const char *health_entry_key(const struct health_entry *e);
const char *health_entry_target(const struct health_entry *e); /* NULL for admin entries */

/* After the live snapshot changed (it must be the latest build): the entries
 * that build asked for (health_get, health_get_admin, health_always_up) and
 * the @n entries in @probed are in use, the others not; the state file
 * records only those in use. Entries not in use keep their state in memory,
 * so a reload that names them again finds them as they were. Lines of the
 * state file no entry took are dropped. Marks the state dirty. */
void health_retain(struct health_table *t, struct health_entry *const *probed, size_t n);

/* --- probe results and overrides ------------------------------------------- */

/* Record one probe result for @e: runs the state machine, updates the word,
 * counts it, logs a change once with its reason. @now is wall-clock seconds.
 * Any thread. Returns true if the state changed. */
bool health_record(struct health_table *t, struct health_entry *e, bool ok, const char *reason,
		   double latency_ms, unsigned rise, unsigned fall, double now);

/* Set the admin override of member @address of pool @pool; the previous one
 * goes to *@was. Returns 0, or -1 if no such admin entry exists. Any thread. */
int health_admin_set(struct health_table *t, const char *pool, const char *address,
		     enum health_admin admin, enum health_admin *was);

/* As health_admin_set; a drain (@admin ADMIN_DRAINED) with @until > 0 (wall
 * clock) ends by itself then (health_expire), 0: until undrained. Any thread. */
int health_admin_set_until(struct health_table *t, const char *pool, const char *address,
			   enum health_admin admin, double until, enum health_admin *was);

/* --- weights (src/lb/steer.c computes effective weights from these) --------- */

/* Set the runtime weight of member @address of pool @pool (`gslbctl weight`):
 * 0..1000000 replaces the configured weight, 0 drains the member (its admin
 * word says drained); -1 removes it. The previous value goes to *@was.
 * Returns 0, or -1 without such an admin entry. Any thread. */
int health_weight_set(struct health_table *t, const char *pool, const char *address,
		      int32_t weight, int32_t *was);

/* What the backend behind probe entry @e reports (an agent or http weight):
 * @percent 0..1000 of the configured weight (< 0: unchanged), @drain 1 when
 * it says drain or maint, 0 when ready (< 0: unchanged). 0 % or drain keep
 * the member out of answers while the backend says so (its word is not up).
 * Probe thread (any thread). */
void health_report_weight(struct health_table *t, struct health_entry *e, int percent, int drain);

/* Bumped by every change an effective weight depends on (health and admin
 * changes, reports, runtime weights). Any thread. */
unsigned health_generation(struct health_table *t);

/* Call @fn(@arg) after each such change made by the probe thread (a state
 * change, a report), outside the table lock, so that the weights follow at
 * once rather than at the next poll; @fn must be safe from any thread
 * (ev_async_send is). NULL: none. Set before the probe engine starts. */
void health_set_notify(struct health_table *t, void (*fn)(void *arg), void *arg);

/* Bump it, and mark the state dirty (a module with its own state-file
 * lines, such as shifts, changed). Any thread. */
void health_mark_dirty(struct health_table *t);

/* The inputs of one member's effective weight. */
struct health_steer {
	bool up;            /* answerable now (health_member_up) */
	unsigned reported;  /* percent, 100 without a report */
	int32_t runtime;    /* -1: none */
	double drain_until; /* 0: none */
	double ramp_start;  /* wall clock it came up, for slow start; 0: no ramp */
};

/* Read them for the member with words @hword/@aword, and note when it comes
 * up (from down or drained) at @now: ramp_start. Main thread. */
void health_steer_member(struct health_table *t, uint32_t hword, uint32_t aword, double now,
			 struct health_steer *out);

/* The ramp of the member with admin word @aword is over: forget its start. */
void health_ramp_done(struct health_table *t, uint32_t aword);

/* End the timed drains whose time is past (logged); returns the earliest one
 * still to come, 0 if none. Main thread. */
double health_expire(struct health_table *t, double now);

/* Lines other modules keep in the state file ("shift POOL ..."): @write
 * appends them at every save; lines read at start are handed to @fn by
 * health_take_extra (once, then freed). Main thread. */
void health_state_hook(struct health_table *t, void (*write)(FILE *f, void *arg), void *arg);
void health_take_extra(struct health_table *t, void (*fn)(const char *line, void *arg), void *arg);

/* The same through an admin entry handle; -1 if @e is not one. */
int health_set_admin(struct health_table *t, struct health_entry *e, enum health_admin admin);

/* --- reading (control, status, metrics) -------------------------------------- */

#define HEALTH_REASON_MAX 160

/* Probe durations are counted in buckets (a histogram for metrics): bucket i
 * holds the probes that took at most health_duration_bounds[i] seconds. */
#define HEALTH_DURATION_BUCKETS 14
extern const double health_duration_bounds[HEALTH_DURATION_BUCKETS];

/* A consistent copy of one entry's metadata. */
struct health_info {
	char key[600];
	char target[300];          /* "" for admin and always-up entries */
	char check[128];
	char kind[16];
	bool is_admin;
	bool always;               /* the always-up entry */
	enum health_state state;
	unsigned count;            /* consecutive results against the state */
	enum health_admin admin;   /* admin entries */
	bool probed;               /* a result since start-up */
	bool last_ok;
	char reason[HEALTH_REASON_MAX];
	double latency_ms;
	double last_probe;         /* wall clock, 0 = never */
	double changed;            /* wall clock of the last change, 0 = never */
	uint64_t probes_ok, probes_failed, changes;
	uint64_t duration_le[HEALTH_DURATION_BUCKETS]; /* cumulative: probes <= bound */
	double duration_sum;                          /* seconds */
	unsigned reported;         /* probe entries: percent reported (100 without) */
	bool agent_drain;          /* probe entries: the backend says drain/maint */
	int32_t runtime;           /* admin entries: runtime weight, -1 none */
	double drain_until;        /* admin entries: timed drain's end, 0 none */
	double ramp_start;         /* admin entries: slow start began, 0 none */
};

/* Copy the entry that owns word @word into @out; false if none. Any thread. */
bool health_info_by_word(struct health_table *t, uint32_t word, struct health_info *out);

/* Call @fn for a copy of every entry, in creation order. Any thread; @fn
 * runs without the lock held. */
void health_foreach(struct health_table *t, void (*fn)(const struct health_info *, void *),
		    void *arg);

/* --- the answer path ------------------------------------------------------------ */

/* Word values: bit 0 = up (health entries); admin entries hold enum health_admin. */
static inline uint8_t health_word(const struct health_table *t, uint32_t w)
{
	const struct health_words *hw = (const struct health_words *)(const void *)t;
	_Atomic uint8_t *b = atomic_load_explicit(
	    &((struct health_words *)hw)->blocks[w >> HEALTH_BLOCK_BITS], memory_order_acquire);
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

/* --- the state file ----------------------------------------------------------- */

/* "health KEY up|down" and "admin KEY drained|forced-up" lines, one per entry
 * the live snapshot names (a pool or member the config no longer names is
 * left out of the next save).
 *
 * The file is kept in its directory for the life of the process, and by one
 * process only:
 *  - the directory must be owned by @owner (the uid gslbd runs as once it
 *    has dropped root) or by root, and writable by neither group nor others,
 *    except a sticky directory owned by @owner: anyone who can add or rename
 *    files there could replace the file or plant links where it is written;
 *  - STATE.lock beside it is created (mode 0600, owned by @owner) and held
 *    with flock() until health_table_free: a second gslbd with the same
 *    state_file is refused here, before it has touched anything;
 *  - the file is trusted only if it is a regular file (not a link), owned by
 *    @owner or root, writable by neither group nor others, and at most
 *    HEALTH_STATE_MAX_BYTES long; otherwise it is ignored with an error line
 *    saying why (members start as their checks' `initial` says, and the next
 *    save replaces it).
 * Lines are kept aside, not made entries: an entry created by the first
 * build (health_get, health_get_admin) takes its state from them, and
 * health_retain drops the rest. Call once, before the first build.
 *
 * Returns 0 (loaded, or nothing trusted to load), or -1 (logged) when the
 * directory is not acceptable, cannot be opened or locked: the daemon must
 * not start. Main thread. */
#define HEALTH_STATE_MAX_BYTES (8u << 20)
int health_load_state(struct health_table *t, const char *path, uid_t owner);

/* Is the directory of state file @path acceptable for @owner (see
 * health_load_state)? Returns 0, or -1 with the reason in @why. For
 * `gslbd -t`. Any thread. */
int health_state_dir_check(const char *path, uid_t owner, char *why, size_t whysize);

/* Write the state file: a new file of a random name (O_EXCL|O_NOFOLLOW, mode
 * 0600) in the directory opened by health_load_state, fsync, renamed over
 * the state file, then the directory fsync'ed, so it is never half-written
 * and the rename survives a crash. The directory is checked again first. A
 * failure is logged once per reason, marks the state dirty again and
 * returns -1; 0 on success or without a state file. Main thread. */
int health_save_state(struct health_table *t);

/* Did anything the state file records change since the last save? Clears
 * the flag. Main thread (set from any thread). */
bool health_take_dirty(struct health_table *t);

/* How many state changes (health and admin overrides) there have been so
 * far: what changed since a reader last looked is a different number. Any
 * thread. */
uint64_t health_changes(struct health_table *t);

#endif
