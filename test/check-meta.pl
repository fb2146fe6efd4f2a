#!/usr/bin/perl
# check-meta.pl — validate META.json against the PGXN Meta Spec v1.0.0
# (https://pgxn.org/meta/spec.txt): required keys and their types, terms,
# SemVer versions, licences, prereqs, resources, custom keys only as x_*;
# then that it agrees with the tree: the version is bert.control's (and
# debian/changelog's), the files it names exist, LICENSE is there.  Before
# that, it checks itself: broken copies of META.json must be refused.
use strict;
use warnings;
use B ();
use File::Basename qw(dirname);
use JSON::PP ();

chdir(dirname(__FILE__) . '/..') or die "check-meta: $!\n";

my $SEMVER = qr/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)
	(?:-(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?
	(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$/x;
my %LICENSES = map { $_ => 1 } qw(agpl_3 apache_1_1 apache_2_0 artistic_1 artistic_2 bsd freebsd
	gfdl_1_2 gfdl_1_3 gpl_1 gpl_2 gpl_3 lgpl_2_1 lgpl_3_0 mit mozilla_1_0 mozilla_1_1 openssl perl_5
	postgresql qpl_1_0 ssleay sun zlib open_source restricted unrestricted unknown);

my @errors;
sub fail { push @errors, "$_[0]: $_[1]" }

# JSON::PP keeps strings and numbers apart in the scalar's flags.
sub is_string
{
	my ($v) = @_;
	return defined $v && !ref $v && (B::svref_2object(\$v)->FLAGS & B::SVp_POK);
}
sub is_number
{
	my ($v) = @_;
	return defined $v && !ref $v && !is_string($v)
		&& (B::svref_2object(\$v)->FLAGS & (B::SVp_IOK | B::SVp_NOK));
}
sub is_hash { ref $_[0] eq 'HASH' }
sub is_array { ref $_[0] eq 'ARRAY' }
sub custom { $_[0] =~ /^[xX]_./ }

sub text
{
	my ($at, $v) = @_;
	is_string($v) && length $v ? 1 : (fail($at, 'must be a non-empty string'), 0);
}
sub term
{
	my ($at, $v) = @_;
	return fail($at, 'must be a string') unless is_string($v);
	fail($at, "\"$v\" is not a term (2+ characters, no slash, backslash, space or control character)")
		unless $v =~ /^[^\/\\\s[:cntrl:]]{2,}$/;
}
sub semver
{
	my ($at, $v) = @_;
	return fail($at, 'must be a string') unless is_string($v);
	fail($at, "\"$v\" is not a semantic version") unless $v =~ $SEMVER;
}
sub path
{
	my ($at, $v) = @_;
	return fail($at, 'must be a string') unless is_string($v);
	fail($at, "\"$v\" is not a relative Unix path") if length $v < 2 || $v =~ m{^/|\\};
}
sub uri
{
	my ($at, $v) = @_;
	return fail($at, 'must be a string') unless is_string($v);
	fail($at, "\"$v\" is not a URI") unless $v =~ /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;
}
sub object
{
	my ($at, $v, $known, $required, $min) = @_;
	return fail($at, 'must be an object') && 0 unless is_hash($v);
	fail($at, 'must not be empty') if $min && !%$v;
	for my $k (@$required)
	{
		fail($at, "required key \"$k\" is missing") unless exists $v->{$k};
	}
	for my $k (sort keys %$v)
	{
		fail("$at.$k", 'unknown key (custom keys start with x_)') unless exists $known->{$k} || custom($k);
	}
	for my $k (sort keys %$known)
	{
		$known->{$k}->("$at.$k", $v->{$k}) if exists $v->{$k};
	}
	return 1;
}
sub string_or_list
{
	my ($check) = @_;
	return sub {
		my ($at, $v) = @_;
		return $check->($at, $v) unless is_array($v);
		fail($at, 'must not be empty') unless @$v;
		$check->("$at\[$_\]", $v->[$_]) for 0 .. $#$v;
	};
}
sub version_range
{
	my ($at, $v) = @_;
	return if is_number($v) && $v == 0;
	return fail($at, 'must be 0 or a version range string') unless is_string($v);
	my $one = qr/(?:(?:[=!]=|[<>]=?)\s*)?(?:0|[0-9]+\.[0-9]+\.[0-9]+\S*)/;
	fail($at, "\"$v\" is not a version range") unless $v =~ /^$one(?:,\s*$one)*$/;
	for my $ver ($v =~ /([0-9]+\.[0-9]+\.[0-9]+[^,\s]*)/g)
	{
		semver($at, $ver);
	}
}
sub license
{
	my ($at, $v) = @_;
	my $one = sub {
		my ($a, $l) = @_;
		fail($a, 'must be a licence name such as "postgresql"') unless is_string($l) && $LICENSES{$l};
	};
	return $one->($at, $v) if !ref $v;
	if (is_array($v))
	{
		fail($at, 'must not be empty') unless @$v;
		$one->("$at\[$_\]", $v->[$_]) for 0 .. $#$v;
		return;
	}
	return fail($at, 'must be a licence name, a list of them, or an object of name => URI') unless is_hash($v);
	fail($at, 'must not be empty') unless %$v;
	uri("$at.$_", $v->{$_}) for sort keys %$v;
}

my %relation = (requires => 1, recommends => 1, suggests => 1, conflicts => 1);
sub prereqs
{
	my ($at, $v) = @_;
	my $relations = sub {
		my ($a, $r) = @_;
		return fail($a, 'must be an object') unless is_hash($r);
		for my $name (sort keys %$r)
		{
			term("$a.$name", $name);
			version_range("$a.$name", $r->{$name});
		}
	};
	my $phase = sub {
		my ($a, $p) = @_;
		object($a, $p, { map { $_ => $relations } keys %relation }, [], 1);
	};
	object($at, $v, { map { $_ => $phase } qw(configure build test runtime develop) }, [], 1);
}

sub validate
{
	my ($m) = @_;
	@errors = ();
	my $extension = sub {
		my ($at, $e) = @_;
		object($at, $e, { file => \&path, version => \&semver, abstract => \&text, docfile => \&path,
						  docpath => \&text }, [qw(file version)], 0);
	};
	my %top = (
		name => \&term,
		version => \&semver,
		abstract => \&text,
		maintainer => string_or_list(\&text),
		license => \&license,
		provides => sub {
			my ($at, $p) = @_;
			return fail($at, 'must be an object') unless is_hash($p);
			fail($at, 'must name at least one extension') unless %$p;
			for my $k (sort keys %$p)
			{
				term("$at.$k", $k);
				$extension->("$at.$k", $p->{$k});
			}
		},
		'meta-spec' => sub {
			my ($at, $s) = @_;
			object($at, $s, {
				version => sub {
					my ($a, $x) = @_;
					fail($a, 'must be 1.0.x') unless is_string($x) && $x =~ /^1\.0\.[0-9]+$/;
				},
				url => sub {
					my ($a, $x) = @_;
					fail($a, 'must be the spec\'s URL') unless is_string($x) && $x =~ m{^https?://pgxn\.org/meta/spec\.txt$};
				} }, ['version'], 0);
		},
		description => \&text,
		generated_by => \&text,
		tags => sub {
			my ($at, $t) = @_;
			return fail($at, 'must be a non-empty list') unless is_array($t) && @$t;
			for my $i (0 .. $#$t)
			{
				my $tag = $t->[$i];
				fail("$at\[$i\]", 'must be a tag of 2 to 255 characters without slash, backslash or control character')
					unless is_string($tag) && $tag =~ /^[^\/\\[:cntrl:]]{2,255}$/;
			}
		},
		no_index => sub {
			my ($at, $n) = @_;
			object($at, $n, { file => string_or_list(\&path), directory => string_or_list(\&path) }, [], 1);
		},
		prereqs => \&prereqs,
		release_status => sub {
			my ($at, $s) = @_;
			fail($at, 'must be stable, testing or unstable') unless is_string($s) && $s =~ /^(stable|testing|unstable)$/;
		},
		resources => sub {
			my ($at, $r) = @_;
			object($at, $r, {
				homepage => \&uri,
				bugtracker => sub { object($_[0], $_[1], { web => \&uri, mailto => \&text }, [], 1) },
				repository => sub { object($_[0], $_[1], { url => \&uri, web => \&uri, type => \&text }, [], 1) },
			}, [], 1);
		},
	);
	object('META', $m, \%top, [qw(name version abstract maintainer license provides meta-spec)], 0);
	return @errors;
}

open(my $fh, '<:raw', 'META.json') or die "check-meta: META.json: $!\n";
my $json = do { local $/; <$fh> };
close $fh;
my $meta = eval { JSON::PP->new->utf8->decode($json) } or die "check-meta: META.json is not JSON: $@";

# The validator refuses what the spec refuses.
my @broken = (
	['no licence', sub { delete $_[0]{license} }],
	['a two-part version', sub { $_[0]{version} = '0.2' }],
	['a number as version', sub { $_[0]{version} = 2 }],
	['an unknown licence', sub { $_[0]{license} = 'gpl' }],
	['an unknown key', sub { $_[0]{homepage} = 'https://example.org' }],
	['a name with a space', sub { $_[0]{name} = 'b ert' }],
	['an extension without file', sub { delete $_[0]{provides}{bert}{file} }],
	['an absolute file', sub { $_[0]{provides}{bert}{file} = '/etc/passwd' }],
	['meta-spec 2.0.0', sub { $_[0]{'meta-spec'}{version} = '2.0.0' }],
	['a bad version range', sub { $_[0]{prereqs}{runtime}{requires}{PostgreSQL} = 'fifteen' }],
	['an unknown phase', sub { $_[0]{prereqs}{later} = { requires => { x => 0 } } }],
	['a bad release status', sub { $_[0]{release_status} = 'final' }],
	['empty provides', sub { $_[0]{provides} = {} }],
);
my $refused = 0;
for my $b (@broken)
{
	my $copy = JSON::PP->new->utf8->decode($json);
	$b->[1]->($copy);
	if (validate($copy))
	{
		$refused++;
	}
	else
	{
		print "check-meta: the validator accepted META.json with $b->[0]\n";
	}
}
die "check-meta: the validator is broken\n" unless $refused == @broken;

# The spec.
my @bad = validate($meta);

# The tree.
sub first_match
{
	my ($file, $re) = @_;
	open(my $f, '<', $file) or return undef;
	while (<$f>)
	{
		return $1 if $_ =~ $re;
	}
	return undef;
}
my $control = first_match('bert.control', qr/^default_version\s*=\s*'([^']*)'/);
push @bad, "META.version: \"$meta->{version}\" is not bert.control's default_version \"$control\""
	unless defined $control && is_string($meta->{version}) && $meta->{version} eq $control;
for my $ext (sort keys %{ $meta->{provides} || {} })
{
	my $e = $meta->{provides}{$ext};
	push @bad, "META.provides.$ext.version: \"$e->{version}\" is not bert.control's \"$control\""
		unless defined $control && $e->{version} eq $control;
	for my $k (qw(file docfile))
	{
		push @bad, "META.provides.$ext.$k: $e->{$k} does not exist" if defined $e->{$k} && !-f $e->{$k};
	}
}
push @bad, 'LICENSE is missing' unless -f 'LICENSE';
if (-f 'debian/changelog')
{
	my $deb = first_match('debian/changelog', qr/^\S+ \(([^)]*)\)/);
	push @bad, "debian/changelog: version \"$deb\" is not bert.control's \"$control\""
		unless defined $deb && defined $control && $deb eq $control;
}

if (@bad)
{
	print "check-meta: $_\n" for @bad;
	exit 1;
}
printf "check-meta: META.json follows PGXN Meta Spec 1.0.0 and the tree (version %s; %d broken copies refused)\n",
	$meta->{version}, $refused;
