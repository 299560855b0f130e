/*
 * forecast.h
 *	  Forecasting: the stored per-series models (payload.c), the worker
 *	  threads that fit them (workers.c), training (train.c) and forecasts
 *	  (forecast.c).
 */
#ifndef ML_FORECAST_H
#define ML_FORECAST_H

#include "postgres.h"

#include "nodes/pg_list.h"

#include "forecast/prophet.h"

#define FC_ALGORITHM "prophet_ridge"
#define FC_PAYLOAD_MAGIC "PGMLFCST"
#define FC_PAYLOAD_FORMAT 1
#define FC_MAX_WORKERS 8
#define FC_MAX_HORIZON 10000

/* Every series of a stored version; skipped series keep their status. */
typedef struct FcStored
{
	FcConfig	cfg;
	bool		local_time;		/* date or timestamp: times are wall-clock, no zone */
	int64		nseries;
	char	  **key;			/* the series key as JSON text */
	FcModel    *models;
} FcStored;

extern bytea *FcStoredSave(FcStored *s);
extern FcStored *FcStoredLoad(bytea *payload, const char *what);

/*
 * One series as read (series.c): its points, sorted by time once it is
 * complete, and after the fits its model (fit.c).
 */
typedef struct FcSeries
{
	char	   *key;			/* JSON object text: {"column": value, ...} */
	double	   *ts;				/* epoch seconds */
	double	   *y;
	int			len;
	int			cap;
	bool		handed;			/* given to the ready callback, sorted, complete so far */
	bool		reopened;		/* rows came after it was handed: its points moved to new buffers */
	bool		queued;			/* (fit.c) its fit was queued while the relation was read */
	uint64		hash;			/* (fit.c) of its points, for the version's fingerprint */
	FcModel		model;
} FcSeries;

/*
 * Called in the backend while the relation is read, for each series whose
 * run of consecutive rows just ended: its points are sorted and, unless more
 * rows of it follow later (reopened), final. The buffers it was handed with
 * are never moved or freed before FcLoadSeries' caller frees the context.
 */
typedef void (*FcSeriesReady) (void *arg, FcSeries *s);

/* The series of a relation (series.c), in key order. */
typedef struct FcSeriesSet
{
	int64		nrows;			/* rows read */
	int64		npoints;		/* rows with a value and a time */
	int64		rows_without_value;
	int64		rows_without_time;
	int64		nseries;
	FcSeries  **series;
	double		tmin;			/* over every point */
	double		tmax;
	Oid			time_type;
} FcSeriesSet;

extern FcSeriesSet *FcLoadSeries(Oid relid, const char *target, const char *time_column,
								 List *series_by, FcSeriesReady ready, void *arg);

/*
 * Tasks run by fn(ctx, task, worker) on worker threads (workers.c); worker 0
 * is the backend, threads are 1 .. FC_MAX_WORKERS - 1.
 */
typedef void (*FcTaskFn) (void *ctx, int64 task, int worker);
typedef struct FcPool FcPool;
extern FcPool *FcPoolStart(int nthreads, FcTaskFn fn, void *ctx);
extern void FcPoolPublish(FcPool *p, int64 ntasks);
extern int	FcPoolFinish(FcPool *p);
extern void FcPoolAbort(FcPool *p);
extern int	FcRunWorkers(int nworkers, FcTaskFn fn, void *ctx, int64 ntasks);

#endif							/* ML_FORECAST_H */
