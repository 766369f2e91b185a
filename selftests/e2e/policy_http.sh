#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# HTTP policies end to end (issue 4): a security policy denying paths from
# a 100,000-entry string group and clients from a 10,000-prefix IP group,
# a request policy (header actions, rewrite, redirect, local response), a
# response policy (header removal, Location rewrite); what is denied,
# redirected or answered locally never reaches the backend; the request
# log names the rules; /api/stats counts rule hits.

. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"

xt_lab 1
URL="http://$VIP4"
LOG="$XT_TMP/req.log"
C="$XT_TMP/cfg.json"

# The big groups are generated, then the whole document is applied
# through the REST API (PUT /api/config is what xadcctl apply uses).
python3 - "$C" "$VIP4" "$(backend_ip 1)" "$CLIENT_IP2" <<'PY'
import json, sys
out, vip, be, blocked_client = sys.argv[1:5]
kv = [{"key": "/deny/%06d" % i} for i in range(100000)]
# 10,000 prefixes; one of them covers CLIENT_IP2 (a /32), the rest are elsewhere
pfx = [{"ip_addr": {"addr": "198.19.%d.%d" % (i // 256, i % 256), "type": "V4"}, "mask": 32}
       for i in range(9999)]
pfx.append({"ip_addr": {"addr": blocked_client, "type": "V4"}, "mask": 32})
s = lambda v: {"tokens": [{"type": "URI_TOKEN_TYPE_STRING", "str_value": v}]}
doc = {
 "stringgroup": [{"name": "deny-paths", "type": "SG_TYPE_STRING", "kv": kv}],
 "ipaddrgroup": [{"name": "bad-clients", "prefixes": pfx}],
 "pool": [{"name": "web", "servers": [{"ip": {"addr": be, "type": "V4"}, "port": 8080}]}],
 "httppolicyset": [{"name": "ps",
  "http_security_policy": {"rules": [
   {"name": "deny-group", "index": 1, "log": True, "all_headers": True,
    "match": {"path": {"match_criteria": "EQUALS", "string_group_refs": ["deny-paths"]}},
    "action": {"action": "HTTP_SECURITY_ACTION_SEND_RESPONSE",
               "status_code": "HTTP_LOCAL_RESPONSE_STATUS_CODE_403"}},
   {"name": "deny-ip", "index": 2,
    "match": {"client_ip": {"match_criteria": "IS_IN", "group_refs": ["bad-clients"]}},
    "action": {"action": "HTTP_SECURITY_ACTION_CLOSE_CONN"}},
   {"name": "teapot", "index": 3,
    "match": {"path": {"match_criteria": "EQUALS", "match_str": ["/tea"]}},
    "action": {"action": "HTTP_SECURITY_ACTION_SEND_RESPONSE", "other_status_code": 418,
               "file": {"content_type": "text/plain", "file_content": "short and stout"}}}]},
  "http_request_policy": {"rules": [
   {"name": "tag", "index": 1,
    "match": {"path": {"match_criteria": "BEGINS_WITH", "match_str": ["/tag"]}},
    "hdr_action": [{"action": "HTTP_ADD_HDR",
                    "hdr": {"name": "X-Client", "value": {"var": "HTTP_POLICY_VAR_CLIENT_IP"}}}],
    "rewrite_url_action": {"path": s("rewritten"), "query": {"keep_query": True, "add_string": "p=1"}}},
   {"name": "moved", "index": 2,
    "match": {"path": {"match_criteria": "EQUALS", "match_str": ["/old"]}},
    "redirect_action": {"protocol": "HTTPS", "path": s("new"),
                        "status_code": "HTTP_REDIRECT_STATUS_CODE_301"}},
   {"name": "ping", "index": 3,
    "match": {"path": {"match_criteria": "EQUALS", "match_str": ["/ping"]}},
    "switching_action": {"action": "HTTP_SWITCHING_SELECT_LOCAL",
                         "status_code": "HTTP_LOCAL_RESPONSE_STATUS_CODE_200",
                         "file": {"content_type": "text/plain", "file_content": "pong"}}}]},
  "http_response_policy": {"rules": [
   {"name": "debug-echo", "index": 0,
    "match": {"hdrs": [{"hdr": "X-Debug", "match_criteria": "HDR_EQUALS", "value": ["1"]}],
              "cookie": {"key": "trace", "match_criteria": "HDR_EXISTS"}},
    "hdr_action": [{"action": "HTTP_ADD_HDR", "hdr": {"name": "X-Debug-Echo", "value": {"val": "yes"}}}]},
   {"name": "hide-backend", "index": 1,
    "match": {"status": {"match_criteria": "IS_IN", "ranges": [{"begin": 200, "end": 299}]}},
    "hdr_action": [{"action": "HTTP_REMOVE_HDR", "hdr": {"name": "X-Backend"}},
                   {"action": "HTTP_ADD_HDR", "hdr": {"name": "X-Policy", "value": {"val": "on"}}}]}]}}],
 "virtualservice": [{"name": "web-vs", "vip": [{"ip_address": {"addr": vip, "type": "V4"}}],
   "services": [{"port": 80}], "pool_ref": "/api/pool?name=web",
   "http_policies": [{"index": 1, "http_policy_set_ref": "/api/httppolicyset?name=ps"}]}]}
json.dump(doc, open(out, "w"))
PY
res=$(api_curl -X PUT -H 'Content-Type: application/json' --data-binary @"$C" http://x/api/configuration)
ok "$(jq -e '.error == null' <<<"$res" >/dev/null && echo 0)" "100k string group + 10k prefixes applied through the API" ||
	diag "$(head -c 400 <<<"$res")"
wait_vip "$URL/" || xt_die "VIP never answered"

# denied paths: 403 from the group, never forwarded
is "$(c_curl -o /dev/null -w '%{http_code}' "$URL/deny/054321")" 403 "path in the 100k group: 403"
is "$(c_curl -o /dev/null -w '%{http_code}' "$URL/deny/100001")" 200 "path not in the group: forwarded"
is "$(xt_access_count 1 'deny/054321')" 0 "denied request never reached the backend"

# IP group: CLIENT_IP2 is in it, the connection is closed without a response
code=$(c_curl --interface "$CLIENT_IP2" -o /dev/null -w '%{http_code}' "$URL/ipcheck" 2>/dev/null)
is "$code" 000 "client in the 10k-prefix group: connection closed"
is "$(xt_access_count 1 'ipcheck')" 0 "closed request never reached the backend"

body=$(c_curl -D "$XT_TMP/h" "$URL/tea")
is "$(head -n1 "$XT_TMP/h" | awk '{print $2}')" 418 "SEND_RESPONSE with other_status_code 418"
is "$body" "short and stout" "SEND_RESPONSE file body"

# request policy
c_curl -o /dev/null "$URL/tag/x?a=b"
like "$(tail -n 3 "$XT_TMP/b1/access.log")" 'rewritten\?a=b&p=1' "rewrite reached the backend as /rewritten?a=b&p=1"
is "$(c_curl -o /dev/null -w '%{http_code} %{redirect_url}' "$URL/old")" "301 https://$VIP4/new" "redirect_action"
is "$(xt_access_count 1 '/old')" 0 "redirected request never reached the backend"
is "$(c_curl "$URL/ping")" pong "SELECT_LOCAL answers locally"
is "$(xt_access_count 1 '/ping')" 0 "local response never reached the backend"

# response policy
hdrs=$(c_curl -D - -o /dev/null "$URL/plain")
ok "$(grep -qi "^X-Backend" <<<"$hdrs" || echo 0)" "response header removed"
like "$hdrs" 'X-Policy: on' "response header added"
# response rules can match the request's headers and cookies (Avi's hdrs and
# cookie in an HTTP response policy): the proxy keeps the head for them
hdrs=$(c_curl -D - -o /dev/null -H 'X-Debug: 1' -H 'Cookie: a=b; trace=7' "$URL/plain")
like "$hdrs" 'X-Debug-Echo: yes' "response rule on a request header and cookie: matched"
hdrs=$(c_curl -D - -o /dev/null -H 'X-Debug: 1' "$URL/plain")
unlike "$hdrs" 'X-Debug-Echo' "request header without the cookie: no match"
hdrs=$(c_curl -D - -o /dev/null -H 'X-Debug: 2' -H 'Cookie: trace=7' "$URL/plain")
unlike "$hdrs" 'X-Debug-Echo' "cookie with another header value: no match"

# the request log names the rules; a log: true rule logs the request
sleep 0.5
line=$(grep '/deny/054321' "$LOG" | tail -n1)
is "$(jq -r .http_security_policy_rule_name <<<"$line")" deny-group "log: security rule name"
is "$(jq -r .significant <<<"$line")" true "log: true marks the line significant"
is "$(jq -r '.request.headers | has("User-Agent")' <<<"$line")" true "all_headers: headers logged"
line=$(grep '"/plain"' "$LOG" | tail -n1)
is "$(jq -r .http_response_policy_rule_name <<<"$line")" hide-backend "log: response rule name"

# hit counters
hits=$(xadcctl_se -j stats | jq '[.httppolicysets[] | select(.name == "ps") | .http_security_policy[] | select(.name == "deny-group") | .hits] | add')
is "$hits" 1 "per-rule hit counter in /api/stats"
like "$(xadcctl_se stats)" 'deny-group' "xadcctl stats lists policy rules"
# an apply that keeps the rule keeps its counter (Avi's counters are not
# reset by unrelated changes)
res=$(api_curl -X PATCH -H 'Content-Type: application/json' \
	--data-binary '{"description": "touched"}' http://x/api/pool/web)
ok "$(jq -e '.error == null' <<<"$res" >/dev/null && echo 0)" "unrelated change (pool description) applied" ||
	diag "$(head -c 400 <<<"$res")"
hits=$(xadcctl_se -j stats | jq '[.httppolicysets[] | select(.name == "ps") | .http_security_policy[] | select(.name == "deny-group") | .hits] | add')
is "$hits" 1 "the rule's hit counter survived the apply"

# deleting a referenced group fails
res=$(api_curl -X DELETE http://x/api/stringgroup/deny-paths)
like "$res" 'httppolicyset' "deleting a referenced stringgroup is refused"

done_testing
