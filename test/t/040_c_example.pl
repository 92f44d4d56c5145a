
# The C example of doc/client.md, compiled against the installed library with
# pkg-config exactly as it says, run against a real cluster; and
# the installed library's shape (SONAME, static archive).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ReplrouteTest;

my $doc = slurp_file('doc/client.md');
my ($code) = $doc =~ /^# The C library: libreplroute\n\n```c\n(.*?)```/s;
ok(defined $code && $code =~ /RRconnect/, 'doc/client.md has a C example');
my $lines = () = ($code // '') =~ /;\s*$/mg;
note("the example has $lines statements");

my $dir = PostgreSQL::Test::Utils::tempdir;
open my $fh, '>', "$dir/example.c" or die;
print $fh $code;
close $fh;

my ($cflags, $libs);
{
	my ($out, $err);
	IPC::Run::run([ 'pkg-config', '--cflags', '--libs', 'replroute' ], '>', \$out, '2>', \$err);
	like($out, qr/-lreplroute/, "pkg-config knows replroute: $out");
	chomp($libs = $out);
}
my ($ok, $out, $err);
$ok = IPC::Run::run([ 'sh', '-c', "cc -Wall -Werror -o $dir/example $dir/example.c $libs" ],
	'>', \$out, '2>', \$err);
ok($ok, 'the example compiles warning-free with pkg-config --cflags --libs replroute')
  or diag($err);

my ($primary, $s1, $s2) = ReplrouteTest::make_cluster();
my $ci = ReplrouteTest::conninfo($primary, $s1, $s2);
$ok = IPC::Run::run([ "$dir/example", $ci ], '>', \$out, '2>', \$err);
ok($ok, 'the example runs') or diag($err);
my ($p1, $p2) = ($s1->port, $s2->port);
like($out, qr/^read served by the node on port ($p1|$p2)$/m, "and reads from a standby: $out");

$ok = IPC::Run::run([ "$dir/example", 'host=127.0.0.1 port=1 connect_timeout=2' ],
	'>', \$out, '2>', \$err);
ok(!$ok && $err =~ /no node answered/, 'and says why when nothing answers');

# the installed library: SONAME with the major version, static archive
my ($libdir) = $libs =~ /-L(\S+)/;
$libdir //= '/usr/local/lib';
ok(-e "$libdir/libreplroute.so.1", "$libdir/libreplroute.so.1 installed");
ok(-e "$libdir/libreplroute.a", 'static library installed');
IPC::Run::run([ 'readelf', '-d', "$libdir/libreplroute.so.1" ], '>', \$out, '2>', \$err);
like($out, qr/SONAME.*\[libreplroute\.so\.1\]/, 'SONAME is libreplroute.so.1');
$ok = IPC::Run::run([ 'sh', '-c',
	"cc -o $dir/example_static $dir/example.c \$(pkg-config --cflags replroute) "
	  . "$libdir/libreplroute.a \$(pkg-config --libs libpq) -lm" ],
	'>', \$out, '2>', \$err);
ok($ok, 'the example links statically too') or diag($err);

done_testing();
