/* The paper's variants: HAM (synchronous F, Picard), HAM-DEQ (F, Anderson), HAM-EO
 * (even-odd G, Picard), HAM-EO-DEQ (G, Anderson), and ours, HAM-EO-Newton (G, Newton). */
#include <stdio.h>
#include <string.h>

#include <hamdeq/hamdeq.h>

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

void cli_variant_list_add(cli_variant_list_t *list, int32_t op, int32_t kind)
{
    for (int i = 0; i < list->n; i++)
        if (list->pair[i].op == op && list->pair[i].kind == kind)
            return;
    if (list->n < CLI_MAX_PAIRS)
        list->pair[list->n++] = (cli_pair_t){op, kind};
}

void cli_variant_list_add_all(cli_variant_list_t *list)
{
    for (int i = 0; i < CLI_N_VARIANTS; i++)
        cli_variant_list_add(list, cli_variants[i].op, cli_variants[i].kind);
}
