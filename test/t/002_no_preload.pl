# Without shared_preload_libraries: no worker, but the extension, its GUCs and
# a manual refresh (what a pg_cron job would run) all work.
use strict;
use warnings;
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('nopreload');
$node->init;
$node->append_conf('postgresql.conf', q{
lead_scoring.database = 'postgres'
lead_scoring.naptime = '10s'
});
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION lead_scoring');
$node->safe_psql('postgres', slurp_file(dirname(__FILE__) . '/refresh_stub.sql'));
$node->safe_psql('postgres', q{
CREATE TABLE leads (id int PRIMARY KEY, props jsonb NOT NULL DEFAULT '{}');
INSERT INTO leads SELECT g FROM generate_series(1, 7) g;
INSERT INTO lead_scoring.model (name, spec, refresh_interval)
VALUES ('m', '{"source": {"leads": {"table": "public.leads", "id": "id", "properties": "props"}}}', '1 second');
});

is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'lead_scoring%'"),
	'0', 'no launcher and no worker without preload');
isnt($node->safe_psql('postgres', "SELECT lead_scoring.refresh('m')"), '', 'a manual refresh works');
is($node->safe_psql('postgres', "SELECT status FROM lead_scoring.refresh_log WHERE model = 'm'"),
	'ok', 'and is logged');

# Once the library is loaded in a session its GUCs are real ones, read from
# postgresql.conf, reloadable only (not settable per session), and the prefix
# is reserved.
is( $node->safe_psql('postgres',
		"SELECT lead_scoring.validate_model('{}'); SHOW lead_scoring.naptime; SHOW lead_scoring.database"),
	"t\n10s\npostgres", 'GUCs are defined from postgresql.conf values');
my ($ret, $out, $err) = $node->psql('postgres',
	"SELECT lead_scoring.validate_model('{}'); SET lead_scoring.naptime = 5");
like($err, qr/parameter "lead_scoring\.naptime" cannot be changed now/, 'naptime is not a session setting');
($ret, $out, $err) = $node->psql('postgres',
	"SELECT lead_scoring.validate_model('{}'); SET lead_scoring.naptme = 5");
like($err, qr/invalid configuration parameter name "lead_scoring\.naptme"/, 'a misspelt setting is an error');

($ret, $out, $err) = $node->psql('postgres',
	"SELECT lead_scoring.validate_model('{}'); ALTER SYSTEM SET lead_scoring.naptime = 0");
like($err, qr/0 s is outside the valid range for parameter "lead_scoring\.naptime" \(1( s)? \.\./,
	'naptime must be at least 1 s');
($ret, $out, $err) = $node->psql('postgres',
	q{SELECT lead_scoring.validate_model('{}'); ALTER SYSTEM SET lead_scoring.database = 'a,,b'});
like($err, qr/invalid value for parameter "lead_scoring\.database".*\n.*List syntax is invalid/,
	'an invalid database list is refused');

$node->stop('fast');
done_testing();
