# An idle worker costs nothing but a look (doc/worker.md, "What an idle worker
# costs"): at naptime 1 s, over at least five cycles with no new source row,
# no new tick and no changed spec, the worker calls no refresh, assigns no
# transaction id, writes no WAL and no row of the ranking or of lead_scoring's
# tables, and holds no transaction or snapshot while it sleeps.
# wal_level = minimal (the test cluster's default) and autovacuum off: no other
# process writes WAL on an idle server. The tick is 10,000 days, so no tick
# boundary falls inside the test.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use WorkerNode;
use Time::HiRes qw(usleep);

my $node = worker_node('worker_idle', q{
autovacuum = off
checkpoint_timeout = '1h'
track_functions = 'all'
});
$node->safe_psql('crm', q{
CREATE EXTENSION lead_scoring;
CREATE SCHEMA crm;
CREATE TABLE crm.leads (id int PRIMARY KEY);
INSERT INTO crm.leads SELECT g FROM generate_series(1, 50) g;
CREATE TABLE crm.events (lead_id int, event_type text, occurred_at timestamptz);
CREATE INDEX ON crm.events (lead_id);
INSERT INTO crm.events SELECT g % 50 + 1, 'visit', now() - g * interval '1 hour' FROM generate_series(1, 500) g;
INSERT INTO lead_scoring.model (name, spec, refresh_interval) VALUES ('idle', '{
  "activity": {"events": {"visit": {"points": 1}}, "decay": {"kind": "exponential", "half_life": "30 days"}},
  "refresh": {"tick": "10000 days"},
  "source": {"leads": {"table": "crm.leads", "id": "id"},
             "events": {"table": "crm.events", "lead_id": "lead_id", "type": "event_type", "time": "occurred_at"},
             "target": "crm.idle_ranking"}}', '1 second');
});

# The first refresh, then an event and the refresh that carries it (so the
# change log has been written and consumed), then two quiet cycles.
ok( $node->poll_query_until('crm', q{SELECT count(*) = 50 FROM crm.idle_ranking}),
	'the worker writes the first ranking');
my $t0 = $node->safe_psql('crm', q{
INSERT INTO crm.events VALUES (7, 'visit', now() - interval '1 minute');
SELECT clock_timestamp()});
ok( $node->poll_query_until('crm', qq{
SELECT count(*) = 1 FROM lead_scoring.refresh_log
 WHERE model = 'idle' AND status = 'ok' AND started_at > '$t0' AND changed_leads = 1}),
	'the worker carries a new event');

# The worker's "last cycle at" (worker_status), as timestamptz text.
sub last_cycle
{
	return $node->safe_psql('crm', q{
SELECT substring(activity FROM 'last cycle at (.*): \d+ due')::timestamptz
  FROM lead_scoring.worker_status WHERE kind = 'worker' AND activity ~ 'last cycle at'});
}

my $quiet = $node->safe_psql('crm', 'SELECT clock_timestamp()');
ok( $node->poll_query_until('crm', qq{
SELECT substring(activity FROM 'last cycle at (.*): \\d+ due')::timestamptz > '$quiet'::timestamptz + interval '2 seconds'
       AND activity ~ ': 0 due, 0 refreshed, 0 failed'
  FROM lead_scoring.worker_status WHERE kind = 'worker'}),
	'the worker is idle: its last cycle found no model due');

# What would move if the worker wrote anything or assigned an xid.
my $state_sql = q{
SELECT pg_current_wal_lsn()::text,
       pg_snapshot_xmax(pg_current_snapshot())::text,
       (SELECT string_agg(format('%s:%s/%s/%s/%s', relname, n_tup_ins, n_tup_upd, n_tup_del, n_tup_hot_upd), ' ' ORDER BY relname)
          FROM pg_stat_user_tables
         WHERE relid IN ('crm.idle_ranking'::regclass, 'lead_scoring.refresh_log'::regclass,
                         'lead_scoring.refresh_state'::regclass, 'lead_scoring.change_log'::regclass)),
       (SELECT calls FROM pg_stat_user_functions WHERE funcname = 'refresh' AND schemaname = 'lead_scoring'),
       (SELECT count(*) FROM lead_scoring.refresh_log),
       (SELECT string_agg(format('%s %s', lead_id, score), ',' ORDER BY lead_id) FROM crm.idle_ranking)};
# pg_stat_user_tables counts what the worker flushed at the end of its cycles:
# read the baseline after a cycle that refreshed nothing.
my $before = $node->safe_psql('crm', $state_sql);
my $cycle0 = last_cycle();

# Meanwhile: whenever the worker sleeps, it holds no transaction, no xid and
# no snapshot.
my ($samples, $idle_samples, $bad) = (0, 0, 0);
while ($samples < 20)
{
	my $row = $node->safe_psql('crm', q{
SELECT state, xact_start IS NULL AND backend_xid IS NULL AND backend_xmin IS NULL
  FROM pg_stat_activity WHERE backend_type = 'lead_scoring worker'});
	$samples++;
	if ($row =~ /^idle\|(t|f)$/)
	{
		$idle_samples++;
		$bad++ if $1 eq 'f';
	}
	usleep(250_000);
}
ok($idle_samples > 0, "the worker was seen idle ($idle_samples of $samples samples)");
is($bad, 0, 'while idle it holds no transaction, xid or snapshot');

ok( $node->poll_query_until('crm', qq{
SELECT substring(activity FROM 'last cycle at (.*): \\d+ due')::timestamptz >= '$cycle0'::timestamptz + interval '5 seconds'
  FROM lead_scoring.worker_status WHERE kind = 'worker'}),
	'at least five more cycles have run');
my $after = $node->safe_psql('crm', $state_sql);
my @b = split /\|/, $before;
my @a = split /\|/, $after;
is($a[0], $b[0], 'no WAL written');
is($a[1], $b[1], 'no transaction id assigned');
is($a[2], $b[2], 'no row inserted, updated or deleted in the ranking, refresh_log, refresh_state or change_log');
is($a[3], $b[3], 'lead_scoring.refresh was not called');
is($a[4], $b[4], 'no refresh_log row');
is($a[5], $b[5], 'the ranking is unchanged');
unlike(last_cycle(), qr/^$/, 'the worker is still running');

$node->stop('fast');
done_testing();
