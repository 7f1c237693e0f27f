/* Convergence: the DEQ residual of every working row and the test that judges it, as a
 * small private vtable (GSL's multiroots keeps its tests apart from the iteration in the
 * same way). The driver measures and asks through hamp_conv_ops_t only; the built-in
 * test, the user's ham_conv_test_t and the fixed count of HAM_OPT_FIXED_ITERS are its
 * entries. A diverged row is diverged under every test, before the test is asked. */
#include <math.h>

#include "solver/solver_private.h"

static void measure(ham_solver_t *sv, int32_t rows)
{
    const size_t d = (size_t)sv->dim;
    const double limit = sv->opt[HAM_OPT_DIVERGENCE];
    for (int32_t r = 0; r < rows; r++) {
        const float *s = sv->s + (size_t)r * d, *gs = sv->gs + (size_t)r * d;
        double num, den;
        hamp_diff_norms2(&num, &den, gs, s, (int32_t)d);
        num = sqrt(num);
        den = sqrt(den);
        sv->row_fnorm[r] = num;
        sv->row_gnorm[r] = den;
        double res = den > 0.0 ? num / den : (num == 0.0 ? 0.0 : INFINITY);
        /* a state beyond the divergence limit counts as non-finite */
        sv->row_resid[r] = (isfinite(num) && isfinite(den) && den <= limit) ? res : NAN;
    }
}

/* A NaN or infinite relative residual (an infinite one: G(s) = 0 but s != 0) is
 * divergence, whatever the test. */
static int diverged(const ham_solver_t *sv, int32_t r)
{
    return !isfinite(sv->row_resid[r]);
}

/* Either criterion alone accepts (as PETSc's SNES: relative or absolute). The relative
 * one is the same comparison of the same quotient as before ATOL existed, so with
 * atol = 0 every verdict, and every iteration count, is unchanged. */
static int builtin_test(ham_solver_t *sv, int32_t r, int32_t it)
{
    (void)it;
    if (diverged(sv, r))
        return HAMP_CONV_DIVERGED;
    if (sv->row_resid[r] < sv->opt[HAM_OPT_TOL] || sv->row_fnorm[r] < sv->opt[HAM_OPT_ATOL])
        return HAMP_CONV_CONVERGED;
    return HAMP_CONV_GO_ON;
}

static int user_test(ham_solver_t *sv, int32_t r, int32_t it)
{
    if (diverged(sv, r))
        return HAMP_CONV_DIVERGED;
    const size_t d = (size_t)sv->dim;
    const ham_conv_info_t info = {
        .size = sizeof info,
        .sample = sv->row_sample[r],
        .iterations = sv->row_iters[r],
        .dim = sv->dim,
        .state = sv->s + (size_t)r * d,
        .output = sv->gs + (size_t)r * d,
        .residual_norm = sv->row_fnorm[r],
        .output_norm = sv->row_gnorm[r],
        .tol = sv->opt[HAM_OPT_TOL],
        .atol = sv->opt[HAM_OPT_ATOL],
    };
    int rc = sv->conv_test(&info, sv->conv_user);
    if (rc > 0)
        return HAMP_CONV_CONVERGED;
    if (rc == 0)
        return HAMP_CONV_GO_ON;
    /* as a custom backend's failure (custom.c): a libhamdeq status is kept */
    return hamp_fail(hamp_status_known(rc) ? rc : HAM_ERR_CALLBACK,
                     "the convergence test returned %d for sample %d at iteration %d", rc,
                     (int)info.sample, (int)it);
}

static int fixed_test(ham_solver_t *sv, int32_t r, int32_t it)
{
    (void)it;
    return diverged(sv, r) ? HAMP_CONV_DIVERGED : HAMP_CONV_GO_ON;
}

const hamp_conv_ops_t hamp_conv_builtin = {"builtin", measure, builtin_test};
const hamp_conv_ops_t hamp_conv_user = {"user", measure, user_test};
const hamp_conv_ops_t hamp_conv_fixed = {"fixed", measure, fixed_test};

const hamp_conv_ops_t *hamp_conv_select(const ham_solver_t *sv)
{
    if (sv->opt[HAM_OPT_FIXED_ITERS] != 0.0)
        return &hamp_conv_fixed;
    return sv->conv_test ? &hamp_conv_user : &hamp_conv_builtin;
}

HAM_API int ham_solver_set_conv_test(ham_solver_t *solver, ham_conv_test_t test, void *user)
{
    if (!solver)
        return HAMP_FAIL(HAM_ERR_NULL);
    solver->conv_test = test;
    solver->conv_user = test ? user : NULL;
    return HAM_OK;
}
