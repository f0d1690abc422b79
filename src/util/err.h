/*
 * err: the error object every fallible amibox function fills.
 *
 * Library code returns -1 (or NULL) and describes the failure with err_set():
 * an AWS error code ("InvalidSnapshot.NotFound"), the HTTP status AWS uses for
 * it, and a message for people.  Only the first err_set() after err_clear()
 * sticks, so the innermost, most precise cause wins.  The API layer turns the
 * object into the protocol's error body; the CLI prints the message.
 */
#ifndef AMIBOX_UTIL_ERR_H
#define AMIBOX_UTIL_ERR_H

struct err {
	int status;       /* HTTP status; 0 while no error is set */
	char code[64];    /* AWS error code, e.g. "InvalidParameterValue" */
	char reason[64];  /* EBS ValidationException reason, or "" */
	char message[512];
};

#define ERR_INIT { 0, "", "", "" }

void err_clear(struct err *e);
int err_is_set(const struct err *e);
/* Sets the error (unless one is already set) and returns -1. */
int err_set(struct err *e, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* As err_set(), with an EBS ValidationException-style reason. */
int err_set_reason(struct err *e, int status, const char *code,
		   const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Shorthand for the common 400 InvalidParameterValue. */
int err_invalid(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* An internal failure: 500 InternalError, message from the cause. */
int err_internal(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
