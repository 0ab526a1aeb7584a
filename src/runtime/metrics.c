/* metrics: per-worker counters and their sum. */
#include <stddef.h>
#include <string.h>

#include "runtime/metrics.h"
#include "util/util.h"
#include "wire/wire.h"

const char *const metrics_qtype_names[METRICS_QTYPES] = {
	"A", "AAAA", "CNAME", "SOA", "NS", "PTR", "MX", "TXT", "SRV", "ANY", "HTTPS", "other"
};

const char *const metrics_rcode_names[METRICS_RCODES] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI",
	"RCODE12", "RCODE13", "RCODE14", "RCODE15", "BADVERS", "BADKEY",
	"BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC", "BADCOOKIE"
};

const uint64_t metrics_lat_bounds_us[METRICS_LAT_BUCKETS - 1] = {
	50, 100, 250, 500, 1000, 2500, 5000, 10000, 50000, 250000, 1000000
};

const struct metrics_counter metrics_counters[] = {
#define METRICS_ROW(field, group, family, label, value, help, object, key) \
	{ offsetof(struct metrics, field), group, family, label, value, help, \
	  object, key },
	METRICS_COUNTERS(METRICS_ROW)
#undef METRICS_ROW
};
const size_t metrics_ncounters = nitems(metrics_counters);

uint64_t
metrics_counter_get(const struct metrics *m, const struct metrics_counter *k)
{
	return COUNTER_GET(*(const _Atomic uint64_t *)(const void *)
	    ((const char *)m + k->offset));
}

int
metrics_qtype_index(uint16_t qtype)
{
	switch (qtype) {
	case TYPE_A: return 0;
	case TYPE_AAAA: return 1;
	case TYPE_CNAME: return 2;
	case TYPE_SOA: return 3;
	case TYPE_NS: return 4;
	case TYPE_PTR: return 5;
	case TYPE_MX: return 6;
	case TYPE_TXT: return 7;
	case TYPE_SRV: return 8;
	case TYPE_ANY: return 9;
	case 65: return 10;
	default: return 11;
	}
}

bool
metrics_rcode_always(int rc)
{
	return rc <= RCODE_REFUSED || rc == RCODE_BADVERS;
}

void
metrics_answer(struct metrics *m, enum metrics_transport t, uint16_t qtype,
    int rcode, enum answer_path path, uint64_t latency_us)
{
	int b = 0;

	COUNTER_INC(m->queries[t]);
	COUNTER_INC(m->qtype[metrics_qtype_index(qtype)]);
	if (rcode >= 0 && rcode < METRICS_RCODES)
		COUNTER_INC(m->rcode[rcode]);
	COUNTER_INC(m->path[path]);
	while (b < METRICS_LAT_BUCKETS - 1 && latency_us > metrics_lat_bounds_us[b])
		b++;
	COUNTER_INC(m->latency[b]);
	COUNTER_ADD(m->latency_sum_us, latency_us);
	COUNTER_INC(m->answers);
}

void
metrics_add(struct metrics *dst, const struct metrics *src)
{
	/* Every field is an _Atomic uint64_t, so the struct is an array of
	 * them.  DST is the caller's own. */
	_Atomic uint64_t *d = (_Atomic uint64_t *)dst;
	const _Atomic uint64_t *s = (const _Atomic uint64_t *)src;

	for (size_t i = 0; i < sizeof(*dst) / sizeof(uint64_t); i++)
		COUNTER_ADD(d[i], COUNTER_GET(s[i]));
}
