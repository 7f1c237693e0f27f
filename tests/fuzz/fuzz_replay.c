/* A main() for the harnesses when they are built as plain programs (without
 * -fsanitize=fuzzer): runs LLVMFuzzerTestOneInput on every file of the directories and
 * files given, in name order, so that `meson test` replays the seed corpora (and any
 * crash reproducer added to them) on every run. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            fprintf(stderr, "%s: out of memory\n", path);
            return -1;
        }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        uint8_t *grown = realloc(buf, cap * 2);
        if (!grown)
            free(buf);
        buf = grown;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        fprintf(stderr, "%s: read error\n", path);
        return -1;
    }
    /* an exact-size copy, so that ASan sees a read past the input's end */
    uint8_t *exact = malloc(n ? n : 1);
    if (exact && n)
        memcpy(exact, buf, n);
    free(buf);
    if (!exact)
        return -1;
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
    int inputs = 0, errors = 0;
    /* the empty input and one zero byte first: every harness must take them */
    static const uint8_t zero[1] = {0};
    LLVMFuzzerTestOneInput(zero, 0);
    LLVMFuzzerTestOneInput(zero, 1);
    for (int a = 1; a < argc; a++) {
        struct stat st;
        if (stat(argv[a], &st) != 0) {
            fprintf(stderr, "%s: %s\n", argv[a], strerror(errno));
            errors++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            errors += run_file(argv[a]) != 0;
            inputs++;
            continue;
        }
        struct dirent **names;
        int k = scandir(argv[a], &names, NULL, by_name);
        if (k < 0) {
            fprintf(stderr, "%s: %s\n", argv[a], strerror(errno));
            errors++;
            continue;
        }
        for (int i = 0; i < k; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[a], names[i]->d_name);
            if (names[i]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                errors += run_file(path) != 0;
                inputs++;
            }
            free(names[i]);
        }
        free(names);
    }
    printf("%s: replayed %d inputs (%ld loaded), %d unreadable\n", argv[0], inputs, fz_loaded,
           errors);
    if (inputs > 0 && fz_loaded == 0) {
        fprintf(stderr, "no input loaded: the corpus no longer reaches past the checks\n");
        return 1;
    }
    return errors || inputs == 0 ? 1 : 0;
}
