/* commands.c -- the control commands: one table with what each may touch,
 * one dispatcher. Adding a command = a function, a row here, a line in
 * protocol.c's docs. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <stdio.h>
#include <string.h>

#include "ctl/commands.h"
#include "ctl/explain.h"
#include "ctl/protocol.h"
#include "ctl/status.h"
#include "lb/steer.h"
#include "util/log.h"

struct command {
	const char *name;
	int minargs, maxargs;      /* words after the name */
	bool needs_snapshot;
	enum command_access access;
	/* Append the reply body after "OK\n"; on failure append nothing and
	 * return -1 with the message in @err. */
	int (*run)(struct sbuf *out, const struct control_ops *ops, const struct snapshot *s,
		   int argc, char **argv, struct sbuf *err);
};

static void usage(struct sbuf *err, const char *name)
{
	const struct control_doc *d = control_doc_find(name);

	sb_printf(err, "usage: %s%s%s", name, d && d->args[0] ? " " : "", d ? d->args : "");
}

/* "[--json]": true for --json; anything else is a usage error. */
static bool is_json_flag(const char *name, int argc, char **argv, struct sbuf *err)
{
	if (argc == 1 && strcmp(argv[0], "--json") == 0) {
		return true;
	}
	if (argc != 0) {
		usage(err, name);
	}
	return false;
}

static int cmd_status(struct sbuf *out, const struct control_ops *ops, const struct snapshot *s,
		      int argc, char **argv, struct sbuf *err)
{
	bool json = is_json_flag("status", argc, argv, err);

	if (err->len) {
		return -1;
	}
	status_render_steer(out, s, ops->health, ops->steer, json);
	if (!json) {
		status_render_datacenters(out, ops->stats);
	}
	return 0;
}

static int cmd_stats(struct sbuf *out, const struct control_ops *ops, const struct snapshot *s,
		     int argc, char **argv, struct sbuf *err)
{
	bool json = is_json_flag("stats", argc, argv, err);

	(void)s;
	if (err->len) {
		return -1;
	}
	status_render_stats(out, ops->stats, ops->health, json);
	return 0;
}

static int cmd_explain(struct sbuf *out, const struct control_ops *ops, const struct snapshot *s,
		       int argc, char **argv, struct sbuf *err)
{
	struct sbuf tmp;
	int rc;

	const char *client = NULL, *ecs = NULL;

	for (int i = 2; i < argc; i += 2) {
		if (i + 1 >= argc || (strcmp(argv[i], "--client") && strcmp(argv[i], "--ecs"))) {
			sb_printf(err, "expected NAME TYPE [--client ADDRESS] [--ecs PREFIX]");
			return -1;
		}
		*(strcmp(argv[i], "--client") == 0 ? &client : &ecs) = argv[i + 1];
	}
	sb_init(&tmp);
	rc = explain_run_client(&tmp, s, ops->health, argv[0], argv[1], client, ecs);
	if (rc != 0) {
		/* explain_run wrote "ERR message\n" */
		const char *msg = tmp.p + strlen(CONTROL_REPLY_ERR " ");
		sb_append(err, msg, strcspn(msg, "\n"));
	} else {
		sb_append(out, tmp.p, tmp.len);
	}
	sb_clear(&tmp);
	return rc;
}

static int set_admin(struct sbuf *out, const struct control_ops *ops, const struct snapshot *s,
		     char **argv, struct sbuf *err, enum health_admin want, double until)
{
	const char *poolname = argv[0], *address = argv[1];
	const struct pool *p = NULL;
	const struct pool_family *f = NULL;
	enum health_admin was = ADMIN_NONE;
	uint8_t addr[16];
	char norm[INET6_ADDRSTRLEN], pbuf[CONTROL_MAX_LINE], abuf[CONTROL_MAX_LINE];
	unsigned idx = 0;
	int family = 0;
	struct member_view mv;

	/* The configured text is inet_ntop's, so "2001:db8:0::1" must become
	 * "2001:db8::1" before it can match. */
	if (inet_pton(AF_INET, address, addr) == 1) {
		family = AF_INET;
	} else if (inet_pton(AF_INET6, address, addr) == 1) {
		family = AF_INET6;
	}
	if (family) {
		inet_ntop(family, addr, norm, sizeof(norm));
		for (size_t i = 0; i < s->npools && !p; i++) {
			if (strcmp(s->pools[i].name, poolname) == 0) {
				p = &s->pools[i];
			}
		}
	}
	if (p) {
		f = family == AF_INET ? &p->v4 : &p->v6;
		for (idx = 0; idx < f->n && strcmp(f->text[idx], norm) != 0; idx++) {
		}
	}
	if (!p || idx == f->n) {
		sb_printf(err, "no member %s in pool %s", sb_printable(abuf, sizeof(abuf), address),
			  sb_printable(pbuf, sizeof(pbuf), poolname));
		return -1;
	}
	if (!ops->health) {
		sb_printf(err, "health is not enabled: nothing to %s",
			  want == ADMIN_DRAINED ? "drain" : "undrain");
		return -1;
	}
	if (health_admin_set_until(ops->health, p->name, norm, want, until, &was) != 0) {
		sb_printf(err, "no admin entry for %s in pool %s (reload and retry)", norm, p->name);
		return -1;
	}
	if (until > 0) {
		char tbuf[40];
		log_info("control: drained %s in pool %s until %s", norm, p->name,
			 sb_iso_time(tbuf, sizeof(tbuf), until));
		if (ops->admin_changed) {
			ops->admin_changed(ops->arg);
		}
		sb_printf(out, "%s in pool %s: admin %s -> drained until %s", norm, p->name,
			  status_admin_name(was), sb_iso_time(tbuf, sizeof(tbuf), until));
	} else if (was != want) {
		log_info("control: %s %s in pool %s (was %s)",
			 want == ADMIN_DRAINED ? "drained" : "undrained", norm, p->name,
			 status_admin_name(was));
		if (ops->admin_changed) {
			ops->admin_changed(ops->arg);
		}
		sb_printf(out, "%s in pool %s: admin %s -> %s", norm, p->name, status_admin_name(was),
			  status_admin_name(want));
	} else {
		sb_printf(out, "%s in pool %s: admin already %s", norm, p->name,
			  status_admin_name(want));
	}
	status_member_view(&mv, ops->health, p, f, idx);
	sb_printf(out, "; it is now %s\n", mv.up ? "up" : "down");
	return 0;
}

/* The wall clock, for expiries. */
static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* drain POOL ADDRESS [--for DURATION | --until TIME] */
static int cmd_drain(struct sbuf *out, const struct control_ops *ops, const struct snapshot *s,
		     int argc, char **argv, struct sbuf *err)
{
	double until = 0, now = wall_now(), v;
	char msg[200];

	if (argc == 3 || (argc == 4 && strcmp(argv[2], "--for") != 0 &&
			  strcmp(argv[2], "--until") != 0)) {
		usage(err, "drain");
		return -1;
	}
	if (argc == 4 && strcmp(argv[2], "--for") == 0) {
		if (steer_parse_duration(argv[3], &v, msg, sizeof(msg)) != 0) {
			sb_printf(err, "%s", msg);
			return -1;
		}
		until = now + v;
	} else if (argc == 4) {
		if (steer_parse_time(argv[3], &v, msg, sizeof(msg)) != 0) {
			sb_printf(err, "%s", msg);
			return -1;
		}
		if (v <= now) {
			sb_printf(err, "time %s is in the past", argv[3]);
			return -1;
		}
		until = v;
	}
	return set_admin(out, ops, s, argv, err, ADMIN_DRAINED, until);
}

/* The member @address of pool @poolname in @s: its pool, family and index,
 * and its address as the config's text (@norm). -1 with a message. */
static int find_member(const struct snapshot *s, const char *poolname, const char *address,
		       const struct pool **pp, const struct pool_family **fp, unsigned *ip,
		       char *norm, size_t normsize, struct sbuf *err)
{
	const struct pool *p = NULL;
	const struct pool_family *f;
	uint8_t addr[16];
	char pbuf[CONTROL_MAX_LINE], abuf[CONTROL_MAX_LINE];
	int family = 0;
	unsigned idx = 0;

	if (inet_pton(AF_INET, address, addr) == 1) {
		family = AF_INET;
	} else if (inet_pton(AF_INET6, address, addr) == 1) {
		family = AF_INET6;
	}
	if (family) {
		inet_ntop(family, addr, norm, (socklen_t)normsize);
		for (size_t i = 0; i < s->npools && !p; i++) {
			if (strcmp(s->pools[i].name, poolname) == 0) {
				p = &s->pools[i];
			}
		}
	}
	if (p) {
		f = family == AF_INET ? &p->v4 : &p->v6;
		for (idx = 0; idx < f->n && strcmp(f->text[idx], norm) != 0; idx++) {
		}
		if (idx < f->n) {
			*pp = p;
			*fp = f;
			*ip = idx;
			return 0;
		}
	}
	sb_printf(err, "no member %s in pool %s", sb_printable(abuf, sizeof(abuf), address),
		  sb_printable(pbuf, sizeof(pbuf), poolname));
	return -1;
}

/* weight POOL ADDRESS N|--reset */
static int cmd_weight(struct sbuf *out, const struct control_ops *ops, const struct snapshot *s,
		      int argc, char **argv, struct sbuf *err)
{
	const struct pool *p;
	const struct pool_family *f;
	unsigned idx;
	char norm[INET6_ADDRSTRLEN], *end;
	int32_t want = -1, was = -1;
	long v;

	(void)argc;
	if (strcmp(argv[2], "--reset") != 0) {
		v = strtol(argv[2], &end, 10);
		if (!isdigit((unsigned char)argv[2][0]) || *end || v < 0 || v > 1000000) {
			sb_printf(err, "bad weight \"%.20s\": expected 0 (drained) to 1000000, or "
				  "--reset", argv[2]);
			return -1;
		}
		want = (int32_t)v;
	}
	if (find_member(s, argv[0], argv[1], &p, &f, &idx, norm, sizeof(norm), err) != 0) {
		return -1;
	}
	if (!ops->health || health_weight_set(ops->health, p->name, norm, want, &was) != 0) {
		sb_printf(err, "no admin entry for %s in pool %s (reload and retry)", norm, p->name);
		return -1;
	}
	if (was != want) {
		log_info("control: runtime weight of %s in pool %s: %d -> %d (-1: none)", norm,
			 p->name, (int)was, (int)want);
		if (ops->admin_changed) {
			ops->admin_changed(ops->arg);
		}
	}
	if (want < 0) {
		sb_printf(out, "%s in pool %s: runtime weight removed; configured weight %u\n", norm,
			  p->name, f->weight[idx]);
	} else {
		sb_printf(out, "%s in pool %s: runtime weight %d%s (configured %u)\n", norm, p->name,
			  (int)want, want == 0 ? ", drained" : "", f->weight[idx]);
	}
	return 0;
}

/* shift POOL --to GROUP [--step N] [--every DURATION] [--min-healthy N]
 * shift POOL --pause | --resume | --rollback | --finish */
static int cmd_shift(struct sbuf *out, const struct control_ops *ops, const struct snapshot *s,
		     int argc, char **argv, struct sbuf *err)
{
	const char *to = NULL;
	unsigned step = 10, min = 0;
	double every = 60;
	char msg[200];
	struct sbuf res;
	int rc;

	if (!ops->steer) {
		sb_printf(err, "shifts are not available");
		return -1;
	}
	sb_init(&res);
	if (argc == 2 && (strcmp(argv[1], "--pause") == 0 || strcmp(argv[1], "--resume") == 0 ||
			  strcmp(argv[1], "--rollback") == 0 || strcmp(argv[1], "--finish") == 0)) {
		rc = steer_shift_control(ops->steer, argv[0], argv[1] + 2, wall_now(), &res);
		goto done;
	}
	for (int i = 1; i < argc; i += 2) {
		char *end;
		long v;
		if (i + 1 >= argc) {
			usage(err, "shift");
			sb_clear(&res);
			return -1;
		}
		if (strcmp(argv[i], "--to") == 0) {
			to = argv[i + 1];
		} else if (strcmp(argv[i], "--step") == 0 || strcmp(argv[i], "--min-healthy") == 0) {
			bool is_step = argv[i][2] == 's';
			v = strtol(argv[i + 1], &end, 10);
			if (!isdigit((unsigned char)argv[i + 1][0]) || *end || v < 1 ||
			    v > (is_step ? 100 : 512)) {
				sb_printf(err, "bad %s \"%.20s\": expected 1 to %d", argv[i],
					  argv[i + 1], is_step ? 100 : 512);
				sb_clear(&res);
				return -1;
			}
			*(is_step ? &step : &min) = (unsigned)v;
		} else if (strcmp(argv[i], "--every") == 0) {
			if (steer_parse_duration(argv[i + 1], &every, msg, sizeof(msg)) != 0 ||
			    every < 0.1) {
				sb_printf(err, "%s", every < 0.1 ? "--every: at least 0.1s" : msg);
				sb_clear(&res);
				return -1;
			}
		} else {
			usage(err, "shift");
			sb_clear(&res);
			return -1;
		}
	}
	if (!to) {
		usage(err, "shift");
		sb_clear(&res);
		return -1;
	}
	rc = steer_shift_start(ops->steer, s, argv[0], to, step, every, min, wall_now(), &res);
done:
	if (rc == 0) {
		sb_printf(out, "%s\n", res.p);
		if (ops->admin_changed) {
			ops->admin_changed(ops->arg);
		}
	} else {
		sb_printf(err, "%s", res.p);
	}
	sb_clear(&res);
	return rc;
}

static int cmd_undrain(struct sbuf *out, const struct control_ops *ops, const struct snapshot *s,
		       int argc, char **argv, struct sbuf *err)
{
	(void)argc;
	return set_admin(out, ops, s, argv, err, ADMIN_NONE, 0);
}

static int cmd_reload(struct sbuf *out, const struct control_ops *ops, const struct snapshot *s,
		      int argc, char **argv, struct sbuf *err)
{
	struct sbuf why;
	int rc;

	(void)out;
	(void)s;
	(void)argc;
	(void)argv;
	log_info("control: reload requested");
	if (!ops->reload) {
		sb_printf(err, "reload is not available");
		return -1;
	}
	sb_init(&why);
	rc = ops->reload(ops->arg, &why);
	if (rc != 0) {
		sb_printf(err, "%s", why.len ? why.p : "reload not started");
	}
	sb_clear(&why);
	return rc == 0 ? COMMAND_PENDING : -1;
}

void commands_reload_reply(int rc, const char *msg, char **out, size_t *outlen)
{
	struct sbuf reply;
	size_t n = strlen(msg);

	sb_init(&reply);
	if (rc == 0) {
		/* Warnings the build logged, then the result line. */
		sb_printf(&reply, CONTROL_REPLY_OK "\n%s\n", msg);
	} else {
		/* First line for scripts, then every error the build logged. */
		while (n && msg[n - 1] == '\n') {
			n--;
		}
		sb_printf(&reply, CONTROL_REPLY_ERR " reload failed; the previous configuration "
						    "keeps serving\n");
		sb_append(&reply, msg, n);
		sb_printf(&reply, "\n");
	}
	*out = sb_take(&reply, outlen);
}

static const struct command commands[] = {
	{ "status", 0, 1, true, COMMAND_READ, cmd_status },
	{ "stats", 0, 1, false, COMMAND_READ, cmd_stats },
	{ "explain", 2, 6, true, COMMAND_READ, cmd_explain },
	{ "drain", 2, 4, true, COMMAND_ADMIN, cmd_drain },
	{ "weight", 3, 3, true, COMMAND_ADMIN, cmd_weight },
	{ "shift", 2, 9, true, COMMAND_ADMIN, cmd_shift },
	{ "undrain", 2, 2, true, COMMAND_ADMIN, cmd_undrain },
	{ "reload", 0, 0, false, COMMAND_RELOAD, cmd_reload },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage_hint(struct sbuf *b)
{
	sb_printf(b, "try:");
	for (size_t i = 0; i < control_ndocs; i++) {
		sb_printf(b, "%s %s", i ? "," : "", control_docs[i].name);
	}
}

int commands_execute(const char *line, const struct control_ops *ops, char **out, size_t *outlen)
{
	char buf[CONTROL_MAX_LINE + 1], pbuf[64];
	char *argv[CONTROL_MAX_ARGS + 1], *save = NULL, *tok;
	const struct command *cmd = NULL;
	const struct snapshot *s = NULL;
	struct sbuf reply, err;
	int argc = 0, rc = -1;

	sb_init(&reply);
	sb_init(&err);
	snprintf(buf, sizeof(buf), "%s", line);
	for (tok = strtok_r(buf, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (argc == CONTROL_MAX_ARGS + 1) {
			break;
		}
		argv[argc++] = tok;
	}
	for (size_t i = 0; argc > 0 && i < NCOMMANDS; i++) {
		if (strcmp(commands[i].name, argv[0]) == 0) {
			cmd = &commands[i];
		}
	}
	if (argc == 0) {
		sb_printf(&err, "empty command; ");
		usage_hint(&err);
	} else if (!cmd) {
		sb_printf(&err, "unknown command \"%s\"; ", sb_printable(pbuf, sizeof(pbuf), argv[0]));
		usage_hint(&err);
	} else if (argc - 1 < cmd->minargs || argc - 1 > cmd->maxargs) {
		usage(&err, cmd->name);
	} else if (cmd->needs_snapshot && !(s = ops && ops->current ? ops->current(ops->arg) : NULL)) {
		sb_printf(&err, "no configuration loaded");
	} else {
		static const struct control_ops none = { NULL, NULL, NULL, NULL, NULL, NULL, NULL };
		/* Read commands are lent no hooks that change anything. */
		struct control_ops lent = ops ? *ops : none;
		if (cmd->access == COMMAND_READ) {
			lent.reload = NULL;
			lent.admin_changed = NULL;
		} else if (cmd->access == COMMAND_ADMIN) {
			lent.reload = NULL;
		}
		rc = cmd->run(&reply, &lent, s, argc - 1, argv + 1, &err);
		if (rc == COMMAND_PENDING) {
			sb_clear(&reply);
			sb_clear(&err);
			*out = NULL;
			*outlen = 0;
			return rc;
		}
		if (rc == 0) {
			struct sbuf full;
			sb_init(&full);
			sb_printf(&full, CONTROL_REPLY_OK "\n");
			sb_append(&full, reply.p, reply.len);
			sb_clear(&reply);
			reply = full;
		}
	}
	if (rc != 0) {
		reply.len = 0;
		sb_printf(&reply, CONTROL_REPLY_ERR " %s\n", err.p);
	}
	sb_clear(&err);
	*out = sb_take(&reply, outlen);
	return rc;
}
