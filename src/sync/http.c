/* http: blocking HTTPS requests with libcurl (see http.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "sync/http.h"
#include "util/util.h"

static pthread_once_t http_once = PTHREAD_ONCE_INIT;

static void
http_init_once(void)
{
	/* Not thread-safe in the libcurl of older systems: done once, first. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		abort();
}

void
http_global_init(void)
{
	pthread_once(&http_once, http_init_once);
}

struct sink {
	struct http_resp *r;
	size_t cap;
	bool too_big;
};

static size_t
body_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *k = arg;
	size_t n = size * nmemb;

	if (k->r->len + n > HTTP_BODY_MAX) {
		k->too_big = true;
		return 0;
	}
	if (k->r->len + n + 1 > k->cap) {
		while (k->r->len + n + 1 > k->cap)
			k->cap = k->cap ? k->cap * 2 : 16384;
		k->r->body = xrealloc(k->r->body, k->cap);
	}
	memcpy(k->r->body + k->r->len, data, n);
	k->r->len += n;
	k->r->body[k->r->len] = '\0';
	return n;
}

/* The value of header NAME in the line, trimmed, or NULL. */
static char *
header_value(const char *line, size_t n, const char *name)
{
	size_t l = strlen(name);

	if (n <= l || strncasecmp(line, name, l) != 0 || line[l] != ':')
		return NULL;
	line += l + 1;
	n -= l + 1;
	while (n > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		n--;
	}
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' ||
	    line[n - 1] == ' '))
		n--;
	return xstrndup(line, n);
}

static size_t
header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_resp *r = arg;
	size_t n = size * nmemb;
	char *v;

	/* A new status line (after a redirect or 100): forget the last one's. */
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		free(r->www_authenticate);
		r->www_authenticate = NULL;
		r->retry_after = -1;
	}
	if ((v = header_value(data, n, "WWW-Authenticate")) != NULL) {
		free(r->www_authenticate);
		r->www_authenticate = v;
	} else if ((v = header_value(data, n, "Retry-After")) != NULL) {
		char *end;
		long s = strtol(v, &end, 10);

		/* An HTTP date instead of seconds: wait as long as private
		 * DNS usually asks. */
		r->retry_after = end != v && *end == '\0' && s >= 0 ? s : 10;
		free(v);
	}
	return n;
}

static int
progress_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	const atomic_int *stop = arg;

	return stop != NULL && atomic_load(stop) ? 1 : 0;
}

int
http_request(struct http_opts *o, const char *method, const char *url,
    const char *const *headers, const char *body, struct http_resp *r)
{
	struct curl_slist *hl = NULL;
	struct sink k = { .r = r };
	CURL *c;
	CURLcode cc;
	char ebuf[CURL_ERROR_SIZE];
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	/* One handle for a whole sync: its connections are reused, so that
	 * a thousand pages cost one TLS handshake, not a thousand. */
	if ((c = o->conn) != NULL)
		curl_easy_reset(c);
	else if ((c = o->conn = curl_easy_init()) == NULL) {
		pl_strlcpy(r->err, "cannot start a transfer", sizeof(r->err));
		return -1;
	}
	ebuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	/* HTTPS only, but for the local identity endpoints (http). */
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file != NULL) {
		/* In addition to the system's store, not instead of it. */
		curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
		curl_easy_setopt(c, CURLOPT_CAPATH, "/etc/ssl/certs");
	}
	if (o->proxy != NULL)
		curl_easy_setopt(c, CURLOPT_PROXY, o->proxy);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, o->connect_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->total_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)o->stop);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "pldns/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		hl = curl_slist_append(hl, headers[i]);
	if (hl != NULL)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	if (strcmp(method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body != NULL ? body : "");
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);

	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		if (k.too_big)
			snprintf(r->err, sizeof(r->err), "the body is larger than "
			    "%u bytes", HTTP_BODY_MAX);
		else if (cc == CURLE_ABORTED_BY_CALLBACK)
			pl_strlcpy(r->err, "stopped", sizeof(r->err));
		else
			pl_strlcpy(r->err, ebuf[0] != '\0' ? ebuf :
			    curl_easy_strerror(cc), sizeof(r->err));
		r->status = 0;
		rc = -1;
	} else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->body == NULL) {
		r->body = xstrdup("");
		r->len = 0;
	}
	curl_slist_free_all(hl);
	return rc;
}

void
http_opts_clear(struct http_opts *o)
{
	if (o->conn != NULL)
		curl_easy_cleanup(o->conn);
	o->conn = NULL;
}

void
http_resp_clear(struct http_resp *r)
{
	/* A body may carry a token (the token endpoints' answers). */
	if (r->body != NULL)
		explicit_bzero(r->body, r->len);
	free(r->body);
	free(r->www_authenticate);
	memset(r, 0, sizeof(*r));
}

char *
http_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *out;

	if (e == NULL)
		abort();
	out = xstrdup(e);
	curl_free(e);
	return out;
}
