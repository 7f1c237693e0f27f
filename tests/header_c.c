/* The public headers compile as strict C11 (-Wall -Wextra -pedantic -Werror, see
 * tests/meson.build) and are usable: the umbrella header, included twice (guards). */
#include <hamdeq/hamdeq.h>
#include <hamdeq/hamdeq.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
    ham_model_t *m = NULL;
    const int32_t sizes[3] = {4, 3, 2};
    ham_lagrangian_def_t def = {0};
    ham_solver_def_t sdef = {0};
    ham_solve_stats_t st = {0};
    def.size = sizeof def;
    sdef.size = sizeof sdef;
    st.size = sizeof st;
    if (ham_version() != 10000u * HAM_VERSION_MAJOR + 100u * HAM_VERSION_MINOR + HAM_VERSION_PATCH)
        return 1;
    if (strcmp(ham_status_name(HAM_ERR_NULL), "HAM_ERR_NULL") != 0)
        return 1;
    if (ham_model_new(&m, 3, sizes, HAM_MODEL_CLAMPED_INPUT) != HAM_OK)
        return 1;
    int32_t d = 0;
    int rc = ham_model_state_dim(&d, m, HAM_OPERATOR_EVEN_ODD);
    ham_model_free(m);
    if (rc != HAM_OK || d != 2)
        return 1;
    printf("libhamdeq %s from C\n", ham_version_string());
    return 0;
}
