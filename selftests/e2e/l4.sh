#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# An L4 virtual service (System-L4-Application) proxies raw TCP.

. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"

xt_lab 2
C="$XT_TMP/cfg.json"
xt_badserver echo1 "${BACKEND_NS[1]}" 7000 echo || xt_die "echo server"

L4='"application_profile_ref": "/api/applicationprofile?name=System-L4-Application"'
cat >"$C" <<JSON
{"pool": [{"name": "web", "lb_algorithm": "LB_ALGORITHM_ROUND_ROBIN", "servers": [$(xt_srv 1),$(xt_srv 2)]},
	  {"name": "echo", "servers": [$(xt_srv 1 1 7000)]}],
 "virtualservice": [
	{"name": "l4-web", "vip": [{"ip_address": {"addr": "$VIP4", "type": "V4"}}],
	 "services": [{"port": 80}], "pool_ref": "/api/pool?name=web", $L4},
	{"name": "l4-echo", "vip": [{"ip_address": {"addr": "$VIP4", "type": "V4"}}],
	 "services": [{"port": 7000}], "pool_ref": "/api/pool?name=echo", $L4}]}
JSON
xt_apply "$C" || xt_die "apply"
wait_vip "http://$VIP4/" || xt_die "VIP never answered"

st=$(xadcctl_se -j status | jq -r '.virtualservices[] | select(.name == "l4-web") | .type')
is "$st" L4 "status shows l4-web as an L4 virtual service"

hits=$(xt_hits 10 "http://$VIP4/")
is "$(sort -u <<<"$hits" | tr '\n' ' ')" "b1 b2 " "HTTP through the L4 VS reaches both backends (per connection)"
n=$(c_curl -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects}\n' \
	"http://$VIP4/" "http://$VIP4/echo" "http://$VIP4/" | awk '{s += $1} END {print s}')
is "$n" 1 "keep-alive through L4: 3 requests on 1 connection"
xff=$(c_curl -o /dev/null -w '%header{x-seen-xff}' "http://$VIP4/echo")
is "$xff" "" "L4 does not touch HTTP (no X-Forwarded-For added)"

got=$(c_curl "http://$VIP4/big" | md5sum | cut -d' ' -f1)
is "$got" "$(md5sum <"$XT_TMP/www/big" | cut -d' ' -f1)" "20 MB download through L4: md5 matches"

# Raw TCP: 1 MB of random bytes through the echo service comes back intact.
head -c $((1024 * 1024)) /dev/urandom >"$XT_TMP/echo.in"
cat >"$XT_TMP/echo.pl" <<'PERL'
use strict;
use IO::Socket::INET;
my ($host, $port, $in, $out) = @ARGV;
my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Timeout => 5) or die "connect: $!";
open(my $fh, '<:raw', $in) or die;
my $data = do { local $/; <$fh> };
$SIG{ALRM} = sub { die "timeout\n" };
alarm 20;
my $pid = fork();
if (!$pid) {
	my $off = 0;
	while ($off < length $data) { my $n = syswrite($s, $data, 65536, $off); die "write: $!" if !$n; $off += $n; }
	shutdown($s, 1);
	exit 0;
}
open(my $o, '>:raw', $out) or die;
while (my $n = sysread($s, my $buf, 65536)) { print $o $buf; }
close $o;
waitpid($pid, 0);
PERL
c_exec perl "$XT_TMP/echo.pl" "$VIP4" 7000 "$XT_TMP/echo.in" "$XT_TMP/echo.out" 2>"$XT_TMP/echo.err"
is "$(md5sum <"$XT_TMP/echo.out" | cut -d' ' -f1)" "$(md5sum <"$XT_TMP/echo.in" | cut -d' ' -f1)" \
	"raw TCP echo through L4: 1 MB comes back byte for byte"

xadcd_alive
ok $? "xadcd still running"
done_testing
