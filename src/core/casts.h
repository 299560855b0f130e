/*
 * casts.h
 *	  Never-failing text parsers: numbers, booleans and timestamps, for
 *	  type inference (frame, CSV import) and the polish step's casts.
 */
#ifndef ML_CASTS_H
#define ML_CASTS_H

extern bool MlTextIsNumber(const char *s, double *value);
extern bool MlTextIsBool(const char *s);
extern bool MlTextHasLeadingZero(const char *s);
extern bool MlTextIsTimestamp(const char *s);
extern bool MlTextTimestampHasZone(const char *s);
extern bool MlTextIsTimestampTz(const char *s);
extern bool MlTextToEpoch(const char *s, double *epoch);
extern bool MlTextToEpochTz(const char *s, double *epoch);

/* How a text reads as a date (MlTextDateFit). */
typedef enum MlDateFit
{
	ML_DATE_OK, ML_DATE_NONE, ML_DATE_TIME, ML_DATE_ZONE, ML_DATE_RANGE
} MlDateFit;
extern MlDateFit MlTextDateFit(const char *s);
extern bool MlTextsNameZones(char **texts, int n);

/* What a text is among the date parser's special words (MlTextTimeWord). */
typedef enum MlTimeWord
{
	ML_TIME_WORD_NONE, ML_TIME_WORD_FIXED, ML_TIME_WORD_RELATIVE
} MlTimeWord;
extern MlTimeWord MlTextTimeWord(const char *s);

#endif							/* ML_CASTS_H */
