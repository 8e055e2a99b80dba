"""
test_mirror_keys.py - how the mirror finds the keys a write touches when
they are not written in the statement: string, binary and composite keys,
key values converted as they are stored, generated keys, key changes, keys
that change only in spelling, key listings of INSERT ... SELECT (written by
a review of the planner; each case failed before its fix).  Each runs a statement
through the proxy on a table under deploy and the same statement straight
on MariaDB on a twin table, then checks what a correct proxy guarantees:
the client sees the same answer, both tables hold the same rows, the shadow
equals the table through the column mapping, and the deploy has not failed.
A correct proxy may also refuse a statement it cannot mirror (error 1105
naming the deploy, nothing applied); these tests accept that outcome too.
"""

import pymysql
import pytest

from test_deploy import assert_same, execute, rows  # noqa: F401
from test_mirror import COLS, create, deployed_pair, env, go, run  # noqa: F401
from test_proxy_basic import cli

_n = [0]


def custom_pair(env, mariadb, ddl, fill_sql, alter="ADD COLUMN note VARCHAR(20) NULL"):
    """mir.<t> under deploy (ready) and its twin mir.<u>, both made by ddl
    and filled by fill_sql ({t}: the table)."""
    _n[0] += 1
    t, u = "rv%d" % _n[0], "rw%d" % _n[0]
    for x in (t, u):
        execute(mariadb, ddl.format(t="mir." + x), fill_sql.format(t="mir." + x))
    did = create(env, "mir.%s %s" % (t, alter))
    go(env, did)
    return t, u, did


def check(env, mariadb, t, u, did, sqls, cols, key, mode="autocommit", setup=None):
    """Run sqls on t through the proxy and on u directly; compare.  Returns
    what the proxy's client saw.  A refusal by the proxy (1105, nothing
    applied) is accepted."""
    pc = env.connect(database="mir")
    dc = mariadb.connect(database="mir")
    for c in (pc, dc):
        if setup:
            with c.cursor() as cur:
                for s in setup:
                    cur.execute(s)
    via_proxy = run(pc, [s.format(t=t) for s in sqls], mode)
    pc.close()
    refused = any(x[0] == "error" and x[1] == 1105 for x in via_proxy)
    if not refused:
        direct = run(dc, [s.format(t=u) for s in sqls], mode)
        assert via_proxy == direct
        a = rows(mariadb, "SELECT %s FROM mir.%s ORDER BY %s" % (", ".join(cols), t, key))
        b = rows(mariadb, "SELECT %s FROM mir.%s ORDER BY %s" % (", ".join(cols), u, key))
        assert a == b
    dc.close()
    s = env.admin("deploy show %d" % did)
    assert s["state"] == "ready", s
    # BINARY: 'a' and 'A' are different rows' images
    collist = ", ".join("BINARY `%s`" % c if c in ("code", "name", "region") else "`%s`" % c for c in cols)
    a = rows(mariadb, "SELECT %s FROM mir.%s ORDER BY %s" % (collist, t, key))
    b = rows(mariadb, "SELECT %s FROM mir._%s_shadow ORDER BY %s" % (collist, t, key))
    assert a == b, "shadow differs from t:\n t:      %s\n shadow: %s" % (
        [x for x in a if x not in b][:5], [x for x in b if x not in a][:5])
    env.admin("deploy cancel %d" % did, timeout=30)
    return via_proxy


STRING_DDL = ("CREATE TABLE {t} (code VARCHAR(20) NOT NULL PRIMARY KEY, v INT NOT NULL) "
              "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci")
STRING_FILL = "INSERT INTO {t} VALUES ('aa', 1), ('bb', 2), ('cc', 3), ('xy', 4), ('10', 5), ('11', 6)"


@pytest.mark.parametrize("sql", [
    # 7f6e6ee: the new key is selected bare, read as if it were HEX(code)
    "UPDATE {t} SET code = 'beef' WHERE code = 'aa'",
    # 2b29fdc / b5e786e / 15afb16: the SELECT's key items, bare too
    "INSERT INTO {t} (code, v) SELECT CONCAT(code, '00'), v + 10 FROM {t} WHERE code IN ('aa', 'bb')",
    "INSERT IGNORE INTO {t} (code, v) SELECT CONCAT(code, '00'), v + 10 FROM {t} WHERE code IN ('aa', '10')",
    "REPLACE INTO {t} (code, v) SELECT CONCAT(code, 'ff'), v + 10 FROM {t} WHERE code IN ('cc', '11')",
    "INSERT INTO {t} SELECT * FROM (SELECT CONCAT(code, 'ee') AS c, v + 20 FROM {t} WHERE code < 'b') AS x",
])
def test_string_key_values_read_as_hex(env, mariadb, sql):
    """A character-string primary key is listed as HEX(code) and the listed
    values are read back as hex.  The key a key-changing UPDATE gives a row
    (its SET expression) and the key values of an INSERT ... SELECT (its
    select items, or its SELECT *) are selected bare: 'beef' is taken for
    X'BEEF', '1000' for X'1000'.  The rows at the real keys are never copied
    (and the old key is deleted from the shadow).  A correct proxy wraps
    those values in HEX() like keys_put_select() does (or refuses)."""
    t, u, did = custom_pair(env, mariadb, STRING_DDL, STRING_FILL)
    check(env, mariadb, t, u, did, [sql], ["code", "v"], "code")


def test_composite_key_change_unchanged_string_part(env, mariadb):
    """Key (region, id); the UPDATE changes id only.  The lock read's
    second half selects the unchanged region bare (put_ident), not
    HEX(region): 'de' is read as X'DE', so the new keys are wrong and the
    moved rows never reach the shadow.  A correct proxy selects HEX(region)
    there."""
    t, u, did = custom_pair(env, mariadb,
                            "CREATE TABLE {t} (region VARCHAR(8) NOT NULL, id INT NOT NULL, v INT, "
                            "PRIMARY KEY (region, id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
                            "INSERT INTO {t} VALUES ('de', 1, 1), ('de', 2, 2), ('fr', 1, 3)")
    check(env, mariadb, t, u, did, ["UPDATE {t} SET id = id + 100 WHERE region = 'de'"],
          ["region", "id", "v"], "region, id")


@pytest.mark.parametrize("sql", [
    # 7f6e6ee: the lock read sees the expression's value, the column stores it rounded / clamped
    "UPDATE {t} SET id = id + 1000000.5 WHERE id = 10",
    "UPDATE {t} SET name = 'half', id = id * 1.5 + 1000000 WHERE id BETWEEN 20 AND 23",
    "UPDATE IGNORE {t} SET id = id + 3000000000 WHERE id = 12",
    # INSERT ... SELECT (and its IGNORE / star forms): the same
    "INSERT INTO {t} (id, name, created) SELECT id + 1000000.5, name, created FROM {t} WHERE id < 3",
    "INSERT IGNORE INTO {t} (id, name, created) SELECT id / 2 + 2000000, name, created FROM {t} WHERE id < 4",
    "INSERT INTO {t} (id, name, amount, created, flag) SELECT * FROM (SELECT id + 3000000.7, name, amount, "
    "created, flag FROM {t} WHERE id < 3) AS x",
])
def test_key_value_converted_by_the_column(env, mariadb, sql):
    """The locking read returns the value of the key expression (or of the
    SELECT's key item); the server stores it converted to the column's
    type: 1000010.5 becomes 1000011 in an INT key (rounding is no error in
    strict mode), 3000000012 becomes 2147483647 under IGNORE.  The proxy
    copies the keys it read, which no row has, and deletes the old ones
    from the shadow: the rows at their real keys are missing there.  A
    correct proxy reads the keys the rows really got (CAST the expression to
    the column's type in the lock read, or list the keys afterwards from the
    table), or refuses a key expression whose type is not the column's."""
    t, u, did = deployed_pair(env, mariadb, n=50)
    check(env, mariadb, t, u, did, [sql], COLS, "id")


@pytest.mark.parametrize("sql", [
    "INSERT INTO {t} (id, name, created) SELECT 0, CONCAT('g', j.a), '2025-01-01' FROM j WHERE j.id < 3",
    "INSERT IGNORE INTO {t} (id, name, created) SELECT 0, CONCAT('g', j.a), '2025-01-01' FROM j WHERE j.id < 3",
    "INSERT INTO {t} (id, name, created) SELECT * FROM (SELECT j.id * 0, CONCAT('s', j.a), '2025-01-01' FROM j "
    "WHERE j.id < 4) AS x",
])
def test_insert_select_zero_autoinc_key(env, mariadb, sql):
    """An INSERT ... SELECT whose SELECT gives 0 for the AUTO_INCREMENT key:
    the server generates keys (unless NO_AUTO_VALUE_ON_ZERO).  The plan
    lists key 0 before and after, copies key 0 (no such row) and the
    relist check passes (as many listed as inserted): the generated rows
    never reach the shadow.  plan_insert() handles 0 for VALUES; a correct
    proxy refuses (or mirrors the generated range) for ... SELECT too."""
    t, u, did = deployed_pair(env, mariadb, n=50)
    check(env, mariadb, t, u, did, [sql], COLS, "id")


@pytest.mark.parametrize("mode,sql", [
    # the quote in the comment hides `flag` from reads_assigned()
    ("", "UPDATE {t} SET flag = 7, id = 1000000 + /* it's */ flag WHERE id = 12"),
    ("", "UPDATE {t} SET flag = 7, id = 1000000 + -- it's\n flag WHERE id = 12"),
    # '\\' is a whole string here; the scanner skips the quote after it
    ("NO_BACKSLASH_ESCAPES",
     "UPDATE {t} SET flag = 7, id = CASE WHEN name = '\\' THEN 0 ELSE flag + 1000000 END WHERE id = 12"),
    # "flag" is a column here, not a string
    ("ANSI_QUOTES", "UPDATE {t} SET flag = 7, id = \"flag\" + 1000000 WHERE id = 12"),
])
def test_key_expression_reads_assigned_column_unseen(env, mariadb, mode, sql):
    """SET flag = 7, id = <expression reading flag>: the UPDATE gives the
    row id 1000007 (SET runs left to right); the lock read evaluates the
    expression on the row before it: 1000001.  reads_assigned() should
    refuse it, but its scanner takes the apostrophe in a comment for the
    start of a string (and knows neither NO_BACKSLASH_ESCAPES nor
    ANSI_QUOTES), so it never sees `flag`.  The row's real key never
    reaches the shadow.  A correct proxy skips comments with the session's
    lexer rules (or refuses a key expression it cannot scan for sure)."""
    t, u, did = deployed_pair(env, mariadb, n=50)
    setup = ["SET SESSION sql_mode = CONCAT(@@sql_mode, ',%s')" % mode] if mode else None
    check(env, mariadb, t, u, did, [sql], COLS, "id", setup=setup)


def test_key_expression_next_value_for(env, mariadb):
    """SET id = NEXT VALUE FOR seq: no '(' or '@' in it, so reads_assigned()
    lets it through; the lock read takes one value of the sequence and the
    UPDATE the next: the row's real key is never copied.  A correct proxy
    refuses (NEXT VALUE / PREVIOUS VALUE / NEXTVAL are functions too)."""
    t, u, did = deployed_pair(env, mariadb, n=50)
    execute(mariadb, "CREATE SEQUENCE mir.sq_%s START WITH 5000000" % t,
            "CREATE SEQUENCE mir.sq_%s START WITH 5000000" % u)
    check(env, mariadb, t, u, did, ["UPDATE {t} SET id = NEXT VALUE FOR sq_{t} WHERE id = 9"], COLS, "id")


def test_key_set_to_default(env, mariadb):
    """UPDATE t SET id = DEFAULT ...: the lock read selects `DEFAULT` as
    the new key, a syntax error; the client gets 1064 for a statement the
    server runs fine.  A correct proxy refuses it with its own 1105 (or
    selects DEFAULT(id))."""
    t, u, did = deployed_pair(env, mariadb, n=50)
    check(env, mariadb, t, u, did, ["UPDATE {t} SET id = DEFAULT WHERE id = 13"], COLS, "id")


@pytest.mark.parametrize("sql", [
    # DISTINCT is dropped from the key listing: it lists (500000), (500000) ...
    "INSERT INTO {t} (id, name, created) SELECT DISTINCT j.a + 500000, 'x', '2025-01-01' FROM j "
    "ORDER BY j.a LIMIT 2",
    "INSERT IGNORE INTO {t} (id, name, created) SELECT DISTINCT j.a + 500000, 'x', '2025-01-01' FROM j "
    "ORDER BY j.a LIMIT 2",
    # ORDER BY a select alias that is not a key item: `a` becomes j.a
    "INSERT INTO {t} (id, name, created) SELECT j.id + 500000, CONCAT('n', j.id) AS a, '2025-01-01' FROM j "
    "ORDER BY a DESC LIMIT 2",
    # ... or names nothing at all: the client gets 1054
    "INSERT INTO {t} (id, name, created) SELECT j.id + 500000, CONCAT('n', j.id) AS nm, '2025-01-01' FROM j "
    "ORDER BY nm DESC LIMIT 2",
])
def test_insert_select_key_listing_is_another_select(env, mariadb, sql):
    """plan_insert_select() (also for IGNORE / ODKU / REPLACE ... SELECT
    since b5e786e) lists the keys with "SELECT <key items> <from FROM on>":
    the select modifiers (DISTINCT, SQL_CALC_FOUND_ROWS) and every other
    item, with its alias, are gone, so with ORDER BY / LIMIT it lists other
    rows than the INSERT inserts (and the relist check passes: as many
    listed as inserted), or fails on an alias the client's SELECT has.  A
    correct proxy keeps the modifiers and lists the keys from the whole
    SELECT (wrap it: SELECT k1, ... FROM (<select>) AS x, or read them at
    their places as for SELECT *)."""
    t, u, did = deployed_pair(env, mariadb, n=50)
    check(env, mariadb, t, u, did, [sql], COLS, "id")


def test_key_shift_down_with_a_unique_key(env, mariadb):
    """Table with UNIQUE(name) (the shadow has it too): rows 290..300 move
    down one key.  The re-copy deletes from the shadow only the keys t
    lacks (300), then upserts 289..300 in key order: 289 takes the name
    the shadow's row 290 still holds, the own-row guard fails (1242) and
    the deploy fails; the client's SHOW WARNINGS even shows that 1242.  A
    correct proxy deletes the old images of all the rows the UPDATE moved
    (the old keys) before it copies the new ones."""
    t, u, did = deployed_pair(env, mariadb, n=300, unique=True)
    check(env, mariadb, t, u, did, ["DELETE FROM {t} WHERE id = 289",
                                    "UPDATE {t} SET id = id - 1 WHERE id BETWEEN 290 AND 300 ORDER BY id"],
          COLS, "id")


def test_key_spelling_change_not_copied(env, mariadb):
    """Case-insensitive string key: REPLACE of 'XY' where 'xy' is (InnoDB
    updates the row in place, its key now 'XY').  The re-copy upserts with
    ON DUPLICATE KEY UPDATE of the non-key columns only: the shadow keeps
    'xy'.  Shared code (mirror_recopy_insert, older than the reviewed
    commits); a key-changing UPDATE (7f6e6ee) that changes only the case or
    trailing spaces of a key meets it too once its new keys are read right.
    A correct proxy also sets the key columns (k = VALUES(k)), or deletes
    and re-inserts the rows."""
    t, u, did = custom_pair(env, mariadb, STRING_DDL, STRING_FILL)
    check(env, mariadb, t, u, did, ["REPLACE INTO {t} (code, v) VALUES ('XY', 40)"], ["code", "v"], "code")


def test_upsert_select_of_6000_rows_fails_the_deploy(env, mariadb):
    """INSERT IGNORE ... SELECT of 6000 rows: listed before (6000 keys, under
    the 10,000 limit) the statement runs; listed again after it, the keys
    add up to 12,000 > WRITES_MAX_KEYS, read_keys() gives up and the deploy
    fails (the client got its OK).  A correct proxy refuses such a
    statement before running it (count each key once, or allow 2x the
    limit for the second listing)."""
    t, u, did = deployed_pair(env, mariadb, n=50)
    check(env, mariadb, t, u, did, ["INSERT IGNORE INTO {t} (id, name, created) SELECT seq + 1000000, 'x', "
                                    "'2025-01-01' FROM seq_1_to_6000"], COLS, "id")


NARROW_STRING = ("CREATE TABLE {t} (code VARCHAR(5) NOT NULL PRIMARY KEY, v INT NOT NULL) "
                 "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
INT_KEY = "CREATE TABLE {t} (id INT NOT NULL PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB"
UINT_KEY = "CREATE TABLE {t} (id TINYINT UNSIGNED NOT NULL PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB"
DEC_KEY = "CREATE TABLE {t} (id DECIMAL(6,2) NOT NULL PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB"
BIN_KEY = "CREATE TABLE {t} (id BINARY(4) NOT NULL PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB"
DT_KEY = "CREATE TABLE {t} (id DATETIME NOT NULL PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB"
UQ_KEY = ("CREATE TABLE {t} (id INT NOT NULL PRIMARY KEY, code VARCHAR(4) NOT NULL, v INT NOT NULL, "
          "UNIQUE KEY (code)) ENGINE=InnoDB")


@pytest.mark.parametrize("mode", ["autocommit", "commit"])
@pytest.mark.parametrize("sql_mode", ["", "STRICT_TRANS_TABLES"])
@pytest.mark.parametrize("ddl,fill,cols,sql", [
    (NARROW_STRING, "INSERT INTO {t} VALUES ('1', 0)", ["code", "v"], "INSERT INTO {t} VALUES ('abcdefgh', 1)"),
    (NARROW_STRING, "INSERT INTO {t} VALUES ('1', 0)", ["code", "v"],
     "INSERT INTO {t} (code, v) VALUES ('xyzzyq', 2), ('b', 3)"),
    (NARROW_STRING, "INSERT INTO {t} VALUES ('1', 0)", ["code", "v"],
     "INSERT IGNORE INTO {t} (code, v) VALUES ('1', 5), ('pqrstuv', 3)"),
    (INT_KEY, "INSERT INTO {t} VALUES (1, 0)", ["id", "v"], "INSERT INTO {t} VALUES (3000000000, 1)"),
    (INT_KEY, "INSERT INTO {t} VALUES (1, 0)", ["id", "v"], "INSERT INTO {t} VALUES (99.6, 1)"),
    (INT_KEY, "INSERT INTO {t} VALUES (1, 0)", ["id", "v"], "REPLACE INTO {t} VALUES ('42.5', 1)"),
    (INT_KEY, "INSERT INTO {t} VALUES (1, 0)", ["id", "v"], "INSERT INTO {t} VALUES (1.5e1, 1)"),
    (INT_KEY, "INSERT INTO {t} VALUES (1, 0)", ["id", "v"], "INSERT INTO {t} VALUES (3e9, 1)"),
    (UINT_KEY, "INSERT INTO {t} VALUES (1, 0)", ["id", "v"], "INSERT INTO {t} VALUES (-3, 1), (256, 2)"),
    (DEC_KEY, "INSERT INTO {t} VALUES (1, 0)", ["id", "v"], "INSERT INTO {t} VALUES (2.345, 1)"),
    (BIN_KEY, "INSERT INTO {t} VALUES ('abcd', 0)", ["id", "v"], "INSERT INTO {t} VALUES ('ab', 1)"),
    (DT_KEY, "INSERT INTO {t} VALUES ('2025-01-01', 0)", ["id", "v"],
     "INSERT INTO {t} VALUES ('2025-01-02 10:00:00.7', 1)"),
    (UQ_KEY, "INSERT INTO {t} VALUES (1, 'a', 0)", ["id", "code", "v"],
     "INSERT INTO {t} VALUES (2, 'bbbbbb', 1) ON DUPLICATE KEY UPDATE v = v + 1"),
])
def test_key_value_the_column_converts(env, mariadb, ddl, fill, cols, sql, sql_mode, mode):
    """An INSERT's key literal that the column stores converted (cut to
    its length, rounded, clamped in a non-strict sql_mode, padded with zero
    bytes): the proxy copied the row by the literal as written, which no row
    has, so the shadow missed the row and the deploy stayed ready.  A
    correct proxy refuses the statement (or copies the stored key)."""
    t, u, did = custom_pair(env, mariadb, ddl, fill)
    check(env, mariadb, t, u, did, [sql], cols, cols[0], mode=mode, setup=["SET sql_mode = '%s'" % sql_mode])


@pytest.mark.parametrize("ddl,fill,cols,sql", [
    (NARROW_STRING, "INSERT INTO {t} VALUES ('1', 0)", ["code", "v"], "INSERT INTO {t} VALUES ('abcde', 1)"),
    (NARROW_STRING, "INSERT INTO {t} VALUES ('1', 0)", ["code", "v"], "INSERT INTO {t} VALUES (12345, 1)"),
    (INT_KEY, "INSERT INTO {t} VALUES (1, 0)", ["id", "v"], "INSERT INTO {t} VALUES ('42', 1), (-2147483648, 2)"),
    (INT_KEY, "INSERT INTO {t} VALUES (1, 0)", ["id", "v"], "INSERT INTO {t} VALUES (4.2e+01, 1), (1e2, 2)"),
    (UINT_KEY, "INSERT INTO {t} VALUES (1, 0)", ["id", "v"], "INSERT INTO {t} VALUES (255, 1), ('007', 2)"),
    (DEC_KEY, "INSERT INTO {t} VALUES (1, 0)", ["id", "v"], "INSERT INTO {t} VALUES (2.3, 1), ('-9999.990', 2)"),
    (BIN_KEY, "INSERT INTO {t} VALUES ('abcd', 0)", ["id", "v"], "INSERT INTO {t} VALUES (X'00ff00ff', 1)"),
    (DT_KEY, "INSERT INTO {t} VALUES ('2025-01-01', 0)", ["id", "v"], "INSERT INTO {t} VALUES ('2025-1-3 10:00', 1)"),
])
def test_key_value_stored_as_written_is_mirrored(env, mariadb, ddl, fill, cols, sql):
    """The same shapes with values the column stores as written: mirrored,
    not refused."""
    t, u, did = custom_pair(env, mariadb, ddl, fill)
    seen = check(env, mariadb, t, u, did, [sql], cols, cols[0])
    assert not any(x[0] == "error" for x in seen), seen


@pytest.mark.parametrize("ddl,fill,cols,sql", [
    (INT_KEY, "INSERT INTO {t} VALUES (1, 0), (2, 0)", ["id", "v"],
     "INSERT INTO {t} (id, v) SELECT id + 3000000000, 5 FROM {t} WHERE id = 1"),
    (INT_KEY, "INSERT INTO {t} VALUES (1, 0), (2, 0)", ["id", "v"], "UPDATE {t} SET id = id + 3000000000 WHERE id = 2"),
    (UINT_KEY, "INSERT INTO {t} VALUES (1, 0), (2, 0)", ["id", "v"], "UPDATE {t} SET id = id - 5 WHERE id = 2"),
    (BIN_KEY, "INSERT INTO {t} VALUES ('abcd', 0)", ["id", "v"],
     "INSERT INTO {t} (id, v) SELECT _binary 'xy', 1 FROM {t} LIMIT 1"),
])
@pytest.mark.parametrize("sql_mode", ["", "STRICT_TRANS_TABLES"])
def test_key_value_read_back_the_column_converts(env, mariadb, ddl, fill, cols, sql, sql_mode):
    """Key values the proxy reads back (an INSERT ... SELECT's items, an
    UPDATE's new keys) that are integers, but out of the key type's range
    (clamped in a non-strict sql_mode), or binary strings shorter than a
    BINARY(n) (padded): copied by a key no row has.  A correct proxy
    refuses them (or copies the stored key)."""
    t, u, did = custom_pair(env, mariadb, ddl, fill)
    check(env, mariadb, t, u, did, [sql], cols, cols[0], setup=["SET sql_mode = '%s'" % sql_mode])


COMPOSITE_DDL = ("CREATE TABLE {t} (region VARCHAR(8) NOT NULL, id INT NOT NULL, v INT, "
                 "PRIMARY KEY (region, id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
COMPOSITE_FILL = "INSERT INTO {t} VALUES ('de', 1, 1), ('de', 2, 2), ('fr', 1, 3)"


@pytest.mark.parametrize("mode", ["autocommit", "commit"])
@pytest.mark.parametrize("ddl,fill,cols,key,sql", [
    (STRING_DDL, STRING_FILL, ["code", "v"], "code",
     "INSERT INTO {t} (code, v) SELECT CONCAT(code, '00'), v + 10 FROM {t} WHERE code IN ('aa', 'bb')"),
    (STRING_DDL, STRING_FILL, ["code", "v"], "code",
     "INSERT IGNORE INTO {t} (code, v) SELECT UPPER(code), v + 10 FROM {t} WHERE code IN ('aa', '10')"),
    (STRING_DDL, STRING_FILL, ["code", "v"], "code",
     "INSERT INTO {t} (code, v) SELECT UPPER(code), 99 FROM {t} WHERE code = 'cc' ON DUPLICATE KEY UPDATE v = 77"),
    (STRING_DDL, STRING_FILL, ["code", "v"], "code",
     "REPLACE INTO {t} (code, v) SELECT CONCAT(code, 'é'), v + 10 FROM {t} WHERE code IN ('cc', '11')"),
    (STRING_DDL, STRING_FILL, ["code", "v"], "code",
     "INSERT INTO {t} SELECT * FROM (SELECT CONCAT(code, 'ee') AS c, v + 20 FROM {t} WHERE code < 'b') AS x"),
    (COMPOSITE_DDL, COMPOSITE_FILL, ["region", "id", "v"], "region, id",
     "INSERT INTO {t} (region, id, v) SELECT CONCAT(region, '-x'), id + 10, v FROM {t} WHERE region = 'de'"),
])
def test_insert_select_string_keys_mirrored(env, mariadb, ddl, fill, cols, key, sql, mode):
    """An INSERT ... SELECT whose SELECT gives the values of a character-
    string key (utf8mb4, the connection's character set): the listed
    values come back as strings in the key's character set and are copied
    by their bytes, under the key's collation ('CC' finds 'cc').  Mirrored,
    not refused."""
    t, u, did = custom_pair(env, mariadb, ddl, fill)
    seen = check(env, mariadb, t, u, did, [sql], cols, key, mode=mode)
    assert not any(x[0] == "error" for x in seen), seen


@pytest.mark.parametrize("sql_mode", ["", "STRICT_TRANS_TABLES"])
@pytest.mark.parametrize("ddl,fill,cols,key,sql", [
    (STRING_DDL, STRING_FILL, ["code", "v"], "code",
     "INSERT INTO {t} (code, v) SELECT CONCAT(code, REPEAT('z', 30)), v FROM {t} WHERE code = 'aa'"),
    ("CREATE TABLE {t} (code VARCHAR(20) NOT NULL PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB "
     "DEFAULT CHARSET=latin1", "INSERT INTO {t} VALUES ('aa', 1), ('bb', 2)", ["code", "v"], "code",
     "INSERT INTO {t} (code, v) SELECT CONCAT(code, 'ä'), v FROM {t} WHERE code = 'aa'"),
])
def test_insert_select_string_keys_converted(env, mariadb, ddl, fill, cols, key, sql, sql_mode):
    """String key values the column would store otherwise than listed (cut
    to the key's length in a non-strict sql_mode; in another character set
    than the connection's): refused, or copied right."""
    t, u, did = custom_pair(env, mariadb, ddl, fill)
    check(env, mariadb, t, u, did, [sql], cols, key, setup=["SET sql_mode = '%s'" % sql_mode])


# -- a TIMESTAMP key in the client's time zone ----------------------------------------

TS_DDL = "CREATE TABLE {t} (ts TIMESTAMP(0) NOT NULL PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB"
TS_FILL = "INSERT INTO {t} VALUES ('2024-01-01 00:00:00', 1), ('2024-01-01 05:00:00', 2)"


@pytest.mark.parametrize("alter", ["ADD COLUMN note INT NULL", "MODIFY v BIGINT NOT NULL"])
@pytest.mark.parametrize("mode", ["autocommit", "commit"])
@pytest.mark.parametrize("sqls", [
    ["INSERT INTO {t} VALUES ('2024-01-02 10:00:00', 3)"],
    ["INSERT INTO {t} VALUES ('2024-01-02 10:00:00', 3)", "UPDATE {t} SET v = 5 WHERE ts = '2024-01-02 10:00:00'"],
    ["UPDATE {t} SET v = v + 10 WHERE ts >= '2024-01-01 04:00:00'"],
    ["DELETE FROM {t} WHERE ts = '2024-01-01 10:00:00'"],
    ["REPLACE INTO {t} VALUES ('2024-01-01 10:00:00', 7)"],
], ids=["insert", "insert-update", "update-range", "delete", "replace"])
def test_timestamp_key_in_the_clients_time_zone(env, mariadb, alter, mode, sqls):
    """A client in time zone +05:00 writes a table keyed by a TIMESTAMP.
    Its key literals (and the keys a listing reads back) are times in its
    zone; a copy into the shadow that ran in another zone looked for another
    instant and missed the row (session 6 pinned the copies to '+00:00';
    the shadow silently missed every row written).  The time zone is now
    pinned only when a copy converts a TIMESTAMP, and a deploy that would
    need both is refused (test_deploy.py, "timestamp key and conversion")."""
    t, u, did = custom_pair(env, mariadb, TS_DDL, TS_FILL, alter=alter)
    got = check(env, mariadb, t, u, did, sqls, ["ts", "v"], "ts", mode=mode, setup=["SET time_zone = '+05:00'"])
    assert not any(x[0] == "error" for x in got), got


@pytest.mark.parametrize("mode", ["autocommit", "commit"])
def test_timestamp_converted_in_the_clients_time_zone(env, mariadb, mode):
    """The other side of the same choice: an ALTER that makes a TIMESTAMP a
    DATETIME converts it in the backfill's zone ('+00:00'), and so does the
    mirror, whatever the client's zone."""
    t, u, did = custom_pair(env, mariadb,
                            "CREATE TABLE {t} (id INT NOT NULL PRIMARY KEY, ts TIMESTAMP NULL, v INT NOT NULL) "
                            "ENGINE=InnoDB", "INSERT INTO {t} VALUES (1, '2024-01-01 00:00:00', 1)",
                            alter="MODIFY ts DATETIME NULL")
    check(env, mariadb, t, u, did, ["INSERT INTO {t} VALUES (2, '2024-01-02 10:00:00', 2)",
                                    "UPDATE {t} SET ts = '2024-01-03 00:00:00' WHERE id = 1"],
          ["id", "ts", "v"], "id", mode=mode, setup=["SET time_zone = '+05:00'"])


UUID_DDL = "CREATE TABLE {t} (id UUID NOT NULL PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB"
UUID_FILL = ("INSERT INTO {t} VALUES ('00000000-0000-0000-0000-000000000001', 1), "
             "('6ccd780c-baba-1026-9564-5b8c656024db', 2), ('ffffffff-ffff-ffff-ffff-fffffffffff0', 3), "
             "('123e4567-e89b-12d3-a456-426655440000', 4)")
INET6_DDL = "CREATE TABLE {t} (id INET6 NOT NULL PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB"
INET6_FILL = "INSERT INTO {t} VALUES ('::1', 1), ('2001:db8::1', 2), ('::ffff:10.0.0.1', 3), ('fe80::1', 4)"


@pytest.mark.parametrize("ddl,fill,sqls", [
    (UUID_DDL, UUID_FILL, [
        "INSERT INTO {t} VALUES ('11111111-2222-3333-4444-555555555555', 5)",
        # another spelling of a value the column has: upper case, no dashes
        "INSERT INTO {t} VALUES ('6CCD780CBABA102695645B8C656024DB', 9) ON DUPLICATE KEY UPDATE v = v + 100",
        "REPLACE INTO {t} VALUES ('123E4567-E89B-12D3-A456-426655440000', 44)",
        "UPDATE {t} SET v = v + 1 WHERE id = '00000000-0000-0000-0000-000000000001'",
        "UPDATE {t} SET v = v + 1 WHERE id > '6ccd780c-baba-1026-9564-5b8c656024db' ORDER BY id LIMIT 2",
        "UPDATE {t} SET id = 'aaaaaaaa-0000-0000-0000-000000000001' WHERE v = 2",
        "DELETE FROM {t} WHERE id = 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFF0'",
        "INSERT INTO {t} SELECT UUID(), 77",
    ]),
    (INET6_DDL, INET6_FILL, [
        "INSERT INTO {t} VALUES ('::ffff:10.1.2.3', 5), ('2001:DB8::2', 6)",
        "INSERT INTO {t} VALUES ('0::1', 9) ON DUPLICATE KEY UPDATE v = v + 100",
        "UPDATE {t} SET v = v + 1 WHERE id = '2001:0db8:0000:0000:0000:0000:0000:0001'",
        "UPDATE {t} SET id = 'fe80::2' WHERE id = 'fe80::1'",
        "DELETE FROM {t} WHERE id < '::2'",
    ]),
])
@pytest.mark.parametrize("mode", ["autocommit", "commit", "rollback"])
def test_uuid_and_inet6_keys(env, mariadb, ddl, fill, sqls, mode):
    """MariaDB's UUID and INET6 as the primary key: keys read as text and
    written quoted; other spellings of the same value (upper case, no
    dashes, zeros left out) find the same row.  The shadow equals the
    table; every statement is mirrored but those that set a key to a value
    the proxy does not read back (SET id = '...', INSERT ... SELECT UUID()),
    which may be refused (1105)."""
    t, u, did = custom_pair(env, mariadb, ddl, fill)
    seen = check(env, mariadb, t, u, did, sqls, ["id", "v"], "id", mode=mode)
    oks = [x for x in seen if x[0] == "ok"]
    sets_key = [q for q in sqls if "SET id =" in q or "SELECT UUID()" in q]
    assert all(x[0] != "error" or x[1] == 1105 for x in seen), seen
    assert len(oks) >= len(sqls) - len(sets_key), seen


def _cli(port, sql):
    return cli(port, "--column-type-info", "--default-character-set=utf8mb4", "-e", sql, db="mir")


@pytest.mark.parametrize("ddl, fill, cols, key, sqls", [
    (STRING_DDL, STRING_FILL, ["code", "v"], "code", [
        "REPLACE INTO {t} (code, v) SELECT CONCAT(code, 'ff'), v + 10 FROM {t} WHERE code IN ('cc', '11')",
        "INSERT INTO {t} (code, v) SELECT CONCAT(code, '00'), v + 10 FROM {t} WHERE code IN ('bb', 'cc')",
        "UPDATE {t} SET v = v + 1 WHERE v > 2",
        "DELETE FROM {t} WHERE v BETWEEN 5 AND 6",
        "SELECT code, v FROM {t} ORDER BY code",
    ]),
    ("CREATE TABLE {t} (id INT NOT NULL PRIMARY KEY, v INT NOT NULL, j JSON) ENGINE=InnoDB",
     "INSERT INTO {t} SELECT seq, seq % 7, JSON_OBJECT('n', seq) FROM mir.seq_1_to_50", ["id", "v", "j"], "id", [
         "UPDATE {t} SET id = id + 100 WHERE v = 3",
         "INSERT INTO {t} SELECT id + 1000, v, j FROM {t} WHERE v = 4",
         "UPDATE {t} SET j = JSON_SET(j, '$.m', 1) WHERE v < 2",
         "DELETE FROM {t} WHERE id > 40 AND id < 60",
         "SELECT id, v, j FROM {t} WHERE v = 5 ORDER BY id",
     ]),
])
def test_writes_from_the_mariadb_cli(env, mariadb, ddl, fill, cols, key, sqls):
    """The mariadb command-line client (MariaDB Connector/C) asks for
    MariaDB's extended metadata and metadata cache, which cutoverd relays:
    the column definitions of the key listings the mirror reads on the
    client's session then carry one more field.  Writes whose keys the
    proxy has to read (a key change, INSERT ... SELECT, ranges) are
    mirrored as from any client; the client sees what it sees directly
    (column types included); the shadow equals the table."""
    t, u, did = custom_pair(env, mariadb, ddl, fill)
    got = _cli(env.port, "; ".join(s.format(t=t) for s in sqls))
    want = _cli(mariadb.port, "; ".join(s.format(t=u) for s in sqls))
    assert want.returncode == 0, want.stderr
    assert (got.returncode, got.stderr) == (0, ""), got.stderr
    assert got.stdout.replace(t, "T") == want.stdout.replace(u, "T")
    a = rows(mariadb, "SELECT %s FROM mir.%s ORDER BY %s" % (", ".join(cols), t, key))
    b = rows(mariadb, "SELECT %s FROM mir.%s ORDER BY %s" % (", ".join(cols), u, key))
    assert a == b
    s = env.admin("deploy show %d" % did)
    assert s["state"] == "ready" and s["refused"] == 0 and s["mirrored"] >= 4, s
    collist = ", ".join("BINARY `%s`" % c if c == "code" else "`%s`" % c for c in cols)
    a = rows(mariadb, "SELECT %s FROM mir.%s ORDER BY %s" % (collist, t, key))
    b = rows(mariadb, "SELECT %s FROM mir._%s_shadow ORDER BY %s" % (collist, t, key))
    assert a == b
    env.admin("deploy cancel %d" % did, timeout=30)
