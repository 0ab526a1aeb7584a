/* fuzz_common: see fuzz_common.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "data/records.h"
#include "data/sources.h"
#include "util/util.h"

#ifndef FUZZ_DATA_DIR
#define FUZZ_DATA_DIR "tests/data"
#endif

static char tmpdir[64];

void
fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fuzz oracle: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

static void
rm_tmpdir(void)
{
	char cmd[128];

	if (tmpdir[0] == '\0')
		return;
	/* Only the directory this process made, whose name it knows. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

const char *
fuzz_path(const char *name)
{
	static char buf[8][256];
	static int next;
	char *p = buf[next++ % 8];

	if (tmpdir[0] == '\0') {
		const char *t = getenv("TMPDIR");

		/* tmpfs when there is one: ext4 flushes a file rewritten with
		 * O_TRUNC on close, which would dominate every run. */
		if (t == NULL || strlen(t) >= 32)
			t = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(tmpdir, sizeof(tmpdir), "%s/pldns-fuzz-XXXXXX", t);
		if (mkdtemp(tmpdir) == NULL)
			fuzz_fail("mkdtemp: %s", strerror(errno));
		atexit(rm_tmpdir);
	}
	snprintf(p, 256, "%s/%s", tmpdir, name);
	return p;
}

void
fuzz_write(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd == -1)
		fuzz_fail("%s: %s", path, strerror(errno));
	while (size > 0) {
		ssize_t n = write(fd, data, size);

		if (n <= 0)
			fuzz_fail("%s: %s", path, strerror(errno));
		data += n;
		size -= (size_t)n;
	}
	close(fd);
}

const struct snapshot *
fuzz_snapshot(int missing)
{
	static const char *const zones[] = {
		"privatelink.blob.core.windows.net",
		"privatelink.vaultcore.azure.net",
	};
	static const struct snapshot *built[2];
	const char *dir = getenv("PLDNS_FUZZ_DATA");
	struct config *cfg;
	struct recset rs;
	struct diag d;
	struct snapshot *s;
	char path[512];

	if (missing < 0 || missing > 1)
		missing = 0;
	if (built[missing] != NULL)
		return built[missing];
	if (dir == NULL)
		dir = FUZZ_DATA_DIR;
	cfg = config_new();
	cfg->missing = missing;
	recset_init(&rs);
	diag_init(&d);
	for (size_t i = 0; i < nitems(zones); i++) {
		snprintf(path, sizeof(path), "%s/answer/%s.zone", dir, zones[i]);
		if (source_zone_file(cfg, zones[i], path, &rs, &d) == -1) {
			diag_print(&d, stderr);
			fuzz_fail("cannot load %s (set PLDNS_FUZZ_DATA to tests/data)", path);
		}
	}
	if ((s = snapshot_new(cfg, &rs, NULL, &d)) == NULL) {
		diag_print(&d, stderr);
		fuzz_fail("snapshot_new failed");
	}
	recset_clear(&rs);
	diag_clear(&d);
	built[missing] = s;
	return s;
}

/* True when NAME (any case) is at or below a local zone of S. */
static bool
in_local_zone(const struct snapshot *s, const uint8_t *name)
{
	uint8_t l[WIRE_NAME_MAX];
	int n = wire_name_len(name, WIRE_NAME_MAX);

	if (n < 0)
		fuzz_fail("bad owner name");
	wire_name_lower(l, name, (size_t)n);
	return snapshot_find_zone(s, l) != NULL;
}

void
fuzz_check_reply(const struct snapshot *s, const struct wire_query *q,
    const uint8_t *out, size_t len, size_t limit, bool echo, int local_clean,
    const char *what)
{
	struct wire_hdr h;
	struct wire_rr rr;
	uint8_t name[WIRE_NAME_MAX];
	size_t pos = WIRE_HDR_LEN;
	int nopt = 0;
	char owner[1024];
	static int no_local_check = -1;

	if (no_local_check < 0)
		no_local_check = getenv("PLDNS_FUZZ_NO_LOCAL_CHECK") != NULL;
	if (no_local_check)
		local_clean = 0;

	if (len > limit)
		fuzz_fail("%s: reply of %zu bytes over the limit %zu", what, len, limit);
	if (wire_hdr_read(out, len, &h) < 0)
		fuzz_fail("%s: reply of %zu bytes has no header", what, len);
	if (h.id != q->hdr.id)
		fuzz_fail("%s: reply ID %#x, query ID %#x", what, h.id, q->hdr.id);
	if (!(h.flags & WIRE_QR))
		fuzz_fail("%s: QR clear", what);
	if (h.qdcount > 1 || (echo && h.qdcount != 1))
		fuzz_fail("%s: qdcount %u", what, h.qdcount);
	if (h.qdcount == 1) {
		int n = wire_name_read(out, len, &pos, name);

		if (n < 0 || pos + 4 > len)
			fuzz_fail("%s: bad question in the reply", what);
		if (q->question_end != 0 && (n != q->qname_len ||
		    memcmp(name, q->qname, (size_t)n) != 0 ||
		    wire_get_u16(out + pos) != q->qtype ||
		    wire_get_u16(out + pos + 2) != q->qclass))
			fuzz_fail("%s: the question is not the query's", what);
		pos += 4;
	}
	unsigned total = (unsigned)h.ancount + h.nscount + h.arcount;
	for (unsigned i = 0; i < total; i++) {
		int section = i < h.ancount ? 1 : i < (unsigned)h.ancount + h.nscount ? 2 : 3;

		if (wire_rr_read(out, len, &pos, &rr) < 0)
			fuzz_fail("%s: RR %u of %u does not parse", what, i, total);
		if (rr.type == TYPE_OPT) {
			if (section != 3 || rr.owner_len != 1)
				fuzz_fail("%s: OPT in section %d", what, section);
			nopt++;
			continue;
		}
		if (local_clean > 0 && (section > 1 || local_clean == 2) &&
		    in_local_zone(s, rr.owner)) {
			wire_name_to_str(rr.owner, owner, sizeof(owner));
			fuzz_fail("%s: upstream record for local name %s (type %u) "
			    "in section %d", what, owner, rr.type, section);
		}
	}
	if (pos != len)
		fuzz_fail("%s: %zu bytes after the last RR", what, len - pos);
	if (nopt > 1)
		fuzz_fail("%s: %d OPT records", what, nopt);
	if (q->edns.present && nopt == 0)
		fuzz_fail("%s: the query had EDNS, the reply has no OPT", what);
}

void
fuzz_check_diag(const struct diag *d, const char *path)
{
	size_t plen = strlen(path), ne = 0, nw = 0;

	for (size_t i = 0; i < d->n; i++) {
		const char *t = d->msgs[i].text;

		if (d->msgs[i].level == DIAG_ERROR)
			ne++;
		else
			nw++;
		if (strncmp(t, path, plen) != 0 || t[plen] != ':')
			fuzz_fail("message without the file's location: \"%s\"", t);
	}
	if (ne != d->nerrors || nw != d->nwarnings)
		fuzz_fail("diag counts %zu/%zu, messages %zu/%zu", d->nerrors,
		    d->nwarnings, ne, nw);
}

static void
check_recset(const struct recset *rs)
{
	for (size_t i = 0; i < rs->nrecs; i++) {
		const struct rec *r = &rs->recs[i];
		int n = wire_name_len(r->owner, WIRE_NAME_MAX);
		char buf[1024];

		if (n < 0)
			fuzz_fail("record %zu: bad owner", i);
		wire_name_to_str(r->owner, buf, sizeof(buf));
		for (const uint8_t *p = r->owner; *p != 0; p += *p + 1)
			for (int j = 1; j <= *p; j++)
				if (p[j] >= 'A' && p[j] <= 'Z')
					fuzz_fail("record %s: owner not lower-case", buf);
		if (r->zone >= rs->nzones)
			fuzz_fail("record %s: zone index %zu of %zu", buf, (size_t)r->zone,
			    rs->nzones);
		if (!wire_name_under(r->owner, rs->zones[r->zone].apex))
			fuzz_fail("record %s: outside its zone %s", buf,
			    rs->zones[r->zone].name);
		if ((r->type == TYPE_A && r->rdlen != 4) ||
		    (r->type == TYPE_AAAA && r->rdlen != 16))
			fuzz_fail("record %s: type %u with %u octets", buf, r->type,
			    r->rdlen);
		if (r->rdlen > 0 && r->rdata == NULL)
			fuzz_fail("record %s: no rdata", buf);
		if (r->file == NULL)
			fuzz_fail("record %s: no location", buf);
	}
}

void
fuzz_source(const char *prefix, const char *file, const uint8_t *data, size_t size)
{
	static struct config *cfg;
	const char *path = fuzz_path(file);
	char spec[512];
	struct recset rs;
	struct diag d;
	struct snapshot *s;
	int rc;

	if (cfg == NULL)
		cfg = config_new();
	fuzz_write(path, data, size);
	snprintf(spec, sizeof(spec), "%s:%s", prefix, path);
	recset_init(&rs);
	diag_init(&d);
	rc = source_load(cfg, spec, &rs, &d);
	fuzz_check_diag(&d, path);
	if (rc == -1) {
		if (d.nerrors == 0)
			fuzz_fail("source_load failed without an error");
		if (rs.nrecs != 0)
			fuzz_fail("source_load failed but left %zu records", rs.nrecs);
	} else {
		if (rc != 0)
			fuzz_fail("source_load returned %d", rc);
		if (d.nerrors != 0)
			fuzz_fail("source_load succeeded with %zu errors", d.nerrors);
		check_recset(&rs);
		diag_clear(&d);
		diag_init(&d);
		if (sources_finish(cfg, &rs, &d) == 0) {
			check_recset(&rs);
			s = snapshot_new(config_new(), &rs, NULL, &d);
			if (s != NULL)
				snapshot_unref(s);
		}
	}
	recset_clear(&rs);
	diag_clear(&d);
}
