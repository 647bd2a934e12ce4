/* geo_watch.c -- ev_stat watchers on the geo maps' files (see geo_watch.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "data/conf.h"
#include "geo/geo_watch.h"
#include "geo/geomap.h"
#include "util/log.h"
#include "util/mem.h"

/* A file is often written in several steps (or copied, then renamed): wait
 * until it has been still this long before reading it. */
#define SETTLE_SECONDS 0.3

struct watched {
	ev_stat stat;
	char *path;
	struct geo_watch *w;
};

struct geo_watch {
	struct ev_loop *loop;
	geo_watch_fn changed;
	void *arg;
	struct watched *files;
	size_t n;
	ev_timer settle;
	char *pending; /* the path that changed last */
};

static void settle_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct geo_watch *w = t->data;
	char *path = w->pending;

	(void)loop;
	(void)revents;
	w->pending = NULL;
	if (path) {
		w->changed(w->arg, path);
		free(path);
	}
}

static void stat_cb(struct ev_loop *loop, ev_stat *s, int revents)
{
	struct watched *f = s->data;
	struct geo_watch *w = f->w;

	(void)revents;
	free(w->pending);
	w->pending = xstrdup(f->path);
	ev_timer_stop(loop, &w->settle);
	ev_timer_set(&w->settle, SETTLE_SECONDS, 0.);
	ev_timer_start(loop, &w->settle);
}

struct geo_watch *geo_watch_new(struct ev_loop *loop, geo_watch_fn changed, void *arg)
{
	struct geo_watch *w = xcalloc(1, sizeof(*w));

	w->loop = loop;
	w->changed = changed;
	w->arg = arg;
	ev_timer_init(&w->settle, settle_cb, SETTLE_SECONDS, 0.);
	w->settle.data = w;
	return w;
}

static void stop_all(struct geo_watch *w)
{
	for (size_t i = 0; i < w->n; i++) {
		ev_stat_stop(w->loop, &w->files[i].stat);
		free(w->files[i].path);
	}
	free(w->files);
	w->files = NULL;
	w->n = 0;
}

void geo_watch_set(struct geo_watch *w, const struct conf *conf)
{
	size_t n = 0;

	/* Few files, set rarely: start over. ev_stat_start reads the current
	 * state, so only later changes call back. */
	stop_all(w);
	w->files = xcalloc(2 * conf->ngeo_maps + 1, sizeof(*w->files));
	for (size_t i = 0; i < conf->ngeo_maps; i++) {
		const char *paths[2] = {conf->geo_maps[i].nets, conf->geo_maps[i].geoip2};
		for (int k = 0; k < 2; k++) {
			struct watched *f = &w->files[n];
			bool seen = false;
			if (!paths[k]) {
				continue;
			}
			for (size_t j = 0; j < n; j++) {
				seen = seen || strcmp(w->files[j].path, paths[k]) == 0;
			}
			if (seen) {
				continue;
			}
			f->path = xstrdup(paths[k]);
			f->w = w;
			/* inotify where libev has it; polling every 5 s otherwise. */
			ev_stat_init(&f->stat, stat_cb, f->path, 0.);
			f->stat.data = f;
			ev_stat_start(w->loop, &f->stat);
			n++;
		}
	}
	w->n = n;
}

void geo_watch_free(struct geo_watch *w)
{
	if (!w) {
		return;
	}
	stop_all(w);
	ev_timer_stop(w->loop, &w->settle);
	free(w->pending);
	free(w);
}
