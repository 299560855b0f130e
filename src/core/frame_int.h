/*
 * frame_int.h
 *	  What the frame's files share and nothing else includes: a column's
 *	  level dictionary (frame_dict.c), used by loading (frame.c) and by
 *	  conversion of text columns (frame_column.c).
 */
#ifndef ML_FRAME_INT_H
#define ML_FRAME_INT_H

#include "core/frame.h"

/*
 * Code of a level, adding it if new (text of len bytes, not necessarily
 * terminated, for categorical columns; value for numeric ones). Returns -1
 * when the column may hold no more levels.
 */
extern int32 MlDictCodeLen(MlColumn *col, const char *text, int len, double value, bool add);

/* A new empty dictionary for col, of text or of numeric levels. */
extern void MlDictInit(MlColumn *col, bool text);

/* A column's codes are dropped: its direct table is no longer worth its memory. */
extern void MlDictDropDirect(MlColumn *col);

/* MlDictCodeLen of a terminated text (or of value when text is NULL) */
static inline int32
MlDictCode(MlColumn *col, const char *text, double value, bool add)
{
	return MlDictCodeLen(col, text, text ? (int) strlen(text) : 0, value, add);
}

#endif							/* ML_FRAME_INT_H */
