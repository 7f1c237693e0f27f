/* The named operator x solver combinations of the paper's Table 1 (docs/cli.md), and the
 * one builder of the lists of operator x solver pairs a command runs. */
#ifndef HAMDEQ_TOOLS_VARIANTS_H
#define HAMDEQ_TOOLS_VARIANTS_H

#include <stddef.h>
#include <stdint.h>

typedef struct cli_variant {
    const char *name;   /* "ham-eo-deq" */
    const char *label;  /* "HAM-EO-DEQ", as the paper writes it */
    int32_t op;         /* ham_operator_t */
    int32_t kind;       /* ham_solver_kind_t */
    double paper_iters; /* Table 1: mean iterations to 1e-4, or < 0 when not in the paper */
    double paper_acc;   /* Table 1: MNIST test accuracy in %, or < 0 */
} cli_variant_t;

#define CLI_N_VARIANTS 5
extern const cli_variant_t cli_variants[CLI_N_VARIANTS];

/* Names of every variant, comma-separated (for messages). */
#define CLI_VARIANT_NAMES "ham, ham-deq, ham-eo, ham-eo-deq, ham-eo-newton"

/* The variant with this name, or NULL. */
const cli_variant_t *cli_variant_find(const char *name);

/* The variant of an operator x solver pair, or NULL. */
const cli_variant_t *cli_variant_of(int32_t op, int32_t kind);

/* The variant's name, or "<operator>+<solver>" for a pair that has none. */
void cli_variant_name(char *buf, size_t len, int32_t op, int32_t kind);

/* Every operator x solver combination fits. */
#define CLI_MAX_PAIRS 8

typedef struct cli_pair {
    int32_t op, kind;
} cli_pair_t;

/* The operator x solver pairs a command runs, each once, in the order added: --variants
 * (bench), --operators x --solvers (solve), a model's pair and then every variant
 * (train and eval --compare). Start from {0}; --variants fills one (CLI_OPT_VARIANTS). */
typedef struct cli_variant_list {
    int n;
    cli_pair_t pair[CLI_MAX_PAIRS];
} cli_variant_list_t;

/* Appends the pair unless the list holds it already (or is full). */
void cli_variant_list_add(cli_variant_list_t *list, int32_t op, int32_t kind);

/* Appends every variant of cli_variants, in the table's order. */
void cli_variant_list_add_all(cli_variant_list_t *list);

#endif /* HAMDEQ_TOOLS_VARIANTS_H */
