/* Helpers of the Modern Hopfield subcommands (see mhn_util.h). */
#include <math.h>

#include "cli.h"
#include "mhn_util.h"

void mhn_rng_seed(mhn_rng_t *r, uint64_t seed)
{
    r->s = seed;
}

static uint64_t next(mhn_rng_t *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double mhn_uniform(mhn_rng_t *r)
{
    return (double)(next(r) >> 11) * 0x1.0p-53;
}

double mhn_gaussian(mhn_rng_t *r)
{
    double u = 1.0 - mhn_uniform(r); /* (0, 1]: log is finite */
    double v = mhn_uniform(r);
    return sqrt(-2.0 * log(u)) * cos(2.0 * 3.14159265358979323846 * v);
}

int mhn_solver_new(ham_solver_t **solver, const ham_model_t *model, int32_t kind, double tol,
                   int64_t max_iter, int warm_start)
{
    *solver = NULL;
    int rc = ham_solver_new(solver, model, HAM_OPERATOR_EVEN_ODD, kind);
    if (rc == HAM_OK && warm_start)
        rc = ham_solver_set_option(*solver, HAM_OPT_WARM_START, 1);
    if (rc == HAM_OK)
        rc = ham_solver_set_option(*solver, HAM_OPT_TOL, tol);
    if (rc == HAM_OK)
        rc = ham_solver_set_option(*solver, HAM_OPT_MAX_ITER, (double)max_iter);
    if (rc == HAM_OK)
        rc = ham_solver_set_option(*solver, HAM_OPT_THREADS, cli_threads());
    if (rc == HAM_OK)
        return 0;
    cli_error("solver: %s", ham_last_error());
    ham_solver_free(*solver);
    *solver = NULL;
    return CLI_EXIT_RUNTIME;
}

void mhn_mean_image(double *mean, const float *pix, int32_t count, int32_t d)
{
    for (int32_t i = 0; i < d; i++)
        mean[i] = 0.0;
    for (int32_t k = 0; k < count; k++)
        for (int32_t i = 0; i < d; i++)
            mean[i] += pix[(size_t)k * d + i];
    for (int32_t i = 0; i < d; i++)
        mean[i] /= count;
}

void mhn_normalise(float *out, const float *pix, int32_t count, int32_t d, const double *mean)
{
    for (int32_t k = 0; k < count; k++) {
        const float *p = pix + (size_t)k * d;
        float *o = out + (size_t)k * d;
        double nrm = 0.0;
        for (int32_t i = 0; i < d; i++) {
            double t = p[i] - mean[i];
            nrm += t * t;
        }
        double inv = nrm > 0.0 ? 1.0 / sqrt(nrm) : 0.0;
        for (int32_t i = 0; i < d; i++)
            o[i] = (float)((p[i] - mean[i]) * inv);
    }
}
