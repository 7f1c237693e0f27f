/* The machine measurements behind the floors of `hamdeq bench --perf`
 * (docs/performance.md): the cost of one activation of the library's shifted sigmoid,
 * and the read bandwidth for a working set of a given size, both with every online core
 * at work at once (one thread per core, started together), so that a floor counts all of
 * the machine for every part of the work, as the sgemm rate does: the activations and the
 * reads could be split over the cores, and whatever the cores share (memory bandwidth, a
 * core's SMT sibling, a lower clock under load) is in the figures.
 *
 * The activation is timed through the public API only, so that the tool needs none of
 * the library's private headers: a Picard solve of exactly SIGMOID_ITERS iterations on a
 * 1-N model (clamped input, zero weights), whose iteration evaluates the N activations
 * and otherwise only moves vectors of N floats; once with the shifted sigmoid on the N
 * units and once with the identity (a copy). The difference over N is the cost of one
 * sigmoid as the library computes it, less that of copying one float, so the floor stays
 * a lower bound. A solver, not ham_model_apply(): apply allocates its workspace and calls
 * the BLAS for the input drive on every call, which costs 4 to 5 times the activations
 * and buried them in its noise. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <hamdeq/hamdeq.h>

#include "perf.h"

/* Units of the activation layer: 16 KB, cache-resident, so that the arithmetic, not the
 * memory, is timed. */
#define SIGMOID_N 4096
#define SIGMOID_ITERS 100
/* Every rate is the best of TRIALS windows of WINDOW_S seconds: short windows, many of
 * them, so that on a machine shared with other work some window runs undisturbed, as the
 * cases' own medians of short runs do (a floor is a lower bound: the best rate is its). */
#define TRIALS 25
#define WINDOW_S 0.004

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The solver, on its own model (*model), with Lagrangian `kind` on the N units; biases
 * spread over [-3, 3], so that the state holds the values of a trained layer. NULL on
 * failure. */
static ham_solver_t *activation_solver(ham_model_t **model, int32_t kind)
{
    static float bias[SIGMOID_N];
    for (int i = 0; i < SIGMOID_N; i++)
        bias[i] = -3.0f + 6.0f * (float)i / SIGMOID_N;
    const int32_t sizes[2] = {1, SIGMOID_N};
    ham_solver_t *sv = NULL;
    *model = NULL;
    if (ham_model_new(model, 2, sizes, HAM_MODEL_CLAMPED_INPUT) != HAM_OK ||
        ham_model_set_lagrangian(*model, 1, kind, 0.0) != HAM_OK ||
        ham_model_set_bias(*model, 1, bias, SIGMOID_N) != HAM_OK ||
        ham_solver_new(&sv, *model, HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD) != HAM_OK ||
        ham_solver_set_option(sv, HAM_OPT_FIXED_ITERS, 1) != HAM_OK ||
        ham_solver_set_option(sv, HAM_OPT_MAX_ITER, SIGMOID_ITERS) != HAM_OK) {
        ham_solver_free(sv);
        ham_model_free(*model);
        *model = NULL;
        return NULL;
    }
    return sv;
}

/* Seconds per solver iteration, over WINDOW_S of solves; < 0 on failure. */
static double iteration_seconds(ham_solver_t *sv, float *state)
{
    const float x = 0.5f;
    long solves = 0;
    double t0 = now_s(), t;
    do {
        if (ham_solver_solve(sv, state, 1, &x) != HAM_OK)
            return -1.0;
        solves++;
    } while ((t = now_s() - t0) < WINDOW_S);
    return t / ((double)solves * SIGMOID_ITERS);
}

/* Runs fn(args[i]) on `n` threads released together, the first on the calling thread;
 * returns how many ran (fewer when threads cannot be started). */
typedef struct team {
    pthread_mutex_t lock;
    pthread_cond_t go;
    int released;
    void (*fn)(void *);
} team_t;

typedef struct member {
    team_t *team;
    void *arg;
} member_t;

static void *member_main(void *p)
{
    member_t *m = p;
    pthread_mutex_lock(&m->team->lock);
    while (!m->team->released)
        pthread_cond_wait(&m->team->go, &m->team->lock);
    pthread_mutex_unlock(&m->team->lock);
    m->team->fn(m->arg);
    return NULL;
}

#define MAX_CORES 256

static int run_team(void (*fn)(void *), void *args, size_t arg_size, int n)
{
    team_t team = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, fn};
    member_t members[MAX_CORES];
    pthread_t tid[MAX_CORES];
    int started = 1;
    for (int i = 1; i < n && i < MAX_CORES; i++) {
        members[i] = (member_t){&team, (char *)args + (size_t)i * arg_size};
        if (pthread_create(&tid[i], NULL, member_main, &members[i]) != 0)
            break;
        started++;
    }
    pthread_mutex_lock(&team.lock);
    team.released = 1;
    pthread_cond_broadcast(&team.go);
    pthread_mutex_unlock(&team.lock);
    fn(args);
    for (int i = 1; i < started; i++)
        pthread_join(tid[i], NULL);
    return started;
}

int perf_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_CORES ? MAX_CORES : (int)n;
}

/* One core's sigmoid measurement: ns per value, 0 on failure. */
typedef struct sigmoid_job {
    double ns;
} sigmoid_job_t;

static void sigmoid_job(void *p)
{
    float *state = malloc(SIGMOID_N * sizeof *state);
    ham_model_t *m_sigmoid, *m_identity;
    ham_solver_t *sigmoid = activation_solver(&m_sigmoid, HAM_LAGRANGIAN_SHIFTED_SIGMOID);
    ham_solver_t *identity = activation_solver(&m_identity, HAM_LAGRANGIAN_IDENTITY);
    double best_sigmoid = 1e30, best_identity = 1e30;
    int ok = sigmoid && identity && state;
    for (int trial = 0; trial < TRIALS && ok; trial++) { /* interleaved: clock drift hits both */
        double a = iteration_seconds(sigmoid, state), b = iteration_seconds(identity, state);
        ok = a >= 0.0 && b >= 0.0;
        best_sigmoid = a < best_sigmoid ? a : best_sigmoid;
        best_identity = b < best_identity ? b : best_identity;
    }
    ham_solver_free(sigmoid);
    ham_solver_free(identity);
    ham_model_free(m_sigmoid);
    ham_model_free(m_identity);
    free(state);
    double ns = (best_sigmoid - best_identity) * 1e9 / SIGMOID_N;
    ((sigmoid_job_t *)p)->ns = ok && ns > 0.0 ? ns : 0.0;
}

double perf_sigmoid_ns(void)
{
    sigmoid_job_t jobs[MAX_CORES] = {{0}};
    int n = run_team(sigmoid_job, jobs, sizeof jobs[0], perf_cores());
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        if (jobs[i].ns <= 0.0)
            return 0.0; /* no measurement: the floors leave activations out */
        sum += jobs[i].ns;
    }
    /* n cores at once: n values in the mean time of one */
    return n > 0 ? sum / n / n : 0.0;
}

/* read_pass is compiled for AVX-512, AVX2 and the baseline, and the loader picks the
 * best the CPU runs (GNU ifunc), as for the library's own loops: the baseline's 16-byte
 * loads read a cache-resident set about 10% slower, which would raise the floors. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define PERF_VECTOR_CLONES                                                                 \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define PERF_VECTOR_CLONES
#endif

PERF_VECTOR_CLONES
static double read_pass(const float *a, size_t n)
{
    float acc[16] = {0};
    for (size_t i = 0; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++)
            acc[j] += a[i + j];
    double sum = 0.0;
    for (int j = 0; j < 16; j++)
        sum += acc[j];
    return sum;
}

/* One core's share of a working set: its GB/s (best of TRIALS), 0 on failure. */
typedef struct read_job {
    size_t bytes;
    double gbs;
} read_job_t;

static void read_job(void *p)
{
    read_job_t *job = p;
    size_t n = job->bytes / sizeof(float);
    if (n < 1024)
        n = 1024;
    n = (n + 15) / 16 * 16;
    float *a = malloc(n * sizeof(float)); /* its own pages, touched by this thread first */
    job->gbs = 0.0;
    if (!a)
        return;
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(i & 1023) * 1e-3f;
    volatile double sink = read_pass(a, n); /* warm the caches */
    for (int trial = 0; trial < TRIALS; trial++) {
        long passes = 0;
        double t0 = now_s(), t;
        do {
            sink += read_pass(a, n);
            passes++;
        } while ((t = now_s() - t0) < WINDOW_S);
        double gbs = (double)passes * (double)n * sizeof(float) / t * 1e-9;
        if (gbs > job->gbs)
            job->gbs = gbs;
    }
    (void)sink;
    free(a);
}

double perf_read_gbs(size_t bytes)
{
    read_job_t jobs[MAX_CORES];
    int cores = perf_cores();
    for (int i = 0; i < cores; i++)
        jobs[i] = (read_job_t){bytes / (size_t)cores, 0.0};
    int n = run_team(read_job, jobs, sizeof jobs[0], cores);
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += jobs[i].gbs;
    return n == cores ? sum : 0.0;
}
