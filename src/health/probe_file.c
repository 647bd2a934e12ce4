/* probe_file.c -- the file check and its settings: another system writes
 * "ADDRESS[:PORT] up|down" lines; we read them on every interval and at once
 * when the file changes (an ev_stat watcher per distinct path, shared by every probe that
 * reads it). The parsed file is cached per path and re-read only when its
 * inode, size or mtime change. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <ev.h>
#include <libconfig.h>

#include "data/conf.h"
#include "util/log.h"
#include "util/mem.h"
#include "health/check_kind.h"
#include "health/probe_int.h"

/* An address with or without a port; family 0 when the text is no address
 * (then it is compared as text). */
struct addr_key {
	int family;
	uint8_t addr[16];
	bool has_port;
	uint16_t port;
};

struct file_line {
	struct addr_key key;
	char *text; /* the first token */
	int state;  /* 1 up, 0 down, -1 neither */
	unsigned lineno;
};

struct probe_file {
	struct probe_engine *eng;
	char *path;
	unsigned refs;
	ev_stat stat;
	struct probe *users;
	struct probe_file *prev, *next;
	/* The cache. */
	bool cached; /* lines hold the file as identified below */
	int err;     /* errno of the last attempt, 0 if it was read */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim;
	struct file_line *lines;
	size_t nlines;
};

/* --- parsing ---------------------------------------------------------------------- */

static bool parse_port(struct addr_key *k, const char *s)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9') {
		return false;
	}
	v = strtoul(s, &end, 10);
	if (*end || v > 65535) {
		return false;
	}
	k->has_port = true;
	k->port = (uint16_t)v;
	return true;
}

/* "192.0.2.1", "192.0.2.1:80", "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:80". */
static bool parse_key(struct addr_key *k, const char *tok)
{
	char buf[64];
	const char *colon = strchr(tok, ':');

	memset(k, 0, sizeof(*k));
	if (tok[0] == '[') {
		const char *end = strchr(tok, ']');
		if (!end || (size_t)(end - tok - 1) >= sizeof(buf)) {
			return false;
		}
		memcpy(buf, tok + 1, (size_t)(end - tok - 1));
		buf[end - tok - 1] = 0;
		if (inet_pton(AF_INET6, buf, k->addr) != 1 ||
		    (end[1] && (end[1] != ':' || !parse_port(k, end + 2)))) {
			return false;
		}
		k->family = AF_INET6;
		return true;
	}
	if (colon && strchr(colon + 1, ':')) {
		if (inet_pton(AF_INET6, tok, k->addr) != 1) {
			return false;
		}
		k->family = AF_INET6;
		return true;
	}
	if (strlen(tok) >= sizeof(buf)) {
		return false;
	}
	snprintf(buf, sizeof(buf), "%s", tok);
	if (colon) {
		buf[colon - tok] = 0;
		if (!parse_port(k, colon + 1)) {
			return false;
		}
	}
	if (inet_pton(AF_INET, buf, k->addr) != 1) {
		return false;
	}
	k->family = AF_INET;
	return true;
}

static void drop_lines(struct probe_file *f)
{
	for (size_t i = 0; i < f->nlines; i++) {
		free(f->lines[i].text);
	}
	free(f->lines);
	f->lines = NULL;
	f->nlines = 0;
	f->cached = false;
}

static void parse_line(struct probe_file *f, char *line, unsigned lineno, size_t *cap)
{
	char *save, *tok, *word, *hash = strchr(line, '#');
	struct file_line *l;

	if (hash) {
		*hash = 0;
	}
	tok = strtok_r(line, " \t\r\n", &save);
	if (!tok) {
		return;
	}
	word = strtok_r(NULL, " \t\r\n", &save);
	if (f->nlines == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		f->lines = xrealloc(f->lines, *cap * sizeof(*f->lines));
	}
	l = &f->lines[f->nlines++];
	if (!parse_key(&l->key, tok)) {
		l->key.family = 0;
	}
	l->text = xstrdup(tok);
	l->lineno = lineno;
	l->state = -1;
	if (word && !strtok_r(NULL, " \t\r\n", &save)) {
		if (strcasecmp(word, "up") == 0) {
			l->state = 1;
		} else if (strcasecmp(word, "down") == 0) {
			l->state = 0;
		}
	}
}

/* Bring the cache up to date with the file. */
static void refresh(struct probe_file *f)
{
	struct stat st;
	char *line = NULL;
	size_t len = 0, cap = 0;
	unsigned lineno = 0;
	FILE *fp;

	if (stat(f->path, &st) != 0) {
		drop_lines(f);
		f->err = errno;
		return;
	}
	if (f->cached && st.st_dev == f->dev && st.st_ino == f->ino && st.st_size == f->size &&
	    st.st_mtim.tv_sec == f->mtim.tv_sec && st.st_mtim.tv_nsec == f->mtim.tv_nsec) {
		return;
	}
	drop_lines(f);
	fp = fopen(f->path, "re");
	if (!fp || fstat(fileno(fp), &st) != 0) {
		f->err = errno;
		if (fp) {
			fclose(fp);
		}
		return;
	}
	while (getline(&line, &len, fp) >= 0) {
		parse_line(f, line, ++lineno, &cap);
	}
	free(line);
	if (ferror(fp)) {
		f->err = EIO;
		drop_lines(f);
		fclose(fp);
		return;
	}
	fclose(fp);
	f->err = 0;
	f->cached = true;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->size = st.st_size;
	f->mtim = st.st_mtim;
}

static bool same_addr(const struct addr_key *a, const struct addr_key *b)
{
	return a->family == b->family &&
	       memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

/* The line for @key: one naming exactly that address (and port), else one
 * naming the bare address when @key has a port. The last such line wins. */
static const struct file_line *lookup(const struct probe_file *f, const char *key)
{
	const struct file_line *exact = NULL, *bare = NULL;
	struct addr_key k;
	bool parsed = parse_key(&k, key);

	for (size_t i = 0; i < f->nlines; i++) {
		const struct file_line *l = &f->lines[i];
		if (!parsed || l->key.family == 0) {
			if (strcmp(l->text, key) == 0) {
				exact = l;
			}
			continue;
		}
		if (!same_addr(&l->key, &k)) {
			continue;
		}
		if (l->key.has_port == k.has_port && l->key.port == k.port) {
			exact = l;
		} else if (!l->key.has_port && k.has_port) {
			bare = l;
		}
	}
	return exact ? exact : bare;
}

/* --- runs ----------------------------------------------------------------------- */

static void file_start(struct probe *p)
{
	const struct probe_file_opts *o = p->spec->opts;
	struct probe_file *f = p->file;
	const struct file_line *l;
	char reason[PROBE_REASON_MAX], tmp[128];

	refresh(f);
	if (f->err) {
		snprintf(reason, sizeof(reason), "%.100s: %s", f->path,
			 strerror_r(f->err, tmp, sizeof(tmp)));
		probe_done(p, false, reason);
		return;
	}
	l = lookup(f, o->key);
	if (!l) {
		snprintf(reason, sizeof(reason), "not in %.140s", f->path);
		probe_done(p, false, reason);
	} else if (l->state < 0) {
		snprintf(reason, sizeof(reason), "%.100s:%u: neither up nor down", f->path,
			 l->lineno);
		probe_done(p, false, reason);
	} else {
		probe_done(p, l->state == 1, l->state == 1 ? "file says up" : "file says down");
	}
}

static void file_free(struct probe_file *f);

/* A change is judged at once, for every probe that reads the file; their
 * schedules go on unchanged. */
static void stat_cb(struct ev_loop *loop, ev_stat *w, int revents)
{
	struct probe_file *f = w->data;
	struct probe *p, *next;

	f->refs++; /* the file outlives this walk whatever a run does */
	for (p = f->users; p; p = next) {
		next = p->file_next;
		probe_run(p);
	}
	if (--f->refs == 0) {
		file_free(f);
	}
}

static void file_free(struct probe_file *f)
{
	struct probe_engine *e = f->eng;

	ev_stat_stop(e->loop, &f->stat);
	if (f->prev) {
		f->prev->next = f->next;
	} else {
		e->files = f->next;
	}
	if (f->next) {
		f->next->prev = f->prev;
	}
	drop_lines(f);
	free(f->path);
	free(f);
}

static struct probe_file *file_get(struct probe_engine *e, const char *path)
{
	struct probe_file *f;

	for (f = e->files; f; f = f->next) {
		if (strcmp(f->path, path) == 0) {
			return f;
		}
	}
	f = xcalloc(1, sizeof(*f));
	f->eng = e;
	f->path = xstrdup(path);
	f->next = e->files;
	if (f->next) {
		f->next->prev = f;
	}
	e->files = f;
	/* inotify where libev has it; polling every 5 s otherwise (the interval
	 * re-reads anyway). */
	ev_stat_init(&f->stat, stat_cb, f->path, 0.);
	f->stat.data = f;
	ev_stat_start(e->loop, &f->stat);
	return f;
}

static void file_clear(struct probe *p);

/* Attaches p to its file, sharing one per path. */
static void file_setup(struct probe *p)
{
	const struct probe_file_opts *s = p->spec->opts;
	struct probe_file *f;

	if (!s || !s->path || !s->key) {
		snprintf(p->setup_err, sizeof(p->setup_err), "no file");
		file_clear(p);
		return;
	}
	if (p->file && strcmp(p->file->path, s->path) == 0) {
		return;
	}
	/* Take the new file before letting go of the old. */
	f = file_get(p->eng, s->path);
	f->refs++;
	file_clear(p);
	p->file = f;
	p->file_prev = NULL;
	p->file_next = f->users;
	if (p->file_next) {
		p->file_next->file_prev = p;
	}
	f->users = p;
}

static void file_clear(struct probe *p)
{
	struct probe_file *f = p->file;

	if (!f) {
		return;
	}
	if (p->file_prev) {
		p->file_prev->file_next = p->file_next;
	} else {
		f->users = p->file_next;
	}
	if (p->file_next) {
		p->file_next->file_prev = p->file_prev;
	}
	p->file = NULL;
	p->file_prev = p->file_next = NULL;
	if (--f->refs == 0) {
		file_free(f);
	}
}

static void file_fini(struct probe_engine *e)
{
	while (e->files) {
		file_free(e->files);
	}
}

/* --- configuration ------------------------------------------------------------- */

static void *opts_new(void)
{
	return xcalloc(1, sizeof(struct probe_file_opts));
}

static void *opts_dup(const void *opts)
{
	const struct probe_file_opts *o = opts;
	struct probe_file_opts *d = xcalloc(1, sizeof(*d));

	d->path = o->path ? xstrdup(o->path) : NULL;
	d->key = o->key ? xstrdup(o->key) : NULL;
	return d;
}

static void opts_free(void *opts)
{
	struct probe_file_opts *o = opts;

	if (!o) {
		return;
	}
	free(o->path);
	free(o->key);
	free(o);
}

/* Relative to the config file, as zone files are. */
static void parse_path(struct conf_ctx *c, struct conf_check *k, const config_setting_t *s)
{
	struct probe_file_opts *o = k->opts;
	const char *str = conf_string(c, s);

	if (str) {
		free(o->path);
		o->path = conf_resolve(c, str);
	}
}

static void validate(struct conf_ctx *c, struct conf_check *k, const config_setting_t *s)
{
	const struct probe_file_opts *o = k->opts;

	if (!o->path) {
		conf_error(c, s, "a file check needs 'path'");
	}
}

/* The file's lines name a member by address, or by address and port when
 * the check or the member gives a port. */
static void make_spec(struct probe_spec *ps, const struct conf_check *k,
		      const struct conf_member *m)
{
	struct probe_file_opts *o = opts_dup(k->opts);
	char a[INET6_ADDRSTRLEN], key[INET6_ADDRSTRLEN + 10];
	unsigned port = probe_port(ps);

	probe_addr_text(a, sizeof(a), ps);
	if (port) {
		snprintf(key, sizeof(key), ps->addr.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
			 port);
		o->key = xstrdup(key);
	} else {
		o->key = xstrdup(a);
	}
	ps->opts = o;
}

static const struct check_setting settings[] = {
    {"port", conf_check_port},
    {"path", parse_path},
    {NULL, NULL},
};

static const char *const member_settings[] = {"port", "probe_address", NULL};

static const char *file_reads(const struct conf_check *k)
{
	const struct probe_file_opts *o = k->opts;

	return o ? o->path : NULL;
}

const struct check_kind check_kind_file = {
    .name = "file",
    .settings = settings,
    .member_settings = member_settings,
    .opts_new = opts_new,
    .opts_dup = opts_dup,
    .opts_free = opts_free,
    .validate = validate,
    .make_spec = make_spec,
    .reads_file = file_reads,
    .setup = file_setup,
    .clear = file_clear,
    .start = file_start,
    .fini = file_fini,
};
