/*
 * catalog.h
 *	  Access to the pg_mlops catalog: caller checks, writes as the extension
 *	  owner under a pinned search_path, audit rows.
 */
#ifndef ML_CATALOG_H
#define ML_CATALOG_H

#include "postgres.h"

#include "executor/spi.h"
#include "nodes/primnodes.h"

/*
 * A catalog scope brackets every API call that reads or writes the catalog.
 * It pins search_path to "pg_catalog, pg_temp" (so nothing the caller put
 * in its path can capture our queries), connects SPI, and remembers who the
 * caller is so we can switch to the extension owner for writes and back.
 */
typedef struct MlScope
{
	Oid			caller;			/* role that called the API function */
	char	   *caller_name;
	Oid			owner;			/* owner of the extension */
	Oid			save_userid;
	int			save_sec_context;
	int			guc_nestlevel;
	bool		as_owner;
} MlScope;

/* How a role reaches a project (mlops.project_access). */
typedef enum MlAccess
{
	ML_ACCESS_NONE = 0,
	ML_ACCESS_ENGINEER,
	ML_ACCESS_ADMIN,
	ML_ACCESS_MEMBER,
	ML_ACCESS_OWNER
} MlAccess;

typedef struct MlProject
{
	int64		id;
	char	   *name;
	char	   *owner;
	char	   *relation_schema;
	char	   *relation_name;
	char	   *target;
	char	   *task;
	MlAccess	access;
} MlProject;

extern void MlScopeEnter(MlScope *scope);
extern void MlScopeExit(MlScope *scope);
extern void MlScopeAsOwner(MlScope *scope);
extern void MlScopeAsCaller(MlScope *scope);

extern bool MlCallerHasRole(MlScope *scope, const char *rolname);
extern MlProject *MlProjectLookup(MlScope *scope, const char *name);
extern MlProject *MlProjectFind(MlScope *scope, const char *name);
extern MlAccess MlProjectAccess(MlScope *scope, int64 project_id);
extern void MlProjectNotFound(const char *name) pg_attribute_noreturn();
extern Oid	MlProjectRelation(MlProject *p);
extern void MlProjectRequireChange(MlProject *project);
extern void MlProjectRequireTrain(MlProject *project);

extern int	MlSpiExec(const char *sql, int nargs, Oid *argtypes, Datum *values,
					  const char *nulls, int expected_rc);
extern int	MlSpiExecCached(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes,
							Datum *values, const char *nulls, int expected_rc);
extern void MlAudit(MlScope *scope, const char *action, const char *object_type,
					const char *object_name, int64 project_id,
					int nkeys, const char **keys, const char **values);

extern void MlCatalogInvalidate(void);
extern bool MlCatalogHasRoleOids(void);
extern bool MlCatalogHasColumn(const char *table, const char *column);
extern char *MlRelName(Oid relid);
extern RangeVar *MlParseInto(const char *into_table, Oid *nspid);

extern void MlRequireArg(FunctionCallInfo fcinfo, int argno, const char *argname);
extern char *MlTextArg(FunctionCallInfo fcinfo, int argno, const char *argname);
extern List *MlColumnListArg(FunctionCallInfo fcinfo, int argno, const char *argname, int max);

#endif							/* ML_CATALOG_H */
