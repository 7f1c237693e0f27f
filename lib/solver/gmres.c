/* Batched, restart-free GMRES for (I - J) d = b, one system per working row, with J
 * applied matrix-free through the operator's JVP at the current linearisation point.
 * Newton uses it when the state is too long for a dense Jacobian (docs/math.md s. 4).
 * All rows advance in lockstep, one batched JVP per Krylov step, so BLAS sees one
 * tall product instead of many thin ones; a row whose residual is small enough stops
 * updating. Arnoldi with modified Gram-Schmidt and Givens rotations in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/fastmath.h"
#include "solver/solver_private.h"

void hamp_gmres_free(hamp_gmres_t *g)
{
    free(g->V);
    free(g->H);
    free(g->cs);
    free(g->sn);
    free(g->rhs);
    free(g->w);
    free(g->jw);
    free(g->wd);
    free(g->k);
    free(g->beta);
    memset(g, 0, sizeof *g);
}

int hamp_gmres_init(hamp_gmres_t *g, int32_t dim, int32_t cap, int32_t kmax)
{
    memset(g, 0, sizeof *g);
    g->dim = dim;
    g->cap = cap;
    g->kmax = kmax;
    size_t d = (size_t)dim, rows = (size_t)cap, k = (size_t)kmax;
    g->V = malloc(rows * (k + 1) * d * sizeof(float));
    g->H = malloc(rows * (k + 1) * k * sizeof(double));
    g->cs = malloc(rows * k * sizeof(double));
    g->sn = malloc(rows * k * sizeof(double));
    g->rhs = malloc(rows * (k + 1) * sizeof(double));
    g->w = malloc(rows * d * sizeof(float));
    g->jw = malloc(rows * d * sizeof(float));
    g->wd = malloc(d * sizeof(double));
    g->k = malloc(rows * sizeof(int32_t));
    g->beta = malloc(rows * sizeof(double));
    if (!g->V || !g->H || !g->cs || !g->sn || !g->rhs || !g->w || !g->jw || !g->wd || !g->k || !g->beta) {
        hamp_gmres_free(g);
        return HAMP_FAIL(HAM_ERR_NOMEM);
    }
    return HAM_OK;
}

/* Row r's Krylov vector i. */
static float *basis(const hamp_gmres_t *g, int32_t r, int32_t i)
{
    return g->V + ((size_t)r * (g->kmax + 1) + i) * g->dim;
}

static double *hess(const hamp_gmres_t *g, int32_t r, int32_t i, int32_t j)
{
    return g->H + ((size_t)r * (g->kmax + 1) + i) * g->kmax + j;
}

/* sum_t a[t] b[t] with 16 partial sums (vectorises; a single running sum is a chain of
 * dependent additions the compiler may not reorder), in a fixed order */
static inline double dot_df(const double *a, const float *b, size_t n)
{
    double acc[16] = {0}, tail = 0.0;
    size_t t = 0;
    for (; t + 16 <= n; t += 16)
        for (int l = 0; l < 16; l++)
            acc[l] += a[t + l] * (double)b[t + l];
    for (; t < n; t++)
        tail += a[t] * (double)b[t];
    for (int w = 8; w > 0; w /= 2)
        for (int l = 0; l < w; l++)
            acc[l] += acc[l + w];
    return acc[0] + tail;
}

static inline double dot_dd(const double *a, size_t n)
{
    double acc[16] = {0}, tail = 0.0;
    size_t t = 0;
    for (; t + 16 <= n; t += 16)
        for (int l = 0; l < 16; l++)
            acc[l] += a[t + l] * a[t + l];
    for (; t < n; t++)
        tail += a[t] * a[t];
    for (int w = 8; w > 0; w /= 2)
        for (int l = 0; l < w; l++)
            acc[l] += acc[l + w];
    return acc[0] + tail;
}

/* One Arnoldi step of row r: wd = (I - J) v_j orthogonalised against v_0..v_j (modified
 * Gram-Schmidt), H's column j, and v_{j+1}. Returns ||wd||. */
HAMP_VECTOR_CLONES
static double arnoldi_row(const hamp_gmres_t *g, int32_t r, int32_t j, const float *jv)
{
    const size_t n = (size_t)g->dim;
    double *wd = g->wd;
    const float *vj = basis(g, r, j);
    for (size_t i = 0; i < n; i++)
        wd[i] = (double)vj[i] - (double)jv[i]; /* (I - J) v_j */
    for (int32_t i = 0; i <= j; i++) {
        const float *vi = basis(g, r, i);
        double h = dot_df(wd, vi, n);
        for (size_t t = 0; t < n; t++)
            wd[t] -= h * vi[t];
        *hess(g, r, i, j) = h;
    }
    double hn = sqrt(dot_dd(wd, n));
    *hess(g, r, j + 1, j) = hn;
    if (hn > 0.0) {
        float *vn = basis(g, r, j + 1);
        for (size_t t = 0; t < n; t++)
            vn[t] = (float)(wd[t] / hn);
    }
    return hn;
}

int32_t hamp_gmres_solve(hamp_gmres_t *g, ham_solver_t *sv, float *d, const float *b,
                         int32_t rows, double rtol)
{
    const size_t n = (size_t)g->dim;
    const int32_t kmax = g->kmax;
    int32_t active = 0, steps = 0;
    for (int32_t r = 0; r < rows; r++) {
        const float *br = b + (size_t)r * n;
        double beta = hamp_nrm2(br, (int32_t)n);
        double *rhs = g->rhs + (size_t)r * (kmax + 1);
        memset(rhs, 0, (size_t)(kmax + 1) * sizeof(double));
        rhs[0] = beta;
        g->beta[r] = beta;
        g->k[r] = -1; /* still iterating */
        if (!(beta > 0.0) || !isfinite(beta)) {
            g->k[r] = 0;
            continue;
        }
        float *v0 = basis(g, r, 0);
        for (size_t i = 0; i < n; i++)
            v0[i] = (float)(br[i] / beta);
        active++;
    }
    for (int32_t j = 0; j < kmax && active > 0; j++) {
        for (int32_t r = 0; r < rows; r++)
            memcpy(g->w + (size_t)r * n, basis(g, r, j), n * sizeof(float));
        hamp_solver_jvp(sv, g->jw, g->w, rows, 1);
        steps++;
        for (int32_t r = 0; r < rows; r++) {
            if (g->k[r] >= 0)
                continue;
            double *rhs = g->rhs + (size_t)r * (kmax + 1);
            double hn = arnoldi_row(g, r, j, g->jw + (size_t)r * n);
            /* rotate the new column with the old rotations, then annihilate H[j+1][j] */
            double *cs = g->cs + (size_t)r * kmax, *sn = g->sn + (size_t)r * kmax;
            for (int32_t i = 0; i < j; i++) {
                double a = *hess(g, r, i, j), c = *hess(g, r, i + 1, j);
                *hess(g, r, i, j) = cs[i] * a + sn[i] * c;
                *hess(g, r, i + 1, j) = -sn[i] * a + cs[i] * c;
            }
            double a = *hess(g, r, j, j), c = *hess(g, r, j + 1, j);
            double den = hypot(a, c);
            cs[j] = den > 0.0 ? a / den : 1.0;
            sn[j] = den > 0.0 ? c / den : 0.0;
            *hess(g, r, j, j) = den;
            *hess(g, r, j + 1, j) = 0.0;
            rhs[j + 1] = -sn[j] * rhs[j];
            rhs[j] = cs[j] * rhs[j];
            if (fabs(rhs[j + 1]) <= rtol * g->beta[r] || hn == 0.0 ||
                j + 1 == kmax) {
                g->k[r] = j + 1;
                active--;
            }
        }
    }
    /* back-substitution y = R^{-1} rhs, then d = V y */
    for (int32_t r = 0; r < rows; r++) {
        float *dr = d + (size_t)r * n;
        memset(dr, 0, n * sizeof(float));
        int32_t k = g->k[r] < 0 ? kmax : g->k[r];
        double *y = g->rhs + (size_t)r * (kmax + 1);
        for (int32_t i = k - 1; i >= 0; i--) {
            double acc = y[i];
            for (int32_t t = i + 1; t < k; t++)
                acc -= *hess(g, r, i, t) * y[t];
            double diag = *hess(g, r, i, i);
            y[i] = diag != 0.0 ? acc / diag : 0.0;
        }
        for (int32_t i = 0; i < k; i++) {
            const float *vi = basis(g, r, i);
            float yi = (float)y[i];
            for (size_t t = 0; t < n; t++)
                dr[t] += yi * vi[t];
        }
    }
    return steps;
}
