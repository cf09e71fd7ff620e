#!/bin/sh
# Build the libFuzzer harnesses with clang (ASan + UBSan), outside the
# autotools build.  Usage: tests/fuzz/build.sh [OUTDIR] from the top of
# the tree, after a configure+make in build-san (for countries_table.c).
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/build-fuzz}
countries=${COUNTRIES_TABLE:-$top/build-san/countries_table.c}
CC=${CC:-clang}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
PKGS="libmicrohttpd libmaxminddb hiredis jansson gnutls libxxhash"
CFLAGS="-I$top/include -D_GNU_SOURCE -DGEO307_DATADIR=\"/nonexistent\" -DPACKAGE_VERSION=\"$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$top/configure.ac")\" $(pkg-config --cflags $PKGS) -pthread"
LIBS="$(pkg-config --libs $PKGS) -lm -pthread"
mkdir -p "$out/obj"
objs=
for src in $(sed -n '/^libgeo307_a_SOURCES/,/^$/p' "$top/Makefile.am" | tr ' \\\t' '\n\n\n' | grep '^src/.*\.c$') "$countries"; do
	o="$out/obj/$(basename "$src" .c).o"
	case $src in /*) s=$src ;; *) s=$top/$src ;; esac
	if [ ! -f "$o" ] || [ "$s" -nt "$o" ]; then
		$CC $SAN -fsanitize=fuzzer-no-link $CFLAGS -c "$s" -o "$o"
	fi
	objs="$objs $o"
done
for h in "$top"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$h" .c)
	$CC $SAN -fsanitize=fuzzer $CFLAGS "$h" $objs $LIBS -o "$out/$name"
	echo "built $out/$name"
done
