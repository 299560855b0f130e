#!/usr/bin/python3
"""Randomized robustness test of training and scoring (ml_train, ml_predict,
ml_predict_label, ml_predict_proba, ml_score, ml_evaluate, permutation
importance, cleaning recipes applied by ml_train (options.recipe: none,
random ids, the newest after ml_impute or ml_clean on the relation), the
hand-over, ml_export_pmml, drift (ml_drift, ml_check_drift,
ml_set_drift_policy, ml_predict sampling, damaged profiles), and for a fifth of the cases
ml_forecast_train and ml_forecast) and of the job API (ml_schedule,
ml_alter_job, ml_run_now, ml_cancel, ml_unschedule, mlops.job_run_live), of workflows
(ml_create_workflow with random steps, ml_allow_auto_deploy,
ml_drop_workflow, workflow jobs) and of API management (ml_expose,
ml_revoke_exposure, scoring through an exposure, the usage and exposure
views, mlops.project_exposed, mlops.exposure_visible), of API keys (ml_create_api_key,
ml_revoke_api_key), of reports (ml_report with random kinds and options,
hostile project names, ml_publish_report with random ids, row-level security on the
source, mlops.rows_unrestricted and mlops.model_visible), of many-models
(ml_train_groups over random key columns, hostile names among them, and
random options, the grouped version scored, evaluated and exported), on the tables
of test/fuzz_clean.py and with its checks: a crash, an internal error or an
error from SQL/JSON we built fails the test. A payload the case corrupted
on purpose must give XX001 (data corrupted), which is then expected.

FUZZ_SEED (default 1) and FUZZ_CALLS (default 150) as in fuzz_clean.py.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fuzz_catalog as catalog  # noqa: E402
import fuzz_clean as fz  # noqa: E402

ALGORITHMS = ["auto", "linear", "ridge", "lasso", "elastic_net", "logistic", "gbdt", "random_forest",
              "kmeans", "naive_bayes"]
NUMERIC = {"float", "float_whole", "int", "int_code", "numeric", "numeric_small", "numeric_free", "smallint",
           "real", "float_special", "float_huge", "float_const", "int_big"}
LABELS = {"cat", "cat_two", "bool", "int_code", "cat_utf8", "cat_varchar", "text_bool", "float_whole"}
HYPER = {
    "n_estimators": [1, 2, 5, 10, 0, -1, 1e9],
    "max_depth": [1, 2, 3, 6, 0, 64, 1000],
    "learning_rate": [0.1, 0.5, 1, 0, -0.1, "NaN"],
    "min_samples_leaf": [1, 2, 5, 50, 0, 100000],
    "alpha": [0, 0.1, 1, 100, -1, "Infinity"],
    "l1_ratio": [0, 0.5, 1, 2],
    "C": [0.01, 1, 100, 0],
    "max_iter": [1, 5, 50, 0],
    "n_clusters": [1, 2, 3, 8, 0, 100000],
    "subsample": [0.5, 1, 0, 2],
    "colsample_bytree": [0.5, 1, 0],
    "max_bins": [2, 16, 255, 256, 1],
    "early_stopping": [True, False, "yes"],
    "validation_fraction": [0.1, 0.5, 0, 1],
    "fit_intercept": [True, False, 1],
    "max_features": ["sqrt", 1.0, 0.5, "log2", 0, "all"],
    "bootstrap": [True, False],
    "l2_regularization": [0, 1, -1],
    "max_leaf_nodes": [2, 31, 1],
    "var_smoothing": [1e-9, 0, -1],
    "n_init": [1, 3, 0],
    "tol": [1e-4, 0, -1],
    "nosuch": [1],
}


def hyperparams(rng):
    keys = rng.sample(sorted(HYPER), rng.choice([0, 0, 1, 2, 3]))
    return {k: rng.choice(HYPER[k]) for k in keys if k != "nosuch" or fz.hostile}


def sane_options(rng):
    """Valid options only: the case reaches the fit and the scoring."""
    o = {}
    if rng.random() < 0.5:
        o["test_size"] = rng.choice([0.2, 0.3, 0.5])
    if rng.random() < 0.3:
        o["folds"] = rng.choice([2, 3])
    if rng.random() < 0.5:
        o["seed"] = rng.choice([0, 1, 42])
    if rng.random() < 0.15 and "folds" not in o:
        o["permutation_importance"] = True
        if rng.random() < 0.5:
            o["permutation_repeats"] = rng.choice([1, 2])
    if rng.random() < 0.25:
        # LATEST may be a recipe ml_train refuses (KNN): 0A000 is expected
        o["recipe"] = rng.choice(["none", "LATEST"])
    return o


def evaluate_options(rng):
    o = {}
    if rng.random() < 0.4:
        o["permutation_importance"] = rng.choice([True, False] + (["yes", 1] if fz.hostile else []))
    if rng.random() < 0.3:
        o["permutation_repeats"] = rng.choice([1, 2, 5] + ([0, 101, "NaN"] if fz.hostile else []))
    if rng.random() < 0.2:
        o["seed"] = rng.choice([0, 7] + ([-1, 2 ** 40] if fz.hostile else []))
    if fz.hostile and rng.random() < 0.1:
        o["bogus"] = 1
    return o


def options(rng, t):
    o = {}
    names = t.names()
    if rng.random() < 0.3:
        o["test_size"] = rng.choice([0.2, 0.5, 0.01, 0.9, 0, 1, "NaN"])
    if rng.random() < 0.2:
        o["folds"] = rng.choice([2, 3, 5, 1, 0, 21, 2.5])
    if rng.random() < 0.3:
        o["seed"] = rng.choice([0, 1, 42, -1, 2 ** 40])
    if rng.random() < 0.15 and names:
        o["time_column"] = rng.choice(names + ["nosuch"])
    if rng.random() < 0.1 and names:
        o["holdout_column"] = rng.choice(names + ["nosuch"])
    if rng.random() < 0.2 and names:
        o["features"] = fz.some(rng, names, 1, 3)
    if rng.random() < 0.2 and names:
        o["exclude"] = fz.some(rng, names, 1, 2)
    if rng.random() < 0.1:
        o["budget_s"] = rng.choice([0.1, 1, 0, -5])
    if rng.random() < 0.15:
        o["permutation_importance"] = rng.choice([True, False, "yes"])
    if rng.random() < 0.1:
        o["permutation_repeats"] = rng.choice([1, 3, 0, 101, 2.5])
    if rng.random() < 0.1:
        o["max_trials"] = rng.choice([1, 3, 0, 1001, "x", 2.5])
    if rng.random() < 0.15:
        # LATEST: the newest recipe id, bound when the statement is built
        o["recipe"] = rng.choice(["none", "LATEST", "LATEST", 1, 999999, 0, -1, 1.5, "x", None, [1]])
    if fz.hostile and rng.random() < 0.2:
        o["bogus"] = 1
    return o


def recipe_stmts(rng, t):
    """A recipe on the project's relation first (ml_train applies the latest
    by default): replayable fills (the models' too) or ones it must refuse
    (KNN, ml_clean's)."""
    stmts = []
    names = t.names()
    if rng.random() < 0.3 and names:
        # groupwise, regression and chain fills are replayed per row (features_replay.c)
        method = rng.choice(["mean", "median", "mode", "constant", "knn", "auto",
                             "groupwise", "regression", "chain"])
        opts = ({"value": 0} if method == "constant" else
                {"by": [rng.choice(names)]} if method == "groupwise" else {})
        stmts.append("SELECT count(*) FROM ml_impute('fz_a', %s, %s, %s, into_table => 'fz_imp')"
                     % (fz.arr(fz.some(rng, names, 1, 3)), fz.lit(method), fz.jlit(opts)))
    if rng.random() < 0.1:
        stmts.append("SELECT count(*) FROM ml_clean('fz_a', %s, 'fz_cln')"
                     % fz.jlit(rng.choice([{}, {"encode": False, "duplicates": False, "polish": False}])))
    return stmts


def options_arg(o):
    """options => ..., with a LATEST recipe bound to the newest recipe id."""
    if o.get("recipe") != "LATEST":
        return "options => " + fz.jlit(o)
    rest = dict(o)
    del rest["recipe"]
    return ("options => %s::jsonb || jsonb_build_object('recipe', (SELECT max(id) FROM mlops.recipes))"
            % fz.jlit(rest))


DRIFT_POLICY = {
    "psi": [0.1, 0.2, 100, 0, -1, 1e9, "x", None, 0.0001],
    "missing_rate": [0.05, 1, 0, 2, "NaN", None],
    "min_rows": [0, 1, 100, 2.5, -1, 1e12, None],
    "retrain_job": ["nosuch", "", 5, None, ["a"]],
    "bogus": [1],
}
PROFILE_PATHS = ["{format}", "{rows}", "{features}", "{features,0}", "{features,0,kind}", "{features,0,edges}",
                 "{features,0,shares}", "{features,0,levels}", "{features,0,missing_rate}", "{features,0,name}",
                 "{prediction}", "{prediction,kind}", "{prediction,shares}", "{prediction,edges}"]
PROFILE_VALUES = ['"x"', "[]", "null", "-1", "[1e308, 1e308]", "{}", "[3, 1]", "[0.5, 0.5]", '["a", "a"]',
                  "2", '"category"', '"class"', '"numeric"', "[" + ", ".join(["0.001"] * 2000) + "]"]


def drift_stmts(rng):
    """Drift calls after scoring: the view, a check, a policy, a damaged profile."""
    s = []
    if rng.random() < 0.15:
        # a damaged profile: reading it back must be XX001, never a crash
        s.append("UPDATE mlops.models SET profile = jsonb_set(profile, %s, %s) "
                 "WHERE version = (SELECT max(version) FROM mlops.models) AND profile IS NOT NULL"
                 % (fz.lit(rng.choice(PROFILE_PATHS)), fz.lit(rng.choice(PROFILE_VALUES))))
    for _ in range(rng.randint(1, 3)):
        r = rng.random()
        if r < 0.3:
            s.append("SELECT * FROM ml_drift")
        elif r < 0.6:
            s.append("SELECT * FROM ml_check_drift(%s)" % fz.lit(rng.choice(["fz", "fz", "nosuch", ""])))
        elif r < 0.85:
            o = {k: rng.choice(DRIFT_POLICY[k]) for k in fz.some(rng, list(DRIFT_POLICY), 0, 4, bogus=0)}
            s.append("SELECT ml_set_drift_policy(%s, %s)" % (fz.lit(rng.choice(["fz", "fz", "nosuch"])),
                                                             fz.jlit(o) if rng.random() > 0.05 else "NULL"))
        else:
            s.append("SELECT * FROM ml_drift_alerts")
    return s


def score_stmts(rng, t, other):
    """Hand-over and scoring calls after a successful ml_train."""
    fn = rng.choice(["ml_predict", "ml_predict_label", "ml_predict_proba"])
    s = ["SELECT ml_mark_ready('fz', (SELECT max(version) FROM mlops.models))",
         "SELECT ml_deploy('fz', (SELECT max(version) FROM mlops.models))"]
    if rng.random() < 0.1:
        # a damaged payload: loading it must be XX001, never a crash
        s.append("UPDATE mlops.models SET payload = overlay(payload PLACING '\\x%02x%02x'::bytea FROM %d) "
                 "WHERE version = (SELECT max(version) FROM mlops.models)"
                 % (rng.randrange(256), rng.randrange(256), rng.randrange(1, 400)))
    if rng.random() < 0.3:
        # export: any version (or none), whatever the algorithm and features
        v = rng.choice(["(SELECT max(version) FROM mlops.models)"] * 4 + ["0", "-1", "2147483647", "NULL"])
        s.append("SELECT length(ml_export_pmml('fz', %s)::text)" % v)
    r = rng.random()
    if r < 0.25:
        # any stored version, deployed or not, on any relation
        version = "(SELECT max(version) FROM mlops.models)"
        if fz.hostile and rng.random() < 0.3:
            version = rng.choice(["0", "-1", "99", "NULL"])
        opts = evaluate_options(rng)
        s.append("SELECT ml_evaluate('fz', %s, %s%s)"
                 % (version, fz.lit(other), ", " + fz.jlit(opts) if opts else ""))
    elif r < 0.5:
        if rng.random() < 0.3:
            # ml_predict sampled for drift, counted in memory, written at commit
            s.append("SET LOCAL pg_mlops.drift_sample_rows = %d" % rng.choice([1, 2, 3]))
        s.append("SELECT %s('fz', r) FROM %s r" % (fn, fz.ident(other)))
    elif r < 0.75:
        row = {c: fz.rand_value(rng) for c in fz.some(rng, t.names() + ["extra"], 0, 6, bogus=0)}
        s.append("SELECT %s('fz', %s)" % (fn, fz.jlit(row)))
    else:
        if rng.random() < 0.5:
            # several blocks, or one row per block
            s.append("SET LOCAL pg_mlops.score_block_rows = %d" % rng.choice([1, 2, 7, 100]))
        s.append("SELECT ml_score('fz', %s, 'fz_scored')" % fz.lit(other))
    if rng.random() < 0.5:
        s += drift_stmts(rng)
    return s


DATES = {"date", "timestamptz", "timestamp", "timestamp_inf", "date_far", "null_date"}
KEYS = {"cat", "cat_two", "bool", "int_code", "cat_utf8", "cat_varchar", "text_bool", "null_float", "text_free"}
FC_OPTS = {
    "n_changepoints": [0, 1, 5, 25, 100, -1, 101, 2.5],
    "changepoint_range": [0.5, 0.8, 1, 0, 2],
    "changepoint_prior_scale": [0.001, 0.05, 10, 0, "NaN"],
    "seasonality_prior_scale": [0.01, 10, 1e6, -1],
    "weekly": [True, False, "auto", "yes"],
    "yearly": [True, False, "auto", 1],
    "weekly_order": [1, 3, 10, 0, 11],
    "yearly_order": [1, 10, 30, 0, 31],
    "holidays": [["2024-01-01", "2024-02-01"], {"a": ["2024-01-05"], "b": ["2024-03-01", "2023-01-01"]},
                 [], ["nope"], {"a": 1}, ["infinity"]],
    "interval_width": [0.5, 0.8, 0.99, 0, 1],
    "min_points": [3, 10, 1000, 2, 0],
    "workers": [1, 2, 3, 8, 0, 9],
    "seasonality_mode": ["additive", "multiplicative"],
    "regressors": [["x"]],
    "nosuch": [1],
}


# share of cases that forecast (FUZZ_FORECAST overrides, e.g. 1 for forecasting only)
FORECAST_SHARE = float(os.environ.get("FUZZ_FORECAST", "0.2"))


def gen_forecast(rng, index):
    """A forecast project: ml_forecast_train, then ml_forecast on the version."""
    stmts = []
    nrows = rng.choice([1, 5, 30, 100, 300, 1000])
    t = fz.Table(rng, "fz_a", nrows)
    cols = list(t.cols)
    if not t.of(lambda k: k in DATES) or rng.random() < 0.5:
        cols.append(("fz_day", rng.choice(sorted(DATES))))
    if not t.of(lambda k: k in NUMERIC) or rng.random() < 0.5:
        cols.append(("fz_value", rng.choice(sorted(NUMERIC))))
    if rng.random() < 0.6:
        cols.append(("fz_key", rng.choice(sorted(KEYS))))
    t = fz.Table(rng, "fz_a", nrows, cols=cols)
    stmts += t.sql
    names = t.names()
    values = t.of(lambda k: k in NUMERIC)
    dates = t.of(lambda k: k in DATES)
    target = rng.choice(values) if values and rng.random() < 0.9 else rng.choice(names)
    stmts.append("SELECT ml_create_project('fz', 'fz_a', %s, 'forecast')" % fz.lit(target))
    tcol = rng.choice(dates) if dates and rng.random() < 0.9 else rng.choice(names + ["nosuch"])
    args = [fz.lit(tcol)]
    keys = [c for c in names if c not in (target, tcol)]
    if keys and rng.random() < 0.6:
        by = rng.sample(keys, min(len(keys), rng.choice([1, 1, 2])))
        if fz.hostile and rng.random() < 0.3:
            by.append(rng.choice(["nosuch", target, tcol]))
        args.append("ARRAY[%s]::text[]" % ", ".join(fz.lit(c) for c in by))
    elif rng.random() < 0.3:
        args.append("NULL")
    if rng.random() < 0.6:
        keys_o = rng.sample(sorted(FC_OPTS), rng.choice([1, 2, 3]))
        o = {k: (rng.choice(FC_OPTS[k]) if fz.hostile else FC_OPTS[k][0 if k != "workers" else 1])
             for k in keys_o if k not in ("nosuch", "regressors") or fz.hostile}
        if len(args) == 1:
            args.append("NULL")
        args.append(fz.jlit(o))
    stmts.append("SELECT * FROM ml_forecast_train('fz', %s)" % ", ".join(args))
    if rng.random() < 0.1:
        stmts.append("UPDATE mlops.models SET payload = overlay(payload PLACING '\\x%02x%02x'::bytea FROM %d) "
                     "WHERE version = (SELECT max(version) FROM mlops.models)"
                     % (rng.randrange(256), rng.randrange(256), rng.randrange(1, 400)))
    horizon = rng.choice([1, 7, 28, 365] if not fz.hostile else [0, -1, 10001, 1, 28])
    if rng.random() < 0.5:
        stmts.append("SELECT * FROM ml_forecast('fz', %d, (SELECT max(version) FROM mlops.models))" % horizon)
    else:
        stmts += ["SELECT ml_mark_ready('fz', (SELECT max(version) FROM mlops.models))",
                  "SELECT ml_deploy('fz', (SELECT max(version) FROM mlops.models))",
                  "SELECT count(*), max(forecast) FROM ml_forecast('fz', %d)" % horizon]
    if rng.random() < 0.2:
        stmts.append("SELECT ml_predict('fz', '{}'::jsonb)")
    return "forecast", stmts


JOB_KINDS = ["train", "score", "clean", "report", "workflow", "sql", "", "TRAIN"]
SCHEDULES = ["@daily", "@hourly", "@weekly", "* * * * *", "*/5 1-3 * * 1-5", "0 0 29 2 *", "0 0 31 2 *",
             "60 * * * *", "* * * *", "1-60/0 * * * *", "30 seconds", "5 minutes", "0 seconds", "-1 day",
             "1 mon", "99999999 years", "@nope", "", " ", "1,2,,3 * * * *", "*/1000 * * * *", "7 7 7 7 7"]
JOB_OPTIONS = {
    "retries": [0, 1, 3, 100, 101, -1, 1.5, "2", None, True],
    "backoff": ["1 second", "0 seconds", "-1 second", "soon", 5, "1000000 years"],
    "timeout": ["1 minute", "0 seconds", "1 ms", "x", [1]],
    "statement_timeout": ["10 seconds", "-1 minute", {}],
    "name": ["fz job", "", "x" * 300, 7],
    "algorithm": ["auto", "linear", "nosuch", 3],
    "hyperparams": [{}, {"alpha": 1}, [1], "x"],
    "options": [{}, {"folds": 3}, 1],
    "relation": ["fz_a", "nosuch", "", "pg_catalog.pg_class", 1],
    "into_table": ["fz_out", "public.fz_out", "pg_temp.fz_out", "nosuch.x", "", "a.b.c.d"],
    "mode": ["append", "replace", "merge", None],
    "recipe": [1, -1, 9223372036854775807, "nosuch", 1.5],
    "kind": ["model", "cleaning", "drift", "jobs", "nope", "", 1],
    "publish": [True, False, "yes", None],
    "schedule": ["@daily", "bad"],
    "active": [True, False, "yes"],
    "bogus": [1],
}
JOB_IDS = ["(SELECT max(id) FROM mlops.jobs)", "(SELECT max(id) FROM mlops.job_runs)", "0", "-1", "NULL",
           "9223372036854775807"]


def job_options(rng):
    return {k: rng.choice(JOB_OPTIONS[k]) for k in fz.some(rng, list(JOB_OPTIONS), 0, 5, bogus=0)}


def gen_jobs(rng):
    """Random calls of the job API by an engineer (this database is not
    served by the launcher: nothing runs, every call is checked)."""
    t = fz.Table(rng, "fz_a", rng.choice([5, 30]))
    stmts = t.sql + [
        "SELECT ml_create_project('fz', 'fz_a', %s)" % fz.lit(rng.choice(t.names() or ["nosuch"])),
        "CREATE ROLE fz_eng IN ROLE ml_engineer",
        "GRANT SELECT ON fz_a TO fz_eng",
        "SET LOCAL ROLE fz_eng"]
    for _ in range(rng.randint(1, 6)):
        r = rng.random()
        jid = rng.choice(JOB_IDS)
        if r < 0.45:
            stmts.append("SELECT ml_schedule(%s, %s, %s, %s)" % (
                fz.lit(rng.choice(["fz", "fz", "nosuch"])), fz.lit(rng.choice(JOB_KINDS)),
                fz.lit(rng.choice(SCHEDULES)), fz.jlit(job_options(rng))))
        elif r < 0.6:
            stmts.append("SELECT ml_alter_job(%s, %s)" % (jid, fz.jlit(job_options(rng))))
        elif r < 0.75:
            stmts.append("SELECT ml_run_now(%s)" % jid)
        elif r < 0.85:
            stmts.append("SELECT ml_cancel(%s)" % jid)
        elif r < 0.9:
            stmts.append("SELECT * FROM mlops.job_run_live(%s)" % jid)
        else:
            stmts.append("SELECT ml_unschedule(%s)" % jid)
    return "jobs", stmts


def gen_drift(rng):
    """A deployed linear model scored on random rows, then drift calls: the
    profile, the scoring log, the window's check and policies are exercised
    on every column kind, not only after the cases that got that far."""
    t = fz.Table(rng, "fz_a", rng.choice([30, 100]))
    fits = t.of(lambda k: k in NUMERIC)
    if not fits:
        return "drift", t.sql
    stmts = t.sql + [
        "SELECT ml_create_project('fz', 'fz_a', %s)" % fz.lit(rng.choice(fits)),
        "SELECT version FROM ml_train('fz', %s)" % fz.lit(rng.choice(["linear", "gbdt", "kmeans"])),
        "SELECT ml_mark_ready('fz', 1)", "SELECT ml_deploy('fz', 1)"]
    other = "fz_a"
    if rng.random() < 0.5:
        cols = [(c, k if rng.random() < 0.7 else rng.choice(list(fz.KINDS))) for c, k in t.cols]
        b = fz.Table(rng, "fz_b", rng.choice([0, 1, 5, 200]), cols=cols)
        stmts += b.sql
        other = "fz_b"
    if rng.random() < 0.3:
        stmts.append("SELECT ml_set_drift_policy('fz', %s)" % fz.jlit(
            {k: rng.choice(DRIFT_POLICY[k]) for k in fz.some(rng, list(DRIFT_POLICY), 0, 3, bogus=0)}))
    for i in range(rng.randint(1, 3)):
        stmts.append("SELECT ml_score('fz', %s, 'fz_scored%d')" % (fz.lit(other), i))
    return "drift", stmts + drift_stmts(rng)


WF_NAMES = ["wf", "wf", "", "x" * 250, "w'); DROP TABLE fz_a; --", 'Δ "quoted" name', " ", "wf\\n2"]
WF_KINDS = ["import", "clean", "train", "evaluate", "gate", "deploy", "score", "report", "predict", "", 7, None]
WF_KEYS = {
    "algorithm": ["auto", "linear", "ridge", "gbdt", "nosuch", 3, ["linear"]],
    "hyperparams": [{}, {"alpha": 1}, [1], "x"],
    "options": [{}, {"folds": 3}, 1, [], {"delimiter": ";"}],
    "relation": ["fz_a", "public.fz_a", "fz_w", "nosuch", "", "pg_catalog.pg_class", "a.b.c.d", '"fz_a', 1,
                 '"Odd ""schema"""."t; --"', "fz_staged"],
    "into_table": ["fz_out", "public.fz_out", "pg_temp.fz_out", "nosuch.x", "", "fz_staged",
                   '"Out ""put"""', 5],
    "mode": ["append", "replace", "merge", 1],
    "recipe": [1, -1, 9223372036854775807, "nosuch", 1.5, [1]],
    "path": ["/tmp/nosuch.csv", "", "../../etc/passwd", 3],
    "metric": ["rmse", "mae", "r2", "accuracy", "roc_auc", "log_loss", "speed", "", 1],
    "margin": [0, 0.01, 5, -1, "2%", "0%", "100%", "150%", "-5%", "%", "abc", True, 1e300, "NaN"],
    "direction": ["lower is better", "higher is better", "up"],
    "report": ["model", "cleaning", "nosuch", 3],
    "publish": [True, False, "yes"],
    "bogus": [1],
}


def wf_step(rng):
    step = {}
    kind = rng.choice(WF_KINDS)
    if kind is not None:
        step["kind"] = kind
    for k in fz.some(rng, list(WF_KEYS), 0, 3, bogus=0):
        if k != "bogus" or fz.hostile:
            step[k] = rng.choice(WF_KEYS[k])
    return step


def wf_steps(rng):
    r = rng.random()
    if r < 0.05:
        return rng.choice([{}, [], "train", 1, None, [[]], [1]])
    if r < 0.7:
        # plausible: a train, a gate, maybe a deploy and a score
        steps = [{"kind": "train", "algorithm": rng.choice(["linear", "auto"])}]
        if rng.random() < 0.5:
            steps.append({"kind": "evaluate", "relation": "fz_a"})
        steps.append({"kind": "gate", "margin": rng.choice(WF_KEYS["margin"])})
        if rng.random() < 0.7:
            steps.append({"kind": "deploy"})
        if rng.random() < 0.7:
            steps.append({"kind": "score", "relation": "fz_a", "into_table": "fz_scores",
                          "mode": rng.choice(["append", "replace"])})
        return steps
    return [wf_step(rng) for _ in range(rng.choice([1, 2, 3, 5, 8, 51]))]


def gen_workflows(rng):
    """Random workflow definitions (steps, names), their deploy permission,
    workflow jobs and their runs on demand, by an engineer; nothing runs."""
    t = fz.Table(rng, "fz_a", rng.choice([5, 30]))
    task = rng.choice(["regression", "classification"])
    # a project that always exists: the calls after it are what is tested
    stmts = t.sql + [
        "CREATE TABLE fz_w AS SELECT g AS id, g::float8 AS x, (g % 3)::float8 AS y FROM generate_series(1, 30) g",
        "SELECT ml_create_project('fz', 'fz_w', 'y', %s)" % fz.lit(task),
        "CREATE ROLE fz_eng IN ROLE ml_engineer",
        "GRANT SELECT ON fz_a, fz_w TO fz_eng",
        "SET LOCAL ROLE fz_eng"]
    for _ in range(rng.randint(1, 6)):
        r = rng.random()
        name = rng.choice(WF_NAMES)
        if r < 0.5:
            steps = wf_steps(rng)
            stmts.append("SELECT ml_create_workflow(%s, %s, %s)" % (
                fz.lit(rng.choice(["fz", "fz", "nosuch"])), fz.lit(name),
                "NULL" if steps is None else fz.jlit(steps)))
        elif r < 0.6:
            stmts.append("SELECT ml_allow_auto_deploy('fz', %s, %s)" % (
                fz.lit(name), rng.choice(["true", "false", "NULL"])))
        elif r < 0.7:
            stmts.append("SELECT ml_drop_workflow('fz', %s)" % fz.lit(name))
        elif r < 0.85:
            o = {"workflow": rng.choice(WF_NAMES + [1, None])}
            if rng.random() < 0.3:
                o.update(job_options(rng))
            stmts.append("SELECT ml_schedule('fz', 'workflow', %s, %s)" % (
                fz.lit(rng.choice(SCHEDULES)), fz.jlit(o)))
        elif r < 0.95:
            stmts.append("SELECT ml_run_now(%s, %s)" % (rng.choice(JOB_IDS), rng.choice(["true", "false", "NULL"])))
        else:
            stmts.append("SELECT ml_alter_job(%s, %s)" % (
                rng.choice(JOB_IDS), fz.jlit({"workflow": rng.choice(WF_NAMES)})))
    stmts.append("SELECT * FROM ml_workflows")
    return "workflows", stmts
KEY_ROLES = ["fz_app", "fz_app", '"fz app ""quoted"""', "fz_eng", "fz_ana", "ml_consumer", "ml_admin",
             "postgres", "nosuch_role", "NULL", "0"]
KEY_LABELS = ["NULL", "'web'", "''", "repeat('x', 201)", "E'\\x01'", "'Gr\u00fc\u00dfe \"q\"'"]
KEY_EXPIRES = ["NULL", "'1 day'", "'1 millisecond'", "'0'", "'-1 hour'", "'infinity'", "'-infinity'",
               "'178000000 years'"]
KEY_REFS = ["(SELECT max(id) FROM mlops.api_keys)", "0", "-1", "NULL", "9223372036854775807",
            "(SELECT prefix FROM mlops.api_keys ORDER BY id DESC LIMIT 1)", "''", "'mlk_'", "'0123456789ab'",
            "'mlk_0123456789ab_x'", "'ZZZZZZZZZZZZ'", "'0123456789abc'", "NULL::text"]


def gen_keys(rng):
    """Random API key calls by an engineer (and, sometimes, by others)."""
    stmts = ["CREATE ROLE fz_eng IN ROLE ml_engineer", "CREATE ROLE fz_app IN ROLE ml_consumer",
             "CREATE ROLE \"fz app \"\"quoted\"\"\" IN ROLE ml_consumer",
             "CREATE ROLE fz_ana IN ROLE ml_analyst, ml_consumer",
             "SET LOCAL ROLE %s" % (rng.choice(["fz_eng"] * 5 + ["fz_ana", "fz_app"]) if fz.hostile else "fz_eng")]
    # a plausible case (valid arguments only) gets through, a hostile one mostly not
    roles, labels, expires, refs = ((KEY_ROLES, KEY_LABELS, KEY_EXPIRES, KEY_REFS) if fz.hostile else
                                    (KEY_ROLES[:4], KEY_LABELS[:3] + KEY_LABELS[5:], KEY_EXPIRES[:3],
                                     [KEY_REFS[0], KEY_REFS[5]]))
    for i in range(rng.randint(1, 6)):
        if i == 0 or rng.random() < 0.6:
            role = rng.choice(roles)
            role = role if role in ("NULL", "0") else fz.lit(role)
            stmts.append("SELECT length(ml_create_api_key(%s::regrole, %s, %s::interval))" % (
                role, rng.choice(labels), rng.choice(expires)))
        else:
            stmts.append("SELECT ml_revoke_api_key(%s)" % rng.choice(refs))
        if rng.random() < 0.2:
            stmts.append("SELECT count(*) FROM ml_api_keys")
    return "keys", stmts


EXPOSE_OPTS = {
    "rows_per_day": [1, 3, 10, 1000, 10 ** 15, 0, -1, 2.5, "10", None, 1e16, 2 ** 62, [1], "NaN"],
    "calls_per_second": [1, 2, 1000, 10 ** 6, None, 0, 10 ** 6 + 1, True, -3],
    "nosuch": [1],
}
# consumers as SQL: roles in ml_consumer (directly, through another role, with
# quotes), not in it, group roles, the "-" role (OID 0), NULL, none such
CONSUMERS = ["'fz_cons'"] * 4 + ["'fz_app'", "'\"fz \"\"q\"\" cons\"'", "'fz_nobody'", "'ml_consumer'",
                                 "'ml_engineer'", "'-'", "NULL", "'nosuch'", "'PUBLIC'"]
PROJECTS = ["'fz'"] * 6 + ["'nosuch'", "''", "NULL", fz.lit("fz'); DROP TABLE fz_a; --"), fz.lit("x" * 300)]
SCORERS = ["fz_cons", "fz_cons", "fz_app", '"fz ""q"" cons"', "fz_nobody"]


# share of cases that drive API management (FUZZ_EXPOSE overrides)
EXPOSE_SHARE = float(os.environ.get("FUZZ_EXPOSE", "0.12"))


def expose_options(rng):
    keys = fz.some(rng, list(EXPOSE_OPTS), 0, 2, bogus=0)
    o = {k: rng.choice(EXPOSE_OPTS[k]) for k in keys if k != "nosuch" or fz.hostile}
    return fz.jlit(o) if rng.random() < 0.9 else rng.choice(["NULL", "'[1]'", "'\"x\"'", "'{}'"])


def gen_expose(rng):
    """A deployed model exposed to consumer roles with random limits, then
    random exposure changes, scoring as consumers (quotas, revocations; rows
    of a random table too), and the views, as each role. Most calls are
    plausible, so a case gets deep; about a third are hostile."""
    b = fz.Table(rng, "fz_b", rng.choice([0, 1, 5, 50]))
    stmts = b.sql + [
        "CREATE TABLE fz_a AS SELECT g::float8 AS x, (g %% 7)::float8 AS z, 2.0 * g + g %% 5 AS y "
        "FROM generate_series(1, %d) g" % rng.choice([20, 200]),
        "SELECT ml_create_project('fz', 'fz_a', 'y')",
        "SELECT * FROM ml_train('fz', 'linear')",
        "SELECT ml_mark_ready('fz', 1)",
        "SELECT ml_deploy('fz', 1)",
        "CREATE ROLE fz_cons IN ROLE ml_consumer",
        "CREATE ROLE fz_app IN ROLE fz_cons",
        'CREATE ROLE "fz ""q"" cons" IN ROLE ml_consumer',
        "CREATE ROLE fz_nobody",
        "CREATE ROLE fz_eng IN ROLE ml_engineer",
        "GRANT SELECT ON fz_a, fz_b TO ml_consumer, fz_nobody",
        "GRANT CREATE ON SCHEMA public TO ml_consumer",
        "SELECT ml_expose('fz', 'fz_cons', %s)" % fz.jlit(
            {k: rng.choice(EXPOSE_OPTS[k][:5]) for k in fz.some(rng, ["rows_per_day", "calls_per_second"], 0, 2, bogus=0)})]
    for _ in range(rng.randint(1, 8)):
        r = rng.random()
        hostile = rng.random() < 0.3
        who = rng.choice(["fz_eng", "fz_cons", "fz_nobody"]) if hostile else "fz_eng"
        project = rng.choice(PROJECTS) if hostile else "'fz'"
        consumer = rng.choice(CONSUMERS) if hostile else rng.choice(["'fz_cons'", "'\"fz \"\"q\"\" cons\"'"])
        if r < 0.3:
            opts = expose_options(rng) if hostile else fz.jlit(
                {k: rng.choice(EXPOSE_OPTS[k][:5]) for k in fz.some(rng, ["rows_per_day", "calls_per_second"], 0, 2, bogus=0)})
            stmts += ["SET LOCAL ROLE %s" % who, "SELECT ml_expose(%s, %s, %s)" % (project, consumer, opts), "RESET ROLE"]
        elif r < 0.38:
            stmts += ["SET LOCAL ROLE %s" % who, "SELECT ml_revoke_exposure(%s, %s)" % (project, consumer), "RESET ROLE"]
        else:
            fn = rng.choice(["ml_predict", "ml_predict_label", "ml_predict_proba"] if hostile else ["ml_predict"])
            if hostile and rng.random() < 0.3:
                fn = "mlops.score_value"
            q = rng.random()
            if q < 0.4:
                call = "SELECT %s(%s, %sr) FROM %s r LIMIT %d" % (
                    fn, project, "1, " if fn.startswith("mlops.") else "", rng.choice(["fz_a", "fz_b"] if hostile else ["fz_a"]),
                    rng.choice([1, 2, 5, 30, 1000]))
            elif q < 0.55:
                row = {c: rng.choice([fz.rand_value(rng), 1, 2.5]) for c in
                       fz.some(rng, ["x", "z", "extra"], 0, 3, bogus=0)} if hostile else {"x": 1, "z": 2}
                call = "SELECT ml_predict(%s, %s)" % (project, fz.jlit(row))
            elif q < 0.7:
                call = "SELECT ml_score(%s, %s, %s)" % (project, rng.choice(["'fz_a'", "'fz_b'"]),
                                                        fz.lit("fz_out%d" % rng.randrange(1000)))
            elif q < 0.9:
                call = rng.choice(["SELECT * FROM ml_api_usage", "SELECT * FROM ml_exposures",
                                   "SELECT * FROM mlops.api_usage_live()"])
            elif q < 0.95:
                call = "SELECT mlops.project_exposed(%s)" % rng.choice(
                    ["(SELECT max(id) FROM mlops.projects)", "0", "-1", "NULL", "9223372036854775807"])
            else:
                call = "SELECT mlops.exposure_visible(%s, %s)" % (
                    rng.choice(["(SELECT max(id) FROM mlops.projects)", "0", "-1", "NULL"]),
                    rng.choice(["'fz_cons'::regrole", "0", "NULL", "4294967295", "'ml_admin'::regrole"]))
            scorer = rng.choice(SCORERS) if hostile else rng.choice(["fz_cons", "fz_app"])
            stmts += ["SET LOCAL ROLE %s" % scorer, call, "RESET ROLE"]
    return "expose", stmts
REPORT_KINDS = ["model", "model", "cleaning", "drift", "jobs", "nope", "", "MODEL", None]
REPORT_OPTIONS = {
    "version": [1, 2, 0, -1, 1.5, "1", 2147483648, None],
    "sample_rows": [10, 50, 1000, 9, 100001, "x", 1e300],
    "seed": [0, 7, -1, 2.5],
    "permutation_importance": [True, False, "yes"],
    "calibration_bins": [2, 10, 50, 1, 51],
    "title": ["t", "", "x" * 300, "<script>alert(1)</script> & \"q\"", 3],
    "inline_svg": [True, False, 1],
    "recipe": [1, 0, -1, 9223372036854775807, "x"],
    "columns": [1, 24, 0, 201],
    "days": [1, 30, 0, 3661],
    "runs": [1, 5000, 0],
    "psi_threshold": [0, 0.2, -1, 101, "x"],
    "features": [1, 0],
    "bogus": [1],
}
REPORT_IDS = ["(SELECT max(id) FROM mlops.reports)", "(SELECT min(id) FROM mlops.reports)", "0", "-1",
              "NULL", "9223372036854775807"]


def report_stmts(rng):
    """ml_report with random kinds and options, ml_publish_report with random ids."""
    stmts = []
    for _ in range(rng.randint(1, 4)):
        if rng.random() < 0.75:
            o = {k: rng.choice(REPORT_OPTIONS[k]) for k in fz.some(rng, list(REPORT_OPTIONS), 0, 3, bogus=0)}
            kind = rng.choice(REPORT_KINDS)
            project = rng.choice(["fz", "fz", "fz", "nosuch", 'fz "q" <x>'])
            stmts.append("SELECT ml_report(%s, %s, %s)" % (
                fz.lit(project), "NULL" if kind is None else fz.lit(kind),
                fz.jlit(o) if rng.random() > 0.05 else rng.choice(["NULL", "'[1]'", "'\"x\"'"])))
        else:
            stmts.append("SELECT ml_publish_report(%s%s)" % (
                rng.choice(REPORT_IDS), rng.choice(["", ", true", ", false", ", NULL"])))
    if rng.random() < 0.3:
        stmts.append("SELECT count(*), sum(length(html)) FROM ml_published_reports")
    return stmts


def gen_reports(rng):
    """A trained (and sometimes cleaned) project, then random report calls."""
    t = fz.Table(rng, "fz_a", rng.choice([30, 100]))
    stmts = list(t.sql)
    task = rng.choice(["regression", "classification"])
    fits = t.of(lambda k: k in NUMERIC) if task == "regression" else t.of(lambda k: k in LABELS)
    target = rng.choice(fits) if fits else "nosuch"
    project = rng.choice(["fz", 'fz "q" <x>'])
    stmts.append("SELECT ml_create_project(%s, 'fz_a', %s, %s)" % (fz.lit(project), fz.lit(target), fz.lit(task)))
    if rng.random() < 0.4:
        stmts.append("SELECT count(*) FROM ml_clean('fz_a', into_table => 'fz_clean')")
    if rng.random() < 0.85:
        stmts.append("SELECT * FROM ml_train(%s, %s)" % (
            fz.lit(project), fz.lit("linear" if task == "regression" else rng.choice(["logistic", "naive_bayes"]))))
    stmts.append("CREATE ROLE fz_eng IN ROLE ml_engineer")
    stmts.append("GRANT SELECT ON fz_a TO fz_eng")
    if rng.random() < 0.3:
        # row-level security on the source: profiles and reports hide from filtered readers
        stmts += ["ALTER TABLE fz_a ENABLE ROW LEVEL SECURITY",
                  "CREATE POLICY fz_half ON fz_a USING (%s)" % rng.choice(
                      ["true", "current_user = 'fz_eng'", "random() < 0.5"])]
    if rng.random() < 0.5:
        stmts.append("SET LOCAL ROLE fz_eng")
    stmts += [st.replace("ml_report('fz'", "ml_report(%s" % fz.lit(project)) for st in report_stmts(rng)]
    if rng.random() < 0.4:
        stmts += ["SELECT mlops.rows_unrestricted(%s)" % rng.choice(
                      ["'fz_a'::regclass", "0", "NULL", "4294967295", "'pg_class'::regclass",
                       "'ml_projects'::regclass", "'ml_data_quality'::regclass"]),
                  "SELECT count(*) FROM ml_data_quality", "SELECT count(*) FROM ml_reports"]
    if rng.random() < 0.4:
        # the rule of a version's deployments, trials, drift alerts and reports
        stmts += ["SELECT mlops.model_visible(%s)" % rng.choice(
                      ["NULL", "0", "-1", "9223372036854775807", "(SELECT max(id) FROM mlops.models)"]),
                  "SELECT count(*) FROM mlops.deployments", "SELECT count(*) FROM mlops.trials",
                  "SELECT count(*) FROM mlops.drift_alerts"]
    return "reports", stmts


GROUP_OPTS = {"min_rows": [2, 5, 20, 0, 1e9, "x"], "fallback": ["global", "error", "nearest", 1],
              "workers": [0, 1, 2, -1, 9, "two"], "test_size": [0.2, 0.5, 0, 2],
              "seed": [1, 42, -1], "exclude": [[], ["nosuch"]], "features": [[], ["nosuch"]],
              "max_trials": [3, 1, 0, "x"], "nosuch": [1]}


def gen_groups(rng):
    """Many-models: ml_train_groups over random key columns (hostile names
    among them) and options, then the grouped version scored and exported."""
    nrows = rng.choice([1, 5, 30, 100, 300])
    t = fz.Table(rng, "fz_a", nrows)
    if not t.of(lambda k: k in KEYS) and rng.random() < 0.8:
        t = fz.Table(rng, "fz_a", nrows, cols=list(t.cols) + [("fz_key", rng.choice(sorted(KEYS)))])
    stmts = list(t.sql)
    names = t.names()
    task = rng.choice(["regression", "classification"])
    fits = t.of(lambda k: k in NUMERIC) if task == "regression" else t.of(lambda k: k in LABELS)
    target = rng.choice(fits) if fits and rng.random() < 0.9 else rng.choice(names + ["nosuch"])
    stmts.append("SELECT ml_create_project('fz', 'fz_a', %s, %s)" % (fz.lit(target), fz.lit(task)))
    keys = [c for c in t.of(lambda k: k in KEYS) if c != target]
    if not keys or rng.random() < 0.2:
        keys = [c for c in names if c != target]
    by = rng.sample(keys, min(len(keys), rng.choice([1, 1, 2, 3]))) if keys else []
    if fz.hostile or not by:
        by.append(rng.choice(["nosuch", target, 'a"b', "", "x y"]))
    group_by = "ARRAY[%s]::text[]" % ", ".join(fz.lit(c) for c in by) if rng.random() > 0.03 else "NULL"
    alg = rng.choice(["auto", "gbdt", "linear", "ridge", "random_forest", "logistic", "naive_bayes"]
                     + (["kmeans", "nosuch"] if fz.hostile else []))
    o = {}
    for k in rng.sample(sorted(GROUP_OPTS), rng.choice([0, 1, 2, 3])):
        if k != "nosuch" or fz.hostile:
            o[k] = rng.choice(GROUP_OPTS[k]) if fz.hostile else GROUP_OPTS[k][0]
    # auto searches per group: a short budget keeps the case short (shared by the groups)
    if alg == "auto" or (fz.hostile and rng.random() < 0.1):
        o["budget_s"] = rng.choice([0.3, 1] + ([0, -1, "x"] if fz.hostile else []))
    hp = hyperparams(rng) if fz.hostile and rng.random() < 0.3 else {}
    stmts.append("SELECT * FROM ml_train_groups('fz', %s, %s, %s, %s)"
                 % (group_by, fz.lit(alg), fz.jlit(hp), fz.jlit(o)))
    if rng.random() < 0.1:
        stmts.append("UPDATE mlops.models SET payload = overlay(payload PLACING '\\x%02x%02x'::bytea FROM %d) "
                     "WHERE version = (SELECT max(version) FROM mlops.models)"
                     % (rng.randrange(256), rng.randrange(256), rng.randrange(1, 400)))
    stmts += ["SELECT ml_mark_ready('fz', (SELECT max(version) FROM mlops.models))",
              "SELECT ml_deploy('fz', (SELECT max(version) FROM mlops.models))",
              "SELECT count(*), sum(ml_predict('fz', t)) FROM fz_a t",
              "SELECT ml_score('fz', 'fz_a', 'fz_scored')",
              "SELECT ml_evaluate('fz', (SELECT max(version) FROM mlops.models), 'fz_a')",
              "SELECT * FROM ml_leaderboard",
              "SELECT ml_predict('fz', '{}'::jsonb)",
              "SELECT ml_export_pmml('fz', (SELECT max(version) FROM mlops.models))"]
    return "groups", stmts


# FUZZ_ONLY=projects|tamper|...: only that generator (long runs of one area)
ONLY = os.environ.get("FUZZ_ONLY")


def gen_train(rng, index):
    fz.hostile = rng.random() < fz.HOSTILE
    if ONLY:
        gens = {"forecast": lambda r: gen_forecast(r, index), "jobs": gen_jobs, "workflows": gen_workflows,
                "drift": gen_drift, "expose": gen_expose, "keys": gen_keys, "reports": gen_reports,
                "groups": gen_groups, "projects": catalog.gen_projects, "tamper": catalog.gen_tamper}
        return gens[ONLY](rng)
    r = rng.random()
    if r < FORECAST_SHARE:
        return gen_forecast(rng, index)
    # the other generators' shares, after forecasting's; the rest (about a
    # third with the default shares) are plain training cases
    r -= FORECAST_SHARE
    for share, gen in ((0.08, gen_jobs), (0.06, gen_workflows), (0.06, gen_drift),
                       (EXPOSE_SHARE, gen_expose), (0.04, gen_keys), (0.06, gen_reports),
                       (0.06, gen_groups), (0.05, catalog.gen_projects), (0.06, catalog.gen_tamper)):
        if r < share:
            return gen(rng)
        r -= share
    stmts = []
    if rng.random() < 0.05:
        stmts.append("SET LOCAL maintenance_work_mem = '1MB'")
    # a sane case (valid options, enough rows) gets past ml_train's checks,
    # so that fits, payloads and scoring are exercised, not only the errors
    sane = rng.random() < 0.4
    nrows = rng.choice([30, 100, 300] if sane else [1, 2, 3, 5, 10, 30, 100, 300, 1000])
    t = fz.Table(rng, "fz_a", nrows)
    stmts += t.sql
    names = t.names()
    task = rng.choice(["regression", "classification"])
    fits = t.of(lambda k: k in NUMERIC) if task == "regression" else t.of(lambda k: k in LABELS)
    if fits and (sane or rng.random() < 0.85):
        target = rng.choice(fits)
    else:
        target = rng.choice(names) if names and rng.random() > 0.05 else "nosuch"
    stmts.append("SELECT ml_create_project('fz', 'fz_a', %s, %s)" % (fz.lit(target), fz.lit(task)))
    stmts += recipe_stmts(rng, t)
    if sane:
        algs = (["auto", "linear", "ridge", "lasso", "elastic_net", "gbdt", "random_forest", "kmeans"]
                if task == "regression" else ["auto", "logistic", "gbdt", "random_forest", "naive_bayes"])
    else:
        algs = ALGORITHMS if not fz.hostile else ALGORITHMS + ["nosuch", ""]
    alg = rng.choice(algs)
    args = [fz.lit(alg)]
    hp = {} if sane else hyperparams(rng)
    if hp or rng.random() < 0.2:
        args.append(fz.jlit(hp))
    o = sane_options(rng) if sane else options(rng, t)
    if sane and alg == "auto":
        # a small search: the trials, their records and the winner's refit
        o["max_trials"] = rng.choice([1, 3, 6, 9])
        o["budget_s"] = rng.choice([0.1, 2])
    if o:
        args.append(options_arg(o))
    stmts.append("SELECT * FROM ml_train('fz', %s)" % ", ".join(args))
    other = "fz_a"
    if rng.random() < 0.4:
        cols = []
        for c, k in t.cols:
            r = rng.random()
            if r < 0.1:
                continue
            cols.append((c, k if r < 0.6 else rng.choice(list(fz.KINDS))))
        b = fz.Table(rng, "fz_b", rng.choice([0, 1, 5, 50]), cols=cols)
        stmts += b.sql
        other = "fz_b"
    stmts += score_stmts(rng, t, other)
    if rng.random() < 0.35:
        if rng.random() < 0.3:
            stmts.append("SELECT ml_create_project('fz \"q\" <x>', 'fz_a', %s, %s)" % (fz.lit(target), fz.lit(task)))
        stmts += report_stmts(rng)
    # what the search recorded, as the catalog's readers see it
    stmts.append("SELECT * FROM ml_trials")
    stmts.append("SELECT * FROM ml_leaderboard")
    return "train", stmts


# A learner's own report that extreme data (1e300) overflowed its fit: an
# expected 22003 with our message, unlike an overflow in SQL we built.
LEARNER_OVERFLOW = re.compile(r'^ERROR:  (the variance of feature ".*" overflowed|kmeans centres overflowed|'
                              r'the linear fit overflowed|logistic regression diverged|a tree.s leaf value overflowed|'
                              r'cannot score a row whose features are this far from every class)', re.M)


def expected_error(stmts, code, msg):
    if code == "XX001" and any("overlay(payload" in s for s in stmts):
        return True      # a payload the case corrupted on purpose
    if code == "XX001" and any("SET profile = jsonb_set" in s for s in stmts):
        return True      # a profile the case corrupted on purpose
    if code == "XX001" and any(s.startswith("UPDATE mlops.") for s in stmts):
        return True      # a stored field the case damaged on purpose (fuzz_catalog.gen_tamper)
    return code == "22003" and LEARNER_OVERFLOW.search(msg or "") is not None


if __name__ == "__main__":
    fz.CALLS = int(os.environ.get("FUZZ_CALLS", "150"))
    sys.exit(fz.main(gen_train, "fuzz_train", expected_error))
