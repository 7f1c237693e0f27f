#include "hamdeq_private.h"
const hamp_solver_ops_t hamp_solver_newton = {"newton", NULL, NULL, NULL, NULL, NULL, NULL};
