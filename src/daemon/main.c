/* main.c -- command line, start-up and the main thread. */
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

#include "data/conf.h"
#include "util/log.h"
#include "daemon/server.h"
#include "data/snapshot.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gslbd -c FILE [-d] [-v]\n"
		"       gslbd -t -c FILE\n"
		"\n"
		"  -c, --config FILE  configuration file (required)\n"
		"  -t, --test         check the configuration and zone files, then exit\n"
		"                     with 0 if they are valid, 1 if not\n"
		"  -d, --daemon       detach and log to syslog (default: foreground, stderr)\n"
		"  -v, --verbose      debug logging\n"
		"  -V, --version      print the version and exit\n"
		"  -h, --help         print this help and exit\n"
		"\n"
		"Signals: HUP reloads configuration and zones; INT and TERM stop.\n");
}

/* A few dig lines for the first pool owners and zones, so that someone who
 * just started the server knows what to ask it. */
static void print_hints(const struct conf *c)
{
	char host[INET6_ADDRSTRLEN];
	const struct sockaddr_storage *a;
	unsigned port;
	int shown = 0;

	if (!c->nlistens) {
		return;
	}
	a = &c->listens[0].addr;
	if (a->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, host, sizeof(host));
		port = ntohs(((const struct sockaddr_in *)a)->sin_port);
	} else {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr, host, sizeof(host));
		port = ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
	}
	if (port == 0) {
		return;
	}
	for (size_t i = 0; i < c->npools && shown < 3; i++) {
		for (size_t j = 0; j < c->pools[i].nowners && shown < 3; j++, shown++) {
			log_info("try: dig @%s -p %u %s A", host, port, c->pools[i].owners[j]);
			log_info("try: dig @%s -p %u %s AAAA", host, port, c->pools[i].owners[j]);
		}
	}
	for (size_t i = 0; i < c->nzones && i < 2; i++) {
		log_info("try: dig @%s -p %u %s SOA", host, port, c->zones[i].origin);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "test", no_argument, NULL, 't' },
		{ "daemon", no_argument, NULL, 'd' },       { "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },      { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	int test = 0, daemonize = 0, verbose = 0, c;
	struct conf *conf;
	struct snapshot *snap;
	struct health_table *health;
	struct server *srv;
	int rc;

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
	conf = conf_load(path);
	if (!conf) {
		log_err("%s: configuration is not valid", path);
		return 1;
	}
	health = health_table_new();
	if (conf->state_file && !test) {
		health_load_state(health, conf->state_file);
	}
	snap = snapshot_build_health(conf, health);
	if (!snap) {
		log_err("%s: configuration is not valid", path);
		health_table_free(health);
		return 1;
	}
	if (test) {
		log_info("%s: configuration OK (%zu zones, %zu pools, %zu names, %zu probes, %.1f MiB)",
			 path, snap->nzones, snap->npools, snap->nnodes, snap->nspecs,
			 snapshot_memory(snap) / 1048576.0);
		snapshot_free(snap);
		health_table_free(health);
		return 0;
	}
	srv = server_new(snap, health);
	if (!srv) {
		health_table_free(health);
		return 1;
	}
	if (daemonize) {
		if (daemon(0, 0) != 0) {
			log_err("cannot detach: %m");
			server_free(srv);
			health_table_free(health);
			return 1;
		}
		log_init(1, verbose);
	} else {
		print_hints(snap->conf);
	}
	rc = server_run(srv, path);
	server_free(srv);
	health_table_free(health);
	return rc == 0 ? 0 : 1;
}
