#!/bin/sh
# test_cutoverctl.sh - cutoverctl against a fake admin socket.
#
# A throwaway python3 server listens on a Unix socket in a temporary
# directory and answers each command line with a canned JSON line (or a
# broken one, or nothing).  The checks cover the table and key: value
# output, --json, the exit status of each failure, and an unreachable
# socket.  Prints "ok N - ..." / "not ok N - ..." and exits 1 on a failure,
# 77 (skipped) without python3.
#
# The binary is $top_builddir/cutoverctl; `make check` runs this from the
# top build directory, so top_builddir defaults to ".".

top_builddir=${top_builddir:-.}
CTL="$top_builddir/cutoverctl"
PYTHON=/usr/bin/python3

if [ ! -x "$PYTHON" ]; then
	echo "# SKIP: $PYTHON not found"
	exit 77
fi
if [ ! -x "$CTL" ]; then
	echo "not ok 1 - $CTL is not built"
	exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/test_cutoverctl.XXXXXX") || exit 1
sock="$dir/admin.sock"
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

cat > "$dir/server.py" <<'EOF'
# Fake cutoverd admin socket: one command line in, one canned line out.
import json, os, socket, sys

REPLIES = {
    "clients": '{"ok":true,"clients":[{"id":1,"user":"app","state":"idle","in_trans":false},'
               '{"id":12,"user":"reporting","state":"query","in_trans":true,"extra":{"a":1}}]}',
    "status": '{"ok":true,"version":"0.1.0","uptime_s":42,"backend":{"host":"db1","port":3306,'
              '"tls":{"mode":"required"}},"paused":null}',
    "mixed": '{"ok":true,"count":2,"deploys":[{"id":7,"state":"backfill","table":"shop.orders"}],'
             '"note":"a\\nb"}',
    "empty": '{"ok":true,"deploys":[]}',
    "bare": '{"ok":true}',
    "fail": '{"ok":false,"error":"no such deploy: 9"}',
    "garbage": 'this is not json',
    "array": '[1,2,3]',
    "nook": '{"error":"who knows"}',
}

path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path + ".tmp")
os.rename(path + ".tmp", path)  # appears only once bound
srv.listen(8)
while True:
    conn, _ = srv.accept()
    with conn:
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        line = data.decode().rstrip("\n")
        word = line.split(" ")[0]
        if word == "echo":
            conn.sendall((json.dumps({"ok": True, "received": line}) + "\n").encode())
        elif word == "silent":
            pass
        elif word in REPLIES:
            conn.sendall((REPLIES[word] + "\n").encode())
        else:
            conn.sendall(b'{"ok":false,"error":"unknown command"}\n')
EOF

"$PYTHON" "$dir/server.py" "$sock" &
server_pid=$!
tries=0
while [ ! -S "$sock" ]; do
	tries=$((tries + 1))
	if [ "$tries" -gt 100 ]; then
		echo "not ok 1 - the fake server did not start"
		exit 1
	fi
	sleep 0.05
done

n=0
failed=0
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
}

# run ARGS...: runs cutoverctl; sets $out, $err and $rc.
run() {
	"$CTL" "$@" >"$dir/out" 2>"$dir/err"
	rc=$?
	out=$(cat "$dir/out")
	err=$(cat "$dir/err")
}

# expect DESCRIPTION WANT_RC WANT_STDOUT [WANT_STDERR]: compare the last run.
expect() {
	if [ "$rc" = "$2" ] && [ "$out" = "$3" ] && { [ $# -lt 4 ] || [ "$err" = "$4" ]; }; then
		ok "$1"
	else
		not_ok "$1"
		echo "# exit status $rc, want $2"
		echo "# stdout:"; printf '%s\n' "$out" | sed 's/^/#   |/'
		echo "# want:"; printf '%s\n' "$3" | sed 's/^/#   |/'
		echo "# stderr:"; printf '%s\n' "$err" | sed 's/^/#   |/'
		[ $# -lt 4 ] || { echo "# want:"; printf '%s\n' "$4" | sed 's/^/#   |/'; }
	fi
}

run -s "$sock" clients
expect "an array prints as a table, columns in key order, numbers right-aligned" 0 \
"id  user       state  in_trans  extra
 1  app        idle   false
12  reporting  query  true      {\"a\":1}" ""

run -s "$sock" status
expect "scalars print as key: value, nested objects as section.key" 0 \
"version: 0.1.0
uptime_s: 42
backend.host: db1
backend.port: 3306
backend.tls.mode: required
paused: null" ""

run -s "$sock" mixed
expect "a table among other members gets a title; control characters are escaped" 0 \
"count: 2

deploys:
id  state     table
 7  backfill  shop.orders

note: a\\nb" ""

run -s "$sock" empty
expect "an empty array says (none)" 0 "deploys: (none)" ""

run -s "$sock" bare
expect "a bare success prints ok" 0 "ok" ""

run -s "$sock" echo --json -s x
expect "options after the command are command words" 0 \
"received: echo --json -s x" ""

run -s "$sock" echo deploy start shop.orders "ADD COLUMN note TEXT" -x
expect "the command words are sent joined by spaces" 0 \
"received: echo deploy start shop.orders ADD COLUMN note TEXT -x" ""

run -s "$sock" --json status
expect "--json prints the raw line" 0 \
'{"ok":true,"version":"0.1.0","uptime_s":42,"backend":{"host":"db1","port":3306,"tls":{"mode":"required"}},"paused":null}' ""

run -s "$sock" fail
expect "ok:false prints error: MESSAGE on stderr and exits 1" 1 "" "error: no such deploy: 9"

run -s "$sock" --json fail
expect "--json with ok:false prints the line and exits 1" 1 \
'{"ok":false,"error":"no such deploy: 9"}' ""

run -s "$sock" garbage
if [ "$rc" = 2 ] && [ -z "$out" ] && printf '%s' "$err" | grep -q "^cutoverctl: malformed reply from $sock: "; then
	ok "a reply that is not JSON exits 2 with a clear error"
else
	not_ok "a reply that is not JSON exits 2 with a clear error (rc=$rc, stderr: $err)"
fi

run -s "$sock" array
expect "a reply that is not an object exits 2" 2 "" \
"cutoverctl: malformed reply from $sock: not a JSON object"

run -s "$sock" nook
expect "a reply without ok exits 2" 2 "" \
"cutoverctl: malformed reply from $sock: no \"ok\" member"

run -s "$sock" silent
expect "no reply at all exits 2" 2 "" \
"cutoverctl: no reply from $sock: the connection closed without a reply"

run -s "$dir/nosuch.sock" status
expect "an unreachable socket exits 2 and says why" 2 "" \
"cutoverctl: cannot connect to $dir/nosuch.sock: No such file or directory (is cutoverd running?)"

CUTOVER_ADMIN_SOCKET="$sock" run bare
expect "CUTOVER_ADMIN_SOCKET names the socket" 0 "ok" ""

CUTOVER_ADMIN_SOCKET="$dir/nosuch.sock" run -s "$sock" bare
expect "-s wins over CUTOVER_ADMIN_SOCKET" 0 "ok" ""

CUTOVER_ADMIN_SOCKET= run status
case $err in
"cutoverctl: cannot connect to /run/cutoverd/admin.sock: "*) ok "the default socket is /run/cutoverd/admin.sock" ;;
*) if [ "$rc" = 0 ]; then ok "the default socket is /run/cutoverd/admin.sock # SKIP a cutoverd runs here"; else not_ok "the default socket is /run/cutoverd/admin.sock ($err)"; fi ;;
esac

run -s "$sock"
if [ "$rc" = 2 ] && [ -z "$out" ] && printf '%s' "$err" | grep -q "no command given"; then
	ok "no command is a usage error, exit 2"
else
	not_ok "no command is a usage error, exit 2 (rc=$rc)"
fi

run -s "$sock" echo "two
lines"
expect "a line break in the command is refused" 2 "" \
"cutoverctl: a command cannot contain a line break"

run --help
if [ "$rc" = 0 ] && printf '%s' "$out" | grep -q "^Usage: cutoverctl \[-s SOCKET\] \[--json\] COMMAND"; then
	ok "--help prints the usage and exits 0"
else
	not_ok "--help prints the usage and exits 0 (rc=$rc)"
fi

run --version
if [ "$rc" = 0 ] && printf '%s' "$out" | grep -q "^cutoverctl (cutover) [0-9]"; then
	ok "--version prints the version"
else
	not_ok "--version prints the version ($out)"
fi

run --bogus
if [ "$rc" = 2 ] && [ -z "$out" ]; then
	ok "an unknown option exits 2"
else
	not_ok "an unknown option exits 2 (rc=$rc)"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
