# The KEYS section of geo307.conf(5) from `geo307 --print-keys`:
# section, key, type, default, reload rule, help; TAB-separated.
function esc(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	return s
}
BEGIN { FS = "\t" }
/^#/ { next }
{
	if ($1 != sec) {
		sec = $1
		printf ".SS [%s]\n", esc(sec)
	}
	printf ".TP\n.B %s\n", esc($2)
	d = $4
	if (d == "-")
		dflt = "no default"
	else if (d == "")
		dflt = "default empty"
	else
		dflt = "default \\fB" esc(d) "\\fR"
	printf "%s; %s; reload: %s.\n.br\n%s\n", esc($3), dflt, esc($5), esc($6)
}
