/* The paper's variants: HAM (synchronous F, Picard), HAM-DEQ (F, Anderson), HAM-EO
 * (even-odd G, Picard), HAM-EO-DEQ (G, Anderson), and ours, HAM-EO-Newton (G, Newton). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "variants.h"

const cli_variant_t cli_variants[CLI_N_VARIANTS] = {
    {"ham", "HAM", HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD, 8.2, 96.9},
    {"ham-deq", "HAM-DEQ", HAM_OPERATOR_SYNC, HAM_SOLVER_ANDERSON, 6.2, 96.7},
    {"ham-eo", "HAM-EO", HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD, 5.1, 97.2},
    {"ham-eo-deq", "HAM-EO-DEQ", HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON, 4.5, 96.7},
    {"ham-eo-newton", "HAM-EO-Newton", HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_NEWTON, -1, -1},
};

const cli_variant_t *cli_variant_find(const char *name)
{
    for (int i = 0; i < CLI_N_VARIANTS; i++)
        if (strcmp(cli_variants[i].name, name) == 0)
            return &cli_variants[i];
    return NULL;
}

const cli_variant_t *cli_variant_of(int32_t op, int32_t kind)
{
    for (int i = 0; i < CLI_N_VARIANTS; i++)
        if (cli_variants[i].op == op && cli_variants[i].kind == kind)
            return &cli_variants[i];
    return NULL;
}

void cli_variant_name(char *buf, size_t len, int32_t op, int32_t kind)
{
    const cli_variant_t *v = cli_variant_of(op, kind);
    if (v) {
        snprintf(buf, len, "%s", v->name);
        return;
    }
    const char *o = ham_operator_name(op), *k = ham_solver_kind_name(kind);
    snprintf(buf, len, "%s+%s", o ? o : "?", k ? k : "?");
}

const char *cli_variant_names(void)
{
    return "ham, ham-deq, ham-eo, ham-eo-deq, ham-eo-newton";
}

int cli_variant_list(const cli_variant_t **out, int max, const char *flag, const char *list)
{
    if (strcmp(list, "all") == 0) {
        int n = 0;
        for (int i = 0; i < CLI_N_VARIANTS && n < max; i++)
            out[n++] = &cli_variants[i];
        return n;
    }
    char buf[256];
    char *items[16];
    int n = cli_split_list(items, 16, buf, sizeof buf, list);
    if (n < 0) {
        cli_error("--%s: '%s' is not a comma-separated list of variants (known: %s)", flag, list,
                  cli_variant_names());
        return -1;
    }
    int count = 0;
    for (int i = 0; i < n; i++) {
        const cli_variant_t *v = cli_variant_find(items[i]);
        if (!v) {
            cli_error("--%s: unknown variant '%s' (known: %s)", flag, items[i],
                      cli_variant_names());
            return -1;
        }
        int dup = 0;
        for (int j = 0; j < count; j++)
            dup = dup || out[j] == v;
        if (!dup && count < max)
            out[count++] = v;
    }
    return count;
}
