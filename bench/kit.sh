#!/bin/bash
# geo307-load against wrk on the same geo307: prints numbers, never
# passes or fails.  For each client: the rate it achieved, its own CPU
# per request and geo307's (utime+stime from /proc), and p99 where the
# client reports one.  wrk runs closed loop at full speed (geo307's peak
# on this machine); geo307-load then runs open loop at 50 %, 90 % and
# 100 % of that peak.  A generator that needs more CPU per request than
# the router would hide the router's limit.
#
# Environment: GEO307_BIN (geo307-load and the fixtures are found beside
# it, as in "make check"), BENCH_SECONDS (default 5), BENCH_CONNECTIONS
# (default 64).
set -u

BIN=${GEO307_BIN:-$(pwd)/build/geo307}
BUILD=$(dirname "$BIN")
LOAD=$BUILD/geo307-load
DB=${GEO307_FIXTURES:-$BUILD/tests/fixtures}/test-city.mmdb
SECS=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNECTIONS:-64}

die() { echo "bench/kit: $*" >&2; exit 1; }
[ -x "$BIN" ] && [ -x "$LOAD" ] || die "no geo307 or geo307-load beside $BIN"
[ -f "$DB" ] || die "GeoIP fixture $DB missing (make check builds it)"
command -v wrk >/dev/null || die "wrk is needed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/geo307-kitbench.XXXXXX") || die mktemp
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$tmp/g.conf" <<CONF
[listen]
address = 127.0.0.1:$port
max_connections = 2048
[linger]
max_connections = 256
[admin]
address =
[geoip]
database = $DB
[trust]
proxies = 127.0.0.1/32
[log]
access = off
[region eu]
location = 53.35, -6.26
countries = GB
default = yes
[server eu-1]
url = https://eu-1.up.example.net
region = eu
CONF
"$BIN" -c "$tmp/g.conf" 2>"$tmp/g.err" &
pid=$!
for _ in $(seq 50); do
	(echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
	sleep 0.1
done
url="http://127.0.0.1:$port/upload?x=1"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
us_per() { awk -v t="$1" -v n="$2" -v hz="$hz" \
    'BEGIN { printf "%.2f", (n > 0 ? t / hz * 1e6 / n : 0) }'; }

printf '%-22s %10s %10s %12s %12s %10s\n' client asked achieved \
    'client us/req' 'geo307 us/req' 'p99 ms'

# wrk: closed loop, one thread (geo307-load has one for redirects).
g0=$(ticks $pid)
/usr/bin/time -f '%U %S' -o "$tmp/wrk.time" \
    wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -H 'X-Forwarded-For: 81.2.69.1' \
    "$url" >"$tmp/wrk.out" 2>&1
g1=$(ticks $pid)
n=$(awk '/requests in/ {print $1}' "$tmp/wrk.out")
peak=$(awk '/Requests\/sec/ {printf "%d", $2}' "$tmp/wrk.out")
wcpu=$(awk -v hz="$hz" '{printf "%d", ($1 + $2) * hz}' "$tmp/wrk.time")
p99=$(awk '$1 == "99%" {v = $2; if (v ~ /us$/) v = v / 1000; \
    else if (v ~ /ms$/) v = v + 0; else if (v ~ /s$/) v = v * 1000; print v}' \
    "$tmp/wrk.out")
printf '%-22s %10s %10s %12s %12s %10s\n' "wrk -t1 -c$CONNS" - "$peak" \
    "$(us_per "$wcpu" "$n")" "$(us_per $((g1 - g0)) "$n")" "${p99:--}"

for pct in 50 90 100; do
	rate=$((peak * pct / 100))
	g0=$(ticks $pid)
	/usr/bin/time -f '%U %S' -o "$tmp/load.time" "$LOAD" --url "$url" \
	    --rate "$rate" --duration "$SECS" --connections "$CONNS" \
	    --method GET --ips <(echo 81.2.69.1) --quiet \
	    --json "$tmp/load.json" >"$tmp/load.out" 2>&1
	g1=$(ticks $pid)
	read -r n got p99 < <(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print(j["redirect"]["requests"], "%.0f" % j["achieved_rate"],
      "%.3f" % j["redirect"]["latency_ms"]["p99"])' "$tmp/load.json")
	lcpu=$(awk -v hz="$hz" '{printf "%d", ($1 + $2) * hz}' "$tmp/load.time")
	printf '%-22s %10s %10s %12s %12s %10s\n' "geo307-load $pct%" \
	    "$rate" "$got" "$(us_per "$lcpu" "$n")" \
	    "$(us_per $((g1 - g0)) "$n")" "$p99"
done
echo
echo "CPU from utime+stime (/usr/bin/time for the clients, /proc for geo307);"
echo "loopback on $(nproc) cores shared by client and server: noisy, compare ratios."
