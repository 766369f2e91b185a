#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0
#
# idleconn.pl - hold N idle keep-alive HTTP/1.1 client connections.
#
# Usage: idleconn.pl HOST PORT PATH N STATUSFILE HOLD_SECONDS
#
# Opens N TCP connections one after the other, sends one keep-alive GET on
# each and reads the whole response (Content-Length framed), so the proxy
# has really parsed a request and answered it on every connection (an
# accepted-but-silent socket would cost a proxy less than a real idle
# keep-alive client). Then writes "ready OK FAILED" to STATUSFILE and idles
# until killed or HOLD_SECONDS pass. Sequential opening keeps the accept
# backlog out of the picture.
use strict;
use warnings;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);

my ($host, $port, $path, $n, $status, $hold) = @ARGV;
die "usage: $0 HOST PORT PATH N STATUSFILE HOLD_SECONDS\n"
	unless defined $hold && $n =~ /^\d+$/ && $hold =~ /^\d+$/;

my @socks;
my $failed = 0;
my $req = "GET $path HTTP/1.1\r\nHost: $host\r\nUser-Agent: xadc-bench-idle\r\n\r\n";

# read_response SOCK: read one Content-Length framed response; 1 if 2xx.
sub read_response {
	my ($s) = @_;
	my $buf = '';
	while ($buf !~ /\r\n\r\n/) {
		my $r = sysread($s, $buf, 4096, length $buf);
		return 0 unless $r;
	}
	my ($head, $body) = split /\r\n\r\n/, $buf, 2;
	my ($len) = $head =~ /^content-length:\s*(\d+)/mi;
	$len //= 0;
	while (length($body) < $len) {
		my $r = sysread($s, $body, 4096, length $body);
		return 0 unless $r;
	}
	return $head =~ m{^HTTP/1\.1 2\d\d} ? 1 : 0;
}

for my $i (1 .. $n) {
	my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
				      Proto => 'tcp', Timeout => 5);
	unless ($s) {
		$failed++;
		next;
	}
	setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
	if (!syswrite($s, $req) || !read_response($s)) {
		$failed++;
		close $s;
		next;
	}
	push @socks, $s;
}

open my $fh, '>', "$status.tmp" or die "$status.tmp: $!\n";
printf $fh "ready %d %d\n", scalar(@socks), $failed;
close $fh;
rename "$status.tmp", $status or die "rename $status: $!\n";

$SIG{TERM} = sub { exit 0 };
sleep $hold;
exit 0;
