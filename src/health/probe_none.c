/* probe_none.c -- the none check: never probed, its members are always up.
 * It takes no settings of its own and no member overrides. */
#include "config.h"

#include <stddef.h>

#include "health/check_kind.h"

static const struct check_setting settings[] = {
    {NULL, NULL},
};

static const char *const member_settings[] = {NULL};

/* No start: the snapshot gives its members the always-up entry and no probe. */
const struct check_kind check_kind_none = {
    .name = "none",
    .settings = settings,
    .member_settings = member_settings,
};
