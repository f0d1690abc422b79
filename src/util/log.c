/* log: timestamped, levelled log lines on stderr (see log.h). */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static enum log_level log_threshold = LOG_INFO;

void log_set_level(enum log_level level)
{
	log_threshold = level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };
	if (level < log_threshold)
		return;
	char line[2048];
	struct timeval now;
	struct tm tm;
	gettimeofday(&now, NULL);
	gmtime_r(&now.tv_sec, &tm);
	int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, (long)(now.tv_usec / 1000),
			 names[level]);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof line)
		vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	/* One fprintf per line keeps lines from different threads whole. */
	fprintf(stderr, "%s\n", line);
}
