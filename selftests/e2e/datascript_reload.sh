#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# DataScripts reloaded under load (issue 5): re-applying a changed script
# ten times while wrk runs loses no request, the new script takes over,
# and the state a script keeps in the VS table (avi.vs.table_*) survives
# every reload.

. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"

command -v wrk >/dev/null || bail_out "wrk not installed (make deps)"
xt_lab 1
URL="http://$VIP4/"
C="$XT_TMP/cfg.json"

# write_config VERSION: the VS with a response script that counts every
# response in the VS table and names its own version in a header.
write_config()
{
	python3 - "$C" "$VIP4" "$(backend_ip 1)" "$1" <<'PY'
import json, sys
out, vip, b1, ver = sys.argv[1:5]
script = """
local n = avi.vs.table_lookup("hits", "total", false)
n = (n or 0) + 1
avi.vs.table_remove("hits", "total")
avi.vs.table_insert("hits", "total", n, 3600)
avi.http.add_header("X-DS-Count", tostring(n))
-- written once, by the first script version that runs: it must outlive
-- every reload (insert keeps an existing key's value)
avi.vs.table_insert("meta", "born", "%s", 3600)
avi.http.add_header("X-DS-Born", tostring(avi.vs.table_lookup("meta", "born")))
avi.http.add_header("X-DS-Version", "%s")
""" % (ver, ver)
doc = {
 "pool": [{"name": "web", "servers": [{"ip": {"addr": b1, "type": "V4"}, "port": 8080}]}],
 "vsdatascriptset": [{"name": "ds-count",
   "datascript": [{"evt": "VS_DATASCRIPT_EVT_HTTP_RESP", "script": script}]}],
 "virtualservice": [{"name": "web-vs", "vip": [{"ip_address": {"addr": vip, "type": "V4"}}],
   "services": [{"port": 80}], "pool_ref": "/api/pool?name=web",
   "vs_datascripts": [{"index": 1, "vs_datascript_set_ref": "/api/vsdatascriptset?name=ds-count"}]}]}
json.dump(doc, open(out, "w"))
PY
}

# hdr NAME: that response header of one request to the VIP.
hdr()
{
	c_curl -D - -o /dev/null "$URL" | tr -d '\r' | awk -v h="$1:" 'tolower($1) == tolower(h) {print $2}'
}

write_config v1
xt_apply "$C" || xt_die "apply v1"
wait_vip "$URL" || xt_die "VIP $URL never answered"
is "$(hdr X-DS-Version)" v1 "script v1 answers"

# Ten reloads, each a different script text, while wrk keeps 20 connections busy.
xt_bg wrk "$CLIENT_NS" wrk -t 1 -c 20 -d 8 --timeout 5 "$URL" >"$XT_TMP/wrk.out" 2>&1
wrkpid=$XT_LASTPID
applied=0
for v in $(seq 2 11); do
	sleep 0.5
	write_config "v$v"
	xt_apply "$C" && applied=$((applied + 1))
done
is "$applied" 10 "10 script reloads accepted while wrk runs"
wait "$wrkpid"
rm -f "$XT_TMP/pids/wrk.pid"
out=$(cat "$XT_TMP/wrk.out")
reqs=$(awk '/requests in/ {print $1}' <<<"$out")
cmp_ok "${reqs:-0}" -gt 1000 "wrk completed requests through the reloads"
is "$(grep -E 'Socket errors' <<<"$out")" "" "wrk: zero socket errors" || diag "$out"
is "$(grep -E 'Non-2xx' <<<"$out")" "" "wrk: zero non-2xx responses" || diag "$out"
is "$(hdr X-DS-Version)" v11 "the last reloaded script (v11) answers"

is "$(hdr X-DS-Born)" v1 "a VS table entry written by v1 survived ten reloads under load"

# With no other traffic (the lookup-remove-insert count above races between
# workers under load, as it would on Avi): one request, a reload, one
# request. The count continues only if the VS table survived the reload.
before=$(hdr X-DS-Count)
write_config v12
xt_apply "$C" || xt_die "apply v12"
is "$(hdr X-DS-Version)" v12 "script v12 answers after the reload"
after=$(hdr X-DS-Count)
# The version probe above is one more response.
is "$after" "$((before + 2))" "the VS table survived the reload (count $before -> $after)"

xadcd_alive
ok $? "xadcd still running"
done_testing
