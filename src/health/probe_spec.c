/* probe_spec.c -- copying and freeing probe descriptions (shared by the
 * snapshot builder, which makes them, and the probe engine, which keeps them). */
#include "config.h"

#include <string.h>

#include "util/mem.h"
#include "health/probe.h"

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

struct probe_spec *probe_spec_dup(const struct probe_spec *s)
{
	struct probe_spec *d = xmemdup(s, sizeof(*s));

	d->key = dup_or_null(s->key);
	d->target = dup_or_null(s->target);
	d->url = dup_or_null(s->url);
	d->host = dup_or_null(s->host);
	d->expect_body = dup_or_null(s->expect_body);
	d->expect_answer = dup_or_null(s->expect_answer);
	d->path = dup_or_null(s->path);
	d->file_key = dup_or_null(s->file_key);
	d->argv = s->argv ? xstrvdup(s->argv) : NULL;
	return d;
}

void probe_spec_free(struct probe_spec *s)
{
	if (!s) {
		return;
	}
	free(s->key);
	free(s->target);
	free(s->url);
	free(s->host);
	free(s->expect_body);
	free(s->expect_answer);
	free(s->path);
	free(s->file_key);
	for (size_t i = 0; s->argv && s->argv[i]; i++) {
		free(s->argv[i]);
	}
	free(s->argv);
	free(s);
}
