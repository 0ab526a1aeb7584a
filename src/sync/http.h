/*
 * http: blocking HTTPS requests with libcurl, for the Azure sync's own
 * thread (never a worker's, never the main loop's).
 *
 * Every request has a connect time-out and a time-out on the whole
 * transfer, verifies the server's certificate and name (against the
 * system's store plus an optional extra CA file), goes through a proxy
 * only as told, and can be cut short from another thread.  A body larger
 * than HTTP_BODY_MAX is an error rather than memory without bound.
 */
#ifndef PLDNS_HTTP_H
#define PLDNS_HTTP_H

#include <stdatomic.h>
#include <stddef.h>

#define HTTP_BODY_MAX	(256u << 20)

struct http_opts {
	const char *ca_file;	/* extra trust anchors (PEM), or NULL */
	const char *proxy;	/* NULL: https_proxy/HTTPS_PROXY; "": none */
	long connect_ms;	/* time-out to connect (and TLS handshake) */
	long total_ms;		/* time-out on the whole request */
	const atomic_int *stop;	/* when not NULL and set, the request ends */
	void *conn;		/* kept between requests (connections are
				 * reused); NULL at first, freed by
				 * http_opts_clear() */
};

struct http_resp {
	long status;		/* HTTP status; 0 when no response came */
	char *body;		/* NUL-terminated (LEN bytes before the NUL) */
	size_t len;
	char *www_authenticate;	/* the header's value, or NULL */
	long retry_after;	/* Retry-After in seconds, or -1 */
	char err[256];		/* status 0: why (libcurl's words) */
};

/* Once, on the main thread, before any thread calls http_request(). */
void http_global_init(void);

/*
 * Sends METHOD ("GET", "POST") to URL with HEADERS (NULL terminated
 * "Name: value" strings, may be NULL) and BODY (NULL: none).  Returns 0
 * when a response came (whatever its status), -1 otherwise (R->err says
 * why).  R is filled either way; free with http_resp_clear().
 */
int http_request(struct http_opts *o, const char *method, const char *url,
    const char *const *headers, const char *body, struct http_resp *r);

void http_resp_clear(struct http_resp *r);

/* Closes the connections O kept. */
void http_opts_clear(struct http_opts *o);

/* URL-encodes S for a query string or a form body; caller frees. */
char *http_escape(const char *s);

#endif
