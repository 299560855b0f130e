/*
 * api.h
 *	  API management: exposures of a project's deployed model to consumer
 *	  roles, metering of the calls that go through them, quotas.
 *
 * Scoring (model/deployed.c, predict.c, score.c) calls in here at three
 * points only: when it loads a model for a role (MlApiScoringProject),
 * for every row it hands out (MlApiRow, inline fast path) and for a block
 * of rows (MlApiRows).
 */
#ifndef ML_API_H
#define ML_API_H

#include "postgres.h"

#include "access/xact.h"
#include "core/catalog.h"
#include "datatype/timestamp.h"
#include "storage/proc.h"

struct MlApiMeter;

/* One exposure as a scoring backend holds it, in the cached model's context. */
typedef struct MlExposure
{
	uint64		id;				/* unique in this backend: never reused */
	int64		project_id;
	char	   *project_name;
	NameData	consumer;		/* the role named in the exposure */
	int64		rows_per_day;	/* 0: no limit */
	int32		calls_per_second;	/* 0: no limit */
	struct MlApiMeter *meter;	/* the running statement's meter, if any */
} MlExposure;

/* The statement meter: what MlApiRow checks and counts without a call. */
typedef struct MlApiMeter
{
	uint64		exposure_id;
	TimestampTz stmt_start;
	LocalTransactionId lxid;
	bool		open;
	bool		failed;			/* refused by a limit */
	int64		rows;			/* handed out by this statement */
	int64		charged;		/* of which already added to the shared counter */
	struct MlUsageEntry *entry; /* the shared usage entry (usage.h) */
} MlApiMeter;

/* exposure.c */
extern MlProject *MlApiScoringProject(MlScope *scope, const char *name, bool pinned,
									  MlExposure **exposure);
extern MlExposure *MlApiExposureCopy(const MlExposure *x);
extern bool MlApiExposureVisible(int64 project_id, const char *consumer);

/* metering.c */
extern void MlApiInit(void);
extern void MlApiRequireShmem(const char *project);
extern MlApiMeter *MlApiBeginCall(MlExposure *x);
extern void MlApiRows(MlExposure *x, int64 n);

/* quota.c */
extern void MlApiChargeRows(MlExposure *x, MlApiMeter *m, int64 n);
extern void MlApiCheckRate(MlExposure *x, MlApiMeter *m);

/* usage.c: the dispatch worker's flush into mlops.api_usage */
extern void *MlApiUsageFlush(int *nflushed);
extern void MlApiUsageFlushed(void *flushed, int n);

/* The statement's meter of an exposure, opened by its first row. */
static inline MlApiMeter *
MlApiMeterOf(MlExposure *x)
{
	MlApiMeter *m = x->meter;

	if (unlikely(m == NULL || !m->open || m->exposure_id != x->id ||
				 m->stmt_start != GetCurrentStatementStartTimestamp() ||
				 m->lxid != MyProc->lxid))
		m = MlApiBeginCall(x);
	return m;
}

/*
 * A row about to be scored through an exposure (x NULL: direct access, not
 * metered): the call begins with its first row, so a row that fails counts
 * its call as an error. The statement's meter is found without a call.
 */
static inline void
MlApiRowStart(MlExposure *x)
{
	if (unlikely(x != NULL))
		(void) MlApiMeterOf(x);
}

/* A row handed out: counted, and charged to the daily quota if there is one. */
static inline void
MlApiRow(MlExposure *x)
{
	MlApiMeter *m;

	if (likely(x == NULL))
		return;
	m = MlApiMeterOf(x);
	if (x->rows_per_day > 0)
		MlApiChargeRows(x, m, 1);
	else
		m->rows++;
}

#endif							/* ML_API_H */
