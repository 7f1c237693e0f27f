/* Lifetimes through the public API: reference-counted models freed in every order with
 * the clones, solvers, custom solvers and trainers that hold them; the destructors of
 * user data (custom Lagrangians shared by clones, replaced, released with the last
 * model; custom solvers), never called for a registration that failed; the failure
 * protocol of callbacks that return no status; references taken and dropped by several
 * threads while one solves. Under ASan (the asan build) a leak, a use after free or a
 * double free fails the test, so every test also frees everything it made. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

enum { N_IN = 6, N_HID = 5, N_OUT = 3, B = 4, SYNC_DIM = N_HID + N_OUT };
static const int32_t sizes[3] = {N_IN, N_HID, N_OUT};

/* What the destructors and callbacks of one registration did. It lives outside the user
 * data, which the destructor frees. */
typedef struct tally {
    atomic_int destroyed; /* destructor calls */
    atomic_int live;      /* custom-solver states made by init and not yet finalised */
    atomic_int early;     /* destructor calls that came while such a state was live */
    atomic_long calls;    /* Lagrangian callback calls */
} tally_t;

/* Readers, so that a failed assertion names the counter. */
static int destroyed_of(tally_t *t)
{
    return atomic_load(&t->destroyed);
}
static int live_of(tally_t *t)
{
    return atomic_load(&t->live);
}
static int early_of(tally_t *t)
{
    return atomic_load(&t->early);
}
static long calls_of(tally_t *t)
{
    return atomic_load(&t->calls);
}

static void tally_init(tally_t *t)
{
    atomic_init(&t->destroyed, 0);
    atomic_init(&t->live, 0);
    atomic_init(&t->early, 0);
    atomic_init(&t->calls, 0);
}

/* ------------------------------------------------ a custom Lagrangian: log cosh */

/* The user data a registration hands over: heap memory that only destroy frees, so a
 * missing destructor call is a leak and a second one a double free under ASan. */
typedef struct lag_user {
    tally_t *tally;
    int fail;   /* from now on, report failure: NaN outputs */
    int failed; /* a failure was reported (read by the iteration callback) */
} lag_user_t;

static lag_user_t *lag_user_new(tally_t *t)
{
    lag_user_t *u = calloc(1, sizeof *u);
    ck_assert_ptr_nonnull(u);
    u->tally = t;
    return u;
}

static double lc_value(const float *s, int32_t n, void *user)
{
    lag_user_t *u = user;
    atomic_fetch_add(&u->tally->calls, 1);
    if (u->fail) {
        u->failed = 1;
        return NAN;
    }
    double v = 0;
    for (int32_t i = 0; i < n; i++)
        v += log(cosh((double)s[i]));
    return v;
}

static void lc_activation(float *g, const float *s, int32_t n, void *user)
{
    lag_user_t *u = user;
    atomic_fetch_add(&u->tally->calls, 1);
    if (u->fail)
        u->failed = 1;
    for (int32_t i = 0; i < n; i++)
        g[i] = u->fail ? NAN : tanhf(s[i]);
}

static void lc_hvp(float *out, const float *s, const float *g, const float *v, int32_t n,
                   void *user)
{
    lag_user_t *u = user;
    (void)s;
    atomic_fetch_add(&u->tally->calls, 1);
    if (u->fail)
        u->failed = 1;
    for (int32_t i = 0; i < n; i++)
        out[i] = u->fail ? NAN : (1.0f - g[i] * g[i]) * v[i];
}

static void lag_destroy(void *user)
{
    lag_user_t *u = user;
    atomic_fetch_add(&u->tally->destroyed, 1);
    free(u);
}

static ham_lagrangian_def_t lag_def(lag_user_t *u)
{
    ham_lagrangian_def_t d;
    memset(&d, 0, sizeof d);
    d.size = sizeof d;
    d.name = "logcosh";
    d.value = lc_value;
    d.activation = lc_activation;
    d.hvp = lc_hvp;
    d.user = u;
    d.destroy = lag_destroy;
    return d;
}

/* Registers a fresh log cosh Lagrangian with a destructor counted in t. */
static void set_lag(ham_model_t *m, int32_t layer, tally_t *t)
{
    ham_lagrangian_def_t d = lag_def(lag_user_new(t));
    TU_OK(ham_model_set_custom_lagrangian(m, layer, &d));
}

/* ------------------------------------------------ a custom solver: damped Picard */

typedef struct sol_user {
    tally_t *tally;
} sol_user_t;

static int ds_init(void **state, int32_t dim, int32_t max_rows, void *user)
{
    sol_user_t *u = user;
    *state = malloc((size_t)dim * (size_t)max_rows * sizeof(float)); /* only to be freed */
    if (!*state)
        return HAM_ERR_NOMEM;
    atomic_fetch_add(&u->tally->live, 1);
    return 0;
}

static void ds_fini(void *state, void *user)
{
    sol_user_t *u = user;
    free(state);
    atomic_fetch_sub(&u->tally->live, 1);
}

static int ds_step(void *state, ham_step_t *step, float *s, float *gs, int32_t rows, void *user)
{
    (void)state;
    (void)user;
    size_t n = (size_t)rows * (size_t)ham_step_dim(step);
    for (size_t i = 0; i < n; i++)
        s[i] += 0.5f * (gs[i] - s[i]);
    return 0;
}

static void sol_destroy(void *user)
{
    sol_user_t *u = user;
    if (live_of(u->tally) != 0)
        atomic_fetch_add(&u->tally->early, 1);
    atomic_fetch_add(&u->tally->destroyed, 1);
    free(u);
}

static ham_solver_def_t sol_def(tally_t *t)
{
    sol_user_t *u = calloc(1, sizeof *u);
    ck_assert_ptr_nonnull(u);
    u->tally = t;
    ham_solver_def_t d;
    memset(&d, 0, sizeof d);
    d.size = sizeof d;
    d.name = "damped";
    d.init = ds_init;
    d.fini = ds_fini;
    d.step = ds_step;
    d.user = u;
    d.destroy = sol_destroy;
    return d;
}

/* ------------------------------------------------ using handles */

static void inputs(float *x, uint64_t seed)
{
    tu_rng_t r;
    tu_rng_seed(&r, seed);
    tu_fill(x, (size_t)B * N_IN, &r, 0.0, 1.0);
}

static ham_model_t *model_new(void)
{
    return tu_model_new(3, sizes, HAM_MODEL_CLAMPED_INPUT, 7, 0.5);
}

static void use_model(const ham_model_t *m, const float *x)
{
    int32_t d = 0;
    TU_OK(ham_model_state_dim(&d, m, HAM_OPERATOR_EVEN_ODD));
    ck_assert_int_eq(d, N_OUT);
    float s[B * N_OUT] = {0}, o[B * N_OUT];
    TU_OK(ham_model_apply(o, m, HAM_OPERATOR_EVEN_ODD, B, x, s));
    for (int i = 0; i < B * N_OUT; i++)
        ck_assert(isfinite(o[i]));
}

static void solve_eo(float *out, ham_solver_t *sv, const float *x)
{
    TU_OK(ham_solver_solve(sv, out, B, x));
    ham_solve_stats_t st;
    tu_stats(&st, sv);
    ck_assert_int_eq(st.samples, B);
    ck_assert_int_eq(st.diverged, 0);
}

static void use_custom(ham_solver_t *sv, const float *x)
{
    float s[B * SYNC_DIM];
    TU_OK(ham_solver_solve(sv, s, B, x));
    ham_solve_stats_t st;
    tu_stats(&st, sv);
    ck_assert_int_eq(st.samples, B);
    ck_assert_int_eq(st.diverged, 0);
}

/* A step, then the trainer's (borrowed) solver: its options, stats and a solve. When the
 * separate solver of the same model is alive, both solve that model, changed in place by
 * the step, to the same bits: they share it, neither holds a copy. */
static void use_trainer(ham_trainer_t *t, ham_solver_t *same_model, const float *x)
{
    const int32_t labels[B] = {0, 1, 2, 0};
    double loss = NAN;
    TU_OK(ham_trainer_step(t, &loss, NULL, B, x, labels));
    ck_assert(isfinite(loss));
    ham_solver_t *ts = ham_trainer_solver(t);
    ck_assert_ptr_nonnull(ts);
    ck_assert_ptr_eq(ham_trainer_solver(t), ts);
    ham_solve_stats_t st;
    tu_stats(&st, ts);
    ck_assert_int_eq(st.samples, B);
    TU_OK(ham_solver_set_option(ts, HAM_OPT_MAX_ITER, 30));
    float a[B * N_OUT];
    solve_eo(a, ts, x);
    if (same_model) {
        float b[B * N_OUT];
        solve_eo(b, same_model, x);
        ck_assert_msg(memcmp(a, b, sizeof a) == 0,
                      "the trainer's solver and a solver of the same model disagree");
    }
}

/* ------------------------------------------------ ham_model_ref */

START_TEST(test_ref)
{
    tu_plant_stale_error();
    ck_assert_ptr_null(ham_model_ref(NULL));
    ck_assert_ptr_null(ham_trainer_solver(NULL));
    ck_assert_msg(strstr(ham_last_error(), TU_STALE_MARKER) != NULL,
                  "ham_model_ref(NULL) is not an error but changed the message to '%s'",
                  ham_last_error());
    ham_model_free(NULL);

    float x[B * N_IN];
    inputs(x, 1);
    tally_t t;
    tally_init(&t);
    ham_model_t *m = model_new();
    set_lag(m, 2, &t);
    ck_assert_ptr_eq(ham_model_ref(m), m);
    ck_assert_ptr_eq(ham_model_ref(m), m);
    ham_model_free(m);
    ham_model_free(m);
    ck_assert_int_eq(destroyed_of(&t), 0); /* one reference left */
    use_model(m, x);
    ck_assert_int_eq(ham_model_n_layers(m), 3);

    /* a clone starts with its own count of 1, whatever the original's */
    tally_t tc;
    tally_init(&tc);
    ham_model_t *c = NULL;
    ck_assert_ptr_eq(ham_model_ref(m), m);
    TU_OK(ham_model_clone(&c, m));
    set_lag(c, 1, &tc);
    ham_model_free(c);
    ck_assert_int_eq(destroyed_of(&tc), 1);
    ck_assert_int_eq(destroyed_of(&t), 0); /* the clone shared layer 2's */
    ham_model_free(m);
    ck_assert_int_eq(destroyed_of(&t), 0);
    ham_model_free(m); /* the last reference */
    ck_assert_int_eq(destroyed_of(&t), 1);
}
END_TEST

/* ------------------------------------------------ every free order */

enum { H_MODEL, H_CLONE, H_SOLVER, H_CUSTOM, H_TRAINER, N_HANDLES };

typedef struct fixture {
    ham_model_t *model, *clone;
    ham_solver_t *solver, *custom;
    ham_trainer_t *trainer;
    tally_t shared; /* layer 2, registered before cloning: shared by the two models */
    tally_t mfam;   /* layer 1 of the model, after cloning: model, solver, trainer */
    tally_t cfam;   /* layer 1 of the clone: clone, custom solver */
    tally_t sol;    /* the custom solver's user data */
    float x[B * N_IN];
} fixture_t;

static void fixture_init(fixture_t *f)
{
    memset(f, 0, sizeof *f);
    tally_init(&f->shared);
    tally_init(&f->mfam);
    tally_init(&f->cfam);
    tally_init(&f->sol);
    inputs(f->x, 3);
    f->model = model_new();
    set_lag(f->model, 2, &f->shared);
    TU_OK(ham_model_clone(&f->clone, f->model));
    set_lag(f->model, 1, &f->mfam);
    set_lag(f->clone, 1, &f->cfam);
    TU_OK(ham_solver_new(&f->solver, f->model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON));
    TU_OK(ham_solver_set_option(f->solver, HAM_OPT_MAX_ITER, 30));
    ham_solver_def_t d = sol_def(&f->sol);
    TU_OK(ham_solver_new_custom(&f->custom, f->clone, HAM_OPERATOR_SYNC, &d));
    TU_OK(ham_trainer_new(&f->trainer, f->model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON));
    TU_OK(ham_solver_set_option(ham_trainer_solver(f->trainer), HAM_OPT_MAX_ITER, 30));
}

static void fixture_release(fixture_t *f, int h)
{
    switch (h) {
    case H_MODEL:
        ham_model_free(f->model);
        f->model = NULL;
        break;
    case H_CLONE:
        ham_model_free(f->clone);
        f->clone = NULL;
        break;
    case H_SOLVER:
        ham_solver_free(f->solver);
        f->solver = NULL;
        break;
    case H_CUSTOM:
        ham_solver_free(f->custom);
        f->custom = NULL;
        break;
    default:
        ham_trainer_free(f->trainer);
        f->trainer = NULL;
        break;
    }
}

/* Uses every live handle, then checks that exactly the user data whose last holder is
 * gone was destroyed, once. */
static void fixture_check(fixture_t *f, const char *freed)
{
    if (f->model)
        use_model(f->model, f->x);
    if (f->clone)
        use_model(f->clone, f->x);
    if (f->solver) {
        float s[B * N_OUT];
        solve_eo(s, f->solver, f->x);
    }
    if (f->custom)
        use_custom(f->custom, f->x);
    if (f->trainer)
        use_trainer(f->trainer, f->solver, f->x);
    int mfam = f->model || f->solver || f->trainer, cfam = f->clone || f->custom;
    ck_assert_msg(destroyed_of(&f->mfam) == !mfam, "freed:%s: the model's Lagrangian "
                  "destroyed %d times", freed, destroyed_of(&f->mfam));
    ck_assert_msg(destroyed_of(&f->cfam) == !cfam, "freed:%s: the clone's Lagrangian "
                  "destroyed %d times", freed, destroyed_of(&f->cfam));
    ck_assert_msg(destroyed_of(&f->shared) == (!mfam && !cfam), "freed:%s: the shared "
                  "Lagrangian destroyed %d times", freed, destroyed_of(&f->shared));
    ck_assert_msg(destroyed_of(&f->sol) == !f->custom, "freed:%s: the custom solver's user "
                  "data destroyed %d times", freed, destroyed_of(&f->sol));
    ck_assert_msg(early_of(&f->sol) == 0, "freed:%s: destroyed before fini", freed);
}

/* The next permutation in lexicographic order; 0 after the last. */
static int next_permutation(int *a, int n)
{
    int i = n - 2;
    while (i >= 0 && a[i] >= a[i + 1])
        i--;
    if (i < 0)
        return 0;
    int j = n - 1;
    while (a[j] <= a[i])
        j--;
    int t = a[i];
    a[i] = a[j];
    a[j] = t;
    for (int l = i + 1, r = n - 1; l < r; l++, r--) {
        t = a[l];
        a[l] = a[r];
        a[r] = t;
    }
    return 1;
}

/* All 120 orders of freeing model, clone, solver, custom solver and trainer, each handle
 * used (the trainer's solver with it) after every free, the models' first included. */
START_TEST(test_every_free_order)
{
    static const char *const names[N_HANDLES] = {"model", "clone", "solver", "custom",
                                                 "trainer"};
    int order[N_HANDLES] = {0, 1, 2, 3, 4}, n = 0;
    do {
        fixture_t f;
        char freed[64] = "";
        fixture_init(&f);
        fixture_check(&f, freed);
        for (int k = 0; k < N_HANDLES; k++) {
            fixture_release(&f, order[k]);
            strcat(freed, " ");
            strcat(freed, names[order[k]]);
            fixture_check(&f, freed);
        }
        n++;
    } while (next_permutation(order, N_HANDLES));
    ck_assert_int_eq(n, 120);
}
END_TEST

/* The brief's sequence, spelled out: the caller frees the model at once, then solves,
 * trains and frees the handles. */
START_TEST(test_free_model_first)
{
    float x[B * N_IN], s[B * N_OUT];
    inputs(x, 5);
    ham_model_t *m = model_new();
    ham_solver_t *sv = NULL;
    ham_trainer_t *t = NULL;
    TU_OK(ham_solver_new(&sv, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_NEWTON));
    TU_OK(ham_trainer_new(&t, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_BROYDEN));
    ham_model_free(m);
    solve_eo(s, sv, x);
    use_trainer(t, NULL, x);
    ham_solver_free(sv);
    use_trainer(t, NULL, x);
    ham_trainer_free(t);
}
END_TEST

/* ------------------------------------------------ custom Lagrangian user data */

START_TEST(test_lagrangian_shared_by_clones)
{
    float x[B * N_IN];
    inputs(x, 7);
    tally_t t;
    tally_init(&t);
    ham_model_t *m = model_new(), *c1 = NULL, *c2 = NULL;
    set_lag(m, 2, &t);
    TU_OK(ham_model_clone(&c1, m));
    TU_OK(ham_model_clone(&c2, c1));
    ham_model_free(m);
    ck_assert_int_eq(destroyed_of(&t), 0);
    long before = calls_of(&t);
    use_model(c2, x); /* the clones still call the shared user data */
    ck_assert_int_gt(calls_of(&t), before);
    ham_model_free(c2);
    ck_assert_int_eq(destroyed_of(&t), 0);
    use_model(c1, x);
    ham_model_free(c1);
    ck_assert_int_eq(destroyed_of(&t), 1);
}
END_TEST

START_TEST(test_lagrangian_replaced)
{
    float x[B * N_IN];
    inputs(x, 9);
    tally_t a, b, c;
    tally_init(&a);
    tally_init(&b);
    tally_init(&c);
    ham_model_t *m = model_new();

    /* a custom Lagrangian replaced by a custom one, then by a built-in one */
    set_lag(m, 2, &a);
    set_lag(m, 2, &b);
    ck_assert_int_eq(destroyed_of(&a), 1);
    ck_assert_int_eq(destroyed_of(&b), 0);
    long before = calls_of(&b);
    use_model(m, x);
    ck_assert_int_gt(calls_of(&b), before);
    TU_OK(ham_model_set_lagrangian(m, 2, HAM_LAGRANGIAN_TANH, 0.0));
    ck_assert_int_eq(destroyed_of(&b), 1);
    int32_t kind = -1;
    TU_OK(ham_model_get_lagrangian(&kind, NULL, m, 2));
    ck_assert_int_eq(kind, HAM_LAGRANGIAN_TANH);

    /* replaced in the original while a clone still uses it: released by the clone */
    set_lag(m, 1, &c);
    ham_model_t *cl = NULL;
    TU_OK(ham_model_clone(&cl, m));
    TU_OK(ham_model_set_lagrangian(m, 1, HAM_LAGRANGIAN_SIGMOID, 0.0));
    ck_assert_int_eq(destroyed_of(&c), 0);
    before = calls_of(&c);
    use_model(cl, x);
    ck_assert_int_gt(calls_of(&c), before);
    set_lag(cl, 1, &a); /* replaced in the clone too: the last holder lets go */
    ck_assert_int_eq(destroyed_of(&c), 1);
    ck_assert_int_eq(destroyed_of(&a), 1); /* the new one belongs to cl */
    ham_model_free(cl);
    ck_assert_int_eq(destroyed_of(&a), 2); /* the second handover of a's tally */

    /* a failed built-in replacement keeps the custom one and its user data */
    tally_t d;
    tally_init(&d);
    set_lag(m, 2, &d);
    TU_RC(HAM_ERR_UNKNOWN_LAGRANGIAN, ham_model_set_lagrangian(m, 2, 77, 0.0));
    TU_RC(HAM_ERR_INVALID, ham_model_set_lagrangian(m, 2, HAM_LAGRANGIAN_SOFTMAX, -1.0));
    TU_RC(HAM_ERR_INVALID, ham_model_set_lagrangian(m, 3, HAM_LAGRANGIAN_TANH, 0.0));
    ck_assert_int_eq(destroyed_of(&d), 0);
    TU_OK(ham_model_get_lagrangian(&kind, NULL, m, 2));
    ck_assert_int_eq(kind, HAM_LAGRANGIAN_CUSTOM);
    ham_model_free(m);
    ck_assert_int_eq(destroyed_of(&d), 1);
    ck_assert_int_eq(destroyed_of(&a), 2);
    ck_assert_int_eq(destroyed_of(&b), 1);
    ck_assert_int_eq(destroyed_of(&c), 1);
}
END_TEST

/* A registration that fails takes nothing: no destroy, the user data is still the
 * caller's (freed here by hand: a leak otherwise), the layer keeps its Lagrangian and
 * that one's user data. */
START_TEST(test_lagrangian_failed_registration)
{
    tally_t kept, t;
    tally_init(&kept);
    tally_init(&t);
    ham_model_t *m = model_new();
    set_lag(m, 2, &kept);
    lag_user_t *u = lag_user_new(&t);
    ham_lagrangian_def_t d = lag_def(u), e;

    TU_RC(HAM_ERR_NULL, ham_model_set_custom_lagrangian(NULL, 2, &d));
    TU_RC(HAM_ERR_INVALID, ham_model_set_custom_lagrangian(m, 3, &d));
    TU_RC(HAM_ERR_INVALID, ham_model_set_custom_lagrangian(m, -1, &d));
    e = d;
    e.flags = 2;
    TU_RC(HAM_ERR_INVALID, ham_model_set_custom_lagrangian(m, 2, &e));
    e = d;
    e.hvp = NULL;
    TU_RC(HAM_ERR_NULL, ham_model_set_custom_lagrangian(m, 2, &e));
    e = d;
    e.size = (uint32_t)offsetof(ham_lagrangian_def_t, destroy); /* a header without it */
    TU_RC(HAM_ERR_STRUCT_SIZE, ham_model_set_custom_lagrangian(m, 2, &e));
    union {
        ham_lagrangian_def_t def;
        unsigned char bytes[sizeof(ham_lagrangian_def_t) + 8];
    } big;
    memset(&big, 0, sizeof big);
    big.def = d;
    big.def.size = sizeof big.bytes;
    big.bytes[sizeof(ham_lagrangian_def_t) + 2] = 1;
    TU_RC(HAM_ERR_STRUCT_SIZE, ham_model_set_custom_lagrangian(m, 2, &big.def));

    ck_assert_int_eq(destroyed_of(&t), 0);
    ck_assert_int_eq(destroyed_of(&kept), 0);
    int32_t kind = -1;
    TU_OK(ham_model_get_lagrangian(&kind, NULL, m, 2));
    ck_assert_int_eq(kind, HAM_LAGRANGIAN_CUSTOM);
    float x[B * N_IN];
    inputs(x, 11);
    long before = calls_of(&kept);
    use_model(m, x);
    ck_assert_int_gt(calls_of(&kept), before);
    ck_assert_int_eq(calls_of(&t), 0);
    ham_model_free(m);
    ck_assert_int_eq(destroyed_of(&kept), 1);
    ck_assert_int_eq(destroyed_of(&t), 0);
    free(u); /* still ours */
}
END_TEST

/* Without destroy the user data is borrowed: nothing is called on it, clones or not. */
START_TEST(test_lagrangian_borrowed)
{
    tally_t t;
    tally_init(&t);
    lag_user_t u = {&t, 0, 0};
    ham_lagrangian_def_t d = lag_def(&u);
    d.destroy = NULL;
    ham_model_t *m = model_new(), *c = NULL;
    TU_OK(ham_model_set_custom_lagrangian(m, 2, &d));
    TU_OK(ham_model_clone(&c, m));
    TU_OK(ham_model_set_custom_lagrangian(m, 2, &d));
    TU_OK(ham_model_set_lagrangian(c, 2, HAM_LAGRANGIAN_IDENTITY, 0.0));
    ham_model_free(m);
    ham_model_free(c);
    ck_assert_int_eq(destroyed_of(&t), 0);
}
END_TEST

/* The last free may come from a solver or a trainer: the models' user data goes then. */
START_TEST(test_lagrangian_released_by_handles)
{
    float x[B * N_IN];
    inputs(x, 13);
    tally_t t;
    tally_init(&t);
    ham_model_t *m = model_new();
    set_lag(m, 2, &t);
    ham_solver_t *sv = NULL;
    ham_trainer_t *tr = NULL;
    TU_OK(ham_solver_new(&sv, m, HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD));
    TU_OK(ham_trainer_new(&tr, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD));
    ham_model_free(m);
    use_trainer(tr, NULL, x);
    ham_trainer_free(tr);
    ck_assert_int_eq(destroyed_of(&t), 0);
    float full[B * SYNC_DIM];
    TU_OK(ham_solver_solve(sv, full, B, x));
    ham_solver_free(sv);
    ck_assert_int_eq(destroyed_of(&t), 1);
}
END_TEST

/* ------------------------------------------------ custom solver user data */

START_TEST(test_solver_destroy)
{
    float x[B * N_IN];
    inputs(x, 17);
    ham_model_t *m = model_new();

    /* destroyed once by ham_solver_free, after the backend's state is finalised */
    tally_t t;
    tally_init(&t);
    ham_solver_def_t d = sol_def(&t);
    ham_solver_t *sv = NULL;
    TU_OK(ham_solver_new_custom(&sv, m, HAM_OPERATOR_SYNC, &d));
    d.destroy = NULL; /* copied on registration */
    use_custom(sv, x);
    use_custom(sv, x);
    ck_assert_int_eq(live_of(&t), 1);
    ck_assert_int_eq(destroyed_of(&t), 0);
    ham_solver_free(sv);
    ck_assert_int_eq(destroyed_of(&t), 1);
    ck_assert_int_eq(early_of(&t), 0);
    ck_assert_int_eq(live_of(&t), 0);

    /* a solver that never solved has no state; its user data goes all the same */
    tally_t t2;
    tally_init(&t2);
    d = sol_def(&t2);
    TU_OK(ham_solver_new_custom(&sv, m, HAM_OPERATOR_EVEN_ODD, &d));
    ham_solver_free(sv);
    ck_assert_int_eq(destroyed_of(&t2), 1);

    /* without destroy the user data is borrowed */
    tally_t t3;
    tally_init(&t3);
    sol_user_t borrowed = {&t3};
    d = sol_def(&t3);
    free(d.user);
    d.user = &borrowed;
    d.destroy = NULL;
    TU_OK(ham_solver_new_custom(&sv, m, HAM_OPERATOR_SYNC, &d));
    use_custom(sv, x);
    ham_solver_free(sv);
    ck_assert_int_eq(destroyed_of(&t3), 0);
    ck_assert_int_eq(live_of(&t3), 0);
    ham_model_free(m);
}
END_TEST

/* A failing ham_solver_new_custom takes nothing: destroy is not called, the user data
 * is freed here by hand (ASan reports a leak otherwise, a double free if destroyed). */
START_TEST(test_solver_failed_registration)
{
    tally_t t;
    tally_init(&t);
    ham_model_t *m = model_new();
    ham_solver_def_t d = sol_def(&t), e;
    ham_solver_t *sv = (ham_solver_t *)&sv;
    TU_RC(HAM_ERR_NULL, ham_solver_new_custom(&sv, NULL, HAM_OPERATOR_SYNC, &d));
    ck_assert_ptr_null(sv);
    TU_RC(HAM_ERR_NULL, ham_solver_new_custom(NULL, m, HAM_OPERATOR_SYNC, &d));
    TU_RC(HAM_ERR_UNKNOWN_OPERATOR, ham_solver_new_custom(&sv, m, 5, &d));
    e = d;
    e.flags = 1;
    TU_RC(HAM_ERR_INVALID, ham_solver_new_custom(&sv, m, HAM_OPERATOR_SYNC, &e));
    e = d;
    e.fini = NULL;
    TU_RC(HAM_ERR_NULL, ham_solver_new_custom(&sv, m, HAM_OPERATOR_SYNC, &e));
    e = d;
    e.size = (uint32_t)offsetof(ham_solver_def_t, destroy); /* a header without it */
    TU_RC(HAM_ERR_STRUCT_SIZE, ham_solver_new_custom(&sv, m, HAM_OPERATOR_SYNC, &e));
    ck_assert_ptr_null(sv);
    ck_assert_int_eq(destroyed_of(&t), 0);
    ham_model_free(m); /* the failures took no reference to the model either */
    ck_assert_int_eq(destroyed_of(&t), 0);
    free(d.user);
}
END_TEST

/* ------------------------------------------------ callbacks that cannot return a status */

static int stop_on_failure(const ham_iter_info_t *info, void *user)
{
    (void)info;
    return ((const lag_user_t *)user)->failed;
}

/* The documented protocol for a Lagrangian callback that fails: it writes NaN, so the
 * samples end diverged, and it records the failure, so the iteration callback can stop
 * the solve with HAM_ERR_CANCELLED; training reports the NaN as HAM_ERR_NUMERIC. */
START_TEST(test_lagrangian_failure_protocol)
{
    float x[B * N_IN], s[B * N_OUT];
    inputs(x, 19);
    tally_t t;
    tally_init(&t);
    lag_user_t *u = lag_user_new(&t);
    ham_lagrangian_def_t d = lag_def(u);
    ham_model_t *m = model_new();
    TU_OK(ham_model_set_custom_lagrangian(m, 2, &d));
    ham_solver_t *sv = NULL;
    TU_OK(ham_solver_new(&sv, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON));
    solve_eo(s, sv, x);

    u->fail = 1; /* the user data is the test's to use while the model lives */
    TU_OK(ham_solver_solve(sv, s, B, x));
    ham_solve_stats_t st;
    tu_stats(&st, sv);
    ck_assert_int_eq(st.diverged, B);
    ck_assert_int_eq(u->failed, 1);

    TU_OK(ham_solver_set_callback(sv, stop_on_failure, u));
    TU_RC(HAM_ERR_CANCELLED, ham_solver_solve(sv, s, B, x));

    ham_trainer_t *tr = NULL;
    const int32_t labels[B] = {0, 1, 2, 0};
    TU_OK(ham_trainer_new(&tr, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON));
    TU_RC(HAM_ERR_NUMERIC, ham_trainer_step(tr, NULL, NULL, B, x, labels));
    TU_OK(ham_solver_set_callback(ham_trainer_solver(tr), stop_on_failure, u));
    TU_RC(HAM_ERR_CANCELLED, ham_trainer_step(tr, NULL, NULL, B, x, labels));

    u->fail = 0;
    u->failed = 0;
    solve_eo(s, sv, x);
    ham_trainer_free(tr);
    ham_solver_free(sv);
    ham_model_free(m);
    ck_assert_int_eq(destroyed_of(&t), 1);
}
END_TEST

/* ------------------------------------------------ threads */

enum { N_REF_THREADS = 4, REF_ROUNDS = 2000, CLONE_EVERY = 100, SOLVES = 20 };

typedef struct ref_arg {
    ham_model_t *model; /* a reference handed to the thread, dropped by it */
    int errors;
} ref_arg_t;

/* Takes and drops references (and, now and then, a clone sharing the custom Lagrangian's
 * holder) while another thread solves. */
static void *ref_thread(void *p)
{
    ref_arg_t *a = p;
    for (int i = 0; i < REF_ROUNDS; i++) {
        ham_model_t *r = ham_model_ref(a->model);
        if (r != a->model || ham_model_n_layers(r) != 3)
            a->errors++;
        if (i % CLONE_EVERY == 0) {
            ham_model_t *c = NULL;
            if (ham_model_clone(&c, r) != HAM_OK)
                a->errors++;
            ham_model_free(c);
        }
        ham_model_free(r);
    }
    ham_model_free(a->model);
    return NULL;
}

typedef struct solve_arg {
    ham_model_t *model; /* handed over; the solver keeps the model alive after its free */
    const float *x;
    float out[B * N_OUT];
    int errors;
} solve_arg_t;

static void *solve_thread(void *p)
{
    solve_arg_t *a = p;
    ham_solver_t *sv = NULL;
    if (ham_solver_new(&sv, a->model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON) != HAM_OK) {
        a->errors++;
        ham_model_free(a->model);
        return NULL;
    }
    ham_model_free(a->model);
    for (int i = 0; i < SOLVES; i++) {
        float s[B * N_OUT];
        if (ham_solver_solve(sv, s, B, a->x) != HAM_OK)
            a->errors++;
        if (i > 0 && memcmp(s, a->out, sizeof s) != 0)
            a->errors++; /* nobody modifies the model: every solve is the same */
        memcpy(a->out, s, sizeof s);
    }
    ham_solver_free(sv);
    return NULL;
}

/* The main thread hands each thread a reference and drops its own at once, so the
 * model is freed by whichever thread lets go last: exactly once (the Lagrangian's
 * destructor counts it; ASan reports a leak or a double free). */
START_TEST(test_threads_share_a_model)
{
    float x[B * N_IN], ref[B * N_OUT];
    inputs(x, 23);
    tally_t t;
    tally_init(&t);
    ham_model_t *m = model_new();
    set_lag(m, 2, &t);
    ham_solver_t *sv = NULL;
    TU_OK(ham_solver_new(&sv, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON));
    solve_eo(ref, sv, x);
    ham_solver_free(sv);

    ref_arg_t ra[N_REF_THREADS];
    solve_arg_t sa;
    memset(&sa, 0, sizeof sa);
    sa.model = ham_model_ref(m);
    sa.x = x;
    pthread_t th[N_REF_THREADS + 1];
    ck_assert_int_eq(pthread_create(&th[0], NULL, solve_thread, &sa), 0);
    for (int i = 0; i < N_REF_THREADS; i++) {
        ra[i].model = ham_model_ref(m);
        ra[i].errors = 0;
        ck_assert_int_eq(pthread_create(&th[i + 1], NULL, ref_thread, &ra[i]), 0);
    }
    ham_model_free(m); /* the threads hold the rest */
    for (int i = 0; i <= N_REF_THREADS; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    ck_assert_int_eq(sa.errors, 0);
    for (int i = 0; i < N_REF_THREADS; i++)
        ck_assert_int_eq(ra[i].errors, 0);
    ck_assert_msg(memcmp(sa.out, ref, sizeof ref) == 0,
                  "a solve on the thread differs from the one before");
    ck_assert_int_eq(destroyed_of(&t), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lifetime");
    TCase *tc = tu_tcase("lifetime");
    tcase_add_test(tc, test_ref);
    tcase_add_test(tc, test_every_free_order);
    tcase_add_test(tc, test_free_model_first);
    tcase_add_test(tc, test_lagrangian_shared_by_clones);
    tcase_add_test(tc, test_lagrangian_replaced);
    tcase_add_test(tc, test_lagrangian_failed_registration);
    tcase_add_test(tc, test_lagrangian_borrowed);
    tcase_add_test(tc, test_lagrangian_released_by_handles);
    tcase_add_test(tc, test_solver_destroy);
    tcase_add_test(tc, test_solver_failed_registration);
    tcase_add_test(tc, test_lagrangian_failure_protocol);
    tcase_add_test(tc, test_threads_share_a_model);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
