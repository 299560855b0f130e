#!/usr/bin/env bash
# Scheduler overhead: a score job due every second, for a minute, at the
# default poll interval (500 ms; POLL overrides): how late each run starts after its due time,
# and how long the whole run takes. Run inside a throwaway cluster:
#   flock /tmp/pg_mlops.lock sh -c 'make -s install && bash scripts/cluster.sh bash bench/jobs_latency.sh'
set -euo pipefail
secs=${SECS:-60}
poll=${POLL:-500ms}
. "$(dirname "$0")/../test/lib/jobs.bash"
jobs_setup jbench
q -c "ALTER SYSTEM SET pg_mlops.job_poll_interval = '$poll'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
job=$(as $eng -c "SELECT ml_schedule('homes', 'score', '1 second',
        '{\"relation\": \"houses\", \"into_table\": \"bench_out\", \"mode\": \"replace\"}')")
sleep "$secs"
as $eng -c "SELECT ml_alter_job($job, '{\"active\": false}')" >/dev/null
sleep 2
q -c "ALTER SYSTEM RESET pg_mlops.job_poll_interval" -c "SELECT pg_reload_conf()" >/dev/null
q -F ' ' <<SQL
SELECT 'poll ${poll}: runs ' || count(*) || ' in ${secs} s (one due every second; a tick missed while a run is active is skipped)',
       '| start - due: mean ' || round(avg(extract(epoch FROM started_at - due_at))::numeric, 3)
       || ' s, p95 ' || round(percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - due_at))::numeric, 3)
       || ' s, max ' || round(max(extract(epoch FROM started_at - due_at))::numeric, 3)
       || ' s, within 1 s: ' || round(100.0 * avg((started_at - due_at <= interval '1 second')::int), 1) || ' %',
       '| run (300 rows scored): mean ' || round(avg(extract(epoch FROM finished_at - started_at))::numeric, 3) || ' s',
       '| failed ' || count(*) FILTER (WHERE status <> 'succeeded')
FROM mlops.job_runs WHERE job_id = $job AND trigger = 'schedule' AND started_at IS NOT NULL;
SQL
