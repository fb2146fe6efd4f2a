#!/usr/bin/env perl
# check-kernel-loops.pl [OBJ...] — the inner loops of the product tiles as the
# compiler built them (default: src/core/ops_avx2.o and ops_avx512.o, -O2, as
# the extension links them): in every innermost loop of a tile with 2 or more
# multiply instructions, no copy between vector registers and no vector load
# or store on the stack.  Either means the accumulators do not stay in their
# registers: GCC 12 once summed q16_tile_avx2's into the products' registers
# and copied them back (a move per accumulator and step, 16-28 % of the
# AVX2 int8 products), and spilled them to the stack at 6 rows.  Each tile
# must also have its widest loop (the multiplies of its largest row count).
use strict;
use warnings;

# function => [multiply instruction, multiplies in its widest loop]
my %tiles = (
	q16_tile_avx2       => ['vpmaddwd',    12],    # 6 rows x 2 vectors
	f16_tile_avx2       => ['vfmadd',      12],    # 6 rows x 2 vectors
	q8p_tile_avxvnni    => ['vpdpbusd',    12],    # 6 rows x 2 vectors
	f16_tile_avx512     => ['vfmadd',      24],    # 12 rows x 2 panels
	q8p_tile_avx512vnni => ['vpdpbusd',    24],    # 12 rows x 2 panels
	q16_tile_avx512vnni => ['vpdpwssd',    24],    # 12 rows x 2 panels
);
my @objs = @ARGV ? @ARGV : ('src/core/ops_avx2.o', 'src/core/ops_avx512.o');
my ($failed, %seen) = (0);

for my $obj (@objs) {
	-f $obj or die "check-kernel-loops: $obj not found (make it first)\n";
	open(my $dis, '-|', 'objdump', '-d', '--no-show-raw-insn', $obj) or die "objdump: $!\n";
	my ($fn, @ins, %fns);
	while (<$dis>) {
		if (/^[0-9a-f]+ <([^>]+)>:/) { $fn = $1; next; }
		push @{$fns{$fn}}, [hex $1, $2] if defined $fn && /^\s+([0-9a-f]+):\s+(.*)$/;
	}
	close $dis or die "objdump $obj failed\n";
	for my $name (sort keys %tiles) {
		next unless $fns{$name};
		my ($mul, $widest) = @{$tiles{$name}};
		my @f = @{$fns{$name}};
		my %at = map { $f[$_][0] => $_ } 0 .. $#f;
		my @loops;    # [first, last] index of each backward jump's body
		for my $i (0 .. $#f) {
			next unless $f[$i][1] =~ /^j\w+\s+([0-9a-f]+)/;
			my $to = hex $1;
			push @loops, [$at{$to}, $i] if $to < $f[$i][0] && defined $at{$to};
		}
		my ($most, $checked) = (0, 0);
		for my $l (@loops) {
			my ($s, $e) = @$l;
			next if grep { $_ != $l && $_->[0] >= $s && $_->[1] <= $e } @loops;    # not innermost
			my @body = map { $f[$_][1] } $s .. $e;
			my $muls = grep { /^(?:\{vex\} )?\Q$mul\E/ } @body;
			next if $muls < 2;
			$checked++;
			$most = $muls if $muls > $most;
			my @bad = grep { /^vmov\w*\s+%[xyz]mm\d+,%[xyz]mm\d+$/ || (/^v/ && /\(%rsp\)|%rsp\)/) } @body;
			if (@bad) {
				printf STDERR "check-kernel-loops: %s: a loop of %d %s at %x keeps accumulators out of registers: %s\n",
				  $name, $muls, $mul, $f[$s][0], join('; ', @bad[0 .. ($#bad < 3 ? $#bad : 3)]);
				$failed++;
			}
		}
		if ($most != $widest) {
			printf STDERR "check-kernel-loops: %s: widest loop has %d %s, expected %d\n", $name, $most, $mul, $widest;
			$failed++;
		}
		$seen{$name} = $checked;
	}
}
for my $name (sort keys %tiles) {
	next if $seen{$name};
	print STDERR "check-kernel-loops: $name not found in @objs\n";
	$failed++;
}
exit 1 if $failed;
print "check-kernel-loops: ", join(', ', map { "$_ $seen{$_} loops" } sort keys %seen),
  ": accumulators stay in registers\n";
