/*
 * subxact.c
 *	  A step that may fail without failing the caller: run in an internal
 *	  subtransaction (as PL/pgSQL's EXCEPTION blocks do), its error turned
 *	  into a message. The subtransaction's abort undoes what the step did,
 *	  including SPI connections, snapshots, user id and settings it changed.
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "core/subxact.h"

ErrorData *
MlSubxactRun(void (*fn) (void *arg), void *arg)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData  *volatile ed = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		ed = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_END_TRY();
	return ed;
}

bool
MlSubxactTry(void (*fn) (void *arg), void *arg, char **message)
{
	ErrorData  *ed = MlSubxactRun(fn, arg);

	if (ed == NULL)
		return true;
	*message = psprintf("%s (SQLSTATE %s)", ed->message, unpack_sql_state(ed->sqlerrcode));
	FreeErrorData(ed);
	return false;
}
