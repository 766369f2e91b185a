#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# DataScripts that misbehave (issue 5): an endless loop, a memory bomb, a
# runaway recursion, a runtime error and sandbox escapes each end their own
# request with a 500 and a datascript_error_trace, while another client is
# served without a single failure at the same time on the same workers.
# Also the other events: TCP_CLIENT_ACCEPT closing a client's connections,
# HTTP_LB_FAILED answering instead of the 503, HTTP_RESP_FAILED answering
# instead of the 502 when the server refuses the connection.

. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"

xt_lab 1
URL="http://$VIP4"
LOG="$XT_TMP/req.log"
C="$XT_TMP/cfg.json"

REQ_SCRIPT=$(cat <<'LUA'
local p = avi.http.get_path()
if p == "/loop" then while true do end
elseif p == "/bomb" then local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 4096) .. i end
elseif p == "/deep" then local function f(n) return f(n + 1) + 1 end f(1)
elseif p == "/err" then error("broken on purpose")
elseif p == "/escape" then io.open("/etc/shadow")
elseif p == "/exec" then os.execute("touch /tmp/ds-pwned")
end
avi.http.add_header("X-OK", "1")
LUA
)
ACCEPT_SCRIPT='if avi.vs.client_ip() == "'"$CLIENT_IP2"'" then avi.vs.close_conn() end'
LBF_SCRIPT='avi.http.response(503, {["Content-Type"] = "text/plain"}, "maintenance: " .. avi.http.get_path() .. "\n")'
RF_SCRIPT='avi.http.response(503, {["X-Sorry"] = "1"}, "sorry: " .. avi.http.get_path() .. "\n")'

python3 - "$C" "$VIP4" "$(backend_ip 1)" "$REQ_SCRIPT" "$ACCEPT_SCRIPT" "$LBF_SCRIPT" "$RF_SCRIPT" <<'PY'
import json, sys
out, vip, b1, req, acc, lbf, rf = sys.argv[1:8]
v = lambda port: [{"ip_address": {"addr": vip, "type": "V4"}}]
doc = {
 "pool": [{"name": "web", "servers": [{"ip": {"addr": b1, "type": "V4"}, "port": 8080}]},
          {"name": "off", "servers": [{"ip": {"addr": b1, "type": "V4"}, "port": 8080,
                                        "enabled": False}]},
          {"name": "dead", "servers": [{"ip": {"addr": b1, "type": "V4"}, "port": 9}]}],
 "vsdatascriptset": [
   {"name": "hostile", "datascript_timeout": 2000000,
    "datascript": [{"evt": "VS_DATASCRIPT_EVT_HTTP_REQ", "script": req}]},
   {"name": "gate",
    "datascript": [{"evt": "VS_DATASCRIPT_EVT_TCP_CLIENT_ACCEPT", "script": acc},
                   {"evt": "VS_DATASCRIPT_EVT_HTTP_LB_FAILED", "script": lbf}]},
   {"name": "sorry",
    "datascript": [{"evt": "VS_DATASCRIPT_EVT_HTTP_RESP_FAILED", "script": rf}]}],
 "virtualservice": [
   {"name": "web-vs", "vip": v(80), "services": [{"port": 80}], "pool_ref": "/api/pool?name=web",
    "vs_datascripts": [{"index": 1, "vs_datascript_set_ref": "/api/vsdatascriptset?name=hostile"}]},
   {"name": "gate-vs", "vip": v(81), "services": [{"port": 81}], "pool_ref": "/api/pool?name=off",
    "vs_datascripts": [{"index": 1, "vs_datascript_set_ref": "/api/vsdatascriptset?name=gate"}]},
   {"name": "dead-vs", "vip": v(82), "services": [{"port": 82}], "pool_ref": "/api/pool?name=dead",
    "vs_datascripts": [{"index": 1, "vs_datascript_set_ref": "/api/vsdatascriptset?name=sorry"}]}]}
json.dump(doc, open(out, "w"))
PY
res=$(api_curl -X PUT -H 'Content-Type: application/json' --data-binary @"$C" http://x/api/configuration)
ok "$(jq -e '.error == null' <<<"$res" >/dev/null && echo 0)" "hostile scripts applied" ||
	diag "$(head -c 600 <<<"$res")"
wait_vip "$URL/" || xt_die "VIP never answered"

# Hostile requests from client 2 in the background, normal ones from client 1.
for p in loop bomb deep err escape exec; do
	for i in 1 2 3; do
		echo "$URL/$p"
	done
done >"$XT_TMP/hostile.urls"
( while read -r u; do
	c_curl --interface "$CLIENT_IP2" -o /dev/null -w "%{http_code} $u\n" "$u"
  done <"$XT_TMP/hostile.urls" >"$XT_TMP/hostile.out" ) &
HPID=$!
good=0
for i in $(seq 1 60); do
	[ "$(c_curl -o /dev/null -w '%{http_code}' "$URL/normal/$i")" == 200 ] && good=$((good + 1))
done
wait "$HPID"
is "$good" 60 "client 1: all 60 requests served while hostile scripts ran"
is "$(awk '{print $1}' "$XT_TMP/hostile.out" | sort | uniq -c | awk '{print $1, $2}')" "18 500" \
	"every hostile request ended with a 500"
ok "$(xadcd_alive && echo 0)" "xadcd still running"
ok "$([ ! -e /tmp/ds-pwned ] && echo 0)" "os.execute did not run anything"
is "$(c_curl "$URL/after")" "b1" "served normally afterwards"

sleep 0.5
trace() { grep "\"$1\"" "$LOG" | tail -n1 | jq -r '.datascript_error_trace.error'; }
like "$(trace /loop)" 'instruction budget of 2000000' "loop: budget error logged"
like "$(trace /bomb)" 'memory limit' "bomb: memory error logged"
like "$(trace /deep)" 'memory limit|stack overflow' "recursion: stopped"
like "$(trace /err)" 'hostile:HTTP_REQ"\]:5: broken on purpose' "error(): message with line"
like "$(trace /escape)" "global 'io'" "io is not there"
line=$(grep '"/err"' "$LOG" | tail -n1)
is "$(jq -r .datascript_error_trace.event <<<"$line")" VS_DATASCRIPT_EVT_HTTP_REQ "trace event"
like "$(jq -r .datascript_error_trace.stack_trace <<<"$line")" 'in main chunk' "trace stack"

# TCP_CLIENT_ACCEPT: client 2's connections are closed, client 1 reaches LB_FAILED
is "$(c_curl --interface "$CLIENT_IP2" -o /dev/null -w '%{http_code}' "http://$VIP4:81/x" 2>/dev/null)" 000 \
	"TCP_CLIENT_ACCEPT closed client 2's connection"
body=$(c_curl -w ' %{http_code}' "http://$VIP4:81/lbf")
is "$body" "maintenance: /lbf
 503" "HTTP_LB_FAILED answered with the script's response"
body=$(c_curl -D "$XT_TMP/h" "http://$VIP4:82/down")
is "$body" "sorry: /down" "HTTP_RESP_FAILED answered instead of the 502"
like "$(cat "$XT_TMP/h")" 'X-Sorry: 1' "HTTP_RESP_FAILED response header"

done_testing
