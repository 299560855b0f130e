/*
 * prophet.h
 *	  Prophet's additive structure (piecewise-linear trend with changepoints,
 *	  Fourier seasonalities, holiday effects) fitted per series by ridge
 *	  regression: the MAP estimate under Prophet's Gaussian priors.
 *
 * Everything here is compute-only: no PostgreSQL call, no palloc, no
 * ereport. The caller allocates every buffer (FcWorkspace, FcModel.beta and
 * FcModel.cp) before a thread runs a fit, so fits can run on threads.
 */
#ifndef ML_PROPHET_H
#define ML_PROPHET_H

#include "postgres.h"

#define FC_MAX_CHANGEPOINTS 100
#define FC_MAX_WEEKLY_ORDER 10
#define FC_MAX_YEARLY_ORDER 30
#define FC_MAX_HOLIDAY_GROUPS 50
#define FC_SECS_PER_DAY 86400.0
#define FC_BLOCK_ROWS 256

/* What happened to a series. */
typedef enum FcStatus
{
	FC_FITTED = 0,
	FC_SKIP_SHORT,				/* fewer points than min_points */
	FC_SKIP_ONE_TIME,			/* every point at the same time */
	FC_SKIP_FAILED				/* the system could not be solved */
} FcStatus;

/* -1: decide from the history (auto), 0: off, 1: on */
typedef struct FcConfig
{
	int			n_changepoints;
	double		changepoint_range;
	double		changepoint_prior;
	double		seasonality_prior;
	double		holiday_prior;
	int			weekly;
	int			weekly_order;
	int			yearly;
	int			yearly_order;
	int			min_points;
	double		interval_width;
	int			nholidays;		/* holiday groups */
	char	  **holiday_name;
	int		   *holiday_ndays;
	double	  **holiday_days;	/* sorted epoch days (whole days since 1970-01-01) */
} FcConfig;

/* One series' fitted model. */
typedef struct FcModel
{
	FcStatus	status;
	int			npoints;
	int64		missing;		/* steps absent between the first and last time */
	int64		duplicates;		/* points sharing a time with the previous one */
	double		t0;				/* first time, epoch seconds */
	double		tspan;			/* last - first, seconds */
	double		step;			/* smallest gap between two times, seconds */
	double		yscale;			/* max |y| (Prophet's absmax scaling) */
	int			ncp;
	double	   *cp;				/* changepoints in scaled time 0..1 (capacity cfg max) */
	int			weekly;			/* Fourier orders used (0: off) */
	int			yearly;
	int			nhol;			/* holiday columns used (0 or cfg nholidays) */
	int			p;				/* coefficients */
	double	   *beta;			/* capacity FcMaxParams(cfg) */
	double		sigma;			/* residual sd, in the target's units */
	double		rmse;			/* in sample */
	double		mae;
	double		smape;
	bool		reduced;		/* an automatic component was left out: the history is short */
} FcModel;

/* Scratch of one thread: a block of design rows and the normal equations. */
typedef struct FcWorkspace
{
	int			max_p;
	double	   *X;				/* FC_BLOCK_ROWS x max_p, row-major */
	double	   *xtx;			/* max_p x max_p */
	double	   *xty;
	double	   *a;				/* max_p x max_p */
	double	   *fit;			/* FC_BLOCK_ROWS */
} FcWorkspace;

extern int	FcMaxParams(const FcConfig *cfg);
extern Size FcWorkspaceDoubles(int max_p);
extern void FcWorkspaceInit(FcWorkspace *ws, double *mem, int max_p);
extern void FcFit(const FcConfig *cfg, const double *ts, const double *y, int n,
				  FcWorkspace *ws, FcModel *m);
extern void FcDesignRow(const FcConfig *cfg, const FcModel *m, double ts, double *row);
extern double FcPredict(const FcConfig *cfg, const FcModel *m, double ts, double *row);
extern double FcNormalQuantile(double p);

#endif							/* ML_PROPHET_H */
