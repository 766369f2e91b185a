#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# SIGTERM drains: a download in flight when xadcd is told to stop runs to
# completion, new connections are refused once the listeners are closed,
# and the daemon exits 0 when the last request is done.

. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"

xt_require_e2e
xt_init
xt_topology 1
xadcd_start --drain-timeout 20000 || xt_die "xadcd did not start"
URL="http://$VIP4/"
C="$XT_TMP/cfg.json"
xt_web_config "$C" "$(xt_srv 1)"
xt_apply "$C" || xt_die "apply"
wait_vip "$URL" || xt_die "VIP $URL never answered"

# 20 MB read at 4 MB/s: about five seconds in flight, held back by the
# client, so the proxy has to keep the connection through the drain.
c_exec curl -sS --max-time 30 --limit-rate 4M -o "$XT_TMP/big.out" \
	-w '%{http_code}\n' "http://$VIP4/big" >"$XT_TMP/big.code" 2>"$XT_TMP/big.err" &
dl=$!
wait_for 5 test -s "$XT_TMP/big.out" || diag "download did not start"
kill -TERM "$XADCD_PID"

# The listener goes away at once: a new connection is refused or reset.
refused=1
for i in $(seq 1 30); do
	if ! c_curl -o /dev/null --max-time 1 "$URL" 2>/dev/null; then refused=0; break; fi
	sleep 0.1
done
ok $refused "after SIGTERM new connections are no longer accepted"
ok "$(pid_alive "$XADCD_PID"; echo $?)" "xadcd is still running while the download is in flight"

wait "$dl"
is "$(cat "$XT_TMP/big.code")" 200 "the in-flight download completed with 200" ||
	diag "curl: $(cat "$XT_TMP/big.err")"
is "$(md5sum <"$XT_TMP/big.out" | cut -d' ' -f1)" "$(md5sum <"$XT_TMP/www/big" | cut -d' ' -f1)" \
	"the in-flight download is complete and intact"

st=0
for i in $(seq 1 100); do pid_alive "$XADCD_PID" || break; sleep 0.1; done
wait "$XADCD_PID" 2>/dev/null
st=$?
is "$st" 0 "xadcd exited 0 after draining"
grep -q '"uri":"/big"' "$XT_TMP/req.log"
ok $? "the drained request was logged before exit"
done_testing
