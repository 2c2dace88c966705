# The background worker bounds each model's refresh (doc/worker.md, "How it
# runs a refresh"): a model whose source sleeps for an hour is canceled at its
# refresh_timeout, logged as failed, and the other model keeps being refreshed;
# the status line shows two different times; and the worker's own refresh call
# loses no event committed between its statement snapshot and its consume.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use WorkerNode;

my $node = worker_node('worker_timeout', q{
lead_scoring.naptime = '1s'
lead_scoring.refresh_timeout = '1500ms'
});
$node->safe_psql('crm', q{
CREATE EXTENSION lead_scoring;
CREATE SCHEMA crm;
CREATE TABLE crm.leads (id int PRIMARY KEY, title text);
INSERT INTO crm.leads SELECT g, 'VP' FROM generate_series(1, 20) g;
CREATE TABLE crm.events (lead_id int, event_type text, occurred_at timestamptz);
INSERT INTO crm.events SELECT g % 20 + 1, 'visit', '2026-01-01 00:00:00+00'::timestamptz + g * interval '1 hour' FROM generate_series(1, 100) g;
-- reading this view takes an hour
CREATE VIEW crm.slow_leads AS SELECT l.* FROM crm.leads l, pg_catalog.pg_sleep(3600) s;
});

# One-second ticks: each refresh in a new second logs a row (a refresh with
# nothing to do writes nothing).
sub add_model
{
	my ($name, $leads, $timeout) = @_;
	$node->safe_psql('crm', qq{
INSERT INTO lead_scoring.model (name, spec, refresh_interval, refresh_timeout) VALUES ('$name', '{
  "activity": {"events": {"visit": {"points": 1}}},
  "refresh": {"tick": "1 second"},
  "source": {"leads": {"table": "$leads", "id": "id"},
             "events": {"table": "crm.events", "lead_id": "lead_id", "type": "event_type", "time": "occurred_at"}}}',
  '1 second', $timeout)});
}

# The slow model first (models are refreshed in name order: "a_slow" < "b_fast").
add_model('a_slow', 'crm.slow_leads', q{'2 seconds'});
add_model('b_fast', 'crm.leads', 'NULL');

ok( $node->poll_query_until('crm', q{
SELECT count(*) > 0 FROM lead_scoring.refresh_log
WHERE model = 'a_slow' AND status = 'error' AND error LIKE 'canceling statement due to statement timeout: the refresh took more than its time limit of 2000 ms%'}),
	'the slow model is canceled at its refresh_timeout and logged as failed');
ok( $node->poll_query_until('crm', q{
SELECT count(*) >= 2 FROM lead_scoring.refresh_log f
WHERE f.model = 'b_fast' AND f.status = 'ok'
  AND f.started_at > (SELECT min(started_at) FROM lead_scoring.refresh_log WHERE model = 'a_slow')}),
	'the other model is refreshed again and again meanwhile');
ok( $node->poll_query_until('crm', q{
SELECT count(*) >= 2 FROM lead_scoring.refresh_log WHERE model = 'a_slow' AND status = 'error'}),
	'the slow model is retried at its next refresh_interval');
ok($node->log_contains(qr/WARNING: .*refresh of model "a_slow" in database "crm" failed: canceling statement due to statement timeout: the refresh took more than its time limit of 2000 ms/),
	'the cancel is a WARNING in the server log');

# The default: lead_scoring.refresh_timeout (set to 1.5 s above; the model's
# own 2 s won until now).
$node->safe_psql('crm', q{UPDATE lead_scoring.model SET refresh_timeout = NULL WHERE name = 'a_slow'});
ok( $node->poll_query_until('crm', q{
SELECT count(*) > 0 FROM lead_scoring.refresh_log WHERE model = 'a_slow' AND error LIKE '%time limit of 1500 ms%'}),
	'without its own limit a model gets lead_scoring.refresh_timeout');

# worker_status's activity: "idle until X ...; last cycle at Y": X is Y + naptime,
# not a copy of it. (The slow model disabled, the worker is idle most of the time.)
$node->safe_psql('crm', q{UPDATE lead_scoring.model SET enabled = false WHERE name = 'a_slow'});
ok( $node->poll_query_until('crm', q{
SELECT count(*) = 1 FROM lead_scoring.worker_status
WHERE kind = 'worker' AND activity ~ 'idle until .* last cycle at '
  AND substring(activity FROM 'idle until (.*) \(naptime')::timestamptz
    - substring(activity FROM 'last cycle at (.*): \d+ due')::timestamptz = interval '1 second'}),
	'worker_status: idle until = last cycle at + naptime');

# The worker's own call, SELECT lead_scoring.refresh($1), takes its statement
# snapshot before the refresh consumes the change log. An event committed in
# between (here: while the refresh waits for a lock on the leads table) must be
# in the ranking that refresh writes, not consumed unseen.
my $locker = $node->background_psql('crm');
$locker->query_safe('BEGIN; LOCK TABLE crm.leads IN ACCESS EXCLUSIVE MODE');
ok( $node->poll_query_until('crm', q{
SELECT count(*) = 1 FROM pg_stat_activity
WHERE backend_type = 'lead_scoring worker' AND wait_event_type = 'Lock' AND query LIKE '%refreshing model "b_fast"%'}),
	'the worker waits for the lock inside a refresh');
$node->safe_psql('crm', q{INSERT INTO crm.events VALUES (7, 'visit', now() - interval '1 minute')});
$locker->query_safe('COMMIT');
my $released = $node->safe_psql('crm', 'SELECT clock_timestamp()');
$locker->quit;
ok( $node->poll_query_until('crm', qq{
SELECT count(*) > 0 FROM lead_scoring.refresh_log WHERE model = 'b_fast' AND status = 'ok' AND finished_at > '$released'}),
	'the blocked refresh finishes');
is( $node->safe_psql('crm', q{
SELECT r.activity = (SELECT count(*) FROM crm.events e WHERE e.lead_id = 7)
FROM lead_scoring.ranking_b_fast r WHERE r.lead_id = 7}),
	't', 'the event committed between the statement snapshot and the consume is counted');

$node->stop('fast');
done_testing();
