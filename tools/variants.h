/* The named operator x solver combinations of the paper's Table 1 (docs/cli.md). */
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

/* The variant with this name, or NULL. */
const cli_variant_t *cli_variant_find(const char *name);

/* The variant of an operator x solver pair, or NULL. */
const cli_variant_t *cli_variant_of(int32_t op, int32_t kind);

/* The variant's name, or "<operator>+<solver>" for a pair that has none. */
void cli_variant_name(char *buf, size_t len, int32_t op, int32_t kind);

/* Parses a comma list of variant names ("all" for every one) into out (at most max,
 * duplicates dropped). Returns the count, or -1 after printing one error line. */
int cli_variant_list(const cli_variant_t **out, int max, const char *flag, const char *list);

/* Names of every variant, comma-separated (for messages). */
const char *cli_variant_names(void);

#endif /* HAMDEQ_TOOLS_VARIANTS_H */
