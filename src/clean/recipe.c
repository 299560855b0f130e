/*
 * recipe.c
 *	  Stored recipes back into models, and ml_apply_recipe().
 *
 * A recipe keeps every fitted value by name and by level text, never by
 * position in the data it was fitted on, so it can be bound to any table
 * with the same columns: levels are matched by their text, unseen levels
 * fall back to the coarser group or the global value, new NULLs are filled
 * like the old ones, and values out of the fitted range stay as they are
 * (numeric features) or are bounded (outlier steps).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "parser/parse_coerce.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "clean/cleaning.h"
#include "clean/impute.h"
#include "core/options.h"

/* ---------- reading JSON arrays ---------- */

typedef struct JArray
{
	int			n;
	JsonbValue *items;
} JArray;

static JArray
jarray(JsonbContainer *obj, const char *key)
{
	JsonbValue *v = MlOptGet(obj, key);
	JArray		a = {0, NULL};
	JsonbIterator *it;
	JsonbValue	e;
	JsonbIteratorToken tok;
	int			cap = 16;

	if (v == NULL || v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		return a;
	a.items = palloc(sizeof(JsonbValue) * cap);
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (a.n == cap)
			a.items = repalloc(a.items, sizeof(JsonbValue) * (cap *= 2));
		a.items[a.n++] = e;
	}
	return a;
}

static double
jnum(JsonbValue *v)
{
	double		d;

	return MlJsonToNumber(v, &d) ? d : NAN;
}

static int64 reading_recipe = 0;

/* The recipe whose steps are being read (0 for a model just fitted), for errors. */
void
MlRecipeReading(int64 id)
{
	reading_recipe = id;
}

/* Most inputs a stored model may have (numbers, one-hot levels, hashed text). */
#define ML_MAX_RECIPE_WIDTH 1000000

static void
bad_recipe(const char *what)
{
	if (reading_recipe > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("recipe " INT64_FORMAT " is invalid: %s", reading_recipe, what)));
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("recipe is invalid: %s", what)));
}

/* For the other readers of stored models (impute_forest.c). */
void
MlRecipeBad(const char *what)
{
	bad_recipe(what);
	pg_unreachable();
}

/* The elements of an array member (none when absent or not an array). */
JsonbValue *
MlRecipeArray(JsonbContainer *obj, const char *key, int *n)
{
	JArray		a = jarray(obj, key);

	*n = a.n;
	return a.items;
}

/* An element of a recipe array that must be an object. */
static JsonbContainer *
jobject(JsonbValue *v, const char *what)
{
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		bad_recipe(what);
	return v->val.binary.data;
}

/* The kinds a column can be bound as: numbers, times, or levels of text. */
static const char *
kind_group(MlKind k)
{
	return k == ML_KIND_NUMERIC ? "numeric" : k == ML_KIND_DATETIME ? "datetime" : "text";
}

/*
 * A recipe's column bound to a relation's: the same kind of values (a
 * recipe fitted on text cannot fill a timestamp column), checked against
 * the type the recipe recorded when it has one.
 */
void
MlRecipeCheckType(MlColumn *col, JsonbContainer *obj)
{
	char	   *kind = MlOptString(obj, "kind", NULL);
	char	   *type = MlOptString(obj, "type", NULL);

	if (kind == NULL)
		return;
	if (strcmp(kind, "numeric") != 0 && strcmp(kind, "datetime") != 0 && strcmp(kind, "text") != 0)
		bad_recipe("unknown column kind");
	if (strcmp(kind, kind_group(col->kind)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" is of type %s in the relation, but the recipe was fitted on type %s",
						col->name, format_type_be(col->typid), type ? type : kind)));

	/*
	 * Dates read from text: a recipe fitted on a date or timestamp column
	 * has no step that parses text, and its parts would be taken of the
	 * text as it is.
	 */
	if (strcmp(kind, "datetime") == 0 && type != NULL &&
		(strcmp(type, "date") == 0 || strncmp(type, "time", 4) == 0) &&
		TypeCategory(getBaseType(col->typid)) == TYPCATEGORY_STRING)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" is of type %s in the relation, but the recipe was fitted on type %s",
						col->name, format_type_be(col->typid), type),
				 errhint("Cast the column to %s first, or fit a recipe on text dates.", type)));
}

/* The kind and type of a fitted column, as MlRecipeCheckType reads them. */
void
MlRecipeWriteType(StringInfo out, MlColumn *col)
{
	appendStringInfo(out, ", \"kind\": \"%s\", \"type\": ", kind_group(col->kind));
	escape_json(out, format_type_be(col->typid));
}

static int
recipe_column_named(MlFrame *frame, const char *name)
{
	int			c = MlFrameColumn(frame, name);

	if (c < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" needed by the recipe does not exist in the relation", name)));
	return c;
}

int
MlRecipeColumn(MlFrame *frame, const char *name)
{
	return recipe_column_named(frame, name);
}

static int
recipe_column(MlFrame *frame, JsonbContainer *obj)
{
	char	   *name = MlOptString(obj, "column", NULL);

	if (name == NULL)
		bad_recipe("a step has no column");
	return recipe_column_named(frame, name);
}

/* ---------- levels and keys ---------- */

/* Map level text -> index in a recipe's level list (open addressing). */
typedef struct LevelMap
{
	int			n;
	uint32		mask;
	int		   *slots;
	char	  **text;
} LevelMap;

static LevelMap *
levelmap_build(char **text, int n)
{
	LevelMap   *lm = palloc(sizeof(LevelMap));
	uint32		size = 16;

	while (size < (uint32) n * 2 + 2)
		size *= 2;
	lm->n = n;
	lm->mask = size - 1;
	lm->slots = palloc(sizeof(int) * size);
	memset(lm->slots, -1, sizeof(int) * size);
	lm->text = text;
	for (int i = 0; i < n; i++)
	{
		uint32		h = hash_bytes((const unsigned char *) text[i], strlen(text[i])) & lm->mask;

		while (lm->slots[h] >= 0)
			h = (h + 1) & lm->mask;
		lm->slots[h] = i;
	}
	return lm;
}

static int
levelmap_find(LevelMap *lm, const char *s)
{
	uint32		h = hash_bytes((const unsigned char *) s, strlen(s)) & lm->mask;

	while (lm->slots[h] >= 0)
	{
		if (strcmp(lm->text[lm->slots[h]], s) == 0)
			return lm->slots[h];
		h = (h + 1) & lm->mask;
	}
	return -1;
}

static char **
jtexts(JArray *a)
{
	char	  **t = palloc(sizeof(char *) * Max(a->n, 1));

	for (int i = 0; i < a->n; i++)
	{
		t[i] = MlJsonValueText(&a->items[i]);
		if (t[i] == NULL)
			t[i] = "";
		else if (a->items[i].type == jbvNumeric)
			t[i] = psprintf("%.17g", jnum(&a->items[i]));
	}
	return t;
}

/*
 * A recipe key's own levels, kept with the bound key so that the rows of
 * another frame with the same columns can be coded without reading the
 * recipe again (MlModelRebind: a replayed row).
 */
typedef struct MlKeyLevels
{
	LevelMap   *map;			/* text levels, or NULL for numeric ones */
	int			n;				/* numeric levels: how many, */
	double	   *vals;			/* their values, */
	int		   *order;			/* and their order by value */
	int64		nrows;			/* rows the key's rowcodes have room for */
} MlKeyLevels;

/* The level of a number among a key's numeric levels, -1 for none. */
static int32
numeric_level(MlKeyLevels *kl, bool isnull, double x)
{
	int			lo = 0,
				hi = kl->n - 1;

	if (isnull || !isfinite(x))
		return -1;
	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (kl->vals[kl->order[mid]] == x)
			return kl->order[mid];
		if (kl->vals[kl->order[mid]] < x)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* A key of a stored model, bound to this frame's rows. */
static MlKey
recipe_key(MlFrame *frame, JsonbContainer *obj)
{
	static const char *const parts[] = {
		"year", "month", "day", "hour", "minute", "second", "dow", "doy", "week", "weekend"
	};
	MlKey		key;
	char	   *part = MlOptString(obj, "part", NULL);
	JArray		levels;
	MlColumn   *col;
	MlKeyLevels *kl;

	memset(&key, 0, sizeof(key));
	key.col = recipe_column(frame, obj);
	key.part = -1;
	col = &frame->cols[key.col];
	if (part)
	{
		for (int p = 0; p < (int) lengthof(parts); p++)
			if (strcmp(parts[p], part) == 0)
				key.part = p;
		/* the parts models group by, with the level counts they were fitted with */
		if (key.part != ML_PART_HOUR && key.part != ML_PART_DOW && key.part != ML_PART_MONTH)
			bad_recipe("a group key has an unknown datetime part");
		if (col->kind != ML_KIND_DATETIME)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of type %s has no datetime part \"%s\" for the recipe",
							col->name, format_type_be(col->typid), part)));
		key.nlevels = key.part == ML_PART_HOUR ? 24 : key.part == ML_PART_DOW ? 7 : 13;
		return key;
	}
	if (col->kind == ML_KIND_DATETIME || (col->level_text && col->code == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of type %s cannot be a grouping key of the recipe",
						col->name, format_type_be(col->typid))));
	levels = jarray(obj, "levels");
	if (levels.n > 1000000)
		bad_recipe("a key has too many levels");
	key.nlevels = Max(levels.n, 1);
	key.rowcodes = palloc(sizeof(int32) * Max(frame->nrows, 1));
	key.levels = kl = palloc0(sizeof(MlKeyLevels));
	kl->nrows = Max(frame->nrows, 1);
	if (col->level_text)
	{
		/* text levels: map each of the frame's levels once, then rows by code */
		int32	   *map = palloc(sizeof(int32) * Max(col->nlevels, 1));

		kl->map = levelmap_build(jtexts(&levels), levels.n);
		for (int l = 0; l < col->nlevels; l++)
			map[l] = levelmap_find(kl->map, col->level_text[l]);
		for (int64 r = 0; r < frame->nrows; r++)
			key.rowcodes[r] = col->isnull[r] || col->code[r] < 0 ? -1 : map[col->code[r]];
		pfree(map);
	}
	else
	{
		/* numeric levels: match values, through a sorted copy of the levels */
		kl->n = levels.n;
		kl->vals = palloc(sizeof(double) * Max(levels.n, 1));
		kl->order = palloc(sizeof(int) * Max(levels.n, 1));
		for (int i = 0; i < levels.n; i++)
		{
			kl->vals[i] = jnum(&levels.items[i]);
			kl->order[i] = i;
		}
		qsort_arg(kl->order, levels.n, sizeof(int), MlCmpIndexByValue, kl->vals);
		for (int64 r = 0; r < frame->nrows; r++)
			key.rowcodes[r] = numeric_level(kl, col->isnull[r], col->x[r]);
	}
	return key;
}

/*
 * A bound key's rows coded again from the frame as it is now (a key
 * another step filled is read filled). Datetime parts keep no codes: they
 * are read from the frame itself.
 */
static void
key_recode(MlFrame *frame, MlKey *key)
{
	MlKeyLevels *kl = key->levels;
	MlColumn   *col = &frame->cols[key->col];

	if (kl == NULL)
		return;
	if ((kl->map != NULL) != (col->level_text != NULL))
		elog(ERROR, "recipe key on column \"%s\" bound to a column of another kind", col->name);
	if (frame->nrows > kl->nrows)
	{
		key->rowcodes = repalloc(key->rowcodes, sizeof(int32) * frame->nrows);
		kl->nrows = frame->nrows;
	}
	for (int64 r = 0; r < frame->nrows; r++)
	{
		if (kl->map == NULL)
			key->rowcodes[r] = numeric_level(kl, col->isnull[r], col->x[r]);
		else
			key->rowcodes[r] = col->isnull[r] || col->code[r] < 0 ? -1 :
				levelmap_find(kl->map, col->level_text[col->code[r]]);
	}
}

/* Target level values of a discrete model: indices into its own list. */
static void
target_levels(MlModel *m, MlColumn *col, JsonbContainer *obj)
{
	/* collect every level text the model mentions, in first-seen order */
	const char *lists[] = {"classes", "parent", "groups", "reference_y"};
	int			cap = 64;

	m->tlevel_text = palloc(sizeof(char *) * cap);
	m->ntlevels = 0;
	for (int l = 0; l < (int) lengthof(lists); l++)
	{
		JArray		a = jarray(obj, lists[l]);
		char	  **t = jtexts(&a);

		for (int i = 0; i < a.n; i++)
		{
			int			j;

			if (a.items[i].type == jbvNull)
				continue;
			for (j = 0; j < m->ntlevels; j++)
				if (strcmp(m->tlevel_text[j], t[i]) == 0)
					break;
			if (j < m->ntlevels)
				continue;
			if (m->ntlevels == cap)
				m->tlevel_text = repalloc(m->tlevel_text, sizeof(char *) * (cap *= 2));
			m->tlevel_text[m->ntlevels++] = t[i];
		}
	}
	{
		char	   *fill = MlOptString(obj, "fill", NULL);
		int			j;

		if (fill && MlOptGet(obj, "fill")->type == jbvNumeric)
			fill = psprintf("%.17g", MlRecipeNumber(obj, "fill", 0));
		m->fill_level = -1;
		for (j = 0; fill && j < m->ntlevels; j++)
			if (strcmp(m->tlevel_text[j], fill) == 0)
				m->fill_level = j;
		if (fill && m->fill_level < 0)
		{
			if (m->ntlevels == cap)
				m->tlevel_text = repalloc(m->tlevel_text, sizeof(char *) * (cap + 1));
			m->tlevel_text[m->ntlevels] = fill;
			m->fill_level = m->ntlevels++;
		}
	}
	(void) col;
}

static int32
tlevel_of(MlModel *m, JsonbValue *v)
{
	char	   *t;

	if (v->type == jbvNull)
		return -1;
	t = v->type == jbvNumeric ? psprintf("%.17g", jnum(v)) : MlJsonValueText(v);
	for (int j = 0; j < m->ntlevels; j++)
		if (strcmp(m->tlevel_text[j], t) == 0)
			return j;
	return -1;
}

static void
load_values(MlModel *m, JsonbContainer *obj, const char *key, double **vals, int32 **lvls, int64 n)
{
	JArray		a = jarray(obj, key);

	if (a.n != n)
		bad_recipe("group table has the wrong size");
	*vals = palloc(sizeof(double) * Max(n, 1));
	*lvls = palloc(sizeof(int32) * Max(n, 1));
	for (int64 i = 0; i < n; i++)
	{
		(*vals)[i] = m->discrete ? NAN : (a.items[i].type == jbvNull ? NAN : jnum(&a.items[i]));
		(*lvls)[i] = m->discrete ? tlevel_of(m, &a.items[i]) : -1;
	}
}

static MlFeatures *
recipe_features(MlFrame *frame, JsonbContainer *obj)
{
	MlFeatures *f = palloc0(sizeof(MlFeatures));
	JArray		num = jarray(obj, "numeric");
	JArray		oh = jarray(obj, "onehot");

	f->numcol = palloc(sizeof(int) * Max(num.n, 1));
	f->mean = palloc(sizeof(double) * Max(num.n, 1));
	f->sd = palloc(sizeof(double) * Max(num.n, 1));
	for (int i = 0; i < num.n; i++)
	{
		JsonbContainer *o = jobject(&num.items[i], "a numeric input is not an object");

		f->numcol[i] = recipe_column(frame, o);
		/* a number the model was fitted on: text there would read as gaps */
		if (frame->cols[f->numcol[i]].kind != ML_KIND_NUMERIC &&
			frame->cols[f->numcol[i]].kind != ML_KIND_DATETIME)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" is a numeric input of the recipe's model, but is of type %s in the relation",
							frame->cols[f->numcol[i]].name, format_type_be(frame->cols[f->numcol[i]].typid)),
					 errhint("Apply the recipe to a relation whose column holds numbers (a view can cast it).")));
		f->mean[i] = MlRecipeNumber(o, "mean", 0);
		f->sd[i] = MlRecipeNumber(o, "sd", 1);
		/* a fit keeps inputs of sd above 0 (infinite: values near the double range) */
		if (!isfinite(f->mean[i]) || !(f->sd[i] > 0))
			bad_recipe("a numeric input's \"mean\" is not a finite number or its \"sd\" not above 0");
	}
	f->nnum = num.n;
	f->keys = palloc(sizeof(MlKey) * Max(oh.n, 1));
	{
		/* summed in 64 bits and bounded: a stored width never wraps an int */
		int64		width = 1 + (int64) f->nnum;

		for (int i = 0; i < oh.n; i++)
		{
			f->keys[i] = recipe_key(frame, jobject(&oh.items[i], "a one-hot input is not an object"));
			width += f->keys[i].nlevels;
			if (width > ML_MAX_RECIPE_WIDTH)
				bad_recipe("a model has too many inputs");
		}
		if (width > ML_MAX_RECIPE_WIDTH)
			bad_recipe("a model has too many inputs");
		f->width = (int) width;
	}
	f->nkey = oh.n;
	return f;
}

/* ---------- chain members of categorical columns ---------- */

/* The texts of a recipe object's "levels" (numbers as %.17g), *n of them. */
static char **
level_texts(JsonbContainer *obj, int *n)
{
	JArray		a = jarray(obj, "levels");

	*n = a.n;
	return jtexts(&a);
}

/*
 * A chain member that is the indicator of a level of a categorical column
 * (MlModelToJson's "level" and "levels"), read into m: a whole level
 * within 2 to ML_CHAIN_MAX_RECIPE_LEVELS distinct levels that are texts or
 * finite numbers, a start that is a share, and finite coefficients for
 * every round.
 */
static void
chain_indicator(MlFrame *frame, MlModel *m, JsonbContainer *obj, int rounds)
{
	JArray		levels = jarray(obj, "levels");
	JsonbValue *lv = MlOptGet(obj, "level");
	double		level = lv && lv->type == jbvNumeric ? jnum(lv) : -1;
	char	  **t;

	if (levels.n < 2 || levels.n > ML_CHAIN_MAX_RECIPE_LEVELS)
		bad_recipe(psprintf("a chain's categorical member needs 2 to %d levels",
							ML_CHAIN_MAX_RECIPE_LEVELS));
	for (int i = 0; i < levels.n; i++)
		if (levels.items[i].type != jbvString &&
			(levels.items[i].type != jbvNumeric || !isfinite(jnum(&levels.items[i]))))
			bad_recipe("a chain's categorical member has a level that is neither text nor a finite number");
	t = jtexts(&levels);
	for (int i = 0; i < levels.n; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(t[i], t[j]) == 0)
				bad_recipe("a chain's categorical member has a level twice");
	if (!(level >= 0 && level < levels.n) || level != floor(level))
		bad_recipe("a chain's categorical member's \"level\" is not one of its levels");
	if (!(m->fill >= 0 && m->fill <= 1))
		bad_recipe("a chain's categorical member does not start at a share");
	if (m->nround_beta != rounds || m->round_beta == NULL)
		bad_recipe("a chain's categorical member has no round coefficients");
	for (int j = 0; j < m->feat->width; j++)
		if (!isfinite(m->beta[j]))
			bad_recipe("a chain member's coefficients are not finite numbers");
	for (int j = 0; j < m->feat->nkey; j++)
		if (m->feat->keys[j].col == m->target && m->feat->keys[j].part < 0)
			bad_recipe("a chain's categorical member reads its own column");
	/* a column's own levels (MlChainFit): a datetime part's codes are no level list */
	if (MlOptGet(obj, "part") != NULL)
		bad_recipe("a chain's categorical member is of a datetime part");
	m->indicator = true;
	m->ind_level = (int) level;
	m->ind_key = recipe_key(frame, obj);
}

/*
 * The categorical members of a chain read back: each column's members are
 * the indicators of every one of its levels once, with the same level
 * list, which is also that of every member's one-hot input of the column
 * (the runs read those inputs as the indicators, level by level), and the
 * column is no numeric member.
 *
 * One pass over the members for their levels, one over their one-hot
 * inputs: a chain has a member per level of each of its categories, and
 * comparing every member with every other one (and its inputs) took time
 * and memory in their square, kept with a deployed model's cached steps
 * (features_replay.c). The level texts are read in a context of their own.
 */
static void
chain_check_indicators(MlFrame *frame, MlModel *m, JArray *members)
{
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "pg_mlops chain check",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(tmp);
	char	 ***texts = palloc0(sizeof(char **) * Max(frame->ncols, 1));	/* per column */
	int		   *ntexts = palloc0(sizeof(int) * Max(frame->ncols, 1));
	bool	  **seen = palloc0(sizeof(bool *) * Max(frame->ncols, 1));

	for (int i = 0; i < m->nchain; i++)
	{
		MlModel    *a = m->chain[i];
		int			c = a->target;
		int			L;
		char	  **t;

		if (!a->indicator)
			continue;
		t = level_texts(members->items[i].val.binary.data, &L);
		if (texts[c] == NULL)
		{
			texts[c] = t;
			ntexts[c] = L;
			seen[c] = palloc0(sizeof(bool) * L);
		}
		else
		{
			if (L != ntexts[c])
				bad_recipe("a chain's categorical members of a column have different levels");
			for (int l = 0; l < L; l++)
				if (strcmp(t[l], texts[c][l]) != 0)
					bad_recipe("a chain's categorical members of a column have different levels");
		}
		if (seen[c][a->ind_level])
			bad_recipe("a level of a chain's categorical column has two members");
		seen[c][a->ind_level] = true;
		CHECK_FOR_INTERRUPTS();
	}
	for (int j = 0; j < m->nchain; j++)
	{
		MlModel    *b = m->chain[j];
		JArray		oh = jarray(members->items[j].val.binary.data, "onehot");

		if (!b->indicator && texts[b->target] != NULL)
			bad_recipe("a column is twice in a chain");
		for (int k = 0; k < oh.n; k++)
		{
			JsonbContainer *ko = jobject(&oh.items[k], "a one-hot input is not an object");
			int			c;
			int			Lk;
			char	  **tk;

			if (MlOptGet(ko, "part") != NULL)
				continue;
			c = recipe_column(frame, ko);
			if (texts[c] == NULL)
				continue;
			tk = level_texts(ko, &Lk);
			if (Lk != ntexts[c])
				bad_recipe("a chain member's one-hot input of a categorical member has other levels");
			for (int l = 0; l < Lk; l++)
				if (strcmp(texts[c][l], tk[l]) != 0)
					bad_recipe("a chain member's one-hot input of a categorical member has other levels");
		}
		CHECK_FOR_INTERRUPTS();
	}
	for (int c = 0; c < frame->ncols; c++)
		for (int l = 0; texts[c] != NULL && l < ntexts[c]; l++)
			if (!seen[c][l])
				bad_recipe("a level of a chain's categorical column has no member");
	MemoryContextSwitchTo(old);
	MemoryContextDelete(tmp);
}

/*
 * A model stored by MlModelToJson, bound to a frame. Discrete models
 * predict indices into their own level list (tlevel_text).
 */
MlModel *
MlModelFromJson(MlFrame *frame, JsonbContainer *obj)
{
	MlModel    *m = palloc0(sizeof(MlModel));
	MlColumn   *col;

	char	   *method;
	int			mi;

	m->target = recipe_column(frame, obj);
	col = &frame->cols[m->target];
	MlRecipeCheckType(col, obj);
	method = MlOptString(obj, "method", "none");
	for (mi = 0; mi <= (int) ML_METHOD_NONE; mi++)
		if (strcmp(MlMethodName((MlMethod) mi), method) == 0)
			break;
	if (mi > (int) ML_METHOD_NONE || mi == (int) ML_METHOD_AUTO)
		bad_recipe(psprintf("unknown imputation method \"%s\"", method));
	m->method = (MlMethod) mi;
	m->discrete = MlOptBool(obj, "discrete", false);
	if (MlOptGet(obj, "mice_round") != NULL)
	{
		double		round = MlRecipeNumber(obj, "mice_round", 0);

		/* a MICE round (impute_columns.c's mice_step); recipes before it have none */
		if (m->method != ML_METHOD_MICE || !(round >= 1 && round <= 100) || round != floor(round))
			bad_recipe("\"mice_round\" must be a whole number from 1 to 100 on a mice model");
		m->mice_round = (int) round;
	}
	if ((m->method == ML_METHOD_LOCF || m->method == ML_METHOD_INTERPOLATE) &&
		MlOptString(obj, "time_column", NULL) == NULL)
		bad_recipe(psprintf("method \"%s\" has no \"time_column\"", method));
	if (m->discrete && col->kind != ML_KIND_NUMERIC && (col->level_text == NULL || col->code == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of type %s cannot take the recipe's categories",
						col->name, format_type_be(col->typid))));
	m->error = NAN;
	m->fill = MlOptGet(obj, "fill") && MlOptGet(obj, "fill")->type == jbvNumeric ?
		MlRecipeNumber(obj, "fill", 0) : NAN;
	m->fill_level = -1;
	if (m->method == ML_METHOD_CONSTANT && !m->discrete && MlOptGet(obj, "value") != NULL)
		m->constant_text = MlConstantParse(col, MlOptString(obj, "value", NULL), &m->fill);
	if (m->discrete)
		target_levels(m, col, obj);
	if (m->method == ML_METHOD_GROUPWISE)
	{
		JArray		keys = jarray(obj, "keys");

		if (keys.n < 1 || keys.n > 2)
			bad_recipe("group-wise model needs one or two keys");
		m->nkeys = keys.n;
		for (int i = 0; i < keys.n; i++)
			m->keys[i] = recipe_key(frame, jobject(&keys.items[i], "a group key is not an object"));
		load_values(m, obj, "parent", &m->pval, &m->plvl, m->keys[0].nlevels);
		if (m->nkeys == 2)
			load_values(m, obj, "groups", &m->gval, &m->glvl,
						(int64) m->keys[0].nlevels * m->keys[1].nlevels);
	}
	else if (m->method == ML_METHOD_REGRESSION || m->method == ML_METHOD_MICE)
	{
		JArray		b = jarray(obj, "coefficients");

		m->feat = recipe_features(frame, obj);
		if (b.n != m->feat->width)
			bad_recipe("regression coefficients do not match its inputs");
		m->beta = palloc(sizeof(double) * b.n);
		for (int i = 0; i < b.n; i++)
			m->beta[i] = jnum(&b.items[i]);
	}
	else if (m->method == ML_METHOD_CHAIN || m->method == ML_METHOD_BLEND)
	{
		JArray		members = jarray(obj, "chain");
		bool		self = false;
		double		rounds = MlRecipeNumber(obj, "rounds", 0);

		/* checked as a double: a cast of 1e300 or NaN to int is undefined, 2.5 is no count */
		if (m->discrete || !(rounds >= 1 && rounds <= 100) || rounds != floor(rounds) || members.n < 1)
			bad_recipe("chained model needs 1 to 100 rounds and its member regressions");
		m->rounds = (int) rounds;
		m->nchain = members.n;
		m->chain = palloc(sizeof(MlModel *) * members.n);
		for (int i = 0; i < members.n; i++)
		{
			if (members.items[i].type != jbvBinary ||
				strcmp(MlOptString(members.items[i].val.binary.data, "method", ""), "regression") != 0)
				bad_recipe("a chain member is not a numeric regression");
			m->chain[i] = MlModelFromJson(frame, members.items[i].val.binary.data);
			if (m->chain[i]->method != ML_METHOD_REGRESSION || m->chain[i]->discrete ||
				!isfinite(m->chain[i]->fill))
				bad_recipe("a chain member is not a numeric regression");
			if (MlOptGet(members.items[i].val.binary.data, "round_coefficients"))
			{
				/* the coefficients of every round (recipes before 0.3.0 have only the last) */
				int64		nrb;
				double	   *rb = MlOptNumbers(members.items[i].val.binary.data,
											  "round_coefficients", &nrb);

				if (nrb != (int64) m->rounds * m->chain[i]->feat->width)
					bad_recipe("a chain member's round coefficients do not match its rounds and inputs");
				for (int64 k = 0; k < nrb; k++)
					if (!isfinite(rb[k]))
						bad_recipe("a chain member's round coefficients are not finite numbers");
				m->chain[i]->round_beta = rb;
				m->chain[i]->nround_beta = m->rounds;
			}
			/* a level's indicator (older recipes have numeric members only) */
			if (MlOptGet(members.items[i].val.binary.data, "level") != NULL ||
				MlOptGet(members.items[i].val.binary.data, "levels") != NULL)
				chain_indicator(frame, m->chain[i], members.items[i].val.binary.data, m->rounds);
			for (int j = 0; j < i; j++)
				if (m->chain[j]->target == m->chain[i]->target &&
					!m->chain[j]->indicator && !m->chain[i]->indicator)
					bad_recipe("a column is twice in a chain");
			self |= m->chain[i]->target == m->target && !m->chain[i]->indicator;
			/* a chain has a member per level of each of its categories */
			CHECK_FOR_INTERRUPTS();
		}
		if (!self)
			bad_recipe("a chained model does not include its own column");
		chain_check_indicators(frame, m, &members);
		if (m->method == ML_METHOD_BLEND)
		{
			JsonbValue *own = MlOptGet(obj, "member");

			if (own == NULL || own->type != jbvBinary)
				bad_recipe("a blend has no own model (\"member\")");
			/* checked before reading: a blend never nests chains or blends */
			if (strcmp(MlOptString(own->val.binary.data, "method", ""), "chain") == 0 ||
				strcmp(MlOptString(own->val.binary.data, "method", ""), "blend") == 0 ||
				strcmp(MlOptString(own->val.binary.data, "method", ""), "forest") == 0)
				bad_recipe("a blend's own model is a chain, a blend or a forest");
			m->member = MlModelFromJson(frame, own->val.binary.data);
			/* the chain's share; blends stored by 0.3.0 have none and averaged */
			m->blend_weight = MlOptGet(obj, "weight") ? MlRecipeNumber(obj, "weight", 0) : 0.5;
			if (!(m->blend_weight >= 0 && m->blend_weight <= 1))
				bad_recipe("a blend's weight is not a number from 0 to 1");
			MlBlendCheck(frame, m);
		}
	}
	else if (m->method == ML_METHOD_FOREST)
		MlForestFromJson(frame, m, obj);
	else if (m->method == ML_METHOD_LEARNED || m->method == ML_METHOD_CLASSIFIER)
	{
		m->feat = recipe_features(frame, obj);
		MlNetFromJson(frame, m, obj);
		if (m->discrete && m->nout > m->ntlevels)
			bad_recipe("the network has more outputs than classes");
	}
	else if (m->method == ML_METHOD_KNN)
	{
		JArray		ref = jarray(obj, "reference");
		JArray		y = jarray(obj, "reference_y");
		double		k = MlRecipeNumber(obj, "k", 5);
		JsonbValue *nd;

		m->feat = recipe_features(frame, obj);

		if (!(k >= 1 && k <= 1000) || k != floor(k))
			bad_recipe("KNN \"k\" must be a whole number between 1 and 1000");
		m->k = (int) k;
		m->nref = y.n;
		if (m->nref < 1)
			bad_recipe("KNN model has no reference rows");
		if ((int64) ref.n != (int64) m->nref * m->feat->width)
			bad_recipe("KNN reference rows do not match its inputs");
		m->ref = palloc(sizeof(double) * Max(ref.n, 1));
		m->refy = palloc(sizeof(double) * Max(y.n, 1));
		nd = MlOptGet(obj, "nan_distance");
		if (nd != NULL && nd->type != jbvBool)
			bad_recipe("KNN \"nan_distance\" is not true or false");
		m->knn_nan = nd != NULL && nd->val.boolean;
		for (int i = 0; i < ref.n; i++)
		{
			/* a missing input (NaN) only where distances skip them */
			if (!MlJsonToNumber(&ref.items[i], &m->ref[i]) ||
				isinf(m->ref[i]) || (isnan(m->ref[i]) && !m->knn_nan))
				bad_recipe("a KNN reference row has an input that is not a number");
			/* as a fit keeps them: distances of finite squares */
			m->ref[i] = MlKnnInput(m->ref[i]);
		}
		for (int i = 0; i < y.n; i++)
		{
			m->refy[i] = m->discrete ? tlevel_of(m, &y.items[i]) : jnum(&y.items[i]);
			if (m->discrete && m->refy[i] < 0)
				bad_recipe("a KNN reference row has no class");
			if (!m->discrete && !isfinite(m->refy[i]))
				bad_recipe("a KNN reference row's value is not a number");
		}
	}
	return m;
}

/*
 * A model MlModelFromJson bound to a frame, bound to another frame with
 * the same columns (types and order) and its current rows: what binding
 * takes from a frame's rows are its keys' codes, coded again here, in
 * the model's memory. Reading the model once and coding each row's keys
 * gives what reading it again for that row would (features_replay.c:
 * a scored row's fills). Forests are never replayed row by row (their
 * fills read other rows), so they are refused rather than assumed to
 * keep nothing of the frame they were read on.
 */
void
MlModelRebind(MlFrame *frame, MlModel *m)
{
	if (m->method == ML_METHOD_FOREST)
		elog(ERROR, "a forest recipe step cannot be bound again");
	for (int i = 0; i < m->nkeys; i++)
		key_recode(frame, &m->keys[i]);
	if (m->feat != NULL)
		for (int i = 0; i < m->feat->nkey; i++)
			key_recode(frame, &m->feat->keys[i]);
	if (m->indicator)
		key_recode(frame, &m->ind_key);
	for (int i = 0; i < m->nchain; i++)
		MlModelRebind(frame, m->chain[i]);
	if (m->member != NULL)
		MlModelRebind(frame, m->member);
}

/* The network part of a stored learned/classifier model. */
void
MlNetFromJson(MlFrame *frame, MlModel *m, JsonbContainer *obj)
{
	List	   *text = MlOptStringList(obj, "text");
	ListCell   *lc;
	int64		n1,
				nb1,
				n2,
				nb2;
	int			D;

	double		hidden = MlRecipeNumber(obj, "hidden", 0);
	double		nout = MlRecipeNumber(obj, "outputs", 1);
	double		buckets = MlRecipeNumber(obj, "buckets", 64);

	if (!(hidden >= 0 && hidden <= 1024) || hidden != floor(hidden))
		bad_recipe("network \"hidden\" must be a whole number between 0 and 1024");
	if (!(nout >= 1 && nout <= 1000000) || nout != floor(nout))
		bad_recipe("network \"outputs\" must be a whole number between 1 and 1000000");
	if (!(buckets >= 1 && buckets <= 65536) || buckets != floor(buckets))
		bad_recipe("network \"buckets\" must be a whole number between 1 and 65536");
	m->hidden = (int) hidden;
	m->nout = (int) nout;
	m->ymean = MlRecipeNumber(obj, "ymean", 0);
	m->ysd = MlRecipeNumber(obj, "ysd", 1);
	m->buckets = (int) buckets;
	m->ntext = list_length(text);
	m->textcols = palloc(sizeof(int) * (m->ntext + 1));
	foreach(lc, text)
	{
		int			tc = recipe_column_named(frame, lfirst(lc));

		if (frame->cols[tc].level_text == NULL || frame->cols[tc].code == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of type %s is not text, but the recipe reads it as text",
							frame->cols[tc].name, format_type_be(frame->cols[tc].typid))));
		m->textcols[foreach_current_index(lc)] = tc;
	}
	if ((int64) m->feat->width + (int64) m->ntext * m->buckets > ML_MAX_RECIPE_WIDTH)
		bad_recipe("a network has too many inputs");
	D = m->feat->width + m->ntext * m->buckets;
	m->w1 = MlOptNumbers(obj, "w1", &n1);
	m->b1 = MlOptNumbers(obj, "b1", &nb1);
	m->w2 = MlOptNumbers(obj, "w2", &n2);
	m->b2 = MlOptNumbers(obj, "b2", &nb2);
	if ((m->hidden > 0 && (n1 != (int64) D * m->hidden || nb1 != m->hidden)) ||
		n2 != (int64) (m->hidden > 0 ? m->hidden : D) * m->nout || nb2 != m->nout)
		bad_recipe("network weights do not match its inputs");
}
