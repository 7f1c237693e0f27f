/* Private helpers shared by the Modern Hopfield network files (mhn.c, minima.c). The MHN
 * code is a client of the model and the solver like any program: it reads them through
 * the public API only (tests/check_layers.py keeps the solver's private header out of
 * reach), and needs nothing above the common layer's helpers. */
#ifndef HAMDEQ_MHN_PRIVATE_H
#define HAMDEQ_MHN_PRIVATE_H

#include "common/common_private.h"

/* Largest side of the covariance matrix the eigensolver is given (min(N, d) of it):
 * 8192^2 doubles are 512 MiB. */
#define HAMP_MHN_MAX_EIG 8192

/* The first published size of ham_mhn_minima_t. */
#define HAMP_MHN_MINIMA_V1 (offsetof(ham_mhn_minima_t, iters_mean) + sizeof(double))

/* HAM_OK when m has the MHN layout (2 layers, free input, softmax layer 0, identity
 * layer 1), HAM_ERR_UNSUPPORTED otherwise. */
int hamp_mhn_check(const ham_model_t *m);

/* An MHN's parameters, copied out of the model once per call (ham_model_get_weights,
 * ham_model_get_bias, ham_model_get_lagrangian). */
typedef struct hamp_mhn {
    int32_t n, d;     /* stored patterns (hidden units), visible units */
    double beta;      /* the softmax's inverse temperature */
    float *X;         /* n x d: W_0, the patterns as rows */
    float *bh, *bv;   /* n hidden and d visible biases */
} hamp_mhn_t;

/* Checks the layout (hamp_mhn_check) and copies the parameters: HAM_OK,
 * HAM_ERR_UNSUPPORTED, HAM_ERR_NOMEM. On failure mh holds nothing to free. */
int hamp_mhn_load(hamp_mhn_t *mh, const ham_model_t *m);
void hamp_mhn_free(hamp_mhn_t *mh);

/* Workspace of hamp_mhn_cov_max for n patterns of length d. */
typedef struct hamp_mhn_cov {
    int32_t n, d, k;   /* k = min(n, d): the side of the matrix given to LAPACK */
    double *mean;      /* d */
    double *y;         /* n x d centred, weighted patterns */
    double *a;         /* k x k */
    double *w;         /* k eigenvalues */
} hamp_mhn_cov_t;

int hamp_mhn_cov_init(hamp_mhn_cov_t *c, int32_t n, int32_t d);
void hamp_mhn_cov_free(hamp_mhn_cov_t *c);
/* Largest eigenvalue of sum_mu p_mu (x_mu - m)(x_mu - m)^T, m = sum_mu p_mu x_mu, for the
 * n x d row-major patterns x and weights p (summing to 1). HAM_OK or HAM_ERR_NUMERIC. */
int hamp_mhn_cov_max(double *lmax, hamp_mhn_cov_t *c, const float *x, const double *p);

/* p = softmax(beta (x v + bh)) in double for one visible state v; returns the
 * log-sum-exp of beta (x v + bh) (bh may be NULL). */
double hamp_mhn_softmax(double *p, const float *x, const float *bh, const float *v, int32_t n,
                        int32_t d, double beta);

#endif /* HAMDEQ_MHN_PRIVATE_H */
