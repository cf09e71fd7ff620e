#!/bin/sh
#
# summary.sh BUILDDIR...: count the individual test results of the last
# `make check` in each build directory and print one line per directory,
# then, as the very last line, the total:
#
#	N passed, N failed, N skipped
#
# automake's tap-driver.sh writes one ":test-result: RESULT" line per TAP
# test point into each test's .trs file, plus an ERROR for a test program
# that crashed, exited non-zero or printed no plan, so counting those lines
# counts tests, not test programs.  PASS and XFAIL are passes; FAIL, ERROR
# and XPASS (a known bug that is no longer there, so the test is wrong)
# are failures; SKIP is skipped.
#
# Exits 1 when anything failed or when no result was found at all (a
# build that never got as far as its tests must not read as green).

if [ $# -eq 0 ]; then
	echo "usage: $0 BUILDDIR..." >&2
	exit 2
fi

tp=0 tf=0 ts=0
for d in "$@"; do
	if [ ! -d "$d" ]; then
		echo "$d: no such directory, no results"
		continue
	fi
	# "passed failed skipped files" for the directory; find may run awk
	# more than once when there are many files, hence the second awk.
	counts=$(find "$d" -name '*.trs' -type f -exec awk '
		FNR == 1 { files++ }
		$1 == ":test-result:" {
			if ($2 == "PASS" || $2 == "XFAIL")
				p++
			else if ($2 == "SKIP")
				s++
			else
				f++
		}
		END { printf("%d %d %d %d\n", p, f, s, files) }
	' {} + | awk '
		{ p += $1; f += $2; s += $3; n += $4 }
		END { printf("%d %d %d %d\n", p, f, s, n) }
	')
	read -r p f s n <<EOF
$counts
EOF
	if [ "$n" -eq 0 ]; then
		echo "$d: no results"
	else
		echo "$d: $p passed, $f failed, $s skipped ($n test programs)"
	fi
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
done

echo "$tp passed, $tf failed, $ts skipped"
if [ "$tf" -ne 0 ] || [ $((tp + tf + ts)) -eq 0 ]; then
	exit 1
fi
exit 0
