#!/usr/bin/perl
#
# build-geoip.pl: turn Debian's tor-geoipdb text files (the IPFire Location
# database, CC BY-SA 4.0, exported by tor's geoip-db-tool) into a MaxMind
# DB file that geo307 reads like a GeoIP2/GeoLite2 Country database:
#
#	{ country => { iso_code => 'GB' }, continent => { code => 'EU' } }
#
# Usage: build-geoip.pl GEOIP4 GEOIP6 COUNTRIES_TSV OUT.mmdb
#
# GEOIP4 lines are "first,last,CC" with IPv4 addresses as integers, GEOIP6
# lines the same with IPv6 addresses; "??" means unknown.  The continent
# comes from COUNTRIES_TSV (data/countries.tsv), the table geo307 itself
# is built with, so the database and the daemon agree on what a country
# code means.  The file is written to OUT.mmdb.tmp and renamed, so a
# running geo307 (which re-checks the file's mtime) never maps half a file.

use strict;
use warnings;

use Socket qw(AF_INET6 inet_pton);
use Time::HiRes qw(time);
use Time::Local qw(timegm);
use MaxMind::DB::Writer::Tree;

# Non-ISO codes the IPFire data uses for a country that has an ISO code.
# Everything else that countries.tsv does not know (??, ZZ, UN, A1, ...)
# is skipped and counted; see the comments in data/countries.tsv.
my %TRANSLATE = (
	UK => 'GB',	# ISO-reserved alias of the United Kingdom
	SU => 'RU',	# ISO-reserved code of the former Soviet Union
);

# With alias_ipv6_to_ipv4 the writer makes these IPv6 networks point at
# the IPv4 tree (as MaxMind's databases do, so ::ffff:8.8.8.8 finds
# 8.8.8.8) and dies on any insert that touches them.  IPFire lists 2002::/16
# (6to4) as a country of its own, which is meaningless for a client's
# location anyway: skip ranges that overlap them.
my @ALIASED = map { [ net_bounds(@$_) ] } (
	[ '::ffff:0:0', 96 ],	# IPv4-mapped
	[ '2001::', 32 ],	# Teredo
	[ '2002::', 16 ],	# 6to4
);

sub usage {
	print STDERR "usage: $0 GEOIP4 GEOIP6 COUNTRIES_TSV OUT.mmdb\n";
	exit 2;
}

# First and last address of an IPv6 network, as 16-byte strings: with
# equal lengths, Perl's string comparison is numeric comparison.
sub net_bounds {
	my ($addr, $len) = @_;
	my $first = inet_pton(AF_INET6, $addr) or die "bad address $addr\n";
	my $bits = unpack('B128', $first);
	my $lo = pack('B128', substr($bits, 0, $len) . ('0' x (128 - $len)));
	my $hi = pack('B128', substr($bits, 0, $len) . ('1' x (128 - $len)));
	return ($lo, $hi);
}

sub read_countries {
	my ($path) = @_;
	my %continent;

	open(my $fh, '<', $path) or die "$path: $!\n";
	while (my $line = <$fh>) {
		$line =~ s/\r?\n\z//;
		next if $line =~ /^#/ || $line =~ /^\s*$/;
		my ($code, $cont) = split /\t/, $line;
		die "$path:$.: bad row\n"
		    unless defined $cont && $code =~ /^[A-Z]{2}$/ &&
		    $cont =~ /^(?:AF|AN|AS|EU|NA|OC|SA)$/;
		$continent{$code} = $cont;
	}
	close($fh);
	die "$path: no countries\n" unless %continent;
	return \%continent;
}

# "# Generated: Thu, 25 Jun 2026 04:33:59 GMT" in the export's header:
# the age of the data, which is what geo307_geoip_build_epoch_seconds
# should show, and it makes the output reproducible.
sub header_epoch {
	my ($path) = @_;
	my %mon;
	@mon{qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)} = (0 .. 11);

	open(my $fh, '<', $path) or die "$path: $!\n";
	while (my $line = <$fh>) {
		last unless $line =~ /^#/;
		if ($line =~ /^#\s*Generated:\s*\w+,\s*(\d+)\s+(\w{3})\s+(\d{4})\s+(\d\d):(\d\d):(\d\d)/ &&
		    exists $mon{$2}) {
			close($fh);
			return timegm($6, $5, $4, $1, $mon{$2}, $3);
		}
	}
	close($fh);
	return undef;
}

usage() unless @ARGV == 4;
my ($geoip4, $geoip6, $countries_tsv, $out) = @ARGV;
my $t0 = time();

my $continent = read_countries($countries_tsv);
my %record;		# one shared record per country: the writer dedups by key
my %types = (
	country		=> 'map',
	continent	=> 'map',
	iso_code	=> 'utf8_string',
	code		=> 'utf8_string',
);
my $epoch = header_epoch($geoip4) // $ENV{SOURCE_DATE_EPOCH};
my $generated = defined $epoch ?
    ' (export of ' . gmtime($epoch) . ' UTC)' : '';

my $tree = MaxMind::DB::Writer::Tree->new(
	ip_version		=> 6,
	record_size		=> 24,
	database_type		=> 'geo307-IPFire-Country',
	languages		=> ['en'],
	description		=> {
		en => 'Country and continent by IP address, built by geo307 ' .
		    'from the IPFire Location database' . $generated .
		    ' as shipped in Debian\'s tor-geoipdb package ' .
		    '(https://location.ipfire.org/). ' .
		    'Licence: CC BY-SA 4.0, ' .
		    'https://creativecommons.org/licenses/by-sa/4.0/',
	},
	alias_ipv6_to_ipv4	=> 1,
	remove_reserved_networks => 1,
	map_key_type_callback	=> sub {
		my $t = $types{ $_[0] };
		die "build-geoip.pl: no type for key $_[0]\n" unless $t;
		return $t;
	},
);
# Private, so only when present: a newer writer may lack it.
$tree->_set_build_epoch($epoch)
    if defined $epoch && $epoch =~ /^\d+$/ && $tree->can('_set_build_epoch');

my %n = (read => 0, inserted => 0, unknown => 0, aliased => 0);
my %unknown_code;

sub record_for {
	my ($cc) = @_;

	$cc = $TRANSLATE{$cc} if exists $TRANSLATE{$cc};
	my $cont = $continent->{$cc};
	return undef unless defined $cont;
	return $record{$cc} //= {
		country		=> { iso_code => $cc },
		continent	=> { code => $cont },
	};
}

sub load {
	my ($path, $v6) = @_;

	open(my $fh, '<', $path) or die "$path: $!\n";
	while (my $line = <$fh>) {
		next if $line =~ /^#/ || $line =~ /^\s*$/;
		$line =~ s/\r?\n\z//;
		my ($first, $last, $cc) = split /,/, $line, 3;
		die "$path:$.: expected first,last,CC\n"
		    unless defined $cc && $cc =~ /^(?:[A-Z0-9]{2}|\?\?)$/;
		$n{read}++;
		if ($cc eq '??') {
			$n{unknown}++;
			next;
		}
		my $data = record_for($cc);
		if (!defined $data) {
			$n{unknown}++;
			$unknown_code{$cc}++;
			next;
		}
		if ($v6) {
			my $lo = inet_pton(AF_INET6, $first);
			my $hi = inet_pton(AF_INET6, $last);
			die "$path:$.: bad range $first-$last\n"
			    unless defined $lo && defined $hi && $lo le $hi;
			if (grep { $lo le $_->[1] && $hi ge $_->[0] } @ALIASED) {
				$n{aliased}++;
				next;
			}
		} else {
			die "$path:$.: bad range $first-$last\n"
			    unless $first =~ /^\d+$/ && $last =~ /^\d+$/ &&
			    $first <= $last && $last <= 4294967295;
			$first = join('.', unpack('C4', pack('N', $first)));
			$last = join('.', unpack('C4', pack('N', $last)));
		}
		$tree->insert_range($first, $last, $data);
		$n{inserted}++;
	}
	close($fh);
}

load($geoip4, 0);
load($geoip6, 1);

my $tmp = "$out.tmp";
open(my $fh, '>:raw', $tmp) or die "$tmp: $!\n";
eval {
	$tree->write_tree($fh);
	close($fh) or die "$tmp: $!\n";
	rename($tmp, $out) or die "rename $tmp $out: $!\n";
	1;
} or do {
	my $err = $@;
	unlink($tmp);
	die $err;
};

my $codes = join(' ', map { "$_=$unknown_code{$_}" } sort keys %unknown_code);
printf STDERR "build-geoip.pl: %d ranges read, %d inserted, %d skipped " .
    "(%d unknown country%s, %d aliased), %.1f s -> %s\n",
    $n{read}, $n{inserted}, $n{unknown} + $n{aliased}, $n{unknown},
    ($codes ne '' ? " incl. $codes" : ''), $n{aliased}, time() - $t0, $out;
exit 0;
