/* Compiled once per public header (tests/meson.build sets HEADER_UNDER_TEST): each
 * header compiles alone, as strict C11, without relying on what others include first. */
#include HEADER_UNDER_TEST

int hamdeq_header_single_unused(void);
int hamdeq_header_single_unused(void)
{
    return 0;
}
