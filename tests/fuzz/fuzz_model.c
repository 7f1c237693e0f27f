/* Fuzzes the model format (docs/model-format.md) through ham_model_load_buffer.
 *
 * Each input is decoded twice: as it is (the checksum then stops almost every mutation)
 * and with its length field and CRC-32 recomputed, so that mutations reach the field
 * checks and the decoder behind them. For every input that loads:
 *   - saving it to a buffer gives back exactly the bytes it came from (the encoding is
 *     canonical), and so does saving the model reloaded from those bytes;
 *   - one solve with the model's default operator and solver, batch 2 and a bounded
 *     iteration count, returns HAM_OK (or HAM_ERR_NOMEM).
 * Every failure must be HAM_ERR_FORMAT with a one-line message. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <hamdeq/hamdeq.h>

#include "fuzz_util.h"

#define FIXED_HEADER 48

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Encodes m and compares with want[0..n). */
static void expect_encoding(const ham_model_t *m, const uint8_t *want, size_t n,
                            const char *what)
{
    size_t need = 0;
    int rc = ham_model_save_buffer(NULL, &need, m);
    if (rc != HAM_OK)
        fz_fail("%s: size query failed: %s", what, ham_last_error());
    if (need != n)
        fz_fail("%s: the model encodes to %zu bytes, it was loaded from %zu", what, need, n);
    uint8_t *buf = malloc(need);
    if (!buf)
        return;
    size_t got = need;
    rc = ham_model_save_buffer(buf, &got, m);
    if (rc != HAM_OK || got != need)
        fz_fail("%s: save_buffer: %s", what, ham_last_error());
    if (memcmp(buf, want, n) != 0)
        fz_fail("%s: the encoding differs from the bytes the model came from", what);
    free(buf);
}

static void solve_once(const ham_model_t *m)
{
    int32_t op = 0, kind = 0, max_iter = 0;
    double tol = 0;
    if (ham_model_get_defaults(&op, &kind, &tol, &max_iter, m) != HAM_OK)
        fz_fail("get_defaults failed on a loaded model: %s", ham_last_error());
    ham_solver_t *sv = NULL;
    int rc = ham_solver_new(&sv, m, op, kind);
    if (rc == HAM_ERR_NOMEM)
        return;
    if (rc != HAM_OK)
        fz_fail("solver_new(%d, %d) failed on a loaded model: %s", op, kind, ham_last_error());
    if (ham_solver_set_option(sv, HAM_OPT_TOL, tol) != HAM_OK ||
        ham_solver_set_option(sv, HAM_OPT_MAX_ITER, max_iter < 20 ? max_iter : 20) != HAM_OK)
        fz_fail("the model's defaults are not valid solver options: %s", ham_last_error());
    int32_t dim = 0, n0 = ham_model_layer_size(m, 0);
    if (ham_model_state_dim(&dim, m, op) != HAM_OK || dim <= 0)
        fz_fail("state length %d", dim);
    const int32_t batch = 2;
    float *state = calloc((size_t)batch * (size_t)dim, sizeof *state);
    float *x = NULL;
    if (ham_model_has_clamped_input(m)) {
        x = malloc((size_t)batch * (size_t)n0 * sizeof *x);
        if (x)
            for (size_t i = 0; i < (size_t)batch * (size_t)n0; i++)
                x[i] = (float)((i * 37) % 101) / 100.0f;
    }
    if (state && (x || !ham_model_has_clamped_input(m))) {
        rc = ham_solver_solve(sv, state, batch, x);
        fz_check_status(rc, "ham_solver_solve");
        if (rc != HAM_OK && rc != HAM_ERR_NOMEM)
            fz_fail("solve of a loaded model: %s", ham_last_error());
        ham_solve_stats_t st = {.size = sizeof st};
        if (rc == HAM_OK && (ham_solver_get_stats(&st, sv) != HAM_OK || st.samples != batch ||
                             st.converged + st.not_converged + st.diverged != batch))
            fz_fail("inconsistent solve statistics");
    }
    free(state);
    free(x);
    ham_solver_free(sv);
}

static void try_load(const uint8_t *data, size_t size, const char *what)
{
    ham_model_t *m = (ham_model_t *)&m;
    int rc = ham_model_load_buffer(&m, data, size);
    fz_check_status(rc, what);
    if (rc != HAM_OK) {
        if (m != NULL)
            fz_fail("%s: failed load left the model pointer set", what);
        if (rc != HAM_ERR_FORMAT && rc != HAM_ERR_NOMEM)
            fz_fail("%s: %s (%s), expected HAM_ERR_FORMAT", what, ham_status_name(rc),
                    ham_last_error());
        return;
    }
    fz_loaded++;
    expect_encoding(m, data, size, what);
    /* the saved bytes load again, to a model that saves to them once more */
    ham_model_t *again = NULL;
    if (ham_model_load_buffer(&again, data, size) != HAM_OK)
        fz_fail("%s: the same bytes do not load twice", what);
    expect_encoding(again, data, size, "reloaded");
    ham_model_free(again);
    solve_once(m);
    ham_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_load(size ? data : NULL, size, "as given");
    if (size < FIXED_HEADER + 4)
        return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed)
        return 0;
    memcpy(fixed, data, size);
    put_le64(fixed + 16, size);
    uLong crc = crc32(crc32(0L, Z_NULL, 0), fixed, (uInt)(size - 4));
    for (int i = 0; i < 4; i++)
        fixed[size - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    try_load(fixed, size, "length and CRC fixed");
    free(fixed);
    return 0;
}
