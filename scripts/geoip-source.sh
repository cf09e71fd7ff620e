#!/bin/sh
#
# geoip-source.sh OUTDIR: print the directory that holds Debian's
# tor-geoipdb text files (geoip and geoip6: the IPFire Location database,
# CC BY-SA 4.0), fetching them if needed, without installing the tor
# daemon.
#
#   1. /usr/share/tor, when the tor-geoipdb package is installed;
#   2. else OUTDIR/root/usr/share/tor from an earlier run (idempotent);
#   3. else `apt-get download tor-geoipdb` into OUTDIR and `dpkg -x` it
#      there.  Downloading a .deb needs no root; only the `apt-get update`
#      done when the package lists are missing does (sudo when not root).
#
# Only the directory goes to stdout, so callers can write
# src=$(scripts/geoip-source.sh build/tor-geoipdb); messages go to stderr.

set -eu

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
outdir=$1

if [ -s /usr/share/tor/geoip ] && [ -s /usr/share/tor/geoip6 ]; then
	echo /usr/share/tor
	exit 0
fi

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
dir=$outdir/root/usr/share/tor
if [ -s "$dir/geoip" ] && [ -s "$dir/geoip6" ]; then
	echo "$dir"
	exit 0
fi

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "geoip-source.sh: need root (or sudo) for: $*" >&2
		return 1
	fi
}

# From inside OUTDIR: apt-get download writes to the current directory.
# As root it warns that the download is unsandboxed because user _apt
# cannot write here; that is harmless.
cd "$outdir"
rm -f tor-geoipdb_*.deb
if ! apt-get download tor-geoipdb >&2; then
	# A fresh container often has no package lists at all.
	echo "geoip-source.sh: apt-get download failed; updating package lists" >&2
	as_root apt-get update >&2
	apt-get download tor-geoipdb >&2
fi
deb=$(ls -t tor-geoipdb_*.deb 2>/dev/null | head -n 1)
if [ -z "$deb" ]; then
	echo "geoip-source.sh: no tor-geoipdb .deb in $outdir" >&2
	exit 1
fi

# Extract beside the final place and rename, so that an interrupted run
# never leaves half a geoip file that the check above would then reuse.
rm -rf root.tmp
mkdir root.tmp
dpkg -x "$deb" root.tmp
if [ ! -s root.tmp/usr/share/tor/geoip ] || [ ! -s root.tmp/usr/share/tor/geoip6 ]; then
	echo "geoip-source.sh: $deb has no usr/share/tor/geoip{,6}" >&2
	exit 1
fi
rm -rf root
mv root.tmp root
rm -f "$deb"
echo "$dir"
