#!/bin/bash
#
# demo.sh BUILD_DIR: the synthetic-load kit end to end, on loopback only.
# A private redis-server, six geo307-sink upload servers in three regions
# reporting their load, geo307 routing on the fleet geo307ctl wrote into
# Redis (MULTI, HSET, SADD, INCR version, PUBLISH changed), and
# geo307-load uploading through it for GEO307_DEMO_SECONDS (default 60)
# with a country mix, then the shares beside the router's prediction and
# the latency percentiles.  Everything started here is stopped by PID.

set -euo pipefail

build=$(cd "${1:-build}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${GEO307_DEMO_SECONDS:-60}
rate=${GEO307_DEMO_RATE:-40}
db=${GEO307_DEMO_GEOIP:-$top/data/geoip-country.mmdb}
prefix=demo:
tmp=$(mktemp -d "${TMPDIR:-/tmp}/geo307-demo.XXXXXX")
pids=()

say() { printf '==> %s\n' "$*" >&2; }

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for f in geo307 geo307ctl geo307-sink geo307-load; do
	[ -x "$build/$f" ] || { echo "demo: $build/$f missing: build first" >&2; exit 1; }
done
[ -s "$db" ] || { echo "demo: GeoIP database $db missing" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "demo: redis-server missing" >&2; exit 1; }

# Free loopback ports, chosen by the kernel.
ports=($(python3 -c '
import socket
s = [socket.socket() for _ in range(9)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))'))
rport=${ports[0]} gport=${ports[1]} aport=${ports[2]}

say "redis-server on 127.0.0.1:$rport"
redis-server --bind 127.0.0.1 --port "$rport" --save '' --appendonly no \
    --dir "$tmp" >"$tmp/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
	redis-cli -p "$rport" ping >/dev/null 2>&1 && break
	sleep 0.1
done
redis="redis://127.0.0.1:$rport/0"

cat >"$tmp/geo307.conf" <<CONF
[listen]
address = 127.0.0.1:$gport
max_connections = 1024
[linger]
max_connections = 256
[admin]
address = 127.0.0.1:$aport
[geoip]
database = $db
[redis]
url = $redis
prefix = $prefix
cache_file = $tmp/fleet.cache
stale_after = 6
[redirect]
allowed_hosts = 127.0.0.1/32
allow_http = yes
[trust]
proxies = 127.0.0.1/32
[log]
access = off
[region eu-west]
location = 53.35, -6.26
countries = GB IE
continents = EU AF
fallback = us-east
[region us-east]
location = 38.9, -77.0
continents = NA SA
default = yes
[region ap-southeast]
location = 1.35, 103.8
continents = AS OC
fallback = us-east
CONF

# id region weight: two servers per region, unequal weights.
fleet="euw-1 eu-west 100
euw-2 eu-west 300
use-1 us-east 200
use-2 us-east 200
apse-1 ap-southeast 100
apse-2 ap-southeast 100"
i=3
while read -r id region weight; do
	port=${ports[$i]}
	i=$((i + 1))
	"$build/geo307-sink" --listen "127.0.0.1:$port" --id "$id" \
	    --redis "$redis" --prefix "$prefix" --capacity 8 \
	    --report-every 1 2>>"$tmp/sinks.log" &
	pids+=($!)
	# The operator's change: MULTI, HSET, SADD, INCR version, PUBLISH.
	for _ in $(seq 50); do
		"$build/geo307ctl" -c "$tmp/geo307.conf" add "$id" \
		    "http://127.0.0.1:$port" "$region" "$weight" \
		    >/dev/null 2>&1 && break
		sleep 0.1
	done
	say "sink $id ($region, weight $weight) on 127.0.0.1:$port"
done <<<"$fleet"

say "geo307 on 127.0.0.1:$gport, admin 127.0.0.1:$aport"
"$build/geo307" -c "$tmp/geo307.conf" >"$tmp/geo307.log" 2>&1 &
pids+=($!)
# Ready when /fleet lists all six servers with fresh load reports.
for _ in $(seq 100); do
	n=$(curl -s "http://127.0.0.1:$aport/fleet" 2>/dev/null |
	    grep -o '"fresh": *true' | wc -l) || true
	[ "${n:-0}" -ge 6 ] && break
	sleep 0.1
done

say "geo307-load: $rate uploads/s for ${seconds}s, 256 KiB each, GB 40% US 35% JP 25%"
"$build/geo307-load" --url "http://127.0.0.1:$gport/upload?demo=1" \
    --rate "$rate" --duration "$seconds" --connections 16 \
    --mix GB=0.4,US=0.35,JP=0.25 -c "$tmp/geo307.conf" \
    --follow --body 256K --admin "http://127.0.0.1:$aport" \
    --json "$tmp/load.json"
say "sinks: requests and bytes received"
i=3
while read -r id region weight; do
	printf '  %-8s %s\n' "$id" "$(curl -s "http://127.0.0.1:${ports[$i]}/.sink/stats")"
	i=$((i + 1))
done <<<"$fleet"
