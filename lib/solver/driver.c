/* The solver driver: owns the workspace, evaluates the operator, has each sample's
 * residual measured and judged (convergence.c), retires finished samples (compacting the
 * working batch so that they stop costing work) and asks the backend for the next
 * iterate. Backends never see a finished sample and never allocate while iterating. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "solver/solver_private.h"

static const hamp_solver_ops_t *builtin_backend(int32_t kind)
{
    switch (kind) {
    case HAM_SOLVER_PICARD:
        return &hamp_solver_picard;
    case HAM_SOLVER_ANDERSON:
        return &hamp_solver_anderson;
    case HAM_SOLVER_BROYDEN:
        return &hamp_solver_broyden;
    case HAM_SOLVER_NEWTON:
        return &hamp_solver_newton;
    default:
        return NULL;
    }
}

HAM_API const char *ham_solver_kind_name(int32_t kind)
{
    const hamp_solver_ops_t *b = builtin_backend(kind);
    return b ? b->name : NULL;
}

HAM_API int ham_solver_kind_from_name(int32_t *kind, const char *name)
{
    if (!kind || !name)
        return HAMP_FAIL(HAM_ERR_NULL);
    for (int32_t k = HAM_SOLVER_PICARD; k <= HAM_SOLVER_NEWTON; k++)
        if (strcmp(builtin_backend(k)->name, name) == 0) {
            *kind = k;
            return HAM_OK;
        }
    return hamp_fail(HAM_ERR_UNKNOWN_SOLVER, "unknown solver name '%.64s'", name);
}

static int solver_alloc(ham_solver_t **out, const ham_model_t *model, int32_t op)
{
    if (!out)
        return HAMP_FAIL(HAM_ERR_NULL);
    *out = NULL;
    if (!model)
        return HAMP_FAIL(HAM_ERR_NULL);
    const hamp_operator_ops_t *ops = hamp_operator_get(op);
    if (!ops)
        return HAMP_FAIL(HAM_ERR_UNKNOWN_OPERATOR);
    ham_solver_t *sv = calloc(1, sizeof *sv);
    if (!sv)
        return HAMP_FAIL(HAM_ERR_NOMEM);
    sv->model = hamp_model_retain(model); /* the model lives as long as its solvers */
    sv->op = ops;
    sv->layout = &model->layout[op];
    sv->dim = sv->layout->dim;
    sv->step.solver = sv;
    hamp_solver_default_options(sv->opt);
    *out = sv;
    return HAM_OK;
}

HAM_API int ham_solver_new(ham_solver_t **solver, const ham_model_t *model, int32_t op,
                           int32_t kind)
{
    const hamp_solver_ops_t *backend = builtin_backend(kind);
    if (solver && model && hamp_operator_get(op) && !backend) {
        *solver = NULL;
        return HAMP_FAIL(HAM_ERR_UNKNOWN_SOLVER);
    }
    int rc = solver_alloc(solver, model, op);
    if (rc != HAM_OK)
        return rc;
    (*solver)->kind = kind;
    (*solver)->backend = backend;
    return HAM_OK;
}

int hamp_solver_new_adjoint(ham_solver_t **solver, const ham_model_t *model, int32_t op,
                            int32_t kind)
{
    const hamp_solver_ops_t *backend = builtin_backend(kind);
    if (!backend)
        return HAMP_FAIL(HAM_ERR_UNKNOWN_SOLVER);
    int rc = solver_alloc(solver, model, op);
    if (rc != HAM_OK)
        return rc;
    (*solver)->op = op == HAM_OPERATOR_SYNC ? &hamp_operator_sync_adjoint
                                            : &hamp_operator_even_odd_adjoint;
    (*solver)->kind = kind;
    (*solver)->backend = backend;
    return HAM_OK;
}

HAM_API int ham_solver_new_custom(ham_solver_t **solver, const ham_model_t *model, int32_t op,
                                  const ham_solver_def_t *def)
{
    if (solver)
        *solver = NULL;
    if (!def)
        return HAMP_FAIL(HAM_ERR_NULL);
    ham_solver_def_t d;
    int rc = hamp_struct_in(&d, def, HAMP_SOLVER_DEF_V1, sizeof d, "ham_solver_def_t");
    if (rc != HAM_OK)
        return rc;
    if (d.flags != 0)
        return hamp_fail(HAM_ERR_INVALID, "ham_solver_def_t.flags must be 0");
    if (!d.init || !d.fini || !d.step)
        return hamp_fail(HAM_ERR_NULL, "a custom solver needs init, fini and step callbacks");
    rc = solver_alloc(solver, model, op);
    if (rc != HAM_OK)
        return rc;
    ham_solver_t *sv = *solver;
    sv->kind = HAM_SOLVER_CUSTOM;
    sv->backend = &hamp_solver_custom;
    sv->custom = d;
    return HAM_OK;
}

static void free_workspace(ham_solver_t *sv)
{
    if (sv->backend_state)
        sv->backend->fini(sv, sv->backend_state);
    sv->backend_state = NULL;
    sv->backend_cap = 0;
    hamp_eval_free(&sv->eval);
    free(sv->s);
    free(sv->gs);
    free(sv->row_sample);
    free(sv->row_iters);
    free(sv->row_resid);
    free(sv->row_fnorm);
    free(sv->row_gnorm);
    free(sv->keep);
    free(sv->row_energy);
    free(sv->stab_v);
    free(sv->stab_w);
    free(sv->stab_rho);
    free(sv->iters);
    free(sv->resid);
    free(sv->status);
    sv->s = sv->gs = NULL;
    sv->row_sample = sv->row_iters = sv->keep = sv->iters = sv->status = NULL;
    sv->row_resid = sv->row_fnorm = sv->row_gnorm = sv->resid = NULL;
    sv->row_energy = sv->stab_rho = NULL;
    sv->stab_v = sv->stab_w = NULL;
    sv->cap = 0;
}

HAM_API void ham_solver_free(ham_solver_t *solver)
{
    if (!solver)
        return;
    free_workspace(solver); /* a custom backend's fini still sees its user data */
    if (solver->kind == HAM_SOLVER_CUSTOM && solver->custom.destroy)
        solver->custom.destroy(solver->custom.user);
    hamp_model_release(solver->model);
    free(solver);
}

HAM_API const ham_model_t *ham_solver_model(const ham_solver_t *solver)
{
    return solver ? solver->model : NULL;
}

HAM_API int32_t ham_solver_kind(const ham_solver_t *solver)
{
    return solver ? solver->kind : -1;
}

HAM_API int32_t ham_solver_operator(const ham_solver_t *solver)
{
    return solver ? solver->op->kind : -1;
}

HAM_API int ham_solver_set_callback(ham_solver_t *solver, ham_iter_callback_t callback,
                                    void *user)
{
    if (!solver)
        return HAMP_FAIL(HAM_ERR_NULL);
    solver->callback = callback;
    solver->callback_user = callback ? user : NULL;
    return HAM_OK;
}

/* Sizes the workspace for `batch` rows. Runs before iterating, never inside. The
 * backend state is rebuilt when the batch grows or an option it was built with changed. */
static int ensure_workspace(ham_solver_t *sv, int32_t batch)
{
    int rc;
    int32_t cap = batch > sv->cap ? batch : sv->cap;
    int backend_stale = !sv->backend_state || sv->backend_cap < cap ||
                        memcmp(sv->backend_opt, sv->opt, sizeof sv->opt) != 0;
    if (backend_stale && sv->backend_state) {
        sv->backend->fini(sv, sv->backend_state);
        sv->backend_state = NULL;
    }
    if (backend_stale) {
        if ((rc = sv->backend->init(sv, &sv->backend_state, sv->dim, cap)) != HAM_OK) {
            sv->backend_state = NULL;
            return rc;
        }
        sv->backend_cap = cap;
        memcpy(sv->backend_opt, sv->opt, sizeof sv->opt);
    }
    int32_t tangents = sv->backend->tangents ? sv->backend->tangents(sv) : 1;
    if (cap > sv->cap || tangents > sv->eval.mult_cap) {
        void *backend_state = sv->backend_state;
        int32_t backend_cap = sv->backend_cap;
        sv->backend_state = NULL; /* keep the fresh backend state across the reallocation */
        free_workspace(sv);
        sv->backend_state = backend_state;
        sv->backend_cap = backend_cap;
        size_t rows = (size_t)cap, d = (size_t)sv->dim + 1;
        if ((rc = hamp_eval_init(&sv->eval, sv->model, cap, tangents)) != HAM_OK)
            goto nomem;
        if (sv->op->base && !(sv->eval.rhs = malloc(rows * (size_t)sv->dim * sizeof(float))))
            goto nomem;
        sv->eval.rhs_width = sv->op->base ? sv->dim : 0;
        sv->s = malloc(rows * d * sizeof(float));
        sv->gs = malloc(rows * d * sizeof(float));
        sv->row_sample = malloc(rows * sizeof(int32_t));
        sv->row_iters = malloc(rows * sizeof(int32_t));
        sv->row_resid = malloc(rows * sizeof(double));
        sv->row_fnorm = malloc(rows * sizeof(double));
        sv->row_gnorm = malloc(rows * sizeof(double));
        sv->keep = malloc(rows * sizeof(int32_t));
        sv->row_energy = malloc(rows * sizeof(double));
        sv->stab_v = malloc(rows * d * sizeof(float));
        sv->stab_w = malloc(rows * d * sizeof(float));
        sv->stab_rho = malloc(rows * sizeof(double));
        sv->iters = malloc(rows * sizeof(int32_t));
        sv->resid = malloc(rows * sizeof(double));
        sv->status = malloc(rows * sizeof(int32_t));
        if (!sv->s || !sv->gs || !sv->row_sample || !sv->row_iters || !sv->row_resid ||
            !sv->row_fnorm || !sv->row_gnorm || !sv->keep || !sv->iters || !sv->resid ||
            !sv->status || !sv->row_energy || !sv->stab_v || !sv->stab_w || !sv->stab_rho)
            goto nomem;
        sv->cap = cap;
    }
    return HAM_OK;
nomem:
    free_workspace(sv);
    return hamp_fail(HAM_ERR_NOMEM, "cannot allocate the workspace for %d rows",
                     (int)batch);
}

/* The energies the attractor-safe backends compare, from what the apply left. */
static void apply_energy(ham_solver_t *sv, const float *out, int32_t rows)
{
    if (sv->attractor_energy)
        hamp_operator_energy(sv->model, sv->op->kind, &sv->eval, out, rows, sv->row_energy);
}

void hamp_solver_apply(ham_solver_t *sv, float *out, const float *s, int32_t rows)
{
    sv->op->apply(sv->model, &sv->eval, out, s, rows);
    apply_energy(sv, out, rows);
    for (int32_t r = 0; r < rows; r++)
        sv->row_iters[r]++;
}

void hamp_solver_apply_counted(ham_solver_t *sv, float *out, const float *s, int32_t rows,
                               const unsigned char *count)
{
    sv->op->apply(sv->model, &sv->eval, out, s, rows);
    apply_energy(sv, out, rows);
    for (int32_t r = 0; r < rows; r++)
        sv->row_iters[r] += count[r] != 0;
}

int32_t hamp_solver_evals_left(const ham_solver_t *sv, int32_t r)
{
    int32_t left = (int32_t)sv->opt[HAM_OPT_MAX_ITER] - sv->row_iters[r];
    return left > 0 ? left : 0;
}

void hamp_solver_jvp(ham_solver_t *sv, float *out, const float *v, int32_t rows, int32_t mult)
{
    sv->op->jvp(sv->model, &sv->eval, out, v, rows, mult);
    sv->jvp_rows += (int64_t)rows * mult;
}

static void retire(ham_solver_t *sv, float *state, int32_t r, int32_t status)
{
    int32_t k = sv->row_sample[r];
    memcpy(state + (size_t)k * sv->dim, sv->gs + (size_t)r * sv->dim, (size_t)sv->dim * sizeof(float));
    sv->iters[k] = sv->row_iters[r];
    sv->resid[k] = sv->row_resid[r];
    sv->status[k] = status;
}

/* Keeps working rows keep[0..n_keep) of the driver's arrays and the workspace. */
static void compact_rows(ham_solver_t *sv, int32_t n_keep)
{
    size_t d = (size_t)sv->dim;
    hamp_compact_rows(sv->s, d, sv->keep, n_keep);
    hamp_compact_rows(sv->gs, d, sv->keep, n_keep);
    hamp_compact_rows_i(sv->row_sample, 1, sv->keep, n_keep);
    hamp_compact_rows_i(sv->row_iters, 1, sv->keep, n_keep);
    hamp_compact_rows_d(sv->row_resid, 1, sv->keep, n_keep);
    hamp_compact_rows_d(sv->row_fnorm, 1, sv->keep, n_keep);
    hamp_compact_rows_d(sv->row_gnorm, 1, sv->keep, n_keep);
    hamp_compact_rows_d(sv->row_energy, 1, sv->keep, n_keep);
    hamp_eval_compact(&sv->eval, sv->model, sv->keep, n_keep);
}

static void compact(ham_solver_t *sv, int32_t n_keep)
{
    compact_rows(sv, n_keep);
    if (sv->backend->compact)
        sv->backend->compact(sv, sv->backend_state, sv->keep, n_keep);
}

static void finish_stats(ham_solver_t *sv)
{
    ham_solve_stats_t *st = &sv->stats;
    memset(st, 0, sizeof *st);
    st->size = sizeof *st;
    st->samples = sv->batch;
    for (int32_t k = 0; k < sv->batch; k++) {
        st->converged += sv->status[k] == HAM_SAMPLE_CONVERGED;
        st->not_converged += sv->status[k] == HAM_SAMPLE_MAX_ITER;
        st->diverged += sv->status[k] == HAM_SAMPLE_DIVERGED;
        st->unstable += sv->status[k] == HAM_SAMPLE_UNSTABLE;
        st->evaluations += sv->iters[k];
        if (sv->iters[k] > st->iters_max)
            st->iters_max = sv->iters[k];
    }
    st->iters_mean = sv->batch ? (double)st->evaluations / sv->batch : 0.0;
    st->jacobian_products = sv->jvp_rows;
    st->rejected_steps = sv->rejections > INT32_MAX ? INT32_MAX : (int32_t)sv->rejections;
}

/* HAM_OPT_ATTRACTOR_SAFE resolved for this solver: only the accelerated backends have
 * steps to refuse, and only a forward operator has an energy. */
static int attractor_safe(const ham_solver_t *sv)
{
    if (sv->op->base || (sv->kind != HAM_SOLVER_ANDERSON && sv->kind != HAM_SOLVER_BROYDEN &&
                         sv->kind != HAM_SOLVER_NEWTON))
        return 0;
    double o = sv->opt[HAM_OPT_ATTRACTOR_SAFE];
    return o < 0.0 ? sv->op->kind == HAM_OPERATOR_EVEN_ODD : o > 0.0;
}

static int drive(ham_solver_t *sv, float *state, int32_t batch, const float *init);

static int solve(ham_solver_t *sv, float *state, int32_t batch, const float *x,
                 const hamp_eval_t *input);

static int stability(ham_solver_t *sv, float *state, int32_t batch, const float *x,
                     const hamp_eval_t *input);

HAM_API int ham_solver_solve(ham_solver_t *sv, float *state, int32_t batch, const float *x)
{
    return solve(sv, state, batch, x, NULL);
}

int hamp_solver_solve_with_input(ham_solver_t *sv, float *state, int32_t batch, const float *x,
                                 const hamp_eval_t *input)
{
    return solve(sv, state, batch, x, input);
}

static int solve(ham_solver_t *sv, float *state, int32_t batch, const float *x,
                 const hamp_eval_t *input)
{
    if (!sv)
        return HAMP_FAIL(HAM_ERR_NULL);
    const ham_model_t *m = sv->model;
    if (!state)
        return hamp_fail(HAM_ERR_NULL, "state is NULL");
    if (batch <= 0)
        return hamp_fail(HAM_ERR_INVALID, "batch must be > 0, got %d", (int)batch);
    if (m->clamped && !x)
        return hamp_fail(HAM_ERR_NULL, "the model has a clamped input: x is required");
    if (!m->clamped && x)
        return hamp_fail(HAM_ERR_INVALID, "the model has no clamped input: pass x = NULL");
    if (x && !hamp_check_finite(x, (size_t)batch * (size_t)m->size[0]))
        return hamp_fail(HAM_ERR_NONFINITE, "the input x contains NaN or Inf");
    int warm = sv->opt[HAM_OPT_WARM_START] != 0.0;
    size_t d = (size_t)sv->dim;
    if (warm && !hamp_check_finite(state, (size_t)batch * d))
        return hamp_fail(HAM_ERR_NONFINITE, "the warm-start state contains NaN or Inf");
    int rc = ensure_workspace(sv, batch);
    if (rc != HAM_OK)
        return rc;
    if (input)
        hamp_eval_copy_drive(&sv->eval, m, input, batch);
    else
        hamp_eval_set_input(&sv->eval, m, x, batch);
    hamp_eval_pack(&sv->eval, m);
    rc = drive(sv, state, batch, warm ? state : NULL);
    if (rc == HAM_OK && sv->opt[HAM_OPT_STABILITY_CHECK] > 0.0) {
        rc = stability(sv, state, batch, x, input);
        finish_stats(sv);
    }
    return rc;
}

int hamp_solver_solve_adjoint(ham_solver_t *sv, float *lambda, int32_t batch,
                              const hamp_eval_t *lin, const float *rhs, int warm_from_rhs)
{
    int rc = ensure_workspace(sv, batch);
    if (rc != HAM_OK)
        return rc;
    /* the adjoint operator's products are taken at s*, where `lin` was linearised */
    hamp_eval_copy_point(&sv->eval, sv->model, lin, batch);
    hamp_eval_pack(&sv->eval, sv->model);
    memcpy(sv->eval.rhs, rhs, (size_t)batch * (size_t)sv->dim * sizeof(float));
    return drive(sv, lambda, batch, warm_from_rhs ? rhs : NULL);
}

/* The iteration shared by every solve: `init` is the initial state (NULL: zeros); the
 * workspace is sized and the operator's input set. */
static int drive(ham_solver_t *sv, float *state, int32_t batch, const float *init)
{
    int rc;
    size_t d = (size_t)sv->dim;
    sv->batch = batch;
    sv->jvp_rows = 0;
    sv->rejections = 0;
    sv->attractor = attractor_safe(sv);
    sv->attractor_energy = sv->attractor && sv->opt[HAM_OPT_ATTRACTOR_SAFE] == 2.0;
    if (init)
        memmove(sv->s, init, (size_t)batch * d * sizeof(float));
    else
        memset(sv->s, 0, (size_t)batch * d * sizeof(float));
    for (int32_t r = 0; r < batch; r++) {
        sv->row_sample[r] = r;
        sv->row_iters[r] = 0;
        sv->status[r] = HAM_SAMPLE_MAX_ITER;
        sv->iters[r] = 0;
        sv->resid[r] = NAN;
    }
    if (sv->backend->reset && (rc = sv->backend->reset(sv, sv->backend_state, batch)) != HAM_OK)
        return rc;

    const hamp_conv_ops_t *conv = hamp_conv_select(sv);
    const int32_t max_iter = (int32_t)sv->opt[HAM_OPT_MAX_ITER];
    int32_t rows = batch, have_g = 0;
    for (int32_t it = 0; rows > 0; it++) {
        if (!have_g)
            hamp_solver_apply(sv, sv->gs, sv->s, rows);
        conv->measure(sv, rows);
        if (sv->callback) {
            ham_iter_info_t info = {sizeof info, it,      rows, sv->row_sample, sv->row_resid,
                                    sv->row_iters, sv->dim, sv->s, sv->gs};
            if (sv->callback(&info, sv->callback_user) != 0) {
                for (int32_t r = 0; r < rows; r++)
                    retire(sv, state, r, HAM_SAMPLE_MAX_ITER);
                finish_stats(sv);
                return hamp_fail(HAM_ERR_CANCELLED,
                                 "the iteration callback stopped the solve at iteration %d",
                                 (int)it);
            }
        }
        int32_t n_keep = 0;
        for (int32_t r = 0; r < rows; r++) {
            int verdict = conv->test(sv, r, it);
            if (verdict < 0) {
                /* the user's test aborted: every row not retired yet ends here */
                for (int32_t k = 0; k < n_keep; k++)
                    retire(sv, state, sv->keep[k], HAM_SAMPLE_MAX_ITER);
                for (int32_t k = r; k < rows; k++)
                    retire(sv, state, k, HAM_SAMPLE_MAX_ITER);
                finish_stats(sv);
                return verdict; /* the test set the message */
            }
            if (verdict == HAMP_CONV_DIVERGED)
                retire(sv, state, r, HAM_SAMPLE_DIVERGED);
            else if (verdict == HAMP_CONV_CONVERGED)
                retire(sv, state, r, HAM_SAMPLE_CONVERGED);
            else if (sv->row_iters[r] >= max_iter)
                retire(sv, state, r, HAM_SAMPLE_MAX_ITER);
            else
                sv->keep[n_keep++] = r;
        }
        if (n_keep < rows)
            compact(sv, n_keep);
        rows = n_keep;
        if (rows == 0)
            break;
        sv->step.rows = rows;
        rc = sv->backend->step(sv, sv->backend_state, sv->s, sv->gs, rows);
        if (rc < 0) {
            for (int32_t r = 0; r < rows; r++)
                retire(sv, state, r, HAM_SAMPLE_MAX_ITER);
            finish_stats(sv);
            return hamp_fail(rc, "the %s backend failed: %s", sv->backend->name,
                             ham_last_error());
        }
        if (rc == HAMP_STEP_SWAP) {
            float *t = sv->s;
            sv->s = sv->gs;
            sv->gs = t;
        }
        have_g = rc == HAMP_STEP_G_READY;
    }
    finish_stats(sv);
    return HAM_OK;
}

HAM_API int ham_solver_get_stats(ham_solve_stats_t *stats, const ham_solver_t *solver)
{
    if (!stats || !solver)
        return HAMP_FAIL(HAM_ERR_NULL);
    return hamp_struct_out(stats, &solver->stats, HAMP_SOLVE_STATS_V1, sizeof *stats,
                           "ham_solve_stats_t");
}

HAM_API int ham_solver_get_samples(int32_t *iterations, double *residual, int32_t *status,
                                   const ham_solver_t *solver, int32_t batch)
{
    if (!solver)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (batch != solver->batch || batch <= 0)
        return HAMP_FAIL(HAM_ERR_DIMENSION);
    if (iterations)
        memcpy(iterations, solver->iters, (size_t)batch * sizeof(int32_t));
    if (residual)
        memcpy(residual, solver->resid, (size_t)batch * sizeof(double));
    if (status)
        memcpy(status, solver->status, (size_t)batch * sizeof(int32_t));
    return HAM_OK;
}

HAM_API int ham_step_apply(ham_step_t *step, float *out, const float *s)
{
    if (!step || !out || !s)
        return HAMP_FAIL(HAM_ERR_NULL);
    hamp_solver_apply(step->solver, out, s, step->rows);
    return HAM_OK;
}

HAM_API int32_t ham_step_rows(const ham_step_t *step)
{
    return step ? step->rows : 0;
}

HAM_API int32_t ham_step_dim(const ham_step_t *step)
{
    return step ? step->solver->dim : 0;
}

/* ------------------------------------------------------------ the stability check */

/* A sample the stability check pushed off a saddle and Picard brought to a fixed point
 * again: it is checked once more (never visible outside stability()). */
#define SAMPLE_RECHECK (-1)
/* How far a sample is pushed off a saddle, relative to max(1, ||s*||). */
#define PUSH 1e-2

/* Estimates the spectral radius of J = G'(s) at the last applied point of every working
 * row into stab_rho, by n power iterations from a fixed start: rho = sqrt(|J v_{t-1}|
 * |J v_t|) over the last two (a pair +-lambda, as the synchronous F has at 2-cycles,
 * makes the one-step ratio oscillate, the two-step one not). stab_v ends holding the
 * leading direction. */
static void power_iteration(ham_solver_t *sv, int32_t rows, int32_t n)
{
    const size_t d = (size_t)sv->dim;
    float *v = sv->stab_v, *w = sv->stab_w;
    double *prev = sv->row_gnorm; /* scratch: measure() rewrites it before it is read */
    for (int32_t r = 0; r < rows; r++) {
        float *vr = v + (size_t)r * d;
        uint32_t h = 0x9e3779b9u;
        for (size_t i = 0; i < d; i++) {
            h = h * 1664525u + 1013904223u;
            vr[i] = (float)((h >> 8) * (1.0 / 16777216.0)) - 0.5f + 1e-3f;
        }
        double nv = hamp_nrm2(vr, (int32_t)d);
        for (size_t i = 0; i < d; i++)
            vr[i] = (float)(vr[i] / nv);
        sv->stab_rho[r] = 0.0;
        prev[r] = 0.0;
    }
    for (int32_t t = 0; t < n; t++) {
        hamp_solver_jvp(sv, w, v, rows, 1);
        for (int32_t r = 0; r < rows; r++) {
            float *vr = v + (size_t)r * d;
            const float *wr = w + (size_t)r * d;
            double nw = hamp_nrm2(wr, (int32_t)d);
            sv->stab_rho[r] = t == 0 ? nw : sqrt(prev[r] * nw);
            prev[r] = nw;
            if (nw > 0.0 && isfinite(nw))
                for (size_t i = 0; i < d; i++)
                    vr[i] = (float)(wr[i] / nw);
        }
    }
}

/* Moves working row r off its fixed point along the leading direction (sign fixed by its
 * largest component, so that results are reproducible). */
static void push_off(ham_solver_t *sv, int32_t r)
{
    const size_t d = (size_t)sv->dim;
    float *s = sv->s + (size_t)r * d;
    const float *v = sv->stab_v + (size_t)r * d;
    size_t big = 0;
    for (size_t i = 1; i < d; i++)
        if (fabsf(v[i]) > fabsf(v[big]))
            big = i;
    double scale = PUSH * fmax(1.0, hamp_nrm2(s, (int32_t)d)) * (v[big] < 0.0f ? -1.0 : 1.0);
    for (size_t i = 0; i < d; i++)
        s[i] += (float)(scale * v[i]);
}

/* Picard steps (s <- G(s)) on the working rows until each is judged; a converged row is
 * retired as SAMPLE_RECHECK. Returns HAM_OK or a user test's negative status. */
static int picard_resolve(ham_solver_t *sv, float *state, int32_t rows)
{
    const hamp_conv_ops_t *conv = hamp_conv_select(sv);
    const int32_t max_iter = (int32_t)sv->opt[HAM_OPT_MAX_ITER];
    for (int32_t it = 0; rows > 0; it++) {
        hamp_solver_apply(sv, sv->gs, sv->s, rows);
        conv->measure(sv, rows);
        int32_t n_keep = 0;
        for (int32_t r = 0; r < rows; r++) {
            int verdict = conv->test(sv, r, it);
            if (verdict < 0) {
                for (int32_t k = 0; k < rows; k++)
                    sv->status[sv->row_sample[k]] = HAM_SAMPLE_MAX_ITER;
                return verdict;
            }
            if (verdict == HAMP_CONV_DIVERGED)
                retire(sv, state, r, HAM_SAMPLE_DIVERGED);
            else if (verdict == HAMP_CONV_CONVERGED)
                retire(sv, state, r, SAMPLE_RECHECK);
            else if (sv->row_iters[r] >= max_iter)
                retire(sv, state, r, HAM_SAMPLE_MAX_ITER);
            else
                sv->keep[n_keep++] = r;
        }
        if (n_keep < rows)
            compact_rows(sv, n_keep);
        rows = n_keep;
        float *t = sv->s;
        sv->s = sv->gs;
        sv->gs = t;
    }
    return HAM_OK;
}

/* HAM_OPT_STABILITY_CHECK after a solve: every converged sample is linearised at its
 * fixed point (one evaluation) and its spectral radius estimated (n JVPs). rho >= 1 is
 * HAM_SAMPLE_UNSTABLE; attractor-safe, such a sample is pushed off along the leading
 * direction, re-solved with Picard steps (energy descent) and checked again, until it is
 * stable or out of evaluations. The working rows are gone after drive(): each round sets
 * the input again and keeps the rows it checks. */
static int stability(ham_solver_t *sv, float *state, int32_t batch, const float *x,
                     const hamp_eval_t *input)
{
    const ham_model_t *m = sv->model;
    const size_t d = (size_t)sv->dim;
    const int32_t n_power = (int32_t)sv->opt[HAM_OPT_STABILITY_CHECK];
    for (int32_t want = HAM_SAMPLE_CONVERGED;; want = SAMPLE_RECHECK) {
        int32_t rows = 0;
        for (int32_t k = 0; k < batch; k++)
            if (sv->status[k] == want)
                sv->keep[rows++] = k;
        if (rows == 0)
            return HAM_OK;
        if (input)
            hamp_eval_copy_drive(&sv->eval, m, input, batch);
        else
            hamp_eval_set_input(&sv->eval, m, x, batch);
        hamp_eval_compact(&sv->eval, m, sv->keep, rows);
        for (int32_t r = 0; r < rows; r++) {
            int32_t k = sv->keep[r];
            sv->row_sample[r] = k;
            sv->row_iters[r] = sv->iters[k];
            memcpy(sv->s + (size_t)r * d, state + (size_t)k * d, d * sizeof(float));
        }
        hamp_solver_apply(sv, sv->gs, sv->s, rows); /* linearised at the fixed point */
        power_iteration(sv, rows, n_power);
        int32_t n_keep = 0;
        for (int32_t r = 0; r < rows; r++) {
            int32_t k = sv->row_sample[r];
            sv->iters[k] = sv->row_iters[r];
            if (sv->stab_rho[r] < 1.0) {
                sv->status[k] = HAM_SAMPLE_CONVERGED;
                continue;
            }
            sv->status[k] = HAM_SAMPLE_UNSTABLE;
            if (sv->attractor && hamp_solver_evals_left(sv, r) > 0) {
                push_off(sv, r);
                sv->keep[n_keep++] = r;
            }
        }
        if (n_keep == 0)
            return HAM_OK;
        compact_rows(sv, n_keep);
        int rc = picard_resolve(sv, state, n_keep);
        if (rc < 0)
            return rc;
    }
}
