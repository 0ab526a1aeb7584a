/*
 * Unit tests for control (the HTTP endpoint and its Prometheus exposition),
 * ctl (its command-line client) and sdnotify (systemd datagrams).
 *
 * The endpoint runs on 127.0.0.1 at a free port with fake control_ops; the
 * requests come from libevent's HTTP client in the same event loop, and
 * "pldns ctl" runs on a second thread while the loop answers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "data/config.h"
#include "runtime/control.h"
#include "util/log.h"
#include "runtime/metrics.h"
#include "data/records.h"
#include "runtime/sdnotify.h"
#include "data/snapshot.h"
#include "util/util.h"
#include "verbs/verbs.h"

#define BLOB	"privatelink.blob.core.windows.net"
#define VAULT	"privatelink.vaultcore.azure.net"
#define TOKEN	"s3cret-T0ken"

/* ---- fixtures ---- */

static void
add_a(struct recset *rs, size_t z, const char *name, const char *ip)
{
	uint8_t w[WIRE_NAME_MAX], rd[4];
	const char *err;

	assert_true(wire_name_from_str(name, w, &err) > 0);
	assert_int_equal(inet_pton(AF_INET, ip, rd), 1);
	assert_non_null(recset_add(rs, z, w, TYPE_A, 10, rd, 4, "test:1"));
}

/* Two zones (blob: 2 records, vault: 1) and two configured sources. */
static struct snapshot *
build_snapshot(void)
{
	struct config *cfg = config_new();
	struct recset rs;
	struct diag d;
	struct snapshot *s;
	size_t z, n;

	free(cfg->path);
	cfg->path = xstrdup("/etc/pldns.ini");
	strv_free(cfg->sources);
	cfg->sources = strv_split("csv:/data/dns-settings.csv,/data/pe.json", ",", &n);
	cfg->nsources = n;
	recset_init(&rs);
	diag_init(&d);
	z = recset_zone(&rs, cfg, BLOB, "test");
	add_a(&rs, z, "acct." BLOB, "10.1.0.5");
	add_a(&rs, z, "other." BLOB, "10.1.0.6");
	z = recset_zone(&rs, cfg, VAULT, "test");
	add_a(&rs, z, "kv." VAULT, "10.1.0.7");
	s = snapshot_new(cfg, &rs, NULL, &d);
	if (s == NULL)
		diag_print(&d, stderr);
	assert_non_null(s);
	diag_clear(&d);
	recset_clear(&rs);
	return s;
}

/* What the fake server shows and what the endpoint asked of it. */
struct fake {
	struct snapshot *snap;
	bool ready;
	bool reload_fails;
	const char *last_error;
	uint64_t last_attempt, last_success, failures, sighup_reloads;
	uint64_t queries;
	atomic_int reloads;
	atomic_int flushes;
	char flushed[256];		/* "(all)" for a whole flush */
	/* The reload guard. */
	bool hold;			/* a plain reload is held */
	bool held, ups_down;
	uint64_t holds;
	atomic_int forced;
	struct reload_change change;
	char **stale;
	bool distinct;			/* each counter of the list its own value */
};

static void
fake_metrics(void *arg, struct metrics *m)
{
	struct fake *f = arg;

	memset(m, 0, sizeof(*m));
	m->queries[MT_UDP] = f->queries;
	m->path[PATH_LOCAL] = f->queries;
	m->rcode[RCODE_NOERROR] = f->queries;
	for (size_t i = 0; f->distinct && i < metrics_ncounters; i++)
		*(_Atomic uint64_t *)(void *)((char *)m +
		    metrics_counters[i].offset) = 1000 + i;
}

static size_t
fake_upstreams(void *arg, struct upstream_info *out, size_t max)
{
	assert_true(max >= 1);
	memset(out, 0, sizeof(*out));
	assert_int_equal(addr_parse("192.0.2.1", 53, &out[0].addr, NULL), 0);
	out[0].up = !((struct fake *)arg)->ups_down;
	out[0].rtt_ms = 12;
	out[0].sent = 40;
	out[0].answered = 39;
	out[0].timeouts = 1;
	return 1;
}

static struct snapshot *
fake_snapshot(void *arg)
{
	struct fake *f = arg;

	snapshot_ref(f->snap);
	return f->snap;
}

static void
fake_reload_state(void *arg, struct reload_state *out)
{
	struct fake *f = arg;

	memset(out, 0, sizeof(*out));
	out->ready = f->ready;
	out->reloads = (uint64_t)f->reloads + f->sighup_reloads;
	out->failures = f->failures;
	out->last_error = f->last_error;
	out->last_attempt = f->last_attempt;
	out->last_success = f->last_success;
	out->held = f->held;
	out->holds = f->holds;
	out->held_change = f->held ? &f->change : NULL;
	out->stale = f->stale;
}

static int
fake_reload(void *arg, char **text)
{
	struct fake *f = arg;

	f->reloads++;
	if (f->reload_fails) {
		*text = xstrdup("/data/pe.json:3: \"10.1.0.x\" is not an IP address\n"
		    "reload rejected: 1 error");
		return -1;
	}
	if (f->hold) {
		f->held = true;
		f->holds++;
		*text = xstrdup("reload held: still serving the previous data");
		return 1;
	}
	*text = xstrdup("reloaded 2 zones, 3 records");
	return 0;
}

static int
fake_reload_force(void *arg, char **text)
{
	struct fake *f = arg;

	f->forced++;
	f->held = false;
	*text = xstrdup("reloaded 1 zone, 0 records");
	return 0;
}

static void
fake_flush(void *arg, const char *name)
{
	struct fake *f = arg;

	f->flushes++;
	pl_strlcpy(f->flushed, name != NULL ? name : "(all)", sizeof(f->flushed));
}

static void
fake_cache(void *arg, struct cache_info *out)
{
	(void)arg;
	memset(out, 0, sizeof(*out));
	out->entries = 5;
	out->bytes = 2048;
	out->max_bytes = 67108864;
}

struct fixture {
	struct event_base *base;
	struct control *ctl;
	struct config *cfg;
	struct fake fake;
	struct control_ops ops;
	int port;
	char tokpath[64];
};

/* A port nothing listens on now (bound, read back, closed). */
static int
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

/* A config with the control endpoint on 127.0.0.1:PORT (and TOKEN_FILE). */
static struct config *
control_config(int port, const char *token_file)
{
	struct config *cfg = config_new();
	const char *err = NULL;

	free(cfg->control_listen);
	xasprintf(&cfg->control_listen, "127.0.0.1:%d", port);
	assert_int_equal(addr_parse(cfg->control_listen, 8053, &cfg->control_addr,
	    &err), 0);
	free(cfg->token_file);
	cfg->token_file = token_file != NULL ? xstrdup(token_file) : NULL;
	return cfg;
}

static int
setup_common(void **state, bool with_token)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct diag d;

	f->fake.snap = build_snapshot();
	f->fake.ready = true;
	f->fake.queries = 7;
	f->ops = (struct control_ops){
		.arg = &f->fake,
		.metrics = fake_metrics,
		.upstreams = fake_upstreams,
		.snapshot = fake_snapshot,
		.reload_state = fake_reload_state,
		.reload = fake_reload,
		.flush = fake_flush,
		.cache = fake_cache,
		.start_time = now_wall() - 3725,
		.reload_force = fake_reload_force,
	};
	snprintf(f->tokpath, sizeof(f->tokpath), "/tmp/test_control_token.%d",
	    (int)getpid());
	write_file(f->tokpath, "  " TOKEN "\n");
	f->base = event_base_new();
	assert_non_null(f->base);
	f->port = free_port();
	f->cfg = control_config(f->port, with_token ? f->tokpath : NULL);
	diag_init(&d);
	f->ctl = control_new(f->base, f->cfg, &f->ops, &d);
	if (f->ctl == NULL)
		diag_print(&d, stderr);
	assert_non_null(f->ctl);
	assert_int_equal(d.n, 0);
	diag_clear(&d);
	*state = f;
	return 0;
}

static int
setup_token(void **state)
{
	return setup_common(state, true);
}

static int
setup_loopback(void **state)
{
	return setup_common(state, false);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	control_free(f->ctl);
	config_free(f->cfg);
	event_base_free(f->base);
	snapshot_unref(f->fake.snap);
	strv_free(f->fake.change.reasons);
	strv_free(f->fake.change.diff);
	strv_free(f->fake.stale);
	unlink(f->tokpath);
	free(f);
	return 0;
}

/* ---- an HTTP client in the fixture's loop ---- */

struct result {
	bool done;
	int code;
	char *body;
	char ctype[128], allow[64], www[64], csp[512];
};

static void
copy_header(struct evkeyvalq *h, const char *name, char *out, size_t len)
{
	const char *v = evhttp_find_header(h, name);

	pl_strlcpy(out, v != NULL ? v : "", len);
}

static void
done_cb(struct evhttp_request *req, void *arg)
{
	struct result *r = arg;
	struct evbuffer *b;
	size_t n;

	r->done = true;
	if (req == NULL)
		return;
	r->code = evhttp_request_get_response_code(req);
	b = evhttp_request_get_input_buffer(req);
	n = evbuffer_get_length(b);
	r->body = xmalloc(n + 1);
	evbuffer_remove(b, r->body, n);
	r->body[n] = '\0';
	copy_header(evhttp_request_get_input_headers(req), "Content-Type",
	    r->ctype, sizeof(r->ctype));
	copy_header(evhttp_request_get_input_headers(req), "Allow",
	    r->allow, sizeof(r->allow));
	copy_header(evhttp_request_get_input_headers(req), "WWW-Authenticate",
	    r->www, sizeof(r->www));
	copy_header(evhttp_request_get_input_headers(req),
	    "Content-Security-Policy", r->csp, sizeof(r->csp));
}

/* Sends METHOD URI with optional headers ("Name: value", NULL-ended). */
static struct result
request(struct fixture *f, enum evhttp_cmd_type method, const char *uri, ...)
{
	struct result r;
	struct evhttp_connection *conn;
	struct evhttp_request *req;
	struct evkeyvalq *h;
	char host[32];
	const char *hdr;
	va_list ap;

	memset(&r, 0, sizeof(r));
	conn = evhttp_connection_base_new(f->base, NULL, "127.0.0.1",
	    (ev_uint16_t)f->port);
	assert_non_null(conn);
	req = evhttp_request_new(done_cb, &r);
	h = evhttp_request_get_output_headers(req);
	snprintf(host, sizeof(host), "127.0.0.1:%d", f->port);
	evhttp_add_header(h, "Host", host);
	va_start(ap, uri);
	while ((hdr = va_arg(ap, const char *)) != NULL) {
		char name[64];
		const char *colon = strchr(hdr, ':');
		assert_non_null(colon);
		snprintf(name, sizeof(name), "%.*s", (int)(colon - hdr), hdr);
		evhttp_add_header(h, name, colon + 2);
	}
	va_end(ap);
	assert_int_equal(evhttp_make_request(conn, req, method, uri), 0);
	while (!r.done)
		event_base_loop(f->base, EVLOOP_ONCE);
	evhttp_connection_free(conn);
	return r;
}

static void
result_free(struct result *r)
{
	free(r->body);
}

/* ---- the exposition, line by line ---- */

static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n'))
			return true;
		p += n;
	}
	return false;
}

static void
assert_line(const char *text, const char *line)
{
	if (!has_line(text, line))
		fail_msg("no line \"%s\" in:\n%s", line, text);
}

static void
assert_no_line_prefix(const char *text, const char *prefix)
{
	const char *p = strstr(text, prefix);

	if (p != NULL && (p == text || p[-1] == '\n'))
		fail_msg("unexpected line starting \"%s\"", prefix);
}

/* A metric or label name: [a-zA-Z_:][a-zA-Z0-9_:]*; returns its length. */
static size_t
name_len(const char *p, bool colon_ok)
{
	size_t n = 0;

	while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
	    p[n] == '_' || (colon_ok && p[n] == ':') ||
	    (n > 0 && p[n] >= '0' && p[n] <= '9'))
		n++;
	return n;
}

/*
 * Checks the text format 0.0.4 grammar of every line: HELP and TYPE before a
 * family's samples, each family declared once, samples well formed, names of
 * counters ending in _total, and the text ending with a newline.
 */
static void
check_exposition(const char *text)
{
	char families[128][128];
	size_t nfam = 0;
	char current[128] = "";
	const char *p = text;

	assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		char line[1024];
		size_t n;

		assert_non_null(nl);
		assert_true((size_t)(nl - p) < sizeof(line));
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		p = nl + 1;
		if (strncmp(line, "# HELP ", 7) == 0) {
			n = name_len(line + 7, true);
			assert_true(n > 0 && line[7 + n] == ' ' && line[8 + n] != '\0');
			snprintf(current, sizeof(current), "%.*s", (int)n, line + 7);
			for (size_t i = 0; i < nfam; i++)
				if (strcmp(families[i], current) == 0)
					fail_msg("family %s declared twice", current);
			assert_true(nfam < 128);
			pl_strlcpy(families[nfam++], current, sizeof(families[0]));
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			const char *type;
			n = name_len(line + 7, true);
			assert_true(strncmp(line + 7, current, n) == 0 &&
			    current[n] == '\0');
			type = line + 8 + n;
			if (strcmp(type, "counter") == 0) {
				if (n < 6 || strcmp(current + n - 6, "_total") != 0)
					fail_msg("counter %s lacks _total", current);
			} else if (strcmp(type, "gauge") != 0 &&
			    strcmp(type, "histogram") != 0)
				fail_msg("bad TYPE line: %s", line);
			continue;
		}
		assert_true(line[0] != '#');
		/* A sample of the current family (histograms add suffixes). */
		n = name_len(line, true);
		assert_true(n > 0);
		if (strncmp(line, current, strlen(current)) != 0)
			fail_msg("sample outside its family %s: %s", current, line);
		if (line[n] == '{') {
			const char *q = line + n + 1;
			for (;;) {
				size_t ln = name_len(q, false);
				assert_true(ln > 0 && q[ln] == '=' && q[ln + 1] == '"');
				q += ln + 2;
				while (*q != '"') {
					assert_true(*q != '\0' && *q != '\n');
					q += *q == '\\' ? 2 : 1;
				}
				q++;
				if (*q == '}')
					break;
				assert_int_equal(*q, ',');
				q++;
			}
			n = (size_t)(q + 1 - line);
		}
		assert_int_equal(line[n], ' ');
		{
			char *end;
			strtod(line + n + 1, &end);
			if (*end != '\0' || end == line + n + 1)
				fail_msg("bad value in: %s", line);
		}
	}
}

static void
test_render_metrics(void **state)
{
	struct metrics m;
	struct upstream_info up[2];
	struct reload_state rs = { .reloads = 3, .failures = 1,
	    .last_success = 1700000000, .last_attempt = 1700000100,
	    .last_error = "x.csv:2: bad", .ready = true };
	struct cache_info ci = { .entries = 5, .bytes = 4096, .max_bytes = 65536,
	    .hits = 1, .misses = 2, .inserts = 9, .evictions = 4, .expired = 3 };
	struct snapshot *s = build_snapshot();
	char *text, line[256];

	(void)state;
	memset(&m, 0, sizeof(m));
	metrics_answer(&m, MT_UDP, TYPE_A, RCODE_NOERROR, PATH_LOCAL, 40);
	metrics_answer(&m, MT_UDP, TYPE_AAAA, RCODE_NOERROR, PATH_SYNTH, 60);
	metrics_answer(&m, MT_TCP, TYPE_AAAA, RCODE_NXDOMAIN, PATH_SYNTH, 2000);
	metrics_answer(&m, MT_UDP, 99, 9, PATH_UPSTREAM, 2000000);
	m.dropped = 11;
	m.rrl_dropped = 12;
	m.cache_hits = 21;
	m.cache_misses = 22;
	m.up_spoofed = 31;
	m.up_failed = 32;
	memset(up, 0, sizeof(up));
	assert_int_equal(addr_parse("192.0.2.1", 53, &up[0].addr, NULL), 0);
	up[0].up = true;
	up[0].rtt_ms = 12;
	up[0].sent = 100;
	up[0].timeouts = 4;
	assert_int_equal(addr_parse("[2001:db8::1]:5353", 53, &up[1].addr, NULL), 0);

	text = control_render_metrics(&m, up, 2, s, &rs, &ci);
	check_exposition(text);

	assert_line(text, "# HELP pldns_build_info The running version of pldns.");
	assert_line(text, "pldns_build_info{version=\"" PACKAGE_VERSION "\"} 1");

	assert_line(text, "# TYPE pldns_queries_total counter");
	assert_line(text, "pldns_queries_total{transport=\"udp\"} 3");
	assert_line(text, "pldns_queries_total{transport=\"tcp\"} 1");
	assert_line(text, "# TYPE pldns_queries_by_qtype_total counter");
	assert_line(text, "pldns_queries_by_qtype_total{qtype=\"A\"} 1");
	assert_line(text, "pldns_queries_by_qtype_total{qtype=\"AAAA\"} 2");
	assert_line(text, "pldns_queries_by_qtype_total{qtype=\"HTTPS\"} 0");
	assert_line(text, "pldns_queries_by_qtype_total{qtype=\"other\"} 1");
	assert_line(text, "pldns_queries_by_rcode_total{rcode=\"NOERROR\"} 2");
	assert_line(text, "pldns_queries_by_rcode_total{rcode=\"NXDOMAIN\"} 1");
	assert_line(text, "pldns_queries_by_rcode_total{rcode=\"SERVFAIL\"} 0");
	assert_line(text, "pldns_queries_by_rcode_total{rcode=\"BADVERS\"} 0");
	assert_line(text, "pldns_queries_by_rcode_total{rcode=\"NOTAUTH\"} 1");
	/* Uncommon rcodes appear only once counted. */
	assert_no_line_prefix(text, "pldns_queries_by_rcode_total{rcode=\"YXDOMAIN\"}");
	assert_line(text, "pldns_queries_by_path_total{path=\"local\"} 1");
	assert_line(text, "pldns_queries_by_path_total{path=\"synthesized\"} 2");
	assert_line(text, "pldns_queries_by_path_total{path=\"spliced\"} 0");
	assert_line(text, "pldns_queries_by_path_total{path=\"upstream\"} 1");
	assert_line(text, "pldns_queries_by_path_total{path=\"cache\"} 0");
	assert_line(text, "pldns_queries_by_path_total{path=\"refused\"} 0");

	assert_line(text, "# TYPE pldns_query_duration_seconds histogram");
	assert_line(text, "pldns_query_duration_seconds_bucket{le=\"0.00005\"} 1");
	assert_line(text, "pldns_query_duration_seconds_bucket{le=\"0.0001\"} 2");
	assert_line(text, "pldns_query_duration_seconds_bucket{le=\"0.00025\"} 2");
	assert_line(text, "pldns_query_duration_seconds_bucket{le=\"0.001\"} 2");
	assert_line(text, "pldns_query_duration_seconds_bucket{le=\"0.0025\"} 3");
	assert_line(text, "pldns_query_duration_seconds_bucket{le=\"0.25\"} 3");
	assert_line(text, "pldns_query_duration_seconds_bucket{le=\"1\"} 3");
	assert_line(text, "pldns_query_duration_seconds_bucket{le=\"+Inf\"} 4");
	assert_line(text, "pldns_query_duration_seconds_sum 2.0021");
	assert_line(text, "pldns_query_duration_seconds_count 4");

	assert_line(text, "pldns_queries_dropped_total{reason=\"malformed\"} 11");
	assert_line(text, "pldns_queries_dropped_total{reason=\"rrl\"} 12");
	assert_line(text, "pldns_queries_dropped_total{reason=\"acl\"} 0");
	assert_line(text, "pldns_spoofed_replies_total 31");
	assert_line(text, "pldns_upstream_failed_total 32");

	assert_line(text, "pldns_cache_hits_total 21");
	assert_line(text, "pldns_cache_misses_total 22");
	assert_line(text, "# TYPE pldns_cache_entries gauge");
	assert_line(text, "pldns_cache_entries 5");
	assert_line(text, "pldns_cache_bytes 4096");
	assert_line(text, "pldns_cache_max_bytes 65536");
	assert_line(text, "pldns_cache_evictions_total 4");

	assert_line(text, "# TYPE pldns_upstream_up gauge");
	assert_line(text, "pldns_upstream_up{server=\"192.0.2.1:53\"} 1");
	assert_line(text, "pldns_upstream_up{server=\"[2001:db8::1]:5353\"} 0");
	assert_line(text, "pldns_upstream_rtt_seconds{server=\"192.0.2.1:53\"} 0.012");
	assert_line(text, "pldns_upstream_rtt_seconds{server=\"[2001:db8::1]:5353\"} 0");
	assert_line(text, "pldns_upstream_queries_total{server=\"192.0.2.1:53\"} 100");
	assert_line(text, "pldns_upstream_timeouts_total{server=\"192.0.2.1:53\"} 4");
	assert_line(text, "pldns_upstream_timeouts_total{server=\"[2001:db8::1]:5353\"} 0");

	assert_line(text, "pldns_zones 2");
	assert_line(text, "pldns_records 3");
	assert_line(text, "pldns_zone_records{zone=\"" BLOB "\"} 2");
	assert_line(text, "pldns_zone_records{zone=\"" VAULT "\"} 1");
	for (size_t i = 0; i < snapshot_nzones(s); i++) {
		const struct szone *z = snapshot_zone_at(s, i);
		snprintf(line, sizeof(line), "pldns_zone_serial{zone=\"%s\"} %" PRIu32,
		    szone_name(z), szone_serial(z));
		assert_line(text, line);
	}

	assert_line(text, "pldns_ready 1");
	assert_line(text, "# TYPE pldns_reloads_total counter");
	assert_line(text, "pldns_reloads_total 3");
	assert_line(text, "pldns_reload_failures_total 1");
	assert_line(text, "# TYPE pldns_last_reload_success_timestamp_seconds gauge");
	assert_line(text, "pldns_last_reload_success_timestamp_seconds 1700000000");
	assert_line(text, "pldns_last_reload_attempt_timestamp_seconds 1700000100");
	free(text);
	snapshot_unref(s);
}

/* Nothing loaded yet, no upstream known, no cache: still a valid exposition. */
static void
test_render_metrics_empty(void **state)
{
	struct metrics m;
	char *text;

	(void)state;
	memset(&m, 0, sizeof(m));
	text = control_render_metrics(&m, NULL, 0, NULL, NULL, NULL);
	check_exposition(text);
	assert_line(text, "pldns_zones 0");
	assert_line(text, "pldns_records 0");
	assert_line(text, "pldns_query_duration_seconds_bucket{le=\"+Inf\"} 0");
	assert_line(text, "pldns_query_duration_seconds_sum 0");
	assert_no_line_prefix(text, "# HELP pldns_upstream_up ");
	assert_no_line_prefix(text, "# HELP pldns_zone_records ");
	assert_no_line_prefix(text, "# HELP pldns_cache_entries ");
	assert_no_line_prefix(text, "# HELP pldns_ready ");
	free(text);
}

/* The names clients miss: a counter and a gauge, never a name in a label. */
static void
test_render_missing(void **state)
{
	char *text;

	(void)state;
	text = control_render_missing(37, 3);
	check_exposition(text);
	assert_line(text, "# TYPE pldns_missing_queries_total counter");
	assert_line(text, "pldns_missing_queries_total 37");
	assert_line(text, "# TYPE pldns_missing_names gauge");
	assert_line(text, "pldns_missing_names 3");
	assert_null(strchr(text, '{'));
	free(text);
}

/* Two workers' views of one upstream server, and of their caches, summed
 * as the control endpoint shows them. */
static void
test_sums(void **state)
{
	struct upstream_info a = { .up = true, .rtt_ms = 30, .sent = 1,
	    .answered = 2, .timeouts = 3, .refused = 4, .spoofed = 5,
	    .inflight = 6, .errors = 7 };
	struct upstream_info b = { .up = false, .rtt_ms = 45, .sent = 1,
	    .answered = 2, .timeouts = 3, .refused = 4, .spoofed = 5,
	    .inflight = 6, .errors = 70 };
	struct cache_info ca = { .entries = 1, .bytes = 2, .max_bytes = 3,
	    .hits = 4, .misses = 5, .stale_hits = 6, .inserts = 7,
	    .evictions = 8, .expired = 9, .prefetches = 10, .sibling_hits = 11 };
	struct cache_info cb = ca;

	(void)state;
	control_upstream_add(&a, &b);
	assert_false(a.up);		/* down in one worker: down */
	assert_int_equal(a.rtt_ms, 45);	/* the slower view */
	assert_int_equal(a.sent, 2);
	assert_int_equal(a.answered, 4);
	assert_int_equal(a.timeouts, 6);
	assert_int_equal(a.refused, 8);
	assert_int_equal(a.spoofed, 10);
	assert_int_equal(a.inflight, 12);
	assert_int_equal(a.errors, 77);

	cb.sibling_hits = 100;
	control_cache_add(&ca, &cb);
	assert_int_equal(ca.entries, 2);
	assert_int_equal(ca.bytes, 4);
	assert_int_equal(ca.max_bytes, 6);
	assert_int_equal(ca.hits, 8);
	assert_int_equal(ca.misses, 10);
	assert_int_equal(ca.stale_hits, 12);
	assert_int_equal(ca.inserts, 14);
	assert_int_equal(ca.evictions, 16);
	assert_int_equal(ca.expired, 18);
	assert_int_equal(ca.prefetches, 20);
	assert_int_equal(ca.sibling_hits, 111);
}

/* ---- the endpoint ---- */

static void
test_get_metrics(void **state)
{
	struct fixture *f = *state;
	struct result r = request(f, EVHTTP_REQ_GET, "/metrics", NULL);

	assert_int_equal(r.code, 200);
	assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
	check_exposition(r.body);
	assert_line(r.body, "pldns_queries_total{transport=\"udp\"} 7");
	assert_line(r.body, "pldns_upstream_up{server=\"192.0.2.1:53\"} 1");
	assert_line(r.body, "pldns_zone_records{zone=\"" BLOB "\"} 2");
	assert_line(r.body, "pldns_cache_entries 5");
	assert_line(r.body, "pldns_cache_max_bytes 67108864");
	assert_line(r.body, "pldns_ready 1");
	assert_non_null(strstr(r.body, "\npldns_start_time_seconds "));
	result_free(&r);
}

static void
test_health_ready(void **state)
{
	struct fixture *f = *state;
	struct result r;

	r = request(f, EVHTTP_REQ_GET, "/healthz", NULL);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "ok\n");
	result_free(&r);

	r = request(f, EVHTTP_REQ_GET, "/readyz", NULL);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "ready\n");
	result_free(&r);

	f->fake.ready = false;
	r = request(f, EVHTTP_REQ_GET, "/readyz", NULL);
	assert_int_equal(r.code, 503);
	assert_string_equal(r.body, "not ready: data not loaded\n");
	result_free(&r);
	r = request(f, EVHTTP_REQ_GET, "/healthz", NULL);
	assert_int_equal(r.code, 200);
	result_free(&r);

	r = request(f, EVHTTP_REQ_HEAD, "/healthz", NULL);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "");
	result_free(&r);
}

static void
test_status_json(void **state)
{
	struct fixture *f = *state;
	struct result r;
	json_error_t jerr;
	json_t *st, *z, *src, *up, *rl;

	f->fake.failures = 1;
	f->fake.last_attempt = now_wall();
	f->fake.last_success = 0;
	f->fake.last_error = "/data/pe.json:3: \"10.1.0.x\" is not an IP address\n"
	    "/data/other.csv:1: unrelated";
	r = request(f, EVHTTP_REQ_GET, "/status", NULL);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.ctype, "application/json");
	st = json_loads(r.body, 0, &jerr);
	if (st == NULL)
		fail_msg("not JSON (%s): %s", jerr.text, r.body);
	assert_string_equal(json_string_value(json_object_get(st, "version")),
	    PACKAGE_VERSION);
	assert_true(json_integer_value(json_object_get(st, "uptime_seconds")) >= 3725);
	assert_true(json_is_true(json_object_get(st, "ready")));
	assert_string_equal(json_string_value(json_object_get(st, "config")),
	    "/etc/pldns.ini");
	assert_int_equal(json_integer_value(json_object_get(st, "records")), 3);

	z = json_object_get(st, "zones");
	assert_int_equal(json_array_size(z), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *zi = json_array_get(z, i);
		const struct szone *sz = snapshot_zone_at(f->fake.snap, i);
		assert_string_equal(json_string_value(json_object_get(zi, "name")),
		    szone_name(sz));
		assert_int_equal(json_integer_value(json_object_get(zi, "records")),
		    szone_nrecords(sz));
		assert_int_equal(json_integer_value(json_object_get(zi, "serial")),
		    szone_serial(sz));
		assert_string_equal(json_string_value(json_object_get(zi, "missing")),
		    "nxdomain");
	}

	src = json_object_get(st, "sources");
	assert_int_equal(json_array_size(src), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(src, 0),
	    "source")), "csv:/data/dns-settings.csv");
	assert_string_equal(json_string_value(json_object_get(json_array_get(src, 0),
	    "result")), "loaded");
	assert_string_equal(json_string_value(json_object_get(json_array_get(src, 1),
	    "result")), "error");
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    json_array_get(src, 1), "errors"), 0)),
	    "/data/pe.json:3: \"10.1.0.x\" is not an IP address");

	up = json_array_get(json_object_get(st, "upstreams"), 0);
	assert_string_equal(json_string_value(json_object_get(up, "server")),
	    "192.0.2.1:53");
	assert_true(json_is_true(json_object_get(up, "up")));
	assert_int_equal(json_integer_value(json_object_get(up, "rtt_ms")), 12);
	assert_int_equal(json_integer_value(json_object_get(up, "timeouts")), 1);

	rl = json_object_get(st, "reload");
	assert_string_equal(json_string_value(json_object_get(rl, "state")), "failed");
	assert_int_equal(json_integer_value(json_object_get(rl, "failures")), 1);
	assert_string_equal(json_string_value(json_object_get(rl, "last_error")),
	    f->fake.last_error);

	assert_int_equal(json_integer_value(json_object_get(json_object_get(st,
	    "queries"), "total")), 7);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    json_object_get(st, "queries"), "by_path"), "local")), 7);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(st,
	    "cache"), "entries")), 5);
	json_decref(st);
	result_free(&r);
}

/*
 * Every counter of metrics_counters.h, each with a value of its own, is in
 * /metrics (its family's HELP and TYPE on its first line, its sample with
 * its label) and in /status (under its object and key), and no two lines
 * share a sample or a key.
 */
static void
test_counters_listed_once(void **state)
{
	struct fixture *f = *state;
	struct result pm, js;
	json_t *st;
	char line[512];

	f->fake.distinct = true;
	pm = request(f, EVHTTP_REQ_GET, "/metrics", NULL);
	js = request(f, EVHTTP_REQ_GET, "/status", NULL);
	assert_int_equal(pm.code, 200);
	assert_int_equal(js.code, 200);
	check_exposition(pm.body);
	st = json_loads(js.body, 0, NULL);
	assert_non_null(st);
	assert_true(metrics_ncounters > 0);
	for (size_t i = 0; i < metrics_ncounters; i++) {
		const struct metrics_counter *k = &metrics_counters[i];
		json_t *v = json_object_get(json_object_get(st, k->object), k->key);

		if (k->help != NULL) {
			snprintf(line, sizeof(line), "# HELP %s %s", k->family, k->help);
			assert_line(pm.body, line);
			snprintf(line, sizeof(line), "# TYPE %s counter", k->family);
			assert_line(pm.body, line);
		} else {
			/* A family's lines follow its first. */
			assert_true(i > 0);
			assert_string_equal(metrics_counters[i - 1].family, k->family);
		}
		assert_true((k->label == NULL) == (k->value == NULL));
		if (k->label != NULL)
			snprintf(line, sizeof(line), "%s{%s=\"%s\"} %zu", k->family,
			    k->label, k->value, 1000 + i);
		else
			snprintf(line, sizeof(line), "%s %zu", k->family, 1000 + i);
		assert_line(pm.body, line);
		if (!json_is_integer(v))
			fail_msg("/status has no %s.%s", k->object, k->key);
		assert_int_equal(json_integer_value(v), 1000 + i);
		for (size_t j = 0; j < i; j++) {
			const struct metrics_counter *o = &metrics_counters[j];

			assert_false(strcmp(o->object, k->object) == 0 &&
			    strcmp(o->key, k->key) == 0);
			assert_false(strcmp(o->family, k->family) == 0 &&
			    (k->value == NULL || o->value == NULL ||
			    strcmp(o->value, k->value) == 0));
		}
	}
	json_decref(st);
	result_free(&pm);
	result_free(&js);
}

/* The reload state word of /status. */
static char *
reload_state_word(struct fixture *f)
{
	struct result r = request(f, EVHTTP_REQ_GET, "/status", NULL);
	json_t *st = json_loads(r.body, 0, NULL);
	char *w;

	assert_non_null(st);
	w = xstrdup(json_string_value(json_object_get(json_object_get(st, "reload"),
	    "state")));
	json_decref(st);
	result_free(&r);
	return w;
}

static void
assert_reload_state(struct fixture *f, const char *expect)
{
	char *w = reload_state_word(f);

	assert_string_equal(w, expect);
	free(w);
}

/* Reloads by SIGHUP or file changes, several in one second: the counter
 * that moved decides, since last_error outlives a later success. */
static void
test_reload_state_tracking(void **state)
{
	struct fixture *f = *state;
	uint64_t t = now_wall();
	struct result r;

	assert_reload_state(f, "never");
	f->fake.sighup_reloads = 1;
	f->fake.last_success = f->fake.last_attempt = t;
	assert_reload_state(f, "ok");
	f->fake.failures = 1;
	f->fake.last_error = "/data/pe.json:1: bad";
	assert_reload_state(f, "failed");
	f->fake.sighup_reloads = 2;
	assert_reload_state(f, "ok");
	/* A reload through the endpoint knows its own outcome. */
	f->fake.reload_fails = true;
	r = request(f, EVHTTP_REQ_POST, "/reload", "Authorization: Bearer " TOKEN, NULL);
	assert_int_equal(r.code, 500);
	result_free(&r);
	assert_reload_state(f, "failed");
	f->fake.reload_fails = false;
	r = request(f, EVHTTP_REQ_POST, "/reload", "Authorization: Bearer " TOKEN, NULL);
	assert_int_equal(r.code, 200);
	result_free(&r);
	assert_reload_state(f, "ok");
}

/* The /status field STATUS ("ok" or "degraded") and its REASONS (caller
 * frees the JSON). */
static json_t *
get_status(struct fixture *f)
{
	struct result r = request(f, EVHTTP_REQ_GET, "/status", NULL);
	json_t *st;

	assert_int_equal(r.code, 200);
	st = json_loads(r.body, 0, NULL);
	assert_non_null(st);
	result_free(&r);
	return st;
}

static const char *
jreason(json_t *st, size_t i)
{
	return json_string_value(json_array_get(json_object_get(st, "reasons"), i));
}

/* A held reload: 409, "held" in /status with what it would change,
 * degraded, the metric; ?force=1 applies it. */
static void
test_guard_held(void **state)
{
	struct fixture *f = *state;
	struct result r;
	json_t *st, *held;
	size_t n;

	st = get_status(f);
	assert_string_equal(json_string_value(json_object_get(st, "status")), "ok");
	assert_int_equal(json_array_size(json_object_get(st, "reasons")), 0);
	assert_true(json_is_null(json_object_get(json_object_get(st, "reload"), "held")));
	json_decref(st);

	f->fake.hold = true;
	f->fake.last_attempt = now_wall();
	f->fake.change.time = 1700000000;
	f->fake.change.removed = 3;
	f->fake.change.before = 3;
	f->fake.change.reasons = strv_split("would remove every record of zone "
	    VAULT, "|", &n);
	f->fake.change.diff = strv_split("- kv." VAULT " A 10.1.0.7|- acct." BLOB
	    " A 10.1.0.5", "|", &n);
	f->fake.change.more = 1;
	r = request(f, EVHTTP_REQ_POST, "/reload", "Authorization: Bearer " TOKEN, NULL);
	assert_int_equal(r.code, 409);
	assert_string_equal(r.body, "reload held: still serving the previous data\n");
	result_free(&r);

	st = get_status(f);
	assert_string_equal(json_string_value(json_object_get(json_object_get(st,
	    "reload"), "state")), "held");
	held = json_object_get(json_object_get(st, "reload"), "held");
	assert_int_equal(json_integer_value(json_object_get(held, "removed")), 3);
	assert_int_equal(json_integer_value(json_object_get(held, "more")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(held,
	    "diff"), 1)), "- acct." BLOB " A 10.1.0.5");
	assert_string_equal(json_string_value(json_array_get(json_object_get(held,
	    "reasons"), 0)), "would remove every record of zone " VAULT);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(st,
	    "reload"), "holds")), 1);
	assert_string_equal(json_string_value(json_object_get(st, "status")), "degraded");
	assert_string_equal(jreason(st, 0), "a reload is held (still serving the "
	    "previous data): would remove every record of zone " VAULT);
	json_decref(st);

	r = request(f, EVHTTP_REQ_GET, "/metrics", NULL);
	check_exposition(r.body);
	assert_line(r.body, "# TYPE pldns_reload_held gauge");
	assert_line(r.body, "pldns_reload_held 1");
	assert_line(r.body, "# TYPE pldns_reloads_held_total counter");
	assert_line(r.body, "pldns_reloads_held_total 1");
	result_free(&r);
	/* /readyz does not change. */
	r = request(f, EVHTTP_REQ_GET, "/readyz", NULL);
	assert_int_equal(r.code, 200);
	result_free(&r);

	/* ?force=1 needs the token as well. */
	r = request(f, EVHTTP_REQ_POST, "/reload?force=1", NULL);
	assert_int_equal(r.code, 401);
	result_free(&r);
	assert_int_equal(f->fake.forced, 0);
	/* force=0 is a plain reload. */
	r = request(f, EVHTTP_REQ_POST, "/reload?force=0", "Authorization: Bearer "
	    TOKEN, NULL);
	assert_int_equal(r.code, 409);
	result_free(&r);
	assert_int_equal(f->fake.forced, 0);
	r = request(f, EVHTTP_REQ_POST, "/reload?force=1", "Authorization: Bearer "
	    TOKEN, NULL);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "reloaded 1 zone, 0 records\n");
	result_free(&r);
	assert_int_equal(f->fake.forced, 1);
	st = get_status(f);
	assert_string_equal(json_string_value(json_object_get(json_object_get(st,
	    "reload"), "state")), "ok");
	assert_string_equal(json_string_value(json_object_get(st, "status")), "ok");
	json_decref(st);
	r = request(f, EVHTTP_REQ_GET, "/metrics", NULL);
	assert_line(r.body, "pldns_reload_held 0");
	result_free(&r);
}

/* Degraded: the last reload failed, a source could not be read, every
 * upstream is down; each with its reason. */
static void
test_guard_degraded(void **state)
{
	struct fixture *f = *state;
	json_t *st;
	size_t n;

	f->fake.ups_down = true;
	st = get_status(f);
	assert_string_equal(json_string_value(json_object_get(st, "status")), "degraded");
	assert_int_equal(json_array_size(json_object_get(st, "reasons")), 1);
	assert_string_equal(jreason(st, 0), "every upstream server is down");
	json_decref(st);

	f->fake.ups_down = false;
	f->fake.last_attempt = now_wall();
	f->fake.failures = 1;
	f->fake.last_error = "/data/pe.json: cannot read: No such file or directory\n"
	    "second line";
	f->fake.stale = strv_split("record source /data/pe.json cannot be read",
	    "|", &n);
	st = get_status(f);
	assert_string_equal(json_string_value(json_object_get(st, "status")), "degraded");
	assert_int_equal(json_array_size(json_object_get(st, "reasons")), 2);
	assert_string_equal(jreason(st, 0), "the last reload failed (still serving "
	    "the previous data): /data/pe.json: cannot read: No such file or directory");
	assert_string_equal(jreason(st, 1), "record source /data/pe.json cannot be read");
	json_decref(st);
}

/* The whole of the file at PATH, NUL-terminated; its length in *LEN. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, k;

	if (fp == NULL)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	do {
		if (n + 1 >= cap)
			buf = xrealloc(buf, cap = cap * 2 + 4096);
		k = fread(buf + n, 1, cap - n - 1, fp);
		n += k;
	} while (k > 0);
	assert_int_equal(ferror(fp), 0);
	fclose(fp);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void
test_page(void **state)
{
	struct fixture *f = *state;
	struct result r = request(f, EVHTTP_REQ_GET, "/", NULL);
	size_t n;
	char *page;

	assert_int_equal(r.code, 200);
	/* Served byte for byte as src/runtime/control_page.html holds it. */
	page = slurp(TEST_DATA_DIR "/../../src/runtime/control_page.html", &n);
	assert_int_equal(strlen(r.body), n);
	assert_memory_equal(r.body, page, n);
	free(page);
	assert_string_equal(r.ctype, "text/html; charset=utf-8");
	assert_non_null(strstr(r.body, "<!DOCTYPE html>"));
	assert_non_null(strstr(r.body, "<canvas id=\"chart\""));
	assert_non_null(strstr(r.body, "fetch('status'"));
	assert_non_null(strstr(r.body, "setInterval(poll, 1000)"));
	/* The header tells a degraded state, with its reasons. */
	assert_non_null(strstr(r.body, "id=\"health\""));
	assert_non_null(strstr(r.body, "'degraded'"));
	assert_non_null(strstr(r.body, "id=\"reasons\""));
	assert_non_null(strstr(r.body, "</html>"));
	/* Self-contained: nothing to load from anywhere. */
	assert_null(strstr(r.body, "http://"));
	assert_null(strstr(r.body, "https://"));
	assert_null(strstr(r.body, "src="));
	assert_null(strstr(r.body, "<link"));
	assert_non_null(strstr(r.csp, "default-src 'none'"));
	result_free(&r);
}

static void
test_not_found_and_methods(void **state)
{
	struct fixture *f = *state;
	struct result r;

	r = request(f, EVHTTP_REQ_GET, "/nope", NULL);
	assert_int_equal(r.code, 404);
	result_free(&r);
	r = request(f, EVHTTP_REQ_GET, "/metrics/", NULL);
	assert_int_equal(r.code, 404);
	result_free(&r);

	r = request(f, EVHTTP_REQ_GET, "/reload", NULL);
	assert_int_equal(r.code, 405);
	assert_string_equal(r.allow, "POST");
	result_free(&r);
	assert_int_equal(f->fake.reloads, 0);

	r = request(f, EVHTTP_REQ_POST, "/metrics", "Authorization: Bearer " TOKEN, NULL);
	assert_int_equal(r.code, 405);
	assert_string_equal(r.allow, "GET, HEAD");
	result_free(&r);

	r = request(f, EVHTTP_REQ_DELETE, "/status", NULL);
	assert_int_equal(r.code, 405);
	result_free(&r);
}

static void
test_reload_token(void **state)
{
	struct fixture *f = *state;
	struct result r;

	r = request(f, EVHTTP_REQ_POST, "/reload", NULL);
	assert_int_equal(r.code, 401);
	assert_string_equal(r.www, "Bearer realm=\"pldns\"");
	result_free(&r);

	r = request(f, EVHTTP_REQ_POST, "/reload", "Authorization: Bearer wrong", NULL);
	assert_int_equal(r.code, 401);
	assert_string_equal(r.body, "unauthorized: wrong bearer token\n");
	result_free(&r);

	r = request(f, EVHTTP_REQ_POST, "/reload", "Authorization: Bearer " TOKEN "x",
	    NULL);
	assert_int_equal(r.code, 401);
	result_free(&r);

	r = request(f, EVHTTP_REQ_POST, "/reload", "Authorization: Basic " TOKEN, NULL);
	assert_int_equal(r.code, 401);
	result_free(&r);
	assert_int_equal(f->fake.reloads, 0);

	r = request(f, EVHTTP_REQ_POST, "/reload", "Authorization: Bearer " TOKEN, NULL);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "reloaded 2 zones, 3 records\n");
	result_free(&r);
	assert_int_equal(f->fake.reloads, 1);

	f->fake.reload_fails = true;
	r = request(f, EVHTTP_REQ_POST, "/reload", "Authorization: bearer " TOKEN, NULL);
	assert_int_equal(r.code, 500);
	assert_string_equal(r.body, "/data/pe.json:3: \"10.1.0.x\" is not an IP "
	    "address\nreload rejected: 1 error\n");
	result_free(&r);
	assert_int_equal(f->fake.reloads, 2);
}

static void
test_cross_origin(void **state)
{
	struct fixture *f = *state;
	struct result r;
	char origin[64];

	r = request(f, EVHTTP_REQ_POST, "/reload", "Authorization: Bearer " TOKEN,
	    "Origin: http://evil.example", NULL);
	assert_int_equal(r.code, 403);
	result_free(&r);
	assert_int_equal(f->fake.reloads, 0);

	/* The status page's own buttons. */
	snprintf(origin, sizeof(origin), "Origin: http://127.0.0.1:%d", f->port);
	r = request(f, EVHTTP_REQ_POST, "/reload", "Authorization: Bearer " TOKEN,
	    origin, NULL);
	assert_int_equal(r.code, 200);
	result_free(&r);
	assert_int_equal(f->fake.reloads, 1);
}

static void
test_flush(void **state)
{
	struct fixture *f = *state;
	struct result r;

	r = request(f, EVHTTP_REQ_POST, "/cache/flush?name=x", NULL);
	assert_int_equal(r.code, 401);
	result_free(&r);
	assert_int_equal(f->fake.flushes, 0);

	r = request(f, EVHTTP_REQ_POST, "/cache/flush?name=x",
	    "Authorization: Bearer " TOKEN, NULL);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "flushed x and the names below it\n");
	result_free(&r);
	assert_int_equal(f->fake.flushes, 1);
	assert_string_equal(f->fake.flushed, "x");

	r = request(f, EVHTTP_REQ_POST, "/cache/flush?name=Acct.Blob.Core.Windows.NET.",
	    "Authorization: Bearer " TOKEN, NULL);
	assert_int_equal(r.code, 200);
	result_free(&r);
	assert_string_equal(f->fake.flushed, "acct.blob.core.windows.net");

	r = request(f, EVHTTP_REQ_POST, "/cache/flush", "Authorization: Bearer " TOKEN,
	    NULL);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "flushed the whole cache\n");
	result_free(&r);
	assert_string_equal(f->fake.flushed, "(all)");
	assert_int_equal(f->fake.flushes, 3);

	r = request(f, EVHTTP_REQ_POST, "/cache/flush?name=a..b",
	    "Authorization: Bearer " TOKEN, NULL);
	assert_int_equal(r.code, 400);
	result_free(&r);
	r = request(f, EVHTTP_REQ_POST, "/cache/flush?name=",
	    "Authorization: Bearer " TOKEN, NULL);
	assert_int_equal(r.code, 400);
	assert_string_equal(r.body, "bad name \"\": empty\n");
	result_free(&r);
	assert_int_equal(f->fake.flushes, 3);
}

/* Without token_file, POSTs from loopback need no token. */
static void
test_loopback_without_token(void **state)
{
	struct fixture *f = *state;
	struct result r;

	r = request(f, EVHTTP_REQ_POST, "/reload", NULL);
	assert_int_equal(r.code, 200);
	result_free(&r);
	r = request(f, EVHTTP_REQ_POST, "/cache/flush?name=y", NULL);
	assert_int_equal(r.code, 200);
	result_free(&r);
	assert_int_equal(f->fake.reloads, 1);
	assert_string_equal(f->fake.flushed, "y");
	r = request(f, EVHTTP_REQ_POST, "/reload", "Origin: http://evil.example", NULL);
	assert_int_equal(r.code, 403);
	result_free(&r);
	assert_int_equal(f->fake.reloads, 1);
}

static void
test_new_errors(void **state)
{
	struct event_base *base = event_base_new();
	struct control_ops ops = { 0 };
	struct config *cfg;
	struct control *c, *c2;
	struct diag d;
	char path[64], expect[160];
	int port = free_port();

	(void)state;
	diag_init(&d);
	/* Disabled: no endpoint and no message. */
	cfg = config_new();
	free(cfg->control_listen);
	cfg->control_listen = xstrdup("");
	memset(&cfg->control_addr, 0, sizeof(cfg->control_addr));
	assert_null(control_new(base, cfg, &ops, &d));
	assert_int_equal(d.n, 0);
	config_free(cfg);

	/* The port is taken. */
	cfg = control_config(port, NULL);
	c = control_new(base, cfg, &ops, &d);
	assert_non_null(c);
	assert_null(control_new(base, cfg, &ops, &d));
	assert_int_equal(d.nerrors, 1);
	snprintf(expect, sizeof(expect), "control listen 127.0.0.1:%d: Address "
	    "already in use", port);
	assert_string_equal(d.msgs[0].text, expect);
	control_free(c);
	/* And free again once the first endpoint is gone. */
	c2 = control_new(base, cfg, &ops, &d);
	assert_non_null(c2);
	control_free(c2);
	config_free(cfg);
	diag_clear(&d);

	/* Token file missing, empty. */
	diag_init(&d);
	snprintf(path, sizeof(path), "/tmp/test_control_missing.%d", (int)getpid());
	cfg = control_config(port, path);
	assert_null(control_new(base, cfg, &ops, &d));
	snprintf(expect, sizeof(expect), "%s: cannot read the control token: "
	    "No such file or directory", path);
	assert_string_equal(d.msgs[0].text, expect);
	write_file(path, " \n");
	assert_null(control_new(base, cfg, &ops, &d));
	snprintf(expect, sizeof(expect), "%s: the control token file is empty", path);
	assert_string_equal(d.msgs[1].text, expect);
	write_file(path, "two words\n");
	assert_null(control_new(base, cfg, &ops, &d));
	snprintf(expect, sizeof(expect), "%s: the control token must be one word "
	    "of printable ASCII characters", path);
	assert_string_equal(d.msgs[2].text, expect);
	unlink(path);
	config_free(cfg);
	diag_clear(&d);
	event_base_free(base);
}

/* ---- pldns ctl against the endpoint ---- */

struct ctl_run {
	char **argv;
	int argc;
	int ret;
	atomic_bool done;
};

static void *
ctl_thread(void *arg)
{
	struct ctl_run *cr = arg;

	cr->ret = verb_exec(&verb_ctl, cr->argc, cr->argv);
	atomic_store(&cr->done, true);
	return NULL;
}

/* Wakes the loop so that it notices the client thread is done. */
static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
}

/* Runs "pldns ctl ARGS..." while the fixture's loop answers; returns the
 * exit status with stdout in OUT and stderr in ERR (caller frees). */
static int
run_ctl(struct fixture *f, char **out, char **err, ...)
{
	struct ctl_run cr = { 0 };
	char *argv[16], server[32];
	char opath[64], epath[64];
	struct event *tick;
	struct timeval tv = { 0, 10000 };
	pthread_t th;
	int saved_out, saved_err, ofd, efd;
	const char *a;
	va_list ap;

	snprintf(server, sizeof(server), "127.0.0.1:%d", f->port);
	argv[cr.argc++] = (char *)"ctl";
	argv[cr.argc++] = (char *)"--server";
	argv[cr.argc++] = server;
	va_start(ap, err);
	while ((a = va_arg(ap, const char *)) != NULL)
		argv[cr.argc++] = (char *)a;
	va_end(ap);
	argv[cr.argc] = NULL;
	cr.argv = argv;

	snprintf(opath, sizeof(opath), "/tmp/test_control_out.%d", (int)getpid());
	snprintf(epath, sizeof(epath), "/tmp/test_control_err.%d", (int)getpid());
	ofd = open(opath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	efd = open(epath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(ofd >= 0 && efd >= 0);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(ofd, 1);
	dup2(efd, 2);

	optind = 1;
	tick = event_new(f->base, -1, EV_PERSIST, tick_cb, &cr);
	event_add(tick, &tv);
	assert_int_equal(pthread_create(&th, NULL, ctl_thread, &cr), 0);
	while (!atomic_load(&cr.done))
		event_base_loop(f->base, EVLOOP_ONCE);
	pthread_join(th, NULL);
	event_free(tick);

	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	for (int i = 0; i < 2; i++) {
		int fd = i == 0 ? ofd : efd;
		off_t len = lseek(fd, 0, SEEK_END);
		char *buf = xmalloc((size_t)len + 1);
		assert_int_equal(pread(fd, buf, (size_t)len, 0), len);
		buf[len] = '\0';
		*(i == 0 ? out : err) = buf;
		close(fd);
	}
	unlink(opath);
	unlink(epath);
	return cr.ret;
}

static void
test_ctl(void **state)
{
	struct fixture *f = *state;
	char *out, *err;
	int port;

	/* status: human-readable, 0 when ready. */
	assert_int_equal(run_ctl(f, &out, &err, "status", NULL), 0);
	assert_non_null(strstr(out, "pldns " PACKAGE_VERSION " at 127.0.0.1:"));
	assert_non_null(strstr(out, ": ready, up 1h 2m "));
	assert_non_null(strstr(out, "zones: 2, records: 3"));
	assert_non_null(strstr(out, BLOB));
	assert_non_null(strstr(out, "192.0.2.1:53"));
	assert_string_equal(err, "");
	free(out);
	free(err);

	f->fake.ready = false;
	assert_int_equal(run_ctl(f, &out, &err, "status", NULL), 1);
	assert_non_null(strstr(out, "NOT READY"));
	free(out);
	free(err);

	/* stats */
	assert_int_equal(run_ctl(f, &out, &err, "stats", NULL), 0);
	assert_non_null(strstr(out, "queries: 7\n"));
	assert_non_null(strstr(out, "by path   local 7\n"));
	assert_non_null(strstr(out, "cache: 5 entries"));
	free(out);
	free(err);

	/* reload: 401 without the token, then 0, then 1 when rejected. */
	assert_int_equal(run_ctl(f, &out, &err, "reload", NULL), 1);
	assert_non_null(strstr(err, "not authorized (HTTP 401)"));
	free(out);
	free(err);
	assert_int_equal(f->fake.reloads, 0);

	assert_int_equal(run_ctl(f, &out, &err, "--token-file", f->tokpath, "reload",
	    NULL), 0);
	assert_string_equal(out, "reloaded 2 zones, 3 records\n");
	free(out);
	free(err);
	assert_int_equal(f->fake.reloads, 1);

	f->fake.reload_fails = true;
	assert_int_equal(run_ctl(f, &out, &err, "-t", f->tokpath, "reload", NULL), 1);
	assert_non_null(strstr(err, "reload failed (HTTP 500):\n  /data/pe.json:3: "));
	free(out);
	free(err);
	f->fake.reload_fails = false;

	/* Held by the guard: exit 1, and --force applies it. */
	f->fake.hold = true;
	assert_int_equal(run_ctl(f, &out, &err, "-t", f->tokpath, "reload", NULL), 1);
	assert_string_equal(err, "pldns: ctl: reload held (HTTP 409):\n"
	    "  reload held: still serving the previous data\n");
	free(out);
	free(err);
	assert_int_equal(run_ctl(f, &out, &err, "-t", f->tokpath, "reload",
	    "--force", NULL), 0);
	assert_string_equal(out, "reloaded 1 zone, 0 records\n");
	assert_int_equal(f->fake.forced, 1);
	free(out);
	free(err);
	assert_int_equal(run_ctl(f, &out, &err, "--force", "flush", NULL), 64);
	assert_non_null(strstr(err, "--force is for reload only"));
	free(out);
	free(err);
	f->fake.hold = false;

	/* flush */
	assert_int_equal(run_ctl(f, &out, &err, "-t", f->tokpath, "flush",
	    "a..b", NULL), 1);
	assert_non_null(strstr(err, "flush failed (HTTP 400):\n  bad name \"a..b\""));
	free(out);
	free(err);
	assert_int_equal(run_ctl(f, &out, &err, "-t", f->tokpath, "flush",
	    "kv.vault.azure.net", NULL), 0);
	assert_string_equal(out, "flushed kv.vault.azure.net and the names below it\n");
	assert_string_equal(f->fake.flushed, "kv.vault.azure.net");
	free(out);
	free(err);
	assert_int_equal(run_ctl(f, &out, &err, "-t", f->tokpath, "flush", NULL), 0);
	assert_string_equal(f->fake.flushed, "(all)");
	free(out);
	free(err);

	/* usage */
	assert_int_equal(run_ctl(f, &out, &err, "frobnicate", NULL), 64);
	free(out);
	free(err);
	assert_int_equal(run_ctl(f, &out, &err, "status", "extra", NULL), 64);
	free(out);
	free(err);

	/* Nothing listening. */
	port = f->port;
	f->port = free_port();
	assert_int_equal(run_ctl(f, &out, &err, "status", NULL), 69);
	assert_non_null(strstr(err, "cannot connect to the control endpoint"));
	assert_non_null(strstr(err, "Connection refused"));
	free(out);
	free(err);
	f->port = port;
}

/* ---- sdnotify ---- */

static int
notify_socket(const char *name, bool abstract)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (abstract) {
		memcpy(sun.sun_path + 1, name, strlen(name));
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	} else {
		unlink(name);
		pl_strlcpy(sun.sun_path, name, sizeof(sun.sun_path));
		len = sizeof(sun);
	}
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, len), 0);
	return fd;
}

static void
expect_datagram(int fd, const char *expect_prefix)
{
	char buf[1024];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	assert_true(n > 0);
	buf[n] = '\0';
	if (strncmp(buf, expect_prefix, strlen(expect_prefix)) != 0)
		fail_msg("datagram \"%s\", expected \"%s...\"", buf, expect_prefix);
}

static void
test_sdnotify_path(void **state)
{
	char path[64];
	char buf[64];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/test_sdnotify.%d", (int)getpid());
	fd = notify_socket(path, false);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(sdnotify_ready(), 0);
	expect_datagram(fd, "READY=1");
	assert_int_equal(sdnotify_reloading(), 0);
	expect_datagram(fd, "RELOADING=1\nMONOTONIC_USEC=");
	assert_int_equal(sdnotify_ready(), 0);
	expect_datagram(fd, "READY=1");
	assert_int_equal(sdnotify_status("serving %d zones\nand more", 3), 0);
	expect_datagram(fd, "STATUS=serving 3 zones and more");
	assert_int_equal(sdnotify_stopping(), 0);
	expect_datagram(fd, "STOPPING=1");
	/* Exactly one datagram each. */
	assert_int_equal(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), -1);
	close(fd);
	unlink(path);

	/* Nobody listening any more: an error, not a crash. */
	assert_int_equal(sdnotify_ready(), -1);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_sdnotify_abstract(void **state)
{
	char name[64], env[80];
	int fd;

	(void)state;
	snprintf(name, sizeof(name), "pldns-test-notify-%d", (int)getpid());
	fd = notify_socket(name, true);
	snprintf(env, sizeof(env), "@%s", name);
	setenv("NOTIFY_SOCKET", env, 1);
	assert_int_equal(sdnotify_ready(), 0);
	expect_datagram(fd, "READY=1");
	assert_int_equal(sdnotify_stopping(), 0);
	expect_datagram(fd, "STOPPING=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_sdnotify_unset(void **state)
{
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(sdnotify_ready(), 0);
	assert_int_equal(sdnotify_stopping(), 0);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(sdnotify_ready(), -1);
	assert_int_equal(errno, EINVAL);
	setenv("NOTIFY_SOCKET", "@", 1);
	assert_int_equal(sdnotify_ready(), -1);
	unsetenv("NOTIFY_SOCKET");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_metrics),
		cmocka_unit_test(test_render_missing),
		cmocka_unit_test(test_render_metrics_empty),
		cmocka_unit_test(test_sums),
		cmocka_unit_test_setup_teardown(test_get_metrics, setup_token, teardown),
		cmocka_unit_test_setup_teardown(test_health_ready, setup_token, teardown),
		cmocka_unit_test_setup_teardown(test_status_json, setup_token, teardown),
		cmocka_unit_test_setup_teardown(test_counters_listed_once, setup_token,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reload_state_tracking, setup_token,
		    teardown),
		cmocka_unit_test_setup_teardown(test_page, setup_token, teardown),
		cmocka_unit_test_setup_teardown(test_guard_held, setup_token, teardown),
		cmocka_unit_test_setup_teardown(test_guard_degraded, setup_token,
		    teardown),
		cmocka_unit_test_setup_teardown(test_not_found_and_methods, setup_token,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reload_token, setup_token, teardown),
		cmocka_unit_test_setup_teardown(test_cross_origin, setup_token, teardown),
		cmocka_unit_test_setup_teardown(test_flush, setup_token, teardown),
		cmocka_unit_test_setup_teardown(test_loopback_without_token,
		    setup_loopback, teardown),
		cmocka_unit_test(test_new_errors),
		cmocka_unit_test_setup_teardown(test_ctl, setup_token, teardown),
		cmocka_unit_test(test_sdnotify_path),
		cmocka_unit_test(test_sdnotify_abstract),
		cmocka_unit_test(test_sdnotify_unset),
	};

	log_init(1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
