#!/usr/bin/env bash
# Install the Debian packages pg_mlops needs to build, test and demo,
# skipping those already present. Needs root (or sudo) only when something
# is missing.
set -euo pipefail

packages=(
  postgresql-15 postgresql-server-dev-15 postgresql-contrib
  libopenblas-dev libxml2-dev libxml2-utils libcsv-dev
  postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
  gcc make python3-psycopg2 python3-sklearn
  python3-pandas  # test/bi_client.sh and test/api_rate.sh read results as a BI client does
  libmicrohttpd-dev curl openssl wrk
  chromium python3-pil  # test/report_render.sh renders every report kind
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
