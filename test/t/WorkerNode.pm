# The server the background-worker TAP tests start: lead_scoring preloaded and
# serving database crm (created unless no_db), naptime 1 s, room for the
# launcher and a worker per database. $extra (postgresql.conf lines) is
# appended after these, so it can override them.
package WorkerNode;
use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;

our @EXPORT = qw(worker_node);

sub worker_node
{
	my ($name, $extra, %opt) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'lead_scoring'
lead_scoring.database = 'crm'
lead_scoring.naptime = 1
max_worker_processes = 16
} . ($extra // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE DATABASE crm') unless $opt{no_db};
	return $node;
}

1;
