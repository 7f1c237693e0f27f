/* Relative residual against iteration, median line and 10-90% band per series, on a
 * log-scale y axis: plain SVG 1.1 written by hand, valid XML, rendered by any browser. */
#include <math.h>
#include <stdio.h>

#include "cli.h"
#include "plot.h"
#include "svg_file.h"

#define W 780.0
#define H 480.0
#define LEFT 78.0
#define RIGHT 200.0
#define TOP 48.0
#define BOTTOM 58.0
/* Lowest decade shown: float32 residuals rarely get below 1e-8; an exact fixed point
 * (residual 0) sits on the bottom edge. */
#define FLOOR_EXP (-9)

static const char *const colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                      "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

typedef struct frame {
    int32_t xmax;
    int lo, hi; /* decades of the y axis */
} frame_t;

static double px(const frame_t *f, double it)
{
    double span = f->xmax > 1 ? (double)(f->xmax - 1) : 1.0;
    return LEFT + (it - 1.0) / span * (W - LEFT - RIGHT);
}

static double py(const frame_t *f, double v)
{
    double e;
    if (!(v > 0.0))
        e = f->lo; /* zero (an exact fixed point) sits on the floor */
    else if (isinf(v))
        e = f->hi;
    else
        e = log10(v);
    if (e < f->lo)
        e = f->lo;
    if (e > f->hi)
        e = f->hi;
    return TOP + (f->hi - e) / (double)(f->hi - f->lo) * (H - TOP - BOTTOM);
}

static void axis_range(frame_t *f, const cli_plot_series_t *series, int n_series)
{
    double vmin = INFINITY, vmax = 0.0;
    f->xmax = 2;
    for (int i = 0; i < n_series; i++) {
        const cli_plot_series_t *s = &series[i];
        if (s->n > f->xmax)
            f->xmax = s->n;
        for (int32_t j = 0; j < s->n; j++) {
            const double v[3] = {s->q10[j], s->q50[j], s->q90[j]};
            for (int k = 0; k < 3; k++) {
                if (v[k] > 0.0 && v[k] < vmin)
                    vmin = v[k];
                if (isfinite(v[k]) && v[k] > vmax)
                    vmax = v[k];
            }
        }
    }
    f->hi = vmax > 1.0 ? (int)ceil(log10(vmax)) : 0;
    if (f->hi > 6)
        f->hi = 6;
    f->lo = isfinite(vmin) ? (int)floor(log10(vmin)) : -8;
    if (f->lo < FLOOR_EXP)
        f->lo = FLOOR_EXP;
    if (f->lo > f->hi - 2)
        f->lo = f->hi - 2;
}

static void draw(FILE *out, const char *title, const cli_plot_series_t *series, int n_series,
                 double tol)
{
    frame_t f;
    axis_range(&f, series, n_series);
    const double x0 = LEFT, x1 = W - RIGHT, y0 = TOP, y1 = H - BOTTOM;

    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"Helvetica, Arial, "
            "sans-serif\" font-size=\"13\">\n",
            W, H, W, H);
    fprintf(out, "<title>");
    cli_svg_text(out, title);
    fprintf(out, "</title>\n<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" "
                 "fill=\"white\"/>\n",
            W, H);
    fprintf(out, "<text x=\"%.1f\" y=\"28\" text-anchor=\"middle\" font-size=\"15\">",
            (x0 + x1) / 2);
    cli_svg_text(out, title);
    fprintf(out, "</text>\n");

    /* grid and y ticks: one per decade */
    fprintf(out, "<g stroke=\"#dddddd\" stroke-width=\"1\">\n");
    for (int e = f.lo; e <= f.hi; e++)
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x0,
                py(&f, pow(10, e)), x1, py(&f, pow(10, e)));
    fprintf(out, "</g>\n<g text-anchor=\"end\">\n");
    for (int e = f.lo; e <= f.hi; e++) {
        double y = py(&f, pow(10, e));
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">10<tspan dy=\"-6\" font-size=\"10\">%d</tspan>"
                     "</text>\n",
                x0 - 8, y + 4, e);
    }
    fprintf(out, "</g>\n");

    /* x ticks: a step of 1, 2, 5, 10, ... giving at most 10 ticks */
    int step = 1;
    while ((f.xmax - 1) / step > 10)
        step = step == 1 ? 2 : step == 2 ? 5 : step * 2;
    fprintf(out, "<g text-anchor=\"middle\">\n");
    for (int it = 1; it <= f.xmax; it += (it == 1 && step > 1) ? step - 1 : step) {
        double x = px(&f, it);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n",
                x, y1, x, y1 + 5);
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">%d</text>\n", x, y1 + 19, it);
    }
    fprintf(out, "</g>\n");
    fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                 "stroke=\"black\"/>\n",
            x0, y0, x1 - x0, y1 - y0);
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">iteration</text>\n",
            (x0 + x1) / 2, H - 16);
    fprintf(out, "<text x=\"18\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 18 "
                 "%.1f)\">relative residual ||G(s) - s|| / ||G(s)||</text>\n",
            (y0 + y1) / 2, (y0 + y1) / 2);

    if (tol > 0.0 && log10(tol) >= f.lo && log10(tol) <= f.hi) {
        double y = py(&f, tol);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555555\" "
                     "stroke-dasharray=\"6 4\"/>\n",
                x0, y, x1, y);
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555555\" "
                     "font-size=\"11\">tol %g</text>\n",
                x1 - 4, y - 4, tol);
    }

    /* bands first, then the medians over them */
    for (int i = 0; i < n_series; i++) {
        const cli_plot_series_t *s = &series[i];
        const char *c = colours[i % (int)(sizeof colours / sizeof colours[0])];
        fprintf(out, "<polygon fill=\"%s\" fill-opacity=\"0.18\" stroke=\"none\" points=\"", c);
        for (int32_t j = 0; j < s->n; j++)
            fprintf(out, "%.1f,%.1f ", px(&f, j + 1), py(&f, s->q90[j]));
        for (int32_t j = s->n - 1; j >= 0; j--)
            fprintf(out, "%.1f,%.1f ", px(&f, j + 1), py(&f, s->q10[j]));
        fprintf(out, "\"/>\n");
    }
    for (int i = 0; i < n_series; i++) {
        const cli_plot_series_t *s = &series[i];
        const char *c = colours[i % (int)(sizeof colours / sizeof colours[0])];
        fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", c);
        for (int32_t j = 0; j < s->n; j++)
            fprintf(out, "%.1f,%.1f ", px(&f, j + 1), py(&f, s->q50[j]));
        fprintf(out, "\"/>\n");
    }

    /* legend */
    double ly = y0 + 8;
    for (int i = 0; i < n_series; i++, ly += 22) {
        const char *c = colours[i % (int)(sizeof colours / sizeof colours[0])];
        fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"22\" height=\"10\" fill=\"%s\" "
                     "fill-opacity=\"0.18\"/>\n",
                x1 + 14, ly, c);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                     "stroke-width=\"2\"/>\n",
                x1 + 14, ly + 5, x1 + 36, ly + 5, c);
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">", x1 + 42, ly + 10);
        cli_svg_text(out, series[i].label);
        fprintf(out, "</text>\n");
    }
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#555555\">line: median; "
                 "band: 10-90%%</text>\n",
            x1 + 14, ly + 10);
    fprintf(out, "</svg>\n");
}

int cli_plot_residuals(const char *path, const char *title, const cli_plot_series_t *series,
                       int n_series, double tol)
{
    cli_svg_file_t f;
    int rc = cli_svg_file_open(&f, path);
    if (rc)
        return rc;
    draw(f.out, title, series, n_series, tol);
    return cli_svg_file_commit(&f);
}
