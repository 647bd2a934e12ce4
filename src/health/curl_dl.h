/* curl_dl.h -- libcurl, loaded with dlopen the first time an http(s) check
 * needs it. A server without http checks never maps libcurl and the TLS and
 * Kerberos libraries it pulls in (about 5 MiB of RSS). Include this instead
 * of <curl/curl.h>: the curl_* names below become calls through the table. */
#ifndef GSLBD_CURL_DL_H
#define GSLBD_CURL_DL_H

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

struct curl_api {
	CURLcode (*global_init)(long);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	const char *(*easy_strerror)(CURLcode);
	void (*free)(void *);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_cleanup)(CURLM *);
	CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
	CURLMcode (*multi_add_handle)(CURLM *, CURL *);
	CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
	CURLMcode (*multi_assign)(CURLM *, curl_socket_t, void *);
	CURLMsg *(*multi_info_read)(CURLM *, int *);
	CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
	const char *(*multi_strerror)(CURLMcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURLU *(*url)(void);
	void (*url_cleanup)(CURLU *);
	CURLUcode (*url_get)(const CURLU *, CURLUPart, char **, unsigned int);
	CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
};

/* The table, filled once by curl_dl_load(); read-only afterwards. */
extern struct curl_api curl_dl;

/* Load libcurl and call curl_global_init, once per process (thread-safe).
 * Returns 0, or -1 (logged) if libcurl is not installed. */
int curl_dl_load(void);

#undef curl_global_cleanup
#define curl_global_cleanup curl_dl.global_cleanup
#undef curl_easy_init
#define curl_easy_init curl_dl.easy_init
#undef curl_easy_cleanup
#define curl_easy_cleanup curl_dl.easy_cleanup
#undef curl_easy_setopt
#define curl_easy_setopt curl_dl.easy_setopt
#undef curl_easy_getinfo
#define curl_easy_getinfo curl_dl.easy_getinfo
#undef curl_easy_strerror
#define curl_easy_strerror curl_dl.easy_strerror
#undef curl_free
#define curl_free curl_dl.free
#undef curl_multi_init
#define curl_multi_init curl_dl.multi_init
#undef curl_multi_cleanup
#define curl_multi_cleanup curl_dl.multi_cleanup
#undef curl_multi_setopt
#define curl_multi_setopt curl_dl.multi_setopt
#undef curl_multi_add_handle
#define curl_multi_add_handle curl_dl.multi_add_handle
#undef curl_multi_remove_handle
#define curl_multi_remove_handle curl_dl.multi_remove_handle
#undef curl_multi_assign
#define curl_multi_assign curl_dl.multi_assign
#undef curl_multi_info_read
#define curl_multi_info_read curl_dl.multi_info_read
#undef curl_multi_socket_action
#define curl_multi_socket_action curl_dl.multi_socket_action
#undef curl_multi_strerror
#define curl_multi_strerror curl_dl.multi_strerror
#undef curl_slist_append
#define curl_slist_append curl_dl.slist_append
#undef curl_slist_free_all
#define curl_slist_free_all curl_dl.slist_free_all
#undef curl_url
#define curl_url curl_dl.url
#undef curl_url_cleanup
#define curl_url_cleanup curl_dl.url_cleanup
#undef curl_url_get
#define curl_url_get curl_dl.url_get
#undef curl_url_set
#define curl_url_set curl_dl.url_set

#endif
