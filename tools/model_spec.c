/* Building a model from command-line flags. Shared by every subcommand that makes one. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "model_spec.h"

cli_opt_t cli_opt_layers(const char **dest)
{
    return (cli_opt_t){.name = "layers", .type = CLI_OPT_STRING, .dest = dest,
                       .metavar = "N0,N1,..",
                       .help = "layer sizes, input first (default: 784,512,10)"};
}

cli_opt_t cli_opt_lagrangian(const char **dest)
{
    return (cli_opt_t){
        .name = "lagrangian", .type = CLI_OPT_STRING, .dest = dest, .metavar = "NAME[,..]",
        .help = "Lagrangian, for all layers or one per layer (default: shifted-sigmoid)"};
}

cli_opt_t cli_opt_beta(double *dest)
{
    return (cli_opt_t){.name = "beta", .type = CLI_OPT_DOUBLE, .dest = dest, .metavar = "B",
                       .help = "softmax inverse temperature (default: 1)"};
}

int cli_model_spec_parse(cli_model_spec_t *spec, const char *layers, const char *lagrangians,
                         double beta, uint64_t seed)
{
    char buf[1024];
    char *items[HAM_MAX_LAYERS + 1];
    memset(spec, 0, sizeof *spec);
    spec->beta = beta;
    spec->seed = seed;

    int n = cli_split_list(items, HAM_MAX_LAYERS + 1, buf, sizeof buf, layers);
    if (n < 0) {
        cli_error("--layers: '%s' is not a comma-separated list of layer sizes", layers);
        return CLI_EXIT_USAGE;
    }
    if (n < 2 || n > HAM_MAX_LAYERS) {
        cli_error("--layers: %d layer%s given; a model needs 2 to %d", n, n == 1 ? "" : "s",
                  HAM_MAX_LAYERS);
        return CLI_EXIT_USAGE;
    }
    for (int i = 0; i < n; i++) {
        int64_t v;
        if (cli_parse_int64(&v, items[i]) || v < 1 || v > CLI_MAX_LAYER_SIZE) {
            cli_error("--layers: layer %d size '%s' is not an integer in [1, %d]", i, items[i],
                      CLI_MAX_LAYER_SIZE);
            return CLI_EXIT_USAGE;
        }
        spec->sizes[i] = (int32_t)v;
    }
    spec->n_layers = n;

    int m = cli_split_list(items, HAM_MAX_LAYERS, buf, sizeof buf, lagrangians);
    if (m < 0 || (m != 1 && m != n)) {
        cli_error("--lagrangian: give one name for every layer or a comma list of %d names, "
                  "got '%s'",
                  n, lagrangians);
        return CLI_EXIT_USAGE;
    }
    for (int i = 0; i < n; i++) {
        const char *name = items[m == 1 ? 0 : i];
        int32_t kind;
        if (strcmp(name, "custom") == 0 || ham_lagrangian_from_name(&kind, name) != HAM_OK) {
            cli_error("--lagrangian: unknown Lagrangian '%s' (known: shifted-sigmoid, sigmoid, "
                      "tanh, identity, softmax)",
                      name);
            return CLI_EXIT_USAGE;
        }
        spec->lagrangian[i] = kind;
    }
    return 0;
}

int cli_model_build(ham_model_t **model, const cli_model_spec_t *spec)
{
    ham_model_t *m = NULL;
    char sizes[512];
    *model = NULL;
    cli_model_sizes_string(sizes, sizeof sizes, spec);
    /* Refuse what cannot fit rather than let the first write to the weights kill us. */
    double bytes = 0;
    for (int32_t l = 0; l + 1 < spec->n_layers; l++)
        bytes += (double)spec->sizes[l] * (double)spec->sizes[l + 1] * sizeof(float);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0 && bytes > (double)pages * (double)page) {
        cli_error("a %s model needs %.1f GiB of weights, more than this machine's %.1f GiB",
                  sizes, bytes / 1073741824.0, (double)pages * (double)page / 1073741824.0);
        return CLI_EXIT_USAGE;
    }
    int rc = ham_model_new(&m, spec->n_layers, spec->sizes, HAM_MODEL_CLAMPED_INPUT);
    if (rc != HAM_OK) {
        cli_error("cannot create a %s model: %s%s", sizes, ham_strerror(rc),
                  rc == HAM_ERR_INVALID ? " (a weight block over 2^31 floats?)" : "");
        return rc == HAM_ERR_INVALID ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
    }
    for (int32_t l = 0; l < spec->n_layers; l++) {
        rc = ham_model_set_lagrangian(m, l, spec->lagrangian[l], spec->beta);
        if (rc != HAM_OK) {
            cli_error("layer %d: %s", (int)l, *ham_last_error() ? ham_last_error()
                                                                     : ham_strerror(rc));
            ham_model_free(m);
            return rc == HAM_ERR_INVALID ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
        }
    }
    rc = ham_model_init_xavier(m, spec->seed);
    if (rc != HAM_OK) {
        cli_error("initialising the weights: %s: %s", ham_strerror(rc), ham_last_error());
        ham_model_free(m);
        return CLI_EXIT_RUNTIME;
    }
    *model = m;
    return 0;
}

void cli_model_sizes_string(char *buf, size_t len, const cli_model_spec_t *spec)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int32_t l = 0; l < spec->n_layers && at < len; l++) {
        int k = snprintf(buf + at, len - at, "%s%d", l ? "-" : "", (int)spec->sizes[l]);
        if (k < 0)
            break;
        at += (size_t)k;
    }
}

static int lagrangian_name(char *buf, size_t len, const cli_model_spec_t *spec, int32_t l)
{
    const char *name = ham_lagrangian_name(spec->lagrangian[l]);
    if (spec->lagrangian[l] == HAM_LAGRANGIAN_SOFTMAX)
        return snprintf(buf, len, "%s(beta=%g)", name, spec->beta);
    return snprintf(buf, len, "%s", name ? name : "?");
}

void cli_model_lagrangians_string(char *buf, size_t len, const cli_model_spec_t *spec)
{
    int same = 1;
    for (int32_t l = 1; l < spec->n_layers; l++)
        same = same && spec->lagrangian[l] == spec->lagrangian[0];
    buf[0] = '\0';
    if (same) {
        lagrangian_name(buf, len, spec, 0);
        return;
    }
    size_t at = 0;
    for (int32_t l = 0; l < spec->n_layers && at < len; l++) {
        if (l) {
            int k = snprintf(buf + at, len - at, ",");
            if (k < 0)
                break;
            at += (size_t)k;
            if (at >= len)
                break;
        }
        int k = lagrangian_name(buf + at, len - at, spec, l);
        if (k < 0)
            break;
        at += (size_t)k;
    }
}
