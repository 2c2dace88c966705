# The upgrade path (doc/packaging.md, "Upgrades"): a database created at an
# earlier release, with a model, a ranking, refresh history and stage changes,
# is updated by ALTER EXTENSION lead_scoring UPDATE, keeps its data, and keeps
# refreshing correctly; its extension objects then equal a fresh install's,
# object for object (test/t/upgrade_catalog.sql describes them).
#
# Every earlier release with an update path to the current version is tested:
# their full scripts are in install/releases, the updates in install/updates
# (both installed by make install).
use strict;
use warnings;
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $catalog_sql = slurp_file(dirname(__FILE__) . '/upgrade_catalog.sql');
my $dir = $PostgreSQL::Test::Utils::tmp_check;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;

my $to = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'lead_scoring'");
my @from = split /\n/, $node->safe_psql('postgres', qq{
SELECT source FROM pg_extension_update_paths('lead_scoring')
 WHERE target = '$to' AND path IS NOT NULL ORDER BY string_to_array(source, '.')::int[]});
ok(scalar @from, "earlier releases with an update path to $to: @from");

# Writes the catalog description of database $db (or the output of $sql) to
# tmp_check/$file, and returns it.
sub catalog
{
	my ($db, $file, $sql) = @_;
	my $text = $node->safe_psql($db, $sql // $catalog_sql);
	open(my $fh, '>', "$dir/$file") or die "cannot write $dir/$file: $!";
	print $fh $text, "\n";
	close($fh);
	return $text;
}

# diff -u of two descriptions; each hunk header shows the start of the name of
# the object the hunk begins in ("@@ ... @@ == relation lead_scoring.x").
sub catalog_diff
{
	my ($left, $right) = @_;
	my ($out, $err) = run_command([ 'diff', '-U', '3', '-F', '^== ', "$dir/$left", "$dir/$right" ]);
	return $out;
}

# --- database "fresh": the current version, created directly -------------------
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION lead_scoring');
my $fresh = catalog('fresh', 'catalog_fresh.txt');
like($fresh, qr/^== member function lead_scoring\.refresh\(/m, 'the catalog description lists the members');

upgrade_from($_) for @from;

sub upgrade_from
{
	my ($from) = @_;
	(my $db = "from_$from") =~ s/\W/_/g;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, "CREATE EXTENSION lead_scoring VERSION '$from'");
	is($node->safe_psql($db, "SELECT extversion FROM pg_extension WHERE extname = 'lead_scoring'"),
		$from, "$from: created");

	# A small CRM. Everything the fit rules read is in props, so the scalar
	# functions can be given the same attributes as refresh.
	$node->safe_psql($db, q{
CREATE SCHEMA crm;
CREATE TABLE crm.leads (id bigint PRIMARY KEY, props jsonb NOT NULL);
CREATE TABLE crm.events (id bigserial PRIMARY KEY, lead_id bigint NOT NULL, event_type text NOT NULL,
                         occurred_at timestamptz NOT NULL);
CREATE INDEX ON crm.events (lead_id);
INSERT INTO crm.leads VALUES
 (1, '{"industry": "software", "country": "US", "employees": 250}'),
 (2, '{"industry": "retail",   "country": "FR", "employees": 40}'),
 (3, '{"industry": "software", "country": "CA", "employees": 90}'),
 (4, '{"industry": "gov",      "country": "US", "employees": 900}'),
 (5, '{"industry": "software", "country": "DE", "employees": 5}'),
 (6, '{}');
INSERT INTO crm.events (lead_id, event_type, occurred_at) VALUES
 (1, 'page_view', '2024-03-01 10:00+00'), (1, 'pricing', '2024-03-05 12:00+00'),
 (2, 'page_view', '2024-03-08 00:00+00'), (2, 'webinar', '2024-02-20 00:00+00'),
 (3, 'pricing',   '2024-03-07 00:00+00'), (3, 'pricing', '2024-03-08 06:00+00'),
 (5, 'page_view', '2024-01-15 00:00+00');
INSERT INTO lead_scoring.model (name, spec) VALUES ('m', '{
  "fit": {"rules": [
     {"field": "industry", "eq": "software", "points": 20},
     {"field": "country", "in": ["US", "CA"], "points": 10},
     {"field": "employees", "gte": 100, "points": 15}]},
  "activity": {"events": {"page_view": {"points": 1, "cap": 5}, "pricing": {"points": 5},
                          "demo_request": {"points": 30}, "*": {"points": 0.5}},
               "decay": {"kind": "exponential", "half_life": "30 days"}},
  "grades": [{"grade": "A", "min_fit": 30}, {"grade": "B", "min_fit": 15}, {"grade": "C", "min_fit": 0}],
  "stages": [{"stage": "SQL", "min_score": 50, "event": "demo_request"}, {"stage": "MQL", "min_score": 25}],
  "source": {"leads": {"table": "crm.leads", "id": "id", "properties": "props"},
             "events": {"table": "crm.events", "lead_id": "lead_id", "type": "event_type", "time": "occurred_at"}}}');
});

	# This library writes the current version's objects: it refuses to refresh a
	# database still at an earlier version (55000, with the hint), which is what
	# the worker logs between installing a new build and ALTER EXTENSION UPDATE.
	my ($rc, $out, $err) = $node->psql($db, q{SELECT lead_scoring.refresh('m', '2024-03-09 00:00+00')},
		extra_params => [ '-v', 'VERBOSITY=default' ]);
	isnt($rc, 0, "$from: refresh before the update fails");
	like($err, qr/needs version \Q$to\E of the extension's objects.*HINT:\s+Run ALTER EXTENSION lead_scoring UPDATE/s,
		"$from: ... with 55000's message and the hint") or diag($err);

	# So what 0.1.0's two refreshes (03-09, then 03-10 after lead 2's demo
	# request) left is laid down by hand, as that release wrote it: the ranking
	# table in its layout (rank, percentile, refreshed_at), two log rows and
	# lead 2's stage change (new -> MQL: at 03-10 its activity is
	# 30 * 2^(-0.5/30) + 1 * 2^(-2/30) + 0.5 * 2^(-19/30) = 30.9 >= 25).
	$node->safe_psql($db, q{
INSERT INTO crm.events (lead_id, event_type, occurred_at) VALUES (2, 'demo_request', '2024-03-09 12:00+00');
CREATE TABLE lead_scoring.ranking_m (lead_id bigint PRIMARY KEY, score float8 NOT NULL, fit float8 NOT NULL,
    activity float8 NOT NULL, grade text, stage text NOT NULL, disqualified boolean NOT NULL, rank bigint,
    percentile float8, rfm_code text, rfm_segment text, as_of timestamptz NOT NULL, refreshed_at timestamptz NOT NULL);
CREATE INDEX ON lead_scoring.ranking_m (rank);
CREATE INDEX ON lead_scoring.ranking_m (stage, rank);
WITH spec AS (SELECT spec FROM lead_scoring.model WHERE name = 'm'),
f AS (SELECT l.id, lead_scoring.fit_score(spec.spec, l.props) AS fit FROM crm.leads l, spec),
a AS (SELECT e.lead_id, lead_scoring.activity_score(spec.spec, e.event_type, e.occurred_at, '2024-03-10 00:00+00') AS activity
        FROM crm.events e, spec GROUP BY e.lead_id),
s AS (SELECT f.id, f.fit, coalesce(a.activity, 0) AS activity,
             lead_scoring.score(spec.spec, f.fit, coalesce(a.activity, 0)) AS score
        FROM f LEFT JOIN a ON a.lead_id = f.id, spec)
INSERT INTO lead_scoring.ranking_m
SELECT id, score, fit, activity, NULL, CASE WHEN score >= 25 THEN 'MQL' ELSE 'new' END, false,
       rank() OVER (ORDER BY score DESC), percent_rank() OVER (ORDER BY score), NULL, NULL,
       '2024-03-10 00:00+00', '2024-03-10 00:00+00'
  FROM s;
INSERT INTO lead_scoring.refresh_log (model, started_at, finished_at, mode, leads, events_read, status, as_of, reason)
VALUES ('m', '2024-03-09 00:00:01+00', '2024-03-09 00:00:02+00', 'full', 6, 7, 'ok', '2024-03-09 00:00+00', 'first refresh'),
       ('m', '2024-03-10 00:00:01+00', '2024-03-10 00:00:02+00', 'incremental', 6, 2, 'ok', '2024-03-10 00:00+00', NULL);
INSERT INTO lead_scoring.stage_history (lead_id, model, from_stage, to_stage, changed_at)
VALUES ('2', 'm', 'new', 'MQL', '2024-03-10 00:00+00');
});
	is($node->safe_psql($db, q{SELECT stage FROM lead_scoring.ranking_m WHERE lead_id = 2}), 'MQL',
		"$from: lead 2 is MQL in the 0.1.0 ranking");

	# More source changes before the update.
	$node->safe_psql($db, q{
INSERT INTO crm.events (lead_id, event_type, occurred_at) VALUES
 (6, 'demo_request', '2024-03-10 06:00+00'), (4, 'pricing', '2024-03-10 08:00+00');
UPDATE crm.leads SET props = props || '{"country": "US"}' WHERE id = 3;
DELETE FROM crm.events WHERE lead_id = 5;
});

	# The user data in the extension's tables, as text, before the update.
	my $user_data = q{
SELECT 'model', name, spec::text, owner::regrole::text FROM lead_scoring.model ORDER BY name;
SELECT 'refresh_log', id, model, status, mode, leads, as_of FROM lead_scoring.refresh_log ORDER BY id;
SELECT 'stage_history', lead_id, model, from_stage, to_stage, changed_at FROM lead_scoring.stage_history
 ORDER BY model, lead_id, changed_at;
};
	my $before = $node->safe_psql($db, $user_data);
	like($before, qr/^refresh_log\|2\|m\|ok\|/m, "$from: two refreshes logged");

	# --- the update ---------------------------------------------------------
	$node->safe_psql($db, 'ALTER EXTENSION lead_scoring UPDATE');
	is($node->safe_psql($db, "SELECT extversion FROM pg_extension WHERE extname = 'lead_scoring'"),
		$to, "$from: ALTER EXTENSION UPDATE reaches $to");
	is($node->safe_psql($db, $user_data), $before, "$from: models, refresh_log and stage_history survive the update");

	# --- refreshing after the update ---------------------------------------
	# as_of is on an hour boundary and no event lies in the hour before it, so the
	# expected values are the same with or without tick-based scoring.
	my $as_of = '2024-03-11 00:00+00';
	$node->safe_psql($db, "SELECT lead_scoring.refresh('m', '$as_of')");
	is($node->safe_psql($db, q{SELECT status FROM lead_scoring.refresh_log ORDER BY id DESC LIMIT 1}),
		'ok', "$from: the refresh after the update is logged as ok");

	# The ranking, against the scalar functions over the same rows. Rank is read
	# from the ranking table, or from its _ranked view where the table has none.
	my $rank_rel = $node->safe_psql($db, q{
SELECT CASE WHEN EXISTS (SELECT FROM pg_attribute WHERE attrelid = 'lead_scoring.ranking_m'::regclass
                                                    AND attname = 'rank' AND NOT attisdropped)
            THEN 'lead_scoring.ranking_m' ELSE 'lead_scoring.ranking_m_ranked' END});
	my $expected = $node->safe_psql($db, qq{
WITH spec AS (SELECT spec FROM lead_scoring.model WHERE name = 'm'),
f AS (SELECT l.id, lead_scoring.fit_score(spec.spec, l.props) AS fit FROM crm.leads l, spec),
a AS (SELECT e.lead_id, lead_scoring.activity_score(spec.spec, e.event_type, e.occurred_at, '$as_of') AS activity
        FROM crm.events e, spec GROUP BY e.lead_id),
s AS (SELECT f.id, f.fit, coalesce(a.activity, 0) AS activity,
             lead_scoring.score(spec.spec, f.fit, coalesce(a.activity, 0)) AS score,
             lead_scoring.grade(spec.spec, f.fit) AS grade
        FROM f LEFT JOIN a ON a.lead_id = f.id, spec)
SELECT id, round(score::numeric, 9), round(fit::numeric, 9), round(activity::numeric, 9), grade,
       rank() OVER (ORDER BY score DESC)
  FROM s ORDER BY id});
	my $actual = $node->safe_psql($db, qq{
SELECT t.lead_id, round(t.score::numeric, 9), round(t.fit::numeric, 9), round(t.activity::numeric, 9), t.grade, r.rank
  FROM lead_scoring.ranking_m t JOIN $rank_rel r USING (lead_id) ORDER BY t.lead_id});
	is($actual, $expected, "$from: the ranking after the update equals the scalar functions over the same rows");
	note("lead_id|score|fit|activity|grade|rank after the update:\n$actual");
	# Hand-checked anchor: lead 6 has only the demo request, 18 h before as_of.
	like($expected, qr/^6\|29\.48\d*\|0\.0*\|29\.48/m, "$from: lead 6: fit 0, activity 30 * 2^(-0.75/30) = 29.48")
		or diag($expected);

	# pg_dump keeps the configuration tables' rows of the updated database, and a
	# restore (which runs CREATE EXTENSION at the current version) takes them.
	my $dump = "$dir/$db.dump";
	$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr($db), '-f', $dump ], "$from: pg_dump after the update");
	$node->safe_psql('postgres', "CREATE DATABASE ${db}_restored");
	$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr("${db}_restored"), $dump ],
		"$from: pg_restore into a new database");
	is($node->safe_psql("${db}_restored", $user_data), $node->safe_psql($db, $user_data),
		"$from: models, refresh_log and stage_history are restored");

	my $file = "catalog_$db.txt";
	catalog($db, $file);
	my $diff = catalog_diff($file, 'catalog_fresh.txt');
	ok($diff eq '', "$from + update has the same extension objects as a fresh $to")
	  or diag("$from + ALTER EXTENSION UPDATE ('-') against CREATE EXTENSION at $to ('+'):\n$diff");
	return;
}

# The comparison itself: each kind of omission an update script can make shows
# in the description (in a transaction that is rolled back).
my @omissions = (
	[ 'a dropped column', 'ALTER TABLE lead_scoring.refresh_log DROP COLUMN changed_leads' ],
	[ 'a dropped default', 'ALTER TABLE lead_scoring.refresh_log ALTER COLUMN started_at DROP DEFAULT' ],
	[ 'a dropped check constraint', 'ALTER TABLE lead_scoring.refresh_log DROP CONSTRAINT refresh_log_mode' ],
	[ 'a dropped column comment', 'COMMENT ON COLUMN lead_scoring.chart_deciles.base_rate IS NULL' ],
	[ 'a changed table comment', q{COMMENT ON TABLE lead_scoring.refresh_log IS 'old wording'} ],
	[ 'a changed function body', q{CREATE OR REPLACE FUNCTION lead_scoring._sample_expand(q text, s text, base bigint)
		RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS 'SELECT q'} ],
	[ 'a changed function attribute', 'ALTER FUNCTION lead_scoring._sample_expand(text, text, bigint) PARALLEL UNSAFE' ],
	[ 'a changed function setting', 'ALTER FUNCTION lead_scoring._sample_expand(text, text, bigint) RESET search_path' ],
	[ 'a revoked grant', 'REVOKE SELECT ON lead_scoring.refresh_log FROM PUBLIC' ],
	[ 'a lost membership', 'ALTER EXTENSION lead_scoring DROP FUNCTION lead_scoring._sample_expand(text, text, bigint)' ],
	[ 'a dropped trigger', 'DROP TRIGGER model_touch ON lead_scoring.model' ],
	[ 'a dropped policy', 'DROP POLICY model_delete ON lead_scoring.model' ],
	[ 'a dropped index', 'DROP INDEX lead_scoring.stage_history_lead' ],
	[ 'a row-level security switch', 'ALTER TABLE lead_scoring.model NO FORCE ROW LEVEL SECURITY' ],
	[ 'a changed configuration-table condition',
		q{UPDATE pg_catalog.pg_extension SET extcondition[1] = 'WHERE false' WHERE extname = 'lead_scoring'} ],);
for my $o (@omissions)
{
	my ($what, $sql) = @$o;
	catalog('fresh', 'catalog_omission.txt', "BEGIN;\n$sql;\n$catalog_sql\nROLLBACK;");
	isnt(catalog_diff('catalog_omission.txt', 'catalog_fresh.txt'), '', "the comparison sees $what");
}

$node->stop('fast');
done_testing();
