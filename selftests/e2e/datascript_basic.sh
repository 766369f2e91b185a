#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# DataScripts end to end (issue 5): Lua scripts with Avi's avi.* API in the
# request path: header rewrite (seen by the server), path rewrite, A/B pool
# selection by cookie, redirect, local response, a per-client rate limit
# kept in avi.vs.table_*, a string group lookup carried from the request to
# the response in avi.vs.reqvar, the request log fields, and a syntax error
# rejected by the API with the script's path and line.

. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"

xt_lab 2
URL="http://$VIP4"
LOG="$XT_TMP/req.log"
C="$XT_TMP/cfg.json"

REQ_SCRIPT=$(cat <<'LUA'
local path = avi.http.get_path()
if path == "/old" then
  avi.http.redirect("/new", 301)
  return
end
if path == "/local" then
  avi.http.response(200, {["Content-Type"] = "text/plain", ["X-DS"] = "local"},
                    "hello from lua\n")
  return
end
if path == "/ab" then
  if avi.http.get_cookie("grp") == "b" then avi.pool.select("poolB")
  else avi.pool.select("poolA") end
end
if path == "/limited" then
  -- a per-client counter in the VS's table, 3 requests per minute
  local ip = avi.vs.client_ip()
  local n = avi.vs.table_lookup("hits", ip, false)
  n = (n or 0) + 1
  avi.vs.table_remove("hits", ip)
  avi.vs.table_insert("hits", ip, n, 60)
  if n > 3 then
    avi.http.response(429, {["Retry-After"] = "60"}, "slow down\n")
    return
  end
end
local v, m = avi.stringgroup.beginswith("routes", path)
if m then avi.vs.reqvar.route = v end
avi.http.add_header("X-DS-Req", "yes")
avi.http.remove_header("X-Remove-Me")
if path == "/rewrite" then avi.http.set_path("/rewritten") end
avi.vs.log("path", path)
LUA
)
RESP_SCRIPT=$(cat <<'LUA'
-- what the server received, read back from the request sent to it
avi.http.add_header("X-Seen-Req", tostring(avi.http.get_header("X-DS-Req", avi.HTTP_REQUEST)))
avi.http.add_header("X-Seen-Removed",
                    tostring(avi.http.get_header("X-Remove-Me", avi.HTTP_REQUEST)))
if avi.vs.reqvar.route then avi.http.add_header("X-Route", avi.vs.reqvar.route) end
avi.http.remove_header("Server")
LUA
)

python3 - "$C" "$VIP4" "$(backend_ip 1)" "$(backend_ip 2)" "$REQ_SCRIPT" "$RESP_SCRIPT" <<'PY'
import json, sys
out, vip, b1, b2, req, resp = sys.argv[1:7]
srv = lambda ip: [{"ip": {"addr": ip, "type": "V4"}, "port": 8080}]
doc = {
 "pool": [{"name": "poolA", "servers": srv(b1)}, {"name": "poolB", "servers": srv(b2)}],
 "stringgroup": [{"name": "routes", "type": "SG_TYPE_KEYVAL",
                  "kv": [{"key": "/api", "value": "api"}, {"key": "/api/v2", "value": "api-v2"}]}],
 "vsdatascriptset": [{"name": "ds-main",
   "datascript": [{"evt": "VS_DATASCRIPT_EVT_HTTP_REQ", "script": req},
                  {"evt": "VS_DATASCRIPT_EVT_HTTP_RESP", "script": resp}],
   "pool_refs": ["/api/pool?name=poolA", "/api/pool?name=poolB"],
   "string_group_refs": ["/api/stringgroup?name=routes"]}],
 "virtualservice": [{"name": "web-vs", "vip": [{"ip_address": {"addr": vip, "type": "V4"}}],
   "services": [{"port": 80}], "pool_ref": "/api/pool?name=poolA",
   "vs_datascripts": [{"index": 1, "vs_datascript_set_ref": "/api/vsdatascriptset?name=ds-main"}]}]}
json.dump(doc, open(out, "w"))
PY
res=$(api_curl -X PUT -H 'Content-Type: application/json' --data-binary @"$C" http://x/api/configuration)
ok "$(jq -e '.error == null' <<<"$res" >/dev/null && echo 0)" "configuration with a vsdatascriptset applied" ||
	diag "$(head -c 600 <<<"$res")"
wait_vip "$URL/" || xt_die "VIP never answered"

# header rewrite: added and removed request headers, as the server got them
hdrs=$(c_curl -D - -o /dev/null -H 'X-Remove-Me: secret' "$URL/plain")
like "$hdrs" 'X-Seen-Req: yes' "request header added by the script reached the server"
like "$hdrs" 'X-Seen-Removed: nil' "request header removed by the script did not"
ok "$(grep -qi '^Server:' <<<"$hdrs" || echo 0)" "response header removed"

# path rewrite
c_curl -o /dev/null "$URL/rewrite?q=1"
like "$(tail -n 1 "$XT_TMP/b1/access.log")" '"GET /rewritten\?q=1 HTTP/1.1"' "set_path: the server got /rewritten?q=1"

# A/B by cookie
is "$(xt_hits 4 "$URL/ab" -b grp=b | sort -u)" b2 "cookie grp=b: every request to poolB"
is "$(xt_hits 4 "$URL/ab" -b grp=a | sort -u)" b1 "other cookie: every request to poolA"

# redirect and local response never reach a server
is "$(c_curl -o /dev/null -w '%{http_code} %{redirect_url}' "$URL/old")" "301 http://$VIP4/new" "redirect 301"
body=$(c_curl -D "$XT_TMP/h" "$URL/local")
is "$body" "hello from lua" "local response body"
like "$(cat "$XT_TMP/h")" 'X-DS: local' "local response header"
is "$(xt_access_count 1 '/old|/local') $(xt_access_count 2 '/old|/local')" "0 0" \
	"redirected and answered requests never reached a server"

# per-client rate limit with avi.vs.table_*
codes=$(for i in 1 2 3 4 5; do c_curl -o /dev/null -w '%{http_code}\n' "$URL/limited"; done | tr '\n' ' ')
is "$codes" "200 200 200 429 429 " "client 1: three requests, then 429"
is "$(c_curl --interface "$CLIENT_IP2" -o /dev/null -w '%{http_code}' "$URL/limited")" 200 \
	"client 2 has its own counter"

# string group lookup carried to the response in reqvar
like "$(c_curl -D - -o /dev/null "$URL/api/v2/users")" 'X-Route: api-v2' \
	"stringgroup.beginswith longest match, via reqvar to the response"
ok "$(c_curl -D - -o /dev/null "$URL/other" | grep -qi '^X-Route' || echo 0)" "no match: no route"

# request log
sleep 0.5
line=$(grep '"/api/v2/users"' "$LOG" | tail -n1)
is "$(jq -r .datascript_log <<<"$line")" "path /api/v2/users" "datascript_log in the request log"

# a syntax error is refused with the script's path and line
jq '.vsdatascriptset[0].datascript[0].script = "local a = 1\nif then\n"' "$C" >"$XT_TMP/bad.json"
res=$(api_curl -X PUT -H 'Content-Type: application/json' --data-binary @"$XT_TMP/bad.json" http://x/api/configuration)
like "$(jq -r .error <<<"$res")" 'vsdatascriptset\[ds-main\]\.datascript\[0\]\.script: \[string "ds-main:HTTP_REQ"\]:2:' \
	"syntax error names the set, the script and the line"
is "$(c_curl "$URL/local")" "hello from lua" "the running configuration is unchanged"

# a pool the set does not reference is refused at run time, by name
jq '.vsdatascriptset[0].pool_refs = ["/api/pool?name=poolA"]' "$C" >"$XT_TMP/norefs.json"
res=$(api_curl -X PUT -H 'Content-Type: application/json' --data-binary @"$XT_TMP/norefs.json" http://x/api/configuration)
ok "$(jq -e '.error == null' <<<"$res" >/dev/null && echo 0)" "set without poolB applied"
sleep 0.3
is "$(c_curl -o /dev/null -w '%{http_code}' -b grp=b "$URL/ab")" 500 "select of an unreferenced pool: 500"
sleep 0.5
line=$(grep '"/ab"' "$LOG" | tail -n1)
like "$(jq -r .datascript_error_trace.error <<<"$line")" "pool 'poolB' is not in pool_refs" \
	"datascript_error_trace names the pool"
is "$(jq -r .significant <<<"$line")" true "the error marks the log significant"

done_testing
