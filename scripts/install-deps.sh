#!/usr/bin/env bash
# install-deps.sh: install every Debian package weir needs to build, test and
# run (services included) on a fresh Debian 12 machine, as root.
#
# Idempotent: packages already present are skipped, so a second run takes
# about a second.  Set WEIR_DEPS_QUIET=1 to silence apt's progress output.
set -euo pipefail

pkgs=(
	# build
	build-essential cmake pkg-config ninja-build clang libclang-rt-14-dev
	# the libraries weir links
	libyaml-dev libpq-dev libgdal-dev libnetcdf-dev libcurl4-openssl-dev
	librabbitmq-dev libmicrohttpd-dev libjansson-dev uuid-dev libsodium-dev
	# services and tools the tests start for real
	postgresql-15 postgresql-15-postgis-3 postgresql-client-15 gdal-bin
	netcdf-bin rabbitmq-server runc crun podman busybox-static mosquitto
	mosquitto-clients chromium tzdata procps psmisc curl ca-certificates
	python3 python3-yaml python3-jsonschema
	# operators tests: TLS test server (openssl s_server)
	openssl
	# benchmarks and analysis
	wrk hyperfine valgrind make snakemake strace
)

missing=()
for p in "${pkgs[@]}"; do
	[[ $p == \#* ]] && continue
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

# Node.js and npm (for the browser tests) come with the machine on this
# workplace's images; install Debian's only where there is none.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]})); then
	if [[ $(id -u) != 0 ]]; then
		echo "install-deps: missing packages: ${missing[*]}" >&2
		echo "install-deps: run this script as root to install them" >&2
		exit 1
	fi
	echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	q=()
	[[ ${WEIR_DEPS_QUIET:-0} == 1 ]] && q=(-qq)
	apt-get "${q[@]}" update
	apt-get "${q[@]}" install -y --no-install-recommends \
		-o Dpkg::Options::=--force-unsafe-io "${missing[@]}"
fi

# The UI tests drive Debian's chromium through playwright-core (no browser
# download; the version is pinned in tests/ui/package-lock.json).  Installed
# into tests/ui/node_modules, which git ignores.  Without the npm registry
# this fails, loudly: the browser tests cannot run without it.
top=$(cd "$(dirname "$0")/.." && pwd)
if [[ -f $top/tests/ui/package.json && ! -d $top/tests/ui/node_modules/playwright-core ]]; then
	if ! (cd "$top/tests/ui" && npm ci --no-audit --no-fund --loglevel=error); then
		echo "install-deps: error: npm ci in tests/ui failed (is the npm registry reachable?);" >&2
		echo "install-deps: the browser tests (ctest -R ui_e2e) need tests/ui/node_modules/playwright-core" >&2
		exit 1
	fi
fi
echo "install-deps: all dependencies present"
