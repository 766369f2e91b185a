#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# HTTP/1.1 proxy features: X-Forwarded-For, client keep-alive, pipelining,
# chunked and 100-continue uploads, a large download, an IPv6 VIP.

. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"

xt_lab 2
URL="http://$VIP4/"
C="$XT_TMP/cfg.json"

APP='"applicationprofile": [{"name": "xt-http", "type": "APPLICATION_PROFILE_TYPE_HTTP", "http_profile": {"xff_enabled": true}}]'
XT_VIP6=1 xt_web_config "$C" "$(xt_srv 1),$(xt_srv 2)" '"lb_algorithm": "LB_ALGORITHM_ROUND_ROBIN"' \
	'"application_profile_ref": "/api/applicationprofile?name=xt-http"' "$APP"
xt_apply "$C" || xt_die "apply"
wait_vip "$URL" || xt_die "VIP $URL never answered"

# --- X-Forwarded-For --------------------------------------------------------
xff=$(c_curl -o /dev/null -w '%header{x-seen-xff}' "${URL}echo")
is "$xff" "$CLIENT_IP" "xff: the backend sees the client address in X-Forwarded-For"
xff=$(c_curl -o /dev/null -w '%header{x-seen-xff}' -H 'X-Forwarded-For: 1.2.3.4' "${URL}echo")
is "$xff" "1.2.3.4, $CLIENT_IP" "xff: appended to the client's own X-Forwarded-For"

# --- client keep-alive -----------------------------------------------------
n=$(c_curl -o /dev/null -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects}\n' \
	"$URL" "${URL}echo" "${URL}health" "$URL" | awk '{s += $1} END {print s}')
is "$n" 1 "keep-alive: 4 requests from one curl use 1 connection"

# --- pipelining --------------------------------------------------------------
cat >"$XT_TMP/pipe.pl" <<'PERL'
use strict;
use IO::Socket::INET;
my $s = IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => 80, Timeout => 5) or die "connect: $!";
syswrite($s, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n" .
	     "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
my $all = '';
local $SIG{ALRM} = sub { print $all; exit 0 };
alarm 10;
while (sysread($s, my $buf, 65536)) { $all .= $buf; }
print $all;
PERL
resp=$(c_exec perl "$XT_TMP/pipe.pl" "$VIP4" 2>&1)
n=$(grep -c '^HTTP/1.1 200' <<<"$resp")
is "$n" 2 "pipelining: two requests in one write get two 200 responses"
order=$(grep -oE '^(ok|xff=)' <<<"$resp" | tr '\n' ' ')
is "$order" "ok xff= " "pipelining: responses come back in request order"

# --- large download --------------------------------------------------------
got=$(c_curl "${URL}big" | md5sum | cut -d' ' -f1)
is "$got" "$(md5sum <"$XT_TMP/www/big" | cut -d' ' -f1)" "download: 20 MB body md5 matches"

# --- uploads -----------------------------------------------------------------
head -c $((20 * 1024 * 1024)) /dev/urandom >"$XT_TMP/up.bin"
want=$(md5sum <"$XT_TMP/up.bin" | cut -d' ' -f1)
# uploaded_md5 HDRFILE NAME: md5 of the file the answering backend stored.
uploaded_md5()
{
	local b
	b=$(grep -i '^x-backend:' "$1" | awk '{print $2}' | tr -d '\r')
	md5sum <"$XT_TMP/$b/upload/$2" 2>/dev/null | cut -d' ' -f1
}
code=$(c_curl -o /dev/null -D "$XT_TMP/h1" -w '%{http_code}' -T "$XT_TMP/up.bin" \
	-H 'Transfer-Encoding: chunked' "${URL}upload/chunked.bin")
like "$code" '^20[14]$' "chunked upload: 20 MB PUT answered 201/204"
is "$(uploaded_md5 "$XT_TMP/h1" chunked.bin)" "$want" "chunked upload: the backend stored the exact bytes (md5)"

code=$(c_curl -v -o /dev/null -D "$XT_TMP/h2" -w '%{http_code}' -X PUT -H 'Expect: 100-continue' \
	--data-binary @"$XT_TMP/up.bin" "${URL}upload/expect.bin" 2>"$XT_TMP/expect.err")
like "$code" '^20[14]$' "100-continue: 20 MB upload with Expect answered 201/204"
like "$(cat "$XT_TMP/expect.err")" '< HTTP/1.1 100 Continue' "100-continue: the client got an interim 100 Continue"
is "$(uploaded_md5 "$XT_TMP/h2" expect.bin)" "$want" "100-continue: the backend stored the exact bytes (md5)"

# --- IPv6 VIP -------------------------------------------------------------------
body=$(c_curl "http://[$VIP6]/")
like "$body" '^b[12]$' "IPv6 VIP: GET through [$VIP6] answered by a backend"
xff=$(c_curl -o /dev/null -w '%header{x-seen-xff}' "http://[$VIP6]/echo")
is "$xff" "$CLIENT_IP6" "IPv6 VIP: X-Forwarded-For carries the client's IPv6 address"

xadcd_alive
ok $? "xadcd still running"
done_testing
