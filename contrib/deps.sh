#!/bin/sh
# Installs the Debian 12 packages pldns needs to build and test, when missing.
# Usage: contrib/deps.sh [build|test|fuzz|bench]   (default: test)
set -e
what=${1:-test}
build="autoconf automake make gcc pkg-config libldns-dev libevent-dev libssl-dev
 libinih-dev libjansson-dev libcsv-dev libcurl4-openssl-dev"
test="$build libcmocka-dev python3 python3-dnspython python3-yaml ldnsutils dnsutils openssl valgrind
 prometheus bind9 bind9-utils unbound dnsmasq-base chromium"
fuzz="$test clang libclang-rt-14-dev"
bench="$test dnsperf dnsdist"
case "$what" in
build) pkgs=$build ;;
test) pkgs=$test ;;
fuzz) pkgs=$fuzz ;;
bench) pkgs=$bench ;;
*) echo "usage: $0 [build|test|fuzz|bench]" >&2; exit 64 ;;
esac
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "pldns: missing packages:$missing (run as root, or apt-get install them)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
