/* Status strings (from the X-macro table in common.h) and per-handle messages. */
#include <stdarg.h>
#include <stdio.h>

#include "common/common_private.h"

HAM_API const char *ham_strerror(int status)
{
    switch (status) {
#define HAMP_TEXT_(name, value, text) \
    case value:                       \
        return text;
        HAM_STATUS_TABLE(HAMP_TEXT_)
#undef HAMP_TEXT_
    default:
        return "unknown status";
    }
}

HAM_API const char *ham_status_name(int status)
{
    switch (status) {
#define HAMP_NAME_(name, value, text) \
    case value:                       \
        return #name;
        HAM_STATUS_TABLE(HAMP_NAME_)
#undef HAMP_NAME_
    default:
        return "HAM_UNKNOWN";
    }
}

HAM_API uint32_t ham_version(void)
{
    return 10000u * HAM_VERSION_MAJOR + 100u * HAM_VERSION_MINOR + HAM_VERSION_PATCH;
}

#define HAMP_STR2_(x) #x
#define HAMP_STR_(x) HAMP_STR2_(x)

HAM_API const char *ham_version_string(void)
{
    return HAMP_STR_(HAM_VERSION_MAJOR) "." HAMP_STR_(HAM_VERSION_MINOR) "." HAMP_STR_(
        HAM_VERSION_PATCH);
}

int hamp_fail(char *buf, int status, const char *fmt, ...)
{
    if (buf) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, HAMP_MSG_LEN, fmt, ap);
        va_end(ap);
    }
    return status;
}

int hamp_errbuf(char *err, size_t err_len, int status, const char *fmt, ...)
{
    if (err && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return status;
}
