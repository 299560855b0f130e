#!/usr/bin/python3
"""Randomized robustness test of the cleaning functions (ml_impute, ml_clean,
ml_apply_recipe, ml_import_csv).

Seeded and bounded: FUZZ_SEED (default 1) and FUZZ_CALLS (default 300). Every
call builds its own small table(s) in one transaction, makes the call, and
rolls back, so each printed reproducer is self-contained SQL.

A call fails the test when the server crashes (the connection is lost, or a
watchdog connection is killed by a crash restart, or pg_postmaster_start_time
moves), when it raises an internal error (class XX), or when the error shows
that SQL or JSON built by the extension broke (see broken_sql()). Other
errors (bad options, unknown columns, ...) are expected and only counted.

Output is TAP (three assertions) with every failing call printed in full as
# comments; FUZZ_LOG (optional) also receives the failing calls as plain SQL.
Connection settings come from the PG* environment variables.
"""
import json
import os
import random
import re
import sys
import time

import psycopg2

SEED = int(os.environ.get("FUZZ_SEED", "1"))
CALLS = int(os.environ.get("FUZZ_CALLS", "300"))
DB = os.environ.get("FUZZ_DB", "mlops_fuzz")
TIMEOUT = os.environ.get("FUZZ_TIMEOUT", "30s")
LOG = os.environ.get("FUZZ_LOG")

# ---------------------------------------------------------------- SQL text


def ident(name):
    return '"' + name.replace('"', '""') + '"'


def lit(text):
    return "'" + text.replace("'", "''") + "'"


def jlit(obj):
    return lit(json.dumps(obj, ensure_ascii=False)) + "::jsonb"


def arr(names):
    return "ARRAY[" + ", ".join(lit(n) for n in names) + "]::text[]" if names else "'{}'::text[]"


# ------------------------------------------------------------ table shapes

# kind -> (SQL type, value expression over i; {a} a multiplier, {s} an offset)
KINDS = {
    "float": ("float8", "(((i * {a} + {s}) % 101) / 7.0)::float8"),
    "float_special": ("float8", "CASE (i + {s}) % 11 WHEN 0 THEN 'NaN'::float8 WHEN 1 THEN 'Infinity'::float8 "
                                "WHEN 2 THEN '-Infinity'::float8 ELSE ((i * {a}) % 50)::float8 / 3 END"),
    "float_huge": ("float8", "(((i * {a} + {s}) % 7) - 3) * 1e300::float8"),
    "float_near_max": ("float8", "CASE WHEN (i + {s}) % 2 = 0 THEN 1.7e308::float8 ELSE -1.7e308::float8 END"),
    # sds near the double range (review18): 1.7e308, -1.7e308, 0 and a spread
    # of such values; z-score bounds and the learned imputer stay finite
    "float_near_max3": ("float8", "(ARRAY[1.7e308, -1.7e308, 0]::float8[])[((i * {a} + {s}) % 3) + 1]"),
    "float_near_max_spread": ("float8", "((((i * {a} + {s}) % 7) - 3) * 5.6e307 + ((i + {s}) % 11) * 1e300)::float8"),
    "float_whole": ("float8", "((i * {a} + {s}) % 40)::float8"),
    "float_const": ("float8", "4.25::float8"),
    "float_tiny": ("float8", "((i * {a} + {s}) % 9) * 1e-310::float8"),
    "null_float": ("float8", "NULL::float8"),
    "null_text": ("text", "NULL::text"),
    "null_date": ("date", "NULL::date"),
    "int": ("integer", "((i * {a} + {s}) % 60)::int"),
    "int_code": ("integer", "((i + {s}) % 3)::int"),
    "int_const": ("integer", "7"),
    "int_big": ("bigint", "(i::bigint * {a} + {s}) * 1000000000000"),
    "id": ("bigint", "i::bigint"),
    "numeric": ("numeric(7,2)", "(((i * {a} + {s}) % 10000) / 3.0)::numeric(7,2)"),
    "numeric_small": ("numeric(3,1)", "(((i * {a} + {s}) % 100) / 10.0)::numeric(3,1)"),
    "numeric_free": ("numeric", "(((i * {a} + {s}) % 1000) / 7.0)::numeric"),
    # numeric typmods at PostgreSQL's edges, values at the double's edges, a
    # domain's typmod (fuzz_d62, fuzz_clean.sh): fills kept as the column
    # holds them (src/clean/fills.c)
    "numeric_1_0": ("numeric(1,0)", "((i * {a} + {s}) % 19 - 9)::numeric(1,0)"),
    "numeric_p1000": ("numeric(1000,0)", "((((i * {a} + {s}) % 9) - 4) * 1e300)::numeric(1000,0)"),
    "numeric_s1000": ("numeric(1000,1000)", "(((i * {a} + {s}) % 997) / 1000.0)::numeric(1000,1000)"),
    "numeric_neg_scale": ("numeric(5,-3)", "((((i * {a} + {s}) % 99999) - 50000) * 1000)::numeric(5,-3)"),
    "numeric_scale_gt_p": ("numeric(3,5)", "(((i * {a} + {s}) % 999) / 100000.0)::numeric(3,5)"),
    "numeric_tiny": ("numeric", "((i * {a} + {s}) % 9) * 1e-300::numeric"),
    "numeric_near_max": ("numeric", "CASE WHEN (i + {s}) % 3 = 0 THEN 1.7976931348623157e308 "
                                    "WHEN (i + {s}) % 3 = 1 THEN -1.797693134862315e308 ELSE 0 END::numeric"),
    "numeric_1000_digits": ("numeric", "(repeat('9', 300) || '.' || repeat('7', 700))::numeric * ((i * {a} + {s}) % 3)"),
    "numeric_domain": ("fuzz_d62", "(((i * {a} + {s}) % 10000) * 0.999)::numeric(6,2)"),
    # domains with CHECK constraints (fuzz_pct, fuzz_even, fuzz_clean.sh): an
    # estimate the domain refuses is left missing, never a 23514 from our SQL
    "int_domain_check": ("fuzz_pct", "least(100, (i * {a} + {s}) % 103)"),
    "numeric_domain_check": ("fuzz_even", "((i * {a} + {s}) % 50) * 2"),
    "real_edge": ("real", "CASE (i * {a} + {s}) % 5 WHEN 0 THEN 3.4e38::real WHEN 1 THEN 1e-45::real "
                          "WHEN 2 THEN '-0'::real WHEN 3 THEN -3.4e38::real ELSE 1e-40::real END"),
    "smallint_edge": ("smallint", "CASE WHEN (i * {a} + {s}) % 3 = 0 THEN -32768 ELSE 32767 END::smallint"),
    "smallint": ("smallint", "((i * {a} + {s}) % 300 - 150)::smallint"),
    "real": ("real", "(((i * {a} + {s}) % 77) / 3.0)::real"),
    "bool": ("boolean", "((i * {a} + {s}) % 3 = 0)"),
    "bool_const": ("boolean", "true"),
    "cat": ("text", "(ARRAY['a', 'b', 'c', 'd'])[((i * {a} + {s}) % 4) + 1]"),
    "cat_utf8": ("text", "(ARRAY['café', 'naïve', '日本語', 'Ωmega', 'straße', '😀'])[((i * {a} + {s}) % 6) + 1]"),
    "cat_many": ("text", "'lvl' || ((i * {a} + {s}) % 80)"),
    "cat_varchar": ("varchar(3)", "(ARRAY['x', 'yy', 'zzz'])[((i * {a} + {s}) % 3) + 1]"),
    "cat_two": ("text", "(ARRAY['yes', 'no'])[((i * {a} + {s}) % 2) + 1]"),
    "text_free": ("text", "md5((i + {s})::text)"),
    "text_empty": ("text", "(ARRAY['', ' ', 'a'])[((i * {a} + {s}) % 3) + 1]"),
    "text_num": ("text", "CASE WHEN (i + {s}) % 9 = 0 THEN 'n/a' WHEN (i + {s}) % 13 = 0 THEN '1,5' "
                         "WHEN (i + {s}) % 17 = 0 THEN '1e999' ELSE ((i * {a}) % 100)::text END"),
    # mostly numbers (about 97 % parse): read as numeric, the rest counted as gaps
    "text_num_mostly": ("text", "CASE WHEN (i + {s}) % 31 = 0 THEN 'n/a' WHEN (i + {s}) % 37 = 0 THEN '1,5' "
                                "ELSE (((i * {a}) % 100) / 4.0)::text END"),
    "text_num_codes": ("text", "lpad(((i * {a} + {s}) % 20)::text, 3, '0')"),
    "text_num_clean": ("text", "((i * {a} + {s}) % 100)::text"),
    "text_dec": ("text", "(((i * {a} + {s}) % 1000) / 8.0)::text"),
    "text_bool": ("text", "(ARRAY['yes', 'no', 'true', 'false', 't'])[((i * {a} + {s}) % 5) + 1]"),
    "text_ts": ("text", "(DATE '2024-01-01' + (i * {a} + {s}) % 300)::text"),
    "text_ts_bad": ("text", "CASE WHEN (i + {s}) % 7 = 0 THEN '2024-13-45' ELSE "
                            "(TIMESTAMP '2024-01-01' + i * interval '1 hour')::text END"),
    "text_const": ("text", "'same'"),
    # times with offsets, and a date domain whose CHECK refuses late fills
    # (fuzz_early, fuzz_clean.sh; review18): recipes say how text times were
    # read, replays keep to it; a refused date fill is left missing
    "text_ts_zoned": ("text", "(TIMESTAMPTZ '2024-01-01 00:00+00' + ((i * {a} + {s}) % 500) * interval '1 hour')::text"),
    "date_domain_check": ("fuzz_early", "DATE '2024-01-01' + ((i * {a} + {s}) % 9)"),
    "date": ("date", "DATE '2024-01-01' + ((i * {a} + {s}) % 400)"),
    "date_far": ("date", "CASE WHEN (i + {s}) % 2 = 0 THEN DATE '4713-01-01 BC' ELSE DATE '5874897-12-31' END"),
    "timestamptz": ("timestamptz", "TIMESTAMPTZ '2024-01-01 00:00+00' + ((i * {a} + {s}) % 1000) * interval '37 minutes'"),
    "timestamp": ("timestamp", "TIMESTAMP '2023-06-01' + i * interval '1 hour'"),
    "timestamp_inf": ("timestamp", "CASE WHEN (i + {s}) % 5 = 0 THEN 'infinity'::timestamp "
                                   "ELSE TIMESTAMP '2023-06-01' + i * interval '1 day' END"),
    "time": ("time", "TIME '00:00' + i * interval '7 minutes'"),
    "interval": ("interval", "i * interval '3 hours'"),
    "int_array": ("int[]", "ARRAY[i, i + 1]"),
    "jsonb": ("jsonb", "jsonb_build_object('k', i % 3)"),
    "uuid": ("uuid", "md5(i::text)::uuid"),
    "bytea": ("bytea", "decode(md5(i::text), 'hex')"),
}
COMMON = ["float", "float", "float_special", "float_whole", "int", "int_code", "cat", "cat", "cat_utf8",
          "text_num", "text_num_mostly", "date", "timestamptz", "timestamp", "numeric", "bool", "text_free", "null_float",
          "float_const", "text_const", "numeric_small", "text_bool", "text_ts", "float_huge", "cat_many",
          "numeric_domain", "numeric_near_max", "int_domain_check", "numeric_domain_check",
          "float_near_max3", "text_ts_zoned", "date_domain_check"]
NAMES = ["x", "y", "z", "g", "t", "v", "w", "id", "Größe", "a b", "Sel\"ect", "x_was_missing", "g_a",
         "a" * 63]
METHODS = ["auto", "mean", "median", "mode", "constant", "delete", "groupwise", "regression", "knn",
           "mice", "learned", "classifier", "locf", "interpolate", "chain", "forest", "missforest"]
ROLES = ["identifier", "categorical", "numeric", "datetime", "text", "target", "skip"]
PARTS = ["year", "month", "day", "hour", "minute", "second", "dow", "doy", "week", "weekend"]
NULL_PCT = [0, 0, 5, 10, 20, 40, 60, 90, 100]


class Table:
    """A generated table: its DDL statements and its (name, kind) columns."""

    def __init__(self, rng, name, nrows, cols=None, large=False):
        self.name = name
        self.nrows = nrows
        if cols is None:
            n = rng.choice([1, 2, 3, 3, 4, 4, 5, 6, 8])
            names = rng.sample(NAMES[:8] if rng.random() < 0.7 else NAMES, n)
            pool = COMMON if rng.random() < 0.75 else list(KINDS)
            if large:
                pool = [k for k in COMMON if k not in ("text_free", "cat_many")]
            cols = [(c, rng.choice(pool)) for c in names]
        self.cols = cols
        defs, exprs = [], []
        for c, kind in cols:
            typ, expr = KINDS[kind]
            expr = expr.format(a=rng.choice([1, 3, 7, 13, 31]), s=rng.randrange(100))
            pct = rng.choice(NULL_PCT)
            if pct == 100:
                expr = "NULL"
            elif pct:
                expr = "CASE WHEN (i * %d + %d) %% 100 < %d THEN NULL ELSE %s END" % (
                    rng.choice([7, 11, 37, 61]), rng.randrange(100), pct, expr)
            defs.append("%s %s" % (ident(c), typ))
            exprs.append(expr)
        self.sql = ["CREATE TABLE %s (%s)" % (ident(name), ", ".join(defs))]
        if exprs:
            self.sql.append("INSERT INTO %s SELECT %s FROM generate_series(1, %d) i"
                            % (ident(name), ", ".join(exprs), nrows))
        if nrows > 2 and rng.random() < 0.2:
            self.sql.append("INSERT INTO %s SELECT * FROM %s LIMIT %d"
                            % (ident(name), ident(name), max(1, nrows // 10)))

    def names(self):
        return [c for c, _ in self.cols]

    def of(self, pred):
        return [c for c, k in self.cols if pred(k)]


# Share of cases that also get bad arguments (unknown names, values out of
# range); the others are plausible calls that should reach deep into the code.
HOSTILE = 0.3
hostile = False


def ch(rng, good, bad):
    """A good choice, or in a hostile case sometimes a bad one."""
    return rng.choice(bad) if hostile and rng.random() < 0.3 else rng.choice(good)


def some(rng, names, lo=1, hi=3, bogus=0.1):
    """A random subset of names, sometimes with a name that does not exist."""
    out = rng.sample(names, min(len(names), rng.randint(lo, hi))) if names else []
    if hostile and rng.random() < bogus * 2:
        out.append(rng.choice(["nope", "X", "", "a b c"]))
    return out


def rand_number(rng):
    return rng.choice([0, 1, -1, 2.5, 1e300, -1e300, 1e-300, 3, 100, 0.5, 7])


def rand_value(rng):
    return ch(rng, [0, 1, 42, -3.5, 1e300, "a", "zzz", "2024-05-05", "2024-05-05 10:00", "true", "n/a",
                    "日本語", "", True, 1e-320, "NaN", "Infinity", 12345678901234567890,
                    1.7976931348623157e308, 0.005, -0.0],
              [None, [1], {"a": 1}])


def rand_time_column(rng, t):
    dt = t.of(lambda k: k in ("date", "timestamptz", "timestamp", "timestamp_inf", "date_far"))
    return ch(rng, dt * 3 + t.names(), ["nope"])


def impute_options(rng, t, method, for_clean=False):
    names = t.names()
    o = {}
    def maybe(p):
        return rng.random() < p
    if method in ("constant",) and maybe(0.85):
        o["value"] = rand_value(rng)
    elif maybe(0.1):
        o["value"] = rand_value(rng)
    if method in ("locf", "interpolate") and maybe(0.85):
        o["time_column"] = rand_time_column(rng, t)
    elif maybe(0.08):
        o["time_column"] = rand_time_column(rng, t)
    if method in ("groupwise", "locf", "interpolate") and maybe(0.6) or maybe(0.08):
        b = some(rng, names, 1, 2)
        o["by"] = b if maybe(0.8) or not b else b[0]
    if method == "knn" and maybe(0.6) or maybe(0.05):
        o["k"] = ch(rng, [1, 2, 3, 5, 50, 1000, 2.7], [0, 1001, -1, "5"])
    if method in ("knn", "auto") and maybe(0.4) or maybe(0.05):
        o["distance"] = ch(rng, ["euclidean", "nan_euclidean"], ["cosine", 1, None, "", ["nan_euclidean"]])
    if maybe(0.15):
        o["holdout"] = ch(rng, [0.2, 0.5, 0.01, 0.99], [0, 1, -1, 2, "x"])
    if maybe(0.1):
        o["seed"] = rng.choice([0, 1, 42, -7, 2**40, 1.5])
    if method in ("learned", "classifier") or maybe(0.05):
        o["epochs"] = ch(rng, [1, 2, 3], [0, 1001])
        if maybe(0.5):
            o["hidden"] = ch(rng, [1, 4, 16], [0, 2000])
    if method in ("forest", "missforest") and maybe(0.6) or maybe(0.05):
        o["trees"] = ch(rng, [1, 2, 5, 30], [0, 1001, 2.5, "x"])
        if maybe(0.5):
            o["max_rounds"] = ch(rng, [1, 2, 10], [0, 101, -1])
    if maybe(0.1):
        o["exclude_features"] = some(rng, names)
    if not for_clean and maybe(0.1):
        o["target"] = ch(rng, names, ["nope"])
    if maybe(0.25):
        o["methods"] = {c: ch(rng, METHODS, ["bogus"]) for c in some(rng, names, 1, 2)}
    if not for_clean and maybe(0.25):
        o["roles"] = {c: ch(rng, ROLES, ["bogus"]) for c in some(rng, names, 1, 2)}
    if hostile and maybe(0.05):
        o[rng.choice(["bogus", "K", "method"])] = 1
    return o


def call_impute(rng, t, into=None):
    names = t.names()
    method = ch(rng, METHODS, ["bogus", "MEAN", ""])
    args = [lit(t.name)]
    r = rng.random()
    if r < 0.4:
        cols = None
    elif r < 0.95:
        cols = some(rng, names, 1, 3, bogus=0.08)
    else:
        cols = [] if hostile else None
    if cols is not None:
        args.append("columns => " + arr(cols))
    if method != "auto" or rng.random() < 0.3:
        args.append("method => " + lit(method))
    opts = impute_options(rng, t, method)
    if opts or rng.random() < 0.1:
        args.append("options => " + jlit(opts))
    if into is None and rng.random() < 0.4:
        into = ch(rng, ["fz_out", "public.fz_out"], ["fz out", "a.b.c", ""])
    if into:
        args.append("into_table => " + lit(into))
    return "SELECT * FROM ml_impute(%s)" % ", ".join(args)


def step_common(rng, names, o):
    if rng.random() < 0.3:
        o["columns"] = some(rng, names, 1, 3, bogus=0.15)
    if rng.random() < 0.2:
        o["skip"] = some(rng, names, 1, 2, bogus=0.15)


def clean_options(rng, t):
    names = t.names()
    o = {}
    def step(name, make):
        r = rng.random()
        if r < 0.4:
            return
        if r < 0.5:
            o[name] = rng.random() < 0.5
            return
        s = {}
        if not make(s):
            step_common(rng, names, s)
        if hostile and rng.random() < 0.05:
            s["bogus"] = True
        o[name] = s

    def duplicates(s):
        if rng.random() < 0.6:
            s["keys"] = some(rng, names, 1, 2)
        # the docs say columns/skip work in every step; the code refuses them here
        if hostile and rng.random() < 0.1:
            s["columns"] = some(rng, names, 1, 2)
        return True                    # no columns/skip of its own
    step("duplicates", duplicates)

    def missing(s):
        method = ch(rng, METHODS, ["bogus"])
        if rng.random() < 0.8:
            s["method"] = method
        s.update(impute_options(rng, t, method, for_clean=True))
        s.pop("target", None)
        s.pop("roles", None)
    step("missing", missing)

    def outliers(s):
        if rng.random() < 0.7:
            s["method"] = ch(rng, ["iqr", "zscore", "mad"], ["bogus"])
        if rng.random() < 0.4:
            s["k"] = ch(rng, [0.1, 1.5, 3, 1e308], [0, -1, "x"])
        if rng.random() < 0.6:
            s["action"] = ch(rng, ["winsorize", "delete", "flag"], ["bogus"])
        if rng.random() < 0.3:
            s["by"] = ch(rng, names, ["nope"])
    step("outliers", outliers)

    def polish(s):
        if rng.random() < 0.5:
            s["integers"] = rng.random() < 0.5
        if rng.random() < 0.5:
            s["text_types"] = rng.random() < 0.5
    step("polish", polish)

    def encode(s):
        if rng.random() < 0.8:
            s["method"] = ch(rng, ["auto", "onehot", "ordinal", "frequency", "hashing", "target"], ["bogus"])
        if rng.random() < 0.3:
            s["max_levels"] = ch(rng, [1, 2, 10, 1000, 100000], [0, -1])
        if rng.random() < 0.3:
            s["buckets"] = ch(rng, [1, 2, 16, 100000], [0, -3])
        if rng.random() < 0.3:
            s["keep_original"] = rng.random() < 0.5
        if rng.random() < 0.3:
            s["smoothing"] = ch(rng, [0, 1, 10, 1e300], [-5])
    step("encode", encode)

    def datetime(s):
        if rng.random() < 0.5:
            s["parts"] = rng.sample(PARTS, rng.randint(0, 4)) + (["bogus"] if hostile and rng.random() < 0.2 else [])
        for k in ("cyclical", "elapsed", "keep_original"):
            if rng.random() < 0.4:
                s[k] = rng.random() < 0.5
    step("datetime", datetime)

    if rng.random() < 0.3:
        o["indicators"] = ch(rng, [True, False, True], [{"x": 1}])
    if rng.random() < 0.3:
        o["keep_unparsed"] = ch(rng, [True, False, True], ["yes"])
    if rng.random() < 0.3:
        o["roles"] = {c: ch(rng, ROLES, ["bogus"]) for c in some(rng, names, 1, 3)}
    if rng.random() < 0.2:
        o["target"] = ch(rng, names, ["nope"])
    if hostile and rng.random() < 0.05:
        o["bogus"] = {}
    return o


def call_clean(rng, t, into=None):
    args = [lit(t.name)]
    opts = clean_options(rng, t)
    if opts or rng.random() < 0.2:
        args.append("options => " + jlit(opts))
    if into is None and rng.random() < 0.4:
        into = "fz_out"
    if into:
        args.append("into_table => " + lit(into))
    return "SELECT * FROM ml_clean(%s)" % ", ".join(args)


def rand_csv(rng):
    ncols = rng.randint(1, 6)
    delim = rng.choice([",", ",", ",", ";", "\t", "|"])
    quote = '"'
    cells = [lambda: str(rng.randint(-5, 1000)), lambda: "%.3f" % rng.uniform(-1e3, 1e3),
             lambda: rng.choice(["true", "false", "t", "yes"]), lambda: "2024-0%d-1%d" % (rng.randint(1, 9), rng.randint(0, 9)),
             lambda: rng.choice(["", "NA", "N/A", "NULL", "null", "None", "NaN"]),
             lambda: rng.choice(["abc", "café", "日本", "a b", "x" * 300]),
             lambda: '"quoted, with %s delim"' % delim, lambda: '"multi\nline"', lambda: '"he said ""hi"""',
             lambda: rng.choice(["1e999", "-0", "0x1F", "1,5", "9223372036854775808", "Infinity"]),
             lambda: "2024-01-01 10:00:00+02", lambda: rng.choice(['"unterminated', "a\"b", "\\", "\r"]),
             # quoting libcsv's strict mode stops at: a rejected line, never an aborted import
             lambda: rng.choice(['"x"y', '"a" "b"', '"multi\nline"z', '"q""' + '"x', '""x']),
             # the date parser's special words and midnight at 24:00
             lambda: rng.choice(["infinity", "-infinity", "epoch", " EPOCH ", "now", "today", "today 10:00",
                                 "2024-01-01 24:00:00", "2024-12-31 24:00:00+00", "2024-01-01 24:00:01",
                                 "infinity EST", "epoch/x", "+infinity"])]
    kinds = [rng.randrange(len(cells)) for _ in range(ncols)]
    lines = []
    if rng.random() < 0.8:
        hdr = [rng.choice(["a", "b", "x", "", "a", "Größe", '"q""c"', "id", "column_1", "a" * 70])
               for _ in range(ncols)]
        lines.append(delim.join(hdr))
    for _ in range(rng.choice([0, 1, 2, 5, 20, 60])):
        row = [cells[k if rng.random() < 0.9 else rng.randrange(len(cells))]() for k in kinds]
        if rng.random() < 0.05:
            row = row[:-1] if len(row) > 1 and rng.random() < 0.5 else row + ["extra"]
        lines.append(delim.join(row))
    text = rng.choice(["\n", "\r\n"]).join(lines) + rng.choice(["", "\n", "\n\n"])
    if rng.random() < 0.03:
        text = "\ufeff" + text
    opts = {}
    if delim != "," or rng.random() < 0.1:
        opts["delimiter"] = delim if rng.random() < 0.9 else rng.choice(["", ";;", "é"])
    if rng.random() < 0.1:
        opts["quote"] = rng.choice(["'", '"', "", "ab"])
    if rng.random() < 0.2:
        opts["header"] = rng.random() < 0.5
    if rng.random() < 0.15:
        opts["null"] = rng.choice([[], ["-"], ["", "x"], "NA"])
    if rng.random() < 0.2:
        opts["infer_rows"] = rng.choice([0, 1, 2, 10, -1, 1e9])
    if rng.random() < 0.2:
        opts["types"] = {rng.choice(["a", "b", "x", "nope"]): rng.choice(
            ["text", "bigint", "integer", "double precision", "numeric", "boolean", "timestamp", "date",
             "timestamptz", "bogus", "int; drop table x",
             # domains (test/fuzz_clean.sh): a value one refuses is a rejected line
             "fuzz_pct", "fuzz_d62", "fuzz_even", "public.fuzz_pct", "fuzz_pct(2)"])}
    if rng.random() < 0.02:
        opts["bogus"] = 1
    return text, opts


def gen_case(rng, index):
    """One case: a list of SQL statements run in one transaction (the last
    is the call under test; earlier calls are also checked)."""
    global hostile
    hostile = rng.random() < HOSTILE
    stmts = []
    large = rng.random() < 0.05
    if large:
        stmts.append("SET LOCAL maintenance_work_mem = '1MB'")
    elif rng.random() < 0.05:
        stmts.append("SET LOCAL maintenance_work_mem = '1MB'")
    nrows = 20000 if large else rng.choice([0, 1, 1, 2, 3, 5, 8, 20, 50, 120, 300, 1000])
    kind = rng.choices(["impute", "clean", "recipe", "csv", "casts"], weights=[40, 30, 20, 10, 5])[0]
    if kind == "casts" and rng.random() < 0.5:
        kind = "gram"
    if kind == "gram":
        # the linear-fit aggregate: ragged, NULL, non-finite and huge arrays,
        # and states that are random, cut short or with one byte changed
        vals = ["1", "-2.5", "0", "1e308", "-1e308", "'NaN'", "'Infinity'", "NULL", "1e-320"]
        width = rng.choice([0, 1, 2, 3, 5, 1001])
        rows = []
        for _ in range(rng.choice([0, 1, 2, 5, 40])):
            w = width if rng.random() < 0.9 else rng.randrange(0, 6)
            xs = ", ".join(rng.choice(vals) if rng.random() < 0.2 else repr(rng.uniform(-50, 50))
                           for _ in range(w))
            x = "NULL::float8[]" if rng.random() < 0.05 else ("ARRAY[%s]::float8[]" % xs if w else "'{}'::float8[]")
            if rng.random() < 0.03:
                x = "ARRAY[[1, 2], [3, 4]]::float8[]"
            y = rng.choice(vals) if rng.random() < 0.1 else repr(rng.uniform(-50, 50))
            rows.append("(%s::float8, %s)" % (y, x))
        src = "(VALUES %s) v(y, x)" % ", ".join(rows) if rows else "(SELECT 1.0::float8 AS y, NULL::float8[] AS x WHERE false) v"
        state = "(SELECT mlops.ml_gram_agg(y, x) FROM %s)" % src
        r = rng.random()
        if r < 0.3:
            state = "substr(%s, 1, %d)" % (state, rng.randrange(0, 200))
        elif r < 0.6:
            state = "set_byte(%s, %d, %d)" % (state, rng.randrange(0, 120), rng.randrange(256))
        elif r < 0.7:
            state = "'\\x%s'::bytea" % "".join("%02x" % rng.randrange(256) for _ in range(rng.randrange(0, 60)))
        stmts.append("SELECT mlops.ml_linear_solve(%s, %s, %s)" % (
            state, rng.choice(["0", "1", "1e12", "-1", "'NaN'", "1e-300"]), rng.choice(["true", "false"])))
        return kind, stmts
    if kind == "casts":
        # the never-failing casts and the access probe: any input, NULL or a value
        texts = ["1", "-0", "1e999", "9223372036854775808", "-9223372036854775809", "1,5", "n/a",
                 "", "NaN", "Infinity", "2024-02-30", "2024-01-01 10:00+02", "yes", "日本", "x" * 300]
        nums = ["0", "-2147483648.5", "2147483647.4", "9223372036854775807.5", "1e30", "NaN", "-0.5"]
        for _ in range(3):
            f = rng.choice(["try_cast_numeric", "try_cast_bool", "try_cast_timestamp", "try_cast_timestamptz", "try_cast_bigint"])
            stmts.append("SELECT mlops.%s(%s)" % (f, lit(rng.choice(texts)) if rng.random() < 0.9 else "NULL"))
            f = rng.choice(["try_round_int8", "try_round_int4"])
            stmts.append("SELECT mlops.%s(%s::numeric)" % (f, lit(rng.choice(nums))))
        stmts.append("SELECT mlops.project_access(%s)" % rng.choice(["-1", "0", "1", "NULL", "9223372036854775807"]))
        # the BI views' metric helper: any object, key, type of value
        metrics = ["'{}'", "'{\"rmse\": 1.5}'", "'{\"rmse\": \"1.5\"}'", "'{\"rmse\": null}'",
                   "'{\"rmse\": 1e308}'", "'{\"rmse\": [1]}'", "'[1, 2]'", "'3'", "NULL"]
        stmts.append("SELECT mlops.metric_value(%s::jsonb, %s)" % (
            rng.choice(metrics), rng.choice(["'rmse'", "''", "NULL", lit("x" * 100)])))
        return kind, stmts
    if kind == "csv":
        text, opts = rand_csv(rng)
        args = ["'fz_csv'", "data => " + lit(text)]
        if opts or rng.random() < 0.1:
            args.append("options => " + jlit(opts))
        stmts.append("SELECT * FROM ml_import_csv(%s)" % ", ".join(args))
        if rng.random() < 0.4:
            stmts.append("SELECT * FROM ml_clean('fz_csv', into_table => 'fz_csv_clean')")
        return kind, stmts
    t = Table(rng, "fz_a", nrows, large=large)
    stmts += t.sql
    if kind == "impute":
        stmts.append(call_impute(rng, t))
    elif kind == "clean":
        stmts.append(call_clean(rng, t))
    if kind in ("impute", "clean") and rng.random() < 0.3:
        # the run's column profiles, as a BI tool reads them (histograms must parse as JSON)
        stmts.append("SELECT relation, column_name, histogram::text, histogram_after::text "
                     "FROM ml_data_quality")
    else:
        fit = call_clean(rng, t, into="fz_fit") if rng.random() < 0.6 else call_impute(rng, t, into="fz_fit")
        stmts.append(fit)
        if rng.random() < 0.2:
            other = t.name
        else:
            cols = []
            for c, k in t.cols:
                r = rng.random()
                if r < 0.08:
                    continue                   # column missing in the new table
                cols.append((c, k if r < 0.55 else rng.choice(list(KINDS))))
            if rng.random() < 0.2:
                cols.append(("extra", rng.choice(COMMON)))
            b = Table(rng, "fz_b", rng.choice([1, 3, 10, 50, 200]), cols=cols)
            stmts += b.sql
            other = b.name
        if rng.random() < 0.15:
            # a forest's payload cut, shifted or replaced: a clear XX001, never a crash
            mut = rng.choice(["left(f, %d)" % rng.choice([0, 4, 30, 200]),
                              "translate(f, 'ABCDEFGH', 'BCDEFGHA')",
                              "overlay(f placing 'AAAA' from %d)" % rng.choice([1, 9, 41, 101]),
                              "f || 'AAAA'"])
            stmts.append("UPDATE mlops.recipes SET steps = (SELECT jsonb_agg(CASE WHEN s ? 'members' "
                         "THEN jsonb_set(s, '{members,0,forest}', to_jsonb((SELECT %s FROM "
                         "(SELECT coalesce(s #>> '{members,0,forest}', '') AS f) q))) ELSE s END) "
                         "FROM jsonb_array_elements(steps) s) "
                         "WHERE id = (SELECT max(id) FROM mlops.recipes) AND steps::text LIKE '%%\"members\"%%'"
                         % mut)
        if rng.random() < 0.1:
            # how the run read text columns (numeric_text: columns, zoned,
            # unzoned) damaged or removed: a clear XX001, or the old behaviour
            mut = rng.choice(["jsonb_set(s, '{zoned}', '%s')" % rng.choice(["5", "\"t\"", "[1]", "{}", "[null]", "[\"nosuch\"]"]),
                              "jsonb_set(s, '{unzoned}', '%s')" % rng.choice(["true", "[\"t\", \"t\"]", "[]"]),
                              "jsonb_set(s, '{columns}', '%s')" % rng.choice(["7", "[{}]"]),
                              "s - 'zoned'", "s - 'unzoned'", "s - 'columns'"])
            stmts.append("UPDATE mlops.recipes SET steps = (SELECT jsonb_agg(CASE WHEN s ->> 'step' = 'numeric_text' "
                         "THEN %s ELSE s END) FROM jsonb_array_elements(steps) s) "
                         "WHERE id = (SELECT max(id) FROM mlops.recipes) AND steps::text LIKE '%%numeric_text%%'"
                         % mut)
        if rng.random() < 0.15:
            # a blend's own model removed, nested, moved to another column or cut
            mut = rng.choice(["s - 'member'", "jsonb_set(s, '{member}', s)",
                              "jsonb_set(s, '{member,method}', '\"chain\"')",
                              "jsonb_set(s, '{member,method}', '\"constant\"')",
                              "jsonb_set(s, '{member,column}', '\"nosuch\"')",
                              "jsonb_set(s, '{member,column}', s #> '{chain,0,column}')",
                              "jsonb_set(s, '{member,coefficients}', '[1]')",
                              "jsonb_set(s, '{member,fill}', '\"x\"')",
                              "jsonb_set(s, '{member}', '[]')"])
            stmts.append("UPDATE mlops.recipes SET steps = (SELECT jsonb_agg(CASE WHEN s ->> 'method' = 'blend' "
                         "THEN %s ELSE s END) FROM jsonb_array_elements(steps) s) "
                         "WHERE id = (SELECT max(id) FROM mlops.recipes) AND steps::text LIKE '%%\"blend\"%%'"
                         % mut)
        if rng.random() < 0.15:
            # a chain's categorical member (a level's indicator) damaged: its level,
            # level list, start, coefficients, or a member removed or repeated
            mut = rng.choice(["jsonb_set(s, '{chain,%d,level}', '%s')" % (rng.randrange(3),
                                                                        rng.choice(["-1", "0", "2", "99", "0.5", "\"a\"", "null"])),
                              "jsonb_set(s, '{chain,0,levels}', '%s')" % rng.choice(["[]", "[\"a\"]", "{}", "[null, 1]",
                                                                                     "[\"a\", \"a\"]", "[1e308, \"NaN\"]"]),
                              "jsonb_set(s, '{chain,0,levels,0}', '\"zz\"')",
                              "jsonb_set(s, '{chain,0,fill}', '%s')" % rng.choice(["-0.5", "2", "\"NaN\"", "\"x\""]),
                              "jsonb_set(s, '{chain,0,round_coefficients}', '[]')",
                              "jsonb_set(s, '{chain,0,coefficients,0}', '\"Infinity\"')",
                              "s #- '{chain,0}'", "s #- '{chain,0,levels}'",
                              "jsonb_set(s, '{chain,1}', s #> '{chain,0}')",
                              "jsonb_set(s, '{chain,-1,level}', '0')"])
            stmts.append("UPDATE mlops.recipes SET steps = (SELECT jsonb_agg(CASE WHEN s ? 'chain' "
                         "THEN %s ELSE s END) FROM jsonb_array_elements(steps) s) "
                         "WHERE id = (SELECT max(id) FROM mlops.recipes) AND steps::text LIKE '%%\"level\"%%'"
                         % mut)
        into = rng.choice([None, None, "fz_applied"])
        stmts.append("SELECT * FROM ml_apply_recipe((SELECT max(id) FROM mlops.recipes), %s%s)"
                     % (lit(other), ", into_table => " + lit(into) if into else ""))
    return kind, stmts


# ------------------------------------------------------------------ checks

# Class 42 errors a bad argument rightly gives (unknown column or table, a
# bad name, no privilege); the extension also raises 42804 (a method that
# needs numbers on a category) and 42809 itself, which count only when they
# come from a statement we built (a CONTEXT line "SQL statement ...").
LEARNER_OVERFLOW = re.compile(r"a tree.s leaf value overflowed")
ALLOWED_42 = {"42501", "42P01", "42703", "42704", "42710", "42P07", "42602", "42622"}
OWN_42 = {"42804", "42809"}
JSONB_TYPE = re.compile(r"^ERROR:  cannot (call \S+ on an? |extract elements from |get array length of |"
                        r"deconstruct an? |set path in |replace existing key|delete from scalar|"
                        r"extract element from a scalar)", re.M)


def failing(code, msg):
    """Why an error counts as a bug, or None when it is an expected error."""
    if code is None:
        return None
    # a recipe whose stored forest the fuzzer altered: refused as corrupted data
    if code == "XX001" and re.search(r"has an invalid payload|recipe \d* ?is invalid", msg or ""):
        return None
    if code.startswith("XX"):
        return "internal error"
    if code in OWN_42:
        return "broken SQL" if 'SQL statement "' in (msg or "") else None
    # PostgreSQL's own parse of a user's table name of four parts (sql/review.sql
    # and sql/workflow.sql expect it), not SQL we built
    if code == "42601" and (msg or "").startswith("ERROR:  improper relation name (too many dotted names)"):
        return None
    if code.startswith("42") and code not in ALLOWED_42:
        return "broken SQL"
    # our own messages about a user's constant (the type's input function
    # said no, a jsonb column's too)
    if re.search(r"constant .* is not a valid value for column", msg or ""):
        return None
    # the CSV import's batch INSERT failing: a cell it took that the column's
    # type (or domain) refuses aborted the import instead of rejecting a line
    if 'SQL statement "INSERT INTO' in (msg or "") and "pg_catalog.unnest" in (msg or ""):
        return "CSV import's INSERT failed"
    # libcsv stopping the import half way (malformed quoting is a rejected line)
    if code == "22P04" and "could not parse CSV" in (msg or ""):
        return "CSV parse aborted the import"
    # a domain's CHECK refusing a value we computed (a fill, a bound) in a
    # statement we built
    if code == "23514" and 'SQL statement "' in (msg or ""):
        return "constraint error from SQL we built"
    if code == "22P02" and re.search(r"\bjson", msg or "", re.I):
        return "broken JSON"
    # a jsonb function of SQL we built met a value of another JSON type
    # (an option or a stored field we did not check first)
    if code == "22023" and JSONB_TYPE.search(msg or ""):
        return "broken JSON"
    # a learner's own report that extreme data (1e300) overflowed the fit of
    # an imputation model (MissForest's trees): expected, as in fuzz_train.py
    if code == "22003" and LEARNER_OVERFLOW.search(msg or ""):
        return None
    if code.startswith("2201") or code in ("22003", "22008", "22021", "22001"):
        return "arithmetic/range error"
    return None


class Server:
    def __init__(self):
        self.conn = None
        self.watch = None
        self.connect()
        self.start = self.start_time()

    def _connect(self):
        deadline = time.time() + 90
        while True:
            try:
                c = psycopg2.connect(dbname=DB)
                c.autocommit = True
                return c
            except psycopg2.OperationalError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)

    def connect(self):
        for c in (self.conn, self.watch):
            if c is not None:
                try:
                    c.close()
                except Exception:
                    pass
        self.conn = self._connect()
        self.watch = self._connect()
        with self.conn.cursor() as cur:
            cur.execute("SET statement_timeout = %s", (TIMEOUT,))
            cur.execute("SET client_min_messages = warning")
            cur.execute("SET lc_messages = 'C'")

    def start_time(self):
        with self.watch.cursor() as cur:
            cur.execute("SELECT pg_postmaster_start_time()")
            return cur.fetchone()[0]

    def alive(self):
        """False when the server restarted since the last check (a crash)."""
        try:
            with self.watch.cursor() as cur:
                cur.execute("SELECT pg_postmaster_start_time()")
                st = cur.fetchone()[0]
            if st != self.start:
                self.start = st
                return False
            return True
        except psycopg2.Error:
            return False

    def run(self, stmts):
        """Run stmts in one transaction. Returns (status, index, code, msg):
        status 'ok', 'error' (at statement index) or 'crash'."""
        cur = self.conn.cursor()
        result = ("ok", None, None, None)
        try:
            cur.execute("BEGIN")
            for i, s in enumerate(stmts):
                try:
                    cur.execute(s)
                    if cur.description:
                        try:
                            cur.fetchall()
                        except ValueError:
                            pass       # a value Python cannot hold (a year 294276): the server is fine
                except psycopg2.OperationalError as e:
                    if self.conn.closed:
                        result = ("crash", i, None, str(e).strip())
                        break
                    result = ("error", i, e.pgcode, (e.pgerror or str(e)).strip())
                    break
                except psycopg2.Error as e:
                    result = ("error", i, e.pgcode, (e.pgerror or str(e)).strip())
                    break
            if not self.conn.closed:
                cur.execute("ROLLBACK")
        except psycopg2.Error as e:
            result = ("crash", len(stmts) - 1, None, str(e).strip())
        if result[0] != "crash" and not self.alive():
            result = ("crash", result[1] if result[1] is not None else len(stmts) - 1, result[2],
                      "server restarted (a backend crashed)" + (": " + result[3] if result[3] else ""))
        if result[0] == "crash" or self.conn.closed:
            time.sleep(1)
            self.connect()
            self.start = self.start_time()
        return result


def normalise(msg):
    m = (msg or "").split("\n")[0]
    m = re.sub(r'"[^"]*"', '"…"', m)
    m = re.sub(r"\d+(\.\d+)?", "N", m)
    return m


def main(gen=None, name="fuzz_clean", allowed=None):
    """Run CALLS cases of gen (gen_case by default); allowed(stmts, code, msg)
    may excuse an error a case provoked on purpose."""
    gen = gen or gen_case
    rng = random.Random(SEED)
    srv = Server()
    t0 = time.time()
    failures = []          # (call index, kind, why, code, msg, stmts)
    tally = {}             # (code, normalised message) -> [count, sample]
    counts = {"crash": 0, "internal": 0, "broken": 0, "timeout": 0, "ok": 0, "error": 0}
    by_kind = {}
    for n in range(CALLS):
        kind, stmts = gen(random.Random(rng.random()), n)
        by_kind[kind] = by_kind.get(kind, 0) + 1
        status, at, code, msg = srv.run(stmts)
        if status == "crash":
            counts["crash"] += 1
            failures.append((n, kind, "server crash", code, msg, stmts[:at + 1]))
            continue
        if status == "ok":
            counts["ok"] += 1
            continue
        counts["error"] += 1
        why = failing(code, msg)
        if why is not None and allowed is not None and allowed(stmts, code, msg):
            why = None
        if why is None:
            if code == "57014":
                counts["timeout"] += 1
            key = (code, normalise(msg))
            entry = tally.setdefault(key, [0, msg])
            entry[0] += 1
            continue
        counts["internal" if why == "internal error" else "broken"] += 1
        failures.append((n, kind, why, code, msg, stmts[:at + 1]))
    elapsed = time.time() - t0

    print("1..3")
    for i, (label, key) in enumerate([("no server crash", "crash"), ("no internal error (XX000)", "internal"),
                                      ("no error from SQL/JSON/arithmetic we built", "broken")], 1):
        print("%s %d - %s (%d failing calls)" % ("ok" if counts[key] == 0 else "not ok", i, label, counts[key]))
    print("# " + name + ": seed %d, %d calls (%s) in %.0f s: %d crashes, %d internal errors, %d broken-SQL errors, "
          "%d succeeded, %d expected errors (%d timeouts)"
          % (SEED, CALLS, ", ".join("%s %d" % kv for kv in sorted(by_kind.items())), elapsed, counts["crash"],
             counts["internal"], counts["broken"], counts["ok"],
             counts["error"] - counts["internal"] - counts["broken"], counts["timeout"]))
    log = open(LOG, "w") if LOG else None
    for n, kind, why, code, msg, stmts in failures:
        text = "-- call %d (%s): %s, SQLSTATE %s\n-- %s\nBEGIN;\n%s;\nROLLBACK;\n" % (
            n, kind, why, code or "-", (msg or "").replace("\n", "\n-- "), ";\n".join(stmts))
        for line in text.rstrip("\n").split("\n"):
            print("# " + line)
        if log:
            log.write(text + "\n")
    if log:
        log.close()
    print("# expected errors by SQLSTATE and message:")
    for (code, norm), (cnt, sample) in sorted(tally.items(), key=lambda kv: (kv[0][0] or "", -kv[1][0])):
        print("#   %5d  %s  %s" % (cnt, code, sample.split("\n")[0][:160]))
    return 0 if counts["crash"] + counts["internal"] + counts["broken"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
