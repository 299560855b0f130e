/*
 * row_security.c
 *	  mlops.rows_unrestricted(relid): whether row-level security leaves the
 *	  calling role every row of a relation, for the policies of the
 *	  catalog rows that aggregate a relation's rows (column profiles,
 *	  model, cleaning and drift reports).
 *
 * An aggregate built by one role covers the rows that role could read. A
 * reader whose row-level security is narrower must not see it: a count, a
 * mean or a histogram bin over rows a policy hides from the reader tells
 * the reader about them. So, besides its builder, a reader sees such a
 * row only when no policy filters the relation for it: the relation has
 * no row-level security, or it does not apply to the reader (the table's
 * owner without FORCE, a superuser, BYPASSRLS), as PostgreSQL's
 * check_enable_rls decides. A view is looked through: its rows come from
 * the relations it reads, and a policy on one of them filters with the
 * reader's CURRENT_USER even through a view that is not security_invoker,
 * so a view reading (directly or through other views) a table with
 * row-level security enabled counts as filtered, unless the reader
 * bypasses row-level security altogether. So does a view whose rows may
 * depend on who reads it without any policy -- row security written into
 * the view itself (WHERE owner = current_user, a privilege test), or a
 * function or operator not built in (which may read such a table, or ask
 * who is reading): its rows are the reader's, not the builder's, and
 * BYPASSRLS, which skips policies only, changes nothing about that.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "access/transam.h"
#include "catalog/indexing.h"
#include "catalog/pg_class.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_rewrite.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "rewrite/rewriteHandler.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/fmgroids.h"
#include "utils/rls.h"
#include "utils/syscache.h"

/* views nested deeper than this count as filtered (no view is this deep) */
#define VIEW_DEPTH_MAX	32

PG_FUNCTION_INFO_V1(ml_rows_unrestricted);

static bool any_row_security(Oid relid, int depth, bool bypass);

/* The OID of a view's _RETURN rule, or InvalidOid. */
static Oid
view_rule(Oid view)
{
	HeapTuple	tup = SearchSysCache2(RULERELNAME, ObjectIdGetDatum(view),
									  PointerGetDatum("_RETURN"));
	Oid			rule;

	if (!HeapTupleIsValid(tup))
		return InvalidOid;
	rule = ((Form_pg_rewrite) GETSTRUCT(tup))->oid;
	ReleaseSysCache(tup);
	return rule;
}

/* A built-in function whose result depends on the role that calls it. */
static bool
identity_function(Oid funcid)
{
	char	   *name = get_func_name(funcid);
	size_t		len = name ? strlen(name) : 0;

	if (name == NULL)
		return true;
	return strcmp(name, "current_user") == 0 || strcmp(name, "session_user") == 0 ||
		strcmp(name, "current_role") == 0 || strcmp(name, "pg_has_role") == 0 ||
		strcmp(name, "current_setting") == 0 ||
		(strncmp(name, "has_", 4) == 0 && len > 10 && strcmp(name + len - 10, "_privilege") == 0);
}

/* Does an expression of a view's query ask who the reader is? */
static bool
asks_identity(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, SQLValueFunction))
	{
		SQLValueFunctionOp op = ((SQLValueFunction *) node)->op;

		if (op == SVFOP_CURRENT_ROLE || op == SVFOP_CURRENT_USER || op == SVFOP_USER ||
			op == SVFOP_SESSION_USER)
			return true;
	}
	else if (IsA(node, FuncExpr) && identity_function(((FuncExpr *) node)->funcid))
		return true;
	else if (IsA(node, Query))
		return query_tree_walker((Query *) node, asks_identity, context, 0);
	return expression_tree_walker(node, asks_identity, context);
}

/* Whether a view's own query may give each reader other rows (see the file header). */
static bool
view_asks_identity(Oid view)
{
	Relation	rel = table_open(view, AccessShareLock);
	bool		asks = asks_identity((Node *) get_view_query(rel), NULL);

	table_close(rel, AccessShareLock);
	return asks;
}

/*
 * Has one of the relations a view's rule reads row-level security enabled,
 * or may its rows depend on the reader otherwise?
 */
static bool
view_reads_row_security(Oid view, int depth, bool bypass)
{
	Oid			rule = view_rule(view);
	Relation	dep;
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	if (!OidIsValid(rule))
		return true;			/* a view without its rule: do not guess */
	dep = table_open(DependRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_depend_classid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(RewriteRelationId));
	ScanKeyInit(&key[1], Anum_pg_depend_objid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(rule));
	scan = systable_beginscan(dep, DependDependerIndexId, true, NULL, 2, key);
	while (!found && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_depend d = (Form_pg_depend) GETSTRUCT(tup);

		/* the rule depends on its own view too (internally): not a source */
		if (d->refclassid == RelationRelationId && d->refobjid != view)
			found = any_row_security(d->refobjid, depth + 1, bypass);
		else if ((d->refclassid == ProcedureRelationId || d->refclassid == OperatorRelationId) &&
				 d->refobjid >= FirstNormalObjectId)
			found = true;		/* not built in: it may read anything, ask anything */
	}
	systable_endscan(scan);
	table_close(dep, AccessShareLock);
	return found || view_asks_identity(view);
}

/* Row-level security enabled on a relation, or on one a view reads. */
static bool
any_row_security(Oid relid, int depth, bool bypass)
{
	HeapTuple	tup;
	char		relkind;
	bool		rls;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	if (depth > VIEW_DEPTH_MAX)
		return true;
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		return false;
	relkind = ((Form_pg_class) GETSTRUCT(tup))->relkind;
	rls = ((Form_pg_class) GETSTRUCT(tup))->relrowsecurity;
	ReleaseSysCache(tup);
	if (relkind == RELKIND_VIEW)
		return view_reads_row_security(relid, depth, bypass);
	return rls && !bypass;
}

/*
 * mlops.rows_unrestricted(relid oid) -> boolean: true when row-level
 * security filters no row of the relation for the calling role; false for
 * a relation that does not exist.
 */
Datum
ml_rows_unrestricted(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Oid			user = GetUserId();
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	char		relkind;

	if (!HeapTupleIsValid(tup))
		PG_RETURN_BOOL(false);
	relkind = ((Form_pg_class) GETSTRUCT(tup))->relkind;
	ReleaseSysCache(tup);
	if (superuser_arg(user))
		PG_RETURN_BOOL(true);
	/* BYPASSRLS skips policies, not the row security a view writes itself */
	if (relkind == RELKIND_VIEW)
		PG_RETURN_BOOL(!view_reads_row_security(relid, 0, has_bypassrls_privilege(user)));
	if (has_bypassrls_privilege(user))
		PG_RETURN_BOOL(true);
	PG_RETURN_BOOL(check_enable_rls(relid, InvalidOid, true) != RLS_ENABLED);
}
