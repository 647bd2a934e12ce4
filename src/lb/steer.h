/* steer.h -- effective weights: configured x backend-reported x slow start x
 * runtime override x shift, computed off the hot path and published per pool
 * family as a struct pool_weights (lb/pool.h) that every policy can draw from;
 * and gradual shifts of traffic to a group of members that roll themselves
 * back.
 *
 * Threads: everything here runs in the main thread (the daemon's timer and
 * the control commands), except the pure helpers, which any thread may call.
 * Workers only load the published sets (pool_weights_get). */
#ifndef GSLBD_STEER_H
#define GSLBD_STEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb/pool.h"
#include "util/sbuf.h"

struct health_table;
struct snapshot;

/* The smallest share a member ramping up (slow start) gets of its weight. */
#define STEER_RAMP_MIN 0.05
/* The sum effective weights are scaled to when they are not all integers. */
#define STEER_SCALE (1u << 30)
/* The weight an agent or an http check may report, in percent. */
#define STEER_REPORT_MAX 1000
/* A destination member reporting less than this (percent) holds a shift. */
#define STEER_SHIFT_LOW_REPORT 50

struct steer;

/* Weight sets replaced by a refresh, to free after a grace period. */
struct steer_retired {
	struct pool_weights **sets;
	size_t n, cap;
};
void steer_retired_free(struct steer_retired *r);

/* A new steering state over @t (NULL: no health, weights stay configured),
 * taking the shift lines of the state file read into @t. Main thread. */
struct steer *steer_new(struct health_table *t);
void steer_free(struct steer *st);

/* Compute every member's effective weight in snapshot @s at wall time @now,
 * end timed drains, step shifts (or hold or roll them back), and publish the
 * sets that changed; the sets they replace go to @r. Returns the wall time
 * of the next change due by time alone (a slow-start step, a drain's end, a
 * shift step), or 0. Main thread. */
double steer_refresh(struct steer *st, const struct snapshot *s, double now,
		     struct steer_retired *r);

/* Has anything changed since the last refresh (health, reports, overrides)? */
bool steer_stale(struct steer *st);

/* --- shifts (control commands; main thread) -------------------------------- */

/* Start a shift of pool @pool of snapshot @s to @to (a group name or a
 * member address), @step percentage points every @every seconds, rolling
 * back when fewer than @min_healthy destination members are up (0: the
 * pool's min_healthy). Writes a one-line result or error to @msg. Returns 0
 * or -1. */
int steer_shift_start(struct steer *st, const struct snapshot *s, const char *pool, const char *to,
		      unsigned step, double every, unsigned min_healthy, double now,
		      struct sbuf *msg);

/* @action: "pause", "resume", "rollback" or "finish". */
int steer_shift_control(struct steer *st, const char *pool, const char *action, double now,
			struct sbuf *msg);

/* Status of the shift of pool @p, text (a line) or JSON (a jansson object,
 * returned as void * so that this header needs no jansson), NULL/nothing
 * without one. Shares are given for the families @p has members of. */
void steer_shift_text(const struct steer *st, const struct pool *p, struct sbuf *out);
void *steer_shift_json(const struct steer *st, const struct pool *p);

/* --- pure helpers (any thread; unit-tested) --------------------------------- */

/* The slow-start factor @elapsed seconds after coming up with a ramp of
 * @period seconds: linear from STEER_RAMP_MIN to 1, 1 once over (or without
 * a period). */
double steer_ramp_factor(double elapsed, double period);

/* Integer weights from @n non-negative reals @x: as they are when every one is
 * an integer >= 1 and their sum fits (a static pool keeps its configured
 * weights, and its draws), else scaled to a sum of about STEER_SCALE; every
 * weight at least 1 (a 0 becomes 1 in 2^30). */
void steer_normalize(uint32_t *out, const double *x, unsigned n);

/* Rescale @x (n members) so that the members with @dest[i] hold @share (0..1)
 * of the weight of those that are @up; nothing when either side has none. */
void steer_shift_apply(double *x, const bool *dest, const bool *up, unsigned n, double share);

/* "90s", "30m", "2h", "1d" (a positive number and one unit) into seconds;
 * 0 or -1 with a message in @err. */
int steer_parse_duration(const char *text, double *out, char *err, size_t size);

/* RFC 3339 in UTC, "2026-12-24T06:00Z" or "2026-12-24T06:00:00Z" (or
 * "+00:00"), into epoch seconds; 0 or -1 with a message in @err. */
int steer_parse_time(const char *text, double *out, char *err, size_t size);

#endif
