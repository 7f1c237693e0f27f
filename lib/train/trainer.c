/* ham_trainer_t: training through the fixed point by implicit differentiation
 * (docs/math.md section 5). A step is
 *   forward   s* = Op(s*)                     the public forward solver
 *   loss      L(s*_y), c = dL/ds*             loss.c
 *   adjoint   lambda = J(s*)^T lambda + c     an internal solver on the adjoint operator
 *   gradient  dL/dtheta = (dOp/dtheta)^T lambda at s*    the operator's param_vjp
 *   update    the optimiser rule on every weight block and bias
 * All buffers are sized on the first batch and grown only by a larger one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_private.h"

static void free_buffers(ham_trainer_t *t)
{
    free(t->s_star);
    free(t->rhs);
    free(t->lambda);
    free(t->scratch);
    t->s_star = t->rhs = t->lambda = t->scratch = NULL;
    hamp_eval_free(&t->eval);
    hamp_input_sparse_free(&t->sparse);
    t->cap = 0;
}

HAM_API void ham_trainer_free(ham_trainer_t *trainer)
{
    if (!trainer)
        return;
    free_buffers(trainer);
    for (int32_t l = 0; l < HAM_MAX_LAYERS; l++) {
        free(trainer->gW[l]);
        free(trainer->gb[l]);
    }
    hamp_optimizer_free(&trainer->optim);
    free(trainer->flat);
    ham_solver_free(trainer->fwd);
    ham_solver_free(trainer->bwd);
    hamp_pool_free(trainer->pool); /* after the solvers that shared it */
    ham_model_free(trainer->model); /* the trainer's reference (NULL-safe) */
    free(trainer);
}

/* The parameter arrays in optimiser order: weight blocks, then biases of free layers. */
static int32_t collect_params(const ham_trainer_t *t, float **p, float **g, size_t *len,
                              int *is_bias)
{
    const ham_model_t *m = t->model;
    int32_t n = 0;
    for (int32_t l = 0; l + 1 < m->n_layers; l++, n++) {
        p[n] = m->W[l];
        g[n] = t->gW[l];
        len[n] = hamp_block_len(m, l);
        is_bias[n] = 0;
    }
    for (int32_t l = 0; l < m->n_layers; l++)
        if (m->b[l]) {
            p[n] = m->b[l];
            g[n] = t->gb[l];
            len[n] = (size_t)m->size[l];
            is_bias[n++] = 1;
        }
    return n;
}

HAM_API int ham_trainer_new(ham_trainer_t **trainer, ham_model_t *model, int32_t op,
                            int32_t kind)
{
    if (!trainer)
        return HAMP_FAIL(HAM_ERR_NULL);
    *trainer = NULL;
    if (!model)
        return HAMP_FAIL(HAM_ERR_NULL);
    const hamp_operator_ops_t *ops = hamp_operator_get(op);
    if (!ops)
        return HAMP_FAIL(HAM_ERR_UNKNOWN_OPERATOR);
    if (!ham_solver_kind_name(kind))
        return HAMP_FAIL(HAM_ERR_UNKNOWN_SOLVER);
    if (!model->clamped)
        return HAMP_FAIL(HAM_ERR_UNSUPPORTED);
    ham_trainer_t *t = calloc(1, sizeof *t);
    if (!t)
        return HAMP_FAIL(HAM_ERR_NOMEM);
    t->model = ham_model_ref(model); /* dropped by ham_trainer_free, on failure too */
    t->op = op;
    t->ops = ops;
    t->kind = kind;
    t->layout = &model->layout[op];
    t->bwd_kind = -1;
    hamp_trainer_default_options(t->opt);
    int rc = ham_solver_new(&t->fwd, model, op, kind);
    if (rc == HAM_OK)
        hamp_solver_share_pool(t->fwd, &t->pool);
    for (int32_t l = 0; rc == HAM_OK && l < model->n_layers; l++) {
        if (l + 1 < model->n_layers && !(t->gW[l] = calloc(hamp_block_len(model, l), sizeof(float))))
            rc = HAMP_FAIL(HAM_ERR_NOMEM);
        if (model->b[l] && !(t->gb[l] = calloc((size_t)model->size[l], sizeof(float))))
            rc = HAMP_FAIL(HAM_ERR_NOMEM);
    }
    if (rc == HAM_OK) {
        float *p[HAMP_MAX_PARAMS], *g[HAMP_MAX_PARAMS];
        size_t len[HAMP_MAX_PARAMS];
        int is_bias[HAMP_MAX_PARAMS];
        int32_t n = collect_params(t, p, g, len, is_bias);
        rc = hamp_optimizer_init(&t->optim, p, len, n);
    }
    if (rc != HAM_OK) {
        ham_trainer_free(t);
        return rc;
    }
    *trainer = t;
    return HAM_OK;
}

HAM_API ham_solver_t *ham_trainer_solver(ham_trainer_t *trainer)
{
    return trainer ? trainer->fwd : NULL;
}

static int ensure_buffers(ham_trainer_t *t, int32_t batch)
{
    if (batch <= t->cap)
        return HAM_OK;
    free_buffers(t);
    size_t n = (size_t)batch * (size_t)t->layout->dim + 1;
    t->s_star = malloc(n * sizeof(float));
    t->rhs = malloc(n * sizeof(float));
    t->lambda = malloc(n * sizeof(float));
    t->scratch = malloc(n * sizeof(float));
    if (!t->s_star || !t->rhs || !t->lambda || !t->scratch ||
        hamp_eval_init(&t->eval, t->model, batch, 1) != HAM_OK ||
        hamp_input_sparse_alloc(&t->sparse, t->model, batch) != HAM_OK) {
        free_buffers(t);
        return hamp_fail(HAM_ERR_NOMEM, "cannot allocate buffers for %d samples",
                         (int)batch);
    }
    t->cap = batch;
    return HAM_OK;
}

/* The adjoint solver of the chosen kind, configured from the trainer's options. */
static int prepare_backward(ham_trainer_t *t)
{
    int32_t kind = (int32_t)t->opt[HAM_TRAIN_BACKWARD_SOLVER];
    int recurrent = t->opt[HAM_TRAIN_GRADIENT] == HAM_GRADIENT_RECURRENT;
    if (recurrent)
        kind = HAM_SOLVER_PICARD;
    else if (kind < 0)
        kind = t->kind == HAM_SOLVER_NEWTON ? HAM_SOLVER_ANDERSON : t->kind;
    if (!t->bwd || kind != t->bwd_kind) {
        ham_solver_free(t->bwd);
        t->bwd = NULL;
        int rc = hamp_solver_new_adjoint(&t->bwd, t->model, t->op, kind);
        if (rc != HAM_OK)
            return hamp_fail(rc, "cannot create the %s adjoint solver",
                             ham_solver_kind_name(kind));
        t->bwd_kind = kind;
        hamp_solver_share_pool(t->bwd, &t->pool);
    }
    double tol = t->opt[HAM_TRAIN_BACKWARD_TOL];
    ham_solver_set_option(t->bwd, HAM_OPT_FIXED_ITERS, tol > 0.0 ? 0.0 : 1.0);
    if (tol > 0.0)
        ham_solver_set_option(t->bwd, HAM_OPT_TOL, tol);
    ham_solver_set_option(t->bwd, HAM_OPT_MAX_ITER, t->opt[HAM_TRAIN_BACKWARD_ITERS]);
    ham_solver_set_option(t->bwd, HAM_OPT_THREADS, t->opt[HAM_TRAIN_THREADS]);
    return HAM_OK;
}

/* The batch's arguments: x, labels, batch > 0, every label in range. With a reduction a
 * process may hold no sample of the global batch (batch 0, x and labels unused). */
static int check_batch(const ham_trainer_t *t, int32_t batch, const float *x,
                       const int32_t *labels)
{
    const ham_model_t *m = t->model;
    if (batch == 0 && t->reduce)
        return HAM_OK;
    if (batch <= 0) /* before x: batch -1 is how a process without its batch says so */
        return hamp_fail(HAM_ERR_INVALID, "batch must be > 0%s, got %d",
                         t->reduce ? " (or 0 with a reduction)" : "", (int)batch);
    if (!x || !labels)
        return hamp_fail(HAM_ERR_NULL, "x and labels are required");
    int32_t n_out = m->size[m->n_layers - 1];
    for (int32_t r = 0; r < batch; r++)
        if (labels[r] < 0 || labels[r] >= n_out)
            return hamp_fail(HAM_ERR_INVALID,
                             "label %d of sample %d is outside 0..%d (the output layer's size)",
                             (int)labels[r], (int)r, (int)n_out - 1);
    return HAM_OK;
}

typedef struct input_job {
    ham_trainer_t *t;
    const float *x;
    int32_t batch, parts;
} input_job_t;

static void input_part(void *ctx, int32_t part)
{
    const input_job_t *j = ctx;
    const ham_model_t *m = j->t->model;
    int32_t lo = (int32_t)((int64_t)j->batch * part / j->parts);
    int32_t hi = (int32_t)((int64_t)j->batch * (part + 1) / j->parts);
    hamp_eval_t view = j->t->eval; /* rows lo..hi of g0 and the drive */
    view.g0 += (size_t)lo * m->size[0];
    view.drive += (size_t)lo * m->size[1];
    hamp_eval_set_input_serial(&view, m, j->x + (size_t)lo * m->size[0], hi - lo);
}

/* The batch's input drive into t->eval. When the forward solve splits its batch, so does
 * the drive, each part on the calling thread of its worker (no OpenBLAS thread woken to
 * spin beside them: docs/performance.md, "Threads"); else one product, BLAS's threads. */
static void set_input(ham_trainer_t *t, const float *x, int32_t batch)
{
    int32_t parts = hamp_split_threads(t->fwd, batch);
    if (parts <= 1) {
        hamp_eval_set_input(&t->eval, t->model, x, batch);
        return;
    }
    input_job_t job = {t, x, batch, parts};
    hamp_pool_run(&t->pool, parts, input_part, &job);
    t->eval.have_drive = t->eval.have_g0 = 1;
}

/* The gradient of this process's checked batch into gW and gb, its loss seeded with
 * inv_b (1/batch, or 1/B for a global batch of B samples): *loss_sum is the sum of the
 * per-sample losses, *correct the samples classified right. */
static int local_gradient(ham_trainer_t *t, double *loss_sum, int32_t *correct, int32_t batch,
                          const float *x, const int32_t *labels, double inv_b)
{
    const ham_model_t *m = t->model;
    int32_t out_layer = m->n_layers - 1, n_out = m->size[out_layer];
    int rc = ensure_buffers(t, batch);
    if (rc != HAM_OK)
        return rc;
    const int32_t dim = t->layout->dim;

    /* the input drive g_0(x) W_0 + b_1 is computed once here and copied into the solves */
    set_input(t, x, batch);
    hamp_eval_pack(&t->eval, m);
    if ((rc = hamp_solver_solve_with_input(t->fwd, t->s_star, batch, x, &t->eval)) != HAM_OK)
        return hamp_fail(rc, "forward solve: %s", ham_last_error());
    double L = hamp_loss(t->rhs, correct, (int32_t)t->opt[HAM_TRAIN_LOSS], t->s_star, dim,
                         t->layout->offset[out_layer], n_out, labels, batch, inv_b);
    if (!isfinite(L))
        return hamp_fail(HAM_ERR_NUMERIC,
                         "the loss is not finite: %d of %d samples diverged in the forward solve",
                         (int)t->fwd->stats.diverged, (int)batch);

    if ((rc = prepare_backward(t)) != HAM_OK)
        return rc;
    /* linearise at s* once, in batch order: the adjoint solve copies this point, and the
     * parameter gradients below use it after the adjoint solve has reordered its own rows */
    t->ops->apply(m, &t->eval, t->scratch, t->s_star, batch);
    int recurrent = t->opt[HAM_TRAIN_GRADIENT] == HAM_GRADIENT_RECURRENT;
    rc = hamp_solver_solve_adjoint(t->bwd, t->lambda, batch, &t->eval, t->rhs, recurrent);
    if (rc != HAM_OK)
        return hamp_fail(rc, "adjoint solve: %s", ham_last_error());
    if (!hamp_check_finite(t->lambda, (size_t)batch * dim))
        return hamp_fail(HAM_ERR_NUMERIC,
                         "the adjoint diverged (is the fixed point unstable, rho(J) >= 1?)");

    /* (dOp/dtheta)^T lambda at s*, from the linearisation in t->eval */
    t->sparse.g0 = t->eval.g0;
    const hamp_param_grad_t grad = {t->gW, t->gb, hamp_input_sparse_grad, &t->sparse};
    t->ops->param_vjp(m, &t->eval, t->lambda, batch, &grad);
    *loss_sum = L;
    return HAM_OK;
}

/* Copies the gradients into the flat buffer (to_flat) or back, in ham_reduce_fn's order. */
static void flat_copy(ham_trainer_t *t, int to_flat)
{
    float *p[HAMP_MAX_PARAMS], *g[HAMP_MAX_PARAMS];
    size_t len[HAMP_MAX_PARAMS];
    int is_bias[HAMP_MAX_PARAMS];
    int32_t n = collect_params(t, p, g, len, is_bias);
    size_t at = 0;
    for (int32_t i = 0; i < n; i++) {
        if (to_flat)
            memcpy(t->flat + at, g[i], len[i] * sizeof(float));
        else
            memcpy(g[i], t->flat + at, len[i] * sizeof(float));
        at += len[i];
    }
}

static int call_reduce(ham_trainer_t *t, float *grad, size_t len, double *counts)
{
    int r = t->reduce(grad, len, counts, HAMP_N_COUNTS, t->reduce_user);
    if (r != 0)
        return hamp_fail(HAM_ERR_CALLBACK, "the reduce callback returned %d", r);
    return HAM_OK;
}

/* After a reduction reporting failures: this process's own error, or the others'. */
static int reduced_failure(int local_rc, double failed)
{
    if (local_rc != HAM_OK)
        return local_rc; /* its message is still the thread's last error */
    return hamp_fail(HAM_ERR_CALLBACK, "%.0f other process%s failed in this step", failed,
                     failed == 1.0 ? "" : "es");
}

/* ham_trainer_gradient() through the reduction: both calls happen on every path past the
 * trainer's own check, so that no process is left waiting in a collective. The loss is
 * seeded with 1/B for the global batch B, so the summed gradients are its mean. */
static int reduced_gradient(ham_trainer_t *t, double *loss, int32_t *correct, int32_t batch,
                            const float *x, const int32_t *labels)
{
    int rc = check_batch(t, batch, x, labels);
    double c[HAMP_N_COUNTS] = {0.0, 0.0, rc == HAM_OK ? (double)batch : 0.0,
                               rc == HAM_OK ? 0.0 : 1.0};
    int rrc = call_reduce(t, NULL, 0, c);
    if (rrc != HAM_OK)
        return rrc;
    if (c[HAMP_COUNT_FAILED] != 0.0)
        return reduced_failure(rc, c[HAMP_COUNT_FAILED]);
    if (!(c[HAMP_COUNT_SAMPLES] >= 1.0))
        return hamp_fail(HAM_ERR_CALLBACK, "the reduced sample count is %g",
                         c[HAMP_COUNT_SAMPLES]);
    const double inv_b = 1.0 / c[HAMP_COUNT_SAMPLES];
    double sum = 0.0;
    int32_t right = 0;
    if (batch > 0) /* an empty shard contributes zeros and count 0 */
        rc = local_gradient(t, &sum, &right, batch, x, labels, inv_b);
    if (rc == HAM_OK && batch > 0)
        flat_copy(t, 1);
    else
        memset(t->flat, 0, t->flat_len * sizeof(float));
    double c2[HAMP_N_COUNTS] = {rc == HAM_OK ? sum : 0.0, rc == HAM_OK ? (double)right : 0.0,
                                rc == HAM_OK ? (double)batch : 0.0, rc == HAM_OK ? 0.0 : 1.0};
    if ((rrc = call_reduce(t, t->flat, t->flat_len, c2)) != HAM_OK)
        return rrc;
    if (c2[HAMP_COUNT_FAILED] != 0.0)
        return reduced_failure(rc, c2[HAMP_COUNT_FAILED]);
    flat_copy(t, 0);
    t->have_grad = 1;
    if (loss)
        *loss = c2[HAMP_COUNT_LOSS] * inv_b;
    if (correct)
        *correct = (int32_t)c2[HAMP_COUNT_CORRECT];
    return HAM_OK;
}

HAM_API int ham_trainer_gradient(ham_trainer_t *t, double *loss, int32_t *correct, int32_t batch,
                                 const float *x, const int32_t *labels)
{
    if (!t)
        return HAMP_FAIL(HAM_ERR_NULL);
    t->have_grad = 0;
    if (t->reduce)
        return reduced_gradient(t, loss, correct, batch, x, labels);
    int rc = check_batch(t, batch, x, labels);
    if (rc != HAM_OK)
        return rc;
    double sum = 0.0;
    if ((rc = local_gradient(t, &sum, correct, batch, x, labels, 1.0 / batch)) != HAM_OK)
        return rc;
    t->have_grad = 1;
    if (loss)
        *loss = sum * (1.0 / batch);
    return HAM_OK;
}

HAM_API int ham_trainer_set_reduce(ham_trainer_t *t, ham_reduce_fn fn, void *user)
{
    if (!t)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (fn && !t->flat) {
        float *p[HAMP_MAX_PARAMS], *g[HAMP_MAX_PARAMS];
        size_t len[HAMP_MAX_PARAMS], total = 0;
        int is_bias[HAMP_MAX_PARAMS];
        int32_t n = collect_params(t, p, g, len, is_bias);
        for (int32_t i = 0; i < n; i++)
            total += len[i];
        if (!(t->flat = malloc((total + 1) * sizeof(float))))
            return hamp_fail(HAM_ERR_NOMEM, "cannot allocate the flat gradient (%zu floats)",
                             total);
        t->flat_len = total;
    }
    if (!fn) {
        free(t->flat);
        t->flat = NULL;
        t->flat_len = 0;
    }
    t->reduce = fn;
    t->reduce_user = fn ? user : NULL;
    return HAM_OK;
}

/* The optimiser's update of parameter array i, elements [lo, hi): every rule is elementwise,
 * so any split of the arrays gives the same values as one pass. */
static void update_range(ham_trainer_t *t, float *p, const float *g, int32_t i, int is_bias,
                         size_t lo, size_t hi)
{
    hamp_optimizer_t *o = &t->optim;
    const double *opt = t->opt;
    size_t n = hi - lo;
    switch ((int32_t)opt[HAM_TRAIN_OPTIMIZER]) {
    case HAM_OPTIMIZER_SGD:
        hamp_sgd_update(p + lo, g + lo, o->m1[i] + lo, n, opt[HAM_TRAIN_LR],
                        opt[HAM_TRAIN_MOMENTUM]);
        break;
    case HAM_OPTIMIZER_ADAM:
        hamp_adam_update(p + lo, g + lo, o->m1[i] + lo, o->m2[i] + lo, n, opt[HAM_TRAIN_LR],
                         opt[HAM_TRAIN_ADAM_BETA1], opt[HAM_TRAIN_ADAM_BETA2],
                         opt[HAM_TRAIN_ADAM_EPS], o->t);
        break;
    default: /* Madam */
        if (is_bias && opt[HAM_TRAIN_MADAM_BIASES] == 0.0)
            break; /* frozen, as a multiplicative update leaves zeros at zero */
        hamp_madam_update(p + lo, g + lo, o->m2[i] + lo, n, opt[HAM_TRAIN_LR],
                          opt[HAM_TRAIN_ADAM_BETA2], opt[HAM_TRAIN_MADAM_GBOUND], o->bound[i],
                          o->t, is_bias);
        break;
    }
}

/* Fewest parameters per thread of a split update: below, waking a worker costs more than
 * half the pass saves. */
#define UPDATE_MIN_CHUNK 32768

typedef struct update_job {
    ham_trainer_t *t;
    int32_t n, parts;
    float **p, **g;
    const size_t *len;
    const int *is_bias;
} update_job_t;

/* Part `part` of every array. */
static void update_part(void *ctx, int32_t part)
{
    const update_job_t *j = ctx;
    for (int32_t i = 0; i < j->n; i++) {
        size_t lo = j->len[i] * (size_t)part / (size_t)j->parts;
        size_t hi = j->len[i] * (size_t)(part + 1) / (size_t)j->parts;
        if (hi > lo)
            update_range(j->t, j->p[i], j->g[i], i, j->is_bias[i], lo, hi);
    }
}

static void update(ham_trainer_t *t)
{
    float *p[HAMP_MAX_PARAMS], *g[HAMP_MAX_PARAMS];
    size_t len[HAMP_MAX_PARAMS], total = 0;
    int is_bias[HAMP_MAX_PARAMS];
    int32_t n = collect_params(t, p, g, len, is_bias);
    hamp_optimizer_t *o = &t->optim;
    o->t++;
    for (int32_t i = 0; i < n; i++) {
        total += len[i];
        if (o->t == 1 && (int32_t)t->opt[HAM_TRAIN_OPTIMIZER] == HAM_OPTIMIZER_MADAM)
            o->bound[i] = hamp_madam_bound(p[i], len[i], t->opt[HAM_TRAIN_MADAM_SCALE]);
    }
    int32_t want = (int32_t)t->opt[HAM_TRAIN_THREADS];
    if (want == 0)
        want = hamp_online_cores();
    size_t most = total / UPDATE_MIN_CHUNK;
    int32_t parts = most < (size_t)want ? (int32_t)most : want;
    update_job_t job = {t, n, parts > 1 ? parts : 1, p, g, len, is_bias};
    if (job.parts > 1)
        hamp_pool_run(&t->pool, job.parts, update_part, &job);
    else
        update_part(&job, 0);
}

HAM_API int ham_trainer_step(ham_trainer_t *t, double *loss, int32_t *correct, int32_t batch,
                             const float *x, const int32_t *labels)
{
    int rc = ham_trainer_gradient(t, loss, correct, batch, x, labels);
    if (rc != HAM_OK)
        return rc;
    update(t);
    return HAM_OK;
}

HAM_API int ham_trainer_get_weight_grad(float *out, const ham_trainer_t *t, int32_t block,
                                        size_t count)
{
    if (!out || !t)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (block < 0 || block + 1 >= t->model->n_layers || !t->have_grad)
        return HAMP_FAIL(HAM_ERR_INVALID);
    if (count != hamp_block_len(t->model, block))
        return HAMP_FAIL(HAM_ERR_DIMENSION);
    memcpy(out, t->gW[block], count * sizeof(float));
    return HAM_OK;
}

HAM_API int ham_trainer_get_bias_grad(float *out, const ham_trainer_t *t, int32_t layer,
                                      size_t count)
{
    if (!out || !t)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (layer < 0 || layer >= t->model->n_layers || !t->gb[layer] || !t->have_grad)
        return HAMP_FAIL(HAM_ERR_INVALID);
    if (count != (size_t)t->model->size[layer])
        return HAMP_FAIL(HAM_ERR_DIMENSION);
    memcpy(out, t->gb[layer], count * sizeof(float));
    return HAM_OK;
}

HAM_API int ham_trainer_backward_stats(ham_solve_stats_t *stats, const ham_trainer_t *t)
{
    if (!stats || !t)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (!t->bwd)
        return HAMP_FAIL(HAM_ERR_INVALID);
    return ham_solver_get_stats(stats, t->bwd);
}
