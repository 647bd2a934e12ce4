/* health.c -- member health: state machine, admin overrides, word table, state file. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "health/health.h"
#include "util/log.h"
#include "util/mem.h"

/* The key of members without a check, spelled here only. */
#define ALWAYS_UP_KEY "always-up"

struct health_entry {
	char *key;          /* "192.0.2.10:443/web", "web/192.0.2.10" (admin), ALWAYS_UP_KEY */
	char *target;       /* "192.0.2.10:443" */
	char *check;        /* check name */
	char *kind;         /* "tcp", "https", ... */
	uint32_t word;      /* index of this entry's word */
	bool is_admin;
	bool in_use;        /* referenced by the live snapshot (or being built) */
	unsigned build_gen; /* snapshot build that last used it (main thread) */
	unsigned named_gen; /* snapshot build that last asked for it (main thread) */
	/* Guarded by the table lock: */
	struct health_sm sm;
	enum health_admin admin;
	bool probed;        /* at least one result since start-up */
	bool last_ok;
	char reason[HEALTH_REASON_MAX]; /* of the last result */
	double latency_ms;  /* of the last result */
	double last_probe;  /* wall clock, 0 = never */
	double changed;     /* wall clock of the last state change, 0 = never */
	uint64_t probes_ok, probes_failed, changes;
	uint64_t duration_le[HEALTH_DURATION_BUCKETS]; /* probes that took <= bound[i] */
	double duration_sum;                          /* seconds, every probe */
	/* Weights, guarded by the table lock too: */
	uint16_t reported;  /* probe entries: the weight the backend reports, percent (100) */
	bool agent_drain;   /* probe entries: it said drain or maint, and not ready since */
	int32_t runtime;    /* admin entries: `gslbctl weight`, -1: none */
	double drain_until; /* admin entries: when a timed drain ends (wall clock), 0: never */
	double ramp_start;  /* admin entries: when the member last came up (slow start), 0 */
	bool seen, was_up;  /* admin entries: health_steer_member has looked; what it saw */
};

struct health_table {
	struct health_words words; /* first: health_word() reads a table as its words */
	pthread_mutex_t lock;      /* everything below, and entry metadata */
	struct health_entry **entries;
	size_t nentries, capentries;
	struct health_entry **index; /* open addressing by key hash, size index_mask + 1 */
	size_t index_mask;
	struct health_entry **byword; /* word -> entry, capbyword slots */
	size_t capbyword;
	uint32_t nwords;
	unsigned build_gen;   /* snapshot builds so far (main thread) */
	atomic_bool dirty;    /* state changed since the last save */
	_Atomic uint64_t changes; /* health or admin changes so far (health_changes) */
	atomic_uint gen;      /* bumped by every change an effective weight depends on */
	/* Lines of kinds other modules own (shift), written and read back by
	 * their hook (health_state_hook); main thread. */
	void (*hook_write)(FILE *f, void *arg);
	void *hook_arg;
	char **extra;         /* such lines read at start, until taken */
	size_t nextra;
	void (*notify)(void *arg); /* after a change weights depend on (health_set_notify) */
	void *notify_arg;
	/* The state file (main thread): NULL/-1 without persistence. */
	char *state_file;     /* as configured, for messages */
	char *state_name;     /* its name inside state_dir */
	int state_dir;        /* its directory, opened once at start */
	int state_lock;       /* STATE.lock, flock()ed for the life of the table */
	pid_t lock_pid;       /* the pid written into it (daemon() forks) */
	uid_t state_owner;    /* who must own the directory and the file */
	char save_error[300]; /* the last failure logged, "" after a success */
	/* Lines read at start until health_retain: see struct pending_line. */
	char *pending_text;
	struct pending_line *pending;
	size_t npending, cappending;
	uint32_t *pending_index; /* open addressing: index + 1, 0 empty */
	size_t pending_mask;
};

/* One line of the state file read at start, kept aside until an entry of
 * its key is created (which takes the state) or the first health_retain
 * (which drops what no entry took): lines the config does not name never
 * become entries, whose words live as long as the table. */
enum pending_kind { LINE_HEALTH, LINE_ADMIN, LINE_WEIGHT, LINE_RAMP };
struct pending_line {
	const char *key; /* into pending_text */
	uint8_t kind;    /* enum pending_kind */
	uint8_t value;   /* HEALTH_UP/HEALTH_DOWN, or enum health_admin */
	double num;      /* admin: drained until (0: no end); weight; ramp start */
};

bool health_sm_apply(struct health_sm *sm, bool ok, unsigned rise, unsigned fall)
{
	bool agrees = ok == (sm->state == HEALTH_UP);

	if (agrees) {
		sm->count = 0; /* a success while up (failure while down) resets the run */
		return false;
	}
	sm->count++;
	if (sm->count >= (sm->state == HEALTH_UP ? fall : rise)) {
		sm->state = ok ? HEALTH_UP : HEALTH_DOWN;
		sm->count = 0;
		return true;
	}
	return false;
}

struct health_table *health_table_new(void)
{
	struct health_table *t = xcalloc(1, sizeof(*t));

	pthread_mutex_init(&t->lock, NULL);
	t->state_dir = -1;
	t->state_lock = -1;
	return t;
}

static void pending_free(struct health_table *t)
{
	free(t->pending_text);
	free(t->pending);
	free(t->pending_index);
	for (size_t i = 0; i < t->nextra; i++) {
		free(t->extra[i]);
	}
	free(t->extra);
	t->extra = NULL;
	t->nextra = 0;
	t->pending_text = NULL;
	t->pending = NULL;
	t->pending_index = NULL;
	t->npending = t->cappending = 0;
	t->pending_mask = 0;
}

/* Forget the state file: nothing is saved any more. Closing the lock file
 * releases the lock. */
static void state_close(struct health_table *t)
{
	if (t->state_lock >= 0) {
		close(t->state_lock);
	}
	if (t->state_dir >= 0) {
		close(t->state_dir);
	}
	t->state_lock = t->state_dir = -1;
	free(t->state_file);
	free(t->state_name);
	t->state_file = t->state_name = NULL;
}

void health_table_free(struct health_table *t)
{
	if (!t) {
		return;
	}
	for (size_t i = 0; i < t->nentries; i++) {
		struct health_entry *e = t->entries[i];
		free(e->key);
		free(e->target);
		free(e->check);
		free(e->kind);
		free(e);
	}
	free(t->entries);
	free(t->index);
	free(t->byword);
	for (size_t i = 0; i < HEALTH_MAX_BLOCKS; i++) {
		free((void *)atomic_load(&t->words.blocks[i]));
	}
	state_close(t);
	pending_free(t);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static _Atomic uint8_t *word_ptr(struct health_table *t, uint32_t w)
{
	return atomic_load_explicit(&t->words.blocks[w >> HEALTH_BLOCK_BITS], memory_order_acquire) +
	       (w & (HEALTH_BLOCK_SIZE - 1));
}

/* A new word for @e; its block is allocated before anyone can hold its
 * index, and blocks never move. Caller holds the lock. */
static uint32_t new_word(struct health_table *t, struct health_entry *e, uint8_t value)
{
	uint32_t w = t->nwords;

	if ((w >> HEALTH_BLOCK_BITS) >= HEALTH_MAX_BLOCKS) {
		log_err("health table full (%u entries)", w);
		abort();
	}
	if ((w & (HEALTH_BLOCK_SIZE - 1)) == 0) {
		_Atomic uint8_t *b = xcalloc(HEALTH_BLOCK_SIZE, sizeof(*b));
		atomic_store_explicit(&t->words.blocks[w >> HEALTH_BLOCK_BITS], b, memory_order_release);
	}
	if (w >= t->capbyword) {
		t->capbyword = t->capbyword ? t->capbyword * 2 : 256;
		t->byword = xrealloc(t->byword, t->capbyword * sizeof(*t->byword));
	}
	t->byword[w] = e;
	t->nwords++;
	atomic_store_explicit(word_ptr(t, w), value, memory_order_release);
	return w;
}

static size_t key_hash(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *key; key++) {
		h = (h ^ (uint8_t)*key) * 0x100000001b3ULL;
	}
	return (size_t)(h ^ (h >> 32));
}

/* The state file's line for @key of that kind, or NULL. */
static const struct pending_line *pending_find(const struct health_table *t, const char *key,
					       int kind)
{
	if (!t->pending_index) {
		return NULL;
	}
	for (size_t i = key_hash(key) & t->pending_mask;; i = (i + 1) & t->pending_mask) {
		uint32_t k = t->pending_index[i];
		const struct pending_line *l;
		if (k == 0) {
			return NULL;
		}
		l = &t->pending[k - 1];
		if (l->kind == kind && strcmp(l->key, key) == 0) {
			return l;
		}
	}
}

static struct health_entry *find(struct health_table *t, const char *key)
{
	if (!t->index) {
		return NULL;
	}
	for (size_t i = key_hash(key) & t->index_mask;; i = (i + 1) & t->index_mask) {
		struct health_entry *e = t->index[i];
		if (!e) {
			return NULL;
		}
		if (strcmp(e->key, key) == 0) {
			return e;
		}
	}
}

static void index_put(struct health_table *t, struct health_entry *e)
{
	size_t i = key_hash(e->key) & t->index_mask;

	while (t->index[i]) {
		i = (i + 1) & t->index_mask;
	}
	t->index[i] = e;
}

static struct health_entry *add_entry(struct health_table *t, const char *key)
{
	struct health_entry *e = xcalloc(1, sizeof(*e));

	e->key = xstrdup(key);
	if (t->nentries == t->capentries) {
		t->capentries = t->capentries ? t->capentries * 2 : 64;
		t->entries = xrealloc(t->entries, t->capentries * sizeof(*t->entries));
	}
	t->entries[t->nentries++] = e;
	if ((t->nentries * 2) > (t->index ? t->index_mask + 1 : 0)) {
		size_t size = t->index ? (t->index_mask + 1) * 2 : 256;
		free(t->index);
		t->index = xcalloc(size, sizeof(*t->index));
		t->index_mask = size - 1;
		for (size_t i = 0; i < t->nentries; i++) {
			index_put(t, t->entries[i]);
		}
	} else {
		index_put(t, e);
	}
	return e;
}

static void set_str(char **dst, const char *src)
{
	if (src && (!*dst || strcmp(*dst, src) != 0)) {
		free(*dst);
		*dst = xstrdup(src);
	}
}

/* Find or add the probe entry @key; a new one takes the state file's state
 * when @saved and the file has one. Caller holds the lock. */
static struct health_entry *get(struct health_table *t, const char *key, bool initial_up,
				bool saved)
{
	struct health_entry *e = find(t, key);

	if (!e) {
		const struct pending_line *l = saved ? pending_find(t, key, LINE_HEALTH) : NULL;
		e = add_entry(t, key);
		if (l) {
			initial_up = l->value == HEALTH_UP;
		}
		e->sm.state = initial_up ? HEALTH_UP : HEALTH_DOWN;
		e->reported = 100;
		e->runtime = -1;
		e->word = new_word(t, e, e->sm.state == HEALTH_UP);
	} else if (e->is_admin) {
		return NULL;
	}
	e->in_use = true;
	e->named_gen = t->build_gen;
	return e;
}

struct health_entry *health_get(struct health_table *t, const char *target, const char *check,
				const char *kind, bool initial_up)
{
	struct health_entry *e;
	char key[600];

	snprintf(key, sizeof(key), "%s/%s", target, check);
	pthread_mutex_lock(&t->lock);
	e = get(t, key, initial_up, true);
	if (e) {
		set_str(&e->target, target);
		set_str(&e->check, check);
		set_str(&e->kind, kind);
	}
	pthread_mutex_unlock(&t->lock);
	return e;
}

struct health_entry *health_always_up(struct health_table *t)
{
	struct health_entry *e;

	pthread_mutex_lock(&t->lock);
	e = get(t, ALWAYS_UP_KEY, true, false); /* always up, whatever a file says */
	set_str(&e->target, "-");
	set_str(&e->check, "none");
	set_str(&e->kind, "none");
	pthread_mutex_unlock(&t->lock);
	return e;
}

/* What an admin entry's word says: drained by the operator or by a runtime
 * weight of 0, else the override. */
static uint8_t admin_word(const struct health_entry *e)
{
	return e->admin == ADMIN_DRAINED || e->runtime == 0 ? ADMIN_DRAINED : (uint8_t)e->admin;
}

/* A probe entry's word: up, and not drained by what the backend reports. */
static uint8_t health_word_of(const struct health_entry *e)
{
	return e->sm.state == HEALTH_UP && !e->agent_drain && e->reported > 0;
}

/* "POOL/ADDRESS": the one spelling of an admin key. */
static void admin_key(char *buf, size_t size, const char *pool, const char *address)
{
	snprintf(buf, size, "%s/%s", pool, address);
}

struct health_entry *health_get_admin(struct health_table *t, const char *pool,
				      const char *address)
{
	struct health_entry *e;
	char key[600];

	admin_key(key, sizeof(key), pool, address);
	pthread_mutex_lock(&t->lock);
	e = find(t, key);
	if (!e) {
		const struct pending_line *l = pending_find(t, key, LINE_ADMIN);
		const struct pending_line *w = pending_find(t, key, LINE_WEIGHT);
		const struct pending_line *r = pending_find(t, key, LINE_RAMP);
		e = add_entry(t, key);
		e->is_admin = true;
		e->reported = 100;
		e->admin = l ? (enum health_admin)l->value : ADMIN_NONE;
		e->drain_until = l ? l->num : 0;
		e->runtime = w ? (int32_t)w->num : -1;
		if (r) {
			e->ramp_start = r->num;
			e->seen = e->was_up = true; /* the ramp goes on where it was */
		}
		e->word = new_word(t, e, admin_word(e));
	}
	e->in_use = true;
	e->named_gen = t->build_gen;
	pthread_mutex_unlock(&t->lock);
	return e;
}

void health_build_begin(struct health_table *t)
{
	t->build_gen++;
}

bool health_first_use(struct health_table *t, struct health_entry *e)
{
	bool first = e->build_gen != t->build_gen;

	e->build_gen = t->build_gen;
	return first;
}

uint32_t health_entry_word(const struct health_entry *e)
{
	return e->word;
}

const char *health_entry_key(const struct health_entry *e)
{
	return e->key;
}

const char *health_entry_target(const struct health_entry *e)
{
	return e->target;
}

void health_retain(struct health_table *t, struct health_entry *const *probed, size_t n)
{
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->nentries; i++) {
		struct health_entry *e = t->entries[i];
		e->in_use = e->named_gen == t->build_gen;
	}
	for (size_t i = 0; i < n; i++) {
		probed[i]->in_use = true;
	}
	pthread_mutex_unlock(&t->lock);
	/* The live snapshot took what it names from the file; the rest is
	 * stale and goes with the next save. */
	pending_free(t);
	atomic_store(&t->dirty, true);
}

bool health_record(struct health_table *t, struct health_entry *e, bool ok, const char *reason,
		   double latency_ms, unsigned rise, unsigned fall, double now)
{
	bool changed;
	unsigned run;

	pthread_mutex_lock(&t->lock);
	run = e->sm.count + 1;
	changed = health_sm_apply(&e->sm, ok, rise, fall);
	e->probed = true;
	e->last_ok = ok;
	snprintf(e->reason, sizeof(e->reason), "%s", reason ? reason : (ok ? "ok" : "failed"));
	for (char *c = e->reason; *c; c++) {
		if ((unsigned char)*c < 32 || *c == 127) {
			*c = ' '; /* one log line per change, whatever a backend said */
		}
	}
	e->latency_ms = latency_ms;
	e->last_probe = now;
	for (int i = 0; i < HEALTH_DURATION_BUCKETS; i++) {
		e->duration_le[i] += latency_ms / 1000.0 <= health_duration_bounds[i];
	}
	e->duration_sum += latency_ms / 1000.0;
	if (ok) {
		e->probes_ok++;
	} else {
		e->probes_failed++;
	}
	if (changed) {
		e->changed = now;
		e->changes++;
		atomic_store(&t->dirty, true);
		atomic_fetch_add(&t->gen, 1);
		atomic_store_explicit(word_ptr(t, e->word), health_word_of(e), memory_order_release);
		/* After the word: who sees the new count reads the new word. */
		atomic_fetch_add(&t->changes, 1);
		if (e->sm.state == HEALTH_UP) {
			log_info("%s %s UP after %u success%s: %s", e->target ? e->target : e->key,
				 e->kind ? e->kind : "", run, run == 1 ? "" : "es", e->reason);
		} else {
			log_warn("%s %s DOWN after %u failure%s: %s", e->target ? e->target : e->key,
				 e->kind ? e->kind : "", run, run == 1 ? "" : "s", e->reason);
		}
	}
	pthread_mutex_unlock(&t->lock);
	if (changed && t->notify) {
		t->notify(t->notify_arg);
	}
	return changed;
}

/* Caller holds the lock. */
static void set_admin(struct health_table *t, struct health_entry *e, enum health_admin admin)
{
	if (e->admin != admin) {
		e->admin = admin;
		atomic_store(&t->dirty, true);
		atomic_fetch_add(&t->gen, 1);
		atomic_store_explicit(word_ptr(t, e->word), admin_word(e), memory_order_release);
		atomic_fetch_add(&t->changes, 1);
	}
	if (admin != ADMIN_DRAINED && e->drain_until != 0) {
		e->drain_until = 0; /* a timed drain ends with the drain */
		atomic_store(&t->dirty, true);
	}
}

int health_set_admin(struct health_table *t, struct health_entry *e, enum health_admin admin)
{
	if (!e->is_admin) {
		return -1;
	}
	pthread_mutex_lock(&t->lock);
	set_admin(t, e, admin);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int health_admin_set(struct health_table *t, const char *pool, const char *address,
		     enum health_admin admin, enum health_admin *was)
{
	return health_admin_set_until(t, pool, address, admin, 0, was);
}

/* The admin entry of @pool/@address, or NULL. Caller holds the lock. */
static struct health_entry *find_admin(struct health_table *t, const char *pool,
				       const char *address)
{
	struct health_entry *e;
	char key[600];

	admin_key(key, sizeof(key), pool, address);
	e = find(t, key);
	return e && e->is_admin ? e : NULL;
}

int health_admin_set_until(struct health_table *t, const char *pool, const char *address,
			   enum health_admin admin, double until, enum health_admin *was)
{
	struct health_entry *e;

	pthread_mutex_lock(&t->lock);
	e = find_admin(t, pool, address);
	if (e) {
		*was = e->admin;
		set_admin(t, e, admin);
		if (admin == ADMIN_DRAINED && e->drain_until != until) {
			e->drain_until = until;
			atomic_store(&t->dirty, true);
			atomic_fetch_add(&t->gen, 1);
		}
	}
	pthread_mutex_unlock(&t->lock);
	return e ? 0 : -1;
}

int health_weight_set(struct health_table *t, const char *pool, const char *address,
		      int32_t weight, int32_t *was)
{
	struct health_entry *e;

	pthread_mutex_lock(&t->lock);
	e = find_admin(t, pool, address);
	if (e) {
		*was = e->runtime;
		if (e->runtime != weight) {
			e->runtime = weight;
			atomic_store(&t->dirty, true);
			atomic_fetch_add(&t->gen, 1);
			atomic_store_explicit(word_ptr(t, e->word), admin_word(e),
					      memory_order_release);
			atomic_fetch_add(&t->changes, 1);
		}
	}
	pthread_mutex_unlock(&t->lock);
	return e ? 0 : -1;
}

void health_report_weight(struct health_table *t, struct health_entry *e, int percent, int drain)
{
	bool changed = false;

	pthread_mutex_lock(&t->lock);
	if ((percent >= 0 && e->reported != percent) || (drain >= 0 && e->agent_drain != drain)) {
		if (percent >= 0) {
			e->reported = (uint16_t)percent;
		}
		if (drain >= 0) {
			e->agent_drain = drain;
		}
		atomic_fetch_add(&t->gen, 1);
		atomic_store_explicit(word_ptr(t, e->word), health_word_of(e), memory_order_release);
		atomic_fetch_add(&t->changes, 1);
		changed = true;
	}
	pthread_mutex_unlock(&t->lock);
	if (changed && t->notify) {
		t->notify(t->notify_arg);
	}
}

void health_set_notify(struct health_table *t, void (*fn)(void *arg), void *arg)
{
	t->notify = fn;
	t->notify_arg = arg;
}

unsigned health_generation(struct health_table *t)
{
	return atomic_load(&t->gen);
}

void health_steer_member(struct health_table *t, uint32_t hword, uint32_t aword, double now,
			 struct health_steer *out)
{
	struct health_entry *h, *a;

	memset(out, 0, sizeof(*out));
	out->reported = 100;
	out->runtime = -1;
	pthread_mutex_lock(&t->lock);
	h = hword < t->nwords ? t->byword[hword] : NULL;
	a = aword < t->nwords ? t->byword[aword] : NULL;
	out->up = health_member_up(t, hword, aword);
	if (h && !h->is_admin) {
		out->reported = h->reported;
	}
	if (a && a->is_admin) {
		out->runtime = a->runtime;
		out->drain_until = a->drain_until;
		/* A member that comes up (from down or drained) starts its ramp;
		 * one seen up from the start does not. */
		if (out->up && a->seen && !a->was_up) {
			a->ramp_start = now;
			atomic_store(&t->dirty, true);
		}
		if (!out->up && a->ramp_start != 0) {
			a->ramp_start = 0;
			atomic_store(&t->dirty, true);
		}
		a->seen = true;
		a->was_up = out->up;
		out->ramp_start = a->ramp_start;
	}
	pthread_mutex_unlock(&t->lock);
}

void health_ramp_done(struct health_table *t, uint32_t aword)
{
	pthread_mutex_lock(&t->lock);
	if (aword < t->nwords && t->byword[aword]->is_admin && t->byword[aword]->ramp_start != 0) {
		t->byword[aword]->ramp_start = 0;
		atomic_store(&t->dirty, true);
	}
	pthread_mutex_unlock(&t->lock);
}

double health_expire(struct health_table *t, double now)
{
	double next = 0;

	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->nentries; i++) {
		struct health_entry *e = t->entries[i];
		if (!e->is_admin || e->drain_until == 0 || e->admin != ADMIN_DRAINED) {
			continue;
		}
		if (e->drain_until <= now) {
			log_info("drain of %s ended: its time has come", e->key);
			set_admin(t, e, ADMIN_NONE);
		} else if (next == 0 || e->drain_until < next) {
			next = e->drain_until;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return next;
}

void health_state_hook(struct health_table *t, void (*write)(FILE *f, void *arg), void *arg)
{
	t->hook_write = write;
	t->hook_arg = arg;
}

void health_take_extra(struct health_table *t, void (*fn)(const char *line, void *arg), void *arg)
{
	for (size_t i = 0; i < t->nextra; i++) {
		fn(t->extra[i], arg);
		free(t->extra[i]);
	}
	free(t->extra);
	t->extra = NULL;
	t->nextra = 0;
}

void health_mark_dirty(struct health_table *t)
{
	atomic_store(&t->dirty, true);
	atomic_fetch_add(&t->gen, 1);
}

/* Caller holds the lock. */
static void info_of(struct health_info *out, const struct health_entry *e)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->key, sizeof(out->key), "%s", e->key);
	out->is_admin = e->is_admin;
	out->always = strcmp(e->key, ALWAYS_UP_KEY) == 0;
	if (!e->is_admin && !out->always) {
		snprintf(out->target, sizeof(out->target), "%s", e->target ? e->target : "");
		snprintf(out->check, sizeof(out->check), "%s", e->check ? e->check : "");
		snprintf(out->kind, sizeof(out->kind), "%s", e->kind ? e->kind : "");
	}
	out->state = e->sm.state;
	out->count = e->sm.count;
	out->admin = e->admin;
	out->probed = e->probed;
	out->last_ok = e->last_ok;
	memcpy(out->reason, e->reason, sizeof(out->reason));
	out->latency_ms = e->latency_ms;
	out->last_probe = e->last_probe;
	out->changed = e->changed;
	out->probes_ok = e->probes_ok;
	out->probes_failed = e->probes_failed;
	out->changes = e->changes;
	memcpy(out->duration_le, e->duration_le, sizeof(out->duration_le));
	out->duration_sum = e->duration_sum;
	out->reported = e->reported;
	out->agent_drain = e->agent_drain;
	out->runtime = e->runtime;
	out->drain_until = e->drain_until;
	out->ramp_start = e->ramp_start;
}

const double health_duration_bounds[HEALTH_DURATION_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

bool health_info_by_word(struct health_table *t, uint32_t word, struct health_info *out)
{
	bool found = false;

	pthread_mutex_lock(&t->lock);
	if (word < t->nwords && t->byword[word]) {
		info_of(out, t->byword[word]);
		found = true;
	}
	pthread_mutex_unlock(&t->lock);
	return found;
}

void health_foreach(struct health_table *t, void (*fn)(const struct health_info *, void *),
		    void *arg)
{
	struct health_info info;

	for (size_t i = 0;; i++) {
		pthread_mutex_lock(&t->lock);
		if (i >= t->nentries) {
			pthread_mutex_unlock(&t->lock);
			return;
		}
		info_of(&info, t->entries[i]);
		pthread_mutex_unlock(&t->lock);
		fn(&info, arg);
	}
}

uint64_t health_changes(struct health_table *t)
{
	return atomic_load(&t->changes);
}

bool health_take_dirty(struct health_table *t)
{
	return atomic_exchange(&t->dirty, false);
}

/* --- the state file ----------------------------------------------------------- */

/* Malformed lines past this many are counted, not logged one by one. */
#define STATE_MAX_WARNINGS 10

/* The directory of @path (into @dir) and the file's name in it; NULL if
 * @path has no file name. */
static const char *split_path(char *dir, size_t size, const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');

	*name = slash ? slash + 1 : path;
	if (!**name || strcmp(*name, ".") == 0 || strcmp(*name, "..") == 0) {
		return NULL;
	}
	if (!slash) {
		snprintf(dir, size, ".");
	} else if (slash == path) {
		snprintf(dir, size, "/");
	} else if ((size_t)(slash - path) < size) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = 0;
	} else {
		return NULL;
	}
	return dir;
}

/* The directory rule of health_load_state, for @st. */
static int dir_trusted(const struct stat *st, uid_t owner, char *why, size_t whysize)
{
	unsigned mode = (unsigned)st->st_mode & 07777;

	if (!S_ISDIR(st->st_mode)) {
		snprintf(why, whysize, "not a directory");
		return -1;
	}
	if (st->st_uid != owner && st->st_uid != 0) {
		snprintf(why, whysize, "owned by uid %u, neither gslbd's uid %u nor root",
			 (unsigned)st->st_uid, (unsigned)owner);
		return -1;
	}
	/* In a sticky directory of its own, others may add files but not
	 * rename or remove ours, and we may replace theirs. */
	if ((mode & (S_IWGRP | S_IWOTH)) && !((mode & S_ISVTX) && st->st_uid == owner)) {
		snprintf(why, whysize, "writable by %s (mode %04o)%s",
			 (mode & S_IWOTH) ? "others" : "its group", mode,
			 (mode & S_ISVTX) ? ", sticky but not owned by gslbd's uid" : "");
		return -1;
	}
	return 0;
}

int health_state_dir_check(const char *path, uid_t owner, char *why, size_t whysize)
{
	char dir[4096];
	const char *name;
	struct stat st;

	if (!split_path(dir, sizeof(dir), path, &name)) {
		snprintf(why, whysize, "no file name");
		return -1;
	}
	if (stat(dir, &st) != 0) {
		snprintf(why, whysize, "%s: %s", dir, strerror(errno));
		return -1;
	}
	return dir_trusted(&st, owner, why, whysize);
}

/* Write our pid into the lock file, for the message a second gslbd gives. */
static void lock_write_pid(struct health_table *t)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	t->lock_pid = getpid();
	if (ftruncate(t->state_lock, 0) != 0 || pwrite(t->state_lock, buf, (size_t)n, 0) != n) {
		/* Only a hint for the next gslbd's message. */
	}
}

/* Create (or open) STATE.lock beside the state file and take it. Returns 0
 * or -1 (logged). */
static int lock_state(struct health_table *t, const char *path, const char *name)
{
	char lock[4200], pid[32] = "";
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(lock, sizeof(lock), "%s.lock", name);
	fd = openat(t->state_dir, lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_err("state_file %s: lock file %s.lock: %s", path, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != t->state_owner && st.st_uid != 0)) {
		log_err("state_file %s: lock file %s.lock is not a regular file owned by uid %u or "
			"root: remove it",
			path, path, (unsigned)t->state_owner);
		close(fd);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		if (e == EWOULDBLOCK) {
			n = pread(fd, pid, sizeof(pid) - 1, 0);
			pid[n > 0 ? n : 0] = 0;
			pid[strcspn(pid, "\n")] = 0;
			log_err("state_file %s is in use by another gslbd (pid %s, which holds "
				"%s.lock): refusing to start; stop it first, or give this one "
				"its own state_file",
				path, pid[0] ? pid : "unknown", path);
		} else {
			log_err("state_file %s: lock file %s.lock: flock: %s", path, path,
				strerror(e));
		}
		close(fd);
		return -1;
	}
	/* Made by root before the drop: the user's, so that it opens the same
	 * lock when a service manager starts it unprivileged later. */
	if (st.st_uid != t->state_owner && geteuid() == 0 &&
	    fchown(fd, t->state_owner, (gid_t)-1) != 0) {
		log_warn("state_file %s: lock file %s.lock: chown to uid %u: %s", path, path,
			 (unsigned)t->state_owner, strerror(errno));
	}
	t->state_lock = fd;
	lock_write_pid(t);
	return 0;
}

/* One "KIND KEY STATE" line (NUL-terminated, no newline) into the pending
 * table; returns 0, -1 if malformed, -2 if of no known kind or state. */
static int parse_line(struct health_table *t, char *line)
{
	char *kind, *key, *state, *save = NULL;
	struct pending_line *l;
	int lkind, value = 0;
	double num = 0;
	char *more, *end;

	if (strncmp(line, "shift ", 6) == 0) {
		/* Lines of the shift module: kept whole for health_take_extra. */
		t->extra = xrealloc(t->extra, (t->nextra + 1) * sizeof(*t->extra));
		t->extra[t->nextra++] = xstrdup(line);
		return 0;
	}
	kind = strtok_r(line, " \t\r", &save);
	key = kind ? strtok_r(NULL, " \t\r", &save) : NULL;
	state = key ? strtok_r(NULL, " \t\r", &save) : NULL;
	if (!state || strlen(kind) > 15 || strlen(key) > 799 || strlen(state) > 31) {
		return -1;
	}
	more = strtok_r(NULL, " \t\r", &save);
	if (strcmp(kind, "health") == 0) {
		lkind = LINE_HEALTH;
		value = strcmp(state, "up") == 0 ? HEALTH_UP
			: strcmp(state, "down") == 0 ? HEALTH_DOWN
						     : -1;
	} else if (strcmp(kind, "admin") == 0) {
		lkind = LINE_ADMIN;
		value = strcmp(state, "drained") == 0 ? ADMIN_DRAINED
			: strcmp(state, "forced-up") == 0 ? ADMIN_FORCED_UP
							  : -1;
		/* "admin KEY drained UNTIL": a timed drain (older versions read
		 * three words and keep it drained). */
		if (more && value == ADMIN_DRAINED) {
			num = strtod(more, &end);
			if (*end || !(num > 0 && num < 1e11)) {
				return -1;
			}
		}
	} else if (strcmp(kind, "weight") == 0 || strcmp(kind, "ramp") == 0) {
		lkind = kind[0] == 'w' ? LINE_WEIGHT : LINE_RAMP;
		num = strtod(state, &end);
		if (*end || !(num >= 0 && num <= (lkind == LINE_WEIGHT ? 1000000 : 1e11))) {
			return -1;
		}
	} else {
		return -2;
	}
	if (value < 0) {
		return -2;
	}
	/* A key given twice: the later line wins, as it would have. */
	l = (struct pending_line *)pending_find(t, key, lkind);
	if (!l) {
		size_t i = key_hash(key) & t->pending_mask;
		if (t->npending == t->cappending) {
			return -1; /* cannot happen: room was counted for every valid line */
		}
		while (t->pending_index[i]) {
			i = (i + 1) & t->pending_mask;
		}
		l = &t->pending[t->npending++];
		t->pending_index[i] = (uint32_t)t->npending;
		l->key = key;
		l->kind = (uint8_t)lkind;
	}
	l->value = (uint8_t)value;
	l->num = num;
	return 0;
}

/* Split @len bytes of @text (the table keeps them) into pending lines. */
static void parse_state(struct health_table *t, char *text, size_t len, const char *path)
{
	size_t nlines = 0, size = 16, bad = 0, start = 0;
	int lineno = 0;

	/* Room for the lines long enough to be valid (the shortest is
	 * "health K up"), so that a file of empty or short lines costs
	 * nothing: at most len / 12 of them. */
	for (size_t i = 0; i <= len; i++) {
		if (i == len || text[i] == '\n') {
			nlines += i - start >= 11;
			start = i + 1;
		}
	}
	while (size < nlines * 2) {
		size *= 2;
	}
	t->pending_text = text;
	t->cappending = nlines;
	t->pending = xcalloc(nlines ? nlines : 1, sizeof(*t->pending));
	t->pending_index = xcalloc(size, sizeof(*t->pending_index));
	t->pending_mask = size - 1;
	for (char *line = text, *end; line < text + len; line = end + 1) {
		int rc;
		end = memchr(line, '\n', (size_t)(text + len - line));
		if (!end) {
			end = text + len; /* the last line, without its newline */
		}
		*end = 0;
		lineno++;
		if (line[0] == '#' || line[0] == 0) {
			continue;
		}
		rc = strlen(line) != (size_t)(end - line) ? -1 : parse_line(t, line); /* a NUL in it */
		if (rc != 0 && ++bad <= STATE_MAX_WARNINGS) {
			log_warn("%s:%d: ignored %s", path, lineno,
				 rc == -1 ? "malformed state line" : "state line");
		}
	}
	if (bad > STATE_MAX_WARNINGS) {
		log_warn("%s: %zu more lines ignored", path, bad - STATE_MAX_WARNINGS);
	}
}

/* Read the state file into the pending table if it can be trusted;
 * otherwise say why and leave it. */
static void read_state(struct health_table *t, const char *path)
{
	const char *then = "ignored: members start as their checks' `initial` says, and the "
			   "next save replaces it";
	struct stat st;
	char *text;
	size_t len = 0;
	int fd;

	fd = openat(t->state_dir, t->state_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			return; /* first start */
		}
		if (errno == ELOOP) {
			log_err("state_file %s: a symbolic link, not trusted; %s", path, then);
		} else {
			log_err("state_file %s: cannot read it: %s; %s", path, strerror(errno), then);
		}
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		log_err("state_file %s: not a regular file; %s", path, then);
	} else if (st.st_uid != t->state_owner && st.st_uid != 0) {
		log_err("state_file %s: owned by uid %u, not by gslbd's uid %u or root, so someone "
			"else may have written it; %s",
			path, (unsigned)st.st_uid, (unsigned)t->state_owner, then);
	} else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		log_err("state_file %s: writable by group or others (mode %04o), so anyone may "
			"have written it; %s",
			path, (unsigned)st.st_mode & 07777, then);
	} else if (st.st_size > (off_t)HEALTH_STATE_MAX_BYTES) {
		log_err("state_file %s: %lld bytes, over the bound of %u (%u MiB); %s", path,
			(long long)st.st_size, HEALTH_STATE_MAX_BYTES, HEALTH_STATE_MAX_BYTES >> 20,
			then);
	} else {
		/* One byte more than fstat said: a file that grows while it is
		 * read is being written by someone (we only ever rename a new
		 * one in), and the bound holds whatever it grows to. */
		size_t cap = (size_t)st.st_size + 1;
		text = xmalloc(cap + 1);
		while (len < cap) {
			ssize_t r = read(fd, text + len, cap - len);
			if (r > 0) {
				len += (size_t)r;
			} else if (r == 0 || errno != EINTR) {
				break;
			}
		}
		if (len == cap) {
			log_err("state_file %s: grew while it was read; %s", path, then);
			free(text);
		} else {
			text[len] = 0;
			parse_state(t, text, len, path);
		}
	}
	close(fd);
}

int health_load_state(struct health_table *t, const char *path, uid_t owner)
{
	char dir[4096], why[200];
	const char *name;
	struct stat st;

	assert(t->nentries == 0 && t->state_dir < 0); /* once, before the first build */
	if (!split_path(dir, sizeof(dir), path, &name)) {
		log_err("state_file %s: not a file name", path);
		return -1;
	}
	t->state_owner = owner;
	t->state_dir = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->state_dir < 0) {
		log_err("state_file %s: directory %s: %s", path, dir, strerror(errno));
		return -1;
	}
	if (fstat(t->state_dir, &st) != 0 || dir_trusted(&st, owner, why, sizeof(why)) != 0) {
		log_err("state_file %s: directory %s is %s: whoever can write there could replace "
			"the file or plant links where it is written; make it owned by uid %u "
			"(or root) and not writable by group or others (e.g. chmod go-w %s)",
			path, dir, why, (unsigned)owner, dir);
		state_close(t);
		return -1;
	}
	if (lock_state(t, path, name) != 0) {
		state_close(t);
		return -1;
	}
	t->state_file = xstrdup(path);
	t->state_name = xstrdup(name);
	read_state(t, path);
	return 0;
}

/* A failure to save, logged when it differs from the last one: saves are
 * retried every second while the state is dirty. */
static void save_failed(struct health_table *t, const char *what, int err)
{
	char msg[sizeof(t->save_error)];

	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(err));
	if (strcmp(msg, t->save_error) != 0) {
		log_warn("state_file %s: cannot save: %s (retried while the state changes; logged "
			 "again if the reason changes)",
			 t->state_file, msg);
		snprintf(t->save_error, sizeof(t->save_error), "%s", msg);
	}
	atomic_store(&t->dirty, true); /* try again at the next save */
}

/* A fresh name beside the state file: STATE.tmp.XXXXXXXX, random, so nobody
 * can plant a link where it will be written. */
static void tmp_name(char *buf, size_t size, const char *name)
{
	static const char digits[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	uint8_t rnd[8];
	char suffix[sizeof(rnd) + 1];

	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		uint64_t x = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20) ^ (uint64_t)clock();
		memcpy(rnd, &x, sizeof(rnd));
	}
	for (size_t i = 0; i < sizeof(rnd); i++) {
		suffix[i] = digits[rnd[i] % (sizeof(digits) - 1)];
	}
	suffix[sizeof(rnd)] = 0;
	snprintf(buf, size, "%s.tmp.%s", name, suffix);
}

int health_save_state(struct health_table *t)
{
	char tmp[4200], why[200];
	struct stat st;
	FILE *f;
	int fd = -1, err = 0;
	const char *what;

	if (t->state_dir < 0) {
		return 0;
	}
	if (t->lock_pid != getpid()) {
		lock_write_pid(t); /* after daemon() */
	}
	if (fstat(t->state_dir, &st) != 0 || dir_trusted(&st, t->state_owner, why, sizeof(why))) {
		char msg[300];
		snprintf(msg, sizeof(msg), "its directory is %s", why);
		if (strcmp(msg, t->save_error) != 0) {
			log_err("state_file %s: not saved: %s", t->state_file, msg);
			snprintf(t->save_error, sizeof(t->save_error), "%s", msg);
		}
		atomic_store(&t->dirty, true);
		return -1;
	}
	for (int i = 0; i < 16 && fd < 0; i++) {
		tmp_name(tmp, sizeof(tmp), t->state_name);
		fd = openat(t->state_dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		if (fd < 0 && errno != EEXIST) {
			break;
		}
	}
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		save_failed(t, "creating a file beside it", errno);
		if (fd >= 0) {
			close(fd);
			unlinkat(t->state_dir, tmp, 0);
		}
		return -1;
	}
	pthread_mutex_lock(&t->lock);
	fprintf(f, "# gslbd state: health and admin overrides; rewritten atomically\n");
	for (size_t i = 0; i < t->nentries; i++) {
		const struct health_entry *e = t->entries[i];
		if (!e->in_use || strcmp(e->key, ALWAYS_UP_KEY) == 0) {
			continue; /* not named by the config any more; always up anyway */
		}
		if (e->is_admin) {
			if (e->admin == ADMIN_DRAINED && e->drain_until != 0) {
				fprintf(f, "admin %s drained %.3f\n", e->key, e->drain_until);
			} else if (e->admin != ADMIN_NONE) {
				fprintf(f, "admin %s %s\n", e->key,
					e->admin == ADMIN_DRAINED ? "drained" : "forced-up");
			}
			if (e->runtime >= 0) {
				fprintf(f, "weight %s %d\n", e->key, (int)e->runtime);
			}
			if (e->ramp_start != 0) {
				fprintf(f, "ramp %s %.3f\n", e->key, e->ramp_start);
			}
		} else {
			fprintf(f, "health %s %s\n", e->key, e->sm.state == HEALTH_UP ? "up" : "down");
		}
	}
	atomic_store(&t->dirty, false);
	pthread_mutex_unlock(&t->lock);
	if (t->hook_write) {
		t->hook_write(f, t->hook_arg);
	}
	what = "write";
	if (fflush(f) != 0) {
		err = errno;
	} else if (fsync(fileno(f)) != 0) {
		what = "fsync";
		err = errno;
	}
	if (fclose(f) != 0 && !err) {
		err = errno;
	}
	if (!err && renameat(t->state_dir, tmp, t->state_dir, t->state_name) != 0) {
		what = "rename";
		err = errno;
	}
	if (err) {
		unlinkat(t->state_dir, tmp, 0);
		save_failed(t, what, err);
		return -1;
	}
	/* The rename is in the directory: it lasts a crash once that is synced. */
	if (fsync(t->state_dir) != 0) {
		save_failed(t, "fsync of its directory", errno);
		return -1;
	}
	if (t->save_error[0]) {
		log_info("state_file %s: saved again", t->state_file);
		t->save_error[0] = 0;
	}
	return 0;
}
