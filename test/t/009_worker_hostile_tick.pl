# The worker's due check parses one value users write, the spec's refresh.tick,
# with the worker's rights (doc/worker.md, "When a model is refreshed"). A tick
# that is not an interval, or one date_bin cannot use (months, negative, zero,
# under a second, out of range, empty, an injection attempt, 10,000
# digits) must only affect its own model: it is reported once per model, the
# model is handed to refresh (which says what is wrong, in refresh_log), and
# the other model keeps being refreshed. refresh itself refuses such specs, so
# the test plants them as a superuser (the model's CHECK dropped and the
# trigger that compiles every model disabled), and makes refresh_state say that spec was refreshed at the current tick, so
# the worker has to read the tick to decide.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use WorkerNode;

my $node = worker_node('worker_hostile_tick');

my %ticks = (
	h_garbage  => q{"garbage"},
	h_month    => q{"1 month"},
	h_negative => q{"-1 hour"},
	h_zero     => q{"0"},
	h_tiny     => q{"1 microsecond"},
	h_range    => q{"999999999999 days"},
	h_bin      => q{"200000000 days"},
	h_inject   => q{"1 hour'); SELECT pg_sleep(100); --"},
	h_empty    => q{""},
	h_digits   => '"' . ('9' x 10000) . '"');

$node->safe_psql('crm', q{
CREATE EXTENSION lead_scoring;
CREATE SCHEMA crm;
CREATE TABLE crm.leads (id int PRIMARY KEY);
INSERT INTO crm.leads SELECT g FROM generate_series(1, 10) g;
CREATE TABLE crm.events (lead_id int, event_type text, occurred_at timestamptz);
INSERT INTO crm.events SELECT g % 10 + 1, 'visit', now() - g * interval '1 hour' FROM generate_series(1, 30) g;
-- The hostile models read tables of their own: the capture triggers on a
-- source compile the models that map it.
CREATE TABLE crm.h_leads AS SELECT * FROM crm.leads;
CREATE TABLE crm.h_events AS SELECT * FROM crm.events;
});
for my $name ('good', sort keys %ticks)
{
	my $prefix = $name eq 'good' ? '' : 'h_';
	$node->safe_psql('crm', qq{
INSERT INTO lead_scoring.model (name, spec, refresh_interval) VALUES ('$name', '{
  "activity": {"events": {"visit": {"points": 1}}},
  "source": {"leads": {"table": "crm.${prefix}leads", "id": "id"},
             "events": {"table": "crm.${prefix}events", "lead_id": "lead_id", "type": "event_type", "time": "occurred_at"}}}',
  '1 second')});
}
ok( $node->poll_query_until('crm', q{SELECT count(*) = 11 FROM lead_scoring.refresh_state}),
	'every model is refreshed once');
my $pid = $node->safe_psql('crm', q{SELECT pid FROM lead_scoring.worker_status WHERE kind = 'worker'});

# Plant the hostile ticks.
$node->safe_psql('crm', q{
ALTER TABLE lead_scoring.model DROP CONSTRAINT model_spec_valid;
ALTER TABLE lead_scoring.model DISABLE TRIGGER model_capture_cleanup});
for my $name (sort keys %ticks)
{
	my $tick = $ticks{$name};
	$tick =~ s/'/''/g;
	$node->safe_psql('crm', qq{
UPDATE lead_scoring.model SET spec = spec || '{"refresh": {"tick": $tick}}' WHERE name = '$name';
UPDATE lead_scoring.refresh_state s SET spec = m.spec, tick_start = now()
  FROM lead_scoring.model m WHERE m.name = s.model AND s.model = '$name'});
}

# The good model still picks up a new event.
$node->safe_psql('crm', q{INSERT INTO crm.events SELECT 3, 'visit', now() - interval '1 minute' FROM generate_series(1, 5)});
ok( $node->poll_query_until('crm', q{
SELECT r.activity = (SELECT count(*) FROM crm.events e WHERE e.lead_id = 3)
  FROM lead_scoring.ranking_good r WHERE r.lead_id = 3}),
	'the other model is refreshed with the new event');
# Each hostile model goes to refresh, which fails it (refresh_log says why).
ok( $node->poll_query_until('crm', q{
SELECT count(DISTINCT model) = 10 FROM lead_scoring.refresh_log
 WHERE model LIKE 'h\_%' AND status = 'error' AND started_at > (SELECT max(updated_at) FROM lead_scoring.model)}),
	'each model with a bad tick is handed to refresh, which logs the error');
# Several cycles later: one warning per model, not one per cycle.
ok( $node->poll_query_until('crm', q{
SELECT count(*) >= 3 FROM lead_scoring.refresh_log WHERE model = 'h_garbage' AND status = 'error'}),
	'the models with a bad tick are retried every refresh_interval');
my $log = slurp_file($node->logfile);
for my $name (sort keys %ticks)
{
	my @w = $log =~ /WARNING: .*model "$name" has a refresh\.tick that is not an interval of at least 1 second without months/g;
	is(scalar @w, 1, "$name: reported once");
}
unlike($log, qr/listing due models failed|the last cycle failed/, 'no cycle failed');
is($node->safe_psql('crm', q{SELECT pid FROM lead_scoring.worker_status WHERE kind = 'worker'}),
	$pid, 'the same worker process throughout');
is($node->safe_psql('crm', q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(100)%' AND pid <> pg_backend_pid()}),
	'0', 'nothing of the tick text ran');

$node->stop('fast');
done_testing();
