/* A hand-written SVG line plot of residual traces (the paper's Fig. 3), no dependency. */
#ifndef HAMDEQ_TOOLS_PLOT_H
#define HAMDEQ_TOOLS_PLOT_H

#include <stdint.h>

typedef struct cli_plot_series {
    const char *label;  /* legend text */
    int32_t n;          /* points: iterations 1 .. n */
    const double *q10;  /* lower edge of the band */
    const double *q50;  /* the line (median) */
    const double *q90;  /* upper edge of the band */
} cli_plot_series_t;

/* Writes a log-scale plot of the series to `path`, atomically (a temporary file in the
 * same directory, flushed and renamed over `path`). `tol` > 0 draws a dashed line there.
 * Returns 0, or CLI_EXIT_RUNTIME after printing one error line. */
int cli_plot_residuals(const char *path, const char *title, const cli_plot_series_t *series,
                       int n_series, double tol);

#endif /* HAMDEQ_TOOLS_PLOT_H */
