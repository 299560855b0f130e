/*
 * score.h
 *	  ml_score's output: rows written into the table it has just created.
 */
#ifndef ML_SCORE_H
#define ML_SCORE_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"

typedef struct MlScoreWriter MlScoreWriter;
typedef struct MlScoreReader MlScoreReader;

extern int	ml_score_block_rows;

extern void MlScoreInit(void);
extern MlScoreReader *MlScoreReaderOpen(Oid relid);
extern TupleDesc MlScoreReaderDesc(MlScoreReader *r);
extern TupleDesc MlScoreReaderDeformDesc(MlScoreReader *r);
extern bool MlScoreReaderIsDirect(MlScoreReader *r);
extern int	MlScoreReaderNext(MlScoreReader *r, int want, HeapTuple **tuples);
extern void MlScoreReaderClose(MlScoreReader *r);
extern MlScoreWriter *MlScoreWriterOpen(Oid relid, const char *relname, TupleDesc expected);
extern void MlScoreWriterPut(MlScoreWriter *w, const Datum *values, const bool *nulls);
extern void MlScoreWriterFlush(MlScoreWriter *w);
extern void MlScoreWriterClose(MlScoreWriter *w);

#endif							/* ML_SCORE_H */
