#!/usr/bin/env bash
# `make sanitize`: build pg_mlops with UndefinedBehaviorSanitizer (in a copy
# of the tree, so the normal objects stay), install it, run the pg_regress
# suite (and, with FUZZ=1, test/fuzz_clean.sh and test/fuzz_train.sh) against a private postmaster,
# then put the normal build back. Fails if any test fails, a backend dies, or
# any sanitizer report appears. UBSan's runtime loads with our library.
#
# SANITIZE=address,undefined adds AddressSanitizer, whose runtime must be
# preloaded into the (uninstrumented) postmaster: on Debian 12 (GCC 12,
# glibc 2.36) postgres then hangs at start-up in bindtextdomain (a known
# ASan-preload deadlock), so it is not the default. Even when it works, ASan
# sees only malloc'd blocks, not overruns inside a memory context's block.
# Run under the install lock: flock /tmp/pg_mlops.lock make sanitize
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
bindir=$(pg_config --bindir)
sanitizers=${SANITIZE:-undefined}
preload=""
if [[ $sanitizers == *address* ]]; then
  preload=$(gcc -print-file-name=libasan.so)
  [ -e "$preload" ] || { echo "sanitize: libasan not found (install gcc)"; exit 1; }
fi
work=$(mktemp -d /tmp/pg_mlops_sanitize.XXXXXX)
chmod 755 "$work"
run_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

cleanup() {
  [ -f "$work/data/postmaster.pid" ] && run_pg "$bindir/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1
  echo "sanitize: reinstalling the normal build"
  make -s -C "$top" install >/dev/null || echo "sanitize: could not reinstall the normal build"
  rm -rf "$work"
}
trap cleanup EXIT

start=$(date +%s)
echo "== sanitize: build (-fsanitize=$sanitizers)"
mkdir "$work/tree"
tar -C "$top" --exclude=.git --exclude=results --exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - . |
  tar -C "$work/tree" -xf -
flags="-Wall -Wextra -Werror -g -O1 -fno-omit-frame-pointer -fsanitize=$sanitizers"
flags="$flags -fsanitize=float-cast-overflow,float-divide-by-zero -fno-sanitize-recover=all"
# -Wno-maybe-uninitialized: -fsanitize changes GCC's flow analysis.
make -s -C "$work/tree" PG_CFLAGS="$flags -Wno-maybe-uninitialized" >/dev/null
make -s -C "$work/tree" install >/dev/null

echo "== sanitize: server"
mkdir -p "$work/data" "$work/sock" "$work/reports"
chown postgres: "$work/data" "$work/sock" "$work/reports" 2>/dev/null || true
chown postgres: "$work" 2>/dev/null || true
run_pg "$bindir/initdb" -D "$work/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
port=$((20000 + RANDOM % 10000))
opts="-p $port -k $work/sock -c listen_addresses= -c shared_preload_libraries=pg_mlops"
opts="$opts -c max_worker_processes=16 -c lc_messages=C -c fsync=off"
# The postmaster is started directly (pg_ctlcluster would drop the environment).
# detect_leaks=0: PostgreSQL frees memory by resetting contexts, not by free().
run_pg env ${preload:+LD_PRELOAD="$preload"} \
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:disable_coredump=1:log_path=$work/reports/asan" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$work/reports/ubsan" \
  "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -o "$opts" -w start >/dev/null

export PGHOST=$work/sock PGPORT=$port PGUSER=postgres PGDATABASE=postgres
status=0
echo "== sanitize: pg_regress"
make -s installcheck || { status=1; head -200 regression.diffs 2>/dev/null; }
if [ "${FUZZ:-0}" = 1 ]; then
  echo "== sanitize: fuzz"
  prove -v test/fuzz_clean.sh test/fuzz_train.sh || status=1
fi

reports=$(ls "$work/reports" 2>/dev/null | wc -l)
if [ "$reports" -gt 0 ] || grep -qE 'runtime error:|AddressSanitizer|UndefinedBehaviorSanitizer' "$work/server.log"; then
  echo "sanitize: $reports sanitizer report(s):"
  for f in "$work"/reports/*; do [ -f "$f" ] && { echo "--- $f"; head -60 "$f"; }; done
  grep -E -A20 'runtime error:|AddressSanitizer|UndefinedBehaviorSanitizer' "$work/server.log" | head -100 || true
  status=1
fi
if grep -q 'terminated by signal' "$work/server.log"; then
  echo "sanitize: a backend died:"; grep 'terminated by signal' "$work/server.log" | head -20
  status=1
fi
echo "sanitize: $([ $status -eq 0 ] && echo passed || echo FAILED) in $(( $(date +%s) - start )) s"
exit $status
