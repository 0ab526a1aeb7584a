/*
 * ctl: "pldns ctl", a client of the control endpoint (control.h).
 *
 * A plain blocking HTTP/1.1 client over one TCP connection per command, with
 * timeouts on connect and on the whole exchange, so that it needs no event
 * loop and works against any pldns that listens.  Exit status: 0 done,
 * 1 the server reported a failure (reload rejected, not ready, refused),
 * 64 usage, 69 cannot reach the endpoint, 76 not an HTTP answer,
 * 78 no usable configuration.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>
#include <jansson.h>

#include "util/addr.h"
#include "data/config.h"
#include "util/util.h"
#include "verbs/verbs.h"

#define CONTROL_PORT	8053

#define CONNECT_TIMEOUT_MS	5000
#define EXCHANGE_TIMEOUT_MS	120000	/* a reload of large sources takes a while */
#define RESPONSE_MAX		(16 * 1024 * 1024)

struct resp {
	int status;
	char *body;		/* NUL-terminated */
	size_t len;
};

/* ---- HTTP ---- */

static int
wait_fd(int fd, short ev, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	uint64_t now;
	int r;

	for (;;) {
		now = now_ms();
		if (now >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&p, 1, (int)(deadline - now));
		if (r > 0)
			return 0;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

static int
tcp_connect(const struct pl_addr *a, char *err, size_t errlen)
{
	char as[64];
	socklen_t sl = sizeof(int);
	int fd, soerr = 0;

	addr_str(a, as, sizeof(as));
	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == -1) {
		if (errno != EINPROGRESS) {
			soerr = errno;
		} else if (wait_fd(fd, POLLOUT, now_ms() + CONNECT_TIMEOUT_MS) == -1) {
			soerr = errno;
		} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1) {
			soerr = errno;
		}
	}
	if (soerr != 0) {
		snprintf(err, errlen, "cannot connect to the control endpoint %s: %s",
		    as, strerror(soerr));
		close(fd);
		return -1;
	}
	return fd;
}

/* Decodes a chunked body in place; returns its length or -1. */
static long
dechunk(char *b, size_t len)
{
	size_t in = 0, out = 0;

	for (;;) {
		char *end;
		unsigned long n;

		if (in >= len)
			return -1;
		n = strtoul(b + in, &end, 16);
		if (end == b + in || (end = strstr(end, "\r\n")) == NULL)
			return -1;
		in = (size_t)(end - b) + 2;
		if (n == 0)
			return (long)out;
		if (n > len - in)
			return -1;
		memmove(b + out, b + in, n);
		out += n;
		in += n + 2;
	}
}

/* Parses RAW (the whole response) into R.  Returns 0 or -1. */
static int
http_parse(char *raw, size_t len, struct resp *r)
{
	char *hdr_end = strstr(raw, "\r\n\r\n"), *line, *body;
	bool chunked = false;
	long clen = -1;
	size_t blen;

	if (hdr_end == NULL || strncmp(raw, "HTTP/1.", 7) != 0 || len < 12 ||
	    !isdigit((unsigned char)raw[9]))
		return -1;
	r->status = atoi(raw + 9);
	*hdr_end = '\0';
	body = hdr_end + 4;
	blen = len - (size_t)(body - raw);
	for (line = strstr(raw, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
		line += 2;
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			clen = strtol(line + 15, NULL, 10);
		else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 &&
		    strstr(line, "chunked") != NULL)
			chunked = true;
	}
	if (chunked) {
		long n = dechunk(body, blen);
		if (n < 0)
			return -1;
		blen = (size_t)n;
	} else if (clen >= 0) {
		if ((size_t)clen > blen)
			return -1;
		blen = (size_t)clen;
	}
	r->body = xmalloc(blen + 1);
	memcpy(r->body, body, blen);
	r->body[blen] = '\0';
	r->len = blen;
	return 0;
}

/* True when RAW holds a whole answer with a Content-Length (a server that
 * keeps the connection open despite "Connection: close" is not waited for). */
static bool
complete(const char *raw, size_t len)
{
	const char *end = strstr(raw, "\r\n\r\n"), *p;

	if (end == NULL)
		return false;
	for (p = strstr(raw, "\r\n"); p != NULL && p < end; p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
			return len - (size_t)(end + 4 - raw) >=
			    strtoul(p + 17, NULL, 10);
	return false;
}

/*
 * Sends METHOD TARGET to A and reads the whole answer into R.  Returns 0,
 * EX_UNAVAILABLE when the endpoint cannot be reached or stops answering,
 * EX_PROTOCOL when the answer is not HTTP; ERR says why.
 */
static int
http_do(const struct pl_addr *a, const char *method, const char *target,
    const char *token, struct resp *r, char *err, size_t errlen)
{
	uint64_t deadline = now_ms() + EXCHANGE_TIMEOUT_MS;
	char host[64], *req = NULL, *raw = NULL;
	size_t rawlen = 0, rawcap = 0, off = 0, reqlen;
	int fd, ret = EX_UNAVAILABLE;

	memset(r, 0, sizeof(*r));
	if ((fd = tcp_connect(a, err, errlen)) == -1)
		return EX_UNAVAILABLE;
	addr_str(a, host, sizeof(host));
	reqlen = (size_t)xasprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: pldns-ctl/%s\r\nAccept: */*\r\nConnection: close\r\n"
	    "%s%s%sContent-Length: 0\r\n\r\n", method, target, host,
	    PACKAGE_VERSION, token != NULL ? "Authorization: Bearer " : "",
	    token != NULL ? token : "", token != NULL ? "\r\n" : "");
	while (off < reqlen) {
		ssize_t n = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN && wait_fd(fd, POLLOUT, deadline) == 0)
			continue;
		snprintf(err, errlen, "sending to %s: %s", host, strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (rawcap - rawlen < 4096) {
			rawcap = rawcap ? rawcap * 2 : 16384;
			raw = xrealloc(raw, rawcap + 1);
		}
		n = recv(fd, raw + rawlen, rawcap - rawlen, 0);
		if (n > 0) {
			rawlen += (size_t)n;
			raw[rawlen] = '\0';
			if (rawlen > RESPONSE_MAX) {
				snprintf(err, errlen, "%s: answer too large", host);
				ret = EX_PROTOCOL;
				goto out;
			}
			if (complete(raw, rawlen))
				break;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN && wait_fd(fd, POLLIN, deadline) == 0)
			continue;
		snprintf(err, errlen, "reading from %s: %s", host,
		    errno == ETIMEDOUT ? "no complete answer in time" : strerror(errno));
		goto out;
	}
	if (raw == NULL)
		raw = xmalloc(1);
	raw[rawlen] = '\0';
	if (http_parse(raw, rawlen, r) == -1) {
		snprintf(err, errlen, "%s did not answer with HTTP: is it pldns's "
		    "control endpoint?", host);
		ret = EX_PROTOCOL;
		goto out;
	}
	ret = 0;
out:
	if (req != NULL) {
		explicit_bzero(req, reqlen);
		free(req);
	}
	free(raw);
	close(fd);
	return ret;
}

/* ---- where the endpoint is ---- */

struct ini_control {
	char *listen;
	char *token_file;
	bool seen_listen;
};

static int
ini_control_cb(void *user, const char *section, const char *name,
    const char *value)
{
	struct ini_control *ic = user;

	if (strcmp(section, "control") != 0)
		return 1;
	if (strcmp(name, "listen") == 0) {
		free(ic->listen);
		ic->listen = xstrdup(value);
		ic->seen_listen = true;
	} else if (strcmp(name, "token_file") == 0) {
		free(ic->token_file);
		ic->token_file = xstrdup(value);
	}
	return 1;
}

/*
 * Finds the endpoint and the token file in the configuration PATH.  A config
 * that does not load (a source being edited, one the caller may not read)
 * still names its endpoint: then only its [control] section is read.
 */
static int
config_target(const char *path, struct pl_addr *addr, char **token_file)
{
	struct ini_control ic = { 0 };
	struct config *cfg;
	struct diag d;
	const char *err = NULL;
	char *dir, *listen, *tokf;
	int ret = 0;

	diag_init(&d);
	if ((cfg = config_load(path, &d)) != NULL) {
		if (cfg->control_addr.len == 0) {
			fprintf(stderr, "pldns: ctl: %s turns the control endpoint off "
			    "([control] listen = none)\n", path);
			ret = EX_CONFIG;
		} else {
			*addr = cfg->control_addr;
			if (*token_file == NULL && cfg->token_file != NULL)
				*token_file = xstrdup(cfg->token_file);
		}
		config_free(cfg);
		diag_clear(&d);
		return ret;
	}
	if (ini_parse(path, ini_control_cb, &ic) < 0) {
		diag_print(&d, stderr);
		diag_clear(&d);
		return EX_CONFIG;
	}
	diag_clear(&d);
	if (!ic.seen_listen)
		ic.listen = xstrdup("127.0.0.1:8053");
	listen = str_trim(ic.listen);
	tokf = ic.token_file != NULL ? str_trim(ic.token_file) : NULL;
	if (listen[0] == '\0' || strcmp(listen, "none") == 0) {
		fprintf(stderr, "pldns: ctl: %s turns the control endpoint off "
		    "([control] listen = none)\n", path);
		ret = EX_CONFIG;
	} else if (addr_parse(listen, CONTROL_PORT, addr, &err) == -1) {
		fprintf(stderr, "pldns: ctl: %s: [control] listen \"%s\": %s\n",
		    path, listen, err);
		ret = EX_CONFIG;
	} else if (*token_file == NULL && tokf != NULL && *tokf != '\0') {
		dir = path_dirname(path);
		*token_file = path_join(dir, tokf);
		free(dir);
	}
	free(ic.listen);
	free(ic.token_file);
	return ret;
}

/* The token in PATH (white space trimmed), or NULL with a warning. */
static char *
read_token(const char *path)
{
	char buf[4096], *tok;
	size_t n;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		fprintf(stderr, "pldns: ctl: warning: cannot read the token file %s: "
		    "%s; sending no token\n", path, strerror(errno));
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	tok = str_trim(buf);
	if (tok[0] == '\0') {
		fprintf(stderr, "pldns: ctl: warning: the token file %s is empty; "
		    "sending no token\n", path);
		return NULL;
	}
	tok = xstrdup(tok);
	explicit_bzero(buf, sizeof(buf));
	return tok;
}

/* ---- output ---- */

static void
print_time(const char *label, json_int_t t)
{
	char buf[64];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		printf("%s never", label);
		return;
	}
	localtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %z", &tm);
	printf("%s %s", label, buf);
}

static void
print_duration(json_int_t s)
{
	if (s >= 86400)
		printf("%lldd ", (long long)(s / 86400));
	if (s >= 3600)
		printf("%lldh ", (long long)(s / 3600 % 24));
	printf("%lldm %llds", (long long)(s / 60 % 60), (long long)(s % 60));
}

static json_int_t
jint(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *
jstr(const json_t *o, const char *k, const char *def)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : def;
}

/* Prints TEXT indented, one line at a time. */
static void
print_indented(const char *indent, const char *text)
{
	const char *p = text, *nl;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		printf("%s%.*s\n", indent, (int)(nl - p), p);
		p = *nl != '\0' ? nl + 1 : nl;
	}
}

/* The most asked of the names clients miss (doc/missing.md). */
static void
show_missing(const json_t *m)
{
	const json_t *a = json_object_get(m, "top"), *v;
	size_t i;

	if (json_array_size(a) == 0)
		return;
	printf("\nnames clients miss: %lld, in %lld queries (pldns doctor checks "
	    "them)\n", (long long)jint(m, "names"), (long long)jint(m, "queries"));
	printf("  %-50s %8s  %s\n", "NAME", "QUERIES", "LAST SEEN");
	json_array_foreach(a, i, v) {
		if (i == 10) {
			printf("  (%zu more in GET /status)\n", json_array_size(a) - i);
			break;
		}
		printf("  %-50s %8lld  ", jstr(v, "name", "?"),
		    (long long)jint(v, "count"));
		print_time("", jint(v, "last_seen"));
		printf("\n");
	}
}

/* A reload's change (held or applied): its counts and its first lines. */
static void
print_change(json_t *c)
{
	json_t *v;
	size_t i;

	printf("    %lld added, %lld removed, %lld changed\n",
	    (long long)jint(c, "added"), (long long)jint(c, "removed"),
	    (long long)jint(c, "changed"));
	json_array_foreach(json_object_get(c, "diff"), i, v)
		printf("    %s\n", json_string_value(v));
	if (jint(c, "more") > 0)
		printf("    and %lld more\n", (long long)jint(c, "more"));
}

/* The reload guard's part of the status: held data, the last change and
 * why the server calls itself degraded. */
static void
show_guard(json_t *st, json_t *rl)
{
	json_t *held = json_object_get(rl, "held"), *last = json_object_get(rl,
	    "last_change"), *v;
	size_t i;

	if (json_is_object(held)) {
		print_time("a reload was HELD at", jint(held, "time"));
		printf(" (still serving the previous data; pldns ctl reload --force "
		    "applies it):\n");
		json_array_foreach(json_object_get(held, "reasons"), i, v)
			printf("    %s\n", json_string_value(v));
		print_change(held);
	}
	if (json_is_object(last)) {
		print_time("last change", jint(last, "time"));
		printf(":\n");
		print_change(last);
	}
	if (strcmp(jstr(st, "status", "ok"), "degraded") == 0) {
		printf("\nDEGRADED:\n");
		json_array_foreach(json_object_get(st, "reasons"), i, v)
			printf("  %s\n", json_string_value(v));
	}
}

/* The [azure] sections of a status: what each last synced, and how old. */
static void
show_azure(json_t *a)
{
	size_t i;
	json_t *v;

	if (json_array_size(a) == 0)
		return;
	printf("\nsynced from Azure:\n");
	json_array_foreach(a, i, v) {
		json_t *age = json_object_get(v, "age");

		printf("  azure \"%s\": %lld records, ", jstr(v, "name", "?"),
		    (long long)jint(v, "records"));
		if (json_is_integer(age))
			printf("data %lld s old; ", (long long)json_integer_value(age));
		else
			printf("no data yet; ");
		print_time("last success", jint(v, "last_success"));
		printf("; %lld errors\n", (long long)jint(v, "errors"));
		if (json_is_string(json_object_get(v, "last_error")))
			print_indented("    last error: ", jstr(v, "last_error", ""));
	}
}

static int
show_status(const char *where, const char *body)
{
	json_error_t jerr;
	json_t *st = json_loads(body, 0, &jerr), *a, *v, *rl;
	size_t i;
	bool ready;

	if (st == NULL || !json_is_object(st)) {
		fprintf(stderr, "pldns: ctl: %s: /status is not JSON: %s\n", where,
		    jerr.text);
		json_decref(st);
		return EX_PROTOCOL;
	}
	ready = json_is_true(json_object_get(st, "ready"));
	printf("pldns %s at %s: %s, up ", jstr(st, "version", "?"), where,
	    ready ? "ready" : "NOT READY");
	print_duration(jint(st, "uptime_seconds"));
	printf("\n");
	if (json_string_value(json_object_get(st, "config")) != NULL)
		printf("configuration: %s\n", jstr(st, "config", ""));

	a = json_object_get(st, "zones");
	printf("\nzones: %zu, records: %lld\n", json_array_size(a),
	    (long long)jint(st, "records"));
	if (json_array_size(a) > 0)
		printf("  %-50s %8s %12s  %s\n", "ZONE", "RECORDS", "SERIAL", "MISSING");
	json_array_foreach(a, i, v)
		printf("  %-50s %8lld %12lld  %s\n", jstr(v, "name", "?"),
		    (long long)jint(v, "records"), (long long)jint(v, "serial"),
		    jstr(v, "missing", ""));

	a = json_object_get(st, "sources");
	if (json_array_size(a) > 0)
		printf("\nsources:\n");
	json_array_foreach(a, i, v) {
		json_t *e, *errs = json_object_get(v, "errors");
		size_t j;

		printf("  %-60s %s\n", jstr(v, "source", "?"), jstr(v, "result", "?"));
		json_array_foreach(errs, j, e)
			printf("      %s\n", json_string_value(e));
	}

	a = json_object_get(st, "upstreams");
	printf("\nupstreams: %zu\n", json_array_size(a));
	if (json_array_size(a) > 0)
		printf("  %-30s %-5s %8s %10s %10s %9s %8s\n", "SERVER", "STATE",
		    "RTT", "SENT", "ANSWERED", "TIMEOUTS", "REFUSED");
	json_array_foreach(a, i, v) {
		char rtt[32];

		if (jint(v, "rtt_ms") > 0)
			snprintf(rtt, sizeof(rtt), "%lld ms", (long long)jint(v, "rtt_ms"));
		else
			pl_strlcpy(rtt, "-", sizeof(rtt));
		printf("  %-30s %-5s %8s %10lld %10lld %9lld %8lld\n",
		    jstr(v, "server", "?"),
		    json_is_true(json_object_get(v, "up")) ? "up" : "DOWN", rtt,
		    (long long)jint(v, "sent"), (long long)jint(v, "answered"),
		    (long long)jint(v, "timeouts"), (long long)jint(v, "refused"));
	}

	show_missing(json_object_get(st, "missing"));
	show_azure(json_object_get(st, "azure"));

	rl = json_object_get(st, "reload");
	printf("\nreloads: %lld succeeded, %lld rejected; ",
	    (long long)jint(rl, "reloads"), (long long)jint(rl, "failures"));
	print_time("last success", jint(rl, "last_success"));
	printf("\n");
	if (strcmp(jstr(rl, "state", ""), "failed") == 0) {
		print_time("the last reload FAILED at", jint(rl, "last_attempt"));
		printf(" (still serving the previous data):\n");
		print_indented("    ", jstr(rl, "last_error", "(no reason given)"));
	}
	show_guard(st, rl);
	json_decref(st);
	return ready ? 0 : 1;
}

/* One sample of the exposition: NAME{LABELS} VALUE. */
struct sample {
	char name[128];
	char labels[256];
	double value;
};

struct samples {
	struct sample *v;
	size_t n;
};

static void
parse_metrics(char *text, struct samples *s)
{
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		struct sample x;
		char *sp, *br;

		if (line[0] == '#' || (sp = strrchr(line, ' ')) == NULL)
			continue;
		memset(&x, 0, sizeof(x));
		*sp = '\0';
		x.value = strtod(sp + 1, NULL);
		if ((br = strchr(line, '{')) != NULL) {
			*br = '\0';
			pl_strlcpy(x.labels, br + 1, sizeof(x.labels));
			x.labels[strcspn(x.labels, "}")] = '\0';
		}
		pl_strlcpy(x.name, line, sizeof(x.name));
		s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
		s->v[s->n++] = x;
	}
}

/* The value of label KEY in S's labels, into BUF. */
static const char *
label(const struct sample *s, const char *key, char *buf, size_t len)
{
	size_t kl = strlen(key);
	const char *p = s->labels;

	buf[0] = '\0';
	while (*p != '\0') {
		if (strncmp(p, key, kl) == 0 && p[kl] == '=' && p[kl + 1] == '"') {
			size_t i = 0;
			for (p += kl + 2; *p != '\0' && *p != '"' && i + 1 < len; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				buf[i++] = *p;
			}
			buf[i] = '\0';
			return buf;
		}
		if ((p = strchr(p, ',')) == NULL)
			break;
		p++;
	}
	return buf;
}

static double
total(const struct samples *s, const char *name)
{
	double t = 0;

	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			t += s->v[i].value;
	return t;
}

/* "A 12, AAAA 3" for the non-zero samples of NAME by label KEY. */
static void
print_breakdown(const struct samples *s, const char *title, const char *name,
    const char *key)
{
	char buf[128];
	int printed = 0;

	printf("  %-10s", title);
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->v[i].name, name) != 0 || s->v[i].value == 0)
			continue;
		printf("%s%s %.0f", printed++ ? ", " : "",
		    label(&s->v[i], key, buf, sizeof(buf)), s->v[i].value);
	}
	printf("%s\n", printed ? "" : "-");
}

/* The upper bound of the histogram bucket holding quantile Q, in ms. */
static double
quantile_ms(const struct samples *s, double q)
{
	double count = 0, le;
	char buf[64];

	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, "pldns_query_duration_seconds_count") == 0)
			count = s->v[i].value;
	if (count == 0)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->v[i].name, "pldns_query_duration_seconds_bucket") != 0 ||
		    s->v[i].value < q * count)
			continue;
		label(&s->v[i], "le", buf, sizeof(buf));
		le = strcmp(buf, "+Inf") == 0 ? INFINITY : strtod(buf, NULL);
		return le * 1000;
	}
	return INFINITY;
}

static void
print_quantile(const char *name, double ms)
{
	if (ms < 0)
		printf(" %s -", name);
	else if (isinf(ms))
		printf(" %s >1 s", name);
	else
		printf(" %s <=%g ms", name, ms);
}

static int
show_stats(char *body)
{
	struct samples s = { 0 };
	double hits, misses;
	char buf[128];

	parse_metrics(body, &s);
	if (s.n == 0) {
		fprintf(stderr, "pldns: ctl: /metrics had no samples\n");
		return EX_PROTOCOL;
	}
	printf("queries: %.0f\n", total(&s, "pldns_queries_total"));
	print_breakdown(&s, "transport", "pldns_queries_total", "transport");
	print_breakdown(&s, "by type", "pldns_queries_by_qtype_total", "qtype");
	print_breakdown(&s, "by rcode", "pldns_queries_by_rcode_total", "rcode");
	print_breakdown(&s, "by path", "pldns_queries_by_path_total", "path");
	printf("  %-10s", "latency");
	print_quantile("p50", quantile_ms(&s, 0.5));
	print_quantile("p90", quantile_ms(&s, 0.9));
	print_quantile("p99", quantile_ms(&s, 0.99));
	printf("\n");
	print_breakdown(&s, "dropped", "pldns_queries_dropped_total", "reason");

	hits = total(&s, "pldns_cache_hits_total");
	misses = total(&s, "pldns_cache_misses_total");
	printf("cache: %.0f entries, %.1f MB of %.1f MB; hits %.0f, misses %.0f",
	    total(&s, "pldns_cache_entries"), total(&s, "pldns_cache_bytes") / 1048576,
	    total(&s, "pldns_cache_max_bytes") / 1048576, hits, misses);
	if (hits + misses > 0)
		printf(" (%.1f%% hits)", 100 * hits / (hits + misses));
	printf(", evictions %.0f, prefetches %.0f\n",
	    total(&s, "pldns_cache_evictions_total"),
	    total(&s, "pldns_cache_prefetches_total"));

	printf("upstream: failed %.0f, tcp retries %.0f, spoofed replies %.0f\n",
	    total(&s, "pldns_upstream_failed_total"),
	    total(&s, "pldns_upstream_tcp_retries_total"),
	    total(&s, "pldns_spoofed_replies_total"));
	for (size_t i = 0; i < s.n; i++) {
		char srv[128];
		double rtt = 0, to = 0, sent = 0;

		if (strcmp(s.v[i].name, "pldns_upstream_up") != 0)
			continue;
		label(&s.v[i], "server", srv, sizeof(srv));
		for (size_t j = 0; j < s.n; j++) {
			if (strcmp(label(&s.v[j], "server", buf, sizeof(buf)), srv) != 0)
				continue;
			if (strcmp(s.v[j].name, "pldns_upstream_rtt_seconds") == 0)
				rtt = s.v[j].value;
			else if (strcmp(s.v[j].name, "pldns_upstream_timeouts_total") == 0)
				to = s.v[j].value;
			else if (strcmp(s.v[j].name, "pldns_upstream_queries_total") == 0)
				sent = s.v[j].value;
		}
		printf("  %-30s %-5s rtt %.0f ms, sent %.0f, timeouts %.0f\n", srv,
		    s.v[i].value != 0 ? "up" : "DOWN", rtt * 1000, sent, to);
	}
	printf("zones: %.0f, records: %.0f; reloads %.0f, rejected %.0f\n",
	    total(&s, "pldns_zones"), total(&s, "pldns_records"),
	    total(&s, "pldns_reloads_total"), total(&s, "pldns_reload_failures_total"));
	free(s.v);
	return 0;
}

/* Percent-encodes S for a query string. */
static char *
urlencode(const char *s)
{
	char *out = xmalloc(strlen(s) * 3 + 1), *o = out;

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || ch == '.' || ch == '-' || ch == '_' || ch == '~')
			*o++ = (char)ch;
		else
			o += sprintf(o, "%%%02X", ch);
	}
	*o = '\0';
	return out;
}

/* Prints the text answer to a POST; the exit status for its HTTP status. */
static int
post_result(const char *cmd, const struct resp *r)
{
	const char *b = r->body;

	if (r->status >= 200 && r->status < 300) {
		print_indented("", b);
		return 0;
	}
	if (r->status == 401)
		fprintf(stderr, "pldns: ctl: %s: not authorized (HTTP 401): give the "
		    "token with --token-file or [control] token_file\n", cmd);
	else if (r->status == 409)
		fprintf(stderr, "pldns: ctl: %s held (HTTP 409):\n", cmd);
	else
		fprintf(stderr, "pldns: ctl: %s failed (HTTP %d):\n", cmd, r->status);
	while (*b != '\0') {
		const char *nl = strchr(b, '\n');
		if (nl == NULL)
			nl = b + strlen(b);
		fprintf(stderr, "  %.*s\n", (int)(nl - b), b);
		b = *nl != '\0' ? nl + 1 : nl;
	}
	return 1;
}

/* The commands: the request each makes of the endpoint. */
static const struct ctl_cmd {
	const char *name;
	bool post;		/* it changes something: POST, with the token */
	bool takes_name;	/* an optional NAME, sent as ?name= */
	const char *path;
} ctl_cmds[] = {
	{ "status", false, false, "/status" },
	{ "stats", false, false, "/metrics" },
	{ "reload", true, false, "/reload" },
	{ "flush", true, true, "/cache/flush" },
	{ "sync", true, true, "/sync" },
};

/* The command of A's operands into *CMD and its NAME (or NULL); 0, or the
 * exit status of a usage error (said on stderr). */
static int
ctl_command(const struct verb_args *a, const struct ctl_cmd **cmd,
    const char **name)
{
	*cmd = NULL;
	*name = NULL;
	for (size_t i = 0; i < nitems(ctl_cmds); i++)
		if (strcmp(a->argv[0], ctl_cmds[i].name) == 0)
			*cmd = &ctl_cmds[i];
	if (*cmd != NULL && (*cmd)->takes_name && a->argc > 1)
		*name = a->argv[1];
	if (*cmd == NULL || a->argc > (*name != NULL ? 2 : 1))
		return verb_error(a->verb, true, "unknown command or extra "
		    "arguments");
	if (verb_has(a, 'F') && strcmp((*cmd)->name, "reload") != 0)
		return verb_error(a->verb, true, "--force is for reload only");
	return 0;
}

/*
 * Where the endpoint is (--server, else the configuration's [control]
 * listen) into ADDR, and for a command that changes something the token
 * (--token-file, else the configuration's) into *TOKEN (NULL when none;
 * caller frees).  0, or the exit status.
 */
static int
ctl_endpoint(const struct verb_args *a, bool post, struct pl_addr *addr,
    char **token)
{
	const char *cfgpath = verb_get(a, 'c', NULL);
	const char *server = verb_get(a, 's', NULL), *err = NULL;
	char *token_file = NULL;
	int ret;

	*token = NULL;
	memset(addr, 0, sizeof(*addr));
	if (server != NULL &&
	    addr_parse(server, CONTROL_PORT, addr, &err) == -1)
		return verb_error(a->verb, false, "--server %s: %s", server, err);
	if (verb_has(a, 't'))
		token_file = xstrdup(verb_get(a, 't', NULL));
	/* The configuration names the endpoint, and the token unless given. */
	if (server == NULL || cfgpath != NULL) {
		struct pl_addr fromcfg;

		ret = config_target(cfgpath != NULL ? cfgpath : VERB_DEFAULT_CONFIG,
		    &fromcfg, &token_file);
		if (ret != 0) {
			free(token_file);
			return ret;
		}
		if (server == NULL)
			*addr = fromcfg;
	}
	addr_unwildcard(addr);
	if (post && token_file != NULL)
		*token = read_token(token_file);
	free(token_file);
	return 0;
}

/* The request target of CMD for NAME (or NULL); caller frees. */
static char *
ctl_target(const struct ctl_cmd *cmd, const char *name, bool force)
{
	char *target, *enc;

	if (strcmp(cmd->name, "reload") == 0 && force)
		return xstrdup("/reload?force=1");
	if (name == NULL)
		return xstrdup(cmd->path);
	enc = urlencode(name);
	xasprintf(&target, "%s?name=%s", cmd->path, enc);
	free(enc);
	return target;
}

static int
ctl_run(struct verb_args *a)
{
	const struct ctl_cmd *cmd;
	const char *name;
	char *token, *target, where[64], msg[512];
	struct pl_addr addr;
	struct resp r;
	int ret;

	if ((ret = ctl_command(a, &cmd, &name)) != 0 ||
	    (ret = ctl_endpoint(a, cmd->post, &addr, &token)) != 0)
		return ret;
	addr_str(&addr, where, sizeof(where));
	target = ctl_target(cmd, name, verb_has(a, 'F'));
	ret = http_do(&addr, cmd->post ? "POST" : "GET", target, token, &r, msg,
	    sizeof(msg));
	if (token != NULL) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	free(target);
	if (ret != 0) {
		fprintf(stderr, "pldns: ctl: %s\n", msg);
		return ret;
	}
	if (cmd->post || r.status != 200)
		ret = post_result(cmd->name, &r);
	else if (strcmp(cmd->name, "status") == 0)
		ret = show_status(where, r.body);
	else
		ret = show_stats(r.body);
	free(r.body);
	return ret;
}

const struct verb verb_ctl = {
	.name = "ctl",
	.usage = "[-c FILE] [--server ADDR:PORT] [--token-file FILE]\n"
	    "status|reload [--force]|flush [NAME]|stats|sync [NAME]",
	.help = "talk to a running pldns through its control endpoint",
	.text =
"commands:\n"
"  status        what is being served: zones, sources, upstreams, reloads\n"
"  reload        reload the configuration and every record source now\n"
"  reload --force   reload even what the guard holds back (a zone or a\n"
"                source emptied, more than max_drop of the records removed)\n"
"  flush [NAME]  flush the answer cache, or NAME and the names below it\n"
"  stats         query, cache and upstream counters\n"
"  sync [NAME]   sync the [azure] sections (or NAME) from Azure now\n"
"options:\n"
"  -c FILE              configuration whose [control] section names the endpoint\n"
"                       (default " VERB_DEFAULT_CONFIG ")\n"
"  -s, --server ADDR:PORT   the endpoint's address (port 8053 when none)\n"
"  -t, --token-file FILE    bearer token for reload and flush\n"
"Exit status: 0 done, 1 the server reported a failure (or held a reload),\n"
"64 usage, 69 cannot reach the endpoint, 76 bad answer, 78 configuration error.\n",
	.opts = (const struct verb_opt[]){
	    VERB_OPT_CONFIG, VERB_OPT_SERVER, { 't', "token-file", VERB_ARG },
	    { 'F', "force", VERB_LONG }, VERB_OPT_END },
	.lower = 1, .upper = VERB_ANY,
	.run = ctl_run,
};

/* GET TARGET from the control endpoint at A, for other verbs (verbs.h). */
int
ctl_http_get(const struct pl_addr *a, const char *target, int *status,
    char **body, char *err, size_t errlen)
{
	struct pl_addr to = *a;
	struct resp r;
	int ret;

	addr_unwildcard(&to);
	if ((ret = http_do(&to, "GET", target, NULL, &r, err, errlen)) != 0)
		return -1;
	*status = r.status;
	*body = r.body;
	return 0;
}
