#!/bin/sh
# Builds the libFuzzer harnesses (tests/fuzz/fuzz_*.c) with clang and
# -fsanitize=fuzzer,address,undefined against the library sources, then runs
# each for FUZZ_SECONDS seconds, printing its executions; exits 1 when a
# harness crashed (or an oracle aborted, leaked, or timed out), 2 when the
# build failed.
#
#   tests/fuzz/run.sh [HARNESS...]     e.g. tests/fuzz/run.sh query config
#
# Environment:
#   FUZZ_SECONDS  seconds per harness (default 60); 0 builds only
#   FUZZ_JOBS     harnesses run at once (default 1)
#   FUZZ_OUT      build and work directory (default $TMPDIR/pldns-fuzz);
#                 the corpus each run grows is kept in FUZZ_OUT/corpus and
#                 crash reproducers land in FUZZ_OUT/artifacts
#   FUZZ_ARGS     extra libFuzzer options
#   CC            a clang with libFuzzer (default clang)
#   PLDNS_AUTOCONFIG  autoconfig.h of a configured build to force-include
#                 (default: a minimal one made here)
#
# The seeds in tests/fuzz/corpus/<name> are read, never written.  To replay
# a reproducer: FUZZ_OUT/fuzz_<name> FILE.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
CC=${CC:-clang}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-1}
FUZZ_OUT=${FUZZ_OUT:-${TMPDIR:-/tmp}/pldns-fuzz}
FUZZ_ARGS=${FUZZ_ARGS:-}

mkdir -p "$FUZZ_OUT/obj" "$FUZZ_OUT/corpus" "$FUZZ_OUT/artifacts" "$FUZZ_OUT/logs" || exit 2

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "run.sh: $CC not found (libFuzzer needs clang)" >&2
	exit 2
fi

pkgs="ldns libevent libevent_pthreads libevent_openssl openssl inih jansson libcurl"
if ! pkg_cflags=$(pkg-config --cflags $pkgs) || ! pkg_libs=$(pkg-config --libs $pkgs); then
	echo "run.sh: pkg-config failed for: $pkgs" >&2
	exit 2
fi

if [ -n "${PLDNS_AUTOCONFIG:-}" ]; then
	autoconfig=$PLDNS_AUTOCONFIG
else
	autoconfig=$FUZZ_OUT/autoconfig.h
	# HAVE_STDBOOL_H as configure defines it: without it <ldns/common.h>
	# makes bool a signed char (util.h refuses to build with that).
	version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$top/configure.ac" | head -n 1)
	cat > "$autoconfig" <<EOF
#define _GNU_SOURCE 1
#define PACKAGE_VERSION "${version:-0}"
#define SYSCONFDIR "/etc"
#define HAVE_STDBOOL_H 1
EOF
fi

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
hwarn="-Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes"
cflags="-std=gnu11 -g -O1 $san -include $autoconfig -I$top/src -I$here $pkg_cflags"
libs="$pkg_libs -lcsv -lpthread"

# The library: every module but main.c, as an archive so that a harness
# links only what it uses.
echo "building the library with $CC in $FUZZ_OUT"
rm -f "$FUZZ_OUT/libpldns-fuzz.a"
objs=
for src in "$top"/src/*/*.c; do
	name=$(basename "$src" .c)
	[ "$name" = main ] && continue
	obj=$FUZZ_OUT/obj/$name.o
	if "$CC" $cflags -fsanitize=fuzzer-no-link -c "$src" -o "$obj" \
	    2>"$FUZZ_OUT/logs/$name.cc.log"; then
		objs="$objs $obj"
	else
		# Left out of the archive; a harness that needs it fails to link.
		echo "warning: ${src#"$top"/} does not compile (see $FUZZ_OUT/logs/$name.cc.log)" >&2
		rm -f "$obj"
	fi
done
ar cr "$FUZZ_OUT/libpldns-fuzz.a" $objs || exit 2
"$CC" $cflags $hwarn -fsanitize=fuzzer-no-link -DFUZZ_DATA_DIR="\"$top/tests/data\"" \
    -c "$here/fuzz_common.c" -o "$FUZZ_OUT/obj/fuzz_common.o" || exit 2

if [ $# -gt 0 ]; then
	harnesses=$*
else
	harnesses=$(cd "$here" && ls fuzz_*.c | sed -e 's/^fuzz_//' -e 's/\.c$//' | grep -v '^common$')
fi

for h in $harnesses; do
	if [ ! -f "$here/fuzz_$h.c" ]; then
		echo "run.sh: no harness tests/fuzz/fuzz_$h.c" >&2
		exit 2
	fi
	echo "building fuzz_$h"
	"$CC" $cflags $hwarn -fsanitize=fuzzer "$here/fuzz_$h.c" "$FUZZ_OUT/obj/fuzz_common.o" \
	    "$FUZZ_OUT/libpldns-fuzz.a" $libs -o "$FUZZ_OUT/fuzz_$h" || exit 2
done

# Dictionaries: tests/fuzz/<name>.dict; the config's is made from the key
# table so that it names every key there is.
{
	cat "$here/config.dict.in"
	sed -n 's/^[[:space:]]*{ "\([a-z_]*\)", "\([a-z_]*\)",.*/"[\1]"\
"\2 = "/p' "$top/src/data/config_keys.c" | sort -u
} >"$FUZZ_OUT/config.dict"

[ "$FUZZ_SECONDS" -gt 0 ] 2>/dev/null || exit 0

run_one() {
	h=$1
	mkdir -p "$FUZZ_OUT/corpus/$h"
	seeds=
	[ -d "$here/corpus/$h" ] && seeds=$here/corpus/$h
	dict=
	if [ -f "$FUZZ_OUT/$h.dict" ]; then
		dict=-dict=$FUZZ_OUT/$h.dict
	elif [ -f "$here/$h.dict" ]; then
		dict=-dict=$here/$h.dict
	fi
	# New inputs go to the first directory only: the seeds stay as they are.
	PLDNS_FUZZ_DATA=$top/tests/data "$FUZZ_OUT/fuzz_$h" \
	    -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$FUZZ_OUT/artifacts/$h-" \
	    $dict $FUZZ_ARGS "$FUZZ_OUT/corpus/$h" $seeds >"$FUZZ_OUT/logs/$h.log" 2>&1
	echo $? >"$FUZZ_OUT/logs/$h.rc"
}

running=0
for h in $harnesses; do
	echo "fuzzing $h for ${FUZZ_SECONDS}s"
	run_one "$h" &
	running=$((running + 1))
	if [ "$running" -ge "$FUZZ_JOBS" ]; then
		wait
		running=0
	fi
done
wait

status=0
total=0
printf '%-10s %14s %10s  %s\n' harness executions exec/s result
for h in $harnesses; do
	log=$FUZZ_OUT/logs/$h.log
	rc=$(cat "$FUZZ_OUT/logs/$h.rc" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	if [ "$rc" = 0 ]; then
		result=ok
	else
		result="CRASH (exit $rc): $(grep -m 1 -o "Test unit written to .*" "$log" | \
		    sed 's/Test unit written to //'), log $log"
		status=1
	fi
	total=$((total + ${execs:-0}))
	printf '%-10s %14s %10s  %s\n' "$h" "${execs:-?}" "${speed:-?}" "$result"
done
printf '%-10s %14s\n' total "$total"
exit $status
