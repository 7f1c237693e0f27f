/* Does a sample's forward solve depend on the other samples of its batch? (issue 13,
 * docs/distributed.md "Equivalence"; run by bench/mpi_equivalence.sh.)
 *   shard_rows MODEL DATA_DIR [FIXED]
 * Solves the first 64 training samples as one batch, then the first n alone for shard
 * sizes n of hamdeq-mpi (32: 2 ranks; 21, 22: 3 ranks; ...), with the model's operator,
 * Anderson, tolerance 1e-4 (or FIXED=1: 40 iterations), and prints for each n which rows
 * differ bitwise from the same rows in the batch of 64, the largest difference, and how
 * many iteration counts differ. The convergence test is per sample, so any difference
 * comes from the products of a row, whose last bits depend on where the row falls in the
 * BLAS kernel's blocking of the batch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hamdeq/hamdeq.h>

enum { B = 64 };

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: shard_rows MODEL DATA_DIR [FIXED]\n");
        return 2;
    }
    int fixed = argc > 3 && atoi(argv[3]) != 0;
    ham_model_t *m = NULL;
    ham_dataset_t *ds = NULL;
    ham_solver_t *sv = NULL;
    int32_t dim = 0, n0 = 0;
    if (ham_model_load(&m, argv[1]) != HAM_OK ||
        ham_dataset_load_dir(&ds, argv[2], "train", NULL) != HAM_OK ||
        ham_model_state_dim(&dim, m, HAM_OPERATOR_EVEN_ODD) != HAM_OK ||
        ham_solver_new(&sv, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON) != HAM_OK ||
        ham_solver_set_option(sv, HAM_OPT_TOL, 1e-4) != HAM_OK ||
        ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 40) != HAM_OK ||
        ham_solver_set_option(sv, HAM_OPT_FIXED_ITERS, fixed) != HAM_OK) {
        fprintf(stderr, "shard_rows: %s\n", ham_last_error());
        return 1;
    }
    n0 = ham_model_layer_size(m, 0);
    float *x = malloc((size_t)B * n0 * sizeof(float));
    float *all = malloc((size_t)B * dim * sizeof(float));
    float *part = malloc((size_t)B * dim * sizeof(float));
    int32_t labels[B], it_all[B], it_part[B];
    if (!x || !all || !part || ham_dataset_get(x, labels, ds, 0, B) != HAM_OK ||
        ham_solver_solve(sv, all, B, x) != HAM_OK ||
        ham_solver_get_samples(it_all, NULL, NULL, sv, B) != HAM_OK) {
        fprintf(stderr, "shard_rows: %s\n", ham_last_error());
        return 1;
    }
    printf("forward: %s; rows 0..n-1 solved alone vs within the batch of %d\n",
           fixed ? "40 iterations" : "tolerance 1e-4", B);
    static const int sizes[] = {1, 8, 16, 21, 22, 32, 48, 56, 63};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int n = sizes[k], differ = 0, iters = 0, first = -1, last = -1;
        double worst = 0.0;
        if (ham_solver_solve(sv, part, n, x) != HAM_OK ||
            ham_solver_get_samples(it_part, NULL, NULL, sv, n) != HAM_OK) {
            fprintf(stderr, "shard_rows: %s\n", ham_last_error());
            return 1;
        }
        for (int r = 0; r < n; r++) {
            const float *a = all + (size_t)r * dim, *b = part + (size_t)r * dim;
            if (memcmp(a, b, (size_t)dim * sizeof(float)) != 0) {
                differ++;
                first = first < 0 ? r : first;
                last = r;
            }
            for (int32_t i = 0; i < dim; i++)
                worst = fmax(worst, fabs((double)a[i] - (double)b[i]));
            iters += it_all[r] != it_part[r];
        }
        printf("n %2d: %2d rows differ bitwise", n, differ);
        if (differ)
            printf(" (within rows %d..%d)", first, last);
        printf(", max |difference| %.2g, %d iteration counts differ\n", worst, iters);
    }
    free(x);
    free(all);
    free(part);
    ham_solver_free(sv);
    ham_dataset_free(ds);
    ham_model_free(m);
    return 0;
}
