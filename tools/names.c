/* The name types of the option parser: an operator, a solver or a variant, alone or as a
 * comma list. Each lookup and each of its error messages exists here once. */
#include <string.h>

#include "cli.h"
#include "variants.h"

typedef struct name_kind {
    const char *noun;    /* an unknown single name is an "unknown <noun>" */
    const char *item;    /* an unknown list item is an "unknown <item>" */
    const char *list_of; /* " of variants": what a malformed list is not a list of */
    const char *known;   /* every name, for the messages */
    int all;             /* a list may be "all" */
    int (*lookup)(int32_t *value, const char *name); /* 0 when known */
} name_kind_t;

static int lookup_variant(int32_t *index, const char *name)
{
    const cli_variant_t *v = cli_variant_find(name);
    if (!v)
        return -1;
    *index = (int32_t)(v - cli_variants);
    return 0;
}

static const name_kind_t operators = {"operator", "name", "", "sync, even-odd", 0,
                                      ham_operator_from_name};
static const name_kind_t solvers = {"solver", "name", "", "picard, anderson, broyden, newton", 0,
                                    ham_solver_kind_from_name};
static const name_kind_t variants = {"variant", "variant", " of variants", CLI_VARIANT_NAMES, 1,
                                     lookup_variant};

static const name_kind_t *kind_of(cli_opt_type_t type)
{
    switch (type) {
    case CLI_OPT_OPERATOR:
    case CLI_OPT_OPERATORS:
        return &operators;
    case CLI_OPT_SOLVER:
    case CLI_OPT_SOLVERS:
        return &solvers;
    default:
        return &variants;
    }
}

/* Adds one looked-up value to a list option's destination. */
static void add_item(const cli_opt_t *o, int32_t v)
{
    if (o->type == CLI_OPT_VARIANTS) {
        cli_variant_list_add(o->dest, cli_variants[v].op, cli_variants[v].kind);
        return;
    }
    cli_list_t *l = o->dest;
    for (int j = 0; j < l->n; j++)
        if (l->item[j] == v)
            return;
    if (l->n < (int)(sizeof l->item / sizeof l->item[0]))
        l->item[l->n++] = v;
}

static int convert_list(const cli_opt_t *o, const name_kind_t *k, const char *text)
{
    if (o->type == CLI_OPT_VARIANTS)
        ((cli_variant_list_t *)o->dest)->n = 0;
    else
        ((cli_list_t *)o->dest)->n = 0;
    if (k->all && strcmp(text, "all") == 0) {
        for (int32_t i = 0; i < CLI_N_VARIANTS; i++)
            add_item(o, i);
        return 0;
    }
    char buf[256];
    char *items[16];
    int n = cli_split_list(items, 16, buf, sizeof buf, text);
    if (n < 0) {
        cli_error("--%s: '%s' is not a comma-separated list%s (known: %s)", o->name, text,
                  k->list_of, k->known);
        return CLI_EXIT_USAGE;
    }
    for (int i = 0; i < n; i++) {
        int32_t v;
        if (k->lookup(&v, items[i]) != 0) {
            cli_error("--%s: unknown %s '%s' (known: %s)", o->name, k->item, items[i], k->known);
            return CLI_EXIT_USAGE;
        }
        add_item(o, v);
    }
    return 0;
}

int cli_convert_names(const cli_opt_t *o, const char *text)
{
    const name_kind_t *k = kind_of(o->type);
    if (o->type == CLI_OPT_OPERATORS || o->type == CLI_OPT_SOLVERS ||
        o->type == CLI_OPT_VARIANTS)
        return convert_list(o, k, text);
    int32_t v;
    if (k->lookup(&v, text) != 0) {
        cli_error("--%s: unknown %s '%s' (known: %s)", o->name,
                  (o->flags & CLI_SAY_NAME) ? "name" : k->noun, text, k->known);
        return CLI_EXIT_USAGE;
    }
    if (o->type == CLI_OPT_VARIANT)
        *(const cli_variant_t **)o->dest = &cli_variants[v];
    else
        *(int32_t *)o->dest = v;
    return 0;
}
