/*
 * drift.c
 *	  Drift of deployed versions: the ml_drift view's rows, ml_check_drift,
 *	  and the check after every logged ml_score batch.
 *
 * For each feature of a version's training profile (model/profile.c) the
 * scoring log rows of a window (pg_mlops.drift_window, ending now) are
 * summed bin by bin; the population stability index compares the scored
 * shares s with the training shares t of the non-missing rows:
 *
 *		PSI = sum over bins of (s - t) * ln(s / t)
 *
 * where an empty bin's share counts as ML_DRIFT_EPSILON (so a level never
 * seen in training, or a bin no scored row fell in, gives a large but
 * finite term). Missing values are compared apart: the absolute change of
 * the missing rate. A feature drifts when the window holds at least the
 * policy's min_rows rows and either exceeds its threshold (drift_policy.c).
 *
 * Visibility follows the catalog: the deployed versions are read as the
 * caller (row-level security on mlops.models), their logs and policies as
 * the extension owner.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "core/options.h"
#include "model/drift.h"
#include "model/scoring_log.h"

PG_FUNCTION_INFO_V1(ml_drift_rows);
PG_FUNCTION_INFO_V1(ml_check_drift);

int			ml_drift_window_s = 86400;
int			ml_drift_log_retention_s = 30 * 86400;
double		ml_drift_psi_threshold = 0.2;
double		ml_drift_missing_threshold = 0.1;
bool		ml_drift_check_on_score = true;
bool		ml_drift_log_scoring = true;

#define DRIFT_COLUMNS 13

void
MlDriftInit(void)
{
	DefineCustomIntVariable("pg_mlops.drift_window",
							"Scoring log rows of this past period are compared with the training profile.",
							"The ml_drift view, ml_check_drift and the check after every ml_score use it; "
							"an open alert for a feature is not raised again within it.",
							&ml_drift_window_s, 86400, 60, INT_MAX,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mlops.drift_log_retention",
							"Scoring log rows older than this are deleted when a project logs a new batch.",
							"0 keeps them.",
							&ml_drift_log_retention_s, 30 * 86400, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomRealVariable("pg_mlops.drift_psi_threshold",
							 "Population stability index above which a feature has drifted.",
							 "A project's policy (ml_set_drift_policy) overrides it.",
							 &ml_drift_psi_threshold, 0.2, 0.0001, 100,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("pg_mlops.drift_missing_threshold",
							 "Absolute change of a feature's missing rate above which it has drifted.",
							 "A project's policy (ml_set_drift_policy) overrides it.",
							 &ml_drift_missing_threshold, 0.1, 0.0001, 1,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("pg_mlops.drift_log_scoring",
							 "Log every ml_score batch in mlops.scoring_log, counted on the training bins.",
							 "Off: ml_score writes no log row, and drift sees none of its rows.",
							 &ml_drift_log_scoring, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mlops.drift_sample_rows",
							"ml_predict logs one row in this many for drift (0: none).",
							"The sampled rows are counted in backend memory and written at commit.",
							&ml_drift_sample_rows, 0, 0, INT_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("pg_mlops.drift_check_on_score",
							 "Check drift and raise alerts after every logged ml_score batch.",
							 "Off: only ml_check_drift raises alerts.",
							 &ml_drift_check_on_score, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);
}

/* A version's profile (NULL: it has none), read as the owner, validated. */
MlProfile *
MlDriftLoadProfile(MlScope *scope, int64 model_id, const char *what)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(model_id)};
	bool		was_owner = scope->as_owner;
	bool		isnull = true;
	Datum		d = (Datum) 0;

	MlScopeAsOwner(scope);
	MlSpiExec("SELECT profile FROM mlops.models WHERE id OPERATOR(pg_catalog.=) $1",
			  1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 1)
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!was_owner)
		MlScopeAsCaller(scope);
	if (isnull)
		return NULL;
	return MlProfileRead(DatumGetJsonbP(d), what);
}

static void
malformed_log(int64 id, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("scoring log row %lld is malformed", (long long) id),
			 errdetail("%s", detail),
			 errhint("Delete the row from mlops.scoring_log.")));
}

/* Add one log entry {"counts": [...], "missing": n} to a result. */
static void
add_counts(MlDriftResult *r, JsonbValue *v, int64 id)
{
	JsonbContainer *obj;
	JsonbValue *m;
	double	   *c;
	int64		n;
	double		miss;
	int64		sum = 0;

	if (v == NULL)
		return;					/* a row without this feature: not counted */
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		malformed_log(id, psprintf("The entry of \"%s\" is not an object.", r->f->name));
	obj = v->val.binary.data;
	c = MlOptNumbers(obj, "counts", &n);
	m = MlOptGet(obj, "missing");
	if (n != r->f->nbins)
		malformed_log(id, psprintf("\"%s\" has " INT64_FORMAT " counts for %d bins.",
								   r->f->name, n, r->f->nbins));
	if (m == NULL || m->type != jbvNumeric || !MlJsonToNumber(m, &miss) ||
		!(miss >= 0 && miss <= 1e15) || miss != floor(miss))
		malformed_log(id, psprintf("The missing count of \"%s\" is not a count.", r->f->name));
	for (int b = 0; b < n; b++)
		if (!(c[b] >= 0 && c[b] <= 1e15) || c[b] != floor(c[b]))
			malformed_log(id, psprintf("A count of \"%s\" is not a count.", r->f->name));
	for (int b = 0; b < n; b++)
	{
		r->count[b] += (int64) c[b];
		sum += (int64) c[b];
	}
	r->missing += (int64) miss;
	r->rows += sum + (int64) miss;
}

static double
psi_of(const MlProfileFeature *f, const int64 *count, int64 present)
{
	double		psi = 0;

	for (int b = 0; b < f->nbins; b++)
	{
		double		s = Max((double) count[b] / present, ML_DRIFT_EPSILON);
		double		t = Max(f->share[b], ML_DRIFT_EPSILON);

		psi += (s - t) * log(s / t);
	}
	return psi;
}

/*
 * Every profile feature (then the prediction) of one version over the
 * window: counts summed from its log rows, PSI, missing rate, drifted.
 */
MlDriftResult *
MlDriftCompute(MlScope *scope, int64 project_id, int64 model_id, MlProfile *profile,
			   const MlDriftPolicy *pol, const MlDriftWindow *w, const char *what, int *nres)
{
	int			n = profile->nfeat + (profile->prediction ? 1 : 0);
	MlDriftResult *res = palloc0(sizeof(MlDriftResult) * Max(n, 1));
	Oid			types[4] = {INT8OID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[4] = {Int64GetDatum(project_id), Int64GetDatum(model_id),
	TimestampTzGetDatum(w->start), TimestampTzGetDatum(w->end)};
	bool		was_owner = scope->as_owner;
	SPITupleTable *tt;
	uint64		nlog;

	(void) what;
	for (int i = 0; i < n; i++)
	{
		res[i].f = i < profile->nfeat ? &profile->feat[i] : profile->prediction;
		res[i].count = palloc0(sizeof(int64) * res[i].f->nbins);
	}
	MlScopeAsOwner(scope);
	MlSpiExec("SELECT id, features, prediction FROM mlops.scoring_log "
			  "WHERE project_id OPERATOR(pg_catalog.=) $1 AND model_id OPERATOR(pg_catalog.=) $2 "
			  "AND scored_at OPERATOR(pg_catalog.>) $3 AND scored_at OPERATOR(pg_catalog.<=) $4 "
			  "AND features IS NOT NULL",
			  4, types, values, NULL, SPI_OK_SELECT);
	if (!was_owner)
		MlScopeAsCaller(scope);
	tt = SPI_tuptable;
	nlog = SPI_processed;
	for (uint64 row = 0; row < nlog; row++)
	{
		HeapTuple	tup = tt->vals[row];
		TupleDesc	desc = tt->tupdesc;
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		Jsonb	   *feats = DatumGetJsonbP(SPI_getbinval(tup, desc, 2, &isnull));
		Datum		pd = SPI_getbinval(tup, desc, 3, &isnull);

		if (!JB_ROOT_IS_OBJECT(feats))
			malformed_log(id, "Its features are not a JSON object.");
		for (int i = 0; i < profile->nfeat; i++)
			add_counts(&res[i], MlOptGet(&feats->root, res[i].f->name), id);
		if (profile->prediction && !isnull)
		{
			Jsonb	   *pj = DatumGetJsonbP(pd);
			JsonbValue	v;

			if (!JB_ROOT_IS_OBJECT(pj))
				malformed_log(id, "Its prediction is not a JSON object.");
			v.type = jbvBinary;
			v.val.binary.data = &pj->root;
			v.val.binary.len = VARSIZE(pj) - VARHDRSZ;
			add_counts(&res[n - 1], &v, id);
		}
		CHECK_FOR_INTERRUPTS();
	}
	for (int i = 0; i < n; i++)
	{
		MlDriftResult *r = &res[i];
		int64		present = r->rows - r->missing;

		r->missing_rate_scored = r->rows > 0 ? (double) r->missing / r->rows : NAN;
		r->has_psi = present > 0;
		if (r->has_psi)
			r->psi = psi_of(r->f, r->count, present);
		r->drifted = r->rows > 0 && r->rows >= pol->min_rows &&
			((r->has_psi && r->psi > pol->psi) ||
			 fabs(r->missing_rate_scored - r->f->missing_rate) > pol->missing_rate);
	}
	*nres = n;
	return res;
}

/* The window ending now. */
static void
window_now(MlDriftWindow *w)
{
	w->end = GetCurrentTimestamp();
	w->start = w->end - (TimestampTz) ml_drift_window_s * USECS_PER_SEC;
}

static Datum
float8_array(const double *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Float8GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
										   TYPALIGN_DOUBLE));
}

/* One output row of a result (ml_drift's columns, then ml_check_drift's alert). */
static void
put_row(ReturnSetInfo *rsinfo, const char *project, int32 version, MlDriftResult *r,
		const MlDriftWindow *w, bool with_alert, int64 alert)
{
	Datum		values[DRIFT_COLUMNS + 1];
	bool		nulls[DRIFT_COLUMNS + 1] = {0};
	int			nb = r->f->nbins;
	Datum	   *labels = palloc(sizeof(Datum) * nb);
	double	   *scored = palloc(sizeof(double) * nb);
	int64		present = r->rows - r->missing;

	for (int b = 0; b < nb; b++)
	{
		labels[b] = CStringGetTextDatum(MlProfileBinLabel(r->f, b));
		scored[b] = present > 0 ? (double) r->count[b] / present : 0;
	}
	values[0] = CStringGetTextDatum(project);
	values[1] = Int32GetDatum(version);
	values[2] = CStringGetTextDatum(r->f->name);
	values[3] = Float8GetDatum(r->psi);
	nulls[3] = !r->has_psi;
	values[4] = Float8GetDatum(r->f->missing_rate);
	values[5] = Float8GetDatum(r->missing_rate_scored);
	nulls[5] = r->rows == 0;
	values[6] = Int64GetDatum(r->rows);
	values[7] = TimestampTzGetDatum(w->start);
	values[8] = TimestampTzGetDatum(w->end);
	values[9] = BoolGetDatum(r->drifted);
	values[10] = PointerGetDatum(construct_array(labels, nb, TEXTOID, -1, false, TYPALIGN_INT));
	values[11] = float8_array(r->f->share, nb);
	values[12] = float8_array(scored, nb);
	nulls[12] = present == 0;
	values[13] = Int64GetDatum(alert);
	nulls[13] = alert <= 0;
	(void) with_alert;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

static char *
what_of(const char *project, int32 version)
{
	return psprintf("model version %d of project \"%s\"", version, project);
}

/*
 * mlops.drift_rows(): the ml_drift view. Deployed versions with a profile,
 * as the caller sees them; one row per feature and one for the prediction.
 */
Datum
ml_drift_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MlScope		scope;
	MlDriftWindow w;
	uint64		nmodels;
	SPITupleTable *models;

	InitMaterializedSRF(fcinfo, 0);
	MlScopeEnter(&scope);
	window_now(&w);
	MlSpiExec("SELECT p.name, p.id, m.id, m.version FROM mlops.models m "
			  "JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) m.project_id "
			  "WHERE m.status OPERATOR(pg_catalog.=) 'deployed' AND m.profile IS NOT NULL "
			  "ORDER BY p.name", 0, NULL, NULL, NULL, SPI_OK_SELECT);
	nmodels = SPI_processed;
	models = SPI_tuptable;
	for (uint64 i = 0; i < nmodels; i++)
	{
		HeapTuple	tup = models->vals[i];
		bool		isnull;
		char	   *project = SPI_getvalue(tup, models->tupdesc, 1);
		int64		project_id = DatumGetInt64(SPI_getbinval(tup, models->tupdesc, 2, &isnull));
		int64		model_id = DatumGetInt64(SPI_getbinval(tup, models->tupdesc, 3, &isnull));
		int32		version = DatumGetInt32(SPI_getbinval(tup, models->tupdesc, 4, &isnull));
		char	   *what = what_of(project, version);
		MlProfile  *profile = MlDriftLoadProfile(&scope, model_id, what);
		MlDriftPolicy pol;
		MlDriftResult *res;
		int			n;

		if (profile == NULL)
			continue;			/* deployed again without one since the scan */
		MlDriftPolicyLoad(&scope, project_id, &pol);
		res = MlDriftCompute(&scope, project_id, model_id, profile, &pol, &w, what, &n);
		for (int f = 0; f < n; f++)
			put_row(rsinfo, project, version, &res[f], &w, false, 0);
	}
	MlScopeExit(&scope);
	return (Datum) 0;
}

/*
 * The training shares ml_check_drift returns are the profile's, an
 * aggregate of the training rows: a caller row-level security hides the
 * version from (mlops.models' policy: its rows are narrower than its
 * trainer's) is refused, as ml_drift leaves the version out for it.
 */
static void
require_visible(MlProject *p, int64 model_id, int32 version)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(model_id)};

	MlSpiExec("SELECT 1 FROM mlops.models WHERE id OPERATOR(pg_catalog.=) $1",
			  1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for the drift of version %d of project \"%s\"",
						version, p->name),
				 errdetail("Its training profile covers rows that row-level security on the training relation hides from you."),
				 errhint("Its trainer, or a role that row-level security does not filter, can check it.")));
}

/* The deployed version of a project the caller can see, with its profile. */
static MlProfile *
deployed_profile(MlScope *scope, MlProject *p, int64 *model_id, int32 *version)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(p->id)};
	bool		isnull;
	MlProfile  *profile;

	MlScopeAsOwner(scope);
	MlSpiExec("SELECT id, version FROM mlops.models WHERE project_id OPERATOR(pg_catalog.=) $1 "
			  "AND status OPERATOR(pg_catalog.=) 'deployed'", 1, types, values, NULL, SPI_OK_SELECT);
	MlScopeAsCaller(scope);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("project \"%s\" has no deployed version", p->name),
				 errhint("Drift is measured for the deployed version: deploy one with ml_deploy().")));
	*model_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	require_visible(p, *model_id, *version);
	profile = MlDriftLoadProfile(scope, *model_id, what_of(p->name, *version));
	if (profile == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model version %d of project \"%s\" has no training profile", *version, p->name),
				 errdetail("Versions trained before pg_mlops 0.3.0 carry none, so their drift cannot be measured."),
				 errhint("Train and deploy a new version (ml_train records its profile).")));
	return profile;
}

/*
 * ml_check_drift(project): the project's drift now, alerts raised (and the
 * retrain job started) for what drifted; the ml_drift columns plus the id
 * of the alert raised by this call.
 */
Datum
ml_check_drift(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MlScope		scope;
	MlProject  *p;
	MlProfile  *profile;
	MlDriftPolicy pol;
	MlDriftWindow w;
	MlDriftResult *res;
	int64		model_id;
	int32		version;
	int64	   *alerts;
	int			n;
	char	   *project = MlTextArg(fcinfo, 0, "project");

	InitMaterializedSRF(fcinfo, 0);
	MlScopeEnter(&scope);
	p = MlProjectLookup(&scope, project);
	profile = deployed_profile(&scope, p, &model_id, &version);
	MlDriftPolicyLoad(&scope, p->id, &pol);
	window_now(&w);
	res = MlDriftCompute(&scope, p->id, model_id, profile, &pol, &w, what_of(p->name, version), &n);
	alerts = MlDriftRaiseAlerts(&scope, p->id, model_id, version, res, n, &pol, &w);
	for (int f = 0; f < n; f++)
		put_row(rsinfo, p->name, version, &res[f], &w, true, alerts[f]);
	MlScopeExit(&scope);
	return (Datum) 0;
}

/* After a logged ml_score batch: the window's drift, alerts (as the owner). */
void
MlDriftAfterScore(MlScope *scope, int64 project_id, int64 model_id, int32 version,
				  MlProfile *profile, const char *what)
{
	MlDriftPolicy pol;
	MlDriftWindow w;
	MlDriftResult *res;
	int			n;

	if (!ml_drift_check_on_score)
		return;
	MlDriftPolicyLoad(scope, project_id, &pol);
	window_now(&w);
	res = MlDriftCompute(scope, project_id, model_id, profile, &pol, &w, what, &n);
	(void) MlDriftRaiseAlerts(scope, project_id, model_id, version, res, n, &pol, &w);
}
