/*
 * features_row.c
 *	  One row to a model's features at scoring time: columns of a row type
 *	  bound by name, or the keys of a jsonb object.
 *
 * Binding happens once per row type (the caller caches it); each row then
 * costs one pass over the model's inputs. A column the model needs that is
 * absent, or present with a type of another kind, is an error naming it.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "clean/cleaning.h"
#include "core/subxact.h"
#include "model/features.h"

static const char *const kind_names[] = {"a number", "a category", "a date/time"};

static MlInputKind
input_kind_of_type(Oid typid)
{
	switch (MlKindOfType(typid))
	{
		case ML_KIND_NUMERIC:
			return ML_INPUT_NUMERIC;
		case ML_KIND_DATETIME:
			return ML_INPUT_DATETIME;
		default:
			return ML_INPUT_CATEGORY;
	}
}

/*
 * Input i's fill and bounds as a column of type declared (base type and
 * typmod in b) holds them, through a domain's CHECK constraints when
 * domain (MlDomainTakes, MlBoundAsHeld), by the type alone otherwise.
 */
static void
held_input(MlRowBinding *b, int i, MlInput *in, Oid declared, bool domain)
{
	if (in->has_fill && in->kind == ML_INPUT_NUMERIC)
	{
		b->fill[i] = in->raw_fill;
		if (!MlNumberAsHeld(b->atttype[i], b->atttypmod[i], &b->fill[i]) ||
			(domain && !MlDomainTakes(declared, b->atttype[i], b->fill[i])))
			b->fill[i] = NAN;
	}
	/*
	 * a date or time: the fill as fitted, as the row's column holds it
	 * (into a date column its nearest day, into a timestamp column to the
	 * microsecond, as ml_apply_recipe writes it there: the fill held as a
	 * date training column held it scored a timestamp row's NULL as
	 * midnight where the recipe wrote 16:25), and what a date domain's
	 * CHECK takes
	 */
	if (in->has_fill && in->kind == ML_INPUT_DATETIME)
	{
		b->fill[i] = MlEpochAsHeld(in->raw_fill, b->atttype[i], b->atttypmod[i]);
		if (domain && !MlDomainTakesEpoch(declared, b->atttype[i], b->fill[i]))
			b->fill[i] = NAN;
	}
	if (in->has_clamp)
		MlBoundsAsHeld(domain ? declared : b->atttype[i], b->atttype[i], b->atttypmod[i],
					   in->raw_lo, in->raw_hi, &b->lo[i], &b->hi[i]);
}

/* held_input_domain's call of held_input, run in a subtransaction */
typedef struct HeldInputArgs
{
	MlRowBinding *b;
	int			i;
	MlInput    *in;
	Oid			declared;
} HeldInputArgs;

static void
held_input_checked(void *arg)
{
	HeldInputArgs *a = arg;

	held_input(a->b, a->i, a->in, a->declared, true);
}

/*
 * held_input through a domain's CHECK constraints, which may call any
 * function: scoring writes nothing, and the row may be scored where the
 * write could not run them (a read-only transaction, a hot standby: a
 * CHECK's function that writes; a role without EXECUTE on it, which only
 * reads the table). There (25006, 42501) the fill and bounds are those of
 * the type, as the model was trained where the column was of that domain
 * (a fill the domain refused is not in the model); any other error is
 * the domain's own, as the write would raise it.
 */
static void
held_input_domain(MlRowBinding *b, int i, MlInput *in, Oid declared)
{
	HeldInputArgs args = {b, i, in, declared};
	ErrorData  *ed = MlSubxactRun(held_input_checked, &args);

	if (ed == NULL)
		return;
	if (ed->sqlerrcode != ERRCODE_READ_ONLY_SQL_TRANSACTION &&
		ed->sqlerrcode != ERRCODE_INSUFFICIENT_PRIVILEGE)
		ReThrowError(ed);
	FreeErrorData(ed);
	held_input(b, i, in, declared, false);
}

MlRowBinding *
MlBindRow(MlEncoder *enc, TupleDesc desc, const char *what)
{
	MlRowBinding *b = palloc0(sizeof(MlRowBinding));

	b->typid = desc->tdtypeid;
	b->typmod = desc->tdtypmod;
	b->natts = desc->natts;
	b->attno = palloc(sizeof(int) * enc->ninputs);
	b->atttype = palloc(sizeof(Oid) * enc->ninputs);
	b->atttypmod = palloc(sizeof(int32) * Max(enc->ninputs, 1));
	b->fill = palloc(sizeof(double) * Max(enc->ninputs, 1));
	b->lo = palloc(sizeof(double) * Max(enc->ninputs, 1));
	b->hi = palloc(sizeof(double) * Max(enc->ninputs, 1));
	b->out = palloc0(sizeof(FmgrInfo) * enc->ninputs);
	b->memo = palloc0(sizeof(MlNumericMemo *) * Max(enc->ninputs, 1));
	for (int i = 0; i < enc->ninputs; i++)
	{
		MlInput    *in = &enc->inputs[i];
		Oid			declared;

		b->attno[i] = -1;
		for (int a = 0; a < desc->natts; a++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, a);

			if (!att->attisdropped && strcmp(NameStr(att->attname), in->name) == 0)
			{
				b->attno[i] = a;
				b->atttype[i] = att->atttypid;
				b->atttypmod[i] = att->atttypmod;
				break;
			}
		}
		if (b->attno[i] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("the row has no column \"%s\", a feature of %s", in->name, what),
					 errhint("Score rows with the columns the model was trained on (listed in ml_models.features).")));
		if (input_kind_of_type(b->atttype[i]) != in->kind)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" is of type %s, but %s was trained on it as %s",
							in->name, format_type_be(b->atttype[i]), what, kind_names[in->kind])));
		if (in->kind == ML_INPUT_CATEGORY)
		{
			Oid			outfn;
			bool		varlena;

			getTypeOutputInfo(b->atttype[i], &outfn, &varlena);
			fmgr_info(outfn, &b->out[i]);
		}
		declared = b->atttype[i];
		/* a domain's typmod is the type's, the column's is -1 */
		b->atttypmod[i] = MlHeldTypmodOf(declared, b->atttypmod[i], &b->atttype[i]);
		if (b->atttype[i] == NUMERICOID)
			b->memo[i] = palloc0(sizeof(MlNumericMemo) * ML_NUMERIC_MEMO);
		/*
		 * A recipe's fill is held as the training column holds it; this
		 * row's column may hold it otherwise (another table's numeric(4,1),
		 * real): as ml_apply_recipe writes it there, NaN (no fill) where
		 * that column cannot hold it.
		 */
		b->fill[i] = in->has_fill ? in->fill : NAN;
		/*
		 * The bounds likewise; one this column cannot hold clamps none of
		 * its values, as ml_apply_recipe writes them (step_outliers.c's
		 * bound_written): not the bound as fitted, which a smallint's
		 * values all lie below when it is 39918.97.
		 */
		b->lo[i] = in->lo;
		b->hi[i] = in->hi;
		if ((in->has_fill && in->kind != ML_INPUT_CATEGORY) || in->has_clamp)
		{
			if (get_typtype(declared) == TYPTYPE_DOMAIN && DomainHasConstraints(declared))
				held_input_domain(b, i, in, declared);
			else
				held_input(b, i, in, declared, false);
		}
	}
	return b;
}

/* Raw features of one input from its value (epoch or number, or a code). */
static void
put_input(MlInput *in, double v, double *raw)
{
	raw[in->first_raw] = v;
	for (int p = 0; p < in->nparts; p++)
		raw[in->first_raw + 1 + p] = MlDatePartOf(v, in->parts[p], in->with_tz);
}

/*
 * A level the model never saw is missing to a learner, but a grouped model
 * must not route it to the NULL group: it is a NaN with a payload of its own.
 */
double
MlUnseenLevel(void)
{
	uint64		bits = UINT64CONST(0x7ff8000000000001);
	double		v;

	memcpy(&v, &bits, sizeof(v));
	return v;
}

bool
MlIsUnseenLevel(double v)
{
	uint64		bits;

	memcpy(&bits, &v, sizeof(v));
	return bits == UINT64CONST(0x7ff8000000000001);
}

static double
category_value(MlInput *in, const char *s, int len)
{
	int32		code = MlLevelCode(in, s, len);

	return code < 0 ? MlUnseenLevel() : (double) code;
}

/* Learner features from raw ones: stage two for dense models. */
static void
finish_row(MlEncoder *enc, double *raw, double *feat)
{
	if (!enc->dense)
	{
		memcpy(feat, raw, sizeof(double) * enc->nraw);
		return;
	}
	/* stage two for one row, as MlEncoderDensify does for columns, without allocating */
	for (int j = 0; j < enc->nraw; j++)
	{
		MlDenseMap *m = &enc->map[j];
		double		v = raw[j];

		if (enc->raw_categorical[j])
		{
			for (int k = 0; k < m->nonehot; k++)
				feat[m->first + k] = (!isnan(v) && m->onehot[k] == (int32) v) ? 1.0 : 0.0;
			continue;
		}
		feat[m->first] = isnan(v) ? 0.0 : (v - m->center) / m->scale;
		if (m->indicator)
			feat[m->first + 1] = isnan(v) ? 1.0 : 0.0;
	}
}

/*
 * A numeric datum as float8, through the memo: the same bytes are the
 * same number, so a hit is exactly what numeric_float8 would return.
 * Compressed or external values skip it.
 */
static double
numeric_value(MlNumericMemo *memo, Datum value)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(value);
	const char *key;
	int			len;
	MlNumericMemo *m;
	uint32		h = 2166136261u;
	double		d;

	if (VARATT_IS_EXTENDED(v) && !VARATT_IS_SHORT(v))
		return MlBaseDatumToDouble(value, NUMERICOID);
	key = VARDATA_ANY(v);
	len = VARSIZE_ANY_EXHDR(v);
	if (len < 1 || len > ML_NUMERIC_MEMO_KEY)
		return MlBaseDatumToDouble(value, NUMERICOID);
	for (int k = 0; k < len; k++)
		h = (h ^ (uint8) key[k]) * 16777619u;	/* FNV-1a */
	/* two ways per set: the newer first, the older pushed out */
	m = &memo[((h ^ (h >> 16)) % (ML_NUMERIC_MEMO / 2)) * 2];
	if (m[0].len == len && memcmp(m[0].key, key, len) == 0)
		return m[0].value;
	if (m[1].len == len && memcmp(m[1].key, key, len) == 0)
		return m[1].value;
	d = MlBaseDatumToDouble(value, NUMERICOID);
	m[1] = m[0];
	m[0].value = d;
	memcpy(m[0].key, key, len);
	m[0].len = (uint8) len;
	return d;
}

/* The value of input i in a deformed row: a number, an epoch or a code; NaN for NULL. */
static inline double
input_value(MlInput *in, MlRowBinding *b, int i, Datum value, bool isnull)
{
	double		v;

	if (isnull)
		return b->fill[i];		/* a recipe's fill (MlInputPrep), as this column holds it */
	if (in->kind == ML_INPUT_CATEGORY)
	{
		if (b->atttype[i] == TEXTOID || b->atttype[i] == VARCHAROID || b->atttype[i] == BPCHAROID)
		{
			text	   *t = DatumGetTextPP(value);

			v = category_value(in, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			if ((Pointer) t != DatumGetPointer(value))
				pfree(t);
		}
		else if (b->atttype[i] == BOOLOID)
			v = category_value(in, DatumGetBool(value) ? "t" : "f", 1);	/* boolout's text */
		else
		{
			char	   *s = OutputFunctionCall(&b->out[i], value);

			v = category_value(in, s, strlen(s));
			pfree(s);
		}
		return v;
	}
	if (b->memo[i])
		v = numeric_value(b->memo[i], value);
	else
		v = MlBaseDatumToDouble(value, b->atttype[i]);	/* atttype is the base type */
	if (unlikely(in->has_clamp) && isfinite(v))
		v = v < b->lo[i] ? b->lo[i] : v > b->hi[i] ? b->hi[i] : v;	/* MlInputPrep's, held */
	return isfinite(v) ? v : NAN;
}

/* ---------- the recipe's model fills (features_replay.c), rows with a NULL only ---------- */

/* Whether a row has a NULL in an input a recipe's model fills. */
static inline bool
replay_needed(MlEncoder *enc, MlRowBinding *b, const bool *nulls)
{
	for (int i = 0; i < enc->ninputs; i++)
		if (enc->inputs[i].replay && nulls[b->attno[i]])
			return true;
	return false;
}

/* A deformed row's replayed inputs as a frame holds them: numbers unbounded, levels as text. */
static void
replay_cells(MlEncoder *enc, MlRowBinding *b, const Datum *values, const bool *nulls,
			 MlReplayCell *cells)
{
	MlReplay   *rp = enc->replay;

	for (int c = 0; c < rp->ncols; c++)
	{
		int			i = rp->input[c];
		int			a = b->attno[i];
		Oid			t = b->atttype[i];

		cells[c].isnull = nulls[a];
		cells[c].text = NULL;
		cells[c].x = NAN;
		/* a fill is held as this row's column holds it, as ml_apply_recipe writes it */
		cells[c].type = enc->inputs[i].kind == ML_INPUT_NUMERIC ? t : InvalidOid;
		cells[c].typmod = b->atttypmod[i];
		if (nulls[a])
			continue;
		if (enc->inputs[i].kind != ML_INPUT_CATEGORY)
			cells[c].x = b->memo[i] ? numeric_value(b->memo[i], values[a]) :
				MlBaseDatumToDouble(values[a], t);
		else if (t == TEXTOID || t == VARCHAROID || t == BPCHAROID)
			cells[c].text = TextDatumGetCString(values[a]);
		else if (t == BOOLOID)
			cells[c].text = DatumGetBool(values[a]) ? "t" : "f";
		else
			cells[c].text = OutputFunctionCall(&b->out[i], values[a]);
	}
}

/* The replayed fills of the row's NULL inputs into its raw features (column r of raw). */
static void
replay_put(MlEncoder *enc, const MlReplayCell *cells, double **raw, int r)
{
	MlReplay   *rp = enc->replay;
	double	   *out = palloc(sizeof(double) * rp->ncols);

	MlReplayRow(enc, cells, out);
	for (int c = 0; c < rp->ncols; c++)
	{
		MlInput    *in = &enc->inputs[rp->input[c]];
		double		parts[ML_MAX_PARTS];

		if (!rp->target[c] || !cells[c].isnull)
			continue;
		raw[in->first_raw][r] = out[c];
		MlDatePartsOf(out[c], in->parts, in->nparts, in->with_tz, parts);
		for (int p = 0; p < in->nparts; p++)
			raw[in->first_raw + 1 + p][r] = parts[p];
	}
	pfree(out);
}

/* One row: raw holds its features side by side (column j is raw + j). */
static void
replay_row(MlEncoder *enc, const MlReplayCell *cells, double *raw)
{
	double	  **cols = palloc(sizeof(double *) * Max(enc->nraw, 1));

	for (int j = 0; j < enc->nraw; j++)
		cols[j] = raw + j;
	replay_put(enc, cells, cols, 0);
	pfree(cols);
}

static void
replay_datums(MlEncoder *enc, MlRowBinding *b, const Datum *values, const bool *nulls,
			  double **raw, int r, double *rowraw)
{
	MlReplayCell *cells = palloc(sizeof(MlReplayCell) * enc->replay->ncols);

	replay_cells(enc, b, values, nulls, cells);
	if (rowraw)
		replay_row(enc, cells, rowraw);
	else
		replay_put(enc, cells, raw, r);
	pfree(cells);
}

void
MlEncodeRow(MlEncoder *enc, MlRowBinding *b, Datum *values, bool *nulls, double *raw, double *feat)
{
	for (int i = 0; i < enc->ninputs; i++)
	{
		int			a = b->attno[i];

		put_input(&enc->inputs[i], input_value(&enc->inputs[i], b, i, values[a], nulls[a]), raw);
	}
	if (unlikely(enc->replay != NULL) && replay_needed(enc, b, nulls))
		replay_datums(enc, b, values, nulls, NULL, 0, raw);
	finish_row(enc, raw, feat);
}

/*
 * A block of n deformed rows (row r at values[r * stride], nulls likewise)
 * to column-major features: raw[j][r], then feat[f][r] through the same
 * stage two as training (MlEncoderDensify). For a model without a dense
 * stage the caller passes feat == raw. Input by input, so each column's
 * conversion runs over the whole block.
 */
void
MlEncodeBlock(MlEncoder *enc, MlRowBinding *b, int n, const Datum *values, const bool *nulls,
			  int stride, double **raw, double **feat)
{
	for (int i = 0; i < enc->ninputs; i++)
	{
		MlInput    *in = &enc->inputs[i];
		int			a = b->attno[i];
		double	   *dst = raw[in->first_raw];
		MlDayMemo	day = {0};	/* rows of one day share its breakdown */

		for (int r = 0; r < n; r++)
			dst[r] = input_value(in, b, i, values[(size_t) r * stride + a],
								 nulls[(size_t) r * stride + a]);
		for (int r = 0; r < n && in->nparts > 0; r++)
		{
			double		parts[ML_MAX_PARTS];

			/* one breakdown of the time for all its parts */
			MlDatePartsOfMemo(dst[r], in->parts, in->nparts, in->with_tz, parts, &day);
			for (int p = 0; p < in->nparts; p++)
				raw[in->first_raw + 1 + p][r] = parts[p];
		}
	}
	for (int r = 0; unlikely(enc->replay != NULL) && r < n; r++)
		if (replay_needed(enc, b, nulls + (size_t) r * stride))
			replay_datums(enc, b, values + (size_t) r * stride, nulls + (size_t) r * stride, raw, r, NULL);
	if (enc->dense)
		MlEncoderDensify(enc, raw, n, feat);
}

/* A jsonb scalar as the value of one input. */
static double
json_input_value(MlInput *in, JsonbValue *jv, const char *what)
{
	if (jv->type == jbvNull)
		return in->has_fill ? in->fill : NAN;	/* a recipe's fill (MlInputPrep) */
	if (in->kind == ML_INPUT_NUMERIC)
	{
		double		d;

		if (jv->type != jbvNumeric)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("key \"%s\" must be a number: %s was trained on it as a number", in->name, what)));
		/* not numeric_float8: its error would quote every digit of the number */
		d = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
											   NumericGetDatum(jv->val.numeric)));
		if (isinf(d))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("key \"%s\" holds a number out of the range of double precision", in->name),
					 errhint("Inputs are read as double precision: at most about 1.8e308 in magnitude.")));
		d = MlInputPrep(in, d, false);
		return isfinite(d) ? d : NAN;
	}
	if (in->kind == ML_INPUT_DATETIME)
	{
		Oid			infn,
					ioparam;
		char	   *s;

		if (jv->type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("key \"%s\" must be a date/time string: %s was trained on it as a date/time",
							in->name, what)));
		s = pnstrdup(jv->val.string.val, jv->val.string.len);
		getTypeInputInfo(in->typid, &infn, &ioparam);
		return MlDatumToDouble(OidInputFunctionCall(infn, s, ioparam, -1), in->typid);
	}
	/* categories: the text the column's type would print */
	if (jv->type == jbvString)
		return category_value(in, jv->val.string.val, jv->val.string.len);
	if (jv->type == jbvBool)
		return category_value(in, jv->val.boolean ? "t" : "f", 1);
	if (jv->type == jbvNumeric)
	{
		char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(jv->val.numeric)));

		return category_value(in, s, strlen(s));
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("key \"%s\" must be a scalar", in->name)));
	return NAN;					/* keep compiler quiet */
}

/* A jsonb row's replayed inputs as a frame holds them, then their fills (see replay_cells). */
static void
replay_json(MlEncoder *enc, Jsonb *row, double *raw)
{
	MlReplay   *rp = enc->replay;
	MlReplayCell *cells = palloc(sizeof(MlReplayCell) * rp->ncols);

	for (int c = 0; c < rp->ncols; c++)
	{
		MlInput    *in = &enc->inputs[rp->input[c]];
		JsonbValue *jv = getKeyJsonValueFromContainer(&row->root, in->name, strlen(in->name), NULL);

		/* every key was read once already: its type is the input's */
		cells[c].isnull = jv->type == jbvNull;
		cells[c].text = NULL;
		cells[c].x = NAN;
		cells[c].type = InvalidOid;	/* a jsonb number: fills held as in training */
		cells[c].typmod = -1;
		if (cells[c].isnull)
			continue;
		if (in->kind == ML_INPUT_NUMERIC)
			cells[c].x = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
															NumericGetDatum(jv->val.numeric)));
		else if (in->kind == ML_INPUT_DATETIME)
			cells[c].x = json_input_value(in, jv, "the model");
		else if (jv->type == jbvString)
			cells[c].text = pnstrdup(jv->val.string.val, jv->val.string.len);
		else if (jv->type == jbvBool)
			cells[c].text = jv->val.boolean ? "t" : "f";
		else
			cells[c].text = DatumGetCString(DirectFunctionCall1(numeric_out,
																NumericGetDatum(jv->val.numeric)));
	}
	replay_row(enc, cells, raw);
	pfree(cells);
}

void
MlEncodeJson(MlEncoder *enc, Jsonb *row, double *raw, double *feat, const char *what)
{
	bool		need = false;

	if (!JB_ROOT_IS_OBJECT(row))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the row to score must be a JSON object of column names and values")));
	for (int i = 0; i < enc->ninputs; i++)
	{
		MlInput    *in = &enc->inputs[i];
		JsonbValue *jv = getKeyJsonValueFromContainer(&row->root, in->name, strlen(in->name), NULL);

		if (jv == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("the row has no key \"%s\", a feature of %s", in->name, what),
					 errhint("Give every feature; null for a missing value.")));
		put_input(in, json_input_value(in, jv, what), raw);
		need |= in->replay && jv->type == jbvNull;
	}
	if (unlikely(need))
		replay_json(enc, row, raw);
	finish_row(enc, raw, feat);
}
