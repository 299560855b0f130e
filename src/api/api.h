/*
 * api.h
 *	  API management: exposures of a project's deployed model to consumer
 *	  roles, metering of the calls that go through them, quotas.
 *
 * Scoring (model/deployed.c, predict.c, score.c) calls in here at a few
 * points only: when it loads a model for a role (MlApiScoringProject,
 * MlApiExposureCopy), for every row it scores and hands out (MlApiRowStart,
 * MlApiRow: inline fast paths) and for a block of rows (MlApiRows). The
 * scheduler's dispatch pass calls the flush (MlApiUsageFlush).
 */
#ifndef ML_API_H
#define ML_API_H

#include "postgres.h"

#include "core/catalog.h"
#include "datatype/timestamp.h"

struct MlApiMeter;

/* One exposure as a scoring backend holds it, in the cached model's context. */
typedef struct MlExposure
{
	uint64		id;				/* unique in this backend: never reused */
	int64		project_id;
	char	   *project_name;
	NameData	consumer;		/* the exposure's role, its name when loaded */
	Oid			consumer_oid;	/* ... and its OID: what the usage is keyed by */
	int64		rows_per_day;	/* 0: no limit */
	int32		calls_per_second;	/* 0: no limit */
	struct MlApiMeter *meter;	/* the running statement's meter, if any */
} MlExposure;

/*
 * Bumped by metering.c whenever a statement may have begun or ended (an
 * outermost executor run or utility statement, the end of a call or of a
 * transaction): while it holds, a meter checked once is still the
 * statement's.
 */
extern uint64 MlApiGeneration;

/* The statement meter: what MlApiRow checks and counts without a call. */
typedef struct MlApiMeter
{
	uint64		generation;		/* MlApiGeneration when last found current */
	uint64		exposure_id;
	TimestampTz stmt_start;
	LocalTransactionId lxid;
	bool		open;
	bool		failed;			/* refused by a limit */
	int64		rows;			/* handed out by this statement */
	int64		charged;		/* of which already added to the shared counter */
	int64		reserved;		/* more in the shared counter, not handed out yet */
	struct MlUsageEntry *entry; /* the shared usage entry (usage.h) */
} MlApiMeter;

/* exposure.c */
extern MlProject *MlApiScoringProject(MlScope *scope, const char *name, bool pinned,
									  MlExposure **exposure);
extern MlExposure *MlApiExposureCopy(const MlExposure *x);
extern bool MlApiExposureVisible(int64 project_id, Oid consumer);

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

	if (unlikely(m == NULL || m->generation != MlApiGeneration || m->exposure_id != x->id))
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
	if (x->rows_per_day > 0 && m->reserved == 0)
		MlApiChargeRows(x, m, 1);
	else
	{
		/* no quota, or a row the statement has reserved already */
		if (x->rows_per_day > 0)
		{
			m->reserved--;
			m->charged++;
		}
		m->rows++;
	}
}

#endif							/* ML_API_H */
