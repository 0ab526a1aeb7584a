/*
 * What the reload guard costs a reload, in CPU time of the thread that
 * reloads (so that other load on the machine counts little): loads the
 * first CSV as the data in service, then for each further CSV takes the
 * origins of its new records (rdiff_origins_collect), builds its snapshot
 * and compares the two (rdiff_snapshots, sorted, origins applied).
 *
 *   python3 tests/bench/gen_csv.py > big.csv
 *   sed '500000s/,10\.[0-9.]*\r$/,10.99.99.99\r/' big.csv > big2.csv
 *   cc -O2 -std=gnu11 -include BUILD/autoconfig.h -Isrc tests/bench/guard_cost.c \
 *       BUILD/libpldns.a -lldns -levent_pthreads -levent_openssl -levent \
 *       -lssl -lcrypto -linih -ljansson -lcsv -lpthread -o /tmp/guard_cost
 *   /tmp/guard_cost big.csv big.csv big2.csv
 *
 * (BUILD: a build directory configured without sanitizers.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "data/config.h"
#include "util/diag.h"
#include "data/rdiff.h"
#include "data/records.h"
#include "data/snapshot.h"
#include "data/sources.h"
#include "util/util.h"

static double
cpu_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void
load(const char *file, struct recset *rs)
{
	struct config *cfg = config_new();
	struct diag d;

	diag_init(&d);
	recset_init(rs);
	if (source_load(cfg, file, rs, &d) != 0 || sources_finish(cfg, rs, &d) != 0) {
		diag_print(&d, stderr);
		exit(1);
	}
	diag_clear(&d);
	config_free(cfg);
}

int
main(int argc, char **argv)
{
	struct recset rs;
	struct diag d;
	struct snapshot *a;
	double t0, t1, t2, t3, tp;

	if (argc < 3) {
		fprintf(stderr, "usage: guard_cost IN-SERVICE.csv NEW.csv...\n");
		return 64;
	}
	diag_init(&d);
	load(argv[1], &rs);
	t0 = cpu_ms();
	a = snapshot_new(config_new(), &rs, NULL, &d);
	printf("%s: snapshot built in %.0f ms\n", argv[1], cpu_ms() - t0);
	for (int k = 2; k < argc; k++) {
		struct rdiff_origins o;
		struct snapshot *b;
		struct rdiff df;

		tp = cpu_ms();
		load(argv[k], &rs);
		tp = cpu_ms() - tp;
		rdiff_origins_init(&o, 100000);
		t0 = cpu_ms();
		rdiff_origins_collect(&o, &rs, a);
		t1 = cpu_ms();
		b = snapshot_new(config_new(), &rs, a, &d);
		t2 = cpu_ms();
		rdiff_init(&df);
		rdiff_snapshots(&df, a, b);
		rdiff_sort(&df);
		rdiff_origins_apply(&df, &o);
		t3 = cpu_ms();
		printf("%s: parsed %.0f ms, origins %.0f ms, snapshot %.0f ms, "
		    "diff %.0f ms (%zu changes)\n", argv[k], tp, t1 - t0, t2 - t1,
		    t3 - t2, df.n);
		rdiff_clear(&df);
		rdiff_origins_clear(&o);
		snapshot_unref(b);
	}
	snapshot_unref(a);
	diag_clear(&d);
	return 0;
}
