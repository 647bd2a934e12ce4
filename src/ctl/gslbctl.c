/* gslbctl.c -- the command-line client of gslbd's control socket. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <libconfig.h>

#include "ctl/protocol.h"

#define DEFAULT_SOCKET CONTROL_DEFAULT_SOCKET

/* A status of many pools is long, but a server that stops mid-reply must
 * not hang a script forever. */
#define REPLY_TIMEOUT 30

/* Exit codes: the command ran and failed (ERR, usage) vs. no answer at all. */
#define EXIT_CMD 1
#define EXIT_CONN 2

static void usage(FILE *f)
{
	fprintf(f, "usage: gslbctl [-s SOCKET | -c CONFIG] COMMAND [ARGS...]\n\nCommands:\n");
	for (size_t i = 0; i < control_ndocs; i++) {
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "%s %s", control_docs[i].name, control_docs[i].args);
		if (strlen(cmd) > 24) {
			/* A long synopsis gets a line of its own. */
			fprintf(f, "  %s\n  %-24s %s\n", cmd, "", control_docs[i].help);
		} else {
			fprintf(f, "  %-24s %s\n", cmd, control_docs[i].help);
		}
	}
	fprintf(f,
		"\n"
		"Options:\n"
		"  -s, --socket SOCKET      control socket (default %s)\n"
		"  -c, --config CONFIG      read control.socket from gslbd's config file\n"
		"  -h, --help               this text\n"
		"  -V, --version            print the version\n"
		"\n"
		"Exit status: 0 done, 1 the server refused the command (message on stderr),\n"
		"2 no answer from the server (it is not running, or the socket is wrong).\n",
		DEFAULT_SOCKET);
}

/* control.socket of the gslbd config @path, resolved against the config's
 * directory as gslbd resolves it; the default when the config sets none. */
static char *socket_from_config(const char *path)
{
	config_t cfg;
	const char *sock = NULL;
	char *copy, *dir, *result;
	size_t n;

	copy = strdup(path);
	if (!copy) {
		perror("gslbctl");
		exit(EXIT_CONN);
	}
	dir = dirname(copy);
	config_init(&cfg);
	config_set_include_dir(&cfg, dir);
	if (!config_read_file(&cfg, path)) {
		const char *file = config_error_file(&cfg);
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO) {
			fprintf(stderr, "gslbctl: cannot read %s: %s\n", path, strerror(errno));
		} else {
			fprintf(stderr, "gslbctl: %s:%d: %s\n", file ? file : path,
				config_error_line(&cfg), config_error_text(&cfg));
		}
		exit(EXIT_CONN);
	}
	if (!config_lookup_string(&cfg, "control.socket", &sock) || !*sock) {
		result = strdup(DEFAULT_SOCKET);
	} else if (sock[0] == '/') {
		result = strdup(sock);
	} else {
		n = strlen(dir) + strlen(sock) + 2;
		result = malloc(n);
		if (result) {
			snprintf(result, n, "%s/%s", dir, sock);
		}
	}
	config_destroy(&cfg);
	free(copy);
	if (!result) {
		perror("gslbctl");
		exit(EXIT_CONN);
	}
	return result;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sun;
	struct timeval tv = {REPLY_TIMEOUT, 0};
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "gslbctl: %s: socket path too long\n", path);
		exit(EXIT_CONN);
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "gslbctl: socket: %s\n", strerror(errno));
		exit(EXIT_CONN);
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int err = errno;
		fprintf(stderr, "gslbctl: cannot connect to %s: %s\n", path, strerror(err));
		if (err == ENOENT || err == ECONNREFUSED) {
			fprintf(stderr,
				"gslbctl: is gslbd running, with control.socket set to %s?\n",
				path);
		}
		exit(EXIT_CONN);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static void send_all(int fd, const char *path, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			fprintf(stderr, "gslbctl: %s: cannot send the command: %s\n", path,
				strerror(errno));
			exit(EXIT_CONN);
		}
		buf += w;
		len -= (size_t)w;
	}
}

/* The whole reply: the server closes when it is done. NUL-terminated. */
static char *read_all(int fd, const char *path, size_t *len)
{
	size_t cap = 8192, n = 0;
	char *buf = malloc(cap);

	for (;;) {
		ssize_t r;
		if (!buf) {
			perror("gslbctl");
			exit(EXIT_CONN);
		}
		if (cap - n < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			continue;
		}
		r = recv(fd, buf + n, cap - n - 1, 0);
		if (r > 0) {
			n += (size_t)r;
			continue;
		}
		if (r == 0) {
			break;
		}
		if (errno == EINTR) {
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			fprintf(stderr, "gslbctl: %s: no reply within %d seconds\n", path,
				REPLY_TIMEOUT);
		} else {
			fprintf(stderr, "gslbctl: %s: reading the reply: %s\n", path,
				strerror(errno));
		}
		exit(EXIT_CONN);
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

/* Print the reply: the body on stdout for OK, the message on stderr for
 * ERR. Returns the exit status. */
static int report(char *reply, size_t replylen, const char *path)
{
	char *nl;

	nl = memchr(reply, '\n', replylen);
	if (!nl) {
		fprintf(stderr, "gslbctl: %s: %s\n", path,
			replylen ? "malformed reply (no first line)" : "closed without a reply");
		return EXIT_CONN;
	}
	*nl = 0;
	if (strcmp(reply, "OK") == 0) {
		fwrite(nl + 1, 1, replylen - (size_t)(nl + 1 - reply), stdout);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "gslbctl: writing the reply: %s\n", strerror(errno));
			return EXIT_CMD;
		}
		return 0;
	}
	if (strncmp(reply, "ERR", 3) == 0) {
		const char *msg = reply[3] == ' ' ? reply + 4 : reply + 3;
		fprintf(stderr, "gslbctl: %s\n", *msg ? msg : "command failed");
		fputs(nl + 1, stderr);
		return EXIT_CMD;
	}
	fprintf(stderr, "gslbctl: %s: malformed reply: %s\n", path, reply);
	return EXIT_CONN;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	char line[CONTROL_MAX_LINE];
	const char *sock = NULL, *config = NULL;
	char *path, *reply;
	int rc;
	size_t len = 0, replylen;
	int opt, fd, i;

	/* '+': stop at the command, so "status --json" keeps its option. */
	while ((opt = getopt_long(argc, argv, "+s:c:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("gslbctl (gslbd) %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_CMD;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "gslbctl: no command given\n");
		usage(stderr);
		return EXIT_CMD;
	}
	if (sock && config) {
		fprintf(stderr, "gslbctl: give -s or -c, not both\n");
		return EXIT_CMD;
	}
	/* One line, words separated by single spaces: an argument holding
	 * whitespace would split into two words on the server. */
	for (i = optind; i < argc; i++) {
		size_t n = strlen(argv[i]);
		if (n == 0 || strpbrk(argv[i], " \t\r\n")) {
			fprintf(stderr,
				"gslbctl: arguments must be non-empty and without spaces: \"%s\"\n",
				argv[i]);
			return EXIT_CMD;
		}
		if (len + n + 2 > sizeof(line)) {
			fprintf(stderr, "gslbctl: command longer than %d bytes\n",
				CONTROL_MAX_LINE - 1);
			return EXIT_CMD;
		}
		if (len) {
			line[len++] = ' ';
		}
		memcpy(line + len, argv[i], n);
		len += n;
	}
	line[len++] = '\n';

	path = config ? socket_from_config(config) : strdup(sock ? sock : DEFAULT_SOCKET);
	if (!path) {
		perror("gslbctl");
		return EXIT_CONN;
	}
	fd = connect_to(path);
	send_all(fd, path, line, len);
	shutdown(fd, SHUT_WR);
	reply = read_all(fd, path, &replylen);
	close(fd);

	rc = report(reply, replylen, path);
	free(reply);
	free(path);
	return rc;
}
