# countries-to-c.awk: compile data/countries.tsv into C (countries_table.c).
#
#	awk -f data/countries-to-c.awk data/countries.tsv > countries_table.c
#
# Plain POSIX awk: it must run under mawk (Debian's default) as well as
# gawk, so no asort(), no gensub(), no regex intervals ({n}), and no
# length(array).  A bad row is an error (exit 1) rather than a row
# silently dropped: the Makefile then keeps the previous table out of the
# build instead of compiling a table with a hole in it.

BEGIN {
	FS = "\t"
	n = 0
	bad = 0
	valid_continent["AF"] = 1
	valid_continent["AN"] = 1
	valid_continent["AS"] = 1
	valid_continent["EU"] = 1
	valid_continent["NA"] = 1
	valid_continent["OC"] = 1
	valid_continent["SA"] = 1
}

function fail(msg) {
	printf("%s:%d: %s\n", FILENAME, FNR, msg) > "/dev/stderr"
	bad = 1
}

function is_number(s) {
	return s ~ /^-?[0-9]+(\.[0-9]+)?$/
}

{
	sub(/\r$/, "")
}

/^#/ || /^[ \t]*$/ {
	next
}

{
	if (NF < 4) {
		fail("expected code, continent, lat, lon[, name]")
		next
	}
	code = $1
	cont = $2
	lat = $3
	lon = $4
	if (code !~ /^[A-Z][A-Z]$/) {
		fail("bad country code \"" code "\"")
		next
	}
	if (!(cont in valid_continent)) {
		fail("bad continent \"" cont "\" for " code)
		next
	}
	if (!is_number(lat) || lat + 0 < -90 || lat + 0 > 90) {
		fail("bad latitude \"" lat "\" for " code)
		next
	}
	if (!is_number(lon) || lon + 0 < -180 || lon + 0 > 180) {
		fail("bad longitude \"" lon "\" for " code)
		next
	}
	if (code in seen) {
		fail("duplicate code " code " (first at line " seen[code] ")")
		next
	}
	seen[code] = FNR
	n++
	key[n] = code
	row[code] = sprintf("\t{\"%s\", \"%s\", %s, %s},", code, cont, lat, lon)
}

END {
	if (bad)
		exit 1
	if (n == 0) {
		print "countries-to-c.awk: no rows" > "/dev/stderr"
		exit 1
	}
	# Insertion sort: a few hundred short keys, and mawk has no asort().
	# countries_find() does a binary search, so the order matters.
	for (i = 2; i <= n; i++) {
		k = key[i]
		for (j = i - 1; j >= 1 && key[j] > k; j--)
			key[j + 1] = key[j]
		key[j + 1] = k
	}
	print "/* Generated from data/countries.tsv by data/countries-to-c.awk: do not edit. */"
	print "#include \"countries.h\""
	print ""
	# Declared here as well as in countries.c so that the compiler checks
	# the definitions below against the declarations the users see.
	print "extern const struct country_info countries_table[];"
	print "extern const unsigned countries_table_len;"
	print ""
	print "/* Sorted by code: countries_find() does a binary search on it. */"
	print "const struct country_info countries_table[] = {"
	for (i = 1; i <= n; i++)
		print row[key[i]]
	print "};"
	print "const unsigned countries_table_len = " n ";"
}
