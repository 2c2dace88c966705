#!/usr/bin/env bash
# Checks META.json against the PGXN meta spec 1.0.0 (structure, required keys,
# value formats) and against lead_scoring.control (name, version), then builds
# the distribution with `make dist` and checks the zip: one top folder
# lead_scoring-VERSION/ holding META.json, the control file and the Makefile.
#   bash scripts/test_pgxn.sh
set -euo pipefail
cd "$(dirname "$0")/.."

perl -MJSON::PP -e '
use strict; use warnings;
my @errors;
sub fail { push @errors, @_ }
my $semver = qr/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+)?$/;
my %licenses = map { $_ => 1 } qw(agpl_3 apache_1_1 apache_2_0 artistic_1 artistic_2 bsd freebsd
  gfdl_1_2 gfdl_1_3 gpl_1 gpl_2 gpl_3 lgpl_2_1 lgpl_3_0 mit mozilla_1_0 mozilla_1_1 openssl perl_5
  postgresql qpl_1_0 ssleay sun restricted_distribution restricted_redistribution unrestricted open_source unknown);

open my $fh, "<", "META.json" or die "META.json: $!\n";
my $meta = eval { local $/; JSON::PP->new->decode(<$fh>) } or die "META.json is not valid JSON: $@";
open my $cf, "<", "lead_scoring.control" or die "lead_scoring.control: $!\n";
my ($default_version) = map { /^default_version\s*=\s*\x27([^\x27]+)\x27/ ? $1 : () } <$cf>;

ref $meta eq "HASH" or die "META.json: not an object\n";
for my $k (qw(name abstract version maintainer license provides meta-spec)) {
  fail("required key \"$k\" is missing") unless exists $meta->{$k};
}
fail("meta-spec.version must be 1.0.0") unless ref $meta->{"meta-spec"} eq "HASH" && ($meta->{"meta-spec"}{version} // "") eq "1.0.0";
fail("name must be lead_scoring (the control file name)") unless ($meta->{name} // "") eq "lead_scoring";
fail("abstract must be a non-empty string") unless defined $meta->{abstract} && !ref $meta->{abstract} && length $meta->{abstract};
my $v = $meta->{version} // "";
fail("version \"$v\" is not a semantic version") unless $v =~ $semver;
fail("version \"$v\" differs from lead_scoring.control default_version \"" . ($default_version // "none") . "\"")
  unless defined $default_version && $v eq $default_version;
my $m = $meta->{maintainer};
fail("maintainer must be a string or a non-empty list of strings")
  unless (defined $m && !ref $m && length $m) || (ref $m eq "ARRAY" && @$m && !grep { ref || !length } @$m);
my $l = $meta->{license};
for my $name (ref $l eq "ARRAY" ? @$l : ref $l eq "HASH" ? () : ($l // "")) {
  fail("license \"$name\" is not one the spec names") unless $licenses{$name};
}
fail("license must be a string, a list or an object") if ref $l && ref $l ne "ARRAY" && ref $l ne "HASH";
my $p = $meta->{provides};
if (ref $p eq "HASH" && %$p) {
  fail("provides must name the extension lead_scoring") unless $p->{lead_scoring};
  for my $ext (sort keys %$p) {
    my $e = $p->{$ext};
    ref $e eq "HASH" or (fail("provides.$ext must be an object"), next);
    fail("provides.$ext.file is required") unless $e->{file};
    fail("provides.$ext.file \"$e->{file}\" does not exist") if $e->{file} && !-e $e->{file};
    fail("provides.$ext.docfile \"$e->{docfile}\" does not exist") if $e->{docfile} && !-e $e->{docfile};
    fail("provides.$ext.version must equal version") unless ($e->{version} // "") eq $v;
  }
} else { fail("provides must be a non-empty object") }
if (exists $meta->{prereqs}) {
  my $pr = $meta->{prereqs};
  ref $pr eq "HASH" or fail("prereqs must be an object");
  for my $phase (sort keys %{ ref $pr eq "HASH" ? $pr : {} }) {
    fail("prereqs: unknown phase $phase") unless $phase =~ /^(configure|build|test|runtime|develop)$/;
    for my $rel (sort keys %{ $pr->{$phase} }) {
      fail("prereqs.$phase: unknown relationship $rel") unless $rel =~ /^(requires|recommends|suggests|conflicts)$/;
      for my $dep (sort keys %{ $pr->{$phase}{$rel} }) {
        my $dv = $pr->{$phase}{$rel}{$dep};
        fail("prereqs.$phase.$rel.$dep: \"$dv\" is not a version or range")
          unless $dv =~ /^(0|(\s*(==|!=|>=|<=|>|<)?\s*\d+\.\d+\.\d+(-[0-9A-Za-z-]+)?\s*)(,(\s*(==|!=|>=|<=|>|<)?\s*\d+\.\d+\.\d+\s*))*)$/;
      }
    }
  }
}
if (exists $meta->{release_status}) {
  fail("release_status must be stable, testing or unstable") unless $meta->{release_status} =~ /^(stable|testing|unstable)$/;
}
if (exists $meta->{resources}) {
  fail("resources must be an object") unless ref $meta->{resources} eq "HASH";
}
if (@errors) { print STDERR "META.json: $_\n" for @errors; exit 1 }
print "META.json: valid PGXN meta spec 1.0.0, version $v (= lead_scoring.control)\n";
'

version=$(sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" lead_scoring.control)
zip=lead_scoring-$version.zip
rm -f "$zip"
make --no-print-directory dist
[[ -s $zip ]] || { echo "make dist: no $zip" >&2; exit 1; }
listing=$(perl -e '
  # The zip central directory: the file names, without an unzip program.
  local $/; open my $f, "<:raw", $ARGV[0] or die; my $d = <$f>;
  while ($d =~ /PK\x01\x02.{24}(..)(..)(..).{12}/sg) {
    my ($n, $x, $c) = map { unpack "v", $_ } ($1, $2, $3);
    print substr($d, pos($d), $n), "\n"; pos($d) += $n + $x + $c;
  }' "$zip")
rm -f "$zip"
rc=0
for f in META.json lead_scoring.control Makefile README.md LICENSE; do
  grep -qx "lead_scoring-$version/$f" <<<"$listing" || { echo "make dist: $zip lacks lead_scoring-$version/$f" >&2; rc=1; }
done
outside=$(grep -v "^lead_scoring-$version/" <<<"$listing" || true)
if [[ -n $outside ]]; then
  echo "make dist: $zip has files outside lead_scoring-$version/" >&2; rc=1
fi
[[ $rc -eq 0 ]] && echo "make dist: $zip has $(wc -l <<<"$listing") entries under lead_scoring-$version/"
exit $rc
