/* The model a subcommand builds from its flags (--layers, --lagrangian, --beta, --seed). */
#ifndef HAMDEQ_TOOLS_MODEL_SPEC_H
#define HAMDEQ_TOOLS_MODEL_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include <hamdeq/hamdeq.h>

#include "cli.h"

/* Largest layer the tool accepts (the library may still refuse a too large block). */
#define CLI_MAX_LAYER_SIZE (1 << 24)

typedef struct cli_model_spec {
    int32_t n_layers;
    int32_t sizes[HAM_MAX_LAYERS];
    int32_t lagrangian[HAM_MAX_LAYERS]; /* ham_lagrangian_kind_t per layer */
    double beta;                        /* softmax inverse temperature */
    uint64_t seed;                      /* Xavier initialisation seed */
} cli_model_spec_t;

/* Parses "784,512,10" and a Lagrangian name or a comma list with one name per layer.
 * Returns 0, or CLI_EXIT_USAGE after printing one error line. */
int cli_model_spec_parse(cli_model_spec_t *spec, const char *layers, const char *lagrangians,
                         double beta, uint64_t seed);

/* The flags, each defined once: --layers N0,N1,.., --lagrangian NAME[,..], --beta B
 * (with the defaults their help states: 784,512,10, shifted-sigmoid, 1). */
cli_opt_t cli_opt_layers(const char **dest);
cli_opt_t cli_opt_lagrangian(const char **dest);
cli_opt_t cli_opt_beta(double *dest);

/* Builds a model with a clamped input layer and Xavier-initialised weights.
 * Returns 0, or an exit code after printing one error line (*model is then NULL). */
int cli_model_build(ham_model_t **model, const cli_model_spec_t *spec);

/* "784-512-10" */
void cli_model_sizes_string(char *buf, size_t len, const cli_model_spec_t *spec);
/* "shifted-sigmoid" when every layer has the same Lagrangian, else the comma list;
 * softmax layers show their beta. */
void cli_model_lagrangians_string(char *buf, size_t len, const cli_model_spec_t *spec);

#endif /* HAMDEQ_TOOLS_MODEL_SPEC_H */
