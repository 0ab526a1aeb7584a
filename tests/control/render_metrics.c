/*
 * render_metrics: prints control_render_metrics() for a fixed, busy state
 * (every family present: upstreams, zones, cache, reloads, rare rcodes) so
 * that check_metrics.sh can hand it to a strict Prometheus parser.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/config.h"
#include "runtime/control.h"
#include "runtime/metrics.h"
#include "data/records.h"
#include "data/snapshot.h"
#include "util/util.h"

static void
add_a(struct recset *rs, size_t z, const char *name, const char *ip)
{
	uint8_t w[WIRE_NAME_MAX], rd[4];
	const char *err;

	if (wire_name_from_str(name, w, &err) < 0 || inet_pton(AF_INET, ip, rd) != 1)
		abort();
	recset_add(rs, z, w, TYPE_A, 10, rd, 4, "render:1");
}

int
main(void)
{
	struct config *cfg = config_new();
	struct metrics m;
	struct upstream_info up[3];
	struct reload_state rs = { .reloads = 4, .failures = 1,
	    .last_success = 1700000000, .last_attempt = 1700000300,
	    .last_error = "a.csv:2: \"x\" is not an IP address", .ready = true };
	struct cache_info ci = { .entries = 120, .bytes = 98304,
	    .max_bytes = 67108864, .hits = 900, .misses = 100, .inserts = 130,
	    .evictions = 10, .expired = 7 };
	struct recset recs;
	struct snapshot *s;
	struct diag d;
	size_t z;
	char *text;

	recset_init(&recs);
	diag_init(&d);
	z = recset_zone(&recs, cfg, "privatelink.blob.core.windows.net", "render");
	add_a(&recs, z, "acct.privatelink.blob.core.windows.net", "10.1.0.5");
	add_a(&recs, z, "logs.privatelink.blob.core.windows.net", "10.1.0.6");
	z = recset_zone(&recs, cfg, "privatelink.vaultcore.azure.net", "render");
	add_a(&recs, z, "kv.privatelink.vaultcore.azure.net", "10.1.0.7");
	if ((s = snapshot_new(cfg, &recs, NULL, &d)) == NULL) {
		diag_print(&d, stderr);
		return 1;
	}
	recset_clear(&recs);
	diag_clear(&d);

	memset(&m, 0, sizeof(m));
	for (int i = 0; i < 5000; i++)
		metrics_answer(&m, i % 10 ? MT_UDP : MT_TCP,
		    i % 3 ? TYPE_A : TYPE_AAAA, i % 50 ? RCODE_NOERROR :
		    i % 100 ? RCODE_NXDOMAIN : 23, (enum answer_path)(i % PATH_COUNT),
		    (uint64_t)(i * 37 % 3000000));
	m.dropped = 3;
	m.dropped_acl = 2;
	m.refused_acl = 1;
	m.cache_hits = 900;
	m.cache_misses = 100;
	m.up_spoofed = 5;
	m.up_failed = 6;

	memset(up, 0, sizeof(up));
	addr_parse("192.0.2.1", 53, &up[0].addr, NULL);
	up[0].up = true;
	up[0].rtt_ms = 12;
	up[0].sent = 1000;
	up[0].answered = 990;
	up[0].timeouts = 10;
	addr_parse("[2001:db8::53]:5353", 53, &up[1].addr, NULL);
	up[1].rtt_ms = 1500;
	up[1].sent = 20;
	up[1].timeouts = 20;
	addr_parse("10.0.0.10", 53, &up[2].addr, NULL);
	up[2].up = true;

	text = control_render_metrics(&m, up, 3, s, &rs, &ci);
	fputs(text, stdout);
	free(text);
	/* What handle_metrics appends: the names clients miss. */
	text = control_render_missing(42, 7);
	fputs(text, stdout);
	free(text);
	snapshot_unref(s);
	return fflush(stdout) == 0 ? 0 : 1;
}
