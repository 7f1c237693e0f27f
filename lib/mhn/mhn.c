/* Modern Hopfield networks as 2-layer HAMs (docs/math.md section 6): construction from
 * patterns, energy, the Hessian's smallest eigenvalue and beta_s = 1 / lambda_max(Cov). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mhn/mhn_private.h"

int hamp_mhn_check(const ham_model_t *m)
{
    int32_t k0 = -1, k1 = -1;
    if (ham_model_n_layers(m) != 2 || ham_model_has_clamped_input(m) ||
        ham_model_get_lagrangian(&k0, NULL, m, 0) != HAM_OK ||
        ham_model_get_lagrangian(&k1, NULL, m, 1) != HAM_OK || k0 != HAM_LAGRANGIAN_SOFTMAX ||
        k1 != HAM_LAGRANGIAN_IDENTITY)
        return hamp_fail(HAM_ERR_UNSUPPORTED, "not a Modern Hopfield network: 2 free layers, "
                                              "softmax then identity, expected");
    return HAM_OK;
}

void hamp_mhn_free(hamp_mhn_t *mh)
{
    free(mh->X); /* bh and bv live in the same block */
    mh->X = mh->bh = mh->bv = NULL;
}

int hamp_mhn_load(hamp_mhn_t *mh, const ham_model_t *m)
{
    mh->X = mh->bh = mh->bv = NULL;
    int rc = hamp_mhn_check(m);
    if (rc != HAM_OK)
        return rc;
    mh->n = ham_model_layer_size(m, 0);
    mh->d = ham_model_layer_size(m, 1);
    size_t nd = (size_t)mh->n * (size_t)mh->d;
    int32_t kind;
    if ((rc = ham_model_get_lagrangian(&kind, &mh->beta, m, 0)) != HAM_OK)
        return rc;
    float *block = malloc((nd + (size_t)mh->n + (size_t)mh->d) * sizeof(float));
    if (!block)
        return hamp_fail(HAM_ERR_NOMEM, "cannot copy the %d x %d patterns", (int)mh->n,
                         (int)mh->d);
    mh->X = block;
    mh->bh = block + nd;
    mh->bv = mh->bh + mh->n;
    if ((rc = ham_model_get_weights(mh->X, m, 0, nd)) != HAM_OK ||
        (rc = ham_model_get_bias(mh->bh, m, 0, (size_t)mh->n)) != HAM_OK ||
        (rc = ham_model_get_bias(mh->bv, m, 1, (size_t)mh->d)) != HAM_OK)
        hamp_mhn_free(mh);
    return rc;
}

HAM_API int ham_mhn_new(ham_model_t **model, const float *patterns, int32_t n_patterns,
                        int32_t dim, double beta)
{
    if (!model)
        return HAMP_FAIL(HAM_ERR_NULL);
    *model = NULL;
    if (!patterns)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (n_patterns < 1 || dim < 1 || (int64_t)n_patterns * dim > INT32_MAX)
        return HAMP_FAIL(HAM_ERR_INVALID);
    if (!(isfinite(beta) && beta > 0.0))
        return HAMP_FAIL(HAM_ERR_INVALID);
    size_t count = (size_t)n_patterns * (size_t)dim;
    if (!hamp_check_finite(patterns, count))
        return HAMP_FAIL(HAM_ERR_NONFINITE);

    /* hidden softmax first, visible identity last: the even-odd state (the output layer's
     * parity class) is then the visible layer, and W_0 = X^T is the patterns as rows */
    const int32_t sizes[2] = {n_patterns, dim};
    ham_model_t *m;
    int rc = ham_model_new(&m, 2, sizes, HAM_MODEL_FREE_INPUT);
    if (rc != HAM_OK)
        return rc;
    if ((rc = ham_model_set_lagrangian(m, 0, HAM_LAGRANGIAN_SOFTMAX, beta)) != HAM_OK ||
        (rc = ham_model_set_lagrangian(m, 1, HAM_LAGRANGIAN_IDENTITY, 0.0)) != HAM_OK ||
        (rc = ham_model_set_weights(m, 0, patterns, count)) != HAM_OK) {
        ham_model_free(m);
        return rc;
    }
    *model = m;
    return HAM_OK;
}

double hamp_mhn_softmax(double *p, const float *x, const float *bh, const float *v, int32_t n,
                        int32_t d, double beta)
{
    double mx = -INFINITY;
    for (int32_t mu = 0; mu < n; mu++) {
        double a = hamp_dot(x + (size_t)mu * d, v, d) + (bh ? bh[mu] : 0.0);
        p[mu] = beta * a;
        mx = fmax(mx, p[mu]);
    }
    double sum = 0.0;
    for (int32_t mu = 0; mu < n; mu++) {
        p[mu] = exp(p[mu] - mx);
        sum += p[mu];
    }
    for (int32_t mu = 0; mu < n; mu++)
        p[mu] /= sum;
    return mx + log(sum);
}

/* Checks shared by the per-state functions. */
static int check_states(const ham_model_t *m, int32_t batch, const float *v)
{
    if (batch <= 0)
        return HAMP_FAIL(HAM_ERR_INVALID);
    int rc = hamp_mhn_check(m);
    if (rc != HAM_OK)
        return rc;
    if (!hamp_check_finite(v, (size_t)batch * (size_t)ham_model_layer_size(m, 1)))
        return HAMP_FAIL(HAM_ERR_NONFINITE);
    return HAM_OK;
}

HAM_API int ham_mhn_energy(double *energy, const ham_model_t *model, int32_t batch,
                           const float *v)
{
    if (!energy || !model || !v)
        return HAMP_FAIL(HAM_ERR_NULL);
    int rc = check_states(model, batch, v);
    hamp_mhn_t mh;
    if (rc != HAM_OK || (rc = hamp_mhn_load(&mh, model)) != HAM_OK)
        return rc;
    const int32_t n = mh.n, d = mh.d;
    double *p = malloc((size_t)n * sizeof(double));
    if (!p) {
        hamp_mhn_free(&mh);
        return HAMP_FAIL(HAM_ERR_NOMEM);
    }
    for (int32_t r = 0; r < batch; r++) {
        const float *vr = v + (size_t)r * d;
        double lse = hamp_mhn_softmax(p, mh.X, mh.bh, vr, n, d, mh.beta);
        energy[r] = -lse / mh.beta + 0.5 * hamp_dot(vr, vr, d) - hamp_dot(mh.bv, vr, d);
    }
    free(p);
    hamp_mhn_free(&mh);
    return HAM_OK;
}

int hamp_mhn_cov_init(hamp_mhn_cov_t *c, int32_t n, int32_t d)
{
    memset(c, 0, sizeof *c);
    c->n = n;
    c->d = d;
    c->k = n < d ? n : d;
    if (c->k > HAMP_MHN_MAX_EIG)
        return HAMP_FAIL(HAM_ERR_INVALID);
    c->mean = malloc((size_t)d * sizeof(double));
    c->y = malloc((size_t)n * (size_t)d * sizeof(double));
    c->a = malloc((size_t)c->k * (size_t)c->k * sizeof(double));
    c->w = malloc((size_t)c->k * sizeof(double));
    if (!c->mean || !c->y || !c->a || !c->w) {
        hamp_mhn_cov_free(c);
        return HAMP_FAIL(HAM_ERR_NOMEM);
    }
    return HAM_OK;
}

void hamp_mhn_cov_free(hamp_mhn_cov_t *c)
{
    free(c->mean);
    free(c->y);
    free(c->a);
    free(c->w);
    memset(c, 0, sizeof *c);
}

int hamp_mhn_cov_max(double *lmax, hamp_mhn_cov_t *c, const float *x, const double *p)
{
    const int32_t n = c->n, d = c->d, k = c->k;
    for (int32_t i = 0; i < d; i++)
        c->mean[i] = 0.0;
    for (int32_t mu = 0; mu < n; mu++)
        for (int32_t i = 0; i < d; i++)
            c->mean[i] += p[mu] * x[(size_t)mu * d + i];
    /* y_mu = sqrt(p_mu) (x_mu - m): Cov_p = Y^T Y (d x d), same non-zero spectrum as the
     * Gram form Y Y^T (n x n); LAPACK gets the smaller one */
    for (int32_t mu = 0; mu < n; mu++) {
        double s = sqrt(p[mu]);
        for (int32_t i = 0; i < d; i++)
            c->y[(size_t)mu * d + i] = s * ((double)x[(size_t)mu * d + i] - c->mean[i]);
    }
    if (n <= d) {
        for (int32_t a = 0; a < n; a++)
            for (int32_t b = a; b < n; b++) {
                const double *ya = c->y + (size_t)a * d, *yb = c->y + (size_t)b * d;
                double acc = 0.0;
                for (int32_t i = 0; i < d; i++)
                    acc += ya[i] * yb[i];
                c->a[(size_t)a * k + b] = c->a[(size_t)b * k + a] = acc;
            }
    } else {
        for (size_t i = 0; i < (size_t)k * k; i++)
            c->a[i] = 0.0;
        for (int32_t mu = 0; mu < n; mu++) {
            const double *y = c->y + (size_t)mu * d;
            for (int32_t i = 0; i < d; i++) {
                if (y[i] == 0.0)
                    continue;
                double *row = c->a + (size_t)i * k;
                for (int32_t j = i; j < d; j++)
                    row[j] += y[i] * y[j];
            }
        }
        for (int32_t i = 0; i < d; i++)
            for (int32_t j = 0; j < i; j++)
                c->a[(size_t)i * k + j] = c->a[(size_t)j * k + i];
    }
    if (hamp_dsyev_values(k, c->a, c->w) != 0)
        return HAMP_FAIL(HAM_ERR_NUMERIC);
    *lmax = c->w[k - 1]; /* ascending */
    return HAM_OK;
}

HAM_API int ham_mhn_beta_s(double *beta_s, const float *patterns, int32_t n_patterns,
                           int32_t dim)
{
    if (!beta_s || !patterns)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (n_patterns < 1 || dim < 1)
        return HAMP_FAIL(HAM_ERR_INVALID);
    if (!hamp_check_finite(patterns, (size_t)n_patterns * (size_t)dim))
        return HAMP_FAIL(HAM_ERR_NONFINITE);
    /* identical patterns (one pattern included) have a zero covariance: beta_s = +inf
     * exactly, not the reciprocal of rounding noise */
    int all_equal = 1;
    for (size_t i = (size_t)dim; i < (size_t)n_patterns * dim && all_equal; i++)
        all_equal = patterns[i] == patterns[i % (size_t)dim];
    if (all_equal) {
        *beta_s = INFINITY;
        return HAM_OK;
    }
    hamp_mhn_cov_t c;
    int rc = hamp_mhn_cov_init(&c, n_patterns, dim);
    if (rc != HAM_OK)
        return rc;
    double *p = malloc((size_t)n_patterns * sizeof(double));
    if (!p) {
        hamp_mhn_cov_free(&c);
        return HAMP_FAIL(HAM_ERR_NOMEM);
    }
    for (int32_t mu = 0; mu < n_patterns; mu++)
        p[mu] = 1.0 / n_patterns;
    double lmax = 0.0;
    rc = hamp_mhn_cov_max(&lmax, &c, patterns, p);
    if (rc == HAM_OK)
        *beta_s = lmax > 0.0 ? 1.0 / lmax : INFINITY;
    free(p);
    hamp_mhn_cov_free(&c);
    return rc;
}

HAM_API int ham_mhn_hessian_min(double *lambda_min, const ham_model_t *model, int32_t batch,
                                const float *v)
{
    if (!lambda_min || !model || !v)
        return HAMP_FAIL(HAM_ERR_NULL);
    int rc = check_states(model, batch, v);
    hamp_mhn_t mh;
    if (rc != HAM_OK || (rc = hamp_mhn_load(&mh, model)) != HAM_OK)
        return rc;
    const int32_t n = mh.n, d = mh.d;
    hamp_mhn_cov_t c;
    if ((rc = hamp_mhn_cov_init(&c, n, d)) != HAM_OK) {
        hamp_mhn_free(&mh);
        return rc;
    }
    double *p = malloc((size_t)n * sizeof(double));
    if (!p) {
        hamp_mhn_cov_free(&c);
        hamp_mhn_free(&mh);
        return HAMP_FAIL(HAM_ERR_NOMEM);
    }
    for (int32_t r = 0; r < batch && rc == HAM_OK; r++) {
        double lmax = 0.0;
        hamp_mhn_softmax(p, mh.X, mh.bh, v + (size_t)r * d, n, d, mh.beta);
        rc = hamp_mhn_cov_max(&lmax, &c, mh.X, p);
        /* the Hessian is I - beta Cov_p; Cov_p is positive semi-definite */
        lambda_min[r] = 1.0 - mh.beta * fmax(lmax, 0.0);
    }
    free(p);
    hamp_mhn_cov_free(&c);
    hamp_mhn_free(&mh);
    return rc;
}
