# Scheduling refreshes with pg_cron instead of the background worker: the
# recipe of doc/worker.md, run for real against Debian's postgresql-NN-cron.
# pg_cron's finest schedule before 1.5 is one minute ('* * * * *'), so the job
# first runs at the start of the next minute: this test waits up to ~70 s.
# Run with scripts/tap.sh (see doc/worker.md).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('cron');

# Without pg_cron installed this test cannot run, and a missing dependency must
# not pass as a success.
my $pkglibdir = $node->config_data('--pkglibdir');
my $sharedir = $node->config_data('--sharedir');
if (!-e "$pkglibdir/pg_cron.so" || !-e "$sharedir/extension/pg_cron.control")
{
	my $major = $node->pg_version->major;
	BAIL_OUT("pg_cron is not installed in $pkglibdir (apt-get install postgresql-$major-cron)");
}

$node->init;
# Jobs run in background workers: no libpq connection (and so no pg_hba or
# password setup) is needed for the job's role.
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pg_cron'
cron.database_name = 'crm'
cron.use_background_workers = on
max_worker_processes = 16
});
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE crm');
$node->safe_psql('crm', q{
CREATE EXTENSION pg_cron;
CREATE EXTENSION lead_scoring;
CREATE ROLE sales_ops LOGIN;
CREATE SCHEMA crm AUTHORIZATION sales_ops;
GRANT USAGE ON SCHEMA cron TO sales_ops;
});

# A model owned by sales_ops over its own tables: leads 1-10; the even ones are
# VPs (fit 10), every lead has one visit a day ago (activity just under 1).
$node->safe_psql('crm', q{
SET ROLE sales_ops;
CREATE TABLE crm.leads (id int PRIMARY KEY, title text, props jsonb NOT NULL DEFAULT '{}');
INSERT INTO crm.leads (id, title) SELECT g, CASE WHEN g % 2 = 0 THEN 'VP Sales' ELSE 'Intern' END FROM generate_series(1, 10) g;
CREATE TABLE crm.events (lead_id int, event_type text, occurred_at timestamptz);
INSERT INTO crm.events SELECT g, 'visit', now() - interval '1 day' FROM generate_series(1, 10) g;
INSERT INTO lead_scoring.model (name, spec) VALUES ('demo', '{
 "fit": {"rules": [{"field": "title", "contains": "vp", "points": 10}]},
 "activity": {"events": {"visit": {"points": 1}}},
 "source": {"leads": {"table": "crm.leads", "id": "id", "properties": "props"},
            "events": {"table": "crm.events", "lead_id": "lead_id", "type": "event_type", "time": "occurred_at"},
            "target": "crm.ranking_demo"}}');
SELECT lead_scoring.refresh('demo');
});
is($node->safe_psql('crm', "SELECT owner::text FROM lead_scoring.model WHERE name = 'demo'"),
	'sales_ops', 'the model belongs to sales_ops');
my $top = q{SELECT string_agg(lead_id::text, ',' ORDER BY lead_id) FROM crm.ranking_demo_ranked WHERE rank = 1};
is($node->safe_psql('crm', $top), '2,4,6,8,10', 'first ranking: the VPs tie at the top');

# Lead 3 (an intern, fit 0) now visits 30 times: its activity (about 30) beats
# a VP's 10 + 1.
$node->safe_psql('crm',
	q{INSERT INTO crm.events SELECT 3, 'visit', now() - interval '1 minute' FROM generate_series(1, 30)});
is($node->safe_psql('crm', $top), '2,4,6,8,10', 'the ranking waits for a refresh');

# The recipe: the model's owner schedules the refresh; pg_cron runs a job as
# the role that scheduled it.
my $jobid = $node->safe_psql('crm', q{
SET ROLE sales_ops;
SELECT cron.schedule('refresh-demo', '* * * * *', $$SELECT lead_scoring.refresh('demo')$$);
});
like($jobid, qr/^\d+$/, 'sales_ops scheduled the refresh');
is($node->safe_psql('crm', "SELECT username FROM cron.job WHERE jobid = $jobid"),
	'sales_ops', 'the job runs as the model owner');

my $deadline = time() + 75;
my $done = 0;
while (time() < $deadline)
{
	$done = $node->safe_psql('crm',
		"SELECT count(*) FROM cron.job_run_details WHERE jobid = $jobid AND status IN ('succeeded', 'failed')");
	last if $done > 0;
	sleep 1;
}
ok($done > 0, 'the job ran within the minute');
is( $node->safe_psql('crm',
		"SELECT status || ': ' || coalesce(return_message, '') FROM cron.job_run_details WHERE jobid = $jobid ORDER BY runid LIMIT 1"),
	'succeeded: SELECT 1', 'cron.job_run_details shows success');
is( $node->safe_psql('crm',
		q{SELECT count(*) FROM lead_scoring.refresh_log WHERE model = 'demo' AND status = 'ok'}),
	'2', 'refresh_log has the scheduled refresh');
is($node->safe_psql('crm', $top), '3', 'the scheduled refresh changed the ranking: lead 3 leads');

$node->safe_psql('crm', "SET ROLE sales_ops; SELECT cron.unschedule($jobid)");
$node->stop;
done_testing();
