# The background worker (doc/worker.md): schedule, failures, owner privileges,
# signals, restarts. Run with scripts/tap.sh (see doc/worker.md).
use strict;
use warnings;
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use WorkerNode;

my $stub = slurp_file(dirname(__FILE__) . '/refresh_stub.sql');

my $node = worker_node('worker', q{
lead_scoring.naptime = '1s'
restart_after_crash = on
}, no_db => 1);

sub worker_pid
{
	my ($db) = @_;
	return $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'lead_scoring worker' AND datname = '$db'");
}

sub launcher_pid
{
	return $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'lead_scoring launcher'");
}

sub wait_worker
{
	my ($db, $msg) = @_;
	ok( $node->poll_query_until('postgres',
			"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'lead_scoring worker' AND datname = '$db'"),
		$msg);
	return worker_pid($db);
}

# Polls until refresh_log has a row for $model with $status (and the extra
# condition $cond over refresh_log l).
sub wait_log
{
	my ($model, $status, $cond, $msg) = @_;
	$cond = 'true' unless defined $cond;
	ok( $node->poll_query_until('crm',
			"SELECT count(*) > 0 FROM lead_scoring.refresh_log l WHERE l.model = '$model' AND l.status = '$status' AND ($cond)"),
		$msg);
}

# One-second ticks: every refresh in a new second rescores the leads and logs a
# row (a refresh with nothing to do writes nothing, not even a log row).
sub spec
{
	my ($leads, $target) = @_;
	return qq({"fit": {"rules": [{"field": "title", "contains": "vp", "points": 10}]},
 "activity": {"events": {"visit": {"points": 1}}},
 "refresh": {"tick": "1 second"},
 "source": {"leads": {"table": "$leads", "id": "id", "properties": "props"},
            "events": {"table": "crm.events", "lead_id": "lead_id", "type": "event_type", "time": "occurred_at"},
            "target": "$target"}});
}

sub add_model
{
	my ($name, $leads, $owner, $interval, $enabled) = @_;
	$interval = defined $interval ? "'$interval'" : 'NULL';
	$enabled = 'true' unless defined $enabled;
	$node->safe_psql('crm',
		"INSERT INTO lead_scoring.model (name, spec, owner, refresh_interval, enabled) VALUES ('$name', '"
		  . spec($leads, "crm.ranking_$name")
		  . "', '$owner', $interval, $enabled)");
}

# The worker refreshes a model only when it has work (doc/worker.md, "When a
# model is refreshed"): a new event gives every model here some.
sub touch
{
	$node->poll_query_until('crm', 'SELECT true');    # after a crash: once connections are accepted
	$node->safe_psql('crm', q{INSERT INTO crm.events VALUES (1, 'visit', now() - interval '1 minute')});
}

# --- A listed database that does not exist: a warning, rechecked every naptime.
$node->wait_for_log(qr/database "crm" listed in lead_scoring\.database does not exist/);
ok(launcher_pid() =~ /^\d+$/, 'the launcher runs');

$node->safe_psql('postgres', 'CREATE DATABASE crm');
my $pid = wait_worker('crm', 'a worker starts once the database exists');
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = $pid AND query LIKE '%extension lead_scoring is not installed here%'"),
	'without the extension the worker idles');

my $su = $node->safe_psql('crm', 'SELECT current_user');
$node->safe_psql('crm', 'CREATE EXTENSION lead_scoring');
$node->safe_psql('crm', $stub);
$node->safe_psql('crm', q{
CREATE SCHEMA crm;
CREATE TABLE crm.leads (id int PRIMARY KEY, title text, props jsonb NOT NULL DEFAULT '{}');
INSERT INTO crm.leads (id, title) SELECT g, CASE WHEN g % 2 = 0 THEN 'VP Sales' ELSE 'Intern' END FROM generate_series(1, 20) g;
CREATE TABLE crm.events (lead_id int, event_type text, occurred_at timestamptz);
INSERT INTO crm.events SELECT g % 20 + 1, 'visit', '2026-01-01 00:00:00+00'::timestamptz + g * interval '1 hour' FROM generate_series(1, 100) g;
CREATE TABLE crm.broken_leads AS SELECT * FROM crm.leads;
CREATE TABLE crm.secret_leads AS SELECT * FROM crm.leads;
CREATE ROLE analyst NOLOGIN;
CREATE ROLE leaver NOLOGIN;
GRANT USAGE, CREATE ON SCHEMA crm TO analyst, leaver;
GRANT SELECT ON crm.events TO analyst, leaver;
GRANT SELECT ON crm.leads TO leaver;
});

# --- On schedule.
add_model('good', 'crm.leads', $su, '1 second');
add_model('never', 'crm.leads', $su, undef);            # no refresh_interval
add_model('off', 'crm.leads', $su, '1 second', 'false');  # disabled
wait_log('good', 'ok', 'true', 'a due model is refreshed');
touch();
wait_log('good', 'ok', "l.started_at > (SELECT min(started_at) FROM lead_scoring.refresh_log WHERE model = 'good')",
	'and refreshed again');
is( $node->safe_psql('crm', q{
SELECT bool_and(gap >= interval '0.5 second') FROM (
  SELECT started_at - lag(started_at) OVER (ORDER BY started_at) AS gap
  FROM lead_scoring.refresh_log WHERE model = 'good') s WHERE gap IS NOT NULL}),
	't', 'never more often than its refresh_interval (less half a naptime)');
is($node->safe_psql('postgres', "SELECT application_name FROM pg_stat_activity WHERE pid = $pid"),
	'lead_scoring worker', 'application_name');
is( $node->safe_psql('crm',
		"SELECT string_agg(kind || ':' || coalesce(database, '-') || ':' || (pid = $pid), ',' ORDER BY kind) FROM lead_scoring.worker_status"),
	'launcher:-:false,worker:crm:true', 'lead_scoring.worker_status shows the launcher and the worker');

# --- A broken model (its source table dropped) does not stop the good one.
add_model('broken', 'crm.broken_leads', $su, '1 second');
wait_log('broken', 'ok', 'true', 'the second model is refreshed');
$node->safe_psql('crm', 'DROP TABLE crm.broken_leads');
touch();
wait_log('broken', 'error', q{l.error LIKE '%broken_leads%does not exist%' AND l.finished_at >= l.started_at},
	'a dropped source table gives an error row');
my $failed = $node->safe_psql('crm', 'SELECT clock_timestamp()');
touch();
wait_log('good', 'ok', "l.started_at > '$failed'", 'the good model keeps being refreshed after the failure');
wait_log('broken', 'error',
	q{l.started_at > (SELECT min(started_at) FROM lead_scoring.refresh_log WHERE model = 'broken' AND status = 'error')},
	'the broken model is retried next time');
ok($node->log_contains(qr/WARNING: .*refresh of model "broken" in database "crm" failed: relation "crm\.broken_leads" (of \$\.source\.leads\.table )?does not exist/),
	'the failure is a WARNING in the server log');
is(worker_pid('crm'), $pid, 'the worker did not restart');

# --- The owner's privileges are enforced.
add_model('secret', 'crm.secret_leads', 'analyst', '1 second');
wait_log('secret', 'error', q{l.error LIKE '%permission denied for table secret_leads%'},
	'a model whose owner cannot read the source fails with a permission error');
ok($node->log_contains(qr/refresh of model "secret" in database "crm" failed: permission denied for table secret_leads/),
	'and says so in the server log');
$node->safe_psql('crm', 'GRANT SELECT ON crm.secret_leads TO analyst');
wait_log('secret', 'ok', 'true', 'once granted, it is refreshed');

# --- A dropped owner role: an error row, the worker keeps running.
add_model('orphan', 'crm.leads', 'leaver', '1 second');
wait_log('orphan', 'ok', 'true', 'a model owned by a plain role is refreshed');
$node->safe_psql('crm', 'DROP OWNED BY leaver; DROP ROLE leaver');
touch();
wait_log('orphan', 'error', q{l.error ~ 'owner of model "orphan" \(role OID \d+\) no longer exists'},
	'a dropped owner gives an error row');
$failed = $node->safe_psql('crm', 'SELECT clock_timestamp()');
touch();
wait_log('good', 'ok', "l.started_at > '$failed'", 'and the others go on');
is(worker_pid('crm'), $pid, 'still the same worker');

# --- SIGTERM in the middle of a refresh (waiting for a lock) stops it at once;
# the launcher brings a new worker, which picks up database settings
# (statement_timeout) and enforces them on refreshes.
my $locker = $node->background_psql('crm');
touch();
$locker->query_safe('BEGIN; LOCK TABLE crm.leads IN ACCESS EXCLUSIVE MODE');
ok( $node->poll_query_until('postgres',
		qq{SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = $pid AND wait_event_type = 'Lock'
		   AND query LIKE '%refreshing model "good" as role $su%'}),
	'the worker waits for the lock inside a refresh');
$node->safe_psql('postgres', q{ALTER DATABASE crm SET statement_timeout = '1s'});
is($node->safe_psql('postgres', "SELECT pg_terminate_backend($pid, 1000)"),
	't', 'SIGTERM stops the worker within a second, even mid-refresh');
my $pid2 = wait_worker('crm', 'the launcher starts a new worker');
isnt($pid2, $pid, 'a new process');
wait_log('good', 'error', q{l.error LIKE '%statement timeout%'},
	'statement_timeout cancels a refresh stuck on a lock');
$locker->query_safe('COMMIT');
$locker->quit;
$node->safe_psql('postgres', 'ALTER DATABASE crm RESET statement_timeout');
wait_log('good', 'ok',
	q{l.started_at > (SELECT max(started_at) FROM lead_scoring.refresh_log WHERE model = 'good' AND status = 'error')},
	'after the lock is gone the model is refreshed again');
is(worker_pid('crm'), $pid2, 'the cancelled refresh did not end the worker');

# --- SIGHUP: naptime, applied to the current wait.
$node->safe_psql('postgres', q{ALTER SYSTEM SET lead_scoring.naptime = '1min'});
$node->reload;
$node->wait_for_log(qr/lead_scoring worker for database "crm": naptime is now 60 s/);
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = $pid2 AND state = 'idle' AND query LIKE '%(naptime 60 s)%'"),
	'the worker sleeps with the new naptime');
add_model('late', 'crm.leads', $su, '1 second');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET lead_scoring.naptime');
$node->reload;
wait_log('late', 'ok', 'true', 'a shorter naptime ends the current wait');

# --- SIGHUP: the database list.
$node->safe_psql('postgres', 'CREATE DATABASE crm2');
$node->safe_psql('postgres', q{ALTER SYSTEM SET lead_scoring.database = 'crm', 'crm2'});
$node->reload;
wait_worker('crm2', 'a database added to the list gets a worker');
is(worker_pid('crm'), $pid2, 'the existing worker is left alone');
$node->safe_psql('postgres', q{ALTER SYSTEM SET lead_scoring.database = 'crm2'});
$node->reload;
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'lead_scoring worker' AND datname = 'crm'"),
	'a database removed from the list loses its worker');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET lead_scoring.database');
$node->reload;
my $pid3 = wait_worker('crm', 'and gets it back when listed again');
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'lead_scoring worker' AND datname = 'crm2'"),
	'crm2 is no longer served');
my $mark = $node->safe_psql('crm', 'SELECT clock_timestamp()');
touch();
wait_log('good', 'ok', "l.started_at > '$mark'", 'the new worker refreshes');

# --- pg_terminate_backend of the launcher: a new launcher, still one worker.
my $launcher = launcher_pid();
$node->safe_psql('postgres', "SELECT pg_terminate_backend($launcher)");
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'lead_scoring launcher' AND pid <> $launcher"),
	'the launcher comes back');
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'lead_scoring worker' AND datname = 'crm' AND pid <> $pid3"),
	'with exactly one (new) worker for the database');
$mark = $node->safe_psql('crm', 'SELECT clock_timestamp()');
touch();
wait_log('good', 'ok', "l.started_at > '$mark'", 'which refreshes');

# --- A crash (SIGKILL of the worker resets the whole server): it comes back.
my $pid4 = worker_pid('crm');
$mark = $node->safe_psql('crm', 'SELECT clock_timestamp()');
kill 'KILL', $pid4;
$node->wait_for_log(qr/all server processes terminated; reinitializing/);
touch();
wait_log('good', 'ok', "l.started_at > '$mark'", 'after a crash the worker refreshes again');

# --- A restart.
$node->restart;
wait_worker('crm', 'after a restart the worker is back');
touch();
wait_log('good', 'ok', 'l.started_at > pg_postmaster_start_time()', 'and refreshes');

# --- What must never have happened.
is($node->safe_psql('crm', "SELECT count(*) FROM lead_scoring.refresh_log WHERE model IN ('never', 'off')"),
	'0', 'models without refresh_interval or disabled are never refreshed by the worker');
is($node->safe_psql('crm', "SELECT count(*) FROM lead_scoring.refresh_log WHERE status = 'error' AND model IN ('late')"),
	'0', 'no spurious errors');
ok(!$node->log_contains(qr/terminated by signal (6|11)|TRAP:/), 'no worker crashed on its own');

# --- SIGTERM at shutdown: a fast stop is not held up by the worker.
my $t0 = time();
$node->stop('fast');
ok(time() - $t0 < 10, 'pg_ctl stop -m fast returns promptly');

done_testing();
