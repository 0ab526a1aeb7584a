#!/bin/sh
# Builds the zone transfer tests outside the tree's autotools build, with
# the project's warnings and sanitizers:
#
#   $B/test_xfr        the unit tests (tests/unit/test_xfr.c)
#   $B/test_config     the config unit tests
#   $B/xfr_testserver  a small server around xfr_serve()/xfr_secondary for
#                      the system tests before the daemon integrates them
#   $B/pldns           with --daemon: the real daemon, from a copy of src/
#                      with the integration applied by integrate.py (what the
#                      lead adds to worker.c and server.c)
#
# B is $XFR_BUILD or /tmp/pldns-xfr-build.  src/ is copied there first; when
# snapshot.h does not have szone_nnodes()/szone_node_at() yet (the lead adds
# them), the copy gets them, so that this builds either way.
set -eu
daemon=no
[ "${1:-}" = --daemon ] && daemon=yes
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
B=${XFR_BUILD:-/tmp/pldns-xfr-build}
mkdir -p "$B/src"
cp "$top"/src/*.c "$top"/src/*.h "$B/src/"

if ! grep -q szone_node_at "$B/src/snapshot.h"; then
	/usr/bin/python3 - "$B/src" <<'EOF'
import sys
d = sys.argv[1]
h = open(d + "/snapshot.h").read()
h = h.replace("/* The RRset of TYPE at N, or NULL. */",
"""/* The nodes of Z in no particular order, for zone transfers:
 * I < szone_nnodes(Z). */
size_t szone_nnodes(const struct szone *z);
const struct node *szone_node_at(const struct szone *z, size_t i);

/* The RRset of TYPE at N, or NULL. */""")
open(d + "/snapshot.h", "w").write(h)
c = open(d + "/snapshot.c").read()
c = c.replace("const struct rrset *\nnode_rrset(", """size_t
szone_nnodes(const struct szone *z)
{
	return z->nnodes;
}

const struct node *
szone_node_at(const struct szone *z, size_t i)
{
	return i < z->nnodes ? &z->nodes[i] : NULL;
}

const struct rrset *
node_rrset(""")
open(d + "/snapshot.c", "w").write(c)
EOF
fi

CC=${CC:-gcc}
PKGS="ldns libevent libevent_pthreads libevent_openssl inih jansson openssl"
CFLAGS="-std=gnu11 -g -O1 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wpointer-arith -Wno-unused-parameter -Werror -fsanitize=address,undefined -fno-omit-frame-pointer -D_GNU_SOURCE -I$B/src $(pkg-config --cflags $PKGS cmocka)"
LIBS="$(pkg-config --libs $PKGS) -lcsv -lpthread"
LIBSRC="acl addr answer azure_zones config diag log records snapshot source_csv source_hosts source_json source_zone sources tsig upstream util wire xfr xfr_secondary"

mkdir -p "$B/obj"
objs=""
for m in $LIBSRC; do
	o="$B/obj/$m.o"
	if [ ! -f "$o" ] || [ "$B/src/$m.c" -nt "$o" ] || [ -n "$(find "$B/src" -name '*.h' -newer "$o")" ]; then
		$CC $CFLAGS -c "$B/src/$m.c" -o "$o"
	fi
	objs="$objs $o"
done
$CC $CFLAGS -DTEST_DATA_DIR="\"$top/tests/data\"" "$top/tests/unit/test_xfr.c" $objs \
    -o "$B/test_xfr" $LIBS $(pkg-config --libs cmocka)
$CC $CFLAGS -DTEST_DATA_DIR="\"$top/tests/data\"" "$top/tests/unit/test_config.c" $objs \
    -o "$B/test_config" $LIBS $(pkg-config --libs cmocka)
[ -f "$here/xfr_testserver.c" ] && $CC $CFLAGS "$here/xfr_testserver.c" $objs -o "$B/xfr_testserver" $LIBS
echo "built in $B: test_xfr test_config xfr_testserver"

if [ $daemon = yes ]; then
	mkdir -p "$B/daemon"
	cp "$B"/src/*.c "$B"/src/*.h "$B/daemon/"
	/usr/bin/python3 "$here/integrate.py" "$B/daemon"
	$CC $(echo "$CFLAGS" | sed "s|-I$B/src|-I$B/daemon|") -DPACKAGE_VERSION='"0.1.0-xfr"' \
	    "$B"/daemon/*.c -o "$B/pldns" $LIBS
	echo "built $B/pldns (integrated)"
fi
