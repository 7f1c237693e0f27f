/* HAM_OPT_THREADS: a solve split over threads. The batch is cut into T contiguous chunks
 * (T from split_threads below); chunk t is solved by child solver t, a private solver with
 * the parent's model, operator, backend and options and a workspace of its own, on the
 * parent's pool (chunk 0 on the calling thread). A chunk computes its rows' input drive
 * on its own thread (hamp_eval_set_input_serial: OpenBLAS's threads, once woken, would
 * spin beside the workers for a long while), or reads it from the trainer's arrays, or,
 * for the adjoint, reads its rows of the linearisation point; each writes its rows of the
 * state; nothing else is shared. Results are merged in chunk order, so they
 * do not depend on which thread finished first. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "solver/solver_private.h"

/* Fewest samples in a chunk: below this a chunk's work is too short to pay for waking a
 * worker (docs/performance.md, "Threads"). */
#define MIN_CHUNK 16

static int has_custom_lagrangian(const ham_model_t *m)
{
    for (int32_t l = 0; l < m->n_layers; l++)
        if (m->lag[l].kind == HAM_LAGRANGIAN_CUSTOM)
            return 1;
    return 0;
}

int32_t hamp_split_threads(const ham_solver_t *sv, int32_t batch)
{
    int32_t want = (int32_t)sv->opt[HAM_OPT_THREADS];
    if (want == 0)
        want = hamp_online_cores();
    int32_t t = batch / MIN_CHUNK;
    if (t > want)
        t = want;
    if (t <= 1)
        return 1;
    /* user code is never called from a worker */
    if (sv->callback || sv->conv_test || sv->kind == HAM_SOLVER_CUSTOM ||
        has_custom_lagrangian(sv->model))
        return 1;
    /* every product a chunk makes per iteration must stay on its thread (OpenBLAS's
     * serial range); else the batch is BLAS's to thread, in one piece */
    const ham_model_t *m = sv->model;
    double rows = (double)((batch + t - 1) / t);
    double tangents = sv->backend->tangents ? sv->backend->tangents(sv) : 1;
    for (int32_t l = 0; l + 1 < m->n_layers; l++)
        if (hamp_layer_free(m, l) && hamp_layer_free(m, l + 1) && !hamp_block_thin(m, l) &&
            rows * tangents * m->size[l] * (double)m->size[l + 1] > HAMP_CALLER_MNK)
            return 1;
    return t;
}

hamp_pool_t **hamp_solver_pool(ham_solver_t *sv)
{
    return sv->pool_at ? sv->pool_at : &sv->pool;
}

void hamp_solver_share_pool(ham_solver_t *sv, hamp_pool_t **pool)
{
    sv->pool_at = pool;
}

void hamp_split_free(ham_solver_t *sv)
{
    hamp_pool_free(sv->pool);
    sv->pool = NULL;
    for (int32_t t = 0; t < sv->n_chunks; t++)
        ham_solver_free(sv->chunks[t].child);
    free(sv->chunks);
    sv->chunks = NULL;
    sv->n_chunks = 0;
}

/* Children for chunks 0..T-1, created on the calling thread before any worker runs. */
static int ensure_children(ham_solver_t *sv, int32_t T)
{
    if (T > sv->n_chunks) {
        hamp_chunk_t *c = realloc(sv->chunks, (size_t)T * sizeof *c);
        if (!c)
            return hamp_fail(HAM_ERR_NOMEM, "cannot allocate %d chunks", (int)T);
        memset(c + sv->n_chunks, 0, (size_t)(T - sv->n_chunks) * sizeof *c);
        sv->chunks = c;
        sv->n_chunks = T;
    }
    for (int32_t t = 0; t < T; t++)
        if (!sv->chunks[t].child) {
            int rc = hamp_solver_child_new(&sv->chunks[t].child, sv);
            if (rc != HAM_OK)
                return rc;
        }
    return HAM_OK;
}

typedef struct split_job {
    ham_solver_t *sv;
    float *state;            /* batch x dim, chunk t's rows from its first sample */
    const float *x;          /* the inputs (forward, each chunk its drive), or NULL */
    const hamp_eval_t *src;  /* else the drive (forward) or the linearisation point (adjoint) */
    const float *rhs;        /* the adjoint's constant term, NULL for a forward solve */
    int warm_from_rhs;
    int32_t batch, T;
} split_job_t;

static void chunk_bounds(const split_job_t *job, int32_t t, int32_t *lo, int32_t *rows)
{
    int32_t a = (int32_t)((int64_t)job->batch * t / job->T);
    int32_t b = (int32_t)((int64_t)job->batch * (t + 1) / job->T);
    *lo = a;
    *rows = b - a;
}

/* Task t: solves chunk t on child t. Its error message is thread-local to the thread that
 * ran it, so it is kept with the chunk for the caller. */
static void run_chunk(void *ctx, int32_t t)
{
    const split_job_t *job = ctx;
    const ham_solver_t *sv = job->sv;
    const ham_model_t *m = sv->model;
    hamp_chunk_t *c = &sv->chunks[t];
    ham_solver_t *child = c->child;
    int32_t lo, rows;
    chunk_bounds(job, t, &lo, &rows);
    const size_t d = (size_t)sv->dim;
    memcpy(child->opt, sv->opt, sizeof child->opt);
    child->opt[HAM_OPT_THREADS] = 1.0;
    child->batch = 0; /* stays 0 unless the child's solve got as far as its iterations */
    float *state = job->state + (size_t)lo * d;
    if (!job->src) { /* forward, each chunk its own drive (none for a free input) */
        const float *x = job->x ? job->x + (size_t)lo * m->size[0] : NULL;
        c->rc = hamp_solver_forward_rows(child, state, rows, x, NULL);
        goto done;
    }
    hamp_eval_t view = *job->src; /* the chunk's rows of the batch-wide arrays */
    if (job->rhs) {
        for (int32_t l = 0; l < m->n_layers; l++)
            if (hamp_layer_free(m, l)) {
                view.s[l] += (size_t)lo * (size_t)m->size[l];
                view.g[l] += (size_t)lo * (size_t)m->size[l];
            }
        c->rc = hamp_solver_adjoint_rows(child, state, rows, &view, job->rhs + (size_t)lo * d,
                                         job->warm_from_rhs);
    } else {
        if (view.drive)
            view.drive += (size_t)lo * (size_t)m->size[1];
        c->rc = hamp_solver_forward_rows(child, state, rows, NULL, &view);
    }
done:
    if (c->rc != HAM_OK) {
        strncpy(c->msg, ham_last_error(), sizeof c->msg - 1);
        c->msg[sizeof c->msg - 1] = '\0';
    }
}

int hamp_split_solve(ham_solver_t *sv, float *state, int32_t batch, const float *x,
                     const hamp_eval_t *src, const float *rhs, int warm_from_rhs, int32_t T)
{
    int rc = ensure_children(sv, T);
    if (rc != HAM_OK)
        return rc;
    split_job_t job = {sv, state, src ? NULL : x, src, rhs, warm_from_rhs, batch, T};
    hamp_pool_run(hamp_solver_pool(sv), T, run_chunk, &job);

    /* merge in chunk order: per-sample results, counters, the first failure */
    sv->batch = batch;
    sv->jvp_rows = 0;
    sv->rejections = 0;
    int failed = -1;
    for (int32_t t = 0; t < T; t++) {
        const ham_solver_t *child = sv->chunks[t].child;
        int32_t lo, rows;
        chunk_bounds(&job, t, &lo, &rows);
        if (child->batch == rows) {
            memcpy(sv->iters + lo, child->iters, (size_t)rows * sizeof(int32_t));
            memcpy(sv->resid + lo, child->resid, (size_t)rows * sizeof(double));
            memcpy(sv->status + lo, child->status, (size_t)rows * sizeof(int32_t));
            sv->jvp_rows += child->jvp_rows;
            sv->rejections += child->rejections;
        } else {
            for (int32_t r = lo; r < lo + rows; r++) {
                sv->iters[r] = 0;
                sv->resid[r] = NAN;
                sv->status[r] = HAM_SAMPLE_MAX_ITER;
            }
        }
        if (failed < 0 && sv->chunks[t].rc != HAM_OK)
            failed = t;
    }
    hamp_solver_finish_stats(sv);
    if (failed >= 0)
        return hamp_fail(sv->chunks[failed].rc, "%s", sv->chunks[failed].msg);
    return HAM_OK;
}
