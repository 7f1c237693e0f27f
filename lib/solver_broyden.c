#include "hamdeq_private.h"
const hamp_solver_ops_t hamp_solver_broyden = {"broyden", NULL, NULL, NULL, NULL, NULL, NULL};
