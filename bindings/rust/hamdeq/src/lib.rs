//! Safe Rust bindings of libhamdeq: Hierarchical Associative Memories (HAMs) solved as
//! Deep Equilibrium Models, with even-odd splitting.
//!
//! - [`Model`]: layers, Lagrangians, weights; operators, energy; model files; Modern
//!   Hopfield networks ([`Model::new_mhn`]).
//! - [`Solver`]: fixed-point solvers (Picard, Anderson, Broyden, Newton, or a
//!   [`Backend`] in Rust), with an iteration callback and a convergence test as closures.
//! - [`Trainer`]: training through the fixed point; its solver is borrowed
//!   ([`Trainer::solver_mut`]).
//! - [`Dataset`]: IDX and `.npy` data, copied out as `f32` batches.
//!
//! Kinds, operators, options and statuses are the C library's `i32` constants
//! (`HAM_SOLVER_ANDERSON`, `HAM_OPT_TOL`, ...), re-exported here from [`sys`]. Every
//! fallible call returns [`Result`], whose [`Error`] carries the status, its name and the
//! library's message. Batches are row-major `f32` slices whose lengths are checked before
//! the library sees them; the batch size is inferred from them.
//!
//! # Ownership
//!
//! Each wrapper frees its handle when dropped. Models are reference-counted by the
//! library: solvers and trainers hold their own reference, so any drop order is valid.
//! A model can be modified only through its only handle (see [`Model`]), which is what
//! makes sharing it between threads sound.
//!
//! # Threading (docs/api.md, "Threading")
//!
//! | type | `Send` | `Sync` | why |
//! |---|---|---|---|
//! | [`Model`] | yes | yes | several threads may read one model; the count is atomic; it is modified only through its only handle |
//! | [`Solver`], [`Trainer`] | yes | no | a handle is used by one thread at a time |
//! | [`Dataset`] | yes | yes | read-only after loading |
//!
//! # Callbacks and panics
//!
//! No callback may unwind through the library. Every closure or trait method the library
//! calls ([`Solver::set_iteration_callback`], [`Solver::set_convergence_test`],
//! [`Lagrangian`], [`Backend`], and the drops they trigger) runs under `catch_unwind`; a
//! panic is reported to the library as a failure (the solve is cancelled or aborted, a
//! Lagrangian's output is NaN), and resumed with `resume_unwind` on the same thread when
//! the library call returns.
//!
//! ```
//! use hamdeq::*;
//! use std::ops::ControlFlow;
//!
//! let mut model = Model::new(&[6, 5, 3], HAM_MODEL_CLAMPED_INPUT)?;
//! model.init_xavier(42)?;
//! let mut solver = Solver::new(&model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD)?;
//! // stop after the third iteration
//! solver.set_iteration_callback(|info| {
//!     if info.iteration() >= 2 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
//! })?;
//! let x = [0.5; 6];
//! let mut state = vec![0.0; solver.state_dim()];
//! let err = solver.solve(&mut state, Some(&x)).unwrap_err();
//! assert_eq!(err.status(), HAM_ERR_CANCELLED);
//! # Ok::<(), hamdeq::Error>(())
//! ```
#![warn(missing_docs)]

mod backend;
mod dataset;
mod error;
mod ffi;
mod lagrangian;
mod model;
mod solver;
mod trainer;

pub use hamdeq_sys as sys;
pub use hamdeq_sys::consts::*;

pub use backend::{Backend, Step, StepOutcome};
pub use dataset::{Dataset, LoadOptions};
pub use error::{Error, Result};
pub use lagrangian::Lagrangian;
pub use model::{mhn_beta_s, Defaults, Model};
pub use solver::{
    ConvInfo, IterInfo, Minima, OptionInfo, Samples, SolveStats, Solver, SolverMut, SolverRef,
};
pub use trainer::{StepResult, Trainer};

use std::ffi::CStr;

/// Version of the loaded library, `10000 * major + 100 * minor + patch`
/// (`ham_version`); at least [`HAM_VERSION_NUMBER`], that of the headers these bindings
/// were written for.
pub fn version() -> u32 {
    // SAFETY: no arguments.
    unsafe { sys::ham_version() }
}

/// Version of the loaded library as a string, e.g. `"0.1.0"` (`ham_version_string`).
pub fn version_string() -> &'static str {
    // SAFETY: a static string.
    unsafe { CStr::from_ptr(sys::ham_version_string()) }.to_str().unwrap_or("")
}

fn parse_name(
    name: &str,
    f: unsafe extern "C" fn(*mut i32, *const std::os::raw::c_char) -> std::os::raw::c_int,
) -> Result<i32> {
    let name = ffi::c_string(name, "name")?;
    let mut value = 0;
    // SAFETY: a NUL-terminated string and a valid output.
    ffi::check(unsafe { f(&mut value, name.as_ptr()) })?;
    Ok(value)
}

/// Name of a built-in Lagrangian kind (`"shifted-sigmoid"`, `"tanh"`, ...); `None` for an
/// unknown one.
pub fn lagrangian_name(kind: i32) -> Option<&'static str> {
    // SAFETY: any kind is accepted.
    error::static_name(unsafe { sys::ham_lagrangian_name(kind) })
}

/// Parses a Lagrangian name (`ham_lagrangian_from_name`).
pub fn lagrangian_from_name(name: &str) -> Result<i32> {
    parse_name(name, sys::ham_lagrangian_from_name)
}

/// Name of a built-in solver kind (`"picard"`, `"anderson"`, `"broyden"`, `"newton"`).
pub fn solver_kind_name(kind: i32) -> Option<&'static str> {
    // SAFETY: any kind is accepted.
    error::static_name(unsafe { sys::ham_solver_kind_name(kind) })
}

/// Parses a solver name (`ham_solver_kind_from_name`).
///
/// ```
/// assert_eq!(hamdeq::solver_kind_from_name("anderson")?, hamdeq::HAM_SOLVER_ANDERSON);
/// assert_eq!(hamdeq::solver_kind_name(hamdeq::HAM_SOLVER_NEWTON), Some("newton"));
/// assert_eq!(hamdeq::solver_kind_from_name("nope").unwrap_err().status(),
///            hamdeq::HAM_ERR_UNKNOWN_SOLVER);
/// # Ok::<(), hamdeq::Error>(())
/// ```
pub fn solver_kind_from_name(name: &str) -> Result<i32> {
    parse_name(name, sys::ham_solver_kind_from_name)
}

/// Name of an operator (`"sync"`, `"even-odd"`).
pub fn operator_name(op: i32) -> Option<&'static str> {
    // SAFETY: any value is accepted.
    error::static_name(unsafe { sys::ham_operator_name(op) })
}

/// Parses an operator name (`ham_operator_from_name`).
pub fn operator_from_name(name: &str) -> Result<i32> {
    parse_name(name, sys::ham_operator_from_name)
}

// The quick start of README.md runs as a doc test.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
