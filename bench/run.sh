#!/bin/bash
# geo307 micro-benchmark: prints numbers, never passes or fails.
#
#   - wrk -t2 -c64 keep-alive, and with "Connection: close": requests/s and
#     the server's CPU per request (utime+stime from /proc/PID/stat);
#   - a 10 MB POST with and without "Expect: 100-continue": the body bytes
#     geo307 read and threw away (geo307_discarded_body_bytes_total) and
#     what curl says it uploaded;
#   - the daemon's CPU while idle, with and without thousands of idle
#     keep-alive connections (bench/idle.py).
#
# Environment: GEO307_BIN, GEO307_FIXTURES (as in "make check"),
# BENCH_DURATION (wrk -d, default 5s), BENCH_THREADS ([listen] threads).
set -u

BIN=${GEO307_BIN:-/work/main/build/geo307}
FIXTURES=${GEO307_FIXTURES:-/work/main/build/tests/fixtures}
DB=$FIXTURES/test-city.mmdb
DURATION=${BENCH_DURATION:-5s}
THREADS=${BENCH_THREADS:-0}

die() { echo "bench: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "geo307 binary not found at $BIN (GEO307_BIN)"
[ -f "$DB" ] || die "GeoIP fixture not found at $DB (GEO307_FIXTURES)"
command -v curl >/dev/null || die "curl is needed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/geo307-bench.XXXXXX") || die "mktemp"
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port=$(free_port)
aport=$(free_port)

# geo307 raises RLIMIT_NOFILE to max_connections + linger.max_connections
# + 64 or refuses to start: stay under the hard limit.
hard=$(ulimit -Hn)
maxc=10000
if [ "$hard" != unlimited ] && [ "$hard" -lt 20064 ]; then
	maxc=$(( (hard - 64) / 2 - 16 ))
fi

cat > "$tmp/bench.conf" <<EOF
[listen]
address = 127.0.0.1:$port
threads = $THREADS
max_connections = $maxc
; every bench client is 127.0.0.1: no per-IP limit
per_ip_connections = 0

[linger]
max_connections = $maxc

[admin]
address = 127.0.0.1:$aport

[geoip]
database = $DB

[selection]
seed = 42

[log]
access = off

[region eu]
location = 53.35, -6.26
countries = GB IE
continents = EU AF

[region us]
location = 38.9, -77.0
continents = NA SA
default = yes

[server eu-1]
url = https://eu-1.up.example.net
region = eu

[server us-1]
url = https://us-1.up.example.net
region = us

[server us-2]
url = https://us-2.up.example.net/base
region = us
weight = 300
EOF

"$BIN" -c "$tmp/bench.conf" 2>"$tmp/stderr" &
pid=$!
ready=
for _ in $(seq 100); do
	if curl -sf -o /dev/null "http://127.0.0.1:$aport/healthz"; then
		ready=1
		break
	fi
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$ready" ]; then
	cat "$tmp/stderr" >&2
	die "geo307 did not become ready"
fi

hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
metric() {
	curl -s "http://127.0.0.1:$aport/metrics" |
	    awk -v m="$1" '$1 == m { print $2; exit }'
}
wait_linger() {
	for _ in $(seq 50); do
		[ "$(metric geo307_linger_connections)" = 0 ] && return
		sleep 0.1
	done
}

echo "geo307 bench: $("$BIN" --version 2>/dev/null), $(nproc) CPUs," \
    "threads = $THREADS, wrk -t2 -c64 -d$DURATION"
printf '%-26s %12s %12s %16s %s\n' "run" "requests" "req/s" \
    "CPU us/request" "notes"

run_wrk() {
	label=$1
	shift
	if ! command -v wrk >/dev/null; then
		printf '%-26s %s\n' "$label" "(wrk not installed)"
		return
	fi
	c0=$(cpu_ticks)
	out=$(wrk -t2 -c64 -d"$DURATION" "$@" \
	    "http://127.0.0.1:$port/upload?x=1" 2>&1)
	c1=$(cpu_ticks)
	reqs=$(echo "$out" | awk '/requests in/ { print $1; exit }')
	rps=$(echo "$out" | awk '/Requests\/sec/ { print $2; exit }')
	notes=$(echo "$out" | awk '/Socket errors|Non-2xx/ { sub(/^ +/, ""); printf "%s; ", $0 }')
	if [ -z "$reqs" ] || [ "$reqs" = 0 ]; then
		printf '%-26s %s\n' "$label" "wrk failed: $out"
		return
	fi
	us=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v n="$reqs" \
	    'BEGIN { printf "%.2f", (b - a) / hz * 1e6 / n }')
	printf '%-26s %12s %12s %16s %s\n' "$label" "$reqs" "$rps" "$us" "$notes"
}

run_wrk "keep-alive"
run_wrk "Connection: close" -H "Connection: close"

body="$tmp/body.bin"
head -c 10485760 /dev/urandom > "$body"
echo
printf '%-26s %14s %22s %s\n' "10 MB POST" "curl uploaded" "geo307 discarded" \
    "status"
post() {
	label=$1
	shift
	wait_linger
	d0=$(metric geo307_discarded_body_bytes_total)
	res=$(curl -sS -o /dev/null -w '%{http_code} %{size_upload}' "$@" \
	    --data-binary @"$body" "http://127.0.0.1:$port/upload?x=1" 2>&1)
	wait_linger
	d1=$(metric geo307_discarded_body_bytes_total)
	printf '%-26s %14s %22s %s\n' "$label" "${res#* }" \
	    "$(( ${d1:-0} - ${d0:-0} ))" "${res%% *}"
}
post "with Expect: 100-continue" -H "Expect: 100-continue"
post "without Expect" -H "Expect:"

echo
echo "linger outcomes: $(curl -s "http://127.0.0.1:$aport/metrics" |
    awk '/^geo307_linger_total/ { printf "%s ", $0 }')"

echo
echo "daemon CPU while idle (the header sweep's cost per connection):"
python3 "$(dirname "$0")/idle.py" "$pid" "$port" $(( maxc / 2 )) ||
    echo "bench: the idle part failed"

# The Redis figures (bench/redis.py), only where redis-server is installed.
if command -v redis-server >/dev/null && command -v python3 >/dev/null; then
	echo
	GEO307_BIN=$BIN GEO307_FIXTURES=$FIXTURES \
	    python3 "$(dirname "$0")/redis.py" || echo "bench: the Redis part failed"
fi
exit 0
