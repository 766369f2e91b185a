#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# xdp_daemon_scaleout.sh - a virtual service scaled out over two SEs, with
# XDP flow steering driven by xadcd's own configuration (issue 3).
#
# Client, SE A and SE B share one L2 segment (front bridge); each SE has its
# own backend nginx on a back segment (A's pool is b1, B's pool is b2, so
# the X-Backend header names the SE that served). The VIP is on both SEs'
# lo; the client routes it via A. A's xadcd runs with --interface on its
# front veth and gets, through the REST API, a VS whose scaleout_se_refs
# name serviceengine se-a (self) and se-b (B's MAC). B runs its own xadcd
# with the same VS (no --interface). Checked:
#   - 60 new connections all succeed, both SEs serve some, each one is in
#     the request log of the SE that served it and of no other, B's replies
#     reach the client directly (A does not forward; B's bridge port sent
#     the bytes), A's `xadcctl -j stats` counts the flows redirected to se-b;
#   - draining se-b (PATCH weight 0) while 20 MB downloads run on both SEs:
#     every download completes intact, new connections all go to A;
#   - weight back to 1 re-spreads; then PATCH the VS's scaleout_se_refs to
#     drop se-b under the same kind of load: same guarantees;
#   - stopping A's xadcd detaches the program and removes its pins.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/netns.sh"

xt_require_e2e
helper=$XADC_BUILD/selftests/xdp_steer_helper
[ -x "$helper" ] || bail_out "$helper not built (make)"
command -v md5sum >/dev/null || bail_out "md5sum missing"

VIP=198.18.72.10
MAC_A=02:72:00:00:00:0a
MAC_B=02:72:00:00:00:0b
CL_IP=198.18.72.1
A_IP=198.18.72.2
B_IP=198.18.72.3
A_BACK=198.18.73.2
B_BACK=198.18.73.3
B1_IP=198.18.73.11
B2_IP=198.18.73.12
DL_RATE=2M		# per download: 20 MB take ~10 s, long enough to change the set under them

xt_init

# Our part of the teardown first (daemons, XDP, pins, the bpffs mount), then
# the lab's (every other process, the namespaces, the temp dir).
so_cleanup()
{
	local st=$?

	trap - EXIT
	if [ "${TAP_FAILED:-0}" -gt 0 ] || [ "$st" -ne 0 ]; then
		[ -s "$XT_TMP/b-xadcd.log" ] && diag "---- SE B xadcd stderr (last 20 lines) ----" &&
			diag "$(tail -n 20 "$XT_TMP/b-xadcd.log")"
	fi
	xt_kill xadcd
	xt_kill xadcd-b
	[ -n "${SE_A:-}" ] && ip netns exec "$SE_A" "$XADC_BUILD/xadcd" --xdp-unload >/dev/null 2>&1
	mountpoint -q "$XT_TMP/bpffs" 2>/dev/null && umount "$XT_TMP/bpffs"
	(exit "$st")
	xt_cleanup
}
trap so_cleanup EXIT

# Pins on a bpffs of the test's own, visible from every ip-netns-exec
# mount namespace and gone with the test.
mkdir -p "$XT_TMP/bpffs"
mount -t bpf bpf "$XT_TMP/bpffs" || skip_all "cannot mount bpffs"
export XADC_XDP_PIN_DIR=$XT_TMP/bpffs/xadc

# ---- the lab -----------------------------------------------------------------
ns_create c CL
CLIENT_NS=$CL	# c_exec / c_curl of netns.sh
ns_create a SE_A
ns_create b SE_B
ns_create br BR
BACKEND_NS=()
ns_create b1 "BACKEND_NS[1]"
ns_create b2 "BACKEND_NS[2]"
for b in br0 br1; do
	ip -n "$BR" link add "$b" type bridge || xt_die "bridge $b"
	ip -n "$BR" link set "$b" up
done
veth_link "$CL" vc "$BR" bc
veth_link "$SE_A" va "$BR" ba
veth_link "$SE_B" vb "$BR" bb
veth_link "$SE_A" eth1 "$BR" pa1
veth_link "$SE_B" eth1 "$BR" pb1
veth_link "${BACKEND_NS[1]}" eth0 "$BR" p-b1
veth_link "${BACKEND_NS[2]}" eth0 "$BR" p-b2
for p in bc ba bb; do ip -n "$BR" link set "$p" master br0; done
for p in pa1 pb1 p-b1 p-b2; do ip -n "$BR" link set "$p" master br1; done
ip -n "$SE_A" link set va address "$MAC_A"
ip -n "$SE_B" link set vb address "$MAC_B"
addr_add "$CL" vc "$CL_IP/24"
addr_add "$SE_A" va "$A_IP/24"
addr_add "$SE_B" vb "$B_IP/24"
addr_add "$SE_A" lo "$VIP/32"
addr_add "$SE_B" lo "$VIP/32"
addr_add "$SE_A" eth1 "$A_BACK/24"
addr_add "$SE_B" eth1 "$B_BACK/24"
addr_add "${BACKEND_NS[1]}" eth0 "$B1_IP/24"
addr_add "${BACKEND_NS[2]}" eth0 "$B2_IP/24"
ip -n "$CL" route add "$VIP/32" via "$A_IP" || xt_die "route to the VIP"
# A must not be able to relay B's answers: they reach the client directly.
ip netns exec "$SE_A" sysctl -qw net.ipv4.ip_forward=0 >/dev/null
# Lab tricks (see xdp_scaleout.sh): native XDP_TX on a veth needs NAPI on
# its peer; the client computes TCP checksums as one behind a wire would.
ip netns exec "$BR" "$helper" napi ba || diag "no NAPI program on the bridge port ba"
ip netns exec "$CL" "$helper" csum-off vc || diag "cannot turn off TX checksum offload on vc"

head -c $((20 * 1024 * 1024)) /dev/urandom >"$XT_TMP/www/big"
big_md5=$(md5sum <"$XT_TMP/www/big" | cut -d' ' -f1)
big_size=$(stat -c %s "$XT_TMP/www/big")
xt_backend_start 1
xt_backend_start 2
wait_for 10 ip netns exec "$SE_A" curl -sf -o /dev/null --max-time 1 "http://$B1_IP:8080/health" ||
	xt_die "backend b1 not answering"
wait_for 10 ip netns exec "$SE_B" curl -sf -o /dev/null --max-time 1 "http://$B2_IP:8080/health" ||
	xt_die "backend b2 not answering"

# ---- the two SEs ---------------------------------------------------------------
# se_start WHO NS ARGS...: xadcd for SE WHO ("a" or "b"), API on
# $XT_TMP/WHO.sock, request log $XT_TMP/WHO-req.log. A's stderr goes to
# xadcd.log (xt_cleanup shows it on failure).
se_start()
{
	local who=$1 ns=$2 name=xadcd-$1 log=$XT_TMP/$1-xadcd.log pid i
	shift 2
	[ "$who" = a ] && name=xadcd log=$XT_TMP/xadcd.log
	xt_bg "$name" "$ns" "$XADC_BUILD/xadcd" --api-socket "$XT_TMP/$who.sock" \
		--state "$XT_TMP/$who-state.json" --log "$XT_TMP/$who-req.log" --workers 2 \
		"$@" 2>>"$log"
	pid=$XT_LASTPID
	for ((i = 0; i < 100; i++)); do
		pid_alive "$pid" || { diag "xadcd $who exited: $(tail -n 20 "$log")"; return 1; }
		ctl "$who" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	diag "xadcd $who: API did not come up within 10 s"
	return 1
}

# se_stop WHO: SIGTERM, bounded wait; returns xadcd's exit status.
se_stop()
{
	local f=$XT_TMP/pids/xadcd-$1.pid pid i
	[ "$1" = a ] && f=$XT_TMP/pids/xadcd.pid
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 150; i++)); do
		pid_alive "$pid" || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	local st=$?
	rm -f "$f"
	return "$st"
}

# ctl WHO ARGS...: xadcctl against SE WHO's daemon, inside its namespace.
ctl()
{
	local who=$1 ns=$SE_A
	shift
	[ "$who" = b ] && ns=$SE_B
	ip netns exec "$ns" "$XADC_BUILD/xadcctl" -s "$XT_TMP/$who.sock" "$@"
}

# se_counter NAME FIELD: A's XDP counter FIELD of serviceengine NAME of vs.
se_counter()
{
	ctl a -j stats | jq -r --arg se "$1" --arg f "$2" \
		'.xdp.virtualservices[]? | select(.name == "vs") | .serviceengines[]?
		 | select(.name == $se) | .[$f]'
}

# config POOL_SERVER SE_FIELDS VS_FIELDS
config()
{
	local other=
	[ -n "$2" ] && other="\"serviceengine\": [$2],"
	cat <<EOF
{$other
 "pool": [{"name": "web", "servers": [{"ip": {"addr": "$1", "type": "V4"}, "port": 8080}]}],
 "virtualservice": [{"name": "vs", "vip": [{"ip_address": {"addr": "$VIP", "type": "V4"}}],
	"services": [{"port": 80}], "pool_ref": "/api/pool?name=web"$3}]}
EOF
}
config "$B1_IP" \
	"{\"name\": \"se-a\", \"mac\": \"$MAC_A\", \"self\": true},
	 {\"name\": \"se-b\", \"mac\": \"$MAC_B\", \"weight\": 1}" \
	', "scaleout_se_refs": ["/api/serviceengine?name=se-a", "/api/serviceengine?name=se-b"]' \
	>"$XT_TMP/a.json"
config "$B2_IP" "" "" >"$XT_TMP/b.json"
jq -e . "$XT_TMP/a.json" "$XT_TMP/b.json" >/dev/null || xt_die "test bug: config is not JSON"

se_start a "$SE_A" --interface va || bail_out "xadcd on SE A did not start"
se_start b "$SE_B" || bail_out "xadcd on SE B did not start"
out=$(ctl a apply -f "$XT_TMP/a.json" 2>&1)
ok $? "SE A: configuration with scaleout_se_refs {se-a self, se-b} applied through the API"
[ -n "$out" ] && note "$out"
out=$(ctl b apply -f "$XT_TMP/b.json" 2>&1)
ok $? "SE B: the same VS with its own pool applied"
like "$(cat "$XT_TMP/xadcd.log")" "attached to va in (native|generic) mode" "A: XDP attached to va"
like "$(cat "$XT_TMP/xadcd.log")" "virtualservice vs scaled out over 2 SEs" "A: VS scaled out over 2 SEs"
like "$(ip -n "$SE_A" -d link show va)" "xdp" "va has an XDP program"
[ -e "$XADC_XDP_PIN_DIR/xadc_vips" ]; ok $? "maps pinned under XADC_XDP_PIN_DIR"
is "$(ctl a -j stats | jq -r '[.xdp.virtualservices[]? | select(.name == "vs")
	| .serviceengines[]?.name] | join(",")')" "se-a,se-b" "A's stats list the VS's two SEs"

# Both SEs serve the VIP locally before any steering is judged.
wait_for 10 ip netns exec "$SE_A" curl -sf -o /dev/null --max-time 1 "http://$VIP/" ||
	bail_out "xadcd A does not serve the VIP"
wait_for 10 ip netns exec "$SE_B" curl -sf -o /dev/null --max-time 1 "http://$VIP/" ||
	bail_out "xadcd B does not serve the VIP"

# burst N TAG: N requests from the client, each on a new connection (one
# curl process, Connection: close); lines "CODE BACKEND PORT" in
# $XT_TMP/TAG.out.
burst()
{
	local i args=()
	for ((i = 0; i < $1; i++)); do
		args+=(-o /dev/null "http://$VIP/")
	done
	# Where each SE's log stood before: only later lines can be this
	# burst's (an earlier request may have had the same client port).
	for i in a b; do
		{ wc -l <"$XT_TMP/$i-req.log"; } 2>/dev/null >"$XT_TMP/$2.mark-$i" ||
			echo 0 >"$XT_TMP/$2.mark-$i"
	done
	c_exec curl -s --max-time 5 -H 'Connection: close' \
		-w '%{http_code} %header{x-backend} %{local_port}\n' "${args[@]}" >"$XT_TMP/$2.out"
}

# served TAG [BACKEND]: how many requests of burst TAG were answered 200 by
# BACKEND (by either backend when not given).
served()
{
	awk -v b="${2:-}" '$1 == 200 && (b == "" ? ($2 == "b1" || $2 == "b2") : $2 == b)' \
		"$XT_TMP/$1.out" | wc -l
}

# log_ports WHO TAG: client ports of the client's requests for / in SE
# WHO's request log since burst TAG began.
log_ports()
{
	tail -n +"$(($(cat "$XT_TMP/$2.mark-$1") + 1))" "$XT_TMP/$1-req.log" 2>/dev/null |
		jq -r --arg c "$CL_IP" 'select(.virtualservice == "vs" and .client_ip == $c
			and .uri == "/") | .client_port'
}

# log_count WHO TAG [BACKEND]: requests of burst TAG (those served by
# BACKEND, when given) that SE WHO's request log holds.
log_count()
{
	log_ports "$1" "$2" | grep -cxFf <(awk -v b="${3:-}" 'b == "" || $2 == b {print $3}' "$XT_TMP/$2.out")
}

# log_wait WHO TAG BACKEND N: until WHO's log holds N of them (the log is
# written asynchronously); bounded.
log_has() { [ "$(log_count "$1" "$2" "$3")" -ge "$4" ]; }
log_wait() { wait_for 5 log_has "$@"; }

# ---- 60 new connections ----------------------------------------------------------
nf_b0=$(se_counter se-b new_flows)
nf_a0=$(se_counter se-a new_flows)
rx_bb0=$(ip -n "$BR" -s -j link show bb | jq '.[0].stats64.rx.bytes')
burst 60 spread
na=$(served spread b1) nb=$(served spread b2)
is "$(served spread)" 60 "60 new connections through the scaled-out VIP all succeed"
note "served by A: $na, by B: $nb"
cmp_ok "$na" -gt 0 "A served some"
cmp_ok "$nb" -gt 0 "B served some"

# Each served request is in the request log of the SE that served it, and
# in no other (the logs are written asynchronously: wait until they hold all).
log_wait a spread b1 "$na"
log_wait b spread b2 "$nb"
misplaced=0
while read -r _ be port; do
	in_a=$(log_ports a spread | grep -cx "$port")
	in_b=$(log_ports b spread | grep -cx "$port")
	if { [ "$be" = b1 ] && [ "$in_a$in_b" != 10 ]; } || { [ "$be" = b2 ] && [ "$in_a$in_b" != 01 ]; }; then
		misplaced=$((misplaced + 1))
		diag "port $port: served by $be, in A's log $in_a, in B's log $in_b"
	fi
done <"$XT_TMP/spread.out"
is "$misplaced" 0 "each connection is logged by the xadcd that served it and only by it"

rx_bb=$(($(ip -n "$BR" -s -j link show bb | jq '.[0].stats64.rx.bytes') - rx_bb0))
cmp_ok "$rx_bb" -gt "$((nb * 200))" "B's answers left through B's own port (asymmetric, A does not forward)"

nf_b=$(($(se_counter se-b new_flows) - nf_b0))
nf_a=$(($(se_counter se-a new_flows) - nf_a0))
is "$nf_b" "$nb" "A's xadcctl stats: one new flow steered to se-b per B answer"
is "$nf_a" "$na" "A's xadcctl stats: one new flow kept by se-a (self) per A answer"
cmp_ok "$(se_counter se-b packets)" -gt "$((nb * 3))" \
	"A's xadcctl stats: packets redirected to se-b (SYN, ACKs, FIN of each flow)"
like "$(ctl a stats)" "se-b +[0-9]" "xadcctl stats (table) shows the per-SE redirect counters"

# ---- a set change under in-flight downloads ------------------------------------------
# downloads_start PHASE: 20 MB downloads until two run on each SE (at most
# 16); sets DL_N, DL_A, DL_B. Each download's headers in $XT_TMP/PHASE-hN.
downloads_start()
{
	local be
	DL_N=0 DL_A=0 DL_B=0
	while [ "$DL_N" -lt 16 ] && { [ "$DL_A" -lt 2 ] || [ "$DL_B" -lt 2 ]; }; do
		DL_N=$((DL_N + 1))
		xt_bg "$1-dl$DL_N" "$CL" curl -sS --max-time 60 --limit-rate "$DL_RATE" \
			-D "$XT_TMP/$1-h$DL_N" -o "$XT_TMP/$1-o$DL_N" "http://$VIP/big"
		wait_for 5 grep -qi '^x-backend' "$XT_TMP/$1-h$DL_N"
		be=$(dl_backend "$1" "$DL_N")
		[ "$be" = b1 ] && DL_A=$((DL_A + 1))
		[ "$be" = b2 ] && DL_B=$((DL_B + 1))
	done
	note "$1: $DL_N downloads started, $DL_A on A, $DL_B on B"
}

dl_backend() { tr -d '\r' <"$XT_TMP/$1-h$2" 2>/dev/null | awk 'tolower($1) == "x-backend:" {print $2}'; }

# inflight_mark PHASE: right after the change, which downloads were still
# running and incomplete (they are the ones the change happened under).
inflight_mark()
{
	local i pid sz
	IF_A=0 IF_B=0
	for ((i = 1; i <= DL_N; i++)); do
		pid=$(cat "$XT_TMP/pids/$1-dl$i.pid" 2>/dev/null)
		sz=$(stat -c %s "$XT_TMP/$1-o$i" 2>/dev/null || echo 0)
		if [ -n "$pid" ] && pid_alive "$pid" && [ "$sz" -lt "$big_size" ]; then
			[ "$(dl_backend "$1" "$i")" = b1 ] && IF_A=$((IF_A + 1))
			[ "$(dl_backend "$1" "$i")" = b2 ] && IF_B=$((IF_B + 1))
		fi
	done
}

# downloads_check PHASE: wait for every download (in this shell: they are
# its children); DL_BAD = how many failed or arrived corrupted (diag names them).
downloads_check()
{
	local i pid st sum
	DL_BAD=0
	for ((i = 1; i <= DL_N; i++)); do
		pid=$(cat "$XT_TMP/pids/$1-dl$i.pid" 2>/dev/null)
		st=1
		if [ -n "$pid" ]; then
			wait "$pid"
			st=$?
			rm -f "$XT_TMP/pids/$1-dl$i.pid"
		fi
		sum=$(md5sum <"$XT_TMP/$1-o$i" 2>/dev/null | cut -d' ' -f1)
		if [ "$st" -ne 0 ] || [ "$sum" != "$big_md5" ]; then
			DL_BAD=$((DL_BAD + 1))
			diag "$1 download $i (via $(dl_backend "$1" "$i")): curl exit $st," \
				"$(stat -c %s "$XT_TMP/$1-o$i" 2>/dev/null) bytes, md5 $sum"
		fi
		rm -f "$XT_TMP/$1-o$i"
	done
}

# misrouted_diag TAG: for each request of burst TAG that B served, whether
# an earlier burst used the same client port (a reused 5-tuple).
misrouted_diag()
{
	local port earlier
	while read -r _ _ port; do
		earlier=$(grep -l " $port\$" "$XT_TMP"/*.out 2>/dev/null | grep -v "/$1.out" | xargs -r -n1 basename)
		diag "$1: port $port served by B; earlier bursts with that port: ${earlier:-none}"
	done < <(awk '$2 == "b2"' "$XT_TMP/$1.out")
	diag "A's steering: $(ctl a -j stats | jq -c '.xdp.virtualservices' 2>/dev/null)"
}

# scale_in PHASE KIND NAME PATCH_JSON DESC: downloads on both SEs, the PATCH
# through the API, then new connections and the downloads are judged.
scale_in()
{
	local phase=$1 kind=$2 name=$3 patch=$4 desc=$5 out nf0 rx0 b_bytes
	rx0=$(ip -n "$BR" -s -j link show bb | jq '.[0].stats64.rx.bytes')
	downloads_start "$phase"
	ok "$([ "$DL_A" -ge 1 ] && [ "$DL_B" -ge 1 ]; echo $?)" "$phase: downloads running on both SEs"
	echo "$patch" >"$XT_TMP/$phase-patch.json"
	out=$(ctl a patch "$kind" "$name" -f "$XT_TMP/$phase-patch.json" 2>&1)
	ok $? "$phase: $desc through the API" || diag "$out"
	inflight_mark "$phase"
	note "$phase: in flight at the change: $IF_A on A, $IF_B on B"
	ok "$([ "$IF_A" -ge 1 ] && [ "$IF_B" -ge 1 ]; echo $?)" \
		"$phase: the change happened while downloads on both SEs were in flight"
	nf0=$(se_counter se-b new_flows)
	burst 30 "$phase-after"
	is "$(served "$phase-after")" 30 "$phase: 30 new connections after the change all succeed"
	is "$(served "$phase-after" b1)" 30 "$phase: all of them are served by A" ||
		misrouted_diag "$phase-after"
	# A's log holds all 30 ports before B's is judged to hold none.
	log_wait a "$phase-after" "" 30
	is "$(log_count b "$phase-after")" 0 \
		"$phase: B's xadcd logged none of them"
	# se-b is still listed while drained (weight 0), gone once removed.
	[ -n "$nf0" ] && is "$(se_counter se-b new_flows)" "$nf0" "$phase: A steered no new flow to se-b"
	downloads_check "$phase"
	is "$DL_BAD" 0 \
		"$phase: all $DL_N downloads ($DL_B via B) completed intact (md5)"
	b_bytes=$((DL_B * big_size))
	cmp_ok "$(($(ip -n "$BR" -s -j link show bb | jq '.[0].stats64.rx.bytes') - rx0))" -ge "$b_bytes" \
		"$phase: B's downloads left through B's own port, not through A"
}

scale_in drain serviceengine se-b '{"weight": 0}' "se-b drained (weight 0)"

# Back to weight 1: new flows spread again.
echo '{"weight": 1}' >"$XT_TMP/undrain.json"
out=$(ctl a patch serviceengine se-b -f "$XT_TMP/undrain.json" 2>&1)
ok $? "se-b weight back to 1" || diag "$out"
burst 30 respread
log_wait a respread b1 "$(served respread b1)"
log_wait b respread b2 "$(served respread b2)"
is "$(served respread)" 30 "30 new connections after the weight is restored all succeed"
cmp_ok "$(served respread b2)" -gt 0 "B serves new flows again"

scale_in remove virtualservice vs '{"scaleout_se_refs": ["/api/serviceengine?name=se-a"]}' \
	"se-b removed from the VS's scaleout_se_refs"
like "$(tail -n 40 "$XT_TMP/xadcd.log")" "virtualservice vs scaled out over 1 SEs" \
	"A's log: the VS is now steered over one SE"
is "$(ctl a -j stats | jq -r '[.xdp.virtualservices[]? | select(.name == "vs")
	| .serviceengines[]?.name] | join(",")')" "se-a" "A's stats list only se-a"

# ---- stop: nothing of the data plane stays behind ---------------------------------
se_stop a
is "$?" 0 "xadcd A exits 0 on SIGTERM"
[ ! -e "$XADC_XDP_PIN_DIR" ]; ok $? "no pins left after A's xadcd stopped"
is "$(ip -n "$SE_A" -d link show va | grep -c xdp)" 0 "no XDP program left on va"
se_stop b
is "$?" 0 "xadcd B exits 0 on SIGTERM"

done_testing
