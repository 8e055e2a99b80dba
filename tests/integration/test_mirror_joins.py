"""
test_mirror_joins.py - multi-table UPDATE and DELETE in which the table
under deploy is on the nullable side of an outer join (LEFT JOIN with it on
the right, RIGHT JOIN with it on the left): rows of the other table that
have no match in it read NULL keys.  Such statements are mirrored, not
refused, and do to the other table exactly what they do when sent straight
to MariaDB (the proxy's restriction to the locked keys must not drop the
rows with no match).  Each runs through the proxy on a parent table p and a
child table t under deploy, and straight on MariaDB on twins q and u; the
client must see the same answers, both pairs must end with the same rows,
and the shadow must equal t.
"""

import pytest

from test_deploy import execute, rows  # noqa: F401
from test_mirror import create, env, go, run  # noqa: F401

_n = [0]

PARENT = "CREATE TABLE {p} (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB"
PARENT_FILL = "INSERT INTO {p} VALUES (1, 10), (2, 20), (3, 30), (4, 40)"
CHILD = ("CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, pid INT NOT NULL, v INT NOT NULL, "
         "KEY (pid)) ENGINE=InnoDB")
# parent 2 and parent 4 have no children; child 9 has no parent
CHILD_FILL = "INSERT INTO {t} VALUES (1, 1, 100), (2, 1, 101), (3, 3, 300), (9, 7, 900)"

SHAPES = {
    "delete_both_left": ["DELETE {p}, {t} FROM {p} LEFT JOIN {t} ON {t}.pid = {p}.id WHERE {p}.id IN (1, 2)"],
    "delete_child_left_no_match": ["DELETE {t} FROM {p} LEFT JOIN {t} ON {t}.pid = {p}.id WHERE {p}.id = 2"],
    "delete_child_left_alias": ["DELETE c FROM {p} AS a LEFT JOIN {t} AS c ON c.pid = a.id WHERE a.id >= 2"],
    "update_both_left": ["UPDATE {p} LEFT JOIN {t} ON {t}.pid = {p}.id SET {p}.v = {p}.v + 1, {t}.v = {t}.v + 1 "
                         "WHERE {p}.id <= 3"],
    "update_child_left": ["UPDATE {p} LEFT JOIN {t} ON {t}.pid = {p}.id SET {t}.v = 7 WHERE {p}.id IN (2, 3)"],
    "update_both_right": ["UPDATE {t} RIGHT JOIN {p} ON {t}.pid = {p}.id SET {p}.v = {p}.v * 2, {t}.v = 5"],
    "update_parent_by_child_count": ["UPDATE {p} LEFT JOIN {t} ON {t}.pid = {p}.id "
                                     "SET {p}.v = COALESCE({t}.v, -1), {t}.v = {t}.v - 1 WHERE {p}.id > 1"],
    "delete_orphans": ["DELETE c FROM {t} AS c LEFT JOIN {p} ON {p}.id = c.pid WHERE {p}.id IS NULL"],
}


def pair_of_pairs(env, mariadb):
    _n[0] += 1
    names = {"p": "jp%d" % _n[0], "t": "jt%d" % _n[0], "q": "jq%d" % _n[0], "u": "ju%d" % _n[0]}
    for parent, child in (("p", "t"), ("q", "u")):
        execute(mariadb, PARENT.format(p="mir." + names[parent]), PARENT_FILL.format(p="mir." + names[parent]),
                CHILD.format(t="mir." + names[child]), CHILD_FILL.format(t="mir." + names[child]))
    did = create(env, "mir.%s ADD COLUMN note VARCHAR(20) NULL" % names["t"])
    go(env, did)
    return names, did


@pytest.mark.parametrize("mode", ["autocommit", "commit", "rollback"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_outer_join_with_the_table_nullable(env, mariadb, shape, mode):
    names, did = pair_of_pairs(env, mariadb)
    sqls = SHAPES[shape]
    pc = env.connect(database="mir")
    dc = mariadb.connect(database="mir")
    try:
        via_proxy = run(pc, [s.format(p=names["p"], t=names["t"]) for s in sqls], mode)
        direct = run(dc, [s.format(p=names["q"], t=names["u"]) for s in sqls], mode)
    finally:
        pc.close()
        dc.close()
    assert via_proxy == direct
    for a, b in (("p", "q"), ("t", "u")):
        assert rows(mariadb, "SELECT * FROM mir.%s ORDER BY id" % names[a]) == \
            rows(mariadb, "SELECT * FROM mir.%s ORDER BY id" % names[b])
    s = env.admin("deploy show %d" % did)
    assert s["state"] == "ready", s
    assert s["refused"] == 0, s
    assert rows(mariadb, "SELECT id, pid, v FROM mir.%s ORDER BY id" % names["t"]) == \
        rows(mariadb, "SELECT id, pid, v FROM mir._%s_shadow ORDER BY id" % names["t"])
    env.admin("deploy cancel %d" % did, timeout=30)
