# Every relative link of the given Markdown files must name an existing file
# and, with a #fragment into a Markdown file, one of its headings (GitHub's
# anchors: lower case, punctuation dropped, spaces as hyphens, -1, -2 for repeats).
use strict; use warnings; use utf8;
use File::Basename qw(dirname); use File::Spec;
binmode STDOUT, ':encoding(UTF-8)';
my %anchors_of;
sub lines_outside_code {
    my ($path) = @_;
    open(my $fh, '<:encoding(UTF-8)', $path) or return ();
    my ($in, @out) = (0);
    while (my $l = <$fh>) { if ($l =~ /^```/) { $in = !$in; next } push @out, [$., $l] unless $in }
    return @out;
}
sub anchors {
    my ($path) = @_;
    return $anchors_of{$path} //= do {
        my (%seen, %set);
        for (lines_outside_code($path)) {
            next unless $_->[1] =~ /^#{1,6}\s+(.*?)\s*$/;
            (my $s = lc $1) =~ s/[^\w\- ]//g; $s =~ tr/ /-/;
            my $n = $seen{$s}++; $set{$n ? "$s-$n" : $s} = 1;
        }
        \%set;
    };
}
my $bad = 0;
for my $f (@ARGV) {
    for (lines_outside_code($f)) {
        my ($no, $l) = @$_;
        while ($l =~ /\]\(([^)\s]+)\)/g) {
            my $t = $1; next if $t =~ m{^[a-z]+:}i;
            my ($p, $a) = split /#/, $t, 2;
            my $target = length $p ? File::Spec->catfile(dirname($f), $p) : $f;
            if (!-e $target) { print "$f:$no: link to a missing file: $t\n"; $bad++; next }
            if (defined $a && length $a && $target =~ /\.md$/ && !anchors($target)->{$a}) {
                print "$f:$no: link to a missing heading: $t\n"; $bad++;
            }
        }
    }
}
exit($bad ? 1 : 0);
