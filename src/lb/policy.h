/* policy.h -- pool policies: how a pool chooses which of its members to answer.
 *
 * A policy is one operation table in one file (src/lb/policy_<name>.c) and one
 * line in the registry (src/lb/policy.c). pool.c owns everything the policies
 * share: which members are up, backups and last resorts, the TTL, encoding the
 * records; a policy only picks member indexes. Adding one touches neither pool.c
 * nor conf.c: the config names it, its own settings are parsed by its hook, and
 * status and explain print its name. */
#ifndef GSLBD_POLICY_H
#define GSLBD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config_setting_t; /* libconfig's config_setting_t */
struct conf_pool;
struct pool;
struct pool_family;
struct pool_state;
struct request;

struct policy_ops {
	/* As written after `policy =` in a pool group, and as status prints it. */
	const char *name;

	/* Settings of a pool group that only this policy accepts, NULL-terminated;
	 * NULL: none. The config rejects them in pools of another policy. */
	const char *const *settings;

	/* Config load, the loading thread; may be NULL. Reads this policy's settings
	 * from the pool group @group into @cp after the common ones are parsed,
	 * and fills in the policy's defaults of the common ones (cp->answers is 0
	 * when the config does not set it; 0 means every member). On a bad value:
	 * writes a message to @err (@size bytes), points *@at at the setting to
	 * blame (it starts at @group) and returns -1; else 0. */
	int (*parse)(struct conf_pool *cp, const struct config_setting_t *group,
		     const struct config_setting_t **at, char *err, size_t size);

	/* Snapshot build, the building thread; may be NULL. Called for both families
	 * of pool @p, empty ones too. Derives what choose() reads from family @f
	 * (members, weights and answers are set) and the pool's config @cp, into
	 * f->policy_data, which the policy owns; clear() frees it. Allocation
	 * aborts on exhaustion (util/mem.h). */
	void (*prepare)(struct pool_family *f, const struct pool *p, const struct conf_pool *cp);
	void (*clear)(struct pool_family *f);

	/* Per query, worker thread: choose @k of the @n candidate members @cand
	 * of family @f of pool @p and write their indexes to @out, in answer
	 * order, without duplicates. @cand holds indexes into @f in ascending
	 * order, each member up; 1 <= @k <= @n <= f->n, so @n == f->n means
	 * cand[i] == i. @st is the worker's selection state (random numbers,
	 * rotation counters; it covers @p); @req is the query (client address,
	 * transport, EDNS options), for policies that answer by client. Hot
	 * path: no allocation, no lock, no I/O, no failure. Required. */
	void (*choose)(uint16_t *out, const struct pool *p, const struct pool_family *f,
		       const uint16_t *cand, unsigned n, unsigned k, struct pool_state *st,
		       const struct request *req);

	/* Per query, worker thread; may be NULL. For a policy that answers from
	 * a part of the pool chosen by client (geo): of the @n members @cand of
	 * family @f of @p that are up (ascending; every member when the pool
	 * is not checked), writes to @out (room for f->n; it may be the buffer
	 * @cand points into) the candidates choose() then gets, and returns
	 * their number; 0 when no part qualifies, and then the backup chain and
	 * last resort apply as when fewer than min_healthy members are up (the
	 * pool's own min_healthy is not used). Sets *@degraded when the part
	 * is not the client's first choice or not whole (ttl_degraded). Records
	 * in @req what decided (request.h: ecs_scope, dc, geo). Hot path rules
	 * as choose(). */
	unsigned (*narrow)(uint16_t *out, const struct pool *p, const struct pool_family *f,
			   const uint16_t *cand, unsigned n, bool *degraded, struct request *req);
};

/* The registered policies, NULL-terminated, in the order the config's error
 * messages list them. Read-only; any thread. */
extern const struct policy_ops *const policy_list[];

/* The policy of a pool that names none. */
const struct policy_ops *policy_default(void);

/* The registered policy called @name, or NULL. */
const struct policy_ops *policy_find(const char *name);

/* The first registered policy whose own settings include @name, or NULL. */
const struct policy_ops *policy_find_setting(const char *name);

#endif
