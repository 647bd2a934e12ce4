/* check_health.c -- the health state machine, the word table, admin
 * overrides and the state file. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "testutil.h"

#include "health/health.h"

START_TEST(test_sm_fall_and_rise)
{
	struct health_sm sm = {HEALTH_UP, 0};

	/* fall = 3: two failures are not enough, a success resets the run. */
	ck_assert(!health_sm_apply(&sm, false, 2, 3));
	ck_assert(!health_sm_apply(&sm, false, 2, 3));
	ck_assert(!health_sm_apply(&sm, true, 2, 3));
	ck_assert_uint_eq(sm.count, 0);
	ck_assert(!health_sm_apply(&sm, false, 2, 3));
	ck_assert(!health_sm_apply(&sm, false, 2, 3));
	ck_assert(health_sm_apply(&sm, false, 2, 3));
	ck_assert_int_eq(sm.state, HEALTH_DOWN);
	/* rise = 2 */
	ck_assert(!health_sm_apply(&sm, true, 2, 3));
	ck_assert(!health_sm_apply(&sm, false, 2, 3));
	ck_assert(!health_sm_apply(&sm, true, 2, 3));
	ck_assert(health_sm_apply(&sm, true, 2, 3));
	ck_assert_int_eq(sm.state, HEALTH_UP);
}
END_TEST

START_TEST(test_sm_rise_fall_one)
{
	struct health_sm sm = {HEALTH_DOWN, 0};

	ck_assert(health_sm_apply(&sm, true, 1, 1));
	ck_assert(health_sm_apply(&sm, false, 1, 1));
	ck_assert(!health_sm_apply(&sm, false, 1, 1));
}
END_TEST

/* The info copy of entry @e. */
static struct health_info info(struct health_table *t, struct health_entry *e)
{
	struct health_info i;

	ck_assert(health_info_by_word(t, health_entry_word(e), &i));
	return i;
}

START_TEST(test_record_updates_word)
{
	struct health_table *t = health_table_new();
	struct health_entry *e = health_get(t, "192.0.2.1:80", "web", "http", true);
	struct health_entry *a = health_get_admin(t, "pool", "192.0.2.1");
	uint32_t ew = health_entry_word(e), aw = health_entry_word(a);
	enum health_admin was;

	ck_assert_str_eq(health_entry_key(e), "192.0.2.1:80/web");
	ck_assert(health_member_up(t, ew, aw));
	ck_assert(!health_record(t, e, false, "status 503", 1.5, 2, 2, 100.0));
	ck_assert(health_member_up(t, ew, aw));
	ck_assert(health_record(t, e, false, "status 503", 1.5, 2, 2, 101.0));
	ck_assert(!health_member_up(t, ew, aw));
	ck_assert_str_eq(info(t, e).reason, "status 503");
	ck_assert(info(t, e).changed == 101.0);
	ck_assert_uint_eq(info(t, e).probes_failed, 2);
	ck_assert_uint_eq(info(t, e).changes, 1);

	/* Admin overrides win over health, both ways, by handle and by key. */
	ck_assert_int_eq(health_set_admin(t, a, ADMIN_FORCED_UP), 0);
	ck_assert(health_member_up(t, ew, aw));
	ck_assert_int_eq(health_admin_set(t, "pool", "192.0.2.1", ADMIN_DRAINED, &was), 0);
	ck_assert_int_eq(was, ADMIN_FORCED_UP);
	ck_assert_int_eq(health_admin_set(t, "pool", "192.0.2.99", ADMIN_DRAINED, &was), -1);
	health_record(t, e, true, "ok", 1, 1, 2, 102.0);
	ck_assert(health_word(t, ew) & 1);
	ck_assert(!health_member_up(t, ew, aw));
	ck_assert_int_eq(health_set_admin(t, e, ADMIN_DRAINED), -1);
	ck_assert_uint_eq(info(t, e).probes_ok, 1);
	/* Asking again finds the same entry and keeps its state. */
	ck_assert_ptr_eq(health_get(t, "192.0.2.1:80", "web", "http", false), e);
	ck_assert(health_word(t, ew) & 1);
	/* A probe key that is already an admin key is refused. */
	ck_assert_ptr_null(health_get(t, "pool", "192.0.2.1", "tcp", true));
	health_table_free(t);
}
END_TEST

START_TEST(test_reason_sanitized)
{
	struct health_table *t = health_table_new();
	struct health_entry *e = health_get(t, "t", "c", "tcp", true);

	health_record(t, e, false, "bad\nline\r", 0, 1, 1, 1.0);
	ck_assert_str_eq(info(t, e).reason, "bad line ");
	health_table_free(t);
}
END_TEST

START_TEST(test_many_entries_span_blocks)
{
	struct health_table *t = health_table_new();
	struct health_entry *first = NULL, *e = NULL;
	char target[64];

	/* More entries than one block of words holds. */
	for (int i = 0; i < (int)HEALTH_BLOCK_SIZE + 100; i++) {
		snprintf(target, sizeof(target), "10.0.%d.%d:80", i / 256, i % 256);
		e = health_get(t, target, "c", "tcp", i % 2 == 0);
		ck_assert_uint_eq(health_word(t, health_entry_word(e)), (unsigned)(i % 2 == 0));
		if (!first) {
			first = e;
		}
	}
	ck_assert_uint_ge(health_entry_word(e), HEALTH_BLOCK_SIZE);
	/* Found again by key, not created twice. */
	ck_assert_ptr_eq(health_get(t, "10.0.0.0:80", "c", "tcp", false), first);
	ck_assert_str_eq(info(t, e).target, target);
	ck_assert(!health_info_by_word(t, health_entry_word(e) + 1, &(struct health_info){ 0 }));
	health_table_free(t);
}
END_TEST

static void count_entry(const struct health_info *h, void *arg)
{
	unsigned *n = arg;

	n[0]++;
	n[1] += h->is_admin;
	n[2] += h->always;
}

START_TEST(test_foreach_and_always_up)
{
	struct health_table *t = health_table_new();
	struct health_entry *always = health_always_up(t);
	unsigned n[3] = { 0, 0, 0 };

	ck_assert_ptr_eq(health_always_up(t), always);
	ck_assert(health_word(t, health_entry_word(always)) & 1);
	health_get(t, "192.0.2.1:80", "web", "http", true);
	health_get_admin(t, "www", "192.0.2.1");
	health_foreach(t, count_entry, n);
	ck_assert_uint_eq(n[0], 3);
	ck_assert_uint_eq(n[1], 1);
	ck_assert_uint_eq(n[2], 1);
	ck_assert(info(t, always).always);
	health_table_free(t);
}
END_TEST

START_TEST(test_first_use_per_build)
{
	struct health_table *t = health_table_new();
	struct health_entry *e;

	health_build_begin(t);
	e = health_get(t, "192.0.2.1:80", "web", "http", true);
	ck_assert(health_first_use(t, e));
	ck_assert(!health_first_use(t, e)); /* a second pool sharing the probe */
	health_build_begin(t);
	ck_assert(health_first_use(t, e));
	health_table_free(t);
}
END_TEST

START_TEST(test_dirty_flag)
{
	struct health_table *t = health_table_new();
	struct health_entry *e = health_get(t, "192.0.2.1:80", "web", "http", true);
	struct health_entry *a = health_get_admin(t, "www", "192.0.2.1");

	(void)health_take_dirty(t);
	ck_assert(!health_take_dirty(t));
	health_record(t, e, true, "ok", 1, 1, 1, 1.0); /* agrees with the state: no change */
	ck_assert(!health_take_dirty(t));
	health_record(t, e, false, "refused", 1, 1, 1, 2.0);
	ck_assert(health_take_dirty(t));
	ck_assert(!health_take_dirty(t));
	health_set_admin(t, a, ADMIN_DRAINED);
	ck_assert(health_take_dirty(t));
	health_retain(t, &e, 1);
	ck_assert(health_take_dirty(t));
	health_table_free(t);
}
END_TEST

/* health_changes counts what changes a state (a member up or down, an admin
 * override), not probe results that agree with it, nor reads: the systemd
 * status timer walks the pools only when it moved. */
START_TEST(test_changes_counter)
{
	struct health_table *t = health_table_new();
	struct health_entry *e = health_get(t, "192.0.2.1:80", "web", "http", true);
	struct health_entry *a = health_get_admin(t, "www", "192.0.2.1");
	uint64_t c0 = health_changes(t);

	health_record(t, e, true, "ok", 1, 1, 1, 1.0);
	ck_assert_uint_eq(health_changes(t), c0);
	health_record(t, e, false, "refused", 1, 1, 2, 2.0); /* one failure of two */
	ck_assert_uint_eq(health_changes(t), c0);
	health_record(t, e, false, "refused", 1, 1, 2, 3.0); /* down */
	ck_assert_uint_eq(health_changes(t), c0 + 1);
	ck_assert(!health_member_up(t, health_entry_word(e), health_entry_word(a)));
	health_set_admin(t, a, ADMIN_FORCED_UP);
	ck_assert_uint_eq(health_changes(t), c0 + 2);
	health_set_admin(t, a, ADMIN_FORCED_UP); /* the same again */
	ck_assert_uint_eq(health_changes(t), c0 + 2);
	(void)health_take_dirty(t); /* the state file's flag is its own */
	ck_assert_uint_eq(health_changes(t), c0 + 2);
	health_table_free(t);
}
END_TEST

START_TEST(test_state_file_roundtrip)
{
	char path[PATH_MAX], buf[4096];
	struct health_table *t = health_table_new();
	struct health_entry *e, *a;

	if (snprintf(path, sizeof(path), "%s/state", tu_dir()) >= (int)sizeof(path)) {
		abort();
	}
	/* A missing file: first start. */
	ck_assert_int_eq(health_load_state(t, path, geteuid()), 0);
	e = health_get(t, "192.0.2.9:443", "web", "https", true);
	a = health_get_admin(t, "web", "192.0.2.9");
	health_record(t, e, false, "refused", 0, 1, 1, 5.0);
	health_set_admin(t, a, ADMIN_DRAINED);
	ck_assert_int_eq(health_save_state(t), 0);
	ck_assert(!health_take_dirty(t));
	tu_read(buf, sizeof(buf), path);
	ck_assert_ptr_nonnull(strstr(buf, "health 192.0.2.9:443/web down\n"));
	ck_assert_ptr_nonnull(strstr(buf, "admin web/192.0.2.9 drained\n"));
	health_table_free(t);

	/* A restart: the saved state wins over the check's initial state. */
	t = health_table_new();
	ck_assert_int_eq(health_load_state(t, path, geteuid()), 0);
	e = health_get(t, "192.0.2.9:443", "web", "https", true);
	a = health_get_admin(t, "web", "192.0.2.9");
	ck_assert_uint_eq(health_word(t, health_entry_word(e)), 0);
	ck_assert_uint_eq(health_word(t, health_entry_word(a)), ADMIN_DRAINED);
	ck_assert_int_eq(info(t, e).state, HEALTH_DOWN);
	health_table_free(t);
}
END_TEST

static void count_all(const struct health_info *h, void *arg)
{
	(void)h;
	(*(unsigned *)arg)++;
}

START_TEST(test_state_file_malformed_lines_ignored)
{
	char path[PATH_MAX], log[4096];
	struct health_table *t = health_table_new();
	struct health_entry *e, *a;
	unsigned n = 0;

	tu_write(path, "state2",
		 "# comment\ngarbage\nhealth x:1/c down\nadmin p/1.2.3.4 weird\nbogus k v\n"
		 "admin p/1.2.3.5 drained");
	TU_CAPTURE_STDERR(log, sizeof(log),
			  ck_assert_int_eq(health_load_state(t, path, geteuid()), 0));
	/* Line 2 is malformed, line 4 of no known state, line 5 of no known
	 * kind: each said and skipped. The last line needs no newline. */
	ck_assert_ptr_nonnull(strstr(log, ":2: ignored malformed state line"));
	ck_assert_ptr_nonnull(strstr(log, ":4: ignored state line"));
	ck_assert_ptr_nonnull(strstr(log, ":5: ignored state line"));
	/* Lines make no entries; entries asked for take their state. */
	health_foreach(t, count_all, &n);
	ck_assert_uint_eq(n, 0);
	e = health_get(t, "x:1", "c", "tcp", true);
	ck_assert_uint_eq(health_word(t, health_entry_word(e)), 0);
	a = health_get_admin(t, "p", "1.2.3.4");
	ck_assert_uint_eq(health_word(t, health_entry_word(a)), ADMIN_NONE);
	a = health_get_admin(t, "p", "1.2.3.5");
	ck_assert_uint_eq(health_word(t, health_entry_word(a)), ADMIN_DRAINED);
	health_table_free(t);
}
END_TEST

/* --- the state file's safety ---------------------------------------------------- */

#define NOBODY 65534

/* A directory @name in the test dir with exactly @mode. */
static const char *mkdir_mode(char *path, const char *name, mode_t mode)
{
	if (snprintf(path, PATH_MAX, "%s/%s", tu_dir(), name) >= PATH_MAX) {
		abort();
	}
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

static const char *join(char *out, const char *dir, const char *name)
{
	if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX) {
		abort();
	}
	return out;
}

/* A table whose state file is @dir/@name, loaded as @owner; returns the
 * table, its load result in *@rc and what was logged in @log. */
static struct health_table *load_in(int *rc, char *log, size_t logsize, const char *dir,
				    const char *name, uid_t owner)
{
	struct health_table *t = health_table_new();
	char path[PATH_MAX];

	join(path, dir, name);
	TU_CAPTURE_STDERR(log, logsize, *rc = health_load_state(t, path, owner));
	return t;
}

/* The directory must be gslbd's (or root's) and writable by nobody else,
 * but for a sticky directory of gslbd's own. */
START_TEST(test_state_dir_must_be_trusted)
{
	char dir[PATH_MAX], path[PATH_MAX], log[4096], why[200];
	struct health_table *t;
	struct health_entry *e;
	int rc;

	t = load_in(&rc, log, sizeof(log), mkdir_mode(dir, "d777", 0777), "state", geteuid());
	ck_assert_int_eq(rc, -1);
	ck_assert_ptr_nonnull(strstr(log, "is writable by others (mode 0777)"));
	ck_assert_int_eq(health_save_state(t), 0); /* nothing to save to */
	health_table_free(t);
	ck_assert_int_eq(access(join(path, dir, "state.lock"), F_OK), -1); /* nothing made */
	ck_assert_int_eq(health_state_dir_check(join(path, dir, "state"), geteuid(), why,
						sizeof(why)),
			 -1);

	t = load_in(&rc, log, sizeof(log), mkdir_mode(dir, "d770", 0770), "state", geteuid());
	ck_assert_int_eq(rc, -1);
	ck_assert_ptr_nonnull(strstr(log, "is writable by its group (mode 0770)"));
	health_table_free(t);

	/* Sticky and ours: others may add files, not touch ours. */
	t = load_in(&rc, log, sizeof(log), mkdir_mode(dir, "d1777", 01777), "state", geteuid());
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(health_save_state(t), 0);
	health_table_free(t);
	ck_assert_int_eq(health_state_dir_check(join(path, dir, "state"), geteuid(), why,
						sizeof(why)),
			 0);

	/* Fine at start, opened to others later: not saved, said once. */
	t = load_in(&rc, log, sizeof(log), mkdir_mode(dir, "d755", 0755), "state", geteuid());
	ck_assert_int_eq(rc, 0);
	e = health_get(t, "192.0.2.1:80", "c", "tcp", true);
	ck_assert_int_eq(health_save_state(t), 0);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	health_record(t, e, false, "refused", 0, 1, 1, 1.0);
	TU_CAPTURE_STDERR(log, sizeof(log), ck_assert_int_eq(health_save_state(t), -1);
			  ck_assert_int_eq(health_save_state(t), -1));
	ck_assert_ptr_nonnull(strstr(log, "not saved: its directory is writable by others"));
	ck_assert_ptr_null(strstr(strstr(log, "not saved") + 1, "not saved")); /* once */
	ck_assert(health_take_dirty(t));                                       /* still to do */
	ck_assert_int_eq(chmod(dir, 0755), 0);
	TU_CAPTURE_STDERR(log, sizeof(log), ck_assert_int_eq(health_save_state(t), 0));
	ck_assert_ptr_nonnull(strstr(log, "saved again"));
	health_table_free(t);

	if (geteuid() != 0) {
		fprintf(stderr, "test_state_dir_must_be_trusted: SKIP the cases of a directory "
				"owned by another user: they need root to chown\n");
		return;
	}
	/* Someone else's directory, even sticky. */
	mkdir_mode(dir, "nobody755", 0755);
	ck_assert_int_eq(chown(dir, NOBODY, NOBODY), 0);
	t = load_in(&rc, log, sizeof(log), dir, "state", 0);
	ck_assert_int_eq(rc, -1);
	ck_assert_ptr_nonnull(strstr(log, "owned by uid 65534, neither gslbd's uid 0 nor root"));
	health_table_free(t);
	mkdir_mode(dir, "nobody1777", 01777);
	ck_assert_int_eq(chown(dir, NOBODY, NOBODY), 0);
	t = load_in(&rc, log, sizeof(log), dir, "state", 0);
	ck_assert_int_eq(rc, -1);
	health_table_free(t);
	/* root's sticky /tmp-like directory, for a gslbd running as nobody. */
	mkdir_mode(dir, "root1777", 01777);
	t = load_in(&rc, log, sizeof(log), dir, "state", NOBODY);
	ck_assert_int_eq(rc, -1);
	ck_assert_ptr_nonnull(strstr(log, "sticky but not owned by gslbd's uid"));
	health_table_free(t);
}
END_TEST

/* Become @uid (from root) in a child, run @fn there; its exit status. */
static int in_child_as(uid_t uid, int (*fn)(void *), void *arg)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (geteuid() == 0 && uid != 0 &&
		    (setgroups(0, NULL) != 0 || setresgid(uid, uid, uid) != 0 ||
		     setresuid(uid, uid, uid) != 0)) {
			perror("becoming the saver");
			_exit(90);
		}
		_exit(fn(arg));
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

struct plant {
	char dir[PATH_MAX];    /* the state directory, the saver's own */
	char victim[PATH_MAX]; /* a file of the saver's that links point at */
};

/* As the saver (gslbd's user): load, plant links where the old code wrote
 * (STATE.tmp.PID for this pid and its neighbours) to the victim, save three
 * times. */
static int plant_and_save(void *arg)
{
	const struct plant *p = arg;
	char path[PATH_MAX], link[PATH_MAX + 32];
	struct health_table *t = health_table_new();
	struct health_entry *e, *a;
	pid_t me = getpid();

	join(path, p->dir, "gslbd.state");
	if (health_load_state(t, path, geteuid()) != 0) {
		return 10;
	}
	for (pid_t pid = me - 3; pid <= me + 3; pid++) {
		snprintf(link, sizeof(link), "%s.tmp.%d", path, (int)pid);
		if (symlink(p->victim, link) != 0 && errno != EEXIST) {
			return 11;
		}
	}
	snprintf(link, sizeof(link), "%s.tmp", path);
	if (symlink(p->victim, link) != 0 && errno != EEXIST) {
		return 12;
	}
	e = health_get(t, "192.0.2.7:80", "web", "tcp", true);
	a = health_get_admin(t, "web", "192.0.2.7");
	for (int i = 0; i < 3; i++) {
		health_record(t, e, i % 2 == 1, "probe", 0, 1, 1, 1.0 + i);
		health_set_admin(t, a, i == 2 ? ADMIN_DRAINED : ADMIN_NONE);
		if (health_save_state(t) != 0) {
			return 20 + i;
		}
	}
	health_table_free(t);
	return 0;
}

/* Links planted at the old predictable temporary names (and at the state
 * file itself) are never followed: the victim is untouched, the state lands
 * in a file of its own. */
START_TEST(test_state_save_ignores_planted_links)
{
	char top[] = "/tmp/gslbd-plant.XXXXXX", buf[4096], path[PATH_MAX], log[4096];
	uid_t saver = geteuid() == 0 ? NOBODY : geteuid();
	struct plant p;
	struct stat st;
	struct health_table *t;
	int rc;

	/* Outside the 0700 test directory, so that nobody can reach it. */
	ck_assert_ptr_nonnull(mkdtemp(top));
	ck_assert_int_eq(chmod(top, 0755), 0);
	join(p.dir, top, "state");
	join(p.victim, top, "victim");
	ck_assert_int_eq(mkdir(p.dir, 0755), 0);
	ck_assert_int_eq(chmod(p.dir, 0755), 0);
	{
		FILE *f = fopen(p.victim, "w");
		ck_assert_ptr_nonnull(f);
		fputs("precious\n", f);
		fclose(f);
	}
	ck_assert_int_eq(chmod(p.victim, 0644), 0);
	ck_assert_int_eq(chown(p.dir, saver, saver), 0);
	ck_assert_int_eq(chown(p.victim, saver, saver), 0);

	ck_assert_int_eq(in_child_as(saver, plant_and_save, &p), 0);
	ck_assert_str_eq(tu_read(buf, sizeof(buf), p.victim), "precious\n");
	join(path, p.dir, "gslbd.state");
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_uid, saver);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	tu_read(buf, sizeof(buf), path);
	ck_assert_ptr_nonnull(strstr(buf, "health 192.0.2.7:80/web down\n"));
	ck_assert_ptr_nonnull(strstr(buf, "admin web/192.0.2.7 drained\n"));

	/* The state file itself a link to the victim: not read (not
	 * trusted), and the save replaces the link, not the victim. */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(symlink(p.victim, path), 0);
	t = health_table_new();
	TU_CAPTURE_STDERR(log, sizeof(log), rc = health_load_state(t, path, saver));
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_nonnull(strstr(log, "a symbolic link, not trusted"));
	health_table_free(t);
	if (geteuid() == 0) {
		ck_assert_int_eq(lchown(path, saver, saver), 0);
	}
	ck_assert_int_eq(in_child_as(saver, plant_and_save, &p), 0);
	ck_assert_str_eq(tu_read(buf, sizeof(buf), p.victim), "precious\n");
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));

	{
		char cmd[PATH_MAX + 16];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

/* A state file anyone else could have written is read as if absent: a
 * forced-up in it forces nothing, and the log says why. */
START_TEST(test_state_file_untrusted_ignored)
{
	static const char forced[] = "admin web/127.0.1.1 forced-up\nhealth 127.0.1.1:80/tcp up\n";
	char dir[PATH_MAX], path[PATH_MAX], log[4096];
	struct health_table *t;
	struct health_entry *e, *a;
	int rc;
	struct {
		const char *name;
		mode_t mode;
		uid_t uid; /* (uid_t)-1: ours */
		const char *why;
	} cases[] = {
		{ "ok", 0600, (uid_t)-1, NULL },
		{ "world", 0666, (uid_t)-1, "writable by group or others (mode 0666)" },
		{ "group", 0620, (uid_t)-1, "writable by group or others (mode 0620)" },
		{ "other-user", 0600, NOBODY, "owned by uid 65534, not by gslbd's uid 0 or root" },
	};

	mkdir_mode(dir, "untrusted", 0700);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		FILE *f;
		if (cases[i].uid != (uid_t)-1 && geteuid() != 0) {
			fprintf(stderr, "test_state_file_untrusted_ignored: SKIP \"%s\": needs root "
					"to chown the file to another user\n",
				cases[i].name);
			continue;
		}
		join(path, dir, cases[i].name);
		f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		fputs(forced, f);
		fclose(f);
		ck_assert_int_eq(chmod(path, cases[i].mode), 0);
		if (cases[i].uid != (uid_t)-1) {
			ck_assert_int_eq(chown(path, cases[i].uid, cases[i].uid), 0);
		}
		t = load_in(&rc, log, sizeof(log), dir, cases[i].name, geteuid());
		ck_assert_int_eq(rc, 0); /* started all the same */
		e = health_get(t, "127.0.1.1:80", "tcp", "tcp", false);
		a = health_get_admin(t, "web", "127.0.1.1");
		if (!cases[i].why) {
			ck_assert_uint_eq(health_word(t, health_entry_word(a)), ADMIN_FORCED_UP);
			ck_assert(health_member_up(t, health_entry_word(e), health_entry_word(a)));
		} else {
			ck_assert_msg(strstr(log, cases[i].why), "%s: log says why: %s",
				      cases[i].name, log);
			ck_assert_ptr_nonnull(strstr(log, "ignored"));
			ck_assert_uint_eq(health_word(t, health_entry_word(a)), ADMIN_NONE);
			ck_assert(!health_member_up(t, health_entry_word(e), health_entry_word(a)));
		}
		health_table_free(t);
	}

	/* Not a regular file: a FIFO would block a plain open. */
	join(path, dir, "fifo");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	t = load_in(&rc, log, sizeof(log), dir, "fifo", geteuid());
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_nonnull(strstr(log, "not a regular file"));
	health_table_free(t);
}
END_TEST

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Write @n lines "health 10.A.B.C:80/web up" (22 to 30 bytes) to @path. */
static void write_lines(const char *path, unsigned n)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	for (unsigned i = 0; i < n; i++) {
		fprintf(f, "health 10.%u.%u.%u:80/web up\n", i >> 16, (i >> 8) & 255, i & 255);
	}
	ck_assert_int_eq(fclose(f), 0);
}

/* The sanitizers' shadow memory grows with every byte first touched, and
 * they slow everything down: the memory and time bounds below hold for the
 * plain build, which .ci/run runs first; sanitized builds check the rest. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifdef SANITIZED
#define BOUNDED(cond) ((void)0)
#else
#define BOUNDED(cond) cond
#endif

/* A state file of a million lines (29 MB) is over the bound: refused at
 * once, before a byte of it is read; one within the bound is read quickly
 * and costs memory in proportion. */
START_TEST(test_state_file_size_bounded)
{
	char dir[PATH_MAX], path[PATH_MAX], log[4096];
	struct health_table *t;
	struct health_entry *e;
	double t0;
	long rss0;
	int rc;

	mkdir_mode(dir, "big", 0700);
	write_lines(join(path, dir, "million"), 1000000);
	rss0 = maxrss_kib();
	t0 = now_s();
	t = load_in(&rc, log, sizeof(log), dir, "million", geteuid());
	ck_assert_int_eq(rc, 0);
	BOUNDED(ck_assert_msg(now_s() - t0 < 0.5, "refused in %.3f s", now_s() - t0));
	BOUNDED(ck_assert_msg(maxrss_kib() - rss0 < 4096, "memory grew by %ld KiB",
			      maxrss_kib() - rss0));
	ck_assert_ptr_nonnull(strstr(log, "over the bound of 8388608 (8 MiB)"));
	ck_assert_ptr_nonnull(strstr(log, "ignored"));
	e = health_get(t, "10.0.0.0:80", "web", "tcp", false);
	ck_assert_uint_eq(health_word(t, health_entry_word(e)), 0); /* the file's "up" not used */
	health_table_free(t);

	/* 285,000 lines, 8.29 MB: within the bound. */
	write_lines(join(path, dir, "within"), 285000);
	rss0 = maxrss_kib();
	t0 = now_s();
	t = load_in(&rc, log, sizeof(log), dir, "within", geteuid());
	ck_assert_int_eq(rc, 0);
	BOUNDED(ck_assert_msg(now_s() - t0 < 2.0, "read in %.3f s", now_s() - t0));
	/* The text, one small record and an index slot or two per line. */
	BOUNDED(ck_assert_msg(maxrss_kib() - rss0 < 40 * 1024, "memory grew by %ld KiB",
			      maxrss_kib() - rss0));
	ck_assert_ptr_null(strstr(log, "bound"));
	e = health_get(t, "10.4.89.71:80", "web", "tcp", false); /* the last line */
	ck_assert_uint_eq(health_word(t, health_entry_word(e)), 1);
	health_table_free(t);
}
END_TEST

/* A pool or member the config no longer names leaves the file at the next
 * save; lines of the file the first build does not name are never kept.
 * In memory the entry stays, so a reload that names it again finds it. */
START_TEST(test_state_file_drops_what_config_no_longer_names)
{
	char path[PATH_MAX], buf[4096];
	struct health_table *t = health_table_new();
	struct health_entry *e1, *e2, *a1;

	tu_write(path, "stale",
		 "health 192.0.2.1:80/web up\nhealth 192.0.2.9:80/web down\n"
		 "admin web/192.0.2.1 drained\nadmin old/192.0.2.5 drained\n");
	ck_assert_int_eq(health_load_state(t, path, geteuid()), 0);
	/* Start-up: the config names member 192.0.2.1 of pool web only. */
	health_build_begin(t);
	health_always_up(t);
	e1 = health_get(t, "192.0.2.1:80", "web", "tcp", false);
	a1 = health_get_admin(t, "web", "192.0.2.1");
	ck_assert_uint_eq(health_word(t, health_entry_word(e1)), 1);
	ck_assert_uint_eq(health_word(t, health_entry_word(a1)), ADMIN_DRAINED);
	health_retain(t, &e1, 1);
	ck_assert_int_eq(health_save_state(t), 0);
	tu_read(buf, sizeof(buf), path);
	ck_assert_ptr_nonnull(strstr(buf, "health 192.0.2.1:80/web up\n"));
	ck_assert_ptr_nonnull(strstr(buf, "admin web/192.0.2.1 drained\n"));
	ck_assert_msg(!strstr(buf, "192.0.2.9") && !strstr(buf, "old/") && !strstr(buf, "always"),
		      "only what the config names:\n%s", buf);

	/* A reload replaces 192.0.2.1 by 192.0.2.2. */
	health_build_begin(t);
	health_always_up(t);
	e2 = health_get(t, "192.0.2.2:80", "web", "tcp", true);
	health_get_admin(t, "web", "192.0.2.2");
	health_retain(t, &e2, 1);
	ck_assert_int_eq(health_save_state(t), 0);
	tu_read(buf, sizeof(buf), path);
	ck_assert_ptr_nonnull(strstr(buf, "health 192.0.2.2:80/web up\n"));
	ck_assert_msg(!strstr(buf, "192.0.2.1"), "the removed member is gone:\n%s", buf);

	/* Undone by the next reload: still drained, and saved again. */
	health_build_begin(t);
	ck_assert_ptr_eq(health_get(t, "192.0.2.1:80", "web", "tcp", true), e1);
	ck_assert_ptr_eq(health_get_admin(t, "web", "192.0.2.1"), a1);
	ck_assert_uint_eq(health_word(t, health_entry_word(a1)), ADMIN_DRAINED);
	health_retain(t, &e1, 1);
	ck_assert_int_eq(health_save_state(t), 0);
	tu_read(buf, sizeof(buf), path);
	ck_assert_ptr_nonnull(strstr(buf, "admin web/192.0.2.1 drained\n"));
	ck_assert_msg(!strstr(buf, "192.0.2.2"), "and the other one gone:\n%s", buf);
	health_table_free(t);
}
END_TEST

/* One state file, one table: a second one is refused, and says who holds
 * it; once the first is gone the file is free again. */
START_TEST(test_state_file_locked)
{
	char path[PATH_MAX], log[4096], pid[32];
	struct health_table *t1 = health_table_new(), *t2 = health_table_new();
	int rc;

	tu_write(path, "locked", "admin web/192.0.2.1 drained\n");
	ck_assert_int_eq(health_load_state(t1, path, geteuid()), 0);
	TU_CAPTURE_STDERR(log, sizeof(log), rc = health_load_state(t2, path, geteuid()));
	ck_assert_int_eq(rc, -1);
	snprintf(pid, sizeof(pid), "(pid %d,", (int)getpid());
	ck_assert_ptr_nonnull(strstr(log, "is in use by another gslbd"));
	ck_assert_ptr_nonnull(strstr(log, pid));
	/* The loser neither saves nor removes anything. */
	ck_assert_int_eq(health_save_state(t2), 0);
	health_table_free(t2);
	ck_assert_int_eq(health_save_state(t1), 0);
	health_table_free(t1);
	t2 = health_table_new();
	ck_assert_int_eq(health_load_state(t2, path, geteuid()), 0);
	health_table_free(t2);
}
END_TEST

static Suite *health_suite(void)
{
	Suite *s = suite_create("health");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sm_fall_and_rise);
	tcase_add_test(tc, test_sm_rise_fall_one);
	tcase_add_test(tc, test_record_updates_word);
	tcase_add_test(tc, test_reason_sanitized);
	tcase_add_test(tc, test_many_entries_span_blocks);
	tcase_add_test(tc, test_foreach_and_always_up);
	tcase_add_test(tc, test_first_use_per_build);
	tcase_add_test(tc, test_dirty_flag);
	tcase_add_test(tc, test_changes_counter);
	tcase_add_test(tc, test_state_file_roundtrip);
	tcase_add_test(tc, test_state_file_malformed_lines_ignored);
	tcase_add_test(tc, test_state_dir_must_be_trusted);
	tcase_add_test(tc, test_state_save_ignores_planted_links);
	tcase_add_test(tc, test_state_file_untrusted_ignored);
	tcase_add_test(tc, test_state_file_size_bounded);
	tcase_add_test(tc, test_state_file_drops_what_config_no_longer_names);
	tcase_add_test(tc, test_state_file_locked);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	tu_dir(); /* made here, shared by the forked tests, removed at exit */
	sr = srunner_create(health_suite());

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
