/* protocol.h -- the control socket's line protocol, shared by gslbd and
 * gslbctl. It pulls in no server header, so the client stays small.
 *
 * The client connects, writes one command line (words separated by spaces,
 * ended by a newline or by shutting down its side), and reads the reply until
 * the server closes. The reply's first line is "OK" or "ERR <message>"; the
 * body follows. */
#ifndef GSLBD_PROTOCOL_H
#define GSLBD_PROTOCOL_H

#include <stddef.h>

#define CONTROL_MAX_LINE 1024
#define CONTROL_MAX_ARGS 12
#define CONTROL_DEFAULT_SOCKET "/run/gslbd/control.sock"
#define CONTROL_REPLY_OK "OK"
#define CONTROL_REPLY_ERR "ERR"

/* What a command looks like to a user: the server's usage errors and
 * gslbctl's help both come from this one list. */
struct control_doc {
	const char *name;
	const char *args; /* "POOL ADDRESS", "[--json]", "" */
	const char *help; /* one line */
};

extern const struct control_doc control_docs[];
extern const size_t control_ndocs;

/* The doc of command @name, or NULL. */
const struct control_doc *control_doc_find(const char *name);

#endif
