#!/usr/bin/perl
# make_mmdb.pl -- write a small MaxMind DB in the GeoIP2/GeoLite2 City layout with
# Debian's libmaxmind-db-writer-perl, for the geo tests (never checked in: made at
# test time).
#
#   make_mmdb.pl OUT.mmdb [ipv4] < networks
#
# One network per input line: "NETWORK CONTINENT COUNTRY SUBDIVISION LAT LON",
# "-" for a field the record lacks ("10.1.0.0/16 NA US CA 37.4 -122.1",
# "10.9.0.0/16 EU DE - - -"). '#' starts a comment. With "ipv4" the database is
# IPv4-only (ip_version 4); otherwise IPv6 with IPv4 at ::/96, aliased from
# ::ffff:0:0/96 and 2002::/16 as MaxMind's own databases are.
# Exit status 2 (with a message) when the Perl module is missing, so that callers
# can print their SKIP line.
use strict;
use warnings;

BEGIN {
	eval { require MaxMind::DB::Writer::Tree; 1 } or do {
		print STDERR "MaxMind::DB::Writer::Tree not installed (Debian: libmaxmind-db-writer-perl)\n";
		exit 2;
	};
}

my ($out, $family) = @ARGV;
die "usage: make_mmdb.pl OUT.mmdb [ipv4] < networks\n" unless $out;
my $v4 = defined $family && $family eq 'ipv4';

my %types = (
	continent    => 'map',
	country      => 'map',
	subdivisions => [ 'array', 'map' ],
	location     => 'map',
	code         => 'utf8_string',
	iso_code     => 'utf8_string',
	latitude     => 'double',
	longitude    => 'double',
	names        => 'map',
	en           => 'utf8_string',
);

my $tree = MaxMind::DB::Writer::Tree->new(
	ip_version              => $v4 ? 4 : 6,
	record_size             => 28,
	database_type           => 'GeoIP2-City',
	languages               => ['en'],
	description             => { en => 'gslbd test database' },
	map_key_type_callback   => sub { $types{ $_[0] } },
	alias_ipv6_to_ipv4      => $v4 ? 0 : 1,
	remove_reserved_networks => 0,
);

while (my $line = <STDIN>) {
	$line =~ s/#.*//;
	my @f = split ' ', $line;
	next unless @f;
	die "line $.: expected NETWORK CONTINENT COUNTRY SUBDIVISION LAT LON\n" unless @f == 6;
	my ($net, $cont, $cc, $sub, $lat, $lon) = @f;
	my %rec;
	$rec{continent} = { code => $cont } if $cont ne '-';
	$rec{country} = { iso_code => $cc, names => { en => $cc } } if $cc ne '-';
	$rec{subdivisions} = [ { iso_code => $sub } ] if $sub ne '-';
	$rec{location} = { latitude => $lat + 0.0, longitude => $lon + 0.0 } if $lat ne '-';
	$tree->insert_network($net, \%rec);
}

open my $fh, '>:raw', $out or die "$out: $!\n";
$tree->write_tree($fh);
close $fh or die "$out: $!\n";
