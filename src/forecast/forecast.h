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
 * The series of a relation (series.c): valid points sorted by series, then
 * time. Series i holds points start[i] .. start[i] + len[i] - 1.
 */
typedef struct FcSeriesSet
{
	int64		nrows;			/* rows read */
	int64		npoints;		/* rows with a value and a time */
	int64		rows_without_value;
	int64		rows_without_time;
	int64		nseries;
	int64	   *start;
	int		   *len;
	char	  **key;			/* JSON object text: {"column": value, ...} */
	double	   *ts;				/* epoch seconds */
	double	   *y;
	double		tmin;			/* over every point */
	double		tmax;
	Oid			time_type;
} FcSeriesSet;

extern FcSeriesSet *FcLoadSeries(Oid relid, const char *target, const char *time_column,
								 List *series_by);

/* Run fn(ctx, task, worker) for tasks 0..ntasks-1 on nworkers threads; returns the threads used. */
typedef void (*FcTaskFn) (void *ctx, int64 task, int worker);
extern int	FcRunWorkers(int nworkers, FcTaskFn fn, void *ctx, int64 ntasks);

#endif							/* ML_FORECAST_H */
