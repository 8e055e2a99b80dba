#!/usr/bin/perl
# dbd_clients.pl - integration tests with Perl's DBD::MariaDB as the client.
#
#   perl dbd_clients.pl HOST PORT USER PASSWORD DB [--ssl-ca FILE] [--tmpdir DIR]
#
# TAP on stdout (Test::More).  Run by tests/integration/test_perl_clients.py
# against the server directly and through cutoverd; both must pass.  With
# --ssl-ca every connection uses TLS and verifies the server's certificate
# (and name) against that CA.  Tables are named dbd_<what>_<pid>_<random>
# and dropped at the end.
#
# DBD::MariaDB sits on Connector/C, like ctest_clients.c, but drives it the
# way Perl applications do: server-side prepare with its own type mapping,
# multi-statement batches, LOAD DATA LOCAL, AutoCommit handling by COM_QUERY
# "SET autocommit", and large values sent inline in COM_STMT_EXECUTE.

use strict;
use warnings;
use utf8;

use DBI qw(:sql_types);
use File::Temp qw(tempfile);
use Getopt::Long;
use Test::More;

binmode(STDOUT, ':encoding(UTF-8)');
binmode(Test::More->builder->output, ':encoding(UTF-8)');
binmode(Test::More->builder->failure_output, ':encoding(UTF-8)');
binmode(Test::More->builder->todo_output, ':encoding(UTF-8)');

my ($ssl_ca, $tmpdir);
GetOptions('ssl-ca=s' => \$ssl_ca, 'tmpdir=s' => \$tmpdir) or die "bad options\n";
@ARGV == 5 or die "usage: dbd_clients.pl HOST PORT USER PASSWORD DB [--ssl-ca FILE] [--tmpdir DIR]\n";
my ($host, $port, $user, $password, $db) = @ARGV;
my $tag = sprintf('%d_%04x', $$, int(rand(65536)));
my @tables;

sub tname {
    my ($what) = @_;
    my $t = "dbd_${what}_$tag";
    push @tables, $t;
    return $t;
}

# A new handle; extra DSN options and DBI attributes on top of the defaults.
sub dbh {
    my (%opt) = @_;
    my $attr = delete $opt{attr} || {};
    my $dsn = "DBI:MariaDB:database=$db;host=$host;port=$port;mariadb_connect_timeout=10";
    if (defined $ssl_ca) {
        $dsn .= ";mariadb_ssl=1;mariadb_ssl_ca_file=$ssl_ca;mariadb_ssl_verify_server_cert=1";
    }
    $dsn .= ";$_=$opt{$_}" for sort keys %opt;
    return DBI->connect($dsn, $user, $password,
                        { RaiseError => 1, PrintError => 0, AutoCommit => 1, %$attr });
}

sub status_var {
    my ($dbh, $name) = @_;
    my ($n, $v) = $dbh->selectrow_array("SHOW SESSION STATUS LIKE " . $dbh->quote($name));
    return $v;
}

my $main = dbh();
ok($main, 'connect');
is($main->selectrow_array('SELECT 1'), 1, 'SELECT 1');

# ---- TLS ----------------------------------------------------------------------

if (defined $ssl_ca) {
    my $cipher = $main->{mariadb_ssl_cipher};
    ok(defined $cipher && length $cipher, 'the connection is encrypted: ' . ($cipher // 'no cipher'));
    my $second = eval {
        DBI->connect("DBI:MariaDB:database=$db;host=$host;port=$port;mariadb_ssl=1;"
                     . "mariadb_ssl_ca_file=$ssl_ca;mariadb_ssl_verify_server_cert=1",
                     $user, $password, { RaiseError => 1, PrintError => 0 });
    };
    ok($second, 'a second TLS connection') or diag($@);
}

# ---- server-side prepared statements -------------------------------------------

{
    my $dbh = dbh(mariadb_server_prepare => 1, mariadb_server_prepare_disable_fallback => 1);
    my $t = tname('ps');
    $dbh->do("CREATE TABLE $t (id INT PRIMARY KEY, big BIGINT, neg INT, d DOUBLE, dec_ DECIMAL(20,5), "
             . "s VARCHAR(100) CHARACTER SET utf8mb4, b BLOB, dt DATETIME(6), n INT NULL) ENGINE=InnoDB");
    my $prep0 = status_var($dbh, 'Com_stmt_prepare');
    my $ins = $dbh->prepare("INSERT INTO $t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    my $blob = join('', map { chr } 0 .. 255) x 4;
    my @rows = (
        [1, '9007199254740993', -42, 3.25, '-12345.67891', "h\x{e9}llo w\x{f6}rld \x{1F600}", $blob,
         '2024-02-29 23:59:59.123456', undef],
        [2, '-9223372036854775808', 0, -1.5e-300, '0.00001', '', '', '1000-01-01 00:00:00.000000', 7],
    );
    for my $r (@rows) {
        $ins->bind_param(1, $r->[0], SQL_INTEGER);
        $ins->bind_param(2, $r->[1], SQL_BIGINT);
        $ins->bind_param(3, $r->[2], SQL_INTEGER);
        $ins->bind_param(4, $r->[3], SQL_DOUBLE);
        $ins->bind_param(5, $r->[4], SQL_DECIMAL);
        $ins->bind_param(6, $r->[5], SQL_VARCHAR);
        $ins->bind_param(7, $r->[6], SQL_BLOB);
        $ins->bind_param(8, $r->[7], SQL_DATETIME);
        $ins->bind_param(9, $r->[8], SQL_INTEGER);
        is($ins->execute, 1, "server-side INSERT of row $r->[0]");
    }
    my $sel = $dbh->prepare("SELECT id, big, neg, d, dec_, s, b, dt, n FROM $t WHERE id = ? AND s LIKE ?");
    for my $r (@rows) {
        $sel->execute($r->[0], '%');
        my $got = $sel->fetchrow_arrayref;
        ok($got, "row $r->[0] read back") or next;
        my @got = @$got;
        is_deeply([@got[0 .. 2, 4 .. 8]], [@$r[0 .. 2, 4 .. 8]], "row $r->[0]: values equal what was written");
        ok(abs($got[3] - $r->[3]) <= abs($r->[3]) * 1e-15, "row $r->[0]: double $got[3]");
        ok(!$sel->fetchrow_arrayref, "row $r->[0]: one row");
    }
    # the same values through the text protocol
    my $txt = $main->selectrow_arrayref("SELECT big, s, HEX(b), dt FROM $t WHERE id = 1");
    is_deeply($txt, ['9007199254740993', "h\x{e9}llo w\x{f6}rld \x{1F600}", uc(unpack('H*', $blob)),
                     '2024-02-29 23:59:59.123456'], 'text protocol sees the same row');
    # the statement re-executed many times, and a NULL placeholder
    my $cnt = $dbh->prepare("SELECT COUNT(*) FROM $t WHERE n <=> ?");
    $cnt->execute(undef);
    is(($cnt->fetchrow_array)[0], 1, 'NULL placeholder');
    for my $k (1 .. 20) {
        $cnt->execute(7);
        my ($c) = $cnt->fetchrow_array;
        $cnt->finish;
        is($c, 1, "execute $k of the same statement") if $k == 20;
    }
    cmp_ok(status_var($dbh, 'Com_stmt_prepare') - $prep0, '>=', 3, 'statements were prepared on the server');
    ok(status_var($dbh, 'Com_stmt_execute') >= 25, 'and executed there');
    # an error at prepare time and at execute time
    ok(!eval { $dbh->prepare("SELECT * FROM no_such_table_dbd"); 1 }, 'prepare of a missing table fails');
    is($dbh->err, 1146, 'prepare error: err 1146');
    is($dbh->state, '42S02', 'prepare error: SQLSTATE 42S02');
    ok(!eval { $ins->execute(1, 0, 0, 0, 0, 'x', '', '2000-01-01', 0); 1 }, 'duplicate key at execute fails');
    is($ins->err, 1062, 'execute error: err 1062');
    like($ins->errstr, qr/^Duplicate entry '1' for key 'PRIMARY'/, 'execute error: message');
    is($dbh->selectrow_array('SELECT 2'), 2, 'the session goes on');
    $ins->finish;
    $dbh->disconnect;
}

# ---- multi-statement batches -------------------------------------------------------

{
    my $dbh = dbh(mariadb_multi_statements => 1);
    my $t = tname('multi');
    $dbh->do("CREATE TABLE $t (id INT PRIMARY KEY, v VARCHAR(10)); INSERT INTO $t VALUES (1, 'a'), (2, 'b'); "
             . "UPDATE $t SET v = 'c' WHERE id = 2");
    is_deeply($dbh->selectall_arrayref("SELECT id, v FROM $t ORDER BY id"), [[1, 'a'], [2, 'c']],
              'a batch of CREATE, INSERT and UPDATE');
    my $sth = $dbh->prepare("SELECT 1 AS a; SELECT 'x' AS b, 'y' AS c; DO 1; SELECT id FROM $t ORDER BY id");
    $sth->execute;
    my @sets;
    do {
        push @sets, $sth->{NUM_OF_FIELDS} ? $sth->fetchall_arrayref : 'no result set';
    } while ($sth->more_results);
    is_deeply(\@sets, [[[1]], [['x', 'y']], 'no result set', [[1], [2]]], 'four results of one batch');
    ok(!eval { $dbh->do("SELECT 1; SELECT * FROM no_such_table_dbd; SELECT 3"); 1 }, 'a batch with an error');
    is($dbh->err, 1146, 'batch error: err 1146');
    is($dbh->selectrow_array("SELECT 'after'"), 'after', 'the session goes on after the batch');
    $dbh->disconnect;
}

# ---- LOAD DATA LOCAL INFILE ---------------------------------------------------------

{
    my $dbh = dbh(mariadb_local_infile => 1);
    my $t = tname('infile');
    $dbh->do("CREATE TABLE $t (id INT PRIMARY KEY, v VARCHAR(100) CHARACTER SET utf8mb4) ENGINE=InnoDB");
    my ($fh, $path) = tempfile('dbd_infile_XXXXXX', DIR => $tmpdir // '/tmp', UNLINK => 1);
    binmode($fh, ':encoding(UTF-8)');
    my $n = 30000;
    print $fh "$_\tline $_ \x{e9}\x{20ac}" . ('z' x ($_ % 60)) . "\n" for 1 .. $n;
    close($fh);
    my $rows = $dbh->do("LOAD DATA LOCAL INFILE " . $dbh->quote($path) . " INTO TABLE $t CHARACTER SET utf8mb4");
    is($rows, $n, "LOAD DATA LOCAL: $n rows");
    is_deeply($dbh->selectrow_arrayref("SELECT COUNT(*), SUM(id), MAX(v) FROM $t WHERE v LIKE 'line %'"),
              [$n, $n * ($n + 1) / 2, "line 9999 \x{e9}\x{20ac}" . ('z' x 39)], 'the rows arrived whole');
    ok(!eval { $dbh->do("LOAD DATA LOCAL INFILE '/nonexistent/file.dbd' INTO TABLE $t"); 1 },
       'LOAD DATA LOCAL of a missing file fails');
    diag('missing file: ' . ($dbh->err // 'undef') . ' ' . ($dbh->errstr // ''));
    is($dbh->selectrow_array("SELECT 'after'"), 'after', 'the session goes on after the failed LOAD DATA');
    $dbh->disconnect;
}

# ---- last_insert_id -------------------------------------------------------------------

for my $sp (0, 1) {
    my $dbh = dbh(mariadb_server_prepare => $sp);
    my $t = tname("ai$sp");
    my $how = $sp ? 'server-side prepare' : 'client-side placeholders';
    $dbh->do("CREATE TABLE $t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10)) AUTO_INCREMENT = 1000");
    $dbh->do("INSERT INTO $t (v) VALUES (?)", undef, 'a');
    is($dbh->last_insert_id(undef, undef, $t, 'id'), 1000, "$how: last_insert_id after one row");
    is($dbh->{mariadb_insertid}, 1000, "$how: mariadb_insertid");
    my $sth = $dbh->prepare("INSERT INTO $t (v) VALUES (?), (?), (?)");
    is($sth->execute('b', 'c', 'd'), 3, "$how: three rows");
    is($sth->last_insert_id, 1001, "$how: a multi-row insert gives its first id");
    is($dbh->selectrow_array('SELECT LAST_INSERT_ID()'), 1001, "$how: LAST_INSERT_ID() agrees");
    $dbh->do("INSERT INTO $t (id, v) VALUES (5000, 'e')");
    is($dbh->selectrow_array('SELECT LAST_INSERT_ID()'), 1001, "$how: an explicit id leaves LAST_INSERT_ID()");
    $dbh->disconnect;
}

# ---- errors ----------------------------------------------------------------------------

{
    my $dbh = dbh();
    my @cases = (
        ['SELECT * FROM no_such_table_dbd', 1146, '42S02'],
        ['SELEC 1', 1064, '42000'],
        ['SELECT no_such_column FROM DUAL', 1054, '42S22'],
        ["SELECT CAST('x' AS SIGNED) + (SELECT 1 UNION SELECT 2)", 1242, '21000'],
        ['USE no_such_db_dbd', 1049, '42000'],
    );
    for my $c (@cases) {
        my ($sql, $err, $state) = @$c;
        ok(!eval { $dbh->do($sql); 1 }, "fails: $sql");
        is($dbh->err, $err, "err $err: $sql");
        is($dbh->state, $state, "SQLSTATE $state: $sql");
    }
    my $t = tname('err');
    $dbh->do("CREATE TABLE $t (id INT PRIMARY KEY, v TINYINT NOT NULL) ENGINE=InnoDB");
    $dbh->do("INSERT INTO $t VALUES (1, 1)");
    ok(!eval { $dbh->do("INSERT INTO $t VALUES (1, 2)"); 1 }, 'duplicate key');
    is($dbh->err, 1062, 'duplicate key: err 1062');
    ok(!eval { $dbh->do("INSERT INTO $t VALUES (2, 300)"); 1 }, 'out of range in strict mode');
    is($dbh->err, 1264, 'out of range: err 1264');
    ok(!eval { $dbh->do("INSERT INTO $t VALUES (3, NULL)"); 1 }, 'NULL into NOT NULL');
    is($dbh->err, 1048, 'NULL into NOT NULL: err 1048');
    $dbh->do("SET SESSION sql_mode = ''");
    is($dbh->do("INSERT INTO $t VALUES (4, 300)"), 1, 'out of range, not strict: inserted');
    is($dbh->selectrow_array('SELECT @@warning_count'), 1, 'with one warning');
    is_deeply($dbh->selectall_arrayref('SHOW WARNINGS'),
              [['Warning', 1264, "Out of range value for column 'v' at row 1"]], 'SHOW WARNINGS');
    $dbh->disconnect;
}

# ---- a 20 MB value ------------------------------------------------------------------------

for my $sp (0, 1) {
    my $dbh = dbh(mariadb_server_prepare => $sp);
    my $t = tname("big$sp");
    my $how = $sp ? 'server-side prepare' : 'text protocol';
    $dbh->do("CREATE TABLE $t (id INT PRIMARY KEY, b LONGBLOB) ENGINE=InnoDB");
    my $big = join('', map { chr(($_ * 7919 + $sp) % 256) } 0 .. 65535) x 320;   # 20 MiB, binary
    my $sth = $dbh->prepare("INSERT INTO $t VALUES (?, ?)");
    $sth->bind_param(1, 1, SQL_INTEGER);
    $sth->bind_param(2, $big, SQL_BLOB);
    is($sth->execute, 1, "$how: 20 MiB inserted");
    my ($len, $md5) = $dbh->selectrow_array("SELECT LENGTH(b), MD5(b) FROM $t WHERE id = 1");
    is($len, length($big), "$how: LENGTH on the server");
    my $got = $dbh->selectrow_array("SELECT b FROM $t WHERE id = ?", undef, 1);
    is(length($got), length($big), "$how: 20 MiB read back");
    ok($got eq $big, "$how: the bytes read back equal the bytes written");
    my $str = $dbh->selectrow_array("SELECT REPEAT('\x{e9}', 10 * 1024 * 1024)");
    is(length($str), 10 * 1024 * 1024, "$how: 10 Mi characters (20 MiB of UTF-8) in a result");
    $dbh->disconnect;
}

# ---- transactions --------------------------------------------------------------------------

{
    my $t = tname('tx');
    $main->do("CREATE TABLE $t (id INT PRIMARY KEY) ENGINE=InnoDB");
    my $dbh = dbh(attr => { AutoCommit => 0 });
    is($dbh->selectrow_array('SELECT @@autocommit'), 0, 'AutoCommit => 0 turns autocommit off');
    $dbh->do("INSERT INTO $t VALUES (1)");
    is($main->selectrow_array("SELECT COUNT(*) FROM $t"), 0, 'not visible before commit');
    $dbh->rollback;
    is($dbh->selectrow_array("SELECT COUNT(*) FROM $t"), 0, 'rollback undid the insert');
    $dbh->do("INSERT INTO $t VALUES (2)");
    $dbh->do("INSERT INTO $t VALUES (3)");
    $dbh->commit;
    is($main->selectrow_array("SELECT COUNT(*) FROM $t"), 2, 'commit made two rows visible');
    ok(!eval { $dbh->do("INSERT INTO $t VALUES (2)"); 1 }, 'an error inside a transaction');
    $dbh->do("INSERT INTO $t VALUES (4)");
    $dbh->rollback;
    is($main->selectrow_array("SELECT COUNT(*) FROM $t"), 2, 'rollback after an error');
    $dbh->{AutoCommit} = 1;
    is($dbh->selectrow_array('SELECT @@autocommit'), 1, 'AutoCommit back on');
    $dbh->begin_work;
    $dbh->do("INSERT INTO $t VALUES (5)");
    is($dbh->selectrow_array('SELECT @@in_transaction'), 1, 'begin_work opens a transaction');
    $dbh->rollback;
    is($dbh->{AutoCommit}, 1, 'AutoCommit on again after the rollback');
    is($main->selectrow_array("SELECT COUNT(*) FROM $t WHERE id = 5"), 0, 'begin_work + rollback');
    $dbh->disconnect;
}

# ---- ping and reconnect-free end ------------------------------------------------------------

ok($main->ping, 'ping');
$main->do("DROP TABLE IF EXISTS $_") for @tables;
$main->disconnect;
done_testing();
