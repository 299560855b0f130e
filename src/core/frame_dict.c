/*
 * frame_dict.c
 *	  The level dictionary of a frame column: each distinct text (or whole
 *	  number) of a column gets a code, in order of first appearance.
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "utils/memutils.h"

#include "core/frame_int.h"

#define DICT_DIRECT 4096		/* whole numbers 0 .. 4095 looked up without hashing */

/*
 * Open-addressing map from a level (text or number) to its code. Numeric
 * columns are mostly small whole numbers (counts, prices, ids): those are
 * also found in a direct table, filled as their levels are added, so the
 * codes are the same as the hash table's.
 */
struct MlDict
{
	uint32		mask;
	int32	   *slots;			/* code + 1, 0 when empty */
	uint32	   *hashes;			/* hash of each level, by code */
	int			capacity;		/* allocated levels */
	int32	   *direct;			/* numeric: code + 1 of whole number k, 0 if not seen
								 * (a cache of the slots: NULL until a whole
								 * number is added, and once the codes are
								 * dropped) */
};

/* A number's slot in the direct table, or -1 (-0 is a level of its own there) */
static inline int
dict_direct_slot(double value)
{
	if (value >= 0 && value < DICT_DIRECT && !signbit(value))
	{
		int			k = (int) value;

		if ((double) k == value)
			return k;
	}
	return -1;
}

/* a level's hash: its bytes (text), or its bits mixed (a number) */
static inline uint32
hash_level(const char *text, int len, double value)
{
	uint64		bits;

	if (text)
		return hash_bytes((const unsigned char *) text, len);
	memcpy(&bits, &value, sizeof(bits));
	bits ^= bits >> 33;
	bits *= UINT64CONST(0xff51afd7ed558ccd);
	bits ^= bits >> 33;
	return (uint32) bits;
}

static void
dict_grow_slots(MlColumn *col)
{
	MlDict	   *d = col->dict;
	uint32		newsize = (d->mask + 1) * 2;

	pfree(d->slots);
	d->slots = MemoryContextAllocZero(GetMemoryChunkContext(d->hashes), sizeof(int32) * newsize);
	d->mask = newsize - 1;
	for (int c = 0; c < col->nlevels; c++)
	{
		uint32		i = d->hashes[c] & d->mask;

		while (d->slots[i])
			i = (i + 1) & d->mask;
		d->slots[i] = c + 1;
	}
}

/* Code of a level, adding it if new (frame_int.h). */
int32
MlDictCodeLen(MlColumn *col, const char *text, int len, double value, bool add)
{
	MlDict	   *d = col->dict;
	int			k = text ? -1 : dict_direct_slot(value);
	uint32		h;
	uint32		i;

	if (k >= 0 && d->direct && d->direct[k] > 0)
		return d->direct[k] - 1;
	h = hash_level(text, len, value);
	i = h & d->mask;
	while (d->slots[i])
	{
		int32		c = d->slots[i] - 1;

		if (d->hashes[c] == h &&
			(text ? (memcmp(col->level_text[c], text, len) == 0 && col->level_text[c][len] == '\0') :
			 col->level_value[c] == value))
			return c;
		i = (i + 1) & d->mask;
	}
	if (!add)
		return -1;
	if (col->nlevels >= d->capacity)
	{
		d->capacity *= 2;
		d->hashes = repalloc(d->hashes, sizeof(uint32) * d->capacity);
		if (text)
			col->level_text = repalloc(col->level_text, sizeof(char *) * d->capacity);
		else
			col->level_value = repalloc(col->level_value, sizeof(double) * d->capacity);
	}
	d->hashes[col->nlevels] = h;
	/* levels live as long as the column, whatever context adds them */
	if (text)
	{
		char	   *copy = MemoryContextAlloc(GetMemoryChunkContext(d->hashes), len + 1);

		memcpy(copy, text, len);
		copy[len] = '\0';
		col->level_text[col->nlevels] = copy;
	}
	else
		col->level_value[col->nlevels] = value;
	d->slots[i] = col->nlevels + 1;
	if (k >= 0)
	{
		if (d->direct == NULL)
			d->direct = MemoryContextAllocZero(GetMemoryChunkContext(d->hashes),
											   sizeof(int32) * DICT_DIRECT);
		d->direct[k] = col->nlevels + 1;
	}
	col->nlevels++;
	if ((uint32) col->nlevels * 2 > d->mask)
		dict_grow_slots(col);
	return col->nlevels - 1;
}

void
MlDictInit(MlColumn *col, bool text)
{
	col->dict = palloc0(sizeof(MlDict));
	col->dict->mask = 1023;
	col->dict->slots = palloc0(sizeof(int32) * 1024);
	col->dict->capacity = 256;
	col->dict->hashes = palloc(sizeof(uint32) * 256);
	if (text)
		col->level_text = palloc(sizeof(char *) * 256);
	else
		col->level_value = palloc(sizeof(double) * 256);
}

/* A column's codes are dropped: its direct table is no longer worth its memory. */
void
MlDictDropDirect(MlColumn *col)
{
	if (col->dict && col->dict->direct)
	{
		pfree(col->dict->direct);
		col->dict->direct = NULL;
	}
}

/* Code of a text level, added to the column's levels if new. */
int32
MlColumnAddLevel(MlColumn *col, const char *text)
{
	return MlDictCode(col, text, 0, true);
}

/* An empty level dictionary for a text column built outside a load (one scored row). */
void
MlColumnInitLevels(MlColumn *col)
{
	MlDictInit(col, true);
	col->nlevels = 0;
}

/* Code of an existing level, or -1 (used to map new data onto a recipe). */
int32
MlColumnLevel(MlColumn *col, const char *text, double value)
{
	if (col->dict == NULL)
		return -1;
	return MlDictCode(col, text, value, false);
}
