/* steer.c -- effective weights, published per pool family, and shifts. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "data/snapshot.h"
#include "health/health.h"
#include "lb/steer.h"
#include "util/log.h"
#include "util/mem.h"

#define SHIFT_HISTORY 16

enum shift_state { SHIFT_RUNNING, SHIFT_PAUSED, SHIFT_HELD, SHIFT_DONE, SHIFT_ROLLED_BACK };
static const char *const shift_state_names[] = {"running", "paused", "held", "done", "rolled-back"};

struct shift_event {
	double at;
	char text[140];
};

struct shift {
	struct shift *next;
	char *pool;
	char *to;	       /* a group name or a member address */
	unsigned step;	       /* percentage points per step */
	double every;	       /* seconds between steps */
	unsigned min_healthy;  /* 0: the pool's */
	unsigned steps;	       /* taken so far */
	double start_share[2]; /* per family (A, AAAA): the destination's share at the start */
	double next_step;      /* wall clock */
	double started;
	enum shift_state state;
	char why[140]; /* the last pause, hold or rollback reason */
	uint64_t nsteps, nholds, nrollbacks;
	struct shift_event history[SHIFT_HISTORY];
	unsigned nhistory; /* events so far; the last SHIFT_HISTORY are kept */
};

struct steer {
	struct health_table *health;
	unsigned gen;	/* health generation at the last refresh */
	bool refreshed; /* a refresh has run */
	struct shift *shifts;
};

/* --- pure helpers ------------------------------------------------------------- */

double steer_ramp_factor(double elapsed, double period)
{
	double f;

	if (period <= 0 || elapsed >= period) {
		return 1;
	}
	f = elapsed > 0 ? elapsed / period : 0;
	return STEER_RAMP_MIN + (1 - STEER_RAMP_MIN) * f;
}

void steer_normalize(uint32_t *out, const double *x, unsigned n)
{
	double sum = 0;
	bool integers = true;

	for (unsigned i = 0; i < n; i++) {
		sum += x[i];
		/* 0 must become tiny against the others, not 1 among small integers. */
		integers = integers && x[i] == floor(x[i]) && x[i] >= 1;
	}
	if (integers && sum < 2147483648.0) {
		for (unsigned i = 0; i < n; i++) {
			out[i] = x[i] >= 1 ? (uint32_t)x[i] : 1;
		}
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		double v = sum > 0 ? x[i] / sum * STEER_SCALE : 1;
		out[i] = v >= 1 ? (uint32_t)llround(v) : 1;
	}
}

void steer_shift_apply(double *x, const bool *dest, const bool *up, unsigned n, double share)
{
	double d = 0, o = 0;

	for (unsigned i = 0; i < n; i++) {
		if (up[i]) {
			*(dest[i] ? &d : &o) += x[i];
		}
	}
	if (d <= 0 || o <= 0) {
		return;
	}
	share = share < 0 ? 0 : share > 1 ? 1 : share;
	for (unsigned i = 0; i < n; i++) {
		x[i] *= dest[i] ? share * (d + o) / d : (1 - share) * (d + o) / o;
	}
}

int steer_parse_duration(const char *text, double *out, char *err, size_t size)
{
	char *end;
	double v, unit;

	if (!isdigit((unsigned char)text[0])) {
		snprintf(err, size,
			 "bad duration \"%.40s\": expected a number and a unit, s, m, h "
			 "or d (\"30m\")",
			 text);
		return -1;
	}
	v = strtod(text, &end);
	switch (end[0]) {
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		unit = 0;
		break;
	}
	if (!unit || end[1] || !(v > 0) || v * unit > 366.0 * 86400) {
		snprintf(err, size,
			 "bad duration \"%.40s\": expected a number above 0 and a unit, "
			 "s, m, h or d (\"30m\"), at most 366 days",
			 text);
		return -1;
	}
	*out = v * unit;
	return 0;
}

int steer_parse_time(const char *text, double *out, char *err, size_t size)
{
	struct tm tm;
	int y, mo, d, h, mi, s = 0, n = 0, len = (int)strlen(text);
	const char *rest;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10 ||
	    (text[10] != 'T' && text[10] != 't') ||
	    sscanf(text + 11, "%2d:%2d%n", &h, &mi, &n) != 2 || n != 5) {
		goto bad;
	}
	rest = text + 16;
	if (rest[0] == ':') {
		if (!isdigit((unsigned char)rest[1]) || !isdigit((unsigned char)rest[2])) {
			goto bad;
		}
		s = (rest[1] - '0') * 10 + (rest[2] - '0');
		rest += 3;
	}
	if (!(strcmp(rest, "Z") == 0 || strcmp(rest, "z") == 0 || strcmp(rest, "+00:00") == 0)) {
		goto bad;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 || y < 1970 ||
	    h < 0 || mi < 0) {
		goto bad;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	t = timegm(&tm);
	/* timegm normalises 31 February into March: refuse what moved. */
	if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != mo - 1) {
		goto bad;
	}
	*out = (double)t;
	return 0;
bad:
	(void)len;
	snprintf(err, size,
		 "bad time \"%.40s\": expected RFC 3339 in UTC, "
		 "YYYY-MM-DDTHH:MM[:SS]Z (\"2026-12-24T06:00Z\")",
		 text);
	return -1;
}

void steer_retired_free(struct steer_retired *r)
{
	for (size_t i = 0; i < r->n; i++) {
		pool_weights_free(r->sets[i]);
	}
	free(r->sets);
	memset(r, 0, sizeof(*r));
}

static void retire(struct steer_retired *r, struct pool_weights *w)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->sets = xrealloc(r->sets, r->cap * sizeof(*r->sets));
	}
	r->sets[r->n++] = w;
}

/* --- shifts ------------------------------------------------------------------- */

/* A shift changed: refresh the weights, save the state file. */
static void mark(struct steer *st)
{
	if (st->health) {
		health_mark_dirty(st->health);
	}
}

static struct shift *shift_find(const struct steer *st, const char *pool)
{
	for (struct shift *sh = st->shifts; sh; sh = sh->next) {
		if (strcmp(sh->pool, pool) == 0) {
			return sh;
		}
	}
	return NULL;
}

static void shift_event(struct shift *sh, double now, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void shift_event(struct shift *sh, double now, const char *fmt, ...)
{
	struct shift_event *e = &sh->history[sh->nhistory++ % SHIFT_HISTORY];
	va_list ap;

	e->at = now;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	log_info("shift of pool %s to %s: %s", sh->pool, sh->to, e->text);
}

static bool is_dest(const struct shift *sh, const struct pool_family *f, unsigned i)
{
	return (f->group[i] && strcmp(f->group[i], sh->to) == 0) || strcmp(f->text[i], sh->to) == 0;
}

static bool shift_active(const struct shift *sh)
{
	return sh && sh->state != SHIFT_ROLLED_BACK;
}

static double shift_share(const struct shift *sh, int fam)
{
	double s = sh->start_share[fam] + sh->steps * sh->step / 100.0;

	return sh->state == SHIFT_DONE || s > 1 ? 1 : s;
}

static void shift_free(struct shift *sh)
{
	free(sh->pool);
	free(sh->to);
	free(sh);
}

/* "shift POOL key=value ..." as the state file holds it. */
static void shift_write(FILE *f, void *arg)
{
	struct steer *st = arg;

	for (struct shift *sh = st->shifts; sh; sh = sh->next) {
		fprintf(f,
			"shift %s to=%s step=%u every=%.3f min=%u steps=%u s4=%.6f s6=%.6f "
			"state=%s next=%.3f started=%.3f nsteps=%llu nholds=%llu nrollbacks=%llu\n",
			sh->pool, sh->to, sh->step, sh->every, sh->min_healthy, sh->steps,
			sh->start_share[0], sh->start_share[1], shift_state_names[sh->state],
			sh->next_step, sh->started, (unsigned long long)sh->nsteps,
			(unsigned long long)sh->nholds, (unsigned long long)sh->nrollbacks);
	}
}

static void shift_read(const char *line, void *arg)
{
	struct steer *st = arg;
	char buf[1024], *save = NULL, *tok;
	struct shift *sh = xcalloc(1, sizeof(*sh));
	int ok = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	strtok_r(buf, " ", &save);
	tok = strtok_r(NULL, " ", &save);
	if (tok) {
		sh->pool = xstrdup(tok);
	}
	while (tok && (tok = strtok_r(NULL, " ", &save))) {
		char *eq = strchr(tok, '=');
		if (!eq) {
			break;
		}
		*eq++ = 0;
		if (strcmp(tok, "to") == 0) {
			free(sh->to);
			sh->to = xstrdup(eq);
			ok |= 1;
		} else if (strcmp(tok, "step") == 0) {
			sh->step = (unsigned)strtoul(eq, NULL, 10);
		} else if (strcmp(tok, "every") == 0) {
			sh->every = strtod(eq, NULL);
		} else if (strcmp(tok, "min") == 0) {
			sh->min_healthy = (unsigned)strtoul(eq, NULL, 10);
		} else if (strcmp(tok, "steps") == 0) {
			sh->steps = (unsigned)strtoul(eq, NULL, 10);
		} else if (strcmp(tok, "s4") == 0) {
			sh->start_share[0] = strtod(eq, NULL);
		} else if (strcmp(tok, "s6") == 0) {
			sh->start_share[1] = strtod(eq, NULL);
		} else if (strcmp(tok, "next") == 0) {
			sh->next_step = strtod(eq, NULL);
		} else if (strcmp(tok, "started") == 0) {
			sh->started = strtod(eq, NULL);
		} else if (strcmp(tok, "nsteps") == 0) {
			sh->nsteps = strtoull(eq, NULL, 10);
		} else if (strcmp(tok, "nholds") == 0) {
			sh->nholds = strtoull(eq, NULL, 10);
		} else if (strcmp(tok, "nrollbacks") == 0) {
			sh->nrollbacks = strtoull(eq, NULL, 10);
		} else if (strcmp(tok, "state") == 0) {
			for (int i = 0; i <= SHIFT_ROLLED_BACK; i++) {
				if (strcmp(eq, shift_state_names[i]) == 0) {
					sh->state = (enum shift_state)i;
					ok |= 2;
				}
			}
		}
	}
	if (ok != 3 || !sh->pool || sh->step < 1 || sh->step > 100 || !(sh->every >= 0.1) ||
	    shift_find(st, sh->pool)) {
		log_warn("state file: ignored a malformed shift line");
		free(sh->to);
		free(sh->pool);
		free(sh);
		return;
	}
	shift_event(sh, sh->started, "resumed from the state file: %s, step %u",
		    shift_state_names[sh->state], sh->steps);
	sh->next = st->shifts;
	st->shifts = sh;
}

/* --- weights ------------------------------------------------------------------ */

struct steer *steer_new(struct health_table *t)
{
	struct steer *st = xcalloc(1, sizeof(*st));

	st->health = t;
	if (t) {
		health_take_extra(t, shift_read, st);
		health_state_hook(t, shift_write, st);
	}
	return st;
}

void steer_free(struct steer *st)
{
	if (!st) {
		return;
	}
	if (st->health) {
		health_state_hook(st->health, NULL, NULL);
	}
	while (st->shifts) {
		struct shift *sh = st->shifts;
		st->shifts = sh->next;
		shift_free(sh);
	}
	free(st);
}

bool steer_stale(struct steer *st)
{
	return !st->refreshed || (st->health && health_generation(st->health) != st->gen);
}

/* Count the destination members of @sh in @p that exist and that are up. */
static void dest_count(const struct shift *sh, const struct pool *p, struct health_table *t,
		       unsigned *total, unsigned *up, unsigned *low, char *lowaddr, size_t lowsize)
{
	*total = *up = *low = 0;
	for (int fi = 0; fi < 2; fi++) {
		const struct pool_family *f = fi ? &p->v6 : &p->v4;
		for (unsigned i = 0; i < f->n; i++) {
			struct health_info h;
			if (!is_dest(sh, f, i)) {
				continue;
			}
			(*total)++;
			if (!t || health_member_up(t, f->hword[i], f->aword[i])) {
				(*up)++;
			}
			if (t && health_info_by_word(t, f->hword[i], &h) &&
			    h.reported < STEER_SHIFT_LOW_REPORT) {
				(*low)++;
				snprintf(lowaddr, lowsize, "%s", f->text[i]);
			}
		}
	}
}

/* Step, hold, resume or roll back @sh of pool @p; returns its next step. */
static double shift_tick(struct steer *st, struct shift *sh, const struct pool *p, double now)
{
	unsigned total, up, low, min;
	char lowaddr[64] = "";

	if (sh->state == SHIFT_ROLLED_BACK || sh->state == SHIFT_DONE) {
		return 0;
	}
	dest_count(sh, p, st->health, &total, &up, &low, lowaddr, sizeof(lowaddr));
	min = sh->min_healthy ? sh->min_healthy : p->min_healthy;
	if (up < min) {
		sh->state = SHIFT_ROLLED_BACK;
		sh->nrollbacks++;
		snprintf(sh->why, sizeof(sh->why),
			 "destination %s has %u of %u members up, below min_healthy %u", sh->to, up,
			 total, min);
		shift_event(sh, now, "rolled back at step %u: %s", sh->steps, sh->why);
		log_warn("shift of pool %s to %s rolled back to the starting weights: %s", sh->pool,
			 sh->to, sh->why);
		mark(st);
		return 0;
	}
	if (sh->state == SHIFT_RUNNING && (up < total || low)) {
		sh->state = SHIFT_HELD;
		sh->nholds++;
		if (up < total) {
			snprintf(sh->why, sizeof(sh->why), "destination %s has %u of %u members up",
				 sh->to, up, total);
		} else {
			snprintf(sh->why, sizeof(sh->why),
				 "destination member %s reports under %u%%", lowaddr,
				 STEER_SHIFT_LOW_REPORT);
		}
		shift_event(sh, now, "held at step %u: %s", sh->steps, sh->why);
		mark(st);
	} else if (sh->state == SHIFT_HELD && up == total && !low) {
		sh->state = SHIFT_RUNNING;
		sh->next_step = now + sh->every;
		shift_event(sh, now, "going on: destination healthy again");
		mark(st);
	}
	if (sh->state != SHIFT_RUNNING) {
		return 0;
	}
	if (now >= sh->next_step) {
		sh->steps++;
		sh->nsteps++;
		sh->next_step = now + sh->every;
		if (shift_share(sh, 0) >= 1 && shift_share(sh, 1) >= 1) {
			sh->state = SHIFT_DONE;
			shift_event(sh, now, "done: %s has all the traffic", sh->to);
		} else {
			shift_event(sh, now, "step %u: %s has %.0f%% (A)", sh->steps, sh->to,
				    shift_share(sh, 0) * 100);
		}
		mark(st);
	}
	return sh->state == SHIFT_RUNNING ? sh->next_step : 0;
}

static double earliest(double a, double b)
{
	return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

/* Compute family @f's raw effective weights into @x and who is up into @up;
 * returns the next slow-start step, or 0. */
static double family_raw(struct steer *st, const struct pool_family *f, double now, double *x,
			 bool *up)
{
	double next = 0;

	for (unsigned i = 0; i < f->n; i++) {
		struct health_steer hs;
		double w = f->weight[i], ramp;
		if (!st->health) {
			x[i] = w;
			up[i] = true;
			continue;
		}
		health_steer_member(st->health, f->hword[i], f->aword[i], now, &hs);
		up[i] = hs.up;
		if (hs.runtime >= 0) {
			w = hs.runtime;
		}
		w = w * hs.reported / 100.0;
		/* A member down now ramps from the start when it comes up. */
		ramp = f->slow_start[i] <= 0 ? 1
		       : !hs.up		     ? STEER_RAMP_MIN
		       : hs.ramp_start ? steer_ramp_factor(now - hs.ramp_start, f->slow_start[i])
				       : 1;
		if (hs.up && hs.ramp_start && ramp >= 1) {
			health_ramp_done(st->health, f->aword[i]);
		} else if (hs.up && hs.ramp_start) {
			/* Steps of a twentieth of the ramp, between 0.1 s and 1 s. */
			double step = f->slow_start[i] / 20;
			step = step < 0.1 ? 0.1 : step > 1 ? 1 : step;
			next = earliest(next, now + step);
		}
		x[i] = w * ramp;
	}
	return next;
}

static void publish(struct pool_family *f, const uint32_t *w, struct steer_retired *r)
{
	const struct pool_weights *cur = pool_weights_get(f);

	if (cur && memcmp(cur->weight, w, f->n * sizeof(*w)) == 0) {
		return; /* unchanged: nothing to allocate, nothing to retire */
	}
	retire(r, pool_weights_swap(f, pool_weights_new(w, f->n)));
}

double steer_refresh(struct steer *st, const struct snapshot *s, double now,
		     struct steer_retired *r)
{
	double x[POOL_MAX_MEMBERS], next = 0;
	uint32_t w[POOL_MAX_MEMBERS];
	bool up[POOL_MAX_MEMBERS], dest[POOL_MAX_MEMBERS];

	if (st->health) {
		st->gen = health_generation(st->health);
		next = health_expire(st->health, now);
	}
	st->refreshed = true;
	for (size_t pi = 0; pi < s->npools; pi++) {
		/* Weights live in the snapshot; the snapshot is immutable but for
		 * these published pointers, which only this thread stores. */
		struct pool *p = (struct pool *)&s->pools[pi];
		struct shift *sh = shift_find(st, p->name);
		if (sh) {
			next = earliest(next, shift_tick(st, sh, p, now));
		}
		for (int fi = 0; fi < 2; fi++) {
			struct pool_family *f = fi ? &p->v6 : &p->v4;
			if (f->n == 0) {
				continue;
			}
			next = earliest(next, family_raw(st, f, now, x, up));
			if (shift_active(sh)) {
				for (unsigned i = 0; i < f->n; i++) {
					dest[i] = is_dest(sh, f, i);
				}
				steer_shift_apply(x, dest, up, f->n, shift_share(sh, fi));
			}
			steer_normalize(w, x, f->n);
			publish(f, w, r);
		}
	}
	/* Refreshing may itself bump the generation (a shift event): that is
	 * this refresh's work, not a new change. */
	if (st->health) {
		st->gen = health_generation(st->health);
	}
	return next;
}

/* --- shift commands ------------------------------------------------------------ */

static const struct pool *find_pool(const struct snapshot *s, const char *name)
{
	for (size_t i = 0; i < s->npools; i++) {
		if (strcmp(s->pools[i].name, name) == 0) {
			return &s->pools[i];
		}
	}
	return NULL;
}

/* The destination's share of the live effective weight of the members up in
 * family @f. */
static double live_share(struct steer *st, const struct shift *sh, const struct pool *p,
			 const struct pool_family *f)
{
	const struct pool_weights *w;
	double d = 0, all = 0;
	bool any = false;

	for (unsigned i = 0; i < f->n; i++) {
		any = any || is_dest(sh, f, i);
	}
	if (!any) {
		return 1; /* nothing to move in this family: it counts as arrived */
	}
	w = pool_weights_get(f);
	for (unsigned i = 0; i < f->n; i++) {
		if (st->health && !health_member_up(st->health, f->hword[i], f->aword[i])) {
			continue;
		}
		all += w->weight[i];
		if (is_dest(sh, f, i)) {
			d += w->weight[i];
		}
	}
	(void)p;
	return all > 0 ? d / all : 0;
}

int steer_shift_start(struct steer *st, const struct snapshot *s, const char *pool, const char *to,
		      unsigned step, double every, unsigned min_healthy, double now,
		      struct sbuf *msg)
{
	const struct pool *p = find_pool(s, pool);
	struct shift *old = shift_find(st, pool), tmp, *sh;
	unsigned total, up, low, min;
	char lowaddr[64], norm[INET6_ADDRSTRLEN];
	uint8_t addr[16];

	if (!p) {
		sb_printf(msg, "no pool %.100s", pool);
		return -1;
	}
	if (strlen(to) > 63) {
		sb_printf(msg, "bad destination: a group name or a member address");
		return -1;
	}
	/* An address is matched as the members' text is written (inet_ntop). */
	if (inet_pton(AF_INET, to, addr) == 1) {
		to = inet_ntop(AF_INET, addr, norm, sizeof(norm));
	} else if (inet_pton(AF_INET6, to, addr) == 1) {
		to = inet_ntop(AF_INET6, addr, norm, sizeof(norm));
	}
	if (old && old->state != SHIFT_DONE && old->state != SHIFT_ROLLED_BACK) {
		sb_printf(msg, "pool %s already shifts to %s (%s): --rollback or --finish it first",
			  p->name, old->to, shift_state_names[old->state]);
		return -1;
	}
	memset(&tmp, 0, sizeof(tmp));
	tmp.to = (char *)to;
	tmp.pool = p->name;
	dest_count(&tmp, p, st->health, &total, &up, &low, lowaddr, sizeof(lowaddr));
	min = min_healthy ? min_healthy : p->min_healthy;
	if (total == 0) {
		sb_printf(msg, "pool %s has no member in group or with address %s", p->name, to);
		return -1;
	}
	if (total == p->v4.n + p->v6.n) {
		sb_printf(msg, "every member of pool %s is in %s: nothing to shift from", p->name,
			  to);
		return -1;
	}
	if (up < min) {
		sb_printf(msg, "destination %s has %u of %u members up, below min_healthy %u", to,
			  up, total, min);
		return -1;
	}
	sh = xcalloc(1, sizeof(*sh));
	sh->pool = xstrdup(p->name);
	sh->to = xstrdup(to);
	sh->step = step;
	sh->every = every;
	sh->min_healthy = min_healthy;
	sh->started = now;
	sh->state = SHIFT_RUNNING;
	/* Where it starts: the destination's share now (with a finished shift
	 * in force, of what that shift left). */
	sh->start_share[0] = live_share(st, sh, p, &p->v4);
	sh->start_share[1] = live_share(st, sh, p, &p->v6);
	/* The first step at once, so that the command's effect is seen. */
	sh->steps = 1;
	sh->next_step = now + every;
	if (old) {
		sh->nsteps = old->nsteps;
		sh->nholds = old->nholds;
		sh->nrollbacks = old->nrollbacks;
		for (struct shift **pp = &st->shifts; *pp; pp = &(*pp)->next) {
			if (*pp == old) {
				*pp = old->next;
				break;
			}
		}
		shift_free(old);
	}
	sh->next = st->shifts;
	st->shifts = sh;
	sh->nsteps++;
	shift_event(sh, now, "started: %u points every %.1f s from %.0f%% (A) / %.0f%% (AAAA)",
		    step, every, sh->start_share[0] * 100, sh->start_share[1] * 100);
	if (shift_share(sh, 0) >= 1 && shift_share(sh, 1) >= 1) {
		sh->state = SHIFT_DONE;
		shift_event(sh, now, "done: %s has all the traffic", sh->to);
	}
	mark(st);
	sb_printf(msg, "pool %s: shifting to %s, %u points every %g s, from %.0f%%", p->name, to,
		  step, every,
		  (sh->start_share[0] < 1 ? sh->start_share[0] : sh->start_share[1]) * 100);
	return 0;
}

int steer_shift_control(struct steer *st, const char *pool, const char *action, double now,
			struct sbuf *msg)
{
	struct shift *sh = shift_find(st, pool);

	if (!sh) {
		sb_printf(msg, "pool %.100s has no shift", pool);
		return -1;
	}
	if (strcmp(action, "pause") == 0 || strcmp(action, "resume") == 0) {
		bool pause = action[0] == 'p';
		if (sh->state == SHIFT_DONE || sh->state == SHIFT_ROLLED_BACK) {
			sb_printf(msg, "the shift of pool %s is %s", sh->pool,
				  shift_state_names[sh->state]);
			return -1;
		}
		sh->state = pause ? SHIFT_PAUSED : SHIFT_RUNNING;
		if (!pause) {
			sh->next_step = now + sh->every;
		}
		shift_event(sh, now, "%s by the operator at step %u", pause ? "paused" : "resumed",
			    sh->steps);
	} else if (strcmp(action, "rollback") == 0) {
		if (sh->state == SHIFT_ROLLED_BACK) {
			sb_printf(msg, "the shift of pool %s is already rolled back", sh->pool);
			return -1;
		}
		sh->state = SHIFT_ROLLED_BACK;
		sh->nrollbacks++;
		snprintf(sh->why, sizeof(sh->why), "asked by the operator");
		shift_event(sh, now, "rolled back by the operator at step %u", sh->steps);
	} else if (strcmp(action, "finish") == 0) {
		if (sh->state == SHIFT_ROLLED_BACK) {
			sb_printf(msg, "the shift of pool %s is rolled back", sh->pool);
			return -1;
		}
		sh->state = SHIFT_DONE;
		shift_event(sh, now, "finished by the operator: %s has all the traffic", sh->to);
	} else {
		sb_printf(msg, "unknown shift action");
		return -1;
	}
	mark(st);
	sb_printf(msg, "pool %s: shift to %s %s", sh->pool, sh->to, shift_state_names[sh->state]);
	return 0;
}

/* The share of family @fam the shift gives its destination now (in force)
 * or gave it at the start (rolled back). */
static double shown_share(const struct shift *sh, int fam)
{
	return shift_active(sh) ? shift_share(sh, fam) : sh->start_share[fam];
}

void steer_shift_text(const struct steer *st, const struct pool *p, struct sbuf *out)
{
	const struct shift *sh = st ? shift_find(st, p->name) : NULL;

	if (!sh) {
		return;
	}
	sb_printf(out, "  shift to %s: %s, step %u (%u points every %g s), share", sh->to,
		  shift_state_names[sh->state], sh->steps, sh->step, sh->every);
	if (p->v4.n) {
		sb_printf(out, " %.0f%% (A)", shown_share(sh, 0) * 100);
	}
	if (p->v6.n) {
		sb_printf(out, " %.0f%% (AAAA)", shown_share(sh, 1) * 100);
	}
	sb_printf(out, "; steps %llu, holds %llu, rollbacks %llu%s%s\n",
		  (unsigned long long)sh->nsteps, (unsigned long long)sh->nholds,
		  (unsigned long long)sh->nrollbacks, sh->why[0] ? "; last reason: " : "", sh->why);
}

void *steer_shift_json(const struct steer *st, const struct pool *p)
{
	const struct shift *sh = st ? shift_find(st, p->name) : NULL;
	json_t *j, *hist;
	unsigned first;

	if (!sh) {
		return NULL;
	}
	hist = json_array();
	first = sh->nhistory > SHIFT_HISTORY ? sh->nhistory - SHIFT_HISTORY : 0;
	for (unsigned i = first; i < sh->nhistory; i++) {
		const struct shift_event *e = &sh->history[i % SHIFT_HISTORY];
		json_array_append_new(hist, json_pack("{s:f, s:s}", "at", e->at, "event", e->text));
	}
	j = json_pack("{s:s, s:s, s:i, s:i, s:f, s:i, s:I, s:I, s:I, s:s, s:o}", "to", sh->to,
		      "state", shift_state_names[sh->state], "step", (json_int_t)sh->steps,
		      "step_points", (json_int_t)sh->step, "every", sh->every, "min_healthy",
		      (json_int_t)sh->min_healthy, "steps_taken", (json_int_t)sh->nsteps, "holds",
		      (json_int_t)sh->nholds, "rollbacks", (json_int_t)sh->nrollbacks, "reason",
		      sh->why, "history", hist);
	json_object_set_new(j, "share_a", p->v4.n ? json_real(shown_share(sh, 0)) : json_null());
	json_object_set_new(j, "share_aaaa", p->v6.n ? json_real(shown_share(sh, 1)) : json_null());
	json_object_set_new(j, "start_share_a",
			    p->v4.n ? json_real(sh->start_share[0]) : json_null());
	json_object_set_new(j, "start_share_aaaa",
			    p->v6.n ? json_real(sh->start_share[1]) : json_null());
	return j;
}
