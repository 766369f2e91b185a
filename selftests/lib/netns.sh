#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# netns.sh - network-namespace lab helpers for xadc's end-to-end tests.
#
# Source it from a test (after tap.sh), call xt_init, then xt_topology N.
# Everything a test creates is named with a per-run prefix (xt<pid>-) and
# lives under one temp dir; xt_cleanup (trap EXIT, installed by xt_init)
# kills every process the test started and deletes its namespaces and
# files. Only 198.18.0.0/15 and fd00::/8 addresses are used; the host's
# interfaces are never touched (veths are created from inside the lab's
# namespaces).
#
# Topology (xt_topology N):
#
#   client ns (198.18.2.2, .3; fd00:0:0:2::2)
#        | veth
#   SE ns  (198.18.2.1 / fd00:0:0:2::1 to the client; VIPs 198.18.0.10 and
#        |  fd00:0:0:10::10 on lo; 198.18.1.1 / fd00:0:0:1::1 to backends)
#        | veth
#   bridge ns (br0) --- veth --- backend ns b1..bN (198.18.1.(1+i), fd00:0:0:1::(1+i))
#
# Each backend runs a real nginx on :8080 (see xt_backend_start).

XT_PREFIX="xt$$-"
XT_NSLIST=()
XT_NBACKENDS=0
XT_TIMEOUT=${XT_TIMEOUT:-300}
VIP4=198.18.0.10
VIP6=fd00:0:0:10::10
CLIENT_IP=198.18.2.2
CLIENT_IP2=198.18.2.3
CLIENT_IP6=fd00:0:0:2::2
SE_BACK_IP=198.18.1.1

# xt_die MSG: abort the test script (no plan is printed, so prove fails it).
xt_die()
{
	diag "FATAL: $*"
	exit 1
}

# xt_require_e2e: skip the whole script when it cannot run here, saying why.
xt_require_e2e()
{
	[ "$(id -u)" -eq 0 ] || skip_all "e2e tests need root (network namespaces)"
	[ -n "$XADC_BUILD" ] || skip_all "XADC_BUILD not set (run through make test / make e2e)"
	local b
	for b in "$XADC_BUILD/xadcd" "$XADC_BUILD/xadcctl"; do
		[ -x "$b" ] || bail_out "$b not built"
	done
	for b in ip nginx curl jq perl md5sum; do
		command -v "$b" >/dev/null || bail_out "$b not installed (make deps)"
	done
	ip netns add "${XT_PREFIX}probe" 2>/dev/null || skip_all "cannot create network namespaces here"
	ip netns del "${XT_PREFIX}probe"
}

# xt_init: temp dir, cleanup trap and a watchdog bounding the whole script.
xt_init()
{
	XT_TMP=$(mktemp -d /tmp/xadc-e2e.XXXXXX) || xt_die "mktemp"
	mkdir -p "$XT_TMP/pids" "$XT_TMP/www"
	trap xt_cleanup EXIT
	trap 'diag "interrupted"; exit 1' INT
	trap 'diag "timed out after ${XT_TIMEOUT}s"; exit 1' TERM
	# The watchdog: a test that hangs is killed (curl etc. all have their
	# own --max-time, so the TERM trap runs promptly).
	( sleep "$XT_TIMEOUT" && kill -TERM $$ ) >/dev/null 2>&1 &
	echo $! >"$XT_TMP/pids/watchdog.pid"
}

# xt_bg NAME NS CMD...: run CMD in namespace NS in the background, pid kept
# in $XT_TMP/pids/NAME.pid (and echoed in $XT_LASTPID).
xt_bg()
{
	local name=$1 ns=$2
	shift 2
	ip netns exec "$ns" "$@" &
	XT_LASTPID=$!
	echo "$XT_LASTPID" >"$XT_TMP/pids/$name.pid"
}

# xt_kill NAME [SIG]: stop a process started by xt_bg and wait (bounded).
xt_kill()
{
	local f="$XT_TMP/pids/$1.pid" pid i
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	kill "-${2:-TERM}" "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		pid_alive "$pid" || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	rm -f "$f"
}

# pid_alive PID: running (a zombie waiting to be reaped counts as gone).
pid_alive()
{
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# xt_lab_pids: every live process the test started (pid files) or that
# runs in one of its namespaces.
xt_lab_pids()
{
	local f ns pid
	for f in "$XT_TMP"/pids/*.pid; do
		[ -f "$f" ] && cat "$f"
	done
	for ns in "${XT_NSLIST[@]}"; do
		ip netns pids "$ns" 2>/dev/null
	done | sort -u | while read -r pid; do
		pid_alive "$pid" && echo "$pid"
	done
}

xt_cleanup()
{
	local st=$? pid ns i left
	trap - EXIT TERM INT
	if [ "${TAP_FAILED:-0}" -gt 0 ] || { [ "$st" -ne 0 ] && [ -z "${TAP_SKIPPED_ALL:-}" ]; }; then
		if [ -s "$XT_TMP/xadcd.log" ]; then
			diag "---- xadcd stderr (last 30 lines) ----"
			diag "$(tail -n 30 "$XT_TMP/xadcd.log")"
		fi
	fi
	# The watchdog is a subshell sleeping in a child: stop both.
	if [ -f "$XT_TMP/pids/watchdog.pid" ]; then
		pid=$(cat "$XT_TMP/pids/watchdog.pid")
		pkill -TERM -P "$pid" 2>/dev/null
		kill -TERM "$pid" 2>/dev/null
		rm -f "$XT_TMP/pids/watchdog.pid"
	fi
	for pid in $(xt_lab_pids); do
		kill -TERM "$pid" 2>/dev/null
	done
	for ((i = 0; i < 50; i++)); do
		left=$(xt_lab_pids)
		[ -z "$left" ] && break
		sleep 0.1
	done
	for pid in $(xt_lab_pids); do
		kill -KILL "$pid" 2>/dev/null
	done
	{ wait; } 2>/dev/null
	for ns in "${XT_NSLIST[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "${XT_KEEP:-}" ]; then
		diag "kept $XT_TMP"
	else
		rm -rf "$XT_TMP"
	fi
	exit "$st"
}

# ns_create SHORT VAR: create namespace ${XT_PREFIX}SHORT with lo up and
# store its name in VAR (no subshell: the cleanup list must see it).
ns_create()
{
	local ns="${XT_PREFIX}$1"
	ip netns add "$ns" || xt_die "ip netns add $ns"
	XT_NSLIST+=("$ns")
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 >/dev/null 2>&1
	printf -v "$2" '%s' "$ns"
}

# veth_link NS_A IF_A NS_B IF_B: a veth pair, created inside NS_A, both up.
veth_link()
{
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" ||
		xt_die "veth $1/$2 <-> $3/$4"
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

# addr_add NS IF CIDR: v4 or v6 (v6 without duplicate address detection).
addr_add()
{
	if [[ "$3" == *:* ]]; then
		ip -n "$1" -6 addr add "$3" dev "$2" nodad || xt_die "addr $3 on $1/$2"
	else
		ip -n "$1" addr add "$3" dev "$2" || xt_die "addr $3 on $1/$2"
	fi
}

# backend_ip I / backend_ip6 I: addresses of backend I (1-based).
backend_ip() { echo "198.18.1.$((1 + $1))"; }
backend_ip6() { echo "fd00:0:0:1::$((1 + $1))"; }

# xt_topology N: client, SE, bridge and N backends (nginx started on each).
xt_topology()
{
	local n=$1 i
	ns_create c CLIENT_NS
	ns_create se SE_NS
	ns_create br BR_NS

	veth_link "$CLIENT_NS" eth0 "$SE_NS" eth0
	addr_add "$CLIENT_NS" eth0 "$CLIENT_IP/24"
	addr_add "$CLIENT_NS" eth0 "$CLIENT_IP2/24"
	addr_add "$CLIENT_NS" eth0 "$CLIENT_IP6/64"
	addr_add "$SE_NS" eth0 198.18.2.1/24
	addr_add "$SE_NS" eth0 fd00:0:0:2::1/64
	ip -n "$CLIENT_NS" route add 198.18.0.0/24 via 198.18.2.1
	ip -n "$CLIENT_NS" route add 198.18.1.0/24 via 198.18.2.1
	ip -n "$CLIENT_NS" -6 route add fd00:0:0:10::/64 via fd00:0:0:2::1
	# VIPs live on the SE's lo: xadcd binds them (IP_FREEBIND anyway).
	addr_add "$SE_NS" lo "$VIP4/32"
	addr_add "$SE_NS" lo "$VIP6/128"

	ip -n "$BR_NS" link add br0 type bridge || xt_die "bridge"
	ip -n "$BR_NS" link set br0 up
	veth_link "$SE_NS" eth1 "$BR_NS" p-se
	ip -n "$BR_NS" link set p-se master br0
	addr_add "$SE_NS" eth1 "$SE_BACK_IP/24"
	addr_add "$SE_NS" eth1 fd00:0:0:1::1/64
	ip netns exec "$SE_NS" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null

	mkdir -p "$XT_TMP/www"
	head -c $((20 * 1024 * 1024)) /dev/urandom >"$XT_TMP/www/big"
	head -c $((1024 * 1024)) /dev/zero >"$XT_TMP/www/slow"
	BACKEND_NS=()
	for ((i = 1; i <= n; i++)); do
		ns_create "b$i" "BACKEND_NS[$i]"
		veth_link "${BACKEND_NS[i]}" eth0 "$BR_NS" "p-b$i"
		ip -n "$BR_NS" link set "p-b$i" master br0
		addr_add "${BACKEND_NS[i]}" eth0 "$(backend_ip "$i")/24"
		addr_add "${BACKEND_NS[i]}" eth0 "$(backend_ip6 "$i")/64"
		ip -n "${BACKEND_NS[i]}" route add default via "$SE_BACK_IP"
		ip -n "${BACKEND_NS[i]}" -6 route add default via fd00:0:0:1::1
		xt_backend_start "$i"
	done
	XT_NBACKENDS=$n
	for ((i = 1; i <= n; i++)); do
		wait_for 10 ip netns exec "$SE_NS" curl -sf -o /dev/null --max-time 1 \
			"http://$(backend_ip "$i"):8080/health" ||
			xt_die "backend b$i nginx not answering: $(tail -n 5 "$XT_TMP/b$i/error.log")"
	done
}

# xt_backend_conf I: write backend I's nginx.conf under $XT_TMP/bI.
xt_backend_conf()
{
	local i=$1 d="$XT_TMP/b$1"
	mkdir -p "$d/tmp" "$d/upload"
	cat >"$d/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
user root;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 2048; }
http {
	default_type application/octet-stream;
	log_format xt '\$remote_addr "\$request" \$status \$request_length \$http_x_forwarded_for';
	access_log $d/access.log xt;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	client_max_body_size 100m;
	keepalive_requests 100000;
	server {
		listen 8080 reuseport;
		listen [::]:8080 ipv6only=on reuseport;
		server_name _;
		add_header X-Backend b$i always;
		location / {
			return 200 "b$i\n";
		}
		location = /health {
			if (-f $d/health_down) {
				return 503 "down\n";
			}
			return 200 "ok\n";
		}
		location = /big {
			alias $XT_TMP/www/big;
		}
		location = /slow {
			alias $XT_TMP/www/slow;
			limit_rate 1k;
		}
		location = /echo {
			add_header X-Backend b$i always;
			add_header X-Seen-XFF "\$http_x_forwarded_for" always;
			return 200 "xff=\$http_x_forwarded_for\n";
		}
		location /upload/ {
			root $d;
			dav_methods PUT;
			create_full_put_path on;
			client_body_in_file_only off;
		}
	}
}
NGINX
}

# xt_backend_start I / xt_backend_stop I: (re)start or stop backend I's nginx.
xt_backend_start()
{
	xt_backend_conf "$1"
	xt_bg "nginx-b$1" "${BACKEND_NS[$1]}" nginx -c "$XT_TMP/b$1/nginx.conf" \
		-p "$XT_TMP/b$1" 2>>"$XT_TMP/b$1/error.log"
}

xt_backend_stop() { xt_kill "nginx-b$1" QUIT; }

# Flip backend I's /health endpoint (503 while the file exists).
xt_health_down() { touch "$XT_TMP/b$1/health_down"; }
xt_health_up() { rm -f "$XT_TMP/b$1/health_down"; }

# xt_access_count I REGEX: lines of backend I's access log matching REGEX.
xt_access_count()
{
	grep -cE -- "$2" "$XT_TMP/b$1/access.log" 2>/dev/null || true
}

# xt_badserver NAME NS PORT MODE: a misbehaving HTTP server (perl).
#   hang        accept, read the request, never answer
#   close_mid   send a head with Content-Length 100000, 10 body bytes, close
#   close_early read the request head, close without a byte
#   echo        (not HTTP) write back every byte read until the peer shuts down
xt_badserver()
{
	local name=$1 ns=$2 port=$3 mode=$4
	cat >"$XT_TMP/badserver.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::INET;
my ($port, $mode) = @ARGV;
$SIG{CHLD} = 'IGNORE';
my $l = IO::Socket::INET->new(LocalPort => $port, Listen => 128, ReuseAddr => 1,
			      Proto => 'tcp') or die "listen $port: $!";
while (my $c = $l->accept) {
	my $pid = fork();
	next if !defined $pid;
	if ($pid) { close $c; next; }
	if ($mode eq 'echo') {
		while (my $n = sysread($c, my $buf, 65536)) { syswrite($c, $buf, $n); }
		exit 0;
	}
	my $head = '';
	while ($head !~ /\r\n\r\n/) {
		my $n = sysread($c, my $buf, 4096);
		last if !$n;
		$head .= $buf;
	}
	if ($mode eq 'hang') {
		sleep 3600;
	} elsif ($mode eq 'close_mid') {
		syswrite($c, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n" .
			 "X-Backend: bad\r\n\r\n0123456789");
		select(undef, undef, undef, 0.2);
	}
	close $c;
	exit 0;
}
PERL
	xt_bg "$name" "$ns" perl "$XT_TMP/badserver.pl" "$port" "$mode"
	wait_for 5 ip netns exec "$ns" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds; 1 on timeout.
wait_for()
{
	local secs=$1 end
	shift
	end=$((SECONDS + secs))
	while true; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# ---- the daemon ----------------------------------------------------------

XADC_SOCK=
# xadcd_start [ARGS...]: start xadcd in the SE ns (api socket, state file and
# request log under $XT_TMP) and wait until its API answers.
xadcd_start()
{
	XADC_SOCK="$XT_TMP/api.sock"
	xt_bg xadcd "$SE_NS" "$XADC_BUILD/xadcd" --api-socket "$XADC_SOCK" \
		--state "$XT_TMP/state.json" --log "$XT_TMP/req.log" --workers 2 "$@" \
		2>>"$XT_TMP/xadcd.log"
	XADCD_PID=$XT_LASTPID
	local i
	for ((i = 0; i < 100; i++)); do
		pid_alive "$XADCD_PID" || {
			{ wait "$XADCD_PID"; } 2>/dev/null
			local st=$?
			[ "$st" -gt 128 ] && st="$st (signal $((st - 128)))"
			diag "xadcd exited with status $st: $(tail -n 20 "$XT_TMP/xadcd.log")"
			return 1
		}
		[ -S "$XADC_SOCK" ] && xadcctl_se status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	diag "xadcd API did not come up within 10 s"
	return 1
}

# xt_lab N [XADCD_ARGS...]: the usual start of an e2e script: check the
# prerequisites, set up cleanup, build the topology with N backends and
# start xadcd in the SE namespace (dies with a diagnostic if it cannot).
xt_lab()
{
	local n=$1
	shift
	xt_require_e2e
	xt_init
	xt_topology "$n"
	xadcd_start "$@" || xt_die "xadcd did not start"
}

# xadcd_stop: SIGTERM (drain) and wait; returns xadcd's exit status.
xadcd_stop()
{
	local pid i st
	[ -f "$XT_TMP/pids/xadcd.pid" ] || return 0
	pid=$(cat "$XT_TMP/pids/xadcd.pid")
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 150; i++)); do
		pid_alive "$pid" || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	st=$?
	rm -f "$XT_TMP/pids/xadcd.pid"
	return "$st"
}

xadcd_alive() { pid_alive "$XADCD_PID"; }

# xadcctl_se ARGS...: xadcctl against this test's daemon.
xadcctl_se()
{
	ip netns exec "$SE_NS" "$XADC_BUILD/xadcctl" -s "$XADC_SOCK" "$@"
}

# api_curl ARGS...: raw REST over the unix socket (URLs like http://x/api/pool).
api_curl()
{
	curl -sS --max-time 10 --unix-socket "$XADC_SOCK" "$@"
}

# xt_apply FILE: load a configuration; diag the error on failure.
xt_apply()
{
	local out
	out=$(xadcctl_se apply -f "$1" 2>&1) || {
		diag "xadcctl apply -f $1 failed: $out"
		return 1
	}
}

# ---- the client ----------------------------------------------------------

# c_exec CMD...: run in the client ns.
c_exec() { ip netns exec "$CLIENT_NS" "$@"; }

# c_curl ARGS...: curl from the client ns (bounded).
c_curl() { ip netns exec "$CLIENT_NS" curl -sS --max-time "${XT_CURL_MAX:-10}" "$@"; }

# wait_vip URL [SECONDS]: until the VIP answers 2xx.
wait_vip() { wait_for "${2:-10}" c_curl -f -o /dev/null --max-time 1 "$1"; }

# xt_hits N URL [CURL ARGS...]: N requests, each on a new connection, in
# one curl process; prints the X-Backend value of each response, one a line
# ("-" when a response had none).
xt_hits()
{
	local n=$1 url=$2 i args=()
	shift 2
	for ((i = 0; i < n; i++)); do
		args+=(-o /dev/null "$url")
	done
	c_curl -H 'Connection: close' -w '%header{x-backend}\n' "$@" "${args[@]}" |
		sed 's/^$/-/'
}

# xt_count NAME < lines: how many lines equal NAME.
xt_count() { grep -cx -- "$1" || true; }

# ---- status --------------------------------------------------------------

# server_state IP PORT: health ("UP", "DOWN", "DISABLED") of a pool server
# as `xadcctl -j status` shows it (pools[].servers[].health); the first
# pool holding that server wins. "UNKNOWN" when it is not listed.
server_state()
{
	xadcctl_se -j status 2>/dev/null | jq -r --arg ip "$1" --argjson port "$2" '
		[.pools[]?.servers[]? | select(.ip == $ip and .port == $port)
		 | .health | tostring | ascii_upcase] | first // "UNKNOWN"'
}

# server_requests IP PORT: requests counted for a server in `xadcctl -j stats`.
server_requests()
{
	xadcctl_se -j stats 2>/dev/null | jq -r --arg ip "$1" --argjson port "$2" '
		[.pools[]?.servers[]? | select(.ip == $ip and .port == $port)
		 | .requests] | add // 0'
}

# wait_state IP PORT STATE SECONDS
wait_state()
{
	local end=$((SECONDS + $4)) st
	while true; do
		st=$(server_state "$1" "$2")
		[ "$st" == "$3" ] && return 0
		[ "$SECONDS" -ge "$end" ] && { echo "$st"; return 1; }
		sleep 0.2
	done
}

# ---- configurations --------------------------------------------------------

# xt_srv I [RATIO] [PORT] [IP]: one pool server (backend I by default).
xt_srv()
{
	local ip=${4:-$(backend_ip "$1")}
	printf '{"ip":{"addr":"%s","type":"V4"},"port":%s,"ratio":%s}' "$ip" "${3:-8080}" "${2:-1}"
}

# xt_web_config FILE SERVERS [POOL_FIELDS] [VS_FIELDS] [OTHER_KINDS]
# Writes pool "web" (SERVERS is a comma-separated list from xt_srv) and
# virtual service "web-vs" on $VIP4:80 (plus $VIP6 when XT_VIP6=1).
# POOL_FIELDS / VS_FIELDS are extra '"k": v' members; OTHER_KINDS extra
# top-level '"kind": [...]' members. The result is checked with jq.
xt_web_config()
{
	local file=$1 servers=$2 pf=${3:-} vf=${4:-} other=${5:-} vip6=
	[ -n "$pf" ] && pf=",$pf"
	[ -n "$vf" ] && vf=",$vf"
	[ -n "$other" ] && other="$other,"
	[ "${XT_VIP6:-0}" == 1 ] && vip6=",{\"ip_address\":{\"addr\":\"$VIP6\",\"type\":\"V6\"}}"
	cat >"$file" <<JSON
{$other
 "pool": [{"name": "web", "servers": [$servers]$pf}],
 "virtualservice": [{"name": "web-vs",
	"vip": [{"ip_address": {"addr": "$VIP4", "type": "V4"}}$vip6],
	"services": [{"port": 80}], "pool_ref": "/api/pool?name=web"$vf}]}
JSON
	jq -e . "$file" >/dev/null || xt_die "test bug: $file is not JSON"
}

# xt_raw HOST PORT FILE [WAIT_S]: send FILE's bytes as they are on
# one connection from the client ns, then print everything the server sends
# until it closes (last line "__EOF__") or WAIT_S (5) seconds pass
# ("__TIMEOUT__"). The socket stays open meanwhile, so a
# partial request acts as a stalled client.
xt_raw()
{
	[ -f "$XT_TMP/raw.pl" ] || cat >"$XT_TMP/raw.pl" <<'PERL'
use strict;
use IO::Socket::IP;
my ($host, $port, $file, $wait) = @ARGV;
my $s = IO::Socket::IP->new(PeerHost => $host, PeerPort => $port, Timeout => 5)
	or die "connect $host:$port: $!";
open(my $fh, '<:raw', $file) or die "$file: $!";
my $req = do { local $/; <$fh> };
syswrite($s, $req) if length $req;
my $all = '';
my $end = time + $wait;
my $rin = '';
vec($rin, fileno($s), 1) = 1;
while (1) {
	my $left = $end - time;
	if ($left <= 0) { print $all, "\n__TIMEOUT__\n"; exit 0; }
	my $n = select(my $rout = $rin, undef, undef, $left);
	next if $n <= 0;
	my $r = sysread($s, my $buf, 65536);
	if (!$r) { print $all, "\n__EOF__\n"; exit 0; }
	$all .= $buf;
}
PERL
	c_exec perl "$XT_TMP/raw.pl" "$1" "$2" "$3" "${4:-5}"
}

# xt_raw_str HOST PORT STRING [WAIT_S]: as xt_raw with a printf-escaped string.
xt_raw_str()
{
	printf '%b' "$3" >"$XT_TMP/raw.req"
	xt_raw "$1" "$2" "$XT_TMP/raw.req" "${4:-5}"
}

# xt_status RESPONSE: the status code of the first response line.
xt_status() { head -n1 <<<"$1" | awk '{print $2}'; }
