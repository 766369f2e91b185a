#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# xdp_scaleout.sh - a virtual service scaled out over two SEs by XDP flow
# steering, live. Client, primary SE A and secondary SE B share a bridge;
# the VIP is on both SEs' lo and the client routes it via A. A's veth runs
# the xadc XDP program with SE set {A self, B}: a share of new flows gets
# B's MAC as destination and leaves by XDP_TX, B's own nginx answers the
# client directly (asymmetric return). Then B is taken out of the set
# (scale-in) while slow downloads run on both SEs: every established
# download completes intact, new flows all stay on A.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/netns.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root"
: "${XADC_BUILD:=$here/../../build}"
helper=$XADC_BUILD/selftests/xdp_steer_helper
[ -x "$helper" ] || skip_all "$helper not built (make)"
for b in nginx curl md5sum bpftool jq; do
	command -v "$b" >/dev/null || skip_all "$b not installed"
done

VIP=198.18.71.10
VS=8
MAC_A=02:70:00:00:00:0a
MAC_B=02:70:00:00:00:0b

xt_init
# Our own cleanup first (XDP, pins, bpffs mount), then the lab's.
steer_cleanup()
{
	local st=$?
	[ -n "${SE_A:-}" ] && ip netns exec "$SE_A" "$helper" down va >/dev/null 2>&1
	umount "$XT_TMP/bpffs" 2>/dev/null
	(exit "$st")
	xt_cleanup
}
trap steer_cleanup EXIT
export XADC_XDP_PIN_DIR=$XT_TMP/bpffs/xadc
mkdir -p "$XT_TMP/bpffs"
mount -t bpf bpf "$XT_TMP/bpffs" || skip_all "cannot mount bpffs"

ns_create c CL
ns_create a SE_A
ns_create b SE_B
ns_create br BR
ip -n "$BR" link add br0 type bridge && ip -n "$BR" link set br0 up || xt_die "bridge"
veth_link "$CL" vc "$BR" bc
veth_link "$SE_A" va "$BR" ba
veth_link "$SE_B" vb "$BR" bb
for p in bc ba bb; do
	ip -n "$BR" link set "$p" master br0
done
ip -n "$SE_A" link set va address "$MAC_A"
ip -n "$SE_B" link set vb address "$MAC_B"
addr_add "$CL" vc 198.18.70.1/24
addr_add "$SE_A" va 198.18.70.2/24
addr_add "$SE_B" vb 198.18.70.3/24
addr_add "$SE_A" lo "$VIP/32"
addr_add "$SE_B" lo "$VIP/32"
ip -n "$CL" route add "$VIP/32" via 198.18.70.2 || xt_die "route to the VIP"

# nginx in each SE on VIP:80: /id says which SE, /big is 1.5 MB.
head -c 1500000 /dev/urandom >"$XT_TMP/big"
big_md5=$(md5sum <"$XT_TMP/big" | cut -d' ' -f1)
for se in A B; do
	d=$XT_TMP/$se
	mkdir -p "$d/www" "$d/tmp"
	echo "$se" >"$d/www/id"
	cp "$XT_TMP/big" "$d/www/big"
	cat >"$d/nginx.conf" <<CONF
daemon off;
master_process off;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $d/tmp;
	proxy_temp_path $d/tmp;
	fastcgi_temp_path $d/tmp;
	uwsgi_temp_path $d/tmp;
	scgi_temp_path $d/tmp;
	server {
		listen $VIP:80;
		root $d/www;
		add_header X-SE $se;
	}
}
CONF
done
xt_bg nginx-a "$SE_A" nginx -c "$XT_TMP/A/nginx.conf"
xt_bg nginx-b "$SE_B" nginx -c "$XT_TMP/B/nginx.conf"
wait_for 5 ip netns exec "$SE_A" curl -sf "http://$VIP/id" || xt_die "nginx A"
wait_for 5 ip netns exec "$SE_B" curl -sf "http://$VIP/id" || xt_die "nginx B"

out=$(ip netns exec "$SE_A" "$helper" up va "$VIP" 80 "$VS" 2>&1)
like "$(tail -1 <<<"$out")" "^attached (native|generic)" "XDP attached to A's client-facing veth"
note "$(tail -1 <<<"$out")"
# Native XDP_TX on a veth needs NAPI on its peer.
ip netns exec "$BR" "$helper" napi ba || diag "no NAPI program on the bridge port"
# The client computes its checksums as one behind a real wire would (a
# veth leaves them to the receiver, which breaks once native XDP forwards
# the frame as plain bytes).
ip netns exec "$CL" "$helper" csum-off vc || diag "cannot turn off TX checksum offload"
out=$(ip netns exec "$SE_A" "$helper" set "$VS" "1,$MAC_A,1,self" "2,$MAC_B,1" 2>&1)
is "$out" "generation 1" "SE set {A self, B} installed"

se_stat() # SE_ID FIELD
{
	ip netns exec "$SE_A" "$helper" stats "$VS" "$1" |
		awk -v f="$2" '{ for (i = 1; i < NF; i++) if ($i == f) print $(i + 1) }'
}

# 60 short connections: all succeed, both SEs answer.
fails=0 na=0 nb=0
for i in $(seq 60); do
	r=$(ip netns exec "$CL" curl -sS --max-time 5 "http://$VIP/id" 2>&1)
	case "$r" in
	A) na=$((na + 1)) ;;
	B) nb=$((nb + 1)) ;;
	*) fails=$((fails + 1)); diag "curl $i: $r" ;;
	esac
done
is "$fails" 0 "60 connections through the steered VIP all succeed"
note "served by A: $na, by B: $nb"
cmp_ok "$na" -gt 0 "A served some"
cmp_ok "$nb" -gt 0 "B served some (steered by MAC rewrite, answered directly)"
cmp_ok "$(se_stat 2 new_flows)" -eq "$nb" "A's counter: one new flow steered to B per B answer"
cmp_ok "$(se_stat 2 packets)" -gt "$((nb * 3))" "A's counter: B's packets (SYN, ACKs, FIN)"
cmp_ok "$(se_stat 1 new_flows)" -eq "$na" "A's counter: flows kept by A"
dump=$(bpftool -j map dump pinned "$XADC_XDP_PIN_DIR/xadc_steer_stats" 2>&1)
is "$(jq -r "[.[].formatted | select(.key.vs_id == $VS and .key.se_id == 2) | .values[].value.new_flows] | add" <<<"$dump")" \
	"$nb" "bpftool shows the per-CPU counters by BTF field name"

# Slow downloads on both SEs (each identified by its X-SE header).
started=0 on_a=0 on_b=0
while [ "$started" -lt 20 ] && { [ "$on_a" -lt 2 ] || [ "$on_b" -lt 2 ]; }; do
	started=$((started + 1))
	xt_bg "dl$started" "$CL" curl -sS --max-time 60 --limit-rate 150k -D "$XT_TMP/h$started" \
		-o "$XT_TMP/o$started" "http://$VIP/big"
	wait_for 5 grep -q '^X-SE' "$XT_TMP/h$started"
	case "$(tr -d '\r' <"$XT_TMP/h$started" | awk '/^X-SE/ {print $2}')" in
	A) on_a=$((on_a + 1)) ;;
	B) on_b=$((on_b + 1)) ;;
	esac
done
note "$started downloads running: $on_a on A, $on_b on B"
ok "$([ "$on_a" -ge 1 ] && [ "$on_b" -ge 1 ]; echo $?)" "downloads in progress on both SEs"

# Scale-in: B leaves the set while its downloads run.
sleep 1
out=$(ip netns exec "$SE_A" "$helper" set "$VS" "1,$MAC_A,1,self" 2>&1)
is "$out" "generation 2" "SE set changed to {A} during the downloads"
fails=0 nb2=0
for i in $(seq 30); do
	r=$(ip netns exec "$CL" curl -sS --max-time 5 "http://$VIP/id" 2>&1)
	[ "$r" = B ] && nb2=$((nb2 + 1))
	[ "$r" = A ] || [ "$r" = B ] || fails=$((fails + 1))
done
is "$fails" 0 "new connections after the change succeed"
is "$nb2" 0 "new flows follow the new set: none on B"
bad=0
for i in $(seq "$started"); do
	pid=$(cat "$XT_TMP/pids/dl$i.pid" 2>/dev/null)
	if [ -n "$pid" ]; then
		wait "$pid"
		st=$?
		rm -f "$XT_TMP/pids/dl$i.pid"
	else
		st=1
	fi
	sum=$(md5sum <"$XT_TMP/o$i" 2>/dev/null | cut -d' ' -f1)
	if [ "$st" -ne 0 ] || [ "$sum" != "$big_md5" ]; then
		bad=$((bad + 1))
		diag "download $i (on $(tr -d '\r' <"$XT_TMP/h$i" | awk '/^X-SE/ {print $2}')): exit $st, md5 $sum"
	fi
done
is "$bad" 0 "every download established before the change completed intact ($on_b on B)"

ip netns exec "$SE_A" "$helper" down va
ok $? "detached and unpinned"
ok "$(ip -n "$SE_A" -d link show va | grep -q xadc_xdp; [ $? -ne 0 ]; echo $?)" "no XDP program left on A's veth"
ok "$([ ! -e "$XADC_XDP_PIN_DIR" ]; echo $?)" "pin directory removed"
done_testing
