/* A small pool of worker threads that runs one batch of numbered tasks at a time: task 0
 * on the caller's thread, tasks 1..n-1 on workers 1..n-1, and returns when all are done.
 * Workers are created on first use (and when a run needs more). Between runs a worker
 * spins for up to SPIN_NS, then sleeps on a condition variable: an idle pool costs no
 * CPU, while the runs of one solve or training step (a few per step, microseconds apart)
 * find their workers awake. Waking a sleeping thread costs 40 to 120 us on this VM (a
 * cross-CPU wake-up), as much as a tenth of a batch-64 solve; a spinning one starts at
 * once. The caller waits for the last task the same way. Whatever fails (allocation,
 * thread creation, a pool inherited across fork()), the tasks still run, on the caller's
 * thread in task order: the pool changes where a task runs, never what it computes. */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/common_private.h"

/* How long a worker (or the caller, for the last task) spins before it sleeps, while the
 * machine has a core to spare (yielding now and then to a thread that waits for its core);
 * when it has none (the load average of /proc/loadavg at least the online cores + 0.5,
 * looked at every LOAD_CHECK_NS), it sleeps at once: a spinning
 * thread on a busy machine keeps the caller or a worker off a core for whole time slices
 * (a 2-task run then took 0.1 to 1 ms at a load of 11 on 2 cores, against 15 to 40 us
 * with sleeping workers and 1.2 to 2 us spinning on an otherwise idle machine). */
#define SPIN_NS 200000
#define LOAD_CHECK_NS 250000000

struct hamp_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    pid_t pid;                 /* the process that created the workers (fork() keeps none) */
    int32_t n_workers;         /* workers 1..n_workers exist */
    pthread_t worker[HAMP_POOL_MAX];
    atomic_uint_fast64_t generation; /* incremented by each run; a worker runs each once */
    atomic_int pending;        /* workers that have not finished the run (or, for those
                                  it does not need, acknowledged it): the next run's
                                  fields are written only once all have read these */
    atomic_int sleepers;       /* workers asleep on `wake` (or about to be) */
    atomic_int caller_asleep;  /* the caller asleep on `done` (or about to be) */
    atomic_int stop;
    atomic_int spin;           /* 1: spin before sleeping (the machine has a spare core) */
    int64_t load_checked;      /* when the caller last read the load average */
    int32_t n_tasks;           /* of the current run: written before generation moves */
    hamp_task_fn fn;
    void *ctx;
};

typedef struct worker_arg {
    hamp_pool_t *pool;
    int32_t index;
    uint64_t seen; /* the generation when it was created: it waits for the next one */
} worker_arg_t;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* 1 when the 1-minute load average is below the online cores (or cannot be read). */
static int spare_core(void)
{
#ifdef HAMP_POOL_FORCE_SPIN /* measurements only: the idle machine's policy under SCHED_FIFO */
    return 1;
#endif
    char buf[64];
    int fd = open("/proc/loadavg", O_RDONLY);
    if (fd < 0)
        return 1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 1;
    buf[n] = '\0';
    /* + 0.5: the pool's own threads count in the average (a 2-thread run alone on 2 cores
     * holds it near 2) */
    return strtod(buf, NULL) < (double)hamp_online_cores() + 0.5;
}

/* Waits until the generation differs from `seen` (returns it) or the pool stops (0). */
static uint64_t wait_generation(hamp_pool_t *pool, uint64_t seen)
{
    int64_t until = now_ns() + (atomic_load(&pool->spin) ? SPIN_NS : 0);
    for (int i = 0;; i++) {
        uint64_t g = atomic_load_explicit(&pool->generation, memory_order_acquire);
        if (g != seen)
            return g;
        if (atomic_load_explicit(&pool->stop, memory_order_acquire))
            return 0;
        if ((i & 255) == 255) {
            if (now_ns() > until)
                break;
            sched_yield(); /* a runnable thread waiting for this core goes first */
        }
        cpu_relax();
    }
    /* sleep: the count goes up before the last look, the waker looks at it after moving
     * the generation (both sequentially consistent), so one of them sees the other */
    pthread_mutex_lock(&pool->lock);
    atomic_fetch_add(&pool->sleepers, 1);
    uint64_t g;
    while ((g = atomic_load(&pool->generation)) == seen && !atomic_load(&pool->stop))
        pthread_cond_wait(&pool->wake, &pool->lock);
    atomic_fetch_sub(&pool->sleepers, 1);
    pthread_mutex_unlock(&pool->lock);
    return atomic_load(&pool->stop) ? 0 : g;
}

static void *worker_main(void *p)
{
    worker_arg_t a = *(worker_arg_t *)p;
    free(p);
    hamp_pool_t *pool = a.pool;
    uint64_t seen = a.seen;
    for (;;) {
        uint64_t g = wait_generation(pool, seen);
        if (g == 0)
            break;
        seen = g;
        if (a.index < pool->n_tasks) /* else not needed in this run: only acknowledges it */
            pool->fn(pool->ctx, a.index);
        if (atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel) == 1 &&
            atomic_load(&pool->caller_asleep)) {
            pthread_mutex_lock(&pool->lock);
            pthread_cond_signal(&pool->done);
            pthread_mutex_unlock(&pool->lock);
        }
    }
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
    atomic_init(&pool->generation, 1); /* 0 means "stopped" to wait_generation */
    atomic_init(&pool->pending, 0);
    atomic_init(&pool->sleepers, 0);
    atomic_init(&pool->caller_asleep, 0);
    atomic_init(&pool->stop, 0);
    atomic_init(&pool->spin, 0);
    pool->load_checked = now_ns() - 2 * (int64_t)LOAD_CHECK_NS;
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
        a->seen = atomic_load(&pool->generation);
        if (pthread_create(&pool->worker[pool->n_workers], NULL, worker_main, a) != 0) {
            free(a);
            break;
        }
        pool->n_workers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* The caller's wait for tasks 1..n-1: spin, then sleep (as wait_generation). */
static void wait_done(hamp_pool_t *pool)
{
    int64_t until = now_ns() + (atomic_load(&pool->spin) ? SPIN_NS : 0);
    for (int i = 0; atomic_load_explicit(&pool->pending, memory_order_acquire) > 0; i++) {
        if ((i & 255) == 255 && now_ns() > until) {
            pthread_mutex_lock(&pool->lock);
            atomic_store(&pool->caller_asleep, 1);
            while (atomic_load(&pool->pending) > 0)
                pthread_cond_wait(&pool->done, &pool->lock);
            atomic_store(&pool->caller_asleep, 0);
            pthread_mutex_unlock(&pool->lock);
            return;
        }
        if ((i & 255) == 255)
            sched_yield();
        cpu_relax();
    }
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
        int64_t t = now_ns();
        if (t - pool->load_checked > LOAD_CHECK_NS) {
            atomic_store(&pool->spin, spare_core());
            pool->load_checked = t;
        }
        pool->fn = fn;
        pool->ctx = ctx;
        pool->n_tasks = on_workers;
        atomic_store(&pool->pending, pool->n_workers);
        atomic_fetch_add(&pool->generation, 1); /* publishes the fields above */
        if (atomic_load(&pool->sleepers) > 0) {
            pthread_mutex_lock(&pool->lock);
            pthread_cond_broadcast(&pool->wake);
            pthread_mutex_unlock(&pool->lock);
        }
    }
    fn(ctx, 0);
    for (int32_t t = on_workers; t < n_tasks; t++) /* no worker for these: run them here */
        fn(ctx, t);
    if (on_workers > 1)
        wait_done(pool);
}

void hamp_pool_free(hamp_pool_t *pool)
{
    if (!pool)
        return;
    if (pool->pid != getpid())
        return; /* inherited across fork(): its workers and lock belong to the parent */
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->stop, 1);
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
