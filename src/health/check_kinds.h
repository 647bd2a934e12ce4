/* check_kinds.h -- the registry of health-check kinds: every struct
 * check_kind the configuration may name as a check's "type". */
#ifndef GSLBD_CHECK_KINDS_H
#define GSLBD_CHECK_KINDS_H

#include "health/check_kind.h"

/* Every kind, in the order messages list them; NULL-terminated. Immutable. */
extern const struct check_kind *const check_kinds[];

/* The kind called @name ("tcp", ...), or NULL. Any thread. */
const struct check_kind *check_kinds_find(const char *name);

#endif
