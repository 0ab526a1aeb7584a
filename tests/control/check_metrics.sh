#!/bin/sh
# Checks pldns's Prometheus exposition with "promtool check metrics" (Debian
# package prometheus), a strict parser and linter of the text format.
#
#   tests/control/check_metrics.sh [RENDER_METRICS]
#
# RENDER_METRICS is the tests/control/render_metrics program (built from
# render_metrics.c and libpldns.a); without it the script takes the one in
# the build tree ($PLDNS_BUILDDIR, or the directory of $PLDNS_BIN as "make
# check" exports it), or else builds one from the sources in a temporary
# directory.  With PLDNS_METRICS_URL set (e.g.
# http://127.0.0.1:8053/metrics) a running daemon's /metrics is checked too.
# Output: TAP.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
diag() { sed 's/^/# /' "$1"; }

if ! command -v promtool >/dev/null 2>&1; then
	echo "1..0 # SKIP promtool not found: apt-get install prometheus"
	exit 0
fi
plan=4
[ -n "${PLDNS_METRICS_URL:-}" ] && plan=5
echo "1..$plan"

# promtool prints lint problems and exits non-zero; any output is a failure.
check() {
	promtool check metrics <"$1" >"$tmp/promtool.out" 2>&1
	rc=$?
	[ $rc -eq 0 ] && [ ! -s "$tmp/promtool.out" ]
}

# 1: the checker itself is strict (a counter without _total is refused).
printf '# HELP pldns_bad A counter without the suffix.\n# TYPE pldns_bad counter\npldns_bad 1\n' >"$tmp/bad.txt"
if check "$tmp/bad.txt"; then
	not_ok "promtool rejects a counter without _total"
else
	ok "promtool rejects a counter without _total"
fi

# 2: the render program: given, from a build tree (PLDNS_BUILDDIR), or built
# here from the sources into an archive like libpldns.a (so that only what it
# uses is linked).
render=${1:-}
bdir=${PLDNS_BUILDDIR:-}
# "make check" exports PLDNS_BIN, which sits at the top of the build tree.
[ -z "$bdir" ] && [ -n "${PLDNS_BIN:-}" ] && bdir=$(dirname "$PLDNS_BIN")
if [ -z "$render" ] && [ -n "$bdir" ] && [ -x "$bdir/tests/control/render_metrics" ]; then
	render="$bdir/tests/control/render_metrics"
fi
if [ -z "$render" ]; then
	render="$tmp/render_metrics"
	version=$(sed -n 's/^AC_INIT(\[pldns\], \[\([^]]*\)\].*/\1/p' "$top/configure.ac")
	pkgs="libevent libevent_pthreads libevent_openssl openssl jansson ldns inih libcurl"
	# What configure's autoconfig.h would give the sources.
	printf '#define PACKAGE_VERSION "%s"\n#define HAVE_STDBOOL_H 1\n#define SYSCONFDIR "/etc"\n' \
	    "$version" >"$tmp/autoconfig.h"
	# shellcheck disable=SC2086
	cflags="-std=gnu11 -D_GNU_SOURCE -include $tmp/autoconfig.h -I$top/src $(pkg-config --cflags $pkgs)"
	mkdir "$tmp/obj"
	for src in "$top"/src/*.c "$top"/src/*/*.c; do
		case "$src" in */main.c) continue ;; esac
		# shellcheck disable=SC2086
		cc $cflags -c "$src" -o "$tmp/obj/$(basename "$src" .c).o" >>"$tmp/cc.out" 2>&1
	done
	ar cr "$tmp/libpldns.a" "$tmp"/obj/*.o
	# shellcheck disable=SC2086,SC2046
	if cc $cflags "$top/tests/control/render_metrics.c" "$tmp/libpldns.a" \
	    -o "$render" $(pkg-config --libs $pkgs) -lcsv -lpthread >>"$tmp/cc.out" 2>&1; then
		ok "render_metrics builds"
	else
		not_ok "render_metrics builds"
		diag "$tmp/cc.out"
	fi
elif [ -x "$render" ]; then
	ok "render_metrics is $render"
else
	not_ok "render_metrics $render is not executable"
fi

# 3: promtool accepts what it renders, without a lint warning.
if "$render" >"$tmp/metrics.txt" 2>"$tmp/render.err" && check "$tmp/metrics.txt"; then
	ok "promtool check metrics: rendered exposition is clean"
else
	not_ok "promtool check metrics: rendered exposition is clean"
	diag "$tmp/render.err"
	diag "$tmp/promtool.out"
fi

# 4: the families a dashboard relies on are there.
missing=""
for fam in pldns_queries_total pldns_queries_by_qtype_total \
    pldns_queries_by_rcode_total pldns_queries_by_path_total \
    pldns_query_duration_seconds pldns_upstream_up pldns_upstream_rtt_seconds \
    pldns_upstream_timeouts_total pldns_cache_entries pldns_cache_bytes \
    pldns_cache_hits_total pldns_cache_misses_total pldns_cache_evictions_total \
    pldns_cache_prefetches_total \
    pldns_zones pldns_records pldns_zone_records pldns_zone_serial \
    pldns_reloads_total pldns_reload_failures_total \
    pldns_last_reload_success_timestamp_seconds pldns_queries_dropped_total \
    pldns_spoofed_replies_total pldns_reload_held pldns_reloads_held_total; do
	grep -q "^# TYPE $fam " "$tmp/metrics.txt" || missing="$missing $fam"
done
if [ -z "$missing" ]; then
	ok "every expected metric family is present"
else
	not_ok "every expected metric family is present"
	echo "# missing:$missing"
fi

# 5: a live daemon, when asked.
if [ -n "${PLDNS_METRICS_URL:-}" ]; then
	if curl -fsS "$PLDNS_METRICS_URL" >"$tmp/live.txt" 2>"$tmp/curl.err" &&
	    check "$tmp/live.txt"; then
		ok "promtool check metrics: $PLDNS_METRICS_URL is clean"
	else
		not_ok "promtool check metrics: $PLDNS_METRICS_URL is clean"
		diag "$tmp/curl.err"
		diag "$tmp/promtool.out"
	fi
fi
[ "$failed" -eq 0 ]
