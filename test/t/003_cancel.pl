# pg_cancel_backend from another session stops every long lead_scoring
# operation within a second, and the session stays usable (hardening issue:
# cancellation). statement_timeout is covered by the hostile_cancel* suites.
use strict;
use warnings FATAL => 'all';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('cancel');
$node->init;
$node->append_conf('postgresql.conf', "max_parallel_workers_per_gather = 0\njit = off\n");
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION lead_scoring;
SELECT lead_scoring.generate_sample_crm('crm', 200000, 15, 0.42, '2026-01-01 00:00:00+00');
INSERT INTO lead_scoring.model (name, spec) VALUES ('m', '{
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 20}]},
  "activity": {"events": {"demo_request": {"points": 25, "cap": 50}, "*": {"points": 1}},
               "decay": {"kind": "exponential", "half_life": "30 days"}},
  "stages": [{"stage": "SQL", "min_score": 60}],
  "source": {"leads": {"table": "crm.leads", "id": "id", "properties": "props"},
             "events": {"table": "crm.events", "lead_id": "lead_id", "type": "event_type", "time": "occurred_at"},
             "conversions": {"table": "crm.deals", "lead_id": "lead_id", "time": "won_at"}}}');
SELECT lead_scoring.refresh('m', '2026-01-01 00:00:00+00', true);
});

my $spec = q{'{"activity": {"events": {"v": {"points": 1}}, "decay": {"kind": "exponential", "half_life": "30 days"}}}'::jsonb};
my @cases = (
	[ 'activity_score',
		"SELECT lead_scoring.activity_score($spec, 'v', timestamptz '2026-01-01' - (g % 1000) * interval '1 min', timestamptz '2026-01-01') FROM generate_series(1, 2000000000) g" ],
	[ 'auc', 'SELECT lead_scoring.auc((g % 100000)::float8, g % 3 = 0) FROM generate_series(1, 2000000000) g' ],
	[ 'rfm_breaks', 'SELECT lead_scoring.rfm_breaks(g % 365, g % 17, g % 1000) FROM generate_series(1, 60000000) g' ],
	[ 'logistic_fit', 'SELECT lead_scoring.logistic_fit(ARRAY[(g % 7)::float8, (g % 3)::float8], g % 5 = 0) FROM generate_series(1, 40000000) g' ],
	[ 'refresh', q{SELECT lead_scoring.refresh('m', '2026-02-01 00:00:00+00', true)} ],
	[ 'suggest_model', q{SELECT lead_scoring.suggest_model('m')} ],
);

for my $c (@cases) {
	my ($name, $sql) = @$c;
	my $bg = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $bg->query_safe('SELECT pg_backend_pid()');
	$bg->query_until(qr/started/, "\\echo started\n$sql;\n");
	ok( $node->poll_query_until('postgres',
			"SELECT state = 'active' FROM pg_stat_activity WHERE pid = $pid"),
		"$name: running");
	usleep(700_000);    # well inside the work, not in its first call
	is($node->safe_psql('postgres', "SELECT state FROM pg_stat_activity WHERE pid = $pid"),
		'active', "$name: still running after 0.7 s");
	my $t0 = time;
	$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
	my $stopped = 0;
	while (time - $t0 < 10) {
		if ($node->safe_psql('postgres', "SELECT state FROM pg_stat_activity WHERE pid = $pid") ne 'active') {
			$stopped = 1;
			last;
		}
		usleep(20_000);
	}
	my $took = time - $t0;
	ok($stopped && $took < 1.0, sprintf("%s: stops within a second of pg_cancel_backend (%.2f s)", $name, $took));
	is($bg->query('SELECT 42'), '42', "$name: the session works afterwards");
	like($bg->{stderr}, qr/canceling statement due to user request/, "$name: the error is the cancel");
	$bg->quit;
}

$node->stop;
done_testing();
