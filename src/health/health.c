/* health.c -- member health: state machine, admin overrides, word table, state file. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
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
	char *state_file;     /* NULL: no persistence */
	unsigned build_gen;   /* snapshot builds so far (main thread) */
	atomic_bool dirty;    /* state changed since the last save */
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
	return t;
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
	free(t->state_file);
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

/* Find or add the probe entry @key; caller holds the lock. */
static struct health_entry *get(struct health_table *t, const char *key, bool initial_up)
{
	struct health_entry *e = find(t, key);

	if (!e) {
		e = add_entry(t, key);
		e->sm.state = initial_up ? HEALTH_UP : HEALTH_DOWN;
		e->word = new_word(t, e, e->sm.state == HEALTH_UP);
	} else if (e->is_admin) {
		return NULL;
	}
	e->in_use = true;
	return e;
}

struct health_entry *health_get(struct health_table *t, const char *target, const char *check,
				const char *kind, bool initial_up)
{
	struct health_entry *e;
	char key[600];

	snprintf(key, sizeof(key), "%s/%s", target, check);
	pthread_mutex_lock(&t->lock);
	e = get(t, key, initial_up);
	if (e) {
		/* An entry known only from the state file keeps that state. */
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
	e = get(t, ALWAYS_UP_KEY, true);
	set_str(&e->target, "-");
	set_str(&e->check, "none");
	set_str(&e->kind, "none");
	pthread_mutex_unlock(&t->lock);
	return e;
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
		e = add_entry(t, key);
		e->is_admin = true;
		e->word = new_word(t, e, ADMIN_NONE);
	}
	e->in_use = true;
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
		e->in_use = e->is_admin || strcmp(e->key, ALWAYS_UP_KEY) == 0;
	}
	for (size_t i = 0; i < n; i++) {
		probed[i]->in_use = true;
	}
	pthread_mutex_unlock(&t->lock);
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
	if (ok) {
		e->probes_ok++;
	} else {
		e->probes_failed++;
	}
	if (changed) {
		e->changed = now;
		e->changes++;
		atomic_store(&t->dirty, true);
		atomic_store_explicit(word_ptr(t, e->word), e->sm.state == HEALTH_UP,
				      memory_order_release);
		if (e->sm.state == HEALTH_UP) {
			log_info("%s %s UP after %u success%s: %s", e->target ? e->target : e->key,
				 e->kind ? e->kind : "", run, run == 1 ? "" : "es", e->reason);
		} else {
			log_warn("%s %s DOWN after %u failure%s: %s", e->target ? e->target : e->key,
				 e->kind ? e->kind : "", run, run == 1 ? "" : "s", e->reason);
		}
	}
	pthread_mutex_unlock(&t->lock);
	return changed;
}

/* Caller holds the lock. */
static void set_admin(struct health_table *t, struct health_entry *e, enum health_admin admin)
{
	if (e->admin != admin) {
		e->admin = admin;
		atomic_store(&t->dirty, true);
		atomic_store_explicit(word_ptr(t, e->word), (uint8_t)admin, memory_order_release);
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
	struct health_entry *e;
	char key[600];

	admin_key(key, sizeof(key), pool, address);
	pthread_mutex_lock(&t->lock);
	e = find(t, key);
	if (e && e->is_admin) {
		*was = e->admin;
		set_admin(t, e, admin);
	}
	pthread_mutex_unlock(&t->lock);
	return e && e->is_admin ? 0 : -1;
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
}

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

bool health_take_dirty(struct health_table *t)
{
	return atomic_exchange(&t->dirty, false);
}

int health_load_state(struct health_table *t, const char *path)
{
	FILE *f;
	char line[1024];
	int lineno = 0;

	set_str(&t->state_file, path);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT) {
			return 0; /* first start */
		}
		log_warn("%s: cannot read state file: %s", path, strerror(errno));
		return -1;
	}
	pthread_mutex_lock(&t->lock);
	while (fgets(line, sizeof(line), f)) {
		char kind[16], key[800], state[16];
		struct health_entry *e;
		lineno++;
		if (line[0] == '#' || line[0] == '\n') {
			continue;
		}
		if (sscanf(line, "%15s %799s %15s", kind, key, state) != 3) {
			log_warn("%s:%d: ignored malformed state line", path, lineno);
			continue;
		}
		e = find(t, key);
		if (strcmp(kind, "health") == 0 && (!e || !e->is_admin)) {
			bool up = strcmp(state, "up") == 0;
			if (!e) {
				e = add_entry(t, key);
				e->word = new_word(t, e, up);
			}
			e->sm.state = up ? HEALTH_UP : HEALTH_DOWN;
			e->sm.count = 0;
			atomic_store(word_ptr(t, e->word), (uint8_t)up);
		} else if (strcmp(kind, "admin") == 0 && (!e || e->is_admin)) {
			enum health_admin a = strcmp(state, "drained") == 0     ? ADMIN_DRAINED
					      : strcmp(state, "forced-up") == 0 ? ADMIN_FORCED_UP
										: ADMIN_NONE;
			if (!e) {
				e = add_entry(t, key);
				e->is_admin = true;
				e->word = new_word(t, e, (uint8_t)a);
			}
			e->admin = a;
			atomic_store(word_ptr(t, e->word), (uint8_t)a);
		} else {
			log_warn("%s:%d: ignored state line", path, lineno);
		}
	}
	pthread_mutex_unlock(&t->lock);
	fclose(f);
	return 0;
}

int health_save_state(struct health_table *t)
{
	char tmp[4200];
	FILE *f;
	int fd, rc = 0;

	if (!t->state_file) {
		return 0;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", t->state_file, (int)getpid()) >=
	    sizeof(tmp)) {
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		log_warn("%s: cannot write state file: %s", tmp, strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	pthread_mutex_lock(&t->lock);
	fprintf(f, "# gslbd state: health and admin overrides; rewritten atomically\n");
	for (size_t i = 0; i < t->nentries; i++) {
		const struct health_entry *e = t->entries[i];
		if (e->is_admin) {
			if (e->admin != ADMIN_NONE) {
				fprintf(f, "admin %s %s\n", e->key,
					e->admin == ADMIN_DRAINED ? "drained" : "forced-up");
			}
		} else if (e->in_use || e->target == NULL) {
			fprintf(f, "health %s %s\n", e->key, e->sm.state == HEALTH_UP ? "up" : "down");
		}
	}
	atomic_store(&t->dirty, false);
	pthread_mutex_unlock(&t->lock);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		rc = -1;
	}
	if (fclose(f) != 0) {
		rc = -1;
	}
	if (rc == 0 && rename(tmp, t->state_file) != 0) {
		rc = -1;
	}
	if (rc != 0) {
		log_warn("%s: cannot write state file: %s", t->state_file, strerror(errno));
		unlink(tmp);
		atomic_store(&t->dirty, true); /* try again at the next save */
	}
	return rc;
}
