"""
test_table_kinds.py - the whole life of a deploy request on tables that are
not plain rows of plain columns: partitioned, with FULLTEXT or SPATIAL
indexes, generated columns (virtual, stored, indexed), CHECK constraints,
invisible columns, JSON, compressed rows; and ALTERs that add such things
or convert the character set.

Each case: the table with 300 rows straight on MariaDB, deploy create,
ready; an UPDATE, an INSERT and a DELETE through the proxy; the original
and the shadow compared; cut-over; the same writes again (now mirrored
into the original); compared; revert; writes; compared; finalize.  The
comparison reads every column the two tables have in common, straight
from MariaDB (generated columns are computed by each table itself, so
they agree only if the columns they are computed from do).
"""

import pytest

from test_cutover import admin, bare, check_swap, compare_common, cproxy, db, make_ready, q, show  # noqa: F401
from test_deploy import execute, tables

# name: (CREATE TABLE body after the name, the columns an INSERT names,
# their values for row i, the ALTER, what an UPDATE sets)
KINDS = {
    "partitioned by hash": (
        "(id INT PRIMARY KEY, v INT NOT NULL, s VARCHAR(20)) PARTITION BY HASH (id) PARTITIONS 4",
        "id, v, s", "(%(i)d, %(i)d, 's%(i)d')", "ADD COLUMN note VARCHAR(10) NULL", "v = v + 1"),
    "partitioned by range": (
        "(id INT PRIMARY KEY, v INT NOT NULL, s VARCHAR(20)) PARTITION BY RANGE (id) "
        "(PARTITION p0 VALUES LESS THAN (150), PARTITION p1 VALUES LESS THAN MAXVALUE)",
        "id, v, s", "(%(i)d, %(i)d, 's%(i)d')", "ADD COLUMN note VARCHAR(10) NULL", "v = v + 1"),
    "fulltext index": (
        "(id INT PRIMARY KEY, v INT NOT NULL, body TEXT, FULLTEXT KEY ft (body))",
        "id, v, body", "(%(i)d, %(i)d, 'hello world %(i)d')", "ADD COLUMN note VARCHAR(10) NULL",
        "body = CONCAT(body, ' again'), v = v + 1"),
    "fulltext index added": (
        "(id INT PRIMARY KEY, v INT NOT NULL, body TEXT)",
        "id, v, body", "(%(i)d, %(i)d, 'hello world %(i)d')", "ADD FULLTEXT KEY ft (body)",
        "body = CONCAT(body, ' again')"),
    "spatial index": (
        "(id INT PRIMARY KEY, v INT NOT NULL, g POINT NOT NULL, SPATIAL KEY sg (g))",
        "id, v, g", "(%(i)d, %(i)d, POINT(%(i)d, 1))", "ADD COLUMN note VARCHAR(10) NULL",
        "g = POINT(v, 2), v = v + 1"),
    "generated columns": (
        "(id INT PRIMARY KEY, v INT NOT NULL, b INT AS (v * 2) VIRTUAL, c INT AS (v + 1) STORED, KEY kb (b))",
        "id, v", "(%(i)d, %(i)d)", "ADD COLUMN note VARCHAR(10) NULL", "v = v + 1"),
    "generated column added": (
        "(id INT PRIMARY KEY, v INT NOT NULL)",
        "id, v", "(%(i)d, %(i)d)", "ADD COLUMN d INT AS (v * 3) STORED, ADD INDEX kd (d)", "v = v + 1"),
    "timestamp on update added": (
        "(id INT PRIMARY KEY, v INT NOT NULL)",
        "id, v", "(%(i)d, %(i)d)",
        "ADD COLUMN changed TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)",
        "v = v + 1"),
    "timestamp on update kept": (
        "(id INT PRIMARY KEY, v INT NOT NULL, "
        "changed TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))",
        "id, v, changed", "(%(i)d, %(i)d, '2020-01-02 03:04:05.%(i)06d')", "ADD COLUMN note VARCHAR(10) NULL",
        "v = v + 1"),
    "check constraint": (
        "(id INT PRIMARY KEY, v INT NOT NULL, CONSTRAINT pos CHECK (v >= 0))",
        "id, v", "(%(i)d, %(i)d)", "ADD COLUMN note VARCHAR(10) NULL", "v = v + 1"),
    "invisible column": (
        "(id INT PRIMARY KEY, v INT NOT NULL, h INT INVISIBLE DEFAULT 5)",
        "id, v", "(%(i)d, %(i)d)", "ADD COLUMN note VARCHAR(10) NULL", "v = v + 1, h = h + 1"),
    "json": (
        "(id INT PRIMARY KEY, v INT NOT NULL, j JSON)",
        "id, v, j", "(%(i)d, %(i)d, JSON_OBJECT('a', %(i)d))", "ADD COLUMN note VARCHAR(10) NULL",
        "j = JSON_SET(j, '$.b', v), v = v + 1"),
    "compressed rows": (
        "(id INT PRIMARY KEY, v INT NOT NULL, s VARCHAR(200)) ROW_FORMAT=COMPRESSED",
        "id, v, s", "(%(i)d, %(i)d, REPEAT('x', %(i)d %% 200))", "ADD COLUMN note VARCHAR(10) NULL", "v = v + 1"),
    "character set converted": (
        "(id INT PRIMARY KEY, v INT NOT NULL, s VARCHAR(20) CHARACTER SET latin1) DEFAULT CHARSET = latin1",
        "id, v, s", "(%(i)d, %(i)d, 'caf\u00e9 %(i)d')", "CONVERT TO CHARACTER SET utf8mb4",
        "s = CONCAT('na\u00efve ', v), v = v + 1"),
}


def insert_sql(table, cols, values, i):
    return "INSERT INTO %s (%s) VALUES %s" % (table, cols, values % {"i": i})


def writes(p, db, table, cols, values, sets, k):
    """An UPDATE, an INSERT and a DELETE through the proxy (round k)."""
    c = p.connect(database=db)
    try:
        assert q(c, "UPDATE `%s` SET %s WHERE id IN (%d, %d)" % (table, sets, 10 + k, 200 + k)) == 2
        assert q(c, insert_sql("`%s`" % table, cols, values, 1000 + k)) == 1
        assert q(c, "DELETE FROM `%s` WHERE id = %d" % (table, 100 + k)) == 1
        c.commit()
    finally:
        c.close()


@pytest.mark.parametrize("kind", list(KINDS))
def test_table_kind_lifecycle(cproxy, mariadb, db, kind):
    body, cols, values, alter, sets = KINDS[kind]
    execute(mariadb, "CREATE TABLE `%s`.t %s" % (db, body))
    for i in range(1, 301):
        execute(mariadb, insert_sql("`%s`.t" % db, cols, values, i))
    p = cproxy()
    did = make_ready(p, db, "t", alter=alter)
    shadow = bare(show(p, did)["shadow_table"])
    writes(p, db, "t", cols, values, sets, 0)
    assert compare_common(mariadb, db, "t", shadow) == 300
    check_swap(admin(p, "deploy cutover %d" % did), "complete", [did])
    old = bare(show(p, did)["old_table"])
    writes(p, db, "t", cols, values, sets, 1)
    assert compare_common(mariadb, db, "t", old) == 300
    check_swap(admin(p, "deploy revert %d" % did), "reverted", [did])
    writes(p, db, "t", cols, values, sets, 2)
    assert compare_common(mariadb, db, "t", shadow) == 300
    r = admin(p, "deploy finalize %d" % did)
    assert r["ok"], r
    assert tables(mariadb, db) == ["t"]
