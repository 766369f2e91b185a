#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0
#
# report.pl - turn the raw results of bench/run.sh into JSON and Markdown.
#
# Usage: report.pl META.json RAW.jsonl OUT.json OUT.md
#
# META holds the machine, versions, settings, contender status and the
# scenario list; RAW one line per measured run. For every rate scenario
# and target it takes median, min and max of req/s, p50 and p99; the
# xadcd/HAProxy ratio is the ratio of the medians, and its range is the
# min and max of the per-round ratios (rounds are interleaved, so round i
# of both ran within seconds of each other). Flags mark runs where the
# proxy was not the bottleneck.
use strict;
use warnings;
use JSON::PP;

my ($meta_f, $raw_f, $out_json, $out_md) = @ARGV;
die "usage: $0 META.json RAW.jsonl OUT.json OUT.md\n" unless defined $out_md;

# Proxied rate at or above this share of the backend's direct rate means
# the load generator + backend CPU, not the proxy, set the pace.
my $NEAR_DIRECT = 0.90;
# Proxy CPU busy below this share: the proxy had idle time, so it was not
# the bottleneck either.
my $PROXY_IDLE = 0.90;
# Busy share of a CPU with nothing of ours running above which a round is
# called noisy (another workload shared the machine).
my $BACKGROUND_MAX = 0.10;

my $json = JSON::PP->new->canonical->pretty;

sub slurp {
	my ($f) = @_;
	open my $fh, '<', $f or die "$f: $!\n";
	local $/;
	return scalar <$fh>;
}

my $meta = decode_json(slurp($meta_f));
my @raw = map { decode_json($_) } grep { /\S/ } split /\n/, slurp($raw_f);

sub median {
	my @v = sort { $a <=> $b } @_;
	return undef unless @v;
	my $m = int(@v / 2);
	return @v % 2 ? $v[$m] : ($v[$m - 1] + $v[$m]) / 2;
}

sub stats {
	my @v = grep { defined } @_;
	return undef unless @v;
	my @s = sort { $a <=> $b } @v;
	return { median => median(@v), min => $s[0], max => $s[-1], n => scalar @v };
}

my %name = (xadcd => 'xadcd', haproxy => 'HAProxy', nginx => 'NGINX', direct => 'backend direct');
my @targets = (@{ $meta->{contenders} }, 'direct');
my @rate_metrics = (
	[ rps => 'req/s', 0 ],
	[ p50_us => 'p50 latency (µs)', 0 ],
	[ p99_us => 'p99 latency (µs)', 0 ],
);

# Variants of the cost scenarios and the plain contender each is compared to.
my %base = (xadcd_pol => 'xadcd', haproxy_pol => 'haproxy', xadcd_ds => 'xadcd', haproxy_ds => 'haproxy');
my %target_pct = (policy_c10 => 5, datascript_c10 => 10);	# xadcd's cost targets (issue 6)
# Live drop: the filter kept up with the sender when it handled this share
# of what was sent; the figure is then the sender's rate, a floor.
my $SENDER_BOUND = 0.95;

# background_flags: the noisy flag from the idle samples of a scenario.
my $noisy = 0;	# highest median background load of any scenario
sub background_flags {
	my ($by, $tg, $flags) = @_;
	my @idle = grep { defined } @{ $by->{idle} || [] };
	return unless @idle;
	my $bg = { cpu_proxy_busy => stats(map { $_->{cpu_proxy_busy} } @idle),
		   cpu_load_busy => stats(map { $_->{cpu_load_busy} } @idle) };
	$tg->{background} = $bg;
	my ($md, $mx) = ($bg->{cpu_proxy_busy}{median}, $bg->{cpu_proxy_busy}{max});
	$md = $bg->{cpu_load_busy}{median} if $bg->{cpu_load_busy}{median} > $md;
	$mx = $bg->{cpu_load_busy}{max} if $bg->{cpu_load_busy}{max} > $mx;
	if ($mx > $BACKGROUND_MAX) {
		push @$flags, sprintf('other work on the machine while the bench was idle: median %.0f%%, max %.0f%% of a CPU: noisy',
				      100 * $md, 100 * $mx);
		$noisy = $md if $md > $noisy;
	}
}

# rate_target: median/min/max of a target's rate runs.
sub rate_target {
	my (@runs) = @_;
	my %e;
	$e{runs} = \@runs;
	for my $m (qw(rps p50_us p99_us cpu_proxy_busy cpu_load_busy proc_cpu)) {
		$e{$m} = stats(map { $_->{$m} } @runs);
	}
	my $err = 0;
	for my $r (@runs) {
		$err += $r->{$_} // 0 for qw(err_connect err_read err_write err_status err_timeout);
	}
	$e{errors} = $err;
	$e{requests} = 0;
	$e{requests} += $_->{requests} for @runs;
	return \%e;
}

my @out_scen;
for my $sc (@{ $meta->{scenarios} }) {
	my $s = $sc->{name};
	my %by;	# target -> [results by round]
	my %errs;	# target -> error messages
	for my $r (grep { $_->{scenario} eq $s } @raw) {
		if ($r->{result}{error}) {
			push @{ $errs{ $r->{target} } }, $r->{result}{error};
			next unless $sc->{kind} eq 'xdp';
		}
		if ($sc->{kind} eq 'xdp' && $r->{target} ne 'idle') {
			my $x = $r->{result};
			push @{ $by{ $r->{target} }{ $x->{size} }{ $x->{case} } }, $x;
			next;
		}
		$by{ $r->{target} }[ $r->{round} ] = $r->{result};
	}
	my %tg;
	my @flags;
	my %ratio;
	if ($sc->{kind} eq 'cost') {
		for my $t (grep { $by{$_} && $_ ne 'idle' } keys %by) {
			my @runs = grep { defined } @{ $by{$t} };
			$tg{$t} = rate_target(@runs) if @runs;
		}
		# Cost of each variant: 1 - with/without, from the medians, and
		# the range of the per-round values (round i of both ran seconds
		# apart).
		my %cost;
		for my $v (sort grep { $base{$_} } keys %tg) {
			my $b = $base{$v};
			next unless $tg{$b};
			my @per;
			for my $i (0 .. $#{ $by{$v} }) {
				my ($x, $y) = ($by{$v}[$i], $by{$b}[$i]);
				push @per, 100 * (1 - $x->{rps} / $y->{rps}) if $x && $y && $y->{rps};
			}
			my $st = stats(@per);
			my $c = {
				variant => $v, base => $b,
				cost_pct => 100 * (1 - $tg{$v}{rps}{median} / $tg{$b}{rps}{median}),
				per_round_min => $st ? $st->{min} : undef,
				per_round_max => $st ? $st->{max} : undef,
			};
			# CPU time of the proxy per request: less sensitive to
			# whether the proxy was saturated than req/s.
			my ($cv, $cb) = map { $tg{$_}{proc_cpu}{median} && $tg{$_}{rps}{median}
						  ? 1e6 * $tg{$_}{proc_cpu}{median} / $tg{$_}{rps}{median} : undef } ($v, $b);
			if (defined $cv && defined $cb && $cb) {
				$c->{cpu_us_per_req} = $cv;
				$c->{base_cpu_us_per_req} = $cb;
				$c->{cpu_cost_pct} = 100 * ($cv / $cb - 1);
			}
			$cost{ $base{$v} } = $c;
		}
		$tg{cost} = \%cost;
		if ($cost{xadcd} && $cost{haproxy}) {
			$ratio{cost_pct} = { xadcd => $cost{xadcd}{cost_pct}, haproxy => $cost{haproxy}{cost_pct} };
		}
		for my $t (sort grep { $tg{$_}{rps} } keys %tg) {
			my $e = $tg{$t};
			push @flags, sprintf('%s CPU only %.0f%% busy: not proxy bound', $t, 100 * $e->{cpu_proxy_busy}{median})
				if $e->{cpu_proxy_busy} && $e->{cpu_proxy_busy}{median} < $PROXY_IDLE;
			push @flags, sprintf('%s: %d errors in %d requests', $t, $e->{errors}, $e->{requests})
				if $e->{errors};
		}
		if (my $tp = $target_pct{$s}) {
			if (my $c = $cost{xadcd}) {
				# A negative cost, or per-round values spread wider
				# than twice the target, is noise, not a verdict.
				my $spread = ($c->{per_round_max} // 0) - ($c->{per_round_min} // 0);
				my $verdict = $c->{cost_pct} < 0 || $spread > 2 * $tp
					? sprintf('inconclusive (per-round costs spread over %.0f points)', $spread)
					: $c->{cost_pct} < $tp ? 'met' : 'NOT met';
				push @flags, sprintf('xadcd cost %.1f%%: target (under %d%%) %s', $c->{cost_pct}, $tp, $verdict);
			}
		}
		background_flags(\%by, \%tg, \@flags);
	} elsif ($sc->{kind} eq 'xdp') {
		for my $p (grep { $_ ne 'idle' } keys %by) {
			for my $size (keys %{ $by{$p} }) {
				for my $case (keys %{ $by{$p}{$size} }) {
					my @r = @{ $by{$p}{$size}{$case} };
					my @ok = grep { !$_->{error} } @r;
					my %v = map { $_->{verdict} => 1 } @ok;
					$tg{$p}{$size}{$case} = @ok
						? { ns => stats(map { $_->{ns} } @ok), verdict => join('/', sort keys %v) }
						: { error => $r[0]{error} };
				}
			}
		}
		my %want = (allowed => 'XDP_PASS', denied => 'XDP_DROP', nonvip => 'XDP_PASS', redirect => 'XDP_REDIRECT');
		for my $p (sort grep { $_ ne 'idle' } keys %tg) {
			for my $size (sort { $a <=> $b } keys %{ $tg{$p} }) {
				for my $case (sort keys %{ $tg{$p}{$size} }) {
					my $c = $tg{$p}{$size}{$case};
					push @flags, "$p $case at $size: verdict $c->{verdict}, expected $want{$case}"
						if $c->{verdict} && $want{$case} && $c->{verdict} ne $want{$case};
				}
			}
		}
		background_flags({ idle => $by{idle} }, \%tg, \@flags);
	} elsif ($sc->{kind} eq 'drop') {
		for my $f (grep { $_ ne 'idle' } keys %by) {
			my @runs = grep { defined } @{ $by{$f} };
			next unless @runs;
			my %e = (runs => \@runs);
			for my $m (qw(pps handled_pps cpu_proxy_busy cpu_load_busy)) {
				$e{$m} = stats(map { $_->{$m} } @runs);
			}
			$e{handled_share} = stats(map { $_->{sent} ? $_->{handled} / $_->{sent} : 0 } @runs);
			$e{sender_bound} = $e{handled_share}{median} >= $SENDER_BOUND ? JSON::PP::true : JSON::PP::false;
			$tg{$f} = \%e;
		}
		for my $f (sort keys %errs) {
			push @flags, "$f: " . $errs{$f}[0] if $f ne 'idle';
		}
		background_flags(\%by, \%tg, \@flags);
	} elsif ($sc->{kind} eq 'rate') {
		for my $t (@targets) {
			my @runs = grep { defined } @{ $by{$t} || [] };
			next unless @runs;
			my %e;
			$e{runs} = \@runs;
			for my $m (qw(rps p50_us p99_us cpu_proxy_busy cpu_load_busy proc_cpu)) {
				$e{$m} = stats(map { $_->{$m} } @runs);
			}
			my $err = 0;
			for my $r (@runs) {
				$err += $r->{$_} // 0 for qw(err_connect err_read err_write err_status err_timeout);
			}
			$e{errors} = $err;
			$e{requests} = 0;
			$e{requests} += $_->{requests} for @runs;
			$tg{$t} = \%e;
		}
		my $direct = $tg{direct} ? $tg{direct}{rps}{median} : undef;
		for my $t (@{ $meta->{contenders} }) {
			my $e = $tg{$t} or next;
			my $rps = $e->{rps}{median};
			if ($direct && $rps >= $NEAR_DIRECT * $direct) {
				push @flags, sprintf('%s at %.0f%% of direct backend rate: load generator/backend bound',
						     $name{$t}, 100 * $rps / $direct);
			} elsif ($e->{cpu_proxy_busy} && $e->{cpu_proxy_busy}{median} < $PROXY_IDLE) {
				push @flags, sprintf('%s CPU only %.0f%% busy: not proxy bound',
						     $name{$t}, 100 * $e->{cpu_proxy_busy}{median});
			}
			push @flags, sprintf('%s: %d errors in %d requests', $name{$t}, $e->{errors}, $e->{requests})
				if $e->{errors};
		}
		# Other work on the machine just before each round.
		background_flags(\%by, \%tg, \@flags);
		if ($tg{direct} && $tg{direct}{errors}) {
			push @flags, sprintf('backend direct: %d errors', $tg{direct}{errors});
		}
	} else {
		for my $t (@{ $meta->{contenders} }) {
			my $r = $by{$t} && $by{$t}[1] or next;
			$tg{$t} = { %$r };
			push @flags, sprintf('%s: proxy held %d of %d (%d failed)', $name{$t},
					     $r->{held_by_proxy}, $r->{conns}, $r->{failed})
				if $r->{held_by_proxy} < $r->{conns} || $r->{failed};
		}
	}

	# Ratios vs HAProxy: ratio of medians, range of per-round ratios.
	if ($sc->{kind} =~ /^(rate|mem)$/ && $tg{xadcd} && $tg{haproxy}) {
		if ($sc->{kind} eq 'rate') {
			for my $m (qw(rps p50_us p99_us)) {
				my @per;
				for my $i (0 .. $#{ $by{xadcd} }) {
					my ($x, $h) = ($by{xadcd}[$i], $by{haproxy}[$i]);
					next unless $x && $h && $h->{$m};
					push @per, $x->{$m} / $h->{$m};
				}
				my $st = stats(@per);
				$ratio{$m} = {
					ratio_of_medians => $tg{haproxy}{$m}{median}
						? $tg{xadcd}{$m}{median} / $tg{haproxy}{$m}{median} : undef,
					per_round_min => $st ? $st->{min} : undef,
					per_round_max => $st ? $st->{max} : undef,
				};
			}
		} elsif ($tg{haproxy}{kib_per_conn}) {
			$ratio{kib_per_conn} = {
				ratio_of_medians => $tg{xadcd}{kib_per_conn} / $tg{haproxy}{kib_per_conn},
			};
		}
	}
	push @out_scen, { %$sc, targets => \%tg, ratio_vs_haproxy => \%ratio, flags => \@flags };
}

my %out = (%$meta, scenarios => \@out_scen, background_load_median_max => $noisy,
	   thresholds => { near_direct => $NEAR_DIRECT, proxy_cpu_idle => $PROXY_IDLE,
				background_max => $BACKGROUND_MAX });
open my $jf, '>', $out_json or die "$out_json: $!\n";
print $jf $json->encode(\%out);
close $jf;

# ---- Markdown ----

sub fmt {
	my ($v, $m) = @_;
	return '–' unless defined $v;
	return sprintf('%.0f', $v) if $m =~ /rps|_us/;
	return sprintf('%.2f', $v);
}

sub cell {
	my ($st, $m) = @_;
	return '–' unless $st;
	return fmt($st->{median}, $m) if $st->{n} == 1;
	return sprintf('%s (%s–%s)', fmt($st->{median}, $m), fmt($st->{min}, $m), fmt($st->{max}, $m));
}

sub ratio_cell {
	my ($r) = @_;
	return '–' unless $r && defined $r->{ratio_of_medians};
	my $s = sprintf('%.2f', $r->{ratio_of_medians});
	$s .= sprintf(' (%.2f–%.2f)', $r->{per_round_min}, $r->{per_round_max})
		if defined $r->{per_round_min};
	return $s;
}

my $m = $meta->{machine};
my $v = $meta->{versions};
my $st = $meta->{settings};
my @md;
push @md, '# xadc L7 benchmark: xadcd, HAProxy, NGINX', '';
push @md, "Generated by `make bench` (bench/run.sh) on $meta->{date}. Method: [bench/METHOD.md](../METHOD.md).", '';
push @md, sprintf('- Machine: %d CPUs, %s, kernel %s, %s RAM, open-file limit %s',
		  $m->{nproc}, $m->{cpu_model}, $m->{kernel}, $m->{memory}, $m->{open_file_limit});
push @md, "- Versions: $v->{xadcd}; $v->{haproxy}; $v->{nginx}; $v->{wrk}";
push @md, sprintf('- Pinning: proxy on CPU %d; wrk, the backend NGINX and the idle client on CPU %d; all at nice %d',
		  $st->{cpu_proxy}, $st->{cpu_load_and_backend}, $st->{nice} // 0);
push @md, sprintf('- %d interleaved rounds of %d s per scenario (after %d s warm-up per target), wrk 1 thread; %d idle connections for memory',
		  $st->{runs}, $st->{duration_s}, $st->{warmup_s}, $st->{idle_conns});
push @md, '- Cells: median (min–max) over the rounds. Ratio: xadcd median / HAProxy median (range of the per-round ratios); for req/s higher is better, for latency and memory lower is better.';
if ($noisy > $BACKGROUND_MAX) {
	push @md, sprintf('- **Warning: other work kept the machine busy during this run (median %.0f%% of a CPU with the bench idle, worst scenario). The proxies shared their CPU with it: treat the figures as indicative, compare them only within this run, and rerun on a quiet machine.**',
			  100 * $noisy);
}
for my $t (@{ $meta->{contenders} }) {
	my $s = $meta->{status}{$t};
	push @md, "- **$name{$t} $s**" if $s ne 'ok';
}
push @md, '';

my %shown = map { $_ => 1 } @{ $meta->{contenders} };
my @cols = grep { $shown{$_} } qw(xadcd haproxy nginx);
my $hdr = '| scenario | ' . join(' | ', map { "$name{$_} median (min–max)" } @cols)
	. ' | backend direct | xadcd/HAProxy | notes |';
push @md, $hdr, '|' . ('---|' x (@cols + 4)) if grep { $_->{kind} =~ /^(rate|mem)$/ } @out_scen;

for my $sc (@out_scen) {
	my $tg = $sc->{targets};
	next if $sc->{kind} =~ /^(cost|xdp|drop)$/;
	if ($sc->{kind} eq 'rate') {
		my $first = 1;
		for my $mt (@rate_metrics) {
			my ($k, $label) = @$mt;
			my @c = ("$sc->{description}: $label");
			for my $t (@cols) {
				my $s = $meta->{status}{$t};
				push @c, $s ne 'ok' && !$tg->{$t} ? 'not measured' : cell($tg->{$t} && $tg->{$t}{$k}, $k);
			}
			push @c, cell($tg->{direct} && $tg->{direct}{$k}, $k);
			push @c, ratio_cell($sc->{ratio_vs_haproxy}{$k});
			push @c, $first ? join('; ', @{ $sc->{flags} }) : '';
			push @md, '| ' . join(' | ', @c) . ' |';
			$first = 0;
		}
	} else {
		my @c = ("$sc->{description} (KiB, N=$st->{idle_conns})");
		for my $t (@cols) {
			my $r = $tg->{$t};
			push @c, $r ? sprintf('%.2f', $r->{kib_per_conn}) : 'not measured';
		}
		push @c, 'n/a';
		push @c, ratio_cell($sc->{ratio_vs_haproxy}{kib_per_conn});
		my @n = map { sprintf('%s RSS %d→%d KiB', $name{$_}, $tg->{$_}{rss_before_kib}, $tg->{$_}{rss_after_kib}) }
			grep { $tg->{$_} } @cols;
		push @c, join('; ', @n, @{ $sc->{flags} });
		push @md, '| ' . join(' | ', @c) . ' |';
	}
}

# ---- cost scenarios: each proxy with and without the feature ----
my %vname = (xadcd_pol => 'xadcd + policies', haproxy_pol => 'HAProxy + ACLs',
	     xadcd_ds => 'xadcd + DataScript', haproxy_ds => 'HAProxy + Lua');
my @cost = grep { $_->{kind} eq 'cost' } @out_scen;
if (@cost) {
	push @md, '', '## Cost of HTTP policies and DataScripts', '';
	push @md, sprintf('Each proxy with the feature and without it (the plain contender above), interleaved in the same rounds, %d × %d s, wrk 1 thread. Cost = 1 − median req/s with / median req/s without (range: the per-round values). CPU/req: the proxy process\'s CPU time per request (µs), from its own jiffies.',
			  $st->{runs}, $st->{duration_s});
	push @md, '', '| scenario | proxy | req/s without | req/s with | cost % (per-round range) | CPU µs/req without → with | p99 µs with | notes |',
		'|---|---|---|---|---|---|---|---|';
	for my $sc (@cost) {
		my $tg = $sc->{targets};
		my $first = 1;
		for my $b (qw(xadcd haproxy)) {
			my ($v) = grep { $base{$_} eq $b } split ' ', ($meta->{scenario_targets}{ $sc->{name} } // '');
			($v) = grep { $base{$_} && $base{$_} eq $b && $tg->{$_} } keys %$tg unless $v;
			next unless $v;
			my $c = $tg->{cost}{$b};
			my $stat = $meta->{status}{$v} // 'ok';
			my @c = ($first ? $sc->{description} : '', $vname{$v} // $v);
			push @c, cell($tg->{$b} && $tg->{$b}{rps}, 'rps');
			push @c, $tg->{$v} ? cell($tg->{$v}{rps}, 'rps') : $stat;
			push @c, $c ? sprintf('%.1f (%.1f – %.1f)', $c->{cost_pct}, $c->{per_round_min} // 0, $c->{per_round_max} // 0) : '–';
			push @c, $c && defined $c->{cpu_us_per_req}
				? sprintf('%.1f → %.1f (%+.0f%%)', $c->{base_cpu_us_per_req}, $c->{cpu_us_per_req}, $c->{cpu_cost_pct}) : '–';
			push @c, $tg->{$v} ? fmt($tg->{$v}{p99_us}{median}, 'p99_us') : '–';
			push @c, $first ? join('; ', @{ $sc->{flags} }) : '';
			push @md, '| ' . join(' | ', @c) . ' |';
			$first = 0;
		}
	}
}

# ---- XDP per-packet cost ----
my ($xs) = grep { $_->{kind} eq 'xdp' } @out_scen;
if ($xs) {
	my $tg = $xs->{targets};
	my @sizes = sort { $a <=> $b } keys %{ { map { %{ $tg->{$_} } } grep { $_ ne 'background' } keys %$tg } };
	push @md, '', '## XDP per-packet cost (BPF_PROG_TEST_RUN)', '';
	push @md, sprintf('ns per packet as the kernel measures it (`bpf_prog_test_run_opts`, repeat %d, the program pinned to CPU %d), median (min–max) of %d rounds; the two programs run back to back on the same 54-byte TCP frame. Size: /32 client addresses in the deny set (xadc: one DENY rule of a network security policy, whose /32 entries live in a hash map; xdp-filter: `xdp-filter ip ADDR -m src` entries, a hash). xdp-filter %s, loaded natively without the libxdp dispatcher; it has no VIPs or steering, so it filters every packet and the redirect case does not apply.',
			  $st->{xdp_repeat} // 0, $st->{cpu_proxy}, $st->{runs}, $v->{xdp_filter} // '');
	push @md, '', '| case | ' . join(' | ', (map { "xadc $_" } @sizes), (map { "xdp-filter $_" } @sizes)) . ' | verdict |';
	push @md, '|' . ('---|' x (2 + 2 * @sizes));
	my %desc = (allowed => 'allowed (VIP, client not in the set)', denied => 'denied (client in the set)',
		    nonvip => 'non-VIP destination', redirect => 'redirected flow (scaled-out VS, pinned to a remote SE)');
	for my $case (qw(allowed denied nonvip redirect)) {
		my @c = ($desc{$case});
		my %verd;
		for my $p ('xadc', 'xdp-filter') {
			for my $size (@sizes) {
				my $x = $tg->{$p} && $tg->{$p}{$size} && $tg->{$p}{$size}{$case};
				if (!$x) {
					push @c, 'n/a';
				} elsif ($x->{error}) {
					push @c, $x->{error};
				} else {
					push @c, $x->{ns}{n} > 1 ? sprintf('%.0f (%.0f–%.0f)', $x->{ns}{median}, $x->{ns}{min}, $x->{ns}{max})
								 : sprintf('%.0f', $x->{ns}{median});
					$verd{$x->{verdict}} = 1;
				}
			}
		}
		push @c, join(', ', sort keys %verd);
		push @md, '| ' . join(' | ', @c) . ' |';
	}
	push @md, '', 'Notes: ' . join('; ', @{ $xs->{flags} }) if @{ $xs->{flags} };
}

# ---- live drop ----
my ($ds) = grep { $_->{kind} eq 'drop' } @out_scen;
if ($ds) {
	my $tg = $ds->{targets};
	push @md, '', '## Live SYN flood over veth', '';
	push @md, sprintf('`xdp_flood` (AF_PACKET, sendmmsg of 64 frames, qdisc bypassed) sends TCP SYNs with valid checksums from the client namespace to VIP:%s for %d s, %d interleaved rounds, pinned to CPU %d. On a veth the receiving side runs in the sender\'s softirq on the same CPU, so a filter that costs less leaves the sender more time: *sent* is what the pair managed together and *handled* what the filter dropped (xadc XDP: the VS\'s drop counter; nftables: the rule\'s counter) or the stack received (no filter: TCP InSegs, each answered with a reset). Handled ≥ %.0f%% of sent: the filter kept up and the sender was the bottleneck.',
			  9000, $st->{drop_duration_s} // 0, $st->{runs}, $st->{cpu_load_and_backend}, 100 * $SENDER_BOUND);
	push @md, '', '| filter | sent pkt/s | handled pkt/s | handled / sent | bottleneck |', '|---|---|---|---|---|';
	my %fname = (xdp => 'xadc XDP deny (native, on the SE\'s veth)', nft => 'nftables netdev ingress drop', none => 'no filter (kernel stack, closed port)');
	for my $f (qw(xdp nft none)) {
		my $e = $tg->{$f} or next;
		push @md, sprintf('| %s | %s | %s | %.0f%% | %s |', $fname{$f}, cell($e->{pps}, 'rps'), cell($e->{handled_pps}, 'rps'),
				  100 * $e->{handled_share}{median}, $e->{sender_bound} ? 'sender (the figure is a floor)' : 'receiver');
	}
	push @md, '', 'Notes: ' . join('; ', @{ $ds->{flags} }) if @{ $ds->{flags} };
}

for my $k (sort keys %{ $meta->{status} }) {
	next if $shown{$k} || $meta->{status}{$k} eq 'ok';
	push @md, '', "- **$k: $meta->{status}{$k}**";
}
push @md, '', 'Not yet measured: request logging on, TLS, larger and POST bodies, more than one worker, XDP against IPVS and the userspace L4 proxy (see METHOD.md).', '';

open my $mf, '>', $out_md or die "$out_md: $!\n";
print $mf join("\n", @md);
close $mf;
