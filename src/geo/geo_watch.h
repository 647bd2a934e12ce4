/* geo_watch.h -- watch the files of the geo maps (nets files, MaxMind databases) and
 * ask for a reload when one changes, so that a new map is compiled beside the live
 * one and swapped in with the snapshot (a broken file fails that reload: the
 * live map keeps serving). */
#ifndef GSLBD_GEO_WATCH_H
#define GSLBD_GEO_WATCH_H

#include <ev.h>

struct conf;
struct geo_watch;

/* Called in @loop's thread once a watched file has been still for a moment. */
typedef void (*geo_watch_fn)(void *arg, const char *path);

/* A watcher set running in @loop (the main thread's). Main thread. */
struct geo_watch *geo_watch_new(struct ev_loop *loop, geo_watch_fn changed, void *arg);

/* Watch exactly the files @conf's geo maps read (after start-up and after
 * each reload that went through). Main thread. */
void geo_watch_set(struct geo_watch *w, const struct conf *conf);

/* Stop and free; NULL is a no-op. Main thread. */
void geo_watch_free(struct geo_watch *w);

#endif
