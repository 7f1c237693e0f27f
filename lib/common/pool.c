/* A small pool of worker threads that runs one batch of numbered tasks at a time: task 0
 * on the caller's thread, tasks 1..n-1 on workers 1..n-1, and returns when all are done.
 * Workers are created on first use (and when a run needs more), then sleep on a condition
 * variable between runs: an idle pool costs no CPU, and a run costs one broadcast and one
 * wait instead of a thread creation per task. Whatever fails (allocation, thread
 * creation, a pool inherited across fork()), the tasks still run, on the caller's thread
 * in task order: the pool changes where a task runs, never what it computes. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/common_private.h"

struct hamp_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    pid_t pid;            /* the process that created the workers (fork() keeps none) */
    int32_t n_workers;    /* workers 1..n_workers exist */
    pthread_t worker[HAMP_POOL_MAX];
    uint64_t generation;  /* incremented by each run; a worker runs each generation once */
    int32_t n_tasks;      /* of the current run */
    int32_t pending;      /* tasks 1..n_tasks-1 not finished yet */
    int stop;
    hamp_task_fn fn;
    void *ctx;
};

typedef struct worker_arg {
    hamp_pool_t *pool;
    int32_t index;
    uint64_t seen; /* the generation when it was created: it waits for the next one */
} worker_arg_t;

static void *worker_main(void *p)
{
    worker_arg_t a = *(worker_arg_t *)p;
    free(p);
    hamp_pool_t *pool = a.pool;
    uint64_t seen = a.seen;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->stop && pool->generation == seen)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->stop)
            break;
        seen = pool->generation;
        if (a.index >= pool->n_tasks)
            continue; /* not needed in this run */
        hamp_task_fn fn = pool->fn;
        void *ctx = pool->ctx;
        pthread_mutex_unlock(&pool->lock);
        fn(ctx, a.index);
        pthread_mutex_lock(&pool->lock);
        if (--pool->pending == 0)
            pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

static hamp_pool_t *pool_new(void)
{
    hamp_pool_t *pool = calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    if (pthread_mutex_init(&pool->lock, NULL) != 0) {
        free(pool);
        return NULL;
    }
    if (pthread_cond_init(&pool->wake, NULL) != 0) {
        pthread_mutex_destroy(&pool->lock);
        free(pool);
        return NULL;
    }
    if (pthread_cond_init(&pool->done, NULL) != 0) {
        pthread_cond_destroy(&pool->wake);
        pthread_mutex_destroy(&pool->lock);
        free(pool);
        return NULL;
    }
    pool->pid = getpid();
    return pool;
}

/* Starts workers up to index want-1 (as many as it can); called with no run in flight.
 * Workers block every signal: the host's handlers keep running on the host's threads. */
static void pool_grow(hamp_pool_t *pool, int32_t want)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (pool->n_workers + 1 < want) {
        worker_arg_t *a = malloc(sizeof *a);
        if (!a)
            break;
        a->pool = pool;
        a->index = pool->n_workers + 1;
        a->seen = pool->generation;
        if (pthread_create(&pool->worker[pool->n_workers], NULL, worker_main, a) != 0) {
            free(a);
            break;
        }
        pool->n_workers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void hamp_pool_run(hamp_pool_t **pool_p, int32_t n_tasks, hamp_task_fn fn, void *ctx)
{
    if (n_tasks > HAMP_POOL_MAX)
        n_tasks = HAMP_POOL_MAX;
    hamp_pool_t *pool = *pool_p;
    if (n_tasks > 1 && pool && pool->pid != getpid())
        pool = *pool_p = NULL; /* a fork()ed child: the workers stayed in the parent */
    if (n_tasks > 1 && !pool)
        pool = *pool_p = pool_new();
    if (n_tasks > 1 && pool && pool->n_workers + 1 < n_tasks)
        pool_grow(pool, n_tasks);
    int32_t on_workers = pool ? pool->n_workers + 1 : 1;
    if (on_workers > n_tasks)
        on_workers = n_tasks;
    if (on_workers > 1) {
        pthread_mutex_lock(&pool->lock);
        pool->fn = fn;
        pool->ctx = ctx;
        pool->n_tasks = on_workers;
        pool->pending = on_workers - 1;
        pool->generation++;
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->lock);
    }
    fn(ctx, 0);
    for (int32_t t = on_workers; t < n_tasks; t++) /* no worker for these: run them here */
        fn(ctx, t);
    if (on_workers > 1) {
        pthread_mutex_lock(&pool->lock);
        while (pool->pending > 0)
            pthread_cond_wait(&pool->done, &pool->lock);
        pthread_mutex_unlock(&pool->lock);
    }
}

void hamp_pool_free(hamp_pool_t *pool)
{
    if (!pool)
        return;
    if (pool->pid != getpid())
        return; /* inherited across fork(): its workers and lock belong to the parent */
    pthread_mutex_lock(&pool->lock);
    pool->stop = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int32_t i = 0; i < pool->n_workers; i++)
        pthread_join(pool->worker[i], NULL);
    pthread_cond_destroy(&pool->done);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

int32_t hamp_online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > HAMP_POOL_MAX ? HAMP_POOL_MAX : (int32_t)n;
}
