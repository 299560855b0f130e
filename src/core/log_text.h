/*
 * log_text.h
 *	  Text that others chose (project, role and database names, error
 *	  messages that quote them) made safe for one server log line.
 */
#ifndef ML_LOG_TEXT_H
#define ML_LOG_TEXT_H

#include "postgres.h"

/*
 * s with its control characters escaped (\n, \r, \t, \xNN; C1 controls of
 * UTF-8 as \u00NN, those of an ISO 8859 encoding as \xNN) and its
 * backslashes doubled: one log line can no longer be made to look like
 * several, nor carry terminal escapes. Palloc'd; "(null)" for NULL.
 */
extern char *MlLogText(const char *s);

/* The same in double quotes, a double quote inside escaped as \" (a name). */
extern char *MlLogQuote(const char *s);

#endif							/* ML_LOG_TEXT_H */
