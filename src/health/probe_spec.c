/* probe_spec.c -- copying and freeing probe descriptions (shared by the
 * snapshot builder, which makes them, and the probe engine, which keeps them). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"
#include "health/check_kind.h"
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
	/* Options exist only for kinds that have them (see check_kind.h). */
	d->opts = s->opts ? s->kind->opts_dup(s->opts) : NULL;
	return d;
}

void probe_spec_free(struct probe_spec *s)
{
	if (!s) {
		return;
	}
	free(s->key);
	free(s->target);
	if (s->opts) {
		s->kind->opts_free(s->opts);
	}
	free(s);
}
