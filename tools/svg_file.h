/* An SVG file written atomically, and text escaped for it (svg_file.c). */
#ifndef HAMDEQ_TOOLS_SVG_FILE_H
#define HAMDEQ_TOOLS_SVG_FILE_H

#include <stdio.h>

/* A file written atomically: into a temporary file in the same directory, which commit
 * flushes, fsyncs and renames over path. phase and retrieve open it before printing
 * anything, so that a path that cannot be written fails first. */
typedef struct cli_svg_file {
    FILE *out;
    char *tmp;
    const char *path;
} cli_svg_file_t;

/* Returns 0, or CLI_EXIT_RUNTIME after printing one error line. */
int cli_svg_file_open(cli_svg_file_t *f, const char *path);
/* Returns 0, or CLI_EXIT_RUNTIME after printing one error line (nothing is left behind). */
int cli_svg_file_commit(cli_svg_file_t *f);
/* Removes the temporary file; a no-op on a zeroed or committed struct. */
void cli_svg_file_abort(cli_svg_file_t *f);

/* Writes s as XML text: special characters escaped, control characters dropped. */
void cli_svg_text(FILE *out, const char *s);

/* Begins a w x h SVG document: the XML declaration, the <svg> element (sans-serif, plus
 * `attrs`, e.g. " shape-rendering=\"crispEdges\"", or ""), a white background and
 * `title` centred at the top. The caller closes it with "</svg>\n". */
void cli_svg_begin(FILE *out, double w, double h, const char *attrs, const char *title);

#endif /* HAMDEQ_TOOLS_SVG_FILE_H */
