#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Requests the proxy must refuse itself (never forwarded): smuggling
# vectors -> 400 and the connection closed; header limits -> 431; an
# unsupported HTTP version -> 505.

. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"

xt_lab 1
URL="http://$VIP4/"
C="$XT_TMP/cfg.json"

APP='"applicationprofile": [{"name": "xt-http", "type": "APPLICATION_PROFILE_TYPE_HTTP", "http_profile": {"client_max_header_size": 8, "max_header_count": 32}}]'
xt_web_config "$C" "$(xt_srv 1)" '' '"application_profile_ref": "/api/applicationprofile?name=xt-http"' "$APP"
xt_apply "$C" || xt_die "apply"
wait_vip "$URL" || xt_die "VIP $URL never answered"

# reject NAME EXPECTED_STATUS REQUEST: the proxy answers EXPECTED_STATUS,
# closes the connection and the backend never sees the request.
reject()
{
	local name=$1 want=$2 req=$3 resp
	resp=$(xt_raw_str "$VIP4" 80 "$req")
	is "$(xt_status "$resp")" "$want" "$name: answered $want"
	is "$(tail -n1 <<<"$resp")" "__EOF__" "$name: connection closed after the error"
}

H='Host: x\r\n'
reject "CL+TE" 400 "POST /smuggle-1 HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
reject "duplicate Content-Length" 400 "POST /smuggle-2 HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"
reject "bad chunk size" 400 "POST /smuggle-3 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
reject "obs-fold" 400 "GET /smuggle-4 HTTP/1.1\r\n${H}X-Folded: a\r\n b\r\n\r\n"
reject "space before colon" 400 "GET /smuggle-5 HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n"
# nginx logs a request when its connection ends, which can trail the
# proxy's 400 a little: give a forwarded request time to show up.
sleep 1
is "$(xt_access_count 1 smuggle)" 0 "smuggling: the backend access log shows none of them" ||
	diag "backend saw: $(grep smuggle "$XT_TMP/b1/access.log")"

big=$(head -c 12000 /dev/zero | tr '\0' a)
reject "oversize header (12 KB > 8 KB)" 431 "GET /big-header HTTP/1.1\r\n${H}X-Big: $big\r\n\r\n"
many=
for i in $(seq 1 40); do many+="X-H$i: v\r\n"; done
reject "40 headers > max_header_count 32" 431 "GET /many-headers HTTP/1.1\r\n${H}$many\r\n"
reject "HTTP/2.0 request line" 505 "GET /v2 HTTP/2.0\r\n${H}\r\n"
is "$(xt_access_count 1 'big-header|many-headers|/v2')" 0 "limits: the backend saw none of the refused requests"

# A sane request on the same VIP still works.
resp=$(xt_raw_str "$VIP4" 80 "GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n")
is "$(xt_status "$resp")" 200 "a well-formed request after all that is answered 200"

xadcd_alive
ok $? "xadcd still running"
done_testing
