/* fuzzutil.h -- helpers shared by the fuzz targets that feed files to the parsers: one temp
 * directory per process, quiet logs, and a guard against inputs that include outside files. */
#ifndef GSLBD_FUZZUTIL_H
#define GSLBD_FUZZUTIL_H

/* Include "config.h" first (it selects the system extensions nftw needs). */
#include <ctype.h>
#include <ftw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- the temp directory --------------------------------------------------- */

/* One directory per process, made on first use and removed at a normal exit
 * by the process that made it (libFuzzer's -fork and -jobs workers are
 * processes of their own; a crash leaves it behind for the reproducer). */
static char fu_dir_path[512];
static pid_t fu_dir_owner;

static inline int fu_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void fu_rm_dir(void)
{
	if (fu_dir_path[0] && fu_dir_owner == getpid()) {
		nftw(fu_dir_path, fu_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		fu_dir_path[0] = 0;
	}
}

/* The directory, created on first use. Aborts if it cannot be. */
static inline const char *fu_dir(void)
{
	if (!fu_dir_path[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(fu_dir_path, sizeof(fu_dir_path), "%s/gslbd-fuzz.XXXXXX",
			 t && *t ? t : "/tmp");
		if (!mkdtemp(fu_dir_path)) {
			perror("mkdtemp");
			abort();
		}
		fu_dir_owner = getpid();
		atexit(fu_rm_dir);
	}
	return fu_dir_path;
}

/* Write the @size bytes at @data to the file @name of the temp dir (replacing
 * it) and put its path in @path (@path_size bytes). Aborts on failure: a
 * target that cannot write its input tests nothing. */
static inline const char *fu_write(char *path, size_t path_size, const char *name, const void *data,
				   size_t size)
{
	FILE *f;

	if ((size_t)snprintf(path, path_size, "%s/%s", fu_dir(), name) >= path_size) {
		abort();
	}
	f = fopen(path, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
		perror(path);
		abort();
	}
	return path;
}

/* --- quiet logs ----------------------------------------------------------- */

/* Where a target reports a broken invariant: the stderr we started with. */
static FILE *fu_err;

/* Send log_msg's lines (fprintf to stderr) to /dev/null: a parser fed junk
 * logs an error per input, and writing them costs more than parsing. Only
 * the stdio pointer changes (glibc's stderr is an ordinary variable): fd 2
 * stays open, so the sanitizers' reports and libFuzzer's own output, which
 * keeps the FILE it captured at start-up, still get through. What does go
 * is every other stdio message, assert()'s included (the stack trace still
 * shows __assert_fail and its caller). Called from LLVMFuzzerInitialize,
 * which only libFuzzer runs: the replay driver in make check keeps the
 * logs, so a seed's errors show in its .log file, and replaying a crash
 * through it shows the whole story. */
static inline void fu_quiet_logs(void)
{
	FILE *null = fopen("/dev/null", "w");

	fu_err = stderr;
	if (null) {
		stderr = null;
	}
}

static inline void fu_fail(const char *target, const char *what)
{
	fprintf(fu_err ? fu_err : stderr, "%s: invariant broken: %s\n", target, what);
	abort();
}

/* --- include directives --------------------------------------------------- */

/* Zone files ($INCLUDE) and libconfig (@include) read other files. An input
 * naming any path could make the target read /dev/zero or wait on
 * /dev/stdin, and one that includes itself many times multiplies its work by
 * that count to the power of the nesting limit: neither is a bug in the
 * parser. So an input is run only if every occurrence of @directive (any
 * case, anywhere: a long line can put one at the start of fgets's next chunk)
 * names no '/' or '\\' up to the end of its line, and there are at most
 * @max of them. What remains reachable is the temp dir's own files, the
 * input itself included, which is what the include code needs to be tested. */
static inline bool fu_includes_ok(const uint8_t *data, size_t size, const char *directive,
				  unsigned max)
{
	size_t dl = strlen(directive);
	unsigned count = 0;

	for (size_t i = 0; i + dl <= size; i++) {
		size_t k = 0;
		while (k < dl && tolower(data[i + k]) == tolower((unsigned char)directive[k])) {
			k++;
		}
		if (k < dl) {
			continue;
		}
		if (++count > max) {
			return false;
		}
		for (size_t j = i + dl; j < size && data[j] != '\n'; j++) {
			if (data[j] == '/' || data[j] == '\\') {
				return false;
			}
		}
	}
	return true;
}

#endif
