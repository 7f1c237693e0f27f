/* Status strings (from the private table HAMP_STATUS_TABLE) and the thread's last error. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/common_private.h"

HAM_API const char *ham_strerror(int status)
{
    switch (status) {
#define HAMP_TEXT_(name, text) \
    case name:                       \
        return text;
        HAMP_STATUS_TABLE(HAMP_TEXT_)
#undef HAMP_TEXT_
    default:
        return "unknown status";
    }
}

HAM_API const char *ham_status_name(int status)
{
    switch (status) {
#define HAMP_NAME_(name, text) \
    case name:                       \
        return #name;
        HAMP_STATUS_TABLE(HAMP_NAME_)
#undef HAMP_NAME_
    default:
        return "HAM_UNKNOWN";
    }
}

HAM_API uint32_t ham_version(void)
{
    return HAM_VERSION_NUMBER;
}

HAM_API const char *ham_version_string(void)
{
    return HAM_VERSION_STRING;
}

/* Thread-local: each thread reads the message of its own last failure (libgit2's rule). */
static _Thread_local char last_error[HAMP_MSG_LEN];

HAM_API const char *ham_last_error(void)
{
    return last_error;
}

int hamp_fail(int status, const char *fmt, ...)
{
    char buf[HAMP_MSG_LEN]; /* formatted apart: an argument may be last_error itself */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    memcpy(last_error, buf, sizeof buf);
    return status;
}

int hamp_status_known(int status)
{
    switch (status) {
#define HAMP_KNOWN_(name, text) \
    case name:                        \
        return 1;
        HAMP_STATUS_TABLE(HAMP_KNOWN_)
#undef HAMP_KNOWN_
    default:
        return 0;
    }
}
