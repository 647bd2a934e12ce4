/* check_kind.h -- the operation table of one health-check kind (tcp, http, ...):
 * the settings it takes and how it parses them, its defaults and rules, how it
 * turns a check and a pool member into a probe, and what the probe engine calls
 * to run it. Each kind fills one table in its own file (probe_tcp.c, ...);
 * check_kinds.c lists them.
 *
 * Two sides, two threads. The configuration side (settings, opts_*, validate,
 * make_spec) runs in the thread that loads a config and builds a snapshot (the
 * main thread at start-up, a reload's build thread later, one at a time). The
 * probe side (setup ... fini) runs in the probe thread only. */
#ifndef GSLBD_CHECK_KIND_H
#define GSLBD_CHECK_KIND_H

#include <stdbool.h>

struct conf_check;
struct conf_ctx;
struct conf_member;
struct config_setting_t;
struct probe;
struct probe_engine;
struct probe_spec;

/* One setting a kind takes beyond those every check takes (name, type,
 * interval, timeout, rise, fall, initial). */
struct check_setting {
	const char *name;
	/* Read @s (the setting @name of a check of this kind) into @k: k->opts,
	 * or a common field such as k->port (conf_check_port). Errors go through
	 * conf_error() and the readers in conf.h, which name file, line and
	 * setting; the load then fails. */
	void (*parse)(struct conf_ctx *c, struct conf_check *k, const struct config_setting_t *s);
};

struct check_kind {
	const char *name; /* the check's "type" */
	/* The settings it takes, ending with { NULL }. Any other setting that
	 * some kind takes is an error naming this kind. */
	const struct check_setting *settings;
	/* Pool-member overrides it takes, of "port", "probe_address", "host",
	 * "url"; NULL-terminated. */
	const char *const *member_settings;
	unsigned default_port; /* 0: none */
	bool port_required;    /* the check or each member must give a port */

	/* --- configuration (main thread) --- */

	/* A new options object holding the defaults, or NULL for a kind without
	 * options; opts_dup copies one, opts_free frees one (NULL: no-op). The
	 * same object type serves the check (conf_check.opts) and its probes
	 * (probe_spec.opts). NULL functions: the kind has no options. */
	void *(*opts_new)(void);
	void *(*opts_dup)(const void *opts);
	void (*opts_free)(void *opts);
	/* After every setting is read: what @k cannot do without (a dns check
	 * needs a query, ...), reported on the check's group @s. May be NULL. */
	void (*validate)(struct conf_ctx *c, struct conf_check *k,
			 const struct config_setting_t *s);
	/* Complete @ps for member @m of check @k: the common part (key, target,
	 * address and port, timing) is filled in; set ps->opts, which @ps owns.
	 * May be NULL (nothing beyond the common part). */
	void (*make_spec)(struct probe_spec *ps, const struct conf_check *k,
			  const struct conf_member *m);
	/* The program a check of this kind runs (its argv[0], as configured),
	 * or NULL: such checks are refused while gslbd is root, and `gslbd -t`
	 * checks the user can execute it. NULL function: runs none. */
	const char *(*program)(const struct conf_check *k);
	/* A file a check of this kind reads, or NULL (`gslbd -t` checks the
	 * user can read it). NULL function: reads none. */
	const char *(*reads_file)(const struct conf_check *k);

	/* --- the probe engine (probe thread; probe_int.h) --- */

	/* Derive per-probe state from p->spec when it is installed; failures go
	 * to p->setup_err. p may still hold state of this kind from its previous
	 * spec: setup keeps or releases it. */
	void (*setup)(struct probe *p);
	/* Release what setup made (called when the probe goes or changes kind). */
	void (*clear)(struct probe *p);
	/* Begin a run; it may end at once through probe_done(). NULL: the kind
	 * never probes (none): its members are always up and get no probe. */
	void (*start)(struct probe *p);
	/* Release a run in flight without reporting (timeout, removal). */
	void (*cancel)(struct probe *p);
	/* Reason reported when a run is cancelled at its timeout; NULL: "timeout
	 * after N ms". */
	const char *timeout_reason;
	/* Free what the kind keeps per engine, when the probe thread ends. Runs
	 * once per registered kind, used or not. */
	void (*fini)(struct probe_engine *e);
};

#endif
