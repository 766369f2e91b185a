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

my @out_scen;
my $noisy = 0;	# highest median background load of any scenario
for my $sc (@{ $meta->{scenarios} }) {
	my $s = $sc->{name};
	my %by;	# target -> [results by round]
	for my $r (grep { $_->{scenario} eq $s } @raw) {
		next if $r->{result}{error};
		$by{ $r->{target} }[ $r->{round} ] = $r->{result};
	}
	my %tg;
	my @flags;
	if ($sc->{kind} eq 'rate') {
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
		my @idle = grep { defined } @{ $by{idle} || [] };
		if (@idle) {
			my $bg = { cpu_proxy_busy => stats(map { $_->{cpu_proxy_busy} } @idle),
				   cpu_load_busy => stats(map { $_->{cpu_load_busy} } @idle) };
			$tg{background} = $bg;
			my ($md, $mx) = ($bg->{cpu_proxy_busy}{median}, $bg->{cpu_proxy_busy}{max});
			$md = $bg->{cpu_load_busy}{median} if $bg->{cpu_load_busy}{median} > $md;
			$mx = $bg->{cpu_load_busy}{max} if $bg->{cpu_load_busy}{max} > $mx;
			if ($mx > $BACKGROUND_MAX) {
				push @flags, sprintf('other work on the machine while the bench was idle: median %.0f%%, max %.0f%% of a CPU: noisy',
						     100 * $md, 100 * $mx);
				$noisy = $md if $md > $noisy;
			}
		}
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
	my %ratio;
	if ($tg{xadcd} && $tg{haproxy}) {
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
push @md, $hdr, '|' . ('---|' x (@cols + 4));

for my $sc (@out_scen) {
	my $tg = $sc->{targets};
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
push @md, '', 'Not yet measured: HTTP policies, DataScripts, XDP L4 fast path (see METHOD.md).', '';

open my $mf, '>', $out_md or die "$out_md: $!\n";
print $mf join("\n", @md);
close $mf;
