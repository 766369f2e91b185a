#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# DataScript response body event end to end (issue 5): an HTTP_RESP_DATA
# script reads the held response body with avi.http.get_resp_body(),
# replaces a response whose body holds a word (avi.http.response) and
# otherwise adds a header with the body length before the head goes out;
# responses above resp_body_buffer_size run the event with the first bytes
# and still reach the client intact (md5 of the backends' 20 MB /big).

. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"

xt_lab 1
URL="http://$VIP4"
C="$XT_TMP/cfg.json"

# a backend that answers with a chunked body (nginx sends Content-Length
# for these files): "hello world" in two chunks, with "secret" under /word
cat >"$XT_TMP/chunked.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::INET;
$SIG{CHLD} = 'IGNORE';
my $l = IO::Socket::INET->new(LocalPort => 8081, Listen => 128, ReuseAddr => 1,
			      Proto => 'tcp') or die "listen: $!";
while (my $c = $l->accept) {
	my $pid = fork();
	next if !defined $pid;
	if ($pid) { close $c; next; }
	my $head = '';
	while ($head !~ /\r\n\r\n/) {
		my $n = sysread($c, my $buf, 4096);
		last if !$n;
		$head .= $buf;
	}
	my $second = $head =~ m{^GET /word } ? " secret" : " world";
	syswrite($c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" .
		 "5;ext=1\r\nhello\r\n" . sprintf("%x", length $second) . "\r\n$second\r\n0\r\n\r\n");
	close $c;
	exit 0;
}
PERL
xt_bg chunked "${BACKEND_NS[1]}" perl "$XT_TMP/chunked.pl"
wait_for 5 ip netns exec "${BACKEND_NS[1]}" bash -c "exec 3<>/dev/tcp/127.0.0.1/8081" 2>/dev/null ||
	xt_die "chunked server"

RESP_DATA_SCRIPT=$(cat <<'LUA'
local b = avi.http.get_resp_body()
if string.contains(b, "secret") then
  avi.http.response(451, {["X-DS"] = "resp-body"}, "withheld by body rule\n")
  return
end
avi.http.add_header("X-Resp-Len", tostring(#b))
local head = avi.http.get_resp_body(2)
if head:match("^[%w%p ]+$") then avi.http.add_header("X-Resp-Head", head) end
LUA
)

python3 - "$C" "$VIP4" "$(backend_ip 1)" "$RESP_DATA_SCRIPT" <<'PY'
import json, sys
out, vip, b1, data = sys.argv[1:5]
doc = {
 "pool": [{"name": "p1", "servers": [{"ip": {"addr": b1, "type": "V4"}, "port": 8080}]},
          {"name": "p2", "servers": [{"ip": {"addr": b1, "type": "V4"}, "port": 8081}]}],
 "vsdatascriptset": [{"name": "ds-rbody",
   "datascript": [{"evt": "VS_DATASCRIPT_EVT_HTTP_RESP_DATA", "script": data}]}],
 "virtualservice": [{"name": "rbody-vs", "vip": [{"ip_address": {"addr": vip, "type": "V4"}}],
   "services": [{"port": 80}], "pool_ref": "/api/pool?name=p1",
   "vs_datascripts": [{"index": 1, "vs_datascript_set_ref": "/api/vsdatascriptset?name=ds-rbody"}]},
  {"name": "rbody-chunked", "vip": [{"ip_address": {"addr": vip, "type": "V4"}}],
   "services": [{"port": 8081}], "pool_ref": "/api/pool?name=p2",
   "vs_datascripts": [{"index": 1, "vs_datascript_set_ref": "/api/vsdatascriptset?name=ds-rbody"}]}]}
json.dump(doc, open(out, "w"))
PY
res=$(api_curl -X PUT -H 'Content-Type: application/json' --data-binary @"$C" http://x/api/configuration)
ok "$(jq -e '.error == null' <<<"$res" >/dev/null && echo 0)" "configuration with an HTTP_RESP_DATA script applied" ||
	diag "$(head -c 600 <<<"$res")"
wait_vip "$URL/" || xt_die "VIP never answered"

md5_of() { md5sum <"$1" | cut -d' ' -f1; }

# a small response: the header carries the body length, the body is unchanged
h=$(c_curl -D - -o "$XT_TMP/small" "$URL/")
like "$h" 'HTTP/1.1 200' "GET / answered by the server"
like "$h" 'X-Resp-Len: 3' "the script saw the 3-byte body (X-Resp-Len)"
like "$h" 'X-Resp-Head: b1' "get_resp_body(2): the first 2 bytes"
is "$(cat "$XT_TMP/small")" "b1" "the body reached the client unchanged"

# HEAD has no body: the event does not run
h=$(c_curl -I "$URL/")
like "$h" 'HTTP/1.1 200' "HEAD / answered"
ok "$(grep -qi '^X-Resp-Len' <<<"$h" || echo 0)" "no response body: HTTP_RESP_DATA does not run"

# a stored file with the word: the server's response is replaced
printf 'this file is top secret\n' >"$XT_TMP/b1/upload/s.txt"
printf 'nothing to hide\n' >"$XT_TMP/b1/upload/p.txt"
out=$(c_curl -D "$XT_TMP/h451" "$URL/upload/s.txt")
is "$(xt_status "$(cat "$XT_TMP/h451")")" 451 "a response body with the word is replaced (451)"
is "$out" "withheld by body rule" "the script's response body"
like "$(cat "$XT_TMP/h451")" 'X-DS: resp-body' "the script's response header"
h=$(c_curl -D - -o /dev/null "$URL/upload/p.txt")
like "$h" 'X-Resp-Len: 16' "a file without the word passes with its length"

# keep-alive after a replaced response: the next request on the connection works
codes=$(c_curl -o /dev/null -w '%{http_code} %{num_connects} ' "$URL/upload/s.txt" \
	--next -o /dev/null -w '%{http_code} %{num_connects}' "$URL/upload/p.txt")
is "$codes" "451 1 200 0" "after a replaced response the connection serves the next request"

# a chunked response: the script sees the de-chunked data, the client the
# same body; the word in the second chunk is found
h=$(c_curl -D - -o "$XT_TMP/chunked.out" "http://$VIP4:8081/")
like "$h" 'X-Resp-Len: 11' "chunked response: the script saw the de-chunked 11 bytes" || diag "$h"
is "$(cat "$XT_TMP/chunked.out")" "hello world" "chunked body reached the client intact"
code=$(c_curl -o /dev/null -w '%{http_code}' "http://$VIP4:8081/word")
is "$code" 451 "chunked response with the word in a later chunk replaced"

# 20 MB download: the event sees the first 64 KiB, the client gets it all
h=$(c_curl -D - -o "$XT_TMP/big.out" "$URL/big")
like "$h" 'X-Resp-Len: 65536' "20 MB response: the script saw the first 64 KiB" || diag "$h"
is "$(md5_of "$XT_TMP/big.out")" "$(md5_of "$XT_TMP/www/big")" "20 MB response arrived intact (md5)"

# a larger bound, and the hard maximum refused by name
jq '.vsdatascriptset[0].resp_body_buffer_size = 1048576' "$C" >"$XT_TMP/c2.json"
res=$(api_curl -X PUT -H 'Content-Type: application/json' --data-binary @"$XT_TMP/c2.json" http://x/api/configuration)
ok "$(jq -e '.error == null' <<<"$res" >/dev/null && echo 0)" "resp_body_buffer_size 1 MiB applied"
sleep 0.3
h=$(c_curl -D - -o "$XT_TMP/big2.out" "$URL/big")
like "$h" 'X-Resp-Len: 1048576' "1 MiB bound: the script saw 1048576 bytes"
is "$(md5_of "$XT_TMP/big2.out")" "$(md5_of "$XT_TMP/www/big")" "and the client got all 20 MB (md5)"
jq '.vsdatascriptset[0].resp_body_buffer_size = 2000000' "$C" >"$XT_TMP/c3.json"
res=$(api_curl -X PUT -H 'Content-Type: application/json' --data-binary @"$XT_TMP/c3.json" http://x/api/configuration)
like "$(jq -r .error <<<"$res")" 'resp_body_buffer_size' "a bound above 1 MiB is refused, naming the field"

done_testing
