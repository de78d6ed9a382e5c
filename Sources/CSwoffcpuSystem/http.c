/*
 * HTTP(S) downloads for the debuginfod client (Sources/SwoffcpuSymbolizer/Debuginfod.swift),
 * through libcurl loaded with dlopen() on first use. Why not linked: the binary is built with
 * a static Swift runtime and carries no network library (FoundationNetworking needs libcurl at
 * link time and then at every start, even for runs that never download); libcurl.so.4 is
 * loaded only when DEBUGINFOD_URLS asks for a download, and its absence is one line, not a
 * binary that does not start. The few libcurl constants used are its ABI (curl.h, stable since
 * libcurl.so.4, 2006), spelled out here so that no curl header is needed to build.
 */
#include "swoffcpu_system.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef void CURL;
typedef int CURLcode;

#define SW_CURLOPT_WRITEDATA        10001
#define SW_CURLOPT_URL              10002
#define SW_CURLOPT_ERRORBUFFER      10010
#define SW_CURLOPT_USERAGENT        10018
#define SW_CURLOPT_WRITEFUNCTION    20011
#define SW_CURLOPT_LOW_SPEED_LIMIT  19
#define SW_CURLOPT_LOW_SPEED_TIME   20
#define SW_CURLOPT_FOLLOWLOCATION   52
#define SW_CURLOPT_NOSIGNAL         99
#define SW_CURLOPT_MAXREDIRS        68
#define SW_CURLOPT_CONNECTTIMEOUT   78
#define SW_CURLOPT_TIMEOUT          13
#define SW_CURLINFO_RESPONSE_CODE   0x200002
#define SW_CURL_GLOBAL_ALL          3
#define SW_CURL_ERROR_SIZE          256

static struct {
	int (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, int, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, int, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	int loaded; /* 1 ok, -1 not available */
	char why[200];
} curl;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void load_curl(void)
{
	static const char *names[] = { "libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so" };
	void *h = NULL;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !h; i++)
		h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(curl.why, sizeof(curl.why), "libcurl is not installed (libcurl.so.4: %s)", dlerror());
		curl.loaded = -1;
		return;
	}
	curl.global_init = (int (*)(long))dlsym(h, "curl_global_init");
	curl.easy_init = (CURL * (*)(void)) dlsym(h, "curl_easy_init");
	curl.easy_setopt = (CURLcode(*)(CURL *, int, ...))dlsym(h, "curl_easy_setopt");
	curl.easy_perform = (CURLcode(*)(CURL *))dlsym(h, "curl_easy_perform");
	curl.easy_getinfo = (CURLcode(*)(CURL *, int, ...))dlsym(h, "curl_easy_getinfo");
	curl.easy_cleanup = (void (*)(CURL *))dlsym(h, "curl_easy_cleanup");
	curl.easy_strerror = (const char *(*)(CURLcode))dlsym(h, "curl_easy_strerror");
	if (!curl.global_init || !curl.easy_init || !curl.easy_setopt || !curl.easy_perform ||
	    !curl.easy_getinfo || !curl.easy_cleanup || !curl.easy_strerror) {
		snprintf(curl.why, sizeof(curl.why), "libcurl.so.4 lacks the easy interface");
		curl.loaded = -1;
		return;
	}
	/* Not thread-safe itself: done once, here. */
	if (curl.global_init(SW_CURL_GLOBAL_ALL) != 0) {
		snprintf(curl.why, sizeof(curl.why), "curl_global_init failed");
		curl.loaded = -1;
		return;
	}
	curl.loaded = 1;
}

struct sink {
	int fd;
	unsigned long long written;
	unsigned long long max;
	int err;
};

static size_t write_body(char *data, size_t size, size_t n, void *p)
{
	struct sink *s = p;
	size_t len = size * n, done = 0;

	if (s->max && s->written + len > s->max) {
		s->err = EFBIG;
		return 0; /* aborts the transfer */
	}
	while (done < len) {
		ssize_t w = write(s->fd, data + done, len - done);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			s->err = errno;
			return 0;
		}
		done += (size_t)w;
	}
	s->written += len;
	return len;
}

int swoffcpu_http_get(const char *url, int fd, long timeout_s, long max_time_s, unsigned long long max_bytes,
		      long *status, char *err, unsigned long errlen)
{
	char ebuf[SW_CURL_ERROR_SIZE] = "";
	struct sink s = { .fd = fd, .max = max_bytes };
	CURL *c;
	CURLcode rc;

	*status = 0;
	pthread_once(&curl_once, load_curl);
	if (curl.loaded != 1) {
		snprintf(err, errlen, "%s", curl.why);
		return -1;
	}
	c = curl.easy_init();
	if (!c) {
		snprintf(err, errlen, "curl_easy_init failed");
		return -1;
	}
	curl.easy_setopt(c, SW_CURLOPT_URL, url);
	curl.easy_setopt(c, SW_CURLOPT_WRITEFUNCTION, write_body);
	curl.easy_setopt(c, SW_CURLOPT_WRITEDATA, (void *)&s);
	curl.easy_setopt(c, SW_CURLOPT_ERRORBUFFER, ebuf);
	curl.easy_setopt(c, SW_CURLOPT_USERAGENT, "swoffcpu");
	curl.easy_setopt(c, SW_CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
	curl.easy_setopt(c, SW_CURLOPT_FOLLOWLOCATION, 1L);
	curl.easy_setopt(c, SW_CURLOPT_MAXREDIRS, 8L);
	if (timeout_s > 0) {
		/* As elfutils' client: connect within the timeout, then at least 100 KiB per timeout. */
		curl.easy_setopt(c, SW_CURLOPT_CONNECTTIMEOUT, timeout_s);
		curl.easy_setopt(c, SW_CURLOPT_LOW_SPEED_TIME, timeout_s);
		curl.easy_setopt(c, SW_CURLOPT_LOW_SPEED_LIMIT, 100L * 1024 / timeout_s > 0 ? 100L * 1024 / timeout_s : 1L);
	}
	if (max_time_s > 0)
		curl.easy_setopt(c, SW_CURLOPT_TIMEOUT, max_time_s);
	rc = curl.easy_perform(c);
	curl.easy_getinfo(c, SW_CURLINFO_RESPONSE_CODE, status);
	curl.easy_cleanup(c);
	if (s.err) {
		snprintf(err, errlen, "%s", s.err == EFBIG ? "larger than DEBUGINFOD_MAXSIZE" : strerror(s.err));
		return 1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s", ebuf[0] ? ebuf : curl.easy_strerror(rc));
		return 1;
	}
	return 0;
}
