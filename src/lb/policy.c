/* policy.c -- the registry of pool policies: adding one is its own file plus
 * its two lines here. */
#include "config.h"

#include <string.h>

#include "lb/policy.h"

extern const struct policy_ops policy_round_robin;
extern const struct policy_ops policy_weighted;
extern const struct policy_ops policy_geo;

const struct policy_ops *const policy_list[] = {
	&policy_round_robin,
	&policy_weighted,
	&policy_geo,
	NULL,
};

const struct policy_ops *policy_default(void)
{
	return &policy_round_robin;
}

const struct policy_ops *policy_find(const char *name)
{
	for (const struct policy_ops *const *o = policy_list; *o; o++) {
		if (strcmp((*o)->name, name) == 0) {
			return *o;
		}
	}
	return NULL;
}

const struct policy_ops *policy_find_setting(const char *name)
{
	for (const struct policy_ops *const *o = policy_list; *o; o++) {
		for (const char *const *s = (*o)->settings; s && *s; s++) {
			if (strcmp(*s, name) == 0) {
				return *o;
			}
		}
	}
	return NULL;
}
