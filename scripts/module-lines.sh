#!/bin/sh
# Lines of C per module at a git revision (default HEAD): every .c and .h
# under src/ and include/, grouped by the stem's family (redis_read.c and
# redis_conn.h are "redis"; src/ctl, src/sink and src/load are one module
# each).  For the structure notes: scripts/module-lines.sh 1facc12^
rev=${1:-HEAD}
git ls-tree -r --name-only "$rev" -- src include | grep -E '\.(c|h)$' |
while read -r f; do
	n=$(git show "$rev:$f" | wc -l)
	b=$(basename "$f"); b=${b%.*}
	case $f in
	src/ctl/*) m=ctl ;; src/sink/*) m=sink ;; src/load/*) m=load ;;
	*) m=${b%%_*} ;;
	esac
	case $m in redisconn|redistarget|redissource|redissub*) m=redis ;; esac
	echo "$m $n"
done | awk '{ a[$1] += $2 } END { for (k in a) printf "%-12s %6d\n", k, a[k] }' |
    sort
