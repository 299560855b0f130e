"""Randomized cases of test/fuzz_train.py for the project API and for the
catalog's stored fields (imported by fuzz_train.py, not run on its own).

gen_projects: ml_update_project, ml_drop_project, ml_add_member,
ml_remove_member, ml_deploy (a version or a strategy), ml_rollback,
mlops.schedule_next, mlops.score_value/score_label/score_proba and the
catalog views, with plausible and hostile arguments, as the owner, an
engineer or a stranger.

gen_tamper: a project with a deployed model, recipes, a job, a workflow, a
report, a drift policy and an exposure; then, as a superuser, one stored
field damaged (a wrong JSON type, an out-of-range number, a truncated array,
a key removed, a whole value replaced), and the functions and views that read
it back. A damaged row must give a clear error (XX001 data corrupted, or
another error of ours), never a crash, an internal error or an error from
SQL or JSON the extension built.
"""
import fuzz_clean as fz

PROJECT_NAMES = ["fz", "fz", "fz2", "", " ", "nosuch", 'fz "q" <x>', "Größe", "x" * 300, "fz'); --"]
ROLES = ["fz_eng", "fz_ana", "fz_other", "fz_cons", '"fz ""odd"" role"', "ml_admin", "ml_consumer",
         "PUBLIC", "-", "nosuch"]
TASKS = ["regression", "classification", "forecast", "clustering", "", "REGRESSION"]
STRATEGIES = ["best_score", "most_recent", "", "nosuch", "BEST_SCORE"]
SCHEDULES = ["@daily", "@hourly", "* * * * *", "*/5 1-3 * * 1-5", "0 0 29 2 *", "0 0 31 2 *", "60 * * * *",
             "30 seconds", "0 seconds", "-1 day", "99999999 years", "", "1-60/0 * * * *", "@nope",
             "*/1000 * * * *", "1 mon"]
AFTERS = ["now()", "'infinity'", "'-infinity'", "'294276-12-31 23:59:59+00'", "'4713-01-01 00:00+00 BC'",
          "'2024-02-28 23:59:59.999999+00'"]
VIEWS = ["ml_projects", "ml_audit", "ml_models", "ml_deployments", "ml_leaderboard", "ml_trials", "ml_jobs",
         "ml_job_runs", "ml_job_history", "ml_workflows", "ml_job_run_steps", "ml_drift", "ml_drift_alerts",
         "ml_data_quality", "ml_cleaning_report", "ml_exposures", "ml_api_usage", "ml_api_keys", "ml_reports",
         "ml_published_reports"]


def table_stmts(rng):
    """fz_a: a few rows of every kind with gaps, enough for every step to
    fit; fz_b: a few of its rows (or none)."""
    z = rng.choice(["(g % 5)::int", "(ARRAY['a', 'b', 'c'])[g % 3 + 1]", "DATE '2024-01-01' + g",
                    "(g / 7.0)::numeric(6,2)", "g % 2 = 0"])
    return ["CREATE TABLE fz_a AS SELECT g::bigint AS id, CASE WHEN g %% 9 = 0 THEN NULL ELSE g / 3.0 END::float8 AS x, "
            "%s AS z, (g %% 11 + g / 4.0)::float8 AS y, (ARRAY['a', 'b'])[g %% 2 + 1] AS c "
            "FROM generate_series(1, %d) g" % (z, rng.choice([20, 60])),
            "CREATE TABLE fz_b AS SELECT * FROM fz_a LIMIT %d" % rng.choice([0, 1, 5])]


def roles_stmts():
    return ["CREATE ROLE fz_eng IN ROLE ml_engineer", "CREATE ROLE fz_ana IN ROLE ml_analyst",
            "CREATE ROLE fz_other IN ROLE ml_analyst", "CREATE ROLE fz_cons IN ROLE ml_consumer",
            'CREATE ROLE "fz ""odd"" role" IN ROLE ml_analyst',
            "GRANT SELECT ON fz_a, fz_b TO fz_eng, fz_ana, fz_other, fz_cons",
            "GRANT CREATE ON SCHEMA public TO fz_eng, fz_ana"]


def regrole(rng):
    r = rng.choice(ROLES + ["NULL", "0"])
    return r if r in ("NULL", "0") else fz.lit(r) + "::regrole"


def project_call(rng):
    """One call of the project and deployment API, and who would make it:
    the owner (fz_ana), an engineer of the project (fz_eng) or anyone."""
    name = fz.lit("fz" if rng.random() < 0.7 else rng.choice(PROJECT_NAMES)) \
        if rng.random() > 0.03 else "NULL"
    who, sql = project_sql(rng, name)
    return who, sql


def project_sql(rng, name):
    r = rng.random()
    if r < 0.2:
        args = [name]
        for key, vals in (("new_name", PROJECT_NAMES), ("relation", ["fz_a", "fz_b", "pg_class", "fz_a"]),
                          ("target", ["y", "x", "c", "nosuch", "", "id"]), ("task", TASKS),
                          ("description", ["d", "", "x" * 5000, "ü \"q\""])):
            if rng.random() < 0.35:
                v = rng.choice(vals)
                args.append("%s => %s" % (key, fz.lit(v) if rng.random() > 0.1 else "NULL"))
        return "fz_ana", "SELECT ml_update_project(%s)" % ", ".join(args)
    if r < 0.3:
        return rng.choice(["fz_ana", "fz_eng"]), "SELECT ml_drop_project(%s%s)" % (
            name, rng.choice(["", ", true", ", false", ", NULL"]))
    if r < 0.45:
        return "fz_ana", "SELECT ml_add_member(%s, %s)" % (name, regrole(rng))
    if r < 0.55:
        return "fz_ana", "SELECT ml_remove_member(%s, %s)" % (name, regrole(rng))
    if r < 0.65:
        return "fz_eng", "SELECT ml_rollback(%s%s)" % (name, rng.choice(["", ", 'why'", ", NULL", ", ''"]))
    if r < 0.75:
        return "fz_eng", "SELECT ml_deploy(%s, %s::text%s)" % (name, fz.lit(rng.choice(STRATEGIES)),
                                                     rng.choice(["", ", 'why'", ", NULL"]))
    if r < 0.82:
        return "fz_eng", "SELECT ml_deploy(%s, %s)" % (name, rng.choice(["1", "2", "0", "-1", "NULL::int", "2147483647"]))
    if r < 0.87:
        return "fz_ana", "SELECT ml_mark_ready(%s, %s%s)" % (name, rng.choice(["1", "2", "0", "-1", "NULL"]),
                                                  rng.choice(["", ", 'ok'", ", NULL"]))
    if r < 0.92:
        fn = rng.choice(["score_value", "score_label", "score_proba"])
        model = rng.choice(["(SELECT max(id) FROM mlops.models)", "0", "-1", "9223372036854775807"])
        return "fz_ana", "SELECT mlops.%s(%s, %s, r) FROM %s r LIMIT 3" % (fn, name, model, rng.choice(["fz_a", "fz_b"]))
    if r < 0.96:
        # as text: psycopg2 cannot hold years outside 1..9999
        return "fz_eng", "SELECT mlops.schedule_next(%s, %s)::text" % (fz.lit(rng.choice(SCHEDULES)), rng.choice(AFTERS))
    return rng.choice(["fz_ana", "fz_eng"]), "SELECT count(*) FROM %s" % rng.choice(VIEWS)


def gen_projects(rng):
    """Random calls of the project API by the owner, an engineer, another
    analyst or a consumer, on a project with two versions, one deployed."""
    stmts = table_stmts(rng) + roles_stmts()
    stmts += ["SET LOCAL ROLE fz_ana", "SELECT ml_create_project('fz', 'fz_a', 'y')",
              "SELECT version FROM ml_train('fz', 'linear')", "SELECT version FROM ml_train('fz', 'ridge')",
              "SELECT ml_mark_ready('fz', 1)", "SELECT ml_mark_ready('fz', 2)", "RESET ROLE"]
    if rng.random() < 0.7:
        stmts += ["SET LOCAL ROLE fz_eng", "SELECT ml_deploy('fz', 1)", "RESET ROLE"]
    stmts.append("SELECT ml_add_member('fz', 'fz_eng')")
    if rng.random() < 0.3:
        stmts.append("SELECT ml_add_member('fz', 'fz_other')")
    for _ in range(rng.randint(1, 6)):
        who, call = project_call(rng)
        if rng.random() < 0.25:
            # anyone else: another analyst, a consumer, a quoted name, the superuser
            who = rng.choice(["fz_other", "fz_cons", '"fz ""odd"" role"', "fz_ana", "fz_eng", None])
        if who:
            stmts.append("SET LOCAL ROLE %s" % who)
        stmts.append(call)
        if who:
            stmts.append("RESET ROLE")
    return "projects", stmts


# ------------------------------------------------------------ stored fields

# Values that replace a whole field or a member of it: wrong JSON types,
# numbers out of every range, strings where numbers go, long arrays.
BAD_JSON = ["null", "1", "-1", "0", "1e400", "-1e400", "2147483648", "9223372036854775808", "0.5", "true",
            '"x"', '""', '"NaN"', '"Infinity"', "[]", "[1]", "[null]", '["a", "a"]', "[[1]]", "{}", '{"a": 1}',
            "[" + ", ".join(["1"] * 300) + "]", '"' + "x" * 2000 + '"']
# (table, column, paths into it to damage), the paths as jsonb_set takes them
FIELDS = [
    ("models", "metrics", ["{rmse}", "{r2}", "{accuracy}", "{importance}", "{importance,x}", "{sampled}",
                           "{cv_rmse}", "{classes}"]),
    ("models", "features", ["{0}", "{0,kind}", "{0,name}", "{0,column}", "{1}", "{9}"]),
    ("models", "training", ["{rows}", "{task}", "{split}", "{split,seed}", "{split,test_size}", "{recipe}",
                            "{recipe,id}", "{classes}", "{skipped}", "{folds}", "{seed}"]),
    ("models", "hyperparameters", ["{alpha}", "{fit_intercept}", "{max_depth}", "{n_estimators}"]),
    ("models", "profile", ["{format}", "{rows}", "{features}", "{features,0,edges}", "{features,0,shares}",
                           "{features,0,levels}", "{features,0,kind}", "{prediction}", "{prediction,edges}"]),
    ("recipes", "options", ["{dense}", "{inputs}", "{features}", "{algorithm}", "{method}", "{options}"]),
    ("recipes", "steps", ["{0}", "{0,fill}", "{0,step}", "{0,kind}", "{0,column}", "{0,type}", "{1,scale}",
                          "{1,center}", "{2,levels}", "{2,names}", "{0,method}", "{3,to}", "{9}"]),
    ("recipes", "report", ["{0}", "{0,column}", "{0,filled}", "{0,kind}", "{0,mean_after}"]),
    ("jobs", "command", ["{owner_oid}", "{algorithm}", "{options}", "{relation}", "{into_table}", "{kind}",
                         "{workflow}", "{hyperparams}", "{recipe}"]),
    ("jobs", "options", ["{retries}", "{name}", "{publish}"]),
    ("workflows", "steps", ["{0}", "{0,kind}", "{0,algorithm}", "{0,options}", "{1,margin}", "{1,metric}",
                            "{1,direction}", "{2}", "{2,kind}", "{5}"]),
    ("reports", "content", ["{version}", "{residuals}", "{residuals,points}", "{importance}", "{importance,x}",
                            "{metrics_sample}", "{metrics_sample,rmse}", "{rows_sampled}", "{columns}"]),
    ("reports", "built_from", ["{seed}", "{version}", "{model_id}", "{project_id}", "{relation}",
                               "{sample_rows}", "{options}"]),
    ("drift_policies", "options", ["{psi}", "{min_rows}", "{missing_rate}", "{retrain_job}"]),
    ("deployments", "metrics", ["{rmse}", "{importance}"]),
    ("scoring_log", "features", ["{x}", "{x,counts}", "{x,missing}", "{c,counts}"]),
    ("scoring_log", "prediction", ["{counts}", "{missing}"]),
    ("column_profiles", "histogram", ["{0}", "{edges}", "{counts}"]),
    ("trials", "hyperparameters", ["{alpha}"]),
    ("audit_log", "details", ["{version}"]),
    ("job_runs", "log", ["{0}", "{0,at}", "{0,message}"]),
]
# plain columns damaged with SQL values (table, column, values)
PLAIN = [
    ("models", "version", ["0", "-1", "2147483647"]), ("models", "status", ["'nosuch'", "'ready'", "'trained'"]),
    ("models", "algorithm", ["'nosuch'", "''", "'kmeans'", "'gbdt'"]),
    ("models", "payload", ["NULL", "''::bytea", "substr(payload, 1, 16)", "substr(payload, 1, length(payload) - 8)"]),
    ("models", "row_count", ["-1", "0", "NULL"]),
    ("projects", "target", ["'nosuch'", "'x'", "''"]), ("projects", "task", ["'forecast'", "'classification'"]),
    ("projects", "relation_name", ["'nosuch'", "'fz_b'"]), ("projects", "relation_schema", ["'nosuch'"]),
    ("exposures", "rows_per_day", ["0", "-1", "9223372036854775807"]),
    ("exposures", "calls_per_second", ["0", "-1", "2147483647"]),
    ("jobs", "schedule", ["'nosuch'", "''", "'* * *'", "'-1 day'"]), ("jobs", "kind", ["'report'", "'workflow'"]),
    ("jobs", "max_retries", ["-1", "2147483647"]), ("jobs", "backoff", ["'-1 day'", "'0'"]),
    ("jobs", "timeout", ["'-1 day'", "'0'", "'1 microsecond'"]), ("jobs", "next_run_at", ["'-infinity'", "'infinity'"]),
    ("jobs", "statement_timeout", ["'-1 day'", "'0'"]),
    ("reports", "kind", ["'drift'", "'jobs'", "'cleaning'"]), ("reports", "version", ["NULL", "999"]),
    ("recipes", "kind", ["'train'", "'clean'", "'impute'"]),
    ("trials", "fold_scores", ["'{}'", "'{NaN,Infinity}'", "NULL"]), ("trials", "score", ["'NaN'", "NULL"]),
    ("column_profiles", "rows", ["-1", "0"]), ("column_profiles", "missing", ["-5", "1000000"]),
    ("job_runs", "progress", ["'NaN'", "-1", "1e308"]), ("job_runs", "rows_processed", ["-1"]),
    ("job_runs", "status", ["'running'", "'failed'", "'succeeded'"]), ("job_runs", "attempt", ["2147483647", "0"]),
    ("job_runs", "started_at", ["'infinity'", "'-infinity'", "'4713-01-01 00:00+00 BC'", "'294276-12-31 23:59:59+00'"]),
    ("job_runs", "finished_at", ["'-infinity'", "'infinity'", "'4713-01-01 00:00+00 BC'", "'294276-12-31 23:59:59+00'"]),
    # a finished run whose times are damaged together: infinite, inverted, or
    # further apart than an interval holds (ml_job_runs, ml_job_history and
    # the jobs report must still read it)
    ("job_runs", "(status, started_at, finished_at)",
     ["ROW('%s', %s, %s)" % (st, t, f) for st in ("succeeded", "failed", "cancelled", "timed_out")
      for t, f in (("'4713-01-01 00:00+00 BC'", "'294276-12-31 23:59:59+00'"),
                   ("'294276-12-31 23:59:59+00'", "'4713-01-01 00:00+00 BC'"), ("'infinity'", "'-infinity'"),
                   ("'-infinity'", "'infinity'"), ("'2024-01-02'", "'2024-01-01'"),
                   ("'1000-01-01'", "'200000-01-01'"), ("'2024-01-01'", "NULL"), ("NULL", "'2024-01-01'"))]),
]


def tamper_stmt(rng):
    if rng.random() < 0.3:
        table, col, vals = rng.choice(PLAIN)
        val = rng.choice(vals)
        where = ""
    else:
        table, col, paths = rng.choice(FIELDS)
        val = fz.lit(rng.choice(BAD_JSON)) + "::jsonb"
        r = rng.random()
        # a member set or removed where the value has members (a scalar has none)
        if r < 0.6:
            val = "CASE WHEN jsonb_typeof(%s) IN ('object', 'array') THEN jsonb_set(%s, %s, %s) ELSE %s END" % (
                col, col, fz.lit(rng.choice(paths)), val, col)
        elif r < 0.8:
            val = "CASE WHEN jsonb_typeof(%s) IN ('object', 'array') THEN %s #- %s ELSE %s END" % (
                col, col, fz.lit(rng.choice(paths)), col)
        where = " WHERE %s IS NOT NULL" % col
    if table == "models" and rng.random() < 0.7:
        where += (" AND " if where else " WHERE ") + "version = (SELECT max(version) FROM mlops.models)"
    return "UPDATE mlops.%s SET %s = %s%s" % (table, col, val, where)


def reader_call(rng):
    """A function or view that reads the stored rows back."""
    r = rng.random()
    if r < 0.08:
        return "SELECT ml_predict('fz', r) FROM fz_a r"
    if r < 0.14:
        return "SELECT %s('fz', %s)" % (rng.choice(["ml_predict", "ml_predict_label", "ml_predict_proba"]),
                                       fz.jlit({"x": 1, "z": 2, "c": "a"}))
    if r < 0.2:
        return "SELECT ml_score('fz', 'fz_a', 'fz_scored%d')" % rng.randrange(100)
    if r < 0.26:
        return "SELECT ml_evaluate('fz', %s, 'fz_a')" % rng.choice(["1", "2", "(SELECT max(version) FROM mlops.models)"])
    if r < 0.3:
        return "SELECT length(ml_export_pmml('fz', %s)::text)" % rng.choice(["1", "2"])
    if r < 0.4:
        return "SELECT ml_report('fz', %s, %s) > 0" % (
            fz.lit(rng.choice(["model", "model", "cleaning", "drift", "jobs"])),
            fz.jlit(rng.choice([{}, {"version": 1}, {"version": 2}, {"recipe": 2}, {"recipe": 3}, {"days": 30}])))
    if r < 0.45:
        return "SELECT ml_publish_report(%s%s)" % (rng.choice(["(SELECT max(id) FROM mlops.reports)",
                                                               "(SELECT min(id) FROM mlops.reports)"]),
                                                   rng.choice(["", ", true", ", false"]))
    if r < 0.52:
        return "SELECT count(*) FROM ml_apply_recipe(%s, 'fz_a', into_table => 'fz_applied')" % rng.choice(
            ["(SELECT max(id) FROM mlops.recipes)", "(SELECT min(id) FROM mlops.recipes)", "2", "3"])
    if r < 0.57:
        return "SELECT version FROM ml_train('fz', %s, '{}', %s)" % (
            fz.lit(rng.choice(["linear", "gbdt", "logistic"])),
            fz.jlit(rng.choice([{}, {"recipe": 1}, {"recipe": 2}, {"recipe": 3}, {"recipe": "none"}])))
    if r < 0.62:
        return rng.choice(["SELECT ml_deploy('fz', 'best_score'::text)", "SELECT ml_deploy('fz', 'most_recent'::text)",
                           "SELECT ml_rollback('fz')", "SELECT ml_deploy('fz', 2)", "SELECT ml_mark_ready('fz', 2)"])
    if r < 0.7:
        return rng.choice(["SELECT * FROM ml_check_drift('fz')", "SELECT ml_set_drift_policy('fz', '{}')",
                           "SELECT ml_set_drift_policy('fz', '{\"psi\": 0.1}')"])
    if r < 0.8:
        return rng.choice(["SET LOCAL ROLE fz_eng; SELECT ml_alter_job((SELECT max(id) FROM mlops.jobs), %s)"
                           % fz.jlit(rng.choice([{}, {"active": False}, {"retries": 2}, {"schedule": "@hourly"},
                                                 {"options": {"folds": 2}}])),
                           "SET LOCAL ROLE fz_eng; SELECT ml_run_now((SELECT max(id) FROM mlops.jobs))",
                           "SET LOCAL ROLE fz_eng; SELECT ml_run_now((SELECT max(id) FROM mlops.jobs), true)",
                           "SET LOCAL ROLE fz_eng; SELECT ml_allow_auto_deploy('fz', 'wf', true)",
                           "SET LOCAL ROLE fz_eng; SELECT ml_unschedule((SELECT max(id) FROM mlops.jobs))"])
    if r < 0.85:
        return rng.choice(["SELECT ml_update_project('fz', target => 'x')", "SELECT ml_drop_project('fz', true)",
                           "SELECT ml_add_member('fz', 'fz_ana')",
                           "SELECT ml_expose('fz', 'fz_cons', '{\"rows_per_day\": 5}')",
                           "SET LOCAL ROLE fz_cons; SELECT ml_predict('fz', r) FROM fz_a r LIMIT 3"])
    if r < 0.89:
        # the runs' times and durations, as text (psycopg2 holds no year past 9999)
        return rng.choice(["SELECT max(duration)::text, min(duration)::text, sum(duration_s) FROM ml_job_history",
                           "SELECT string_agg(concat_ws(' ', started_at, finished_at, duration), ', ') FROM ml_job_runs",
                           "SELECT max(r.duration)::text, min(h.duration_s) FROM ml_job_runs r, ml_job_history h "
                           "WHERE r.run = h.run_id GROUP BY r.status",
                           "SELECT ml_report('fz', 'jobs', '{\"days\": 3660}') > 0"])
    return "SELECT count(*) FROM (SELECT * FROM %s) v" % rng.choice(VIEWS + ["mlops.api_usage_live()"])


def gen_tamper(rng):
    """A project with every kind of stored row, one field damaged, then readers."""
    stmts = table_stmts(rng) + roles_stmts()
    alg = rng.choice(["linear", "ridge", "gbdt", "random_forest", "kmeans"])
    stmts += ["SELECT ml_create_project('fz', 'fz_a', 'y')",
              "SELECT count(*) FROM ml_impute('fz_a', method => %s, into_table => 'fz_imp')"
              % fz.lit(rng.choice(["mean", "median", "mode", "knn"])),
              "SELECT count(*) FROM ml_clean('fz_a', into_table => 'fz_cln')",
              "SELECT version FROM ml_train('fz', %s, '{}', %s)"
              % (fz.lit(alg), fz.jlit(rng.choice([{}, {"permutation_importance": True}]
                                                 + ([{"folds": 2}] if alg != "kmeans" else [])))),
              "SELECT version FROM ml_train('fz', 'auto', '{}', '{\"max_trials\": 2, \"budget_s\": 0.5}')"
              if rng.random() < 0.3 else "SELECT version FROM ml_train('fz', 'linear')",
              "SELECT ml_mark_ready('fz', 1)", "SELECT ml_mark_ready('fz', 2)",
              "SELECT ml_deploy('fz', 1)", "SELECT ml_deploy('fz', 2)",
              "SELECT ml_set_drift_policy('fz', '{\"psi\": 0.2}')",
              "SELECT ml_score('fz', 'fz_a', 'fz_sc')",
              "SELECT ml_expose('fz', 'fz_cons', '{\"rows_per_day\": 100}')",
              "SELECT ml_report('fz', 'model') > 0",
              "SELECT ml_report('fz', 'cleaning') > 0",
              "SELECT ml_create_workflow('fz', 'wf', '[{\"kind\": \"train\", \"algorithm\": \"linear\"}, "
              "{\"kind\": \"gate\", \"margin\": 0.1}, {\"kind\": \"deploy\"}]')",
              "SET LOCAL ROLE fz_eng",
              "SELECT ml_schedule('fz', %s, '@daily', %s)" % rng.choice([
                  ("'train'", "'{\"algorithm\": \"linear\"}'"),
                  ("'score'", "'{\"relation\": \"fz_a\", \"into_table\": \"fz_j\"}'"),
                  ("'report'", "'{\"kind\": \"model\"}'"), ("'workflow'", "'{\"workflow\": \"wf\"}'")]),
              "SELECT ml_run_now((SELECT max(id) FROM mlops.jobs))",
              "RESET ROLE"]
    for _ in range(rng.randint(1, 2)):
        stmts.append(tamper_stmt(rng))
    for _ in range(rng.randint(1, 4)):
        call = reader_call(rng)
        stmts += call.split("; ")
        if call.startswith("SET LOCAL ROLE"):
            stmts.append("RESET ROLE")
    return "tamper", stmts
