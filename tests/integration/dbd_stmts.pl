#!/usr/bin/perl
# dbd_stmts.pl - run statements with server-side prepared statements
# (DBD::MariaDB, mariadb_server_prepare=1: COM_STMT_PREPARE / EXECUTE with
# binary parameters) and print what the client saw, for test_mirror.py.
#
#   perl dbd_stmts.pl HOST PORT USER PASSWORD DB < statements.json
#
# Input: one JSON array of steps: {"sql": "...", "params": [...]} is
# prepared and executed with those parameters (numbers bound as SQL_INTEGER
# or SQL_DOUBLE, strings as SQL_VARCHAR, null as NULL); {"do": "..."} runs
# through the text protocol.  Output: one JSON array, per step
# {"ok": 1, "rows": N, "insertid": N, "warnings": N} (and "result": the
# rows, for a statement that returns some) or {"error": CODE}.

use strict;
use warnings;

use DBI qw(:sql_types);
use JSON::PP;

@ARGV == 5 or die "usage: dbd_stmts.pl HOST PORT USER PASSWORD DB < steps.json\n";
my ($host, $port, $user, $password, $db) = @ARGV;
my $json = JSON::PP->new->canonical;
my $steps = $json->decode(do { local $/; <STDIN> });
my $dbh = DBI->connect("DBI:MariaDB:database=$db;host=$host;port=$port;mariadb_server_prepare=1",
                       $user, $password, { RaiseError => 0, PrintError => 0, AutoCommit => 1 })
    or die "connect: $DBI::errstr\n";
my @out;
for my $step (@$steps) {
    if (defined $step->{do}) {
        my $rv = $dbh->do($step->{do});
        push @out, defined $rv ? { ok => 1 } : { error => $dbh->err + 0 };
        next;
    }
    my $sth = $dbh->prepare($step->{sql});
    if (!$sth) {
        push @out, { error => $dbh->err + 0 };
        next;
    }
    my $i = 1;
    for my $p (@{ $step->{params} || [] }) {
        my $type = !defined $p ? SQL_VARCHAR
                 : $p =~ /^-?\d+\z/ ? SQL_INTEGER
                 : $p =~ /^-?\d+\.\d+\z/ ? SQL_DOUBLE : SQL_VARCHAR;
        $sth->bind_param($i++, $p, $type);
    }
    my $rv = $sth->execute;
    if (!defined $rv) {
        push @out, { error => $sth->err + 0 };
        next;
    }
    my %r = (ok => 1, rows => $rv + 0, insertid => ($sth->{mariadb_insertid} // 0) + 0,
             warnings => ($sth->{mariadb_warning_count} // 0) + 0);
    $r{result} = $sth->fetchall_arrayref if $sth->{NUM_OF_FIELDS};
    push @out, \%r;
    $sth->finish;
}
$dbh->disconnect;
print $json->encode(\@out), "\n";
