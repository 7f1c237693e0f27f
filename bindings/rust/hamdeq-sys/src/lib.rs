//! Raw declarations of the C API of libhamdeq 0.1 (`<hamdeq/hamdeq.h>`).
//!
//! Everything here mirrors the C headers one for one: the functions exported by
//! `lib/hamdeq.map`, the size-prefixed structs as `#[repr(C)]` structs, the opaque handles
//! as opaque types, and the enum values and macros as constants of the C types (`i32`
//! for kinds, operators, options and statuses, as the functions take them). There are no
//! Rust enums: a value from a newer library is still representable. The tests of this
//! crate compare every declaration with the headers and every struct layout and constant
//! with what a C compiler makes of them.
//!
//! For a safe interface use the `hamdeq` crate. The rules of the C API (status codes,
//! `ham_last_error()`, ownership, threading, callbacks that must not unwind) are in
//! `docs/api.md` and apply here unchanged.
//!
//! ```
//! use hamdeq_sys::*;
//! let sizes = [4, 3, 2];
//! let mut model: *mut ham_model_t = std::ptr::null_mut();
//! let rc = unsafe { ham_model_new(&mut model, 3, sizes.as_ptr(), HAM_MODEL_CLAMPED_INPUT) };
//! assert_eq!(rc, HAM_OK);
//! let mut dim = 0;
//! assert_eq!(unsafe { ham_model_state_dim(&mut dim, model, HAM_OPERATOR_EVEN_ODD) }, HAM_OK);
//! assert_eq!(dim, 2); // the output layer's parity class: layer 2 only
//! unsafe { ham_model_free(model) };
//! ```
#![no_std]
#![allow(non_camel_case_types)]

use core::ffi::{c_char, c_int, c_void};
use core::marker::{PhantomData, PhantomPinned};

pub mod consts;
pub use consts::*;

macro_rules! opaque {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[repr(C)]
        pub struct $name {
            _data: [u8; 0],
            _marker: PhantomData<(*mut u8, PhantomPinned)>,
        }
    )*};
}

opaque! {
    /// Opaque model handle (`ham_model_t`), reference-counted.
    ham_model_t;
    /// Opaque solver handle (`ham_solver_t`).
    ham_solver_t;
    /// Opaque trainer handle (`ham_trainer_t`).
    ham_trainer_t;
    /// Opaque dataset handle (`ham_dataset_t`).
    ham_dataset_t;
    /// Context handed to a custom backend's `step` (`ham_step_t`), valid during that call.
    ham_step_t;
}

/// A user-defined Lagrangian (`ham_lagrangian_def_t`), size-prefixed: zero it and set
/// `size = size_of::<ham_lagrangian_def_t>()`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ham_lagrangian_def_t {
    pub size: u32,
    pub flags: u32,
    pub name: *const c_char,
    pub value: Option<unsafe extern "C" fn(s: *const f32, n: i32, user: *mut c_void) -> f64>,
    pub activation:
        Option<unsafe extern "C" fn(g: *mut f32, s: *const f32, n: i32, user: *mut c_void)>,
    pub hvp: Option<
        unsafe extern "C" fn(
            out: *mut f32,
            s: *const f32,
            g: *const f32,
            v: *const f32,
            n: i32,
            user: *mut c_void,
        ),
    >,
    pub user: *mut c_void,
    pub destroy: Option<unsafe extern "C" fn(user: *mut c_void)>,
}

/// Summary of the last solve (`ham_solve_stats_t`), size-prefixed.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ham_solve_stats_t {
    pub size: u32,
    pub samples: i32,
    pub converged: i32,
    pub not_converged: i32,
    pub diverged: i32,
    pub iters_max: i32,
    pub iters_mean: f64,
    pub evaluations: i64,
    pub jacobian_products: i64,
    /// samples with `HAM_SAMPLE_UNSTABLE` (added in 0.1)
    pub unstable: i32,
    /// accelerated steps the attractor-safe mode refused (added in 0.1)
    pub rejected_steps: i32,
}

/// What the per-iteration callback sees (`ham_iter_info_t`), size-prefixed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ham_iter_info_t {
    pub size: u32,
    pub iteration: i32,
    pub active: i32,
    pub sample: *const i32,
    pub residual: *const f64,
    pub iterations: *const i32,
    pub dim: i32,
    pub state: *const f32,
    pub output: *const f32,
}

/// The per-iteration callback (`ham_iter_callback_t`): non-zero stops the solve.
pub type ham_iter_callback_t =
    Option<unsafe extern "C" fn(info: *const ham_iter_info_t, user: *mut c_void) -> c_int>;

/// What a convergence test sees (`ham_conv_info_t`), size-prefixed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ham_conv_info_t {
    pub size: u32,
    pub sample: i32,
    pub iterations: i32,
    pub dim: i32,
    pub state: *const f32,
    pub output: *const f32,
    pub residual_norm: f64,
    pub output_norm: f64,
    pub tol: f64,
    pub atol: f64,
}

/// A convergence test (`ham_conv_test_t`): 1 converged, 0 go on, negative aborts.
pub type ham_conv_test_t =
    Option<unsafe extern "C" fn(info: *const ham_conv_info_t, user: *mut c_void) -> c_int>;

/// A gradient reduction across processes (`ham_reduce_fn`): sums `grad[0 .. len)` and
/// `counts[0 .. n_counts)` in place over every process and returns 0; anything else fails
/// the step with `HAM_ERR_CALLBACK`. `grad` is NULL and `len` 0 in the first call of a
/// step.
pub type ham_reduce_fn = Option<
    unsafe extern "C" fn(
        grad: *mut f32,
        len: usize,
        counts: *mut f64,
        n_counts: i32,
        user: *mut c_void,
    ) -> c_int,
>;

/// A user-defined solver backend (`ham_solver_def_t`), size-prefixed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ham_solver_def_t {
    pub size: u32,
    pub flags: u32,
    pub name: *const c_char,
    pub init: Option<
        unsafe extern "C" fn(
            state: *mut *mut c_void,
            dim: i32,
            max_rows: i32,
            user: *mut c_void,
        ) -> c_int,
    >,
    pub fini: Option<unsafe extern "C" fn(state: *mut c_void, user: *mut c_void)>,
    pub reset:
        Option<unsafe extern "C" fn(state: *mut c_void, rows: i32, user: *mut c_void) -> c_int>,
    pub step: Option<
        unsafe extern "C" fn(
            state: *mut c_void,
            step: *mut ham_step_t,
            s: *mut f32,
            gs: *mut f32,
            rows: i32,
            user: *mut c_void,
        ) -> c_int,
    >,
    pub compact: Option<
        unsafe extern "C" fn(state: *mut c_void, keep: *const i32, n_keep: i32, user: *mut c_void),
    >,
    pub user: *mut c_void,
    pub destroy: Option<unsafe extern "C" fn(user: *mut c_void)>,
}

/// Options of the dataset loaders (`ham_load_options_t`), size-prefixed.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ham_load_options_t {
    pub size: u32,
    pub flags: u32,
    pub max_bytes: u64,
}

/// What `ham_mhn_find_minima` found (`ham_mhn_minima_t`), size-prefixed.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ham_mhn_minima_t {
    pub size: u32,
    pub starts: i32,
    pub converged: i32,
    pub minima: i32,
    pub saddles: i32,
    pub mean_attractor: i32,
    pub mean_basin: i32,
    pub iters_max: i32,
    pub iters_mean: f64,
}

// common.h
extern "C" {
    pub fn ham_strerror(status: c_int) -> *const c_char;
    pub fn ham_status_name(status: c_int) -> *const c_char;
    pub fn ham_last_error() -> *const c_char;
    pub fn ham_version() -> u32;
    pub fn ham_version_string() -> *const c_char;
}

// lagrangian.h
extern "C" {
    pub fn ham_lagrangian_name(kind: i32) -> *const c_char;
    pub fn ham_lagrangian_from_name(kind: *mut i32, name: *const c_char) -> c_int;
}

// model.h
extern "C" {
    pub fn ham_model_new(
        model: *mut *mut ham_model_t,
        n_layers: i32,
        sizes: *const i32,
        flags: u32,
    ) -> c_int;
    pub fn ham_model_ref(model: *mut ham_model_t) -> *mut ham_model_t;
    pub fn ham_model_free(model: *mut ham_model_t);
    pub fn ham_model_clone(out: *mut *mut ham_model_t, model: *const ham_model_t) -> c_int;
    pub fn ham_model_n_layers(model: *const ham_model_t) -> i32;
    pub fn ham_model_layer_size(model: *const ham_model_t, layer: i32) -> i32;
    pub fn ham_model_has_clamped_input(model: *const ham_model_t) -> i32;
    pub fn ham_model_set_lagrangian(
        model: *mut ham_model_t,
        layer: i32,
        kind: i32,
        param: f64,
    ) -> c_int;
    pub fn ham_model_set_custom_lagrangian(
        model: *mut ham_model_t,
        layer: i32,
        def: *const ham_lagrangian_def_t,
    ) -> c_int;
    pub fn ham_model_get_lagrangian(
        kind: *mut i32,
        param: *mut f64,
        model: *const ham_model_t,
        layer: i32,
    ) -> c_int;
    pub fn ham_model_init_xavier(model: *mut ham_model_t, seed: u64) -> c_int;
    pub fn ham_model_get_weights(
        out: *mut f32,
        model: *const ham_model_t,
        block: i32,
        count: usize,
    ) -> c_int;
    pub fn ham_model_set_weights(
        model: *mut ham_model_t,
        block: i32,
        w: *const f32,
        count: usize,
    ) -> c_int;
    pub fn ham_model_get_bias(
        out: *mut f32,
        model: *const ham_model_t,
        layer: i32,
        count: usize,
    ) -> c_int;
    pub fn ham_model_set_bias(
        model: *mut ham_model_t,
        layer: i32,
        b: *const f32,
        count: usize,
    ) -> c_int;
    pub fn ham_model_state_dim(dim: *mut i32, model: *const ham_model_t, op: i32) -> c_int;
    pub fn ham_model_state_offset(
        offset: *mut i32,
        model: *const ham_model_t,
        op: i32,
        layer: i32,
    ) -> c_int;
    pub fn ham_model_apply(
        out: *mut f32,
        model: *const ham_model_t,
        op: i32,
        batch: i32,
        x: *const f32,
        s: *const f32,
    ) -> c_int;
    pub fn ham_model_jvp(
        out: *mut f32,
        model: *const ham_model_t,
        op: i32,
        batch: i32,
        x: *const f32,
        s: *const f32,
        v: *const f32,
    ) -> c_int;
    pub fn ham_model_vjp(
        out: *mut f32,
        model: *const ham_model_t,
        op: i32,
        batch: i32,
        x: *const f32,
        s: *const f32,
        v: *const f32,
    ) -> c_int;
    pub fn ham_model_energy(
        energy: *mut f64,
        model: *const ham_model_t,
        batch: i32,
        x: *const f32,
        full: *const f32,
    ) -> c_int;
    pub fn ham_model_eo_to_full(
        full: *mut f32,
        model: *const ham_model_t,
        batch: i32,
        x: *const f32,
        eo: *const f32,
    ) -> c_int;
    pub fn ham_model_full_to_eo(
        eo: *mut f32,
        model: *const ham_model_t,
        batch: i32,
        full: *const f32,
    ) -> c_int;
    pub fn ham_model_set_defaults(
        model: *mut ham_model_t,
        op: i32,
        solver: i32,
        tol: f64,
        max_iter: i32,
    ) -> c_int;
    pub fn ham_model_get_defaults(
        op: *mut i32,
        solver: *mut i32,
        tol: *mut f64,
        max_iter: *mut i32,
        model: *const ham_model_t,
    ) -> c_int;
    pub fn ham_model_save(model: *const ham_model_t, path: *const c_char) -> c_int;
    pub fn ham_model_load(model: *mut *mut ham_model_t, path: *const c_char) -> c_int;
    pub fn ham_model_save_buffer(
        buf: *mut c_void,
        size: *mut usize,
        model: *const ham_model_t,
    ) -> c_int;
    pub fn ham_model_load_buffer(
        model: *mut *mut ham_model_t,
        buf: *const c_void,
        size: usize,
    ) -> c_int;
}

// solver.h
extern "C" {
    pub fn ham_step_apply(step: *mut ham_step_t, out: *mut f32, s: *const f32) -> c_int;
    pub fn ham_step_rows(step: *const ham_step_t) -> i32;
    pub fn ham_step_dim(step: *const ham_step_t) -> i32;
    pub fn ham_solver_new(
        solver: *mut *mut ham_solver_t,
        model: *const ham_model_t,
        op: i32,
        kind: i32,
    ) -> c_int;
    pub fn ham_solver_new_custom(
        solver: *mut *mut ham_solver_t,
        model: *const ham_model_t,
        op: i32,
        def: *const ham_solver_def_t,
    ) -> c_int;
    pub fn ham_solver_free(solver: *mut ham_solver_t);
    pub fn ham_solver_kind_name(kind: i32) -> *const c_char;
    pub fn ham_solver_kind_from_name(kind: *mut i32, name: *const c_char) -> c_int;
    pub fn ham_operator_name(op: i32) -> *const c_char;
    pub fn ham_operator_from_name(op: *mut i32, name: *const c_char) -> c_int;
    pub fn ham_solver_option_info(
        def: *mut f64,
        min: *mut f64,
        max: *mut f64,
        option: i32,
    ) -> c_int;
    pub fn ham_solver_set_option(solver: *mut ham_solver_t, option: i32, value: f64) -> c_int;
    pub fn ham_solver_get_option(
        value: *mut f64,
        solver: *const ham_solver_t,
        option: i32,
    ) -> c_int;
    pub fn ham_solver_set_callback(
        solver: *mut ham_solver_t,
        callback: ham_iter_callback_t,
        user: *mut c_void,
    ) -> c_int;
    pub fn ham_solver_set_conv_test(
        solver: *mut ham_solver_t,
        test: ham_conv_test_t,
        user: *mut c_void,
    ) -> c_int;
    pub fn ham_solver_model(solver: *const ham_solver_t) -> *const ham_model_t;
    pub fn ham_solver_kind(solver: *const ham_solver_t) -> i32;
    pub fn ham_solver_operator(solver: *const ham_solver_t) -> i32;
    pub fn ham_solver_solve(
        solver: *mut ham_solver_t,
        state: *mut f32,
        batch: i32,
        x: *const f32,
    ) -> c_int;
    pub fn ham_solver_get_stats(
        stats: *mut ham_solve_stats_t,
        solver: *const ham_solver_t,
    ) -> c_int;
    pub fn ham_solver_get_samples(
        iterations: *mut i32,
        residual: *mut f64,
        status: *mut i32,
        solver: *const ham_solver_t,
        batch: i32,
    ) -> c_int;
}

// trainer.h
extern "C" {
    pub fn ham_trainer_new(
        trainer: *mut *mut ham_trainer_t,
        model: *mut ham_model_t,
        op: i32,
        kind: i32,
    ) -> c_int;
    pub fn ham_trainer_free(trainer: *mut ham_trainer_t);
    pub fn ham_trainer_solver(trainer: *mut ham_trainer_t) -> *mut ham_solver_t;
    pub fn ham_trainer_option_info(
        def: *mut f64,
        min: *mut f64,
        max: *mut f64,
        option: i32,
    ) -> c_int;
    pub fn ham_trainer_set_option(trainer: *mut ham_trainer_t, option: i32, value: f64) -> c_int;
    pub fn ham_trainer_get_option(
        value: *mut f64,
        trainer: *const ham_trainer_t,
        option: i32,
    ) -> c_int;
    pub fn ham_trainer_gradient(
        trainer: *mut ham_trainer_t,
        loss: *mut f64,
        correct: *mut i32,
        batch: i32,
        x: *const f32,
        labels: *const i32,
    ) -> c_int;
    pub fn ham_trainer_step(
        trainer: *mut ham_trainer_t,
        loss: *mut f64,
        correct: *mut i32,
        batch: i32,
        x: *const f32,
        labels: *const i32,
    ) -> c_int;
    pub fn ham_trainer_get_weight_grad(
        out: *mut f32,
        trainer: *const ham_trainer_t,
        block: i32,
        count: usize,
    ) -> c_int;
    pub fn ham_trainer_get_bias_grad(
        out: *mut f32,
        trainer: *const ham_trainer_t,
        layer: i32,
        count: usize,
    ) -> c_int;
    pub fn ham_trainer_set_reduce(
        trainer: *mut ham_trainer_t,
        fn_: ham_reduce_fn,
        user: *mut c_void,
    ) -> c_int;
    pub fn ham_trainer_backward_stats(
        stats: *mut ham_solve_stats_t,
        trainer: *const ham_trainer_t,
    ) -> c_int;
}

// data.h
extern "C" {
    pub fn ham_dataset_load_idx(
        dataset: *mut *mut ham_dataset_t,
        images: *const c_char,
        labels: *const c_char,
        options: *const ham_load_options_t,
    ) -> c_int;
    pub fn ham_dataset_load_npy(
        dataset: *mut *mut ham_dataset_t,
        samples: *const c_char,
        labels: *const c_char,
        options: *const ham_load_options_t,
    ) -> c_int;
    pub fn ham_dataset_load_dir(
        dataset: *mut *mut ham_dataset_t,
        dir: *const c_char,
        split: *const c_char,
        options: *const ham_load_options_t,
    ) -> c_int;
    pub fn ham_dataset_free(dataset: *mut ham_dataset_t);
    pub fn ham_dataset_count(dataset: *const ham_dataset_t) -> i64;
    pub fn ham_dataset_dim(dataset: *const ham_dataset_t) -> i32;
    pub fn ham_dataset_has_labels(dataset: *const ham_dataset_t) -> i32;
    pub fn ham_dataset_n_classes(dataset: *const ham_dataset_t) -> i32;
    pub fn ham_dataset_get(
        x: *mut f32,
        labels: *mut i32,
        dataset: *const ham_dataset_t,
        first: i64,
        count: i32,
    ) -> c_int;
    pub fn ham_dataset_gather(
        x: *mut f32,
        labels: *mut i32,
        dataset: *const ham_dataset_t,
        indices: *const i64,
        count: i32,
    ) -> c_int;
}

// mhn.h
extern "C" {
    pub fn ham_mhn_new(
        model: *mut *mut ham_model_t,
        patterns: *const f32,
        n_patterns: i32,
        dim: i32,
        beta: f64,
    ) -> c_int;
    pub fn ham_mhn_energy(
        energy: *mut f64,
        model: *const ham_model_t,
        batch: i32,
        v: *const f32,
    ) -> c_int;
    pub fn ham_mhn_beta_s(
        beta_s: *mut f64,
        patterns: *const f32,
        n_patterns: i32,
        dim: i32,
    ) -> c_int;
    pub fn ham_mhn_hessian_min(
        lambda_min: *mut f64,
        model: *const ham_model_t,
        batch: i32,
        v: *const f32,
    ) -> c_int;
    pub fn ham_mhn_find_minima(
        result: *mut ham_mhn_minima_t,
        minima: *mut f32,
        capacity: i32,
        assign: *mut i32,
        solver: *mut ham_solver_t,
        starts: *const f32,
        n_starts: i32,
        cluster_tol: f64,
    ) -> c_int;
}
