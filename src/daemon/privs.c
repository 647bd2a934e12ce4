/* privs.c -- who gslbd runs as: dropping root for the configured user and
 * group, shedding capabilities, and auditing the files it still needs.
 *
 * The order is the point. Everything that needs root -- binding port 53,
 * creating the control socket, reading the state file, connecting to syslog
 * -- happens first, in one thread; then the process becomes the user for
 * good, before server_start and the probe engine create any thread. Linux
 * keeps credentials per thread and glibc's set*id() calls broadcast to every
 * thread, but capabilities set with capset() are the calling thread's only:
 * dropping before the first thread makes every thread equal by birth. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/privs.h"
#include "data/conf.h"
#include "data/snapshot.h"
#include "health/check_kind.h"
#include "health/health.h"
#include "health/probe.h"
#include "util/log.h"
#include "util/mem.h"

/* capset/capget without libcap: two 32-bit words per set since version 3. */
static int caps_clear(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	return (int)syscall(SYS_capset, &h, d);
}

/* Does this thread hold any capability (permitted or effective)? */
static bool caps_any(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) != 0) {
		return true; /* cannot tell: assume the worst */
	}
	return d[0].permitted | d[1].permitted | d[0].effective | d[1].effective;
}

/* "user nobody (uid 65534)" or "uid 1234", for messages. */
static const char *who(char *buf, size_t size)
{
	char pwbuf[4096];
	struct passwd pw, *pwp = NULL;
	uid_t uid = geteuid();

	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &pwp) == 0 && pwp) {
		snprintf(buf, size, "user %s (uid %u)", pw.pw_name, (unsigned)uid);
	} else {
		snprintf(buf, size, "uid %u", (unsigned)uid);
	}
	return buf;
}

bool privs_stays_root(const struct conf *conf)
{
	return geteuid() == 0 && !conf->user;
}

int privs_check_exec(const struct conf *conf, bool as_root)
{
	int errors = 0;

	if (!as_root) {
		return 0;
	}
	for (size_t i = 0; i < conf->nchecks; i++) {
		const struct conf_check *k = &conf->checks[i];
		if (!k->kind || !k->kind->program || !k->kind->program(k)) {
			continue;
		}
		log_err("%s:%d: checks[%zu]: exec check \"%s\" would run its command as root; set "
			"'user' (and 'group') so that gslbd and its exec checks run unprivileged",
			conf->path, k->line, i, k->name);
		errors++;
	}
	return errors;
}

/* setgroups, setgid, setuid -- in that order, since each needs the
 * privilege the next one gives up. Returns 0 or -1 (logged). */
static int become(const struct conf *conf)
{
	uid_t ruid = 0, euid = 0, suid = 0; /* 0: unknown, if getresuid fails */
	gid_t rgid = 0, egid = 0, sgid = 0;
	const char *what;

	if (getresuid(&ruid, &euid, &suid) == 0 && getresgid(&rgid, &egid, &sgid) == 0 &&
	    ruid == conf->uid && euid == conf->uid && suid == conf->uid && rgid == conf->gid &&
	    egid == conf->gid && sgid == conf->gid) {
		return 0; /* started as that user (its own supplementary groups stay) */
	}
	what = "setgroups";
	if (setgroups(0, NULL) != 0) {
		goto fail;
	}
	what = "setresgid";
	if (setresgid(conf->gid, conf->gid, conf->gid) != 0) {
		goto fail;
	}
	what = "setresuid";
	if (setresuid(conf->uid, conf->uid, conf->uid) != 0) {
		goto fail;
	}
	return 0;

fail:
	log_err("%s:%d: user: cannot become user %s (uid %u) and group %s (gid %u): %s: %s%s",
		conf->path, conf->user_line, conf->user, (unsigned)conf->uid,
		conf->group ? conf->group : "?", (unsigned)conf->gid, what, strerror(errno),
		errno == EPERM ? " (start gslbd as root, or as that user)" : "");
	return -1;
}

int privs_drop(const struct conf *conf)
{
	char me[128];
	uid_t ruid = 0, euid = 0, suid = 0; /* 0: unknown, if getresuid fails */
	gid_t rgid = 0, egid = 0, sgid = 0;

	if (!conf->user && geteuid() == 0) {
		log_warn("running as root: set 'user' (and 'group') so that gslbd gives up root "
			 "once its sockets are open");
		return 0;
	}
	if (conf->user && become(conf) != 0) {
		return -1;
	}
	/* Whatever a service manager granted (AmbientCapabilities=) was for
	 * binding; the ambient set would also pass to every exec check. */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (caps_clear() != 0) {
		log_err("cannot drop capabilities: %s", strerror(errno));
		return -1;
	}
	/* For good: no id 0 anywhere, no way back, no capability left. */
	if (getresuid(&ruid, &euid, &suid) != 0 || getresgid(&rgid, &egid, &sgid) != 0 ||
	    ruid == 0 || euid == 0 || suid == 0 || rgid == 0 || egid == 0 || sgid == 0 ||
	    setuid(0) == 0 || setgid(0) == 0 || caps_any()) {
		log_err(
		    "privileges not dropped for good (uid %u/%u/%u, gid %u/%u/%u): refusing to run",
		    (unsigned)ruid, (unsigned)euid, (unsigned)suid, (unsigned)rgid, (unsigned)egid,
		    (unsigned)sgid);
		return -1;
	}
	{
		char grbuf[4096];
		struct group gr, *grp = NULL;
		gid_t gid = getegid();
		getgrgid_r(gid, &gr, grbuf, sizeof(grbuf), &grp);
		log_info("running as %s, group %s (gid %u), no capabilities", who(me, sizeof(me)),
			 grp ? gr.gr_name : "?", (unsigned)gid);
	}
	return 0;
}

/* A file read again later (reload, probes): a warning if we cannot. */
static void audit_read(const char *me, const char *path, const char *what, const char *then)
{
	if (access(path, R_OK) != 0) {
		log_warn("%s: %s not readable by %s: %s; %s", path, what, me, strerror(errno),
			 then);
	}
}

/* The state file is saved as a new file in its directory, renamed over
 * PATH: the directory must take new files, be trusted (health.h says what
 * that means) and, if sticky, PATH must be ours. */
static int audit_state_file(const struct conf *conf, const char *me, const char *path)
{
	char *tmp = xstrdup(path);
	const char *dir = dirname(tmp);
	struct stat dst, fst;
	char why[200];
	int errors = 0;

	if (access(dir, W_OK | X_OK) != 0) {
		log_err("state_file %s: directory %s not writable by %s: %s; gslbd saves the file "
			"by writing a new one beside it and renaming it: make %s writable by that "
			"user (e.g. install -d -o %s -g %s %s) or choose another state_file",
			path, dir, me, strerror(errno), dir, conf->user ? conf->user : "USER",
			conf->group ? conf->group : "GROUP", dir);
		errors++;
	} else if (health_state_dir_check(path, geteuid(), why, sizeof(why)) != 0) {
		log_err("state_file %s: directory %s is %s: whoever can write there could replace "
			"the file or plant links where it is written; make it owned by %s (or root) "
			"and not writable by group or others (e.g. install -d -o %s -m 0755 %s)",
			path, dir, why, me, conf->user ? conf->user : "USER", dir);
		errors++;
	} else if (stat(dir, &dst) == 0 && (dst.st_mode & S_ISVTX) && lstat(path, &fst) == 0 &&
		   fst.st_uid != geteuid() && dst.st_uid != geteuid()) {
		log_err("state_file %s: owned by uid %u in sticky directory %s, so %s cannot "
			"replace it: chown it to that user",
			path, (unsigned)fst.st_uid, dir, me);
		errors++;
	}
	free(tmp);
	return errors;
}

int privs_audit(const struct snapshot *snap)
{
	const struct conf *conf = snap->conf;
	const char *path_env = getenv("PATH");
	char me[128], buf[PATH_MAX + 8];
	int errors = 0;

	who(me, sizeof(me));
	for (size_t i = 0; i < conf->nfiles; i++) {
		audit_read(me, conf->files[i], "config file", "a reload would fail");
	}
	for (size_t i = 0; i < snap->nzones; i++) {
		const struct zone_data *z = &snap->zones[i].data;
		for (size_t j = 0; j < z->nfiles; j++) {
			audit_read(me, z->files[j], "zone file", "a reload would fail");
		}
	}
	if (path_env) {
		snprintf(buf, sizeof(buf), "PATH=%s", path_env);
	}
	for (size_t i = 0; i < conf->nchecks; i++) {
		const struct conf_check *k = &conf->checks[i];
		const char *program = k->kind && k->kind->program ? k->kind->program(k) : NULL;
		const char *file = k->kind && k->kind->reads_file ? k->kind->reads_file(k) : NULL;
		char prog[PATH_MAX];
		int err;
		if (program) {
			err = probe_exec_resolve(prog, sizeof(prog), program, path_env ? buf : NULL);
			if (err) {
				log_warn(
				    "%s:%d: checks[%zu].command: %s: not executable by %s: %s; "
				    "every probe of check \"%s\" would fail",
				    conf->path, k->line, i, program, me, strerror(err), k->name);
			}
		}
		if (file && access(file, R_OK) != 0 && errno != ENOENT) {
			log_warn("%s:%d: checks[%zu].path: %s: not readable by %s: %s; every probe "
				 "of check \"%s\" would fail",
				 conf->path, k->line, i, file, me, strerror(errno), k->name);
		}
	}
	if (conf->state_file) {
		errors += audit_state_file(conf, me, conf->state_file);
	}
	return errors;
}

int privs_audit_as_user(const struct snapshot *snap)
{
	const struct conf *conf = snap->conf;
	pid_t pid;
	int status;

	if (!conf->user || (geteuid() == conf->uid && getegid() == conf->gid)) {
		return privs_audit(snap);
	}
	if (geteuid() != 0) {
		log_warn("%s:%d: user: file access not checked for user %s: gslbd -t runs as uid "
			 "%u; run it as root (or as that user) to check",
			 conf->path, conf->user_line, conf->user, (unsigned)geteuid());
		return 0;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_err("cannot check file access as user %s: fork: %s", conf->user,
			strerror(errno));
		return 1;
	}
	if (pid == 0) {
		int errors = become(conf) != 0 ? 1 : privs_audit(snap);
		fflush(NULL);
		_exit(errors ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			log_err("cannot check file access as user %s: waitpid: %s", conf->user,
				strerror(errno));
			return 1;
		}
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
