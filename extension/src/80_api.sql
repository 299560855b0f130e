-- API management (0.3.0): exposures of a project's deployed model to
-- consumer roles, with optional limits, and the usage metered through them
-- (src/api/). Engineers manage exposures; a consumer role scores an exposed
-- project's deployed version with ml_predict*, ml_score and nothing else.

CREATE TABLE mlops.exposures (
    project_id       bigint NOT NULL REFERENCES mlops.projects (id) ON DELETE CASCADE,
    consumer         name NOT NULL,
    rows_per_day     bigint CHECK (rows_per_day > 0),
    calls_per_second integer CHECK (calls_per_second > 0),
    created_by       name NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- the role by OID: a role dropped and re-created under the name is
    -- another role and gets nothing (consumer stays, for display)
    consumer_oid     oid NOT NULL,
    PRIMARY KEY (project_id, consumer_oid)
);
COMMENT ON TABLE mlops.exposures IS
    'consumer roles that may score a project''s deployed model, with their limits (NULL: none)';

-- One row per project, consumer and UTC day, written by the scheduler's
-- dispatch pass from the shared-memory counters (absolute values: a row is
-- only ever replaced by one of as many calls or more).
CREATE TABLE mlops.api_usage (
    project_id        bigint NOT NULL REFERENCES mlops.projects (id) ON DELETE CASCADE,
    consumer          name NOT NULL,
    day               date NOT NULL,
    calls             bigint NOT NULL DEFAULT 0,
    rows              bigint NOT NULL DEFAULT 0,
    errors            bigint NOT NULL DEFAULT 0,
    latency_histogram bigint[] NOT NULL DEFAULT '{}',
    latency_p50_ms    double precision,
    latency_p95_ms    double precision,
    latency_p99_ms    double precision,
    flushed_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
    consumer_oid      oid NOT NULL,
    PRIMARY KEY (project_id, consumer_oid, day)
);
COMMENT ON TABLE mlops.api_usage IS
    'calls, rows, errors and latency of scoring through exposures, per project, consumer and UTC day';
COMMENT ON COLUMN mlops.exposures.consumer_oid IS
    'the OID of the consumer role: the exposure applies to that role only, whatever its name';
COMMENT ON COLUMN mlops.api_usage.consumer_oid IS 'the OID of the consumer role that made the calls';
COMMENT ON COLUMN mlops.api_usage.latency_histogram IS
    'calls per latency bucket: bucket i holds latencies below 0.01 ms * 2^((i+1)/4), the last one the rest';

CREATE FUNCTION mlops.project_exposed(project_id bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ml_project_exposed'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION mlops.project_exposed(bigint) IS
    'whether the calling role has an exposure to a project (through its role memberships)';

CREATE FUNCTION mlops.exposure_visible(project_id bigint, consumer_oid oid)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ml_exposure_visible'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION mlops.exposure_visible(bigint, oid) IS
    'whether the calling role may see an exposure and its usage: engineers and admins all, '
    'a project''s owner and members their project''s, a consumer its own';

CREATE FUNCTION mlops.api_usage_live(OUT project_id bigint, OUT consumer name, OUT day date,
                                     OUT calls bigint, OUT rows bigint, OUT errors bigint,
                                     OUT latency_p50_ms double precision,
                                     OUT latency_p95_ms double precision,
                                     OUT latency_p99_ms double precision,
                                     OUT consumer_oid oid)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ml_api_usage_live'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION mlops.api_usage_live() IS
    'the shared-memory usage counters of this database that the calling role may see';

ALTER TABLE mlops.exposures ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.api_usage ENABLE ROW LEVEL SECURITY;
CREATE POLICY exposure_visible ON mlops.exposures FOR SELECT
    USING (mlops.exposure_visible(project_id, consumer_oid));
CREATE POLICY exposure_visible ON mlops.api_usage FOR SELECT
    USING (mlops.exposure_visible(project_id, consumer_oid));

CREATE FUNCTION @extschema@.ml_expose(project text, consumer regrole, options jsonb DEFAULT '{}')
RETURNS void
AS 'MODULE_PATHNAME', 'ml_expose'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_expose(text, regrole, jsonb) IS
    'let a consumer role score a project''s deployed model; options rows_per_day, calls_per_second';

CREATE FUNCTION @extschema@.ml_revoke_exposure(project text, consumer regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'ml_revoke_exposure'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_revoke_exposure(text, regrole) IS
    'stop a consumer role from scoring a project (effective at the next statement everywhere)';

-- The views read the catalog as their owner (the extension's) and show the
-- rows mlops.exposure_visible grants the reader: consumers may not read the
-- project catalog itself. security_barrier: the filter runs before any
-- function of the reader's query sees a row.
CREATE VIEW @extschema@.ml_exposures WITH (security_barrier = true) AS
SELECT p.name AS project, e.consumer, e.rows_per_day, e.calls_per_second,
       e.created_by, e.created_at, e.updated_at
FROM mlops.exposures e
JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) e.project_id
WHERE mlops.exposure_visible(e.project_id, e.consumer_oid);
COMMENT ON VIEW @extschema@.ml_exposures IS
    'exposures and their limits: engineers and admins see all, analysts their projects'', consumers their own';

CREATE VIEW @extschema@.ml_api_usage WITH (security_barrier = true) AS
SELECT u.consumer, p.name AS project, u.day, u.calls, u.rows, u.errors,
       u.latency_p50_ms, u.latency_p95_ms, u.latency_p99_ms
FROM (SELECT COALESCE(l.project_id, c.project_id) AS project_id,
             COALESCE(l.consumer, c.consumer) AS consumer,
             COALESCE(l.consumer_oid, c.consumer_oid) AS consumer_oid,
             COALESCE(l.day, c.day) AS day,
             COALESCE(l.calls, c.calls) AS calls,
             COALESCE(l.rows, c.rows) AS rows,
             COALESCE(l.errors, c.errors) AS errors,
             COALESCE(l.latency_p50_ms, c.latency_p50_ms) AS latency_p50_ms,
             COALESCE(l.latency_p95_ms, c.latency_p95_ms) AS latency_p95_ms,
             COALESCE(l.latency_p99_ms, c.latency_p99_ms) AS latency_p99_ms
      FROM mlops.api_usage c
      FULL JOIN mlops.api_usage_live() l
        ON l.project_id OPERATOR(pg_catalog.=) c.project_id
       AND l.consumer_oid OPERATOR(pg_catalog.=) c.consumer_oid
       AND l.day OPERATOR(pg_catalog.=) c.day) u
JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) u.project_id
WHERE mlops.exposure_visible(u.project_id, u.consumer_oid);
COMMENT ON VIEW @extschema@.ml_api_usage IS
    'scoring through exposures per consumer, project and UTC day: calls, rows, errors, latency percentiles';

REVOKE ALL ON FUNCTION @extschema@.ml_expose(text, regrole, jsonb),
    @extschema@.ml_revoke_exposure(text, regrole),
    mlops.project_exposed(bigint), mlops.exposure_visible(bigint, oid),
    mlops.api_usage_live() FROM PUBLIC;
REVOKE ALL ON mlops.exposures, mlops.api_usage,
    @extschema@.ml_exposures, @extschema@.ml_api_usage FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_expose(text, regrole, jsonb),
    @extschema@.ml_revoke_exposure(text, regrole) TO ml_engineer;
GRANT EXECUTE ON FUNCTION mlops.project_exposed(bigint), mlops.exposure_visible(bigint, oid),
    mlops.api_usage_live() TO ml_consumer, ml_analyst, ml_engineer;
GRANT SELECT ON mlops.exposures, mlops.api_usage TO ml_analyst, ml_engineer;
GRANT SELECT ON @extschema@.ml_exposures, @extschema@.ml_api_usage
    TO ml_consumer, ml_analyst, ml_engineer;
-- Consumers score exposed projects' deployed versions (never a pinned one:
-- mlops.score_* stay with analysts and engineers).
GRANT EXECUTE ON FUNCTION
    @extschema@.ml_predict(text, anyelement), @extschema@.ml_predict(text, jsonb),
    @extschema@.ml_predict_label(text, anyelement), @extschema@.ml_predict_label(text, jsonb),
    @extschema@.ml_predict_proba(text, anyelement), @extschema@.ml_predict_proba(text, jsonb),
    @extschema@.ml_score(text, regclass, text)
    TO ml_consumer;

SELECT pg_catalog.pg_extension_config_dump('mlops.exposures', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.api_usage', '');
