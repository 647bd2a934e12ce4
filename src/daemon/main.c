/* main.c -- the command line; the rest of the daemon is daemon.c. */
#include "config.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "data/conf.h"
#include "data/snapshot.h"
#include "dnssec/dnssec.h"
#include "util/log.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gslbd -c FILE [-d] [-v]\n"
		"       gslbd -t -c FILE\n"
		"\n"
		"  -c, --config FILE  configuration file (required)\n"
		"  -t, --test         check the configuration and zone files, then exit\n"
		"                     with 0 if they are valid, 1 if not\n"
		"      --dump-signed ZONE\n"
		"                     load as -t does, then print the signed data of ZONE\n"
		"                     (records, RRSIGs, NSEC chain) as a zone file to stdout\n"
		"  -d, --daemon       detach and log to syslog (default: foreground, stderr)\n"
		"  -v, --verbose      debug logging\n"
		"  -V, --version      print the version and exit\n"
		"  -h, --help         print this help and exit\n"
		"\n"
		"Signals: HUP reloads configuration and zones; INT and TERM stop.\n");
}

/* --dump-signed: build the snapshot as -t does, print one zone's signed data. */
static int dump_signed(const char *path, const char *zone)
{
	struct conf *conf = conf_load(path);
	struct snapshot *s = conf ? snapshot_build(conf) : NULL;
	int rc = 1;

	if (!s) {
		log_err("%s: configuration is not valid", path);
		return 1;
	}
	if (dnssec_dump(stdout, s, zone) != 0) {
		log_err("%s: no signed zone \"%s\"", path, zone);
	} else {
		rc = fflush(stdout) == 0 ? 0 : 1;
	}
	snapshot_free(s);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "test", no_argument, NULL, 't' },
		{ "daemon", no_argument, NULL, 'd' },       { "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },      { "help", no_argument, NULL, 'h' },
		{ "dump-signed", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *dump = NULL;
	int test = 0, daemonize = 0, verbose = 0, c;

	while ((c = getopt_long(argc, argv, "c:tdvVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'd':
			daemonize = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'S':
			dump = optarg;
			break;
		case 'V':
			printf("gslbd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!path || optind != argc) {
		usage(stderr);
		return 2;
	}
	log_init(0, verbose);
	/* Large load-time arrays (name table, record lists) are mmapped and so
	 * returned to the system when a reload frees the old snapshot; a fixed
	 * threshold stops glibc from raising it after the first such free. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	{
		/* Every probe in flight holds a descriptor, and so does every TCP
		 * client: take what the hard limit allows. */
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if (dump) {
		return dump_signed(path, dump);
	}
	return test ? daemon_check(path) : daemon_run(path, daemonize, verbose);
}
