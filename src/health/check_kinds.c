/* check_kinds.c -- the registry of health-check kinds. A new kind is one file
 * with its struct check_kind (see check_kind.h), declared and listed here. */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "health/check_kinds.h"

extern const struct check_kind check_kind_tcp, check_kind_http, check_kind_https, check_kind_dns,
    check_kind_exec, check_kind_file, check_kind_none, check_kind_agent;

const struct check_kind *const check_kinds[] = {
    &check_kind_tcp,  /* probe_tcp.c */
    &check_kind_http, /* probe_http.c */
    &check_kind_https,
    &check_kind_dns,  /* probe_dns.c */
    &check_kind_exec, /* probe_exec.c */
    &check_kind_file, /* probe_file.c */
    &check_kind_agent, /* probe_agent.c */
    &check_kind_none,  /* probe_none.c */
    NULL,
};

const struct check_kind *check_kinds_find(const char *name)
{
	for (size_t i = 0; name && check_kinds[i]; i++) {
		if (strcmp(check_kinds[i]->name, name) == 0) {
			return check_kinds[i];
		}
	}
	return NULL;
}
