/* check_privs.c -- src/daemon/privs.c: exec checks refused as root, the
 * drop to a user that cannot come back, capabilities shed when started
 * unprivileged, and the access audit. Each drop runs in a child process of
 * its own; the tests that need root to set up say so and skip otherwise. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "daemon/privs.h"
#include "data/conf.h"
#include "data/snapshot.h"
#include "testutil.h"

#define NOBODY 65534

static char errlog[16384];

static struct conf *load(char *path, const char *text)
{
	struct conf *c = NULL;

	tu_write(path, NULL, text);
	TU_CAPTURE_STDERR(errlog, sizeof(errlog), c = conf_load(path));
	ck_assert_msg(c != NULL, "config rejected:\n%s", errlog);
	return c;
}

#define HEAD                                                                                       \
	"listen = [ \"127.0.0.1:5353\" ];\n"                                                       \
	"zones = ( { origin = \"lb.test\"; file = \"lb.test.zone\"; } );\n"

static bool root(const char *test)
{
	if (geteuid() != 0) {
		fprintf(stderr, "%s: skipped: needs root to set up\n", test);
		return false;
	}
	return true;
}

/* Run @fn in a child; its exit status (0 = every check in it held). */
static int in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int rc = fn(arg);
		fflush(NULL);
		_exit(rc);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "child died (status %d)", status);
	return WEXITSTATUS(status);
}

/* Capture what a child logs after it gave up root (TU_CAPTURE_STDERR's
 * file would be in root's directory): an unnamed file opened before. */
static int capture_fd = -1, saved_stderr = -1;

static void capture_begin(void)
{
	FILE *f = tmpfile();

	fflush(stderr);
	capture_fd = dup(fileno(f));
	fclose(f);
	saved_stderr = dup(2);
	dup2(capture_fd, 2);
}

static void capture_end(void)
{
	ssize_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	n = pread(capture_fd, errlog, sizeof(errlog) - 1, 0);
	errlog[n > 0 ? n : 0] = 0;
	fputs(errlog, stderr);
	close(capture_fd);
	close(saved_stderr);
}

static bool no_caps(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) != 0) {
		return false;
	}
	return !(d[0].permitted | d[1].permitted | d[0].effective | d[1].effective |
		 d[0].inheritable | d[1].inheritable) &&
	       prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0) == 0;
}

START_TEST(exec_refused_as_root)
{
	char path[PATH_MAX], want[PATH_MAX + 64];
	struct conf *c =
	    load(path, HEAD "checks = (\n"
			    "  { name = \"t\"; type = \"tcp\"; port = 80; },\n"
			    "  { name = \"x\"; type = \"exec\"; command = [ \"/bin/true\" ]; }\n"
			    ");\n");
	int n = 0;

	TU_CAPTURE_STDERR(errlog, sizeof(errlog), n = privs_check_exec(c, true));
	ck_assert_int_eq(n, 1);
	snprintf(want, sizeof(want),
		 "%s:5: checks[1]: exec check \"x\" would run its command as root", path);
	ck_assert_msg(strstr(errlog, want), "expected \"%s\" in:\n%s", want, errlog);
	ck_assert_msg(strstr(errlog, "set 'user'"), "the message says what to do:\n%s", errlog);
	TU_CAPTURE_STDERR(errlog, sizeof(errlog), n = privs_check_exec(c, false));
	ck_assert_int_eq(n, 0);
	ck_assert_str_eq(errlog, "");
	conf_free(c);
}
END_TEST

static int drop_child(void *arg)
{
	struct conf *c = arg;
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (privs_drop(c) != 0) {
		return 10;
	}
	if (getresuid(&r, &e, &s) != 0 || r != NOBODY || e != NOBODY || s != NOBODY) {
		return 11;
	}
	if (getresgid(&rg, &eg, &sg) != 0 || rg != NOBODY || eg != NOBODY || sg != NOBODY) {
		return 12;
	}
	if (getgroups(0, NULL) != 0) {
		return 13; /* supplementary groups (root's 0 among them) cleared */
	}
	if (setuid(0) != -1 || errno != EPERM || seteuid(0) != -1 || setgid(0) != -1) {
		return 14; /* no way back */
	}
	return no_caps() ? 0 : 15;
}

START_TEST(drop_to_user)
{
	char path[PATH_MAX];
	struct conf *c;

	if (!root("drop_to_user")) {
		return;
	}
	c = load(path, HEAD "user = \"nobody\"; group = \"nogroup\";\n");
	ck_assert_int_eq(in_child(drop_child, c), 0);
	conf_free(c);
}
END_TEST

/* What systemd's User= plus AmbientCapabilities=CAP_NET_BIND_SERVICE gives:
 * an unprivileged process holding one capability, also in its ambient set. */
static int become_service(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	const uint32_t bit = 1u << CAP_NET_BIND_SERVICE;

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || setgroups(0, NULL) != 0 ||
	    setresgid(NOBODY, NOBODY, NOBODY) != 0 || setresuid(NOBODY, NOBODY, NOBODY) != 0) {
		return -1;
	}
	memset(d, 0, sizeof(d));
	d[0].permitted = d[0].effective = d[0].inheritable = bit;
	if (syscall(SYS_capset, &h, d) != 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) != 0) {
		return -1;
	}
	return 0;
}

static int caps_child(void *arg)
{
	struct conf *c = arg;

	if (become_service() != 0) {
		return 20;
	}
	if (no_caps()) {
		return 21; /* the set-up did not take */
	}
	if (privs_drop(c) != 0) {
		return 22; /* no user and cannot setuid: not an error */
	}
	if (getuid() != NOBODY || geteuid() != NOBODY) {
		return 23;
	}
	return no_caps() ? 0 : 24;
}

START_TEST(unprivileged_sheds_caps)
{
	char path[PATH_MAX];
	struct conf *c;

	if (!root("unprivileged_sheds_caps")) {
		return;
	}
	c = load(path, HEAD);
	ck_assert_int_eq(in_child(caps_child, c), 0);
	conf_free(c);
}
END_TEST

/* Started as nobody, told to become someone else: an error, not a
 * silent run as the wrong user. Started as that very user: fine. */
static int wrong_user_child(void *arg)
{
	struct conf *c = arg;
	int rc = 0;

	capture_begin();
	if (become_service() != 0) {
		return 30;
	}
	rc = privs_drop(c);
	capture_end();
	if (rc != -1 || !strstr(errlog, "cannot become user daemon")) {
		return 31;
	}
	return 0;
}

static int same_user_child(void *arg)
{
	if (become_service() != 0) {
		return 40;
	}
	return privs_drop(arg) == 0 && no_caps() ? 0 : 41;
}

START_TEST(user_when_not_root)
{
	char path[PATH_MAX];
	struct conf *c;

	if (!root("user_when_not_root")) {
		return;
	}
	c = load(path, HEAD "user = \"daemon\";\n");
	ck_assert_int_eq(in_child(wrong_user_child, c), 0);
	conf_free(c);
	c = load(path, HEAD "user = \"nobody\"; group = \"nogroup\";\n");
	ck_assert_int_eq(in_child(same_user_child, c), 0);
	conf_free(c);
}
END_TEST

struct audit_case {
	struct conf *conf;
	int want_errors;
	const char *want_log; /* NULL: nothing logged */
};

static int audit_child(void *arg)
{
	struct audit_case *a = arg;
	struct snapshot snap;
	int n = -1;

	memset(&snap, 0, sizeof(snap));
	snap.conf = a->conf;
	if (privs_drop(a->conf) != 0) {
		return 50;
	}
	capture_begin();
	n = privs_audit(&snap);
	capture_end();
	if (n != a->want_errors) {
		return 51;
	}
	if (a->want_log ? !strstr(errlog, a->want_log) : errlog[0] != 0) {
		return 52;
	}
	return 0;
}

/* The state file's directory must take new files from the user (an error:
 * start-up refuses), the config must stay readable (a warning: reloads). */
START_TEST(audit_state_dir_and_config)
{
	char path[PATH_MAX], text[PATH_MAX + 200], dir[] = "/tmp/gslbd-privs.XXXXXX";
	struct audit_case a;

	if (!root("audit_state_dir_and_config")) {
		return;
	}
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chown(dir, NOBODY, NOBODY), 0);
	/* In root's 0700 test directory: neither readable nor writable by nobody. */
	a.conf = load(path, HEAD "user = \"nobody\";\nstate_file = \"gslbd.state\";\n");
	a.want_errors = 1;
	a.want_log = "not writable by user nobody";
	ck_assert_int_eq(in_child(audit_child, &a), 0);
	a.want_errors = 1;
	a.want_log = "config file not readable by user nobody";
	ck_assert_int_eq(in_child(audit_child, &a), 0);
	conf_free(a.conf);
	/* A directory of its own: no error; the config is still out of reach. */
	snprintf(text, sizeof(text), HEAD "user = \"nobody\";\nstate_file = \"%s/gslbd.state\";\n",
		 dir);
	a.conf = load(path, text);
	a.want_errors = 0;
	a.want_log = "config file not readable";
	ck_assert_int_eq(in_child(audit_child, &a), 0);
	/* Writable by anyone: the user can write there, but so can everyone
	 * else (the start-up would refuse it too). */
	ck_assert_int_eq(chmod(dir, 0777), 0);
	a.want_errors = 1;
	a.want_log = "is writable by others (mode 0777): whoever can write there could replace";
	ck_assert_int_eq(in_child(audit_child, &a), 0);
	conf_free(a.conf);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("privs");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tu_dir(); /* made here, shared by the forked tests, removed at exit */
	tcase_add_test(tc, exec_refused_as_root);
	tcase_add_test(tc, drop_to_user);
	tcase_add_test(tc, unprivileged_sheds_caps);
	tcase_add_test(tc, user_when_not_root);
	tcase_add_test(tc, audit_state_dir_and_config);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
