/* Input batches: seeded random pixels, or the first images of an IDX file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "inputs.h"

/* splitmix64: a fixed, portable stream, so "--input random --seed S" is reproducible. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static float *alloc_batch(int32_t batch, int32_t features)
{
    size_t n = (size_t)batch * (size_t)features;
    if (n / (size_t)features != (size_t)batch || n > SIZE_MAX / sizeof(float))
        return NULL;
    return malloc(n * sizeof(float));
}

int cli_inputs_load(float **x, const char *source, int32_t batch, int32_t features,
                    uint64_t seed, char *desc, size_t desclen)
{
    *x = NULL;
    if (strcmp(source, "random") == 0) {
        float *buf = alloc_batch(batch, features);
        if (!buf) {
            cli_error("out of memory for a batch of %d x %d inputs", (int)batch, (int)features);
            return CLI_EXIT_RUNTIME;
        }
        /* A stream distinct from the weights' (same seed, different constant). */
        uint64_t state = seed ^ 0x5851f42d4c957f2dULL;
        size_t n = (size_t)batch * (size_t)features;
        for (size_t i = 0; i < n; i++)
            buf[i] = (float)(splitmix64(&state) >> 40) * (1.0f / 16777216.0f);
        snprintf(desc, desclen, "random uniform [0,1) pixels (seed %llu)",
                 (unsigned long long)seed);
        *x = buf;
        return 0;
    }

    /* an IDX images file, raw or gzip: the library's reader */
    ham_dataset_t *ds = NULL;
    if (ham_dataset_load_idx(&ds, source, NULL, NULL) != HAM_OK) {
        cli_error("%s", ham_last_error());
        return CLI_EXIT_RUNTIME;
    }
    const int64_t count = ham_dataset_count(ds);
    if (ham_dataset_dim(ds) != features) {
        cli_error("%s: images have %d pixels but --layers starts with %d", source,
                  (int)ham_dataset_dim(ds), (int)features);
        ham_dataset_free(ds);
        return CLI_EXIT_USAGE;
    }
    if (count < batch) {
        cli_error("%s holds %lld images, fewer than --batch %d", source, (long long)count,
                  (int)batch);
        ham_dataset_free(ds);
        return CLI_EXIT_USAGE;
    }
    float *buf = alloc_batch(batch, features);
    if (!buf) {
        cli_error("out of memory for a batch of %d x %d inputs", (int)batch, (int)features);
        ham_dataset_free(ds);
        return CLI_EXIT_RUNTIME;
    }
    ham_dataset_get(buf, NULL, ds, 0, batch); /* pixels / 255 */
    ham_dataset_free(ds);
    const char *base = strrchr(source, '/');
    snprintf(desc, desclen, "%s (first %d of %lld images, pixels/255)", base ? base + 1 : source,
             (int)batch, (long long)count);
    *x = buf;
    return 0;
}
