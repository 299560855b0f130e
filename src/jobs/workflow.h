/*
 * workflow.h
 *	  Workflows: their steps as validated (workflow_steps.c), the SQL
 *	  functions that define them (workflow.c) and their runs
 *	  (workflow_run.c, driven by the run worker, worker.c).
 */
#ifndef ML_WORKFLOW_H
#define ML_WORKFLOW_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "utils/jsonb.h"

#define ML_WORKFLOW_MAX_STEPS 50

typedef enum MlWorkflowKind
{
	ML_WF_IMPORT,
	ML_WF_CLEAN,
	ML_WF_TRAIN,
	ML_WF_EVALUATE,
	ML_WF_GATE,
	ML_WF_DEPLOY,
	ML_WF_SCORE,
	ML_WF_REPORT
} MlWorkflowKind;

/* One step, every name quoted and schema-qualified, every default filled. */
typedef struct MlWorkflowStep
{
	MlWorkflowKind kind;
	const char *kind_name;
	char	   *algorithm;		/* train */
	char	   *hyperparams;	/* train: JSON object */
	char	   *options;		/* train, clean, import, evaluate, report: JSON object */
	char	   *relation;		/* read: import, clean, evaluate, score */
	char	   *path;			/* import: a server file */
	char	   *into;			/* written: import, clean, score */
	char	   *mode;			/* append or replace */
	char	   *recipe;			/* clean: recipe id */
	char	   *metric;			/* gate */
	bool		lower_better;	/* gate */
	double		margin;			/* gate: absolute, or a fraction when relative */
	bool		relative;		/* gate */
	char	   *report_kind;	/* report */
	bool		publish;		/* report */
} MlWorkflowStep;

/*
 * Parse and check steps. At creation (stored false) names resolve with the
 * caller's search_path and recipes by name; the result's JSON (normalised)
 * is what is stored. Stored steps (stored true) are checked again the same
 * way, their names only re-quoted.
 */
extern MlWorkflowStep *MlWorkflowParse(Jsonb *steps, const char *task, bool stored,
									   int *nsteps, char **normalised);

/* workflow.c: a workflow job's workflow, by name in the job's project (jobs_api.c) */
extern void MlWorkflowBindJob(struct MlScope *scope, int64 job, int64 project_id, const char *name);
extern const char *MlWorkflowRolesColumns(void);
extern void MlWorkflowCheckCreator(const char *workflow, HeapTuple tup, TupleDesc desc, int first);

/* workflow_run.c: a run, one transaction per step (worker.c) */
typedef struct MlWorkflowRun MlWorkflowRun;

extern MlWorkflowRun *MlWorkflowBegin(int64 run, int64 job, int64 project_id,
									  const char *project, const char *ext, MemoryContext cxt);
extern bool MlWorkflowNextStep(MlWorkflowRun *w);
extern void MlWorkflowStepFailed(MlWorkflowRun *w, const char *status, const char *message);
extern const char *MlWorkflowSummary(MlWorkflowRun *w, int64 *rows, bool *has_rows);

#endif							/* ML_WORKFLOW_H */
