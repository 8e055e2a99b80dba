# scripts/deps.sh - the Debian packages cutover needs to build, test,
# benchmark and run its demo, and an idempotent installer.  Sourced by
# tests/run and ./demo; defines install_packages (needs a `say` function).
#
# install_packages: returns at once when dpkg shows every package
# installed; otherwise apt-get update + install, with a temporary
# policy-rc.d so the packages do not start a system MariaDB.

packages=(
	build-essential autoconf automake libtool pkg-config
	libevent-dev libssl-dev libinih-dev libjansson-dev
	libmariadb-dev-compat libmariadb-dev
	mariadb-server mariadb-client mariadb-test
	python3 python3-pytest python3-pytest-xdist python3-pymysql python3-cryptography
	libdbd-mariadb-perl sysbench haproxy openssl percona-toolkit
)

# --- packages --------------------------------------------------------------

install_packages() {
	local missing=() p
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing: ${missing[*]}"
	local sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	# Keep the packages from starting a system mariadb: the tests run their
	# own server, and a daemon started here would outlive this script.
	local policy=/usr/sbin/policy-rc.d made_policy=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null &&
			"${sudo[@]}" chmod 755 "$policy" && made_policy=1
	fi
	local rc=0
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q || rc=$?
	[ $rc -eq 0 ] && {
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends "${packages[@]}" || rc=$?
	}
	[ -n "$made_policy" ] && "${sudo[@]}" rm -f "$policy"
	return $rc
}

