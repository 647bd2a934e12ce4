/* curl_dl.c -- load libcurl on first use. */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>

#include "health/curl_dl.h"
#include "util/log.h"

struct curl_api curl_dl;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int load_result = -1;

#define SYM(field, name)                                                   \
	do {                                                               \
		*(void **)(&curl_dl.field) = dlsym(h, name);               \
		if (!curl_dl.field) {                                      \
			log_err("libcurl: missing symbol %s", name);        \
			return;                                            \
		}                                                          \
	} while (0)

static void load(void)
{
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		log_err("cannot load libcurl (%s): http and https checks will fail", dlerror());
		return;
	}
	SYM(global_init, "curl_global_init");
	SYM(global_cleanup, "curl_global_cleanup");
	SYM(easy_init, "curl_easy_init");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_strerror, "curl_easy_strerror");
	SYM(free, "curl_free");
	SYM(multi_init, "curl_multi_init");
	SYM(multi_cleanup, "curl_multi_cleanup");
	SYM(multi_setopt, "curl_multi_setopt");
	SYM(multi_add_handle, "curl_multi_add_handle");
	SYM(multi_remove_handle, "curl_multi_remove_handle");
	SYM(multi_assign, "curl_multi_assign");
	SYM(multi_info_read, "curl_multi_info_read");
	SYM(multi_socket_action, "curl_multi_socket_action");
	SYM(multi_strerror, "curl_multi_strerror");
	SYM(slist_append, "curl_slist_append");
	SYM(slist_free_all, "curl_slist_free_all");
	SYM(url, "curl_url");
	SYM(url_cleanup, "curl_url_cleanup");
	SYM(url_get, "curl_url_get");
	SYM(url_set, "curl_url_set");
	/* The library stays loaded for the life of the process: never dlclose. */
	if (curl_dl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_err("libcurl: global initialisation failed");
		return;
	}
	load_result = 0;
}

int curl_dl_load(void)
{
	pthread_once(&once, load);
	return load_result;
}
