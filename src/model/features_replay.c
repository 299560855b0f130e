/*
 * features_replay.c
 *	  A cleaning recipe's model-based fills (groupwise, regression, chain,
 *	  blend) replayed on one scored row, by the cleaning engine itself.
 *
 * ml_train fills the training frame with the recipe's fill steps on its
 * inputs (train_recipe.c), as ml_apply_recipe would fill the relation, and
 * keeps those steps in the encoder as their JSON. A scored row with a NULL
 * in an input such a step fills becomes a frame of one row (its replayed
 * inputs, typed as at training), and the same steps run on it in the same
 * order through the same readers and predictors (MlModelFromJson,
 * MlImputeApplyModel): the fill a row gets cannot differ from the one
 * ml_apply_recipe writes, since every one of these models reads only the
 * row's own cells. Rows without such a NULL never come here.
 *
 * The steps are stored behind bit 4 of the encoder's flags (never set by
 * older releases, whose payloads load as before) and checked on load:
 * valid JSON objects, methods that read only the row (no KNN: its
 * reference rows are raw source rows, never copied into a payload),
 * columns that are replayed inputs of known types, and a trial run on a
 * row of NULLs; whatever is wrong is a data-corruption error (XX001).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "clean/cleaning.h"
#include "clean/impute.h"
#include "model/features.h"

/* Fill methods whose fills read nothing but the row's own cells. */
static const char *const row_methods[] = {
	"mean", "median", "mode", "constant", "none", "groupwise", "regression", "mice", "chain", "blend"
};

/*
 * Whether every model of a step (a chain's members, a blend's own model)
 * fills from the row alone; *bad: the first method that does not.
 */
bool
MlReplayMethodOk(JsonbContainer *step, char **bad)
{
	JsonbIterator *it = JsonbIteratorInit(step);
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		method_key = false;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			method_key = v.val.string.len == 6 && memcmp(v.val.string.val, "method", 6) == 0;
			continue;
		}
		if (tok == WJB_VALUE && method_key)
		{
			char	   *m = v.type == jbvString ? pnstrdup(v.val.string.val, v.val.string.len) : "?";
			int			k;

			for (k = 0; k < (int) lengthof(row_methods); k++)
				if (strcmp(row_methods[k], m) == 0)
					break;
			if (k == (int) lengthof(row_methods))
			{
				*bad = m;
				return false;
			}
		}
		method_key = false;
	}
	return true;
}

/* Every column a step names (its own, keys, inputs, members'), once each. */
List *
MlReplayColumns(JsonbContainer *step)
{
	JsonbIterator *it = JsonbIteratorInit(step);
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		column_key = false;
	List	   *names = NIL;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			column_key = v.val.string.len == 6 && memcmp(v.val.string.val, "column", 6) == 0;
			continue;
		}
		if (tok == WJB_VALUE && column_key && v.type == jbvString)
		{
			char	   *name = pnstrdup(v.val.string.val, v.val.string.len);
			ListCell   *lc;
			bool		seen = false;

			foreach(lc, names)
				seen |= strcmp(lfirst(lc), name) == 0;
			if (!seen)
				names = lappend(names, name);
		}
		column_key = false;
	}
	return names;
}

/* The fills that are one value whatever the row (the encoder's fast path). */
static bool
simple_fill(const char *method)
{
	return strcmp(method, "mean") == 0 || strcmp(method, "median") == 0 ||
		strcmp(method, "mode") == 0 || strcmp(method, "constant") == 0 || strcmp(method, "none") == 0;
}

/* A fill from a model over the row's other cells, which only this file replays. */
bool
MlReplayIsModelFill(const char *method)
{
	if (simple_fill(method))
		return false;
	for (int k = 0; k < (int) lengthof(row_methods); k++)
		if (strcmp(row_methods[k], method) == 0)
			return true;
	return false;
}

static int
input_named(MlEncoder *enc, const char *name)
{
	for (int i = 0; i < enc->ninputs; i++)
		if (strcmp(enc->inputs[i].name, name) == 0)
			return i;
	return -1;
}

/*
 * Derive what the steps fill from their JSON, checked against the
 * replayed inputs: NULL when all is well, else what is wrong.
 */
static const char *
replay_bind(MlEncoder *enc, MlReplay *rp)
{
	rp->target = palloc0(sizeof(bool) * Max(rp->ncols, 1));
	for (int s = 0; s < rp->nsteps; s++)
	{
		JsonbContainer *step = &rp->step[s]->root;
		JsonbValue *own;
		JsonbValue *method;
		char	   *bad;
		ListCell   *lc;
		int			target = -1;

		if (!JsonContainerIsObject(step))
			return "a recipe step is not a fill of a column";
		own = getKeyJsonValueFromContainer(step, "column", 6, NULL);
		method = getKeyJsonValueFromContainer(step, "method", 6, NULL);
		if (own == NULL || own->type != jbvString || method == NULL || method->type != jbvString)
			return "a recipe step is not a fill of a column";
		if (!MlReplayMethodOk(step, &bad))
			return "a recipe step's fill reads other rows";
		foreach(lc, MlReplayColumns(step))
		{
			int			c;

			for (c = 0; c < rp->ncols; c++)
				if (strcmp(enc->inputs[rp->input[c]].name, lfirst(lc)) == 0)
					break;
			if (c == rp->ncols)
				return "a recipe step reads a column that is not a replayed input";
			if (own->val.string.len == (int) strlen(lfirst(lc)) &&
				memcmp(own->val.string.val, lfirst(lc), own->val.string.len) == 0)
				target = c;
		}
		if (target < 0)
			return "a recipe step fills no replayed input";
		rp->target[target] = true;
		/* a model over other cells: its NULLs take the slow path */
		if (!simple_fill(pnstrdup(method->val.string.val, method->val.string.len)))
			enc->inputs[rp->input[target]].replay = true;
	}
	/*
	 * a row's frame and fills (a category's level table alone is 7 kB) fit
	 * the first block, which a reset keeps: no malloc and free per row
	 */
	rp->cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_mlops recipe replay",
									0, 64 * 1024, ALLOCSET_DEFAULT_MAXSIZE);
	rp->model_cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_mlops recipe replay models",
										  ALLOCSET_SMALL_SIZES);
	return NULL;
}

/* The base types a replayed input may have had, by its kind. */
static bool
type_fits(MlInput *in, Oid type, int32 typmod)
{
	if (in->kind == ML_INPUT_CATEGORY)
		return type == TEXTOID && typmod == -1;
	if (in->kind == ML_INPUT_DATETIME)
		return type == in->typid && typmod == -1;
	if (type == NUMERICOID)
		return typmod == -1 || typmod >= (int32) VARHDRSZ;
	return (type == INT2OID || type == INT4OID || type == INT8OID || type == FLOAT4OID ||
			type == FLOAT8OID) && typmod == -1;
}

/*
 * Training: the steps train_recipe.c applied to the frame (JSON texts, in
 * order), on the inputs they name, typed as the frame's columns.
 */
void
MlReplayAttach(MlEncoder *enc, List *steps, MlFrame *frame)
{
	MlReplay   *rp = palloc0(sizeof(MlReplay));
	ListCell   *lc;
	List	   *cols = NIL;
	const char *bad;

	rp->nsteps = list_length(steps);
	rp->text = palloc(sizeof(char *) * Max(rp->nsteps, 1));
	rp->step = palloc(sizeof(Jsonb *) * Max(rp->nsteps, 1));
	foreach(lc, steps)
	{
		int			s = foreach_current_index(lc);
		ListCell   *cc;

		rp->text[s] = pstrdup(lfirst(lc));
		rp->step[s] = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(rp->text[s])));
		foreach(cc, MlReplayColumns(&rp->step[s]->root))
		{
			int			i = input_named(enc, lfirst(cc));

			if (i < 0)
				elog(ERROR, "recipe step column \"%s\" is no input", (char *) lfirst(cc));
			cols = list_append_unique_int(cols, i);
		}
	}
	rp->ncols = list_length(cols);
	rp->input = palloc(sizeof(int) * Max(rp->ncols, 1));
	rp->type = palloc(sizeof(Oid) * Max(rp->ncols, 1));
	rp->typmod = palloc(sizeof(int32) * Max(rp->ncols, 1));
	foreach(lc, cols)
	{
		int			c = foreach_current_index(lc);
		MlInput    *in = &enc->inputs[lfirst_int(lc)];
		MlColumn   *col = &frame->cols[MlFrameColumn(frame, in->name)];

		rp->input[c] = lfirst_int(lc);
		/*
		 * categories are replayed as their text (a fill's level is text);
		 * text read as numbers as the float8 the frame holds
		 */
		rp->type[c] = in->kind == ML_INPUT_CATEGORY ? TEXTOID : col->basetype;
		/* a domain's typmod: the replayed fills are rounded as the domain holds them */
		rp->typmod[c] = in->kind == ML_INPUT_NUMERIC ? MlHeldTypmod(col, NULL) : -1;
		if (in->kind == ML_INPUT_NUMERIC && !type_fits(in, rp->type[c], rp->typmod[c]))
		{
			rp->type[c] = FLOAT8OID;
			rp->typmod[c] = -1;
		}
	}
	if ((bad = replay_bind(enc, rp)) != NULL)
		elog(ERROR, "recipe steps of the encoder are inconsistent: %s", bad);
	enc->replay = rp;
}

void
MlReplaySave(MlEncoder *enc, StringInfo buf)
{
	MlReplay   *rp = enc->replay;

	MlWriteInt32(buf, rp->nsteps);
	for (int s = 0; s < rp->nsteps; s++)
		MlWriteString(buf, rp->text[s]);
	MlWriteInt32(buf, rp->ncols);
	for (int c = 0; c < rp->ncols; c++)
	{
		MlWriteInt32(buf, rp->input[c]);
		MlWriteInt32(buf, (int32) rp->type[c]);
		MlWriteInt32(buf, rp->typmod[c]);
	}
}

/*
 * A step's JSON text parsed, or NULL when it is no JSON object. Text the
 * JSON grammar accepts may still be refused by jsonb_in (a number out of
 * numeric's range): that data error is the payload's too, raised as XX001.
 */
static Jsonb *
parse_step(MlReader *r, char *text)
{
	MemoryContext old = CurrentMemoryContext;

	/*
	 * Parsed in a context of its own: jsonb_in builds a tree of every value
	 * (several times the text), and the caller's is a cached model's
	 * context (model/deployed.c), which would keep it. The Jsonb is one
	 * flat value, copied out.
	 */
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "pg_mlops recipe step parse",
											  ALLOCSET_DEFAULT_SIZES);
	JsonLexContext *lex;
	Jsonb	   *volatile j = NULL;
	Jsonb	   *copy;

	MemoryContextSwitchTo(tmp);
	lex = makeJsonLexContextCstringLen(text, strlen(text), GetDatabaseEncoding(), true);
	if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(tmp);
		return NULL;
	}
	PG_TRY();
	{
		j = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(old);
		e = CopyErrorData();
		/* a cancel, a lack of memory or of stack is not the payload's fault */
		if (ERRCODE_TO_CATEGORY(e->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
			PG_RE_THROW();
		FlushErrorState();
		MlPayloadInvalid(r, psprintf("a recipe step is not valid JSON: %s", e->message));
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	if (!JB_ROOT_IS_OBJECT(j) || JB_ROOT_IS_SCALAR(j))
	{
		MemoryContextDelete(tmp);
		return NULL;
	}
	copy = palloc(VARSIZE(j));
	memcpy(copy, j, VARSIZE(j));
	MemoryContextDelete(tmp);
	return copy;
}

/*
 * A trial run on a row of NULLs: every step bound and applied. An error of
 * the engine on what was read back means the steps were tampered with.
 */
static void
trial_run(MlEncoder *enc, MlReader *r)
{
	MlReplay   *rp = enc->replay;
	MlReplayCell *cells = palloc0(sizeof(MlReplayCell) * rp->ncols);
	double	   *out = palloc(sizeof(double) * rp->ncols);
	MemoryContext old = CurrentMemoryContext;

	for (int c = 0; c < rp->ncols; c++)
		cells[c].isnull = true;
	PG_TRY();
	{
		MlReplayRow(enc, cells, out);
	}
	PG_CATCH();
	{
		ErrorData  *e;
		int			class;

		MemoryContextSwitchTo(old);
		e = CopyErrorData();
		class = ERRCODE_TO_CATEGORY(e->sqlerrcode);
		/* a cancel or a lack of memory is not the payload's fault */
		if (class != ERRCODE_DATA_EXCEPTION && class != ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION &&
			class != ERRCODE_FEATURE_NOT_SUPPORTED && e->sqlerrcode != ERRCODE_DATA_CORRUPTED)
			PG_RE_THROW();
		FlushErrorState();
		MlPayloadInvalid(r, psprintf("its recipe steps cannot be replayed: %s", e->message));
	}
	PG_END_TRY();
}

void
MlReplayLoad(MlEncoder *enc, MlReader *r)
{
	MlReplay   *rp = palloc0(sizeof(MlReplay));
	bool	   *seen = palloc0(sizeof(bool) * enc->ninputs);
	const char *bad;

	rp->nsteps = MlReadInt32(r, 1, ML_REPLAY_MAX_STEPS);
	if (rp->nsteps > (r->len - r->pos) / 4)
		MlPayloadInvalid(r, "it ends too early");
	rp->text = palloc(sizeof(char *) * rp->nsteps);
	rp->step = palloc(sizeof(Jsonb *) * rp->nsteps);
	for (int s = 0; s < rp->nsteps; s++)
	{
		rp->text[s] = MlReadString(r);
		if ((rp->step[s] = parse_step(r, rp->text[s])) == NULL)
			MlPayloadInvalid(r, "a recipe step is not a JSON object");
	}
	rp->ncols = MlReadInt32(r, 1, enc->ninputs);
	rp->input = palloc(sizeof(int) * rp->ncols);
	rp->type = palloc(sizeof(Oid) * rp->ncols);
	rp->typmod = palloc(sizeof(int32) * rp->ncols);
	for (int c = 0; c < rp->ncols; c++)
	{
		rp->input[c] = MlReadInt32(r, 0, enc->ninputs - 1);
		rp->type[c] = (Oid) MlReadInt32(r, 0, PG_INT32_MAX);
		rp->typmod[c] = MlReadInt32(r, -1, PG_INT32_MAX);
		if (seen[rp->input[c]])
			MlPayloadInvalid(r, "an input is replayed twice");
		seen[rp->input[c]] = true;
		if (!type_fits(&enc->inputs[rp->input[c]], rp->type[c], rp->typmod[c]))
			MlPayloadInvalid(r, "a replayed input has a type of another kind");
	}
	if ((bad = replay_bind(enc, rp)) != NULL)
		MlPayloadInvalid(r, bad);
	enc->replay = rp;
	trial_run(enc, r);
}

/* The one-row frame of a scored row's replayed inputs. */
static MlFrame *
one_row_frame(MlEncoder *enc, MlReplay *rp, const MlReplayCell *cells)
{
	MlFrame    *frame = palloc0(sizeof(MlFrame));

	frame->nrows = frame->capacity = 1;
	frame->ncols = rp->ncols;
	frame->cols = palloc0(sizeof(MlColumn) * rp->ncols);
	for (int c = 0; c < rp->ncols; c++)
	{
		MlInput    *in = &enc->inputs[rp->input[c]];
		MlColumn   *col = &frame->cols[c];
		bool		isnull = cells[c].isnull;

		col->name = in->name;
		col->typid = col->basetype = rp->type[c];
		col->typmod = rp->typmod[c];
		/* a scored row's own column: its fills held as ml_apply_recipe writes them there */
		if (OidIsValid(cells[c].type) && in->kind == ML_INPUT_NUMERIC &&
			type_fits(in, cells[c].type, cells[c].typmod))
		{
			col->typid = col->basetype = cells[c].type;
			col->typmod = cells[c].typmod;
		}
		col->kind = in->kind == ML_INPUT_NUMERIC ? ML_KIND_NUMERIC :
			in->kind == ML_INPUT_DATETIME ? ML_KIND_DATETIME : ML_KIND_CATEGORICAL;
		col->decimals = -1;
		col->isnull = palloc(sizeof(bool));
		col->wasnull = palloc(sizeof(bool));
		col->x = palloc(sizeof(double));
		col->isnull[0] = col->wasnull[0] = isnull;
		col->x[0] = isnull || in->kind == ML_INPUT_CATEGORY ? NAN : cells[c].x;
		col->nnull = isnull ? 1 : 0;
		if (in->kind == ML_INPUT_CATEGORY)
		{
			MlColumnInitLevels(col);
			col->code = palloc(sizeof(int32));
			col->code[0] = isnull ? -1 : MlColumnAddLevel(col, cells[c].text);
		}
	}
	return frame;
}

/* A replayed input's cell after the steps, as the input's raw value. */
static double
cell_value(MlInput *in, MlColumn *col)
{
	if (col->isnull[0])
		return NAN;
	if (in->kind == ML_INPUT_CATEGORY)
	{
		const char *t = col->level_text[col->code[0]];
		int32		code = MlLevelCode(in, t, strlen(t));

		return code < 0 ? MlUnseenLevel() : (double) code;
	}
	return isfinite(col->x[0]) ? col->x[0] : NAN;
}

/*
 * The steps read from their JSON and bound to a frame of the replayed
 * inputs, once: reading is what a row would cost most (every number of a
 * chain's rounds parsed again), and what binding takes from a row, its
 * keys' codes, is coded again for each row (MlModelRebind). Read on a row
 * of NULLs, in the encoder's own context; an error (or a cancel) part way
 * leaves nothing read, and the next row reads them afresh.
 */
static void
read_models(MlEncoder *enc, MlReplay *rp)
{
	MemoryContext old;
	MlReplayCell *cells;
	MlFrame    *frame;
	MlModel   **model;

	MemoryContextReset(rp->model_cxt);
	old = MemoryContextSwitchTo(rp->model_cxt);
	cells = palloc0(sizeof(MlReplayCell) * rp->ncols);
	for (int c = 0; c < rp->ncols; c++)
		cells[c].isnull = true;
	frame = one_row_frame(enc, rp, cells);
	model = palloc(sizeof(MlModel *) * rp->nsteps);
	for (int s = 0; s < rp->nsteps; s++)
	{
		model[s] = MlModelFromJson(frame, &rp->step[s]->root);
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextSwitchTo(old);
	rp->model = model;
}

/*
 * The recipe's steps on one row: out[c], per replayed input, the raw
 * value it has after them (NaN when still missing). The caller takes it
 * for the inputs that were NULL and that a step fills (rp->target).
 */
void
MlReplayRow(MlEncoder *enc, const MlReplayCell *cells, double *out)
{
	MlReplay   *rp = enc->replay;
	MemoryContext old;
	MlFrame    *frame;
	MlFills    *fills;

	MemoryContextReset(rp->cxt);
	MlRecipeReading(0);			/* the engine's errors name no recipe: the steps are the model's */
	if (rp->model == NULL)
		read_models(enc, rp);
	old = MemoryContextSwitchTo(rp->cxt);
	frame = one_row_frame(enc, rp, cells);
	fills = MlFillsCreate(frame);
	for (int s = 0; s < rp->nsteps; s++)
	{
		/* coded after the steps before it: a key they filled is the row's */
		MlModelRebind(frame, rp->model[s]);
		(void) MlImputeApplyModel(frame, fills, rp->model[s], &rp->step[s]->root);
		/* a chain runs all its rounds for every row: a block of rows can be long */
		CHECK_FOR_INTERRUPTS();
	}
	for (int c = 0; c < rp->ncols; c++)
		out[c] = cell_value(&enc->inputs[rp->input[c]], &frame->cols[c]);
	MemoryContextSwitchTo(old);
	MemoryContextReset(rp->cxt);
}
