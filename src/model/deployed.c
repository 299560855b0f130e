/*
 * deployed.c
 *	  The per-backend cache of loaded models for scoring.
 *
 * ml_predict runs once per row, so it cannot read the catalog each time.
 * Loaded models are kept in a context of their own, by project (the
 * deployed version) or by model id (a pinned version, for ml_score).
 * Every change to what a project deploys (ml_deploy, ml_rollback,
 * ml_train, membership and project changes) sends a relcache invalidation
 * for mlops.models; any invalidation of the catalog tables, a full reset,
 * or a change of role membership drops the whole cache, in this backend
 * and every other one, at their next command.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "api/api.h"
#include "core/catalog.h"
#include "model/deployed.h"

static MemoryContext cache_cxt = NULL;	/* holds the list cells */
static List *entries = NIL;
static bool callbacks_done = false;
static Oid	watched[4];
static bool watched_valid = false;	/* re-resolved after a full reset */
uint64		MlDeployedGeneration = 1;

/* Each entry lives in a context of its own, so one can be built while a flush drops the rest. */
static void
flush(void)
{
	ListCell   *lc;

	/*
	 * A call of this transaction may still hold an entry (an invalidation
	 * arrives at any lock): inside a transaction the entries live on until
	 * its end, and the generation tells their holders to fetch again.
	 */
	foreach(lc, entries)
	{
		MemoryContext cxt = ((MlDeployed *) lfirst(lc))->cxt;

		if (IsTransactionState())
			MemoryContextSetParent(cxt, TopTransactionContext);
		else
			MemoryContextDelete(cxt);
	}
	list_free(entries);
	entries = NIL;
	MlDeployedGeneration++;
}

static void
relcache_cb(Datum arg, Oid relid)
{
	(void) arg;
	if (!OidIsValid(relid) || relid == watched[0] || relid == watched[1] || relid == watched[2] ||
		relid == watched[3])
	{
		flush();
		watched_valid = false;
	}
}

static void
syscache_cb(Datum arg, int cacheid, uint32 hashvalue)
{
	(void) arg;
	(void) cacheid;
	(void) hashvalue;
	flush();
}

static void
setup(void)
{
	if (!watched_valid)
	{
		Oid			nsp = get_namespace_oid("mlops", false);

		watched[0] = get_relname_relid("models", nsp);
		watched[1] = get_relname_relid("projects", nsp);
		watched[2] = get_relname_relid("project_members", nsp);
		watched[3] = get_relname_relid("exposures", nsp);	/* none before 0.3.0 */
		watched_valid = true;
	}
	if (callbacks_done)
		return;
	cache_cxt = AllocSetContextCreate(TopMemoryContext, "pg_mlops scoring cache",
									  ALLOCSET_DEFAULT_SIZES);
	CacheRegisterRelcacheCallback(relcache_cb, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMMEMROLE, syscache_cb, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, syscache_cb, (Datum) 0);
	callbacks_done = true;
}

/* The row of the model to score: deployed (model_id 0) or pinned. */
static void
read_model_row(MlScope *scope, MlProject *p, int64 model_id)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		values[2] = {Int64GetDatum(p->id), Int64GetDatum(model_id)};

	MlScopeAsOwner(scope);
	if (model_id == 0)
		MlSpiExec("SELECT id, version, payload FROM mlops.models "
				  "WHERE project_id OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) 'deployed'",
				  1, types, values, NULL, SPI_OK_SELECT);
	else
		MlSpiExec("SELECT id, version, payload FROM mlops.models "
				  "WHERE project_id OPERATOR(pg_catalog.=) $1 AND id OPERATOR(pg_catalog.=) $2",
				  2, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 model_id == 0 ?
				 errmsg("project \"%s\" has no deployed model", p->name) :
				 errmsg("the model to score no longer exists in project \"%s\"", p->name),
				 errhint("An engineer deploys a ready version with ml_deploy().")));
}

static MlDeployed *
load_entry(const char *project, int64 model_id, MemoryContext cxt)
{
	MlScope		scope;
	MlProject  *p;
	MlExposure *exposure;
	MlDeployed *e;
	bool		isnull;
	MemoryContext old;
	bytea	   *payload;
	Datum		stored;

	MlScopeEnter(&scope);
	/* a role without access to the project scores it only through an exposure */
	p = MlApiScoringProject(&scope, project, model_id != 0, &exposure);
	read_model_row(&scope, p, model_id);
	old = MemoryContextSwitchTo(cxt);
	e = palloc0(sizeof(MlDeployed));
	e->cxt = cxt;
	e->project = pstrdup(project);
	e->project_id = p->id;
	e->pinned = model_id != 0;
	e->model_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	e->version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	e->role = scope.caller;
	if (exposure != NULL)
		e->exposure = MlApiExposureCopy(exposure);
	/* a NULL payload (a damaged row) is refused before it is detoasted */
	stored = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model version %d of project \"%s\" has no payload", e->version, p->name),
				 errhint("Its row in mlops.models was altered: train a new version.")));
	payload = DatumGetByteaPCopy(stored);
	e->what = psprintf("model version %d of project \"%s\"", e->version, p->name);
	e->trained = MlTrainedLoad(payload, e->what);
	MemoryContextSwitchTo(old);
	MlScopeExit(&scope);
	return e;
}

/*
 * The model to score for this role: the project's deployed version
 * (model_id 0) or a pinned version. Errors leave the cache consistent: an
 * entry is added only once fully loaded.
 */
MlDeployed *
MlDeployedGet(const char *project, int64 model_id)
{
	ListCell   *lc;
	Oid			role = GetUserId();

	setup();
	foreach(lc, entries)
	{
		MlDeployed *e = lfirst(lc);

		if (e->role == role && strcmp(e->project, project) == 0 &&
			(model_id == 0 ? !e->pinned : e->model_id == model_id))
			return e;
	}
	{
		uint64		gen = MlDeployedGeneration;
		MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "pg_mlops scored model",
												  ALLOCSET_DEFAULT_SIZES);
		MlDeployed *volatile e = NULL;
		MemoryContext old;

		PG_TRY();
		{
			e = load_entry(project, model_id, cxt);
		}
		PG_CATCH();
		{
			MemoryContextDelete(cxt);
			PG_RE_THROW();
		}
		PG_END_TRY();
		/*
		 * An invalidation that arrived while loading may concern this very
		 * model: then it serves this call only and is dropped at the next
		 * flush, like every cached entry.
		 */
		old = MemoryContextSwitchTo(cache_cxt);
		entries = lappend(entries, e);
		MemoryContextSwitchTo(old);
		if (gen != MlDeployedGeneration)
			MlDeployedGeneration++;
		return e;
	}
}
