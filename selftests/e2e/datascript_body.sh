#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# DataScript request body events end to end (issue 5): an HTTP_REQ_DATA
# script reads the held body with avi.http.get_req_body(), refuses a body
# with a word in it (local 403, never reaches a server) and tells the
# server the body length in a header; chunked bodies are seen de-chunked;
# bodies above req_body_buffer_size run the event with the first bytes and
# still reach the server intact (md5 at the backend's WebDAV store).

. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"

xt_lab 1
URL="http://$VIP4"
C="$XT_TMP/cfg.json"

DATA_SCRIPT=$(cat <<'LUA'
local b = avi.http.get_req_body()
if string.contains(b, "forbidden") then
  avi.http.response(403, {["X-DS"] = "body"}, "blocked by body rule\n")
  return
end
avi.http.add_header("X-Body-Len", tostring(#b))
-- binary bodies would make an invalid field value: printable heads only
local head = avi.http.get_req_body(4)
if head:match("^[%w%p ]+$") then avi.http.add_header("X-Body-Head", head) end
LUA
)
RESP_SCRIPT=$(cat <<'LUA'
avi.http.add_header("X-Seen-Len", tostring(avi.http.get_header("X-Body-Len", avi.HTTP_REQUEST)))
avi.http.add_header("X-Seen-Head", tostring(avi.http.get_header("X-Body-Head", avi.HTTP_REQUEST)))
LUA
)

python3 - "$C" "$VIP4" "$(backend_ip 1)" "$DATA_SCRIPT" "$RESP_SCRIPT" <<'PY'
import json, sys
out, vip, b1, data, resp = sys.argv[1:6]
doc = {
 "pool": [{"name": "p1", "servers": [{"ip": {"addr": b1, "type": "V4"}, "port": 8080}]}],
 "vsdatascriptset": [{"name": "ds-body",
   "datascript": [{"evt": "VS_DATASCRIPT_EVT_HTTP_REQ_DATA", "script": data},
                  {"evt": "VS_DATASCRIPT_EVT_HTTP_RESP", "script": resp}]}],
 "virtualservice": [{"name": "body-vs", "vip": [{"ip_address": {"addr": vip, "type": "V4"}}],
   "services": [{"port": 80}], "pool_ref": "/api/pool?name=p1",
   "vs_datascripts": [{"index": 1, "vs_datascript_set_ref": "/api/vsdatascriptset?name=ds-body"}]}]}
json.dump(doc, open(out, "w"))
PY
res=$(api_curl -X PUT -H 'Content-Type: application/json' --data-binary @"$C" http://x/api/configuration)
ok "$(jq -e '.error == null' <<<"$res" >/dev/null && echo 0)" "configuration with an HTTP_REQ_DATA script applied" ||
	diag "$(head -c 600 <<<"$res")"
wait_vip "$URL/" || xt_die "VIP never answered"

md5_of() { md5sum <"$1" | cut -d' ' -f1; }

# a JSON body: the server is told its length; the log-free check is the
# header the server got, read back by the response script
json='{"user":"alice","items":[1,2,3]}'
h=$(c_curl -D - -o /dev/null -X PUT -H 'Content-Type: application/json' --data-binary "$json" \
	"$URL/upload/a.json")
like "$h" 'HTTP/1.1 20[14]' "JSON PUT answered by the server"
like "$h" "X-Seen-Len: ${#json}" "the server got X-Body-Len = body length (${#json})"
like "$h" 'X-Seen-Head: \{"us' "get_req_body(4): the first 4 bytes"
is "$(cat "$XT_TMP/b1/upload/a.json")" "$json" "the body reached the server unchanged"

# a body with the word: local 403, nothing stored
out=$(c_curl -D "$XT_TMP/h403" -X PUT --data-binary '{"note":"this is forbidden"}' "$URL/upload/bad.json")
is "$(xt_status "$(cat "$XT_TMP/h403")")" 403 "a body containing the word is refused with 403"
is "$out" "blocked by body rule" "the script's response body"
ok "$([ ! -e "$XT_TMP/b1/upload/bad.json" ] && echo 0)" "the refused body never reached the server"

# keep-alive after a refused complete body: the next request on the same connection works
codes=$(c_curl -o /dev/null -w '%{http_code} %{num_connects} ' -X PUT --data-binary 'forbidden' \
	"$URL/upload/k1" --next -o /dev/null -w '%{http_code} %{num_connects}' -X PUT \
	--data-binary 'fine' "$URL/upload/k2")
like "$codes" '^403 1 20[14] 0$' "after a 403 on a complete body the connection serves the next request"

# chunked upload: the script sees the de-chunked data
h=$(c_curl -D - -o /dev/null -X PUT -H 'Transfer-Encoding: chunked' --data-binary "$json" \
	"$URL/upload/c.json")
like "$h" "X-Seen-Len: ${#json}" "chunked body: the script saw the de-chunked ${#json} bytes"
is "$(cat "$XT_TMP/b1/upload/c.json" 2>/dev/null)" "$json" "chunked body stored intact"
code=$(c_curl -o /dev/null -w '%{http_code}' -X PUT -H 'Transfer-Encoding: chunked' \
	--data-binary 'abc forbidden xyz' "$URL/upload/c-bad")
is "$code" 403 "chunked body with the word refused"

# above the bound (64 KiB default): the event sees the first 65536 bytes,
# the whole 3 MB still reaches the server
head -c 3000000 /dev/urandom >"$XT_TMP/big.bin"
h=$(c_curl -D - -o /dev/null -X PUT --data-binary @"$XT_TMP/big.bin" "$URL/upload/big.bin")
like "$h" 'X-Seen-Len: 65536' "3 MB body: the script saw the first 64 KiB" || diag "$h"
is "$(md5_of "$XT_TMP/b1/upload/big.bin")" "$(md5_of "$XT_TMP/big.bin")" "3 MB body stored intact (md5)"
h=$(c_curl -D - -o /dev/null -X PUT -H 'Transfer-Encoding: chunked' -H 'Expect: 100-continue' \
	--data-binary @"$XT_TMP/big.bin" "$URL/upload/bigc.bin")
like "$h" 'HTTP/1.1 100 Continue' "Expect: 100-continue answered while the body is held"
is "$(md5_of "$XT_TMP/b1/upload/bigc.bin")" "$(md5_of "$XT_TMP/big.bin")" \
	"3 MB chunked body stored intact (md5)"

# a larger bound, and the hard maximum refused by name
jq '.vsdatascriptset[0].req_body_buffer_size = 1048576' "$C" >"$XT_TMP/c2.json"
res=$(api_curl -X PUT -H 'Content-Type: application/json' --data-binary @"$XT_TMP/c2.json" http://x/api/configuration)
ok "$(jq -e '.error == null' <<<"$res" >/dev/null && echo 0)" "req_body_buffer_size 1 MiB applied"
sleep 0.3
h=$(c_curl -D - -o /dev/null -X PUT --data-binary @"$XT_TMP/big.bin" "$URL/upload/big2.bin")
like "$h" 'X-Seen-Len: 1048576' "1 MiB bound: the script saw 1048576 bytes"
is "$(md5_of "$XT_TMP/b1/upload/big2.bin")" "$(md5_of "$XT_TMP/big.bin")" "and the server got all 3 MB (md5)"
jq '.vsdatascriptset[0].req_body_buffer_size = 2000000' "$C" >"$XT_TMP/c3.json"
res=$(api_curl -X PUT -H 'Content-Type: application/json' --data-binary @"$XT_TMP/c3.json" http://x/api/configuration)
like "$(jq -r .error <<<"$res")" 'req_body_buffer_size' "a bound above 1 MiB is refused, naming the field"

done_testing
