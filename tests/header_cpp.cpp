// The public headers compile as C++ (-Wall -Wextra -pedantic -Werror, see
// tests/meson.build), declare C linkage, and link against the C library.
#include <hamdeq/hamdeq.h>

#include <cstdio>
#include <cstring>

int main()
{
    ham_model_t *m = nullptr;
    const int32_t sizes[3] = {4, 3, 2};
    if (ham_model_new(&m, 3, sizes, HAM_MODEL_CLAMPED_INPUT) != HAM_OK)
        return 1;
    ham_solver_t *sv = nullptr;
    if (ham_solver_new(&sv, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD) != HAM_OK)
        return 1;
    const float x[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    float s[2] = {0.0f, 0.0f};
    int rc = ham_solver_solve(sv, s, 1, x);
    ham_solve_stats_t st;
    std::memset(&st, 0, sizeof st);
    st.size = sizeof st;
    if (rc == HAM_OK)
        rc = ham_solver_get_stats(&st, sv);
    ham_solver_free(sv);
    ham_model_free(m);
    if (rc != HAM_OK || st.samples != 1 || st.converged != 1)
        return 1;
    std::printf("libhamdeq %s from C++: %s\n", ham_version_string(), ham_strerror(HAM_OK));
    return 0;
}
