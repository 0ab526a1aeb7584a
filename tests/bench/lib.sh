# shellcheck shell=sh
# lib.sh: what the benchmark scripts share (sourced, not run).
#
# bench_install SCRIPT PKG...
#     Installs the Debian packages PKG (none: nothing to do) without
#     questions, running apt-get update only when a first try fails; exits
#     69 saying what is missing when not root.
# bench_pldns SCRIPT SRC
#     Sets pldns to $PLDNS_BIN, or builds pldns out of tree from the source
#     tree SRC in $build (default $BENCH_BUILD, else /tmp/build-bench) and
#     sets pldns to it; exits 1 when the build fails.

# Set on sourcing: the source tree (unless the caller set it; HERE is the
# calling script's directory), the Python the scripts run, no bytecode
# beside the sources, and the out-of-tree build directory.
src=${src:-$(cd "$here/../.." && pwd)}
PY=/usr/bin/python3
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
build=${BENCH_BUILD:-/tmp/build-bench}

# What every script that drives load needs: dnsperf, dnspython, taskset.
# Sets $need to the missing packages.
bench_need_load() {
	need=""
	command -v dnsperf >/dev/null 2>&1 || need="$need dnsperf"
	$PY -c 'import dns.message' 2>/dev/null || need="$need python3-dnspython"
	command -v taskset >/dev/null 2>&1 || need="$need util-linux"
}

bench_install() {
	_script=$1
	shift
	[ $# -gt 0 ] || return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "$_script: missing $*; run as root or install them" >&2
		exit 69
	fi
	echo "$_script: installing $*" >&2
	DEBIAN_FRONTEND=noninteractive
	export DEBIAN_FRONTEND
	apt-get install -y --no-install-recommends "$@" >&2 || {
		apt-get update >&2
		apt-get install -y --no-install-recommends "$@" >&2
	}
}

bench_pldns() {
	if [ -n "${PLDNS_BIN:-}" ]; then
		# shellcheck disable=SC2034  # the caller's result
		pldns=$PLDNS_BIN
		return 0
	fi
	mkdir -p "$build"
	# As the package builds it: no assert() (NDEBUG), optimised.
	(cd "$build" && { test -f Makefile ||
	    "$2/configure" CPPFLAGS=-DNDEBUG >configure.log; } &&
	    make -j2 pldns >make.log 2>&1) || {
		echo "$1: building pldns in $build failed; see $build/make.log" >&2
		exit 1
	}
	# shellcheck disable=SC2034  # the caller's result
	pldns=$build/pldns
}
