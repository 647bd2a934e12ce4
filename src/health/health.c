/* health.c -- member health: state machine, admin overrides, word table, state file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "health/health.h"
#include "util/log.h"
#include "util/mem.h"

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
	for (size_t i = 0; i < HEALTH_MAX_BLOCKS; i++) {
		free((void *)atomic_load(&t->blocks[i]));
	}
	free(t->state_file);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static _Atomic uint8_t *word_ptr(struct health_table *t, uint32_t w)
{
	return atomic_load_explicit(&t->blocks[w >> HEALTH_BLOCK_BITS], memory_order_acquire) +
	       (w & (HEALTH_BLOCK_SIZE - 1));
}

/* A new word; its block is allocated before anyone can hold its index, and
 * blocks never move. Caller holds the lock. */
static uint32_t new_word(struct health_table *t, uint8_t value)
{
	uint32_t w = t->nwords;

	if ((w >> HEALTH_BLOCK_BITS) >= HEALTH_MAX_BLOCKS) {
		log_err("health table full (%u entries)", w);
		abort();
	}
	if ((w & (HEALTH_BLOCK_SIZE - 1)) == 0) {
		_Atomic uint8_t *b = xcalloc(HEALTH_BLOCK_SIZE, sizeof(*b));
		atomic_store_explicit(&t->blocks[w >> HEALTH_BLOCK_BITS], b, memory_order_release);
	}
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

struct health_entry *health_find(struct health_table *t, const char *key)
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

struct health_entry *health_get(struct health_table *t, const char *key, const char *target,
				const char *check, const char *kind, bool initial_up)
{
	struct health_entry *e;

	pthread_mutex_lock(&t->lock);
	e = health_find(t, key);
	if (!e) {
		e = add_entry(t, key);
		e->sm.state = initial_up ? HEALTH_UP : HEALTH_DOWN;
		e->word = new_word(t, e->sm.state == HEALTH_UP);
	} else if (e->is_admin) {
		pthread_mutex_unlock(&t->lock);
		return NULL;
	}
	/* An entry known only from the state file keeps that state. */
	set_str(&e->target, target);
	set_str(&e->check, check);
	set_str(&e->kind, kind);
	e->in_use = true;
	pthread_mutex_unlock(&t->lock);
	return e;
}

struct health_entry *health_get_admin(struct health_table *t, const char *key)
{
	struct health_entry *e;

	pthread_mutex_lock(&t->lock);
	e = health_find(t, key);
	if (!e) {
		e = add_entry(t, key);
		e->is_admin = true;
		e->word = new_word(t, ADMIN_NONE);
	}
	e->in_use = true;
	pthread_mutex_unlock(&t->lock);
	return e;
}

void health_mark_unused(struct health_table *t)
{
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->nentries; i++) {
		t->entries[i]->in_use = false;
	}
	pthread_mutex_unlock(&t->lock);
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
	if (changed) {
		e->changed = now;
		t->dirty = true;
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

int health_set_admin(struct health_table *t, struct health_entry *e, enum health_admin admin)
{
	if (!e->is_admin) {
		return -1;
	}
	pthread_mutex_lock(&t->lock);
	if (e->admin != admin) {
		e->admin = admin;
		t->dirty = true;
		atomic_store_explicit(word_ptr(t, e->word), (uint8_t)admin, memory_order_release);
	}
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int health_load_state(struct health_table *t, const char *path)
{
	FILE *f;
	char line[1024];
	int lineno = 0;

	set_str(&t->state_file, path);
	f = fopen(path, "r");
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
		e = health_find(t, key);
		if (strcmp(kind, "health") == 0 && (!e || !e->is_admin)) {
			bool up = strcmp(state, "up") == 0;
			if (!e) {
				e = add_entry(t, key);
				e->word = new_word(t, up);
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
				e->word = new_word(t, (uint8_t)a);
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
	t->dirty = false;
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
	}
	return rc;
}
