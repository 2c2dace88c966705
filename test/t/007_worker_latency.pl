# The worker at naptime 1 s (doc/worker.md, "When a model is refreshed"):
# a new event reaches <target>_ranked without anyone calling refresh, the
# refresh that carried it wrote that one lead's row, and an event dated a few
# seconds ahead is picked up when its time comes (refresh_state.next_due),
# with no further write to any source. No timed assertion: every wait polls
# with the framework's generous timeout.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use WorkerNode;

my $node = worker_node('worker_latency');
# Lead k has k visits: the ranking is lead 20 first, lead 1 last, no ties.
$node->safe_psql('crm', q{
CREATE EXTENSION lead_scoring;
CREATE SCHEMA crm;
CREATE TABLE crm.leads (id int PRIMARY KEY);
INSERT INTO crm.leads SELECT g FROM generate_series(1, 20) g;
CREATE TABLE crm.events (lead_id int, event_type text, occurred_at timestamptz);
CREATE INDEX ON crm.events (lead_id);
INSERT INTO crm.events SELECT k, 'visit', now() - interval '1 day' - i * interval '1 minute'
  FROM generate_series(1, 20) k, generate_series(1, k) i;
INSERT INTO lead_scoring.model (name, spec, refresh_interval) VALUES ('fast', '{
  "activity": {"events": {"visit": {"points": 1}}},
  "source": {"leads": {"table": "crm.leads", "id": "id"},
             "events": {"table": "crm.events", "lead_id": "lead_id", "type": "event_type", "time": "occurred_at"},
             "target": "crm.fast_ranking"}}', '1 second');
});

ok( $node->poll_query_until('crm', q{
SELECT count(*) = 20 AND bool_and(r.rank = 21 - r.lead_id) FROM crm.fast_ranking_ranked r}),
	'the worker writes the first ranking by itself: lead k ranked 21 - k');
is($node->safe_psql('crm', q{SELECT rank FROM crm.fast_ranking_ranked WHERE lead_id = 1}),
	'20', 'lead 1 is last');

# One more lead 1 event than lead 20 has: lead 1 goes first.
my $t0 = $node->safe_psql('crm', q{
INSERT INTO crm.events SELECT 1, 'visit', now() - interval '1 minute' FROM generate_series(1, 20);
SELECT clock_timestamp()});
ok( $node->poll_query_until('crm', q{
SELECT rank = 1 FROM crm.fast_ranking_ranked WHERE lead_id = 1}),
	'the worker picks up the new events: lead 1 is ranked first');
is( $node->safe_psql('crm', q{
SELECT string_agg(format('%s:%s', r.lead_id, r.rank), ',' ORDER BY r.lead_id)
FROM crm.fast_ranking_ranked r WHERE r.lead_id IN (1, 2, 20)}),
	'1:1,2:20,20:2', 'the others move down by one');
is( $node->safe_psql('crm', qq{
SELECT format('%s %s %s', count(*), min(changed_leads), min(rows_written))
FROM lead_scoring.refresh_log WHERE model = 'fast' AND status = 'ok' AND started_at > '$t0'}),
	'1 1 1', 'one refresh carried it, and it wrote one row: the lead that changed');

# An event dated 3 seconds ahead does not count before its time, and then
# counts without another write to the sources (the worker sees next_due).
$node->safe_psql('crm', q{
INSERT INTO crm.events SELECT 2, 'visit', clock_timestamp() + interval '3 seconds' FROM generate_series(1, 30)});
ok( $node->poll_query_until('crm', q{
SELECT rank = 1 FROM crm.fast_ranking_ranked WHERE lead_id = 2}),
	'an event dated ahead counts once its time has come');
is($node->safe_psql('crm', q{SELECT activity FROM crm.fast_ranking WHERE lead_id = 2}),
	'32', 'lead 2: its 2 visits and the 30 dated ahead');
ok($node->safe_psql('crm', q{SELECT count(*) FROM lead_scoring.change_log}) == 0,
	'the change log is consumed');

# The worker keeps its due query planned across cycles: a dropped and
# recreated extension gets it replanned, not an error.
$node->safe_psql('crm', 'DROP EXTENSION lead_scoring CASCADE');
ok( $node->poll_query_until('crm', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE backend_type = 'lead_scoring worker' AND query LIKE '%extension lead_scoring is not installed here%'}),
	'without the extension the worker idles');
$node->safe_psql('crm', q{
CREATE EXTENSION lead_scoring;
INSERT INTO lead_scoring.model (name, spec, refresh_interval) VALUES ('again', '{
  "activity": {"events": {"visit": {"points": 1}}},
  "source": {"leads": {"table": "crm.leads", "id": "id"},
             "events": {"table": "crm.events", "lead_id": "lead_id", "type": "event_type", "time": "occurred_at"}}}', '1 second');
});
ok( $node->poll_query_until('crm', q{
SELECT count(*) = 1 FROM lead_scoring.refresh_log WHERE model = 'again' AND status = 'ok'}),
	'with the extension created again, the worker refreshes its models');
ok(!$node->log_contains(qr/the last cycle failed|listing due models failed|could not open relation with OID/),
	'no cycle failed');

$node->stop('fast');
done_testing();
