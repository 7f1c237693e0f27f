//! The enum values and macros of the C headers, with the C types the functions take them
//! as: statuses, kinds, operators, options and per-sample statuses are `i32` (`int` /
//! `int32_t` in C), the model flags `u32` (`ham_model_new`'s `uint32_t flags`). Values
//! are pinned by the library's ABI policy; `tests/abi.rs` checks each against the C
//! compiler's.
#![allow(missing_docs)]

// ham_status_t (common.h)
pub const HAM_OK: i32 = 0;
pub const HAM_ERR_NULL: i32 = -1;
pub const HAM_ERR_INVALID: i32 = -2;
pub const HAM_ERR_DIMENSION: i32 = -3;
pub const HAM_ERR_NOMEM: i32 = -4;
pub const HAM_ERR_NONFINITE: i32 = -5;
pub const HAM_ERR_UNKNOWN_LAGRANGIAN: i32 = -6;
pub const HAM_ERR_UNKNOWN_SOLVER: i32 = -7;
pub const HAM_ERR_UNKNOWN_OPERATOR: i32 = -8;
pub const HAM_ERR_UNKNOWN_OPTION: i32 = -9;
pub const HAM_ERR_UNSUPPORTED: i32 = -10;
pub const HAM_ERR_STRUCT_SIZE: i32 = -11;
pub const HAM_ERR_CANCELLED: i32 = -12;
pub const HAM_ERR_NUMERIC: i32 = -13;
pub const HAM_ERR_CALLBACK: i32 = -14;
pub const HAM_ERR_IO: i32 = -15;
pub const HAM_ERR_FORMAT: i32 = -16;

// version.h (generated: the headers the library was built from)
pub const HAM_VERSION_MAJOR: u32 = 0;
pub const HAM_VERSION_MINOR: u32 = 1;
pub const HAM_VERSION_PATCH: u32 = 0;
pub const HAM_VERSION_STRING: &str = "0.1.0";
pub const HAM_VERSION_NUMBER: u32 =
    10000 * HAM_VERSION_MAJOR + 100 * HAM_VERSION_MINOR + HAM_VERSION_PATCH;

// ham_lagrangian_kind_t (lagrangian.h)
pub const HAM_LAGRANGIAN_SHIFTED_SIGMOID: i32 = 0;
pub const HAM_LAGRANGIAN_SIGMOID: i32 = 1;
pub const HAM_LAGRANGIAN_TANH: i32 = 2;
pub const HAM_LAGRANGIAN_IDENTITY: i32 = 3;
pub const HAM_LAGRANGIAN_SOFTMAX: i32 = 4;
pub const HAM_LAGRANGIAN_CUSTOM: i32 = 100;

// model.h
pub const HAM_MAX_LAYERS: i32 = 64;
// ham_model_flags_t
pub const HAM_MODEL_FREE_INPUT: u32 = 0;
pub const HAM_MODEL_CLAMPED_INPUT: u32 = 1;
// ham_operator_t
pub const HAM_OPERATOR_SYNC: i32 = 0;
pub const HAM_OPERATOR_EVEN_ODD: i32 = 1;

// ham_solver_kind_t (solver.h)
pub const HAM_SOLVER_PICARD: i32 = 0;
pub const HAM_SOLVER_ANDERSON: i32 = 1;
pub const HAM_SOLVER_BROYDEN: i32 = 2;
pub const HAM_SOLVER_NEWTON: i32 = 3;
pub const HAM_SOLVER_CUSTOM: i32 = 100;
// ham_option_t
pub const HAM_OPT_TOL: i32 = 0;
pub const HAM_OPT_MAX_ITER: i32 = 1;
pub const HAM_OPT_WARM_START: i32 = 2;
pub const HAM_OPT_DT: i32 = 3;
pub const HAM_OPT_ANDERSON_M: i32 = 4;
pub const HAM_OPT_ANDERSON_BETA: i32 = 5;
pub const HAM_OPT_ANDERSON_LAMBDA: i32 = 6;
pub const HAM_OPT_ANDERSON_SAFEGUARD: i32 = 7;
pub const HAM_OPT_BROYDEN_M: i32 = 8;
pub const HAM_OPT_NEWTON_LINESEARCH: i32 = 9;
pub const HAM_OPT_NEWTON_MAX_DIM: i32 = 10;
pub const HAM_OPT_DIVERGENCE: i32 = 11;
pub const HAM_OPT_NEWTON_KRYLOV_DIM: i32 = 12;
pub const HAM_OPT_NEWTON_FORCING: i32 = 13;
pub const HAM_OPT_FIXED_ITERS: i32 = 14;
pub const HAM_OPT_ATOL: i32 = 15;
pub const HAM_OPT_ATTRACTOR_SAFE: i32 = 16;
pub const HAM_OPT_STABILITY_CHECK: i32 = 17;
pub const HAM_OPT_THREADS: i32 = 18;
// ham_sample_status_t
pub const HAM_SAMPLE_CONVERGED: i32 = 0;
pub const HAM_SAMPLE_MAX_ITER: i32 = 1;
pub const HAM_SAMPLE_DIVERGED: i32 = 2;
pub const HAM_SAMPLE_UNSTABLE: i32 = 3;

// trainer.h
// ham_loss_t
pub const HAM_LOSS_MSE: i32 = 0;
pub const HAM_LOSS_CROSS_ENTROPY: i32 = 1;
// ham_optimizer_t
pub const HAM_OPTIMIZER_SGD: i32 = 0;
pub const HAM_OPTIMIZER_ADAM: i32 = 1;
pub const HAM_OPTIMIZER_MADAM: i32 = 2;
// ham_gradient_t
pub const HAM_GRADIENT_IMPLICIT: i32 = 0;
pub const HAM_GRADIENT_RECURRENT: i32 = 1;
// ham_train_option_t
pub const HAM_TRAIN_LOSS: i32 = 0;
pub const HAM_TRAIN_OPTIMIZER: i32 = 1;
pub const HAM_TRAIN_LR: i32 = 2;
pub const HAM_TRAIN_MOMENTUM: i32 = 3;
pub const HAM_TRAIN_ADAM_BETA1: i32 = 4;
pub const HAM_TRAIN_ADAM_BETA2: i32 = 5;
pub const HAM_TRAIN_ADAM_EPS: i32 = 6;
pub const HAM_TRAIN_MADAM_SCALE: i32 = 7;
pub const HAM_TRAIN_MADAM_GBOUND: i32 = 8;
pub const HAM_TRAIN_MADAM_BIASES: i32 = 9;
pub const HAM_TRAIN_GRADIENT: i32 = 10;
pub const HAM_TRAIN_BACKWARD_SOLVER: i32 = 11;
pub const HAM_TRAIN_BACKWARD_ITERS: i32 = 12;
pub const HAM_TRAIN_BACKWARD_TOL: i32 = 13;
pub const HAM_TRAIN_THREADS: i32 = 14;

// data.h
pub const HAM_LOAD_DEFAULT_MAX_BYTES: u64 = 2147483648;
