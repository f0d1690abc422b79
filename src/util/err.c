/* err: AWS-style error objects (see err.h). */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void err_clear(struct err *e)
{
	e->status = 0;
	e->code[0] = e->reason[0] = e->message[0] = '\0';
}

int err_is_set(const struct err *e)
{
	return e->status != 0;
}

static int err_vset(struct err *e, int status, const char *code,
		    const char *reason, const char *fmt, va_list ap)
{
	if (!e || e->status)
		return -1;
	e->status = status;
	snprintf(e->code, sizeof e->code, "%s", code);
	snprintf(e->reason, sizeof e->reason, "%s", reason ? reason : "");
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	return -1;
}

int err_set(struct err *e, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(e, status, code, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int err_set_reason(struct err *e, int status, const char *code,
		   const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(e, status, code, reason, fmt, ap);
	va_end(ap);
	return -1;
}

int err_invalid(struct err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(e, 400, "InvalidParameterValue", NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int err_internal(struct err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(e, 500, "InternalError", NULL, fmt, ap);
	va_end(ap);
	return -1;
}
