/* probe_exec.c -- the exec check: its settings, and runs of a command, up
 * on exit 0, killed at the timeout.
 *
 * posix_spawn starts the command (vfork-like: no copy of our address space);
 * its pidfd becomes readable when it ends, so the probe loop waits for it as
 * for a socket, and waitpid(pid, WNOHANG) collects the status. No SIGCHLD
 * and no ev_child: those belong to the default loop.
 *
 * The trap: libev's default loop, which the main thread may run, reaps
 * every child on SIGCHLD with waitpid(-1), so it can take our child's
 * status first (an exit_signal of 0 does not help: execve resets it to
 * SIGCHLD). Then waitpid fails with ECHILD and, since Linux 6.15, the status
 * is still in the pidfd (PIDFD_GET_INFO with PIDFD_INFO_EXIT). On older
 * kernels the run fails with "exit status lost". */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>
#include <libconfig.h>

#include "data/conf.h"
#include "util/log.h"
#include "util/mem.h"
#include "health/check_kind.h"
#include "health/probe_int.h"

/* The first published struct pidfd_info (Linux 6.13), whose last field
 * became exit_code in 6.15; defined here since our headers may predate it. */
struct pidfd_info_v0 {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
};
#define PIDFD_GET_INFO_V0 _IOWR(0xFF, 11, struct pidfd_info_v0)
#define INFO_EXIT (1ull << 3)

/* How often a stolen child's pidfd is asked for its status before we give
 * up: it is published a moment after the other reaper took the child. */
#define EXIT_INFO_TRIES 100

/* One spawn setup for every run: the command gets /dev/null for stdin,
 * stdout and stderr, none of our other descriptors, default signal
 * dispositions and an empty mask (the probe thread blocks everything), and
 * its own process group so the timeout kills what it started too. */
struct probe_spawn {
	posix_spawnattr_t attr;
	posix_spawn_file_actions_t actions;
};

/* A killed child not yet collected. */
struct probe_reaper {
	ev_io io;
	struct probe_engine *eng;
	pid_t pid;
	int pidfd;
	struct probe_reaper *prev, *next;
};

static struct probe_spawn *spawn_setup(void)
{
	struct probe_spawn *sp = xcalloc(1, sizeof(*sp));
	sigset_t none, all;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&sp->attr);
	posix_spawnattr_setflags(&sp->attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
						POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setsigmask(&sp->attr, &none);
	posix_spawnattr_setsigdefault(&sp->attr, &all);
	posix_spawnattr_setpgroup(&sp->attr, 0);
	posix_spawn_file_actions_init(&sp->actions);
	posix_spawn_file_actions_addopen(&sp->actions, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&sp->actions, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&sp->actions, 1, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
	/* Our sockets are CLOEXEC; libcurl's and other threads' may not be. */
	posix_spawn_file_actions_addclosefrom_np(&sp->actions, 3);
#endif
	return sp;
}

int probe_exec_resolve(char *out, size_t size, const char *cmd, const char *path_env)
{
	const char *dirs = path_env ? path_env + 5 : "/usr/local/bin:/usr/bin:/bin";
	int err = ENOENT;

	if (strchr(cmd, '/')) {
		snprintf(out, size, "%s", cmd);
		return access(out, X_OK) == 0 ? 0 : errno;
	}
	while (*dirs) {
		const char *end = strchr(dirs, ':');
		size_t l = end ? (size_t)(end - dirs) : strlen(dirs);
		snprintf(out, size, "%.*s/%s", (int)(l ? l : 1), l ? dirs : ".", cmd);
		if (access(out, X_OK) == 0) {
			return 0;
		}
		if (errno != ENOENT && errno != ENOTDIR) {
			err = errno;
		}
		dirs += l + (end ? 1 : 0);
	}
	return err;
}

/* The status of a child someone else reaped: 1 and @status, 0 if not (yet)
 * known, -1 if the kernel cannot tell (before 6.15). */
static int exit_info(int pidfd, int *status)
{
	struct pidfd_info_v0 info;

	memset(&info, 0, sizeof(info));
	info.mask = INFO_EXIT;
	if (ioctl(pidfd, PIDFD_GET_INFO_V0, &info) != 0) {
		return errno == ESRCH ? 0 : -1;
	}
	if (!(info.mask & INFO_EXIT)) {
		return 0;
	}
	*status = info.exit_code;
	return 1;
}

/* SIGKILL to the child through its pidfd (never a recycled pid), then to
 * its group, which cannot have been recycled while the child is not reaped. */
static void kill_child(pid_t pid, int pidfd)
{
	if (pidfd_send_signal(pidfd, SIGKILL, NULL, 0) == 0) {
		kill(-pid, SIGKILL);
	}
}

/* --- reapers ---------------------------------------------------------------------- */

static void reaper_free(struct probe_reaper *r)
{
	struct probe_engine *e = r->eng;

	ev_io_stop(e->loop, &r->io);
	close(r->pidfd);
	if (r->prev) {
		r->prev->next = r->next;
	} else {
		e->reapers = r->next;
	}
	if (r->next) {
		r->next->prev = r->prev;
	}
	free(r);
}

static void reaper_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct probe_reaper *r = w->data;
	int status;

	if (waitpid(r->pid, &status, WNOHANG) == 0) {
		return;
	}
	reaper_free(r); /* collected, or someone else did */
}

/* Kill the child and leave it to a reaper: the probe is free at once, and
 * no zombie stays behind. */
static void abandon(struct probe_engine *e, pid_t pid, int pidfd)
{
	struct probe_reaper *r = calloc(1, sizeof(*r));

	kill_child(pid, pidfd);
	if (!r) {
		int status;
		/* SIGKILL cannot be caught: the wait is short. */
		waitpid(pid, &status, 0);
		close(pidfd);
		return;
	}
	r->eng = e;
	r->pid = pid;
	r->pidfd = pidfd;
	r->next = e->reapers;
	if (r->next) {
		r->next->prev = r;
	}
	e->reapers = r;
	ev_io_init(&r->io, reaper_cb, pidfd, EV_READ);
	r->io.data = r;
	ev_io_start(e->loop, &r->io);
}

static void exec_fini(struct probe_engine *e)
{
	while (e->reapers) {
		struct probe_reaper *r = e->reapers;
		struct pollfd pfd = {.fd = r->pidfd, .events = POLLIN};
		int status;

		kill_child(r->pid, r->pidfd);
		/* Bounded: a child stuck in the kernel must not hang shutdown. */
		if (poll(&pfd, 1, 2000) > 0) {
			waitpid(r->pid, &status, WNOHANG);
		} else {
			log_warn("probe: command %d did not die; left behind", (int)r->pid);
		}
		reaper_free(r);
	}
	if (e->spawn) {
		posix_spawnattr_destroy(&e->spawn->attr);
		posix_spawn_file_actions_destroy(&e->spawn->actions);
		free(e->spawn);
		e->spawn = NULL;
	}
}

/* --- runs ----------------------------------------------------------------------- */

static void exec_clear(struct probe *p);

static void exec_setup(struct probe *p)
{
	const struct probe_spec *s = p->spec;
	const struct probe_exec_opts *o = s->opts;
	const char *slash = strrchr(s->key, '/');
	char addr[INET6_ADDRSTRLEN], buf[512];
	size_t n = 0;

	exec_clear(p); /* the previous spec's environment */
	if (!o || !o->argv || !o->argv[0]) {
		snprintf(p->setup_err, sizeof(p->setup_err), "no command");
		return;
	}
	p->exec_env = xcalloc(5, sizeof(*p->exec_env));
	snprintf(buf, sizeof(buf), "GSLBD_ADDRESS=%s", probe_addr_text(addr, sizeof(addr), s));
	p->exec_env[n++] = xstrdup(buf);
	snprintf(buf, sizeof(buf), "GSLBD_PORT=%u", probe_port(s));
	p->exec_env[n++] = xstrdup(buf);
	snprintf(buf, sizeof(buf), "GSLBD_CHECK=%s", slash ? slash + 1 : "");
	p->exec_env[n++] = xstrdup(buf);
	if (p->eng->path_env) {
		p->exec_env[n++] = xstrdup(p->eng->path_env);
	}
}

static void exec_clear(struct probe *p)
{
	if (p->exec_env) {
		for (char **v = p->exec_env; *v; v++) {
			free(*v);
		}
		free(p->exec_env);
		p->exec_env = NULL;
	}
}

static void close_run(struct probe *p)
{
	probe_unwatch(p);
	p->pid = 0;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct probe *p = w->data;
	char reason[PROBE_REASON_MAX];
	int status = 0, err;
	pid_t r = waitpid(p->pid, &status, WNOHANG);

	if (r == 0) {
		return;
	}
	if (r < 0) {
		err = errno;
		if (err != ECHILD) {
			close_run(p);
			probe_fail_errno(p, "waitpid", err);
			return;
		}
		/* Reaped by someone else: the pidfd still knows, a moment later.
		 * It stays readable, so the loop comes back here. */
		int got = exit_info(p->fd, &status);
		if (got == 0 && ++p->exec_tries < EXIT_INFO_TRIES) {
			return;
		}
		if (got <= 0) {
			close_run(p);
			probe_done(p, false, "exit status lost (reaped elsewhere)");
			return;
		}
	}
	close_run(p);
	if (WIFEXITED(status)) {
		snprintf(reason, sizeof(reason), "exit %d", WEXITSTATUS(status));
		probe_done(p, WEXITSTATUS(status) == 0, reason);
	} else if (WIFSIGNALED(status)) {
		snprintf(reason, sizeof(reason), "signal %d", WTERMSIG(status));
		probe_done(p, false, reason);
	} else {
		probe_done(p, false, "stopped");
	}
}

static void exec_start(struct probe *p)
{
	const struct probe_exec_opts *o = p->spec->opts;
	struct probe_engine *e = p->eng;
	char path[PATH_MAX], reason[PROBE_REASON_MAX], tmp[128];
	int pidfd, err, status;
	pid_t pid;

	err = probe_exec_resolve(path, sizeof(path), o->argv[0], e->path_env);
	if (!err) {
		if (!e->spawn) {
			e->spawn = spawn_setup();
		}
		err = posix_spawn(&pid, path, &e->spawn->actions, &e->spawn->attr, o->argv,
				  p->exec_env);
	}
	if (err) {
		snprintf(reason, sizeof(reason), "cannot run %.100s: %s", o->argv[0],
			 strerror_r(err, tmp, sizeof(tmp)));
		probe_done(p, false, reason);
		return;
	}
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0) {
		err = errno;
		/* ESRCH: already ended and reaped by someone else. Otherwise kill
		 * it; SIGKILL makes the wait short. */
		if (err != ESRCH) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
		probe_fail_errno(p, "pidfd_open", err);
		return;
	}
	p->pid = pid;
	p->exec_tries = 0;
	probe_watch(p, pidfd, EV_READ, io_cb);
}

/* Kills the child; a reaper waits for it. */
static void exec_cancel(struct probe *p)
{
	if (p->pid > 0) {
		pid_t pid = p->pid;
		int pidfd = p->fd;
		ev_io_stop(p->eng->loop, &p->io);
		p->fd = -1;
		p->pid = 0;
		abandon(p->eng, pid, pidfd);
	}
}

/* --- configuration ------------------------------------------------------------- */

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++) {
		free(v[i]);
	}
	free(v);
}

static void *opts_new(void)
{
	return xcalloc(1, sizeof(struct probe_exec_opts));
}

static void *opts_dup(const void *opts)
{
	const struct probe_exec_opts *o = opts;
	struct probe_exec_opts *d = xcalloc(1, sizeof(*d));

	d->argv = o->argv ? xstrvdup(o->argv) : NULL;
	return d;
}

static void opts_free(void *opts)
{
	struct probe_exec_opts *o = opts;

	if (!o) {
		return;
	}
	strv_free(o->argv);
	free(o);
}

static void parse_command(struct conf_ctx *c, struct conf_check *k, const config_setting_t *s)
{
	struct probe_exec_opts *o = k->opts;
	char **argv = conf_strv(c, s);

	if (!argv) {
		return;
	}
	if (!argv[0]) {
		conf_error(c, s, "expected a non-empty list: the program and its arguments");
	}
	strv_free(o->argv);
	o->argv = argv;
}

static void validate(struct conf_ctx *c, struct conf_check *k, const config_setting_t *s)
{
	const struct probe_exec_opts *o = k->opts;

	if (!o->argv) {
		conf_error(c, s, "an exec check needs 'command'");
	}
}

static void make_spec(struct probe_spec *ps, const struct conf_check *k,
		      const struct conf_member *m)
{
	ps->opts = opts_dup(k->opts);
}

static const struct check_setting settings[] = {
    {"port", conf_check_port},
    {"command", parse_command},
    {NULL, NULL},
};

/* The port reaches the command as GSLBD_PORT. */
static const char *const member_settings[] = {"port", "probe_address", NULL};

static const char *exec_program(const struct conf_check *k)
{
	const struct probe_exec_opts *o = k->opts;

	return o && o->argv ? o->argv[0] : NULL;
}

const struct check_kind check_kind_exec = {
    .name = "exec",
    .settings = settings,
    .member_settings = member_settings,
    .opts_new = opts_new,
    .opts_dup = opts_dup,
    .opts_free = opts_free,
    .validate = validate,
    .make_spec = make_spec,
    .program = exec_program,
    .setup = exec_setup,
    .clear = exec_clear,
    .start = exec_start,
    .cancel = exec_cancel,
    .timeout_reason = "killed at timeout",
    .fini = exec_fini,
};
