#!/bin/sh
# Every name libgeo307.a exports starts with its module's prefix: the
# file's stem (src/redis_read.c: redis_read_) or its family, the stem's
# first word (redis_), or is the stem itself (respond).  Names the
# compiler makes (ASan's __odr_asan.*) do not count.  One TAP line per
# object; prints the offenders.
lib=${1:-libgeo307.a}
[ -f "$lib" ] || { echo "1..0 # SKIP no $lib"; exit 0; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
nm -g --defined-only -A "$lib" 2>/dev/null |
    awk '$(NF-1) ~ /^[TDBRVW]$/ { print $1, $NF }' > "$tmp/syms"
objs=$(awk '{ split($1, a, ":"); print a[2] }' "$tmp/syms" | sort -u)
n=0; bad=0
for o in $objs; do n=$((n + 1)); done
echo "1..$n"
i=0
for o in $objs; do
	i=$((i + 1))
	stem=${o#*-}; stem=${stem%.o}
	fam=${stem%%_*}
	off=$(awk -v o="$o" -v s="$stem" -v f="$fam" '
	    { split($1, a, ":"); obj = a[2] }
	    obj == o && index($2, s "_") != 1 && index($2, f "_") != 1 &&
	    $2 != s && $2 !~ /^__/ { printf "%s ", $2 }' "$tmp/syms")
	if [ -z "$off" ]; then
		echo "ok $i - $stem: every exported name starts with ${fam}_ or ${stem}_"
	else
		echo "not ok $i - $stem exports names without its prefix: $off"
		bad=$((bad + 1))
	fi
done
[ $bad -eq 0 ]
