//! [`Solver`]: fixed-point solvers for `s = F(s)` or `s = G(s)` on a batch, and the
//! borrowed forms of a trainer's solver ([`SolverMut`], [`SolverRef`]).
use std::fmt;
use std::ops::ControlFlow;
use std::os::raw::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};

use hamdeq_sys as sys;

use crate::error::{Error, Result};
use crate::ffi::{check, record_error, record_panic, rows, slice, to_i32};
use crate::model::Model;

/// Summary of a solve (`ham_solve_stats_t`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct SolveStats {
    /// samples in the solve
    pub samples: i32,
    /// samples that converged ([`HAM_SAMPLE_CONVERGED`](crate::HAM_SAMPLE_CONVERGED))
    pub converged: i32,
    /// samples that hit the iteration limit
    pub not_converged: i32,
    /// samples that diverged
    pub diverged: i32,
    /// largest per-sample iteration count
    pub iters_max: i32,
    /// mean per-sample iteration count (operator evaluations)
    pub iters_mean: f64,
    /// operator evaluations summed over samples
    pub evaluations: i64,
    /// Jacobian-vector products (Newton's extra cost and the stability check's power
    /// iterations)
    pub jacobian_products: i64,
    /// samples that converged to an unstable fixed point
    /// ([`HAM_SAMPLE_UNSTABLE`](crate::HAM_SAMPLE_UNSTABLE), found by
    /// [`HAM_OPT_STABILITY_CHECK`](crate::HAM_OPT_STABILITY_CHECK))
    pub unstable: i32,
    /// accelerated steps the attractor-safe mode
    /// ([`HAM_OPT_ATTRACTOR_SAFE`](crate::HAM_OPT_ATTRACTOR_SAFE)) refused
    pub rejected_steps: i32,
}

impl SolveStats {
    /// True when every sample converged.
    pub fn all_converged(&self) -> bool {
        self.converged == self.samples
    }

    pub(crate) fn from_raw(s: &sys::ham_solve_stats_t) -> SolveStats {
        SolveStats {
            samples: s.samples,
            converged: s.converged,
            not_converged: s.not_converged,
            diverged: s.diverged,
            iters_max: s.iters_max,
            iters_mean: s.iters_mean,
            evaluations: s.evaluations,
            jacobian_products: s.jacobian_products,
            unstable: s.unstable,
            rejected_steps: s.rejected_steps,
        }
    }

    pub(crate) fn raw() -> sys::ham_solve_stats_t {
        sys::ham_solve_stats_t {
            size: std::mem::size_of::<sys::ham_solve_stats_t>() as u32,
            ..Default::default()
        }
    }
}

/// Per-sample results of the last solve (`ham_solver_get_samples`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Samples {
    /// operator evaluations of each sample
    pub iterations: Vec<i32>,
    /// final relative residual of each sample
    pub residuals: Vec<f64>,
    /// `HAM_SAMPLE_*` of each sample
    pub status: Vec<i32>,
}

/// Default and bounds of an option ([`Solver::option_info`],
/// [`Trainer::option_info`](crate::Trainer::option_info)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptionInfo {
    /// the default value
    pub default: f64,
    /// the lower bound
    pub min: f64,
    /// the upper bound
    pub max: f64,
}

/// What the iteration callback sees once per driver iteration (`ham_iter_info_t`): the
/// samples still iterating, valid during the call only.
pub struct IterInfo<'a> {
    raw: &'a sys::ham_iter_info_t,
}

impl<'a> IterInfo<'a> {
    /// 0-based driver iteration.
    pub fn iteration(&self) -> usize {
        self.raw.iteration.max(0) as usize
    }
    /// Samples still iterating, before this check.
    pub fn active(&self) -> usize {
        self.raw.active.max(0) as usize
    }
    /// Original batch index of each active sample.
    pub fn samples(&self) -> &'a [i32] {
        // SAFETY: `active` values, valid during the callback.
        unsafe { slice(self.raw.sample, self.raw.active) }
    }
    /// Relative residual of each active sample.
    pub fn residuals(&self) -> &'a [f64] {
        // SAFETY: as above.
        unsafe { slice(self.raw.residual, self.raw.active) }
    }
    /// Operator evaluations of each active sample so far.
    pub fn iterations(&self) -> &'a [i32] {
        // SAFETY: as above.
        unsafe { slice(self.raw.iterations, self.raw.active) }
    }
    /// State length.
    pub fn dim(&self) -> usize {
        self.raw.dim.max(0) as usize
    }
    /// Current iterates `s`, `active x dim`, rows as [`samples`](IterInfo::samples).
    pub fn states(&self) -> &'a [f32] {
        // SAFETY: active x dim values.
        unsafe { slice(self.raw.state, self.raw.active.saturating_mul(self.raw.dim)) }
    }
    /// Operator outputs `G(s)`, `active x dim`.
    pub fn outputs(&self) -> &'a [f32] {
        // SAFETY: active x dim values.
        unsafe { slice(self.raw.output, self.raw.active.saturating_mul(self.raw.dim)) }
    }
}

/// What a convergence test sees: one sample at one iteration (`ham_conv_info_t`).
pub struct ConvInfo<'a> {
    raw: &'a sys::ham_conv_info_t,
}

impl<'a> ConvInfo<'a> {
    /// Original index of the sample in the batch.
    pub fn sample(&self) -> usize {
        self.raw.sample.max(0) as usize
    }
    /// Operator evaluations the sample has used so far.
    pub fn iterations(&self) -> usize {
        self.raw.iterations.max(0) as usize
    }
    /// State length.
    pub fn dim(&self) -> usize {
        self.raw.dim.max(0) as usize
    }
    /// The current iterate `s`.
    pub fn state(&self) -> &'a [f32] {
        // SAFETY: `dim` values, valid during the call.
        unsafe { slice(self.raw.state, self.raw.dim) }
    }
    /// `G(s)`, the state kept if the sample is accepted.
    pub fn output(&self) -> &'a [f32] {
        // SAFETY: as above.
        unsafe { slice(self.raw.output, self.raw.dim) }
    }
    /// `||G(s) - s||`.
    pub fn residual_norm(&self) -> f64 {
        self.raw.residual_norm
    }
    /// `||G(s)||`.
    pub fn output_norm(&self) -> f64 {
        self.raw.output_norm
    }
    /// The solver's [`HAM_OPT_TOL`](crate::HAM_OPT_TOL).
    pub fn tol(&self) -> f64 {
        self.raw.tol
    }
    /// The solver's [`HAM_OPT_ATOL`](crate::HAM_OPT_ATOL).
    pub fn atol(&self) -> f64 {
        self.raw.atol
    }
}

/// What [`Solver::mhn_find_minima`] found (`ham_mhn_minima_t` and the arrays).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Minima {
    /// starts solved
    pub starts: i32,
    /// starts that reached a fixed point
    pub converged: i32,
    /// distinct strict local minima among those fixed points
    pub minima: i32,
    /// distinct fixed points that are not minima
    pub saddles: i32,
    /// index of the minimum at the pattern mean, if any
    pub mean_attractor: Option<usize>,
    /// starts that reached the mean attractor
    pub mean_basin: i32,
    /// largest per-start iteration count
    pub iters_max: i32,
    /// mean per-start iteration count
    pub iters_mean: f64,
    /// the first `min(capacity, minima)` minima, `dim` values each, in order of discovery
    pub points: Vec<f32>,
    /// for each start: the index of the minimum it reached, -1 when it did not converge,
    /// -2 when it reached a saddle
    pub assign: Vec<i32>,
}

type IterCallback = Box<dyn FnMut(&IterInfo<'_>) -> ControlFlow<()> + Send>;
type ConvTest = Box<dyn FnMut(&ConvInfo<'_>) -> Result<bool> + Send>;

/// The closures installed on one C solver; its address is the callbacks' `user`.
#[derive(Default)]
struct Hooks {
    iter: Option<IterCallback>,
    conv: Option<ConvTest>,
}

unsafe extern "C" fn iter_trampoline(
    info: *const sys::ham_iter_info_t,
    user: *mut c_void,
) -> c_int {
    // SAFETY: `user` is the Hooks of the solving solver, which the solve's `&mut`
    // borrow keeps alive and untouched by Rust meanwhile; `info` is valid for the call.
    // Only this callback's field is borrowed.
    let slot = &mut *std::ptr::addr_of_mut!((*(user as *mut Hooks)).iter);
    let Some(callback) = slot.as_mut() else { return 0 };
    let info = IterInfo { raw: &*info };
    match catch_unwind(AssertUnwindSafe(|| callback(&info))) {
        Ok(ControlFlow::Continue(())) => 0,
        Ok(ControlFlow::Break(())) => 1,
        Err(payload) => {
            record_panic(payload);
            1
        }
    }
}

unsafe extern "C" fn conv_trampoline(
    info: *const sys::ham_conv_info_t,
    user: *mut c_void,
) -> c_int {
    // SAFETY: as in iter_trampoline.
    let slot = &mut *std::ptr::addr_of_mut!((*(user as *mut Hooks)).conv);
    let Some(test) = slot.as_mut() else { return 0 };
    let info = ConvInfo { raw: &*info };
    match catch_unwind(AssertUnwindSafe(|| test(&info))) {
        Ok(Ok(true)) => 1,
        Ok(Ok(false)) => 0,
        Ok(Err(e)) => {
            let status = if e.status() < 0 { e.status() } else { sys::HAM_ERR_CALLBACK };
            record_error(e);
            status
        }
        Err(payload) => {
            record_panic(payload);
            sys::HAM_ERR_CALLBACK
        }
    }
}

/// A C solver and the Rust closures installed on it. It does not free the C solver: its
/// owner does ([`Solver`] or the trainer).
pub(crate) struct SolverCore {
    ptr: NonNull<sys::ham_solver_t>,
    hooks: NonNull<Hooks>,
    dim: usize,
}

// SAFETY: a solver may be used from any thread, one at a time (`&mut` for everything
// that runs it); the closures it holds are `Send`.
unsafe impl Send for SolverCore {}

impl Drop for SolverCore {
    fn drop(&mut self) {
        // SAFETY: allocated by Box in `new`; the C solver no longer runs callbacks (its
        // owner freed it, or it is not solving: nothing holds `&mut` to us).
        drop(unsafe { Box::from_raw(self.hooks.as_ptr()) });
    }
}

impl SolverCore {
    pub(crate) fn new(ptr: *mut sys::ham_solver_t, model: &Model) -> SolverCore {
        let ptr = NonNull::new(ptr).expect("libhamdeq returned HAM_OK and no solver");
        // SAFETY: live solver.
        let op = unsafe { sys::ham_solver_operator(ptr.as_ptr()) };
        let dim = model.state_dim(op).expect("a solver's operator has a state");
        let hooks = NonNull::from(Box::leak(Box::<Hooks>::default()));
        SolverCore { ptr, hooks, dim }
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::ham_solver_t {
        self.ptr.as_ptr()
    }

    fn kind(&self) -> i32 {
        // SAFETY: live solver.
        unsafe { sys::ham_solver_kind(self.ptr.as_ptr()) }
    }

    fn operator(&self) -> i32 {
        // SAFETY: live solver.
        unsafe { sys::ham_solver_operator(self.ptr.as_ptr()) }
    }

    fn option(&self, option: i32) -> Result<f64> {
        let mut v = 0.0;
        // SAFETY: live solver.
        check(unsafe { sys::ham_solver_get_option(&mut v, self.ptr.as_ptr(), option) })?;
        Ok(v)
    }

    fn set_option(&mut self, option: i32, value: f64) -> Result<()> {
        // SAFETY: live solver, used alone.
        check(unsafe { sys::ham_solver_set_option(self.ptr.as_ptr(), option, value) })
    }

    fn stats(&self) -> Result<SolveStats> {
        let mut st = SolveStats::raw();
        // SAFETY: size-prefixed struct of this size.
        check(unsafe { sys::ham_solver_get_stats(&mut st, self.ptr.as_ptr()) })?;
        Ok(SolveStats::from_raw(&st))
    }

    fn samples(&self) -> Result<Samples> {
        let batch = self.stats()?.samples;
        let n = batch.max(0) as usize;
        let mut s = Samples { iterations: vec![0; n], residuals: vec![0.0; n], status: vec![0; n] };
        // SAFETY: three arrays of `batch` values; the library checks `batch`.
        check(unsafe {
            sys::ham_solver_get_samples(
                s.iterations.as_mut_ptr(),
                s.residuals.as_mut_ptr(),
                s.status.as_mut_ptr(),
                self.ptr.as_ptr(),
                batch,
            )
        })?;
        Ok(s)
    }

    fn hooks(&mut self) -> &mut Hooks {
        // SAFETY: no solve is running (we hold `&mut self`), so no trampoline uses it.
        unsafe { self.hooks.as_mut() }
    }

    fn set_iteration_callback(&mut self, f: IterCallback) -> Result<()> {
        self.hooks().iter = Some(f);
        let user = self.hooks.as_ptr().cast();
        // SAFETY: `user` lives as long as this core, which outlives the C solver's use.
        check(unsafe {
            sys::ham_solver_set_callback(self.ptr.as_ptr(), Some(iter_trampoline), user)
        })
    }

    fn clear_iteration_callback(&mut self) -> Result<()> {
        // SAFETY: live solver.
        let r = check(unsafe {
            sys::ham_solver_set_callback(self.ptr.as_ptr(), None, ptr::null_mut())
        });
        self.hooks().iter = None;
        r
    }

    fn set_convergence_test(&mut self, f: ConvTest) -> Result<()> {
        self.hooks().conv = Some(f);
        let user = self.hooks.as_ptr().cast();
        // SAFETY: as for the iteration callback.
        check(unsafe {
            sys::ham_solver_set_conv_test(self.ptr.as_ptr(), Some(conv_trampoline), user)
        })
    }

    fn clear_convergence_test(&mut self) -> Result<()> {
        // SAFETY: live solver.
        let r = check(unsafe {
            sys::ham_solver_set_conv_test(self.ptr.as_ptr(), None, ptr::null_mut())
        });
        self.hooks().conv = None;
        r
    }

    fn solve(&mut self, model: &Model, state: &mut [f32], x: Option<&[f32]>) -> Result<SolveStats> {
        let batch = rows(state.len(), self.dim, "the state")?;
        let xp = model.input_ptr(x, batch)?;
        // SAFETY: `state` holds batch x dim values and `xp` batch x N_0 (or NULL).
        check(unsafe {
            sys::ham_solver_solve(
                self.ptr.as_ptr(),
                state.as_mut_ptr(),
                to_i32(batch, "batch")?,
                xp,
            )
        })?;
        self.stats()
    }

    fn mhn_find_minima(
        &mut self,
        model: &Model,
        starts: &[f32],
        capacity: usize,
        cluster_tol: f64,
    ) -> Result<Minima> {
        if model.n_layers() != 2 {
            return Err(Error::new(
                sys::HAM_ERR_UNSUPPORTED,
                "not a Modern Hopfield network: an MHN has 2 layers",
            ));
        }
        let dim = model.layer_size(1);
        let n = rows(starts.len(), dim, "the starts")?;
        // there are never more minima than starts
        let capacity = capacity.min(n);
        let mut points = vec![0.0f32; capacity * dim];
        let mut assign = vec![0i32; n];
        let mut raw = sys::ham_mhn_minima_t {
            size: std::mem::size_of::<sys::ham_mhn_minima_t>() as u32,
            ..Default::default()
        };
        // SAFETY: `points` holds capacity x dim values, `assign` and `starts` n (x dim).
        check(unsafe {
            sys::ham_mhn_find_minima(
                &mut raw,
                if capacity == 0 { ptr::null_mut() } else { points.as_mut_ptr() },
                to_i32(capacity, "capacity")?,
                assign.as_mut_ptr(),
                self.ptr.as_ptr(),
                starts.as_ptr(),
                to_i32(n, "n_starts")?,
                cluster_tol,
            )
        })?;
        points.truncate(capacity.min(raw.minima.max(0) as usize) * dim);
        Ok(Minima {
            starts: raw.starts,
            converged: raw.converged,
            minima: raw.minima,
            saddles: raw.saddles,
            mean_attractor: usize::try_from(raw.mean_attractor).ok(),
            mean_basin: raw.mean_basin,
            iters_max: raw.iters_max,
            iters_mean: raw.iters_mean,
            points,
            assign,
        })
    }
}

macro_rules! solver_read_methods {
    () => {
        /// The solver's kind (`HAM_SOLVER_*`; [`HAM_SOLVER_CUSTOM`](crate::HAM_SOLVER_CUSTOM)
        /// for a [`Backend`](crate::Backend)).
        pub fn kind(&self) -> i32 {
            self.core().kind()
        }

        /// The operator it iterates (`HAM_OPERATOR_*`).
        pub fn operator(&self) -> i32 {
            self.core().operator()
        }

        /// Values per sample of its states.
        pub fn state_dim(&self) -> usize {
            self.core().dim
        }

        /// The model it solves.
        pub fn model(&self) -> &Model {
            self.model_ref()
        }

        /// The value of an option (`HAM_OPT_*`).
        pub fn option(&self, option: i32) -> Result<f64> {
            self.core().option(option)
        }

        /// Summary of the last solve.
        pub fn stats(&self) -> Result<SolveStats> {
            self.core().stats()
        }

        /// Per-sample results of the last solve.
        pub fn samples(&self) -> Result<Samples> {
            self.core().samples()
        }
    };
}

macro_rules! solver_write_methods {
    () => {
        /// Sets an option (`HAM_OPT_*`); out of bounds, NaN, or a fraction for an integer
        /// option give [`HAM_ERR_INVALID`](crate::HAM_ERR_INVALID) and change nothing.
        pub fn set_option(&mut self, option: i32, value: f64) -> Result<()> {
            self.parts_mut().0.set_option(option, value)
        }

        /// Installs `callback`, called once per driver iteration with the samples still
        /// iterating; [`ControlFlow::Break`] stops the solve with
        /// [`HAM_ERR_CANCELLED`](crate::HAM_ERR_CANCELLED). A panic in it is caught at
        /// the C boundary (the solve is cancelled) and resumed when the solve returns.
        /// It replaces any earlier callback.
        pub fn set_iteration_callback<F>(&mut self, callback: F) -> Result<()>
        where
            F: FnMut(&IterInfo<'_>) -> ControlFlow<()> + Send + 'static,
        {
            self.parts_mut().0.set_iteration_callback(Box::new(callback))
        }

        /// Removes the iteration callback.
        pub fn clear_iteration_callback(&mut self) -> Result<()> {
            self.parts_mut().0.clear_iteration_callback()
        }

        /// Replaces the built-in convergence test (`r < tol` or `||G(s)-s|| < atol`) by
        /// `test`, asked for every sample still iterating once per iteration:
        /// `Ok(true)` accepts the sample, `Ok(false)` goes on, `Err(e)` aborts the solve,
        /// which then returns `e`. A panic is caught at the C boundary (the solve is
        /// aborted) and resumed when the solve returns.
        pub fn set_convergence_test<F>(&mut self, test: F) -> Result<()>
        where
            F: FnMut(&ConvInfo<'_>) -> Result<bool> + Send + 'static,
        {
            self.parts_mut().0.set_convergence_test(Box::new(test))
        }

        /// Restores the built-in convergence test.
        pub fn clear_convergence_test(&mut self) -> Result<()> {
            self.parts_mut().0.clear_convergence_test()
        }

        /// Solves the fixed point of every sample of a batch (`ham_solver_solve`).
        ///
        /// `state`: `batch x state_dim()` values, the batch size being inferred from its
        /// length; the initial states when [`HAM_OPT_WARM_START`](crate::HAM_OPT_WARM_START)
        /// is 1 (else ignored), the final ones on return. `x`: `batch x N_0` inputs for
        /// a clamped model, `None` for a free-input one. Samples that did not converge
        /// are reported in the returned [`SolveStats`] and by
        /// [`samples`](Self::samples), not as an error.
        pub fn solve(&mut self, state: &mut [f32], x: Option<&[f32]>) -> Result<SolveStats> {
            let (core, model) = self.parts_mut();
            core.solve(model, state, x)
        }

        /// Solves Modern Hopfield retrieval from every row of `starts` (`n x dim`, `dim`
        /// the visible layer's size) and counts the distinct minima reached
        /// (`ham_mhn_find_minima`); keeps the first `capacity` minima. The solver's
        /// options are used (see the C documentation), its callbacks are not called and
        /// its state is not changed.
        pub fn mhn_find_minima(
            &mut self,
            starts: &[f32],
            capacity: usize,
            cluster_tol: f64,
        ) -> Result<Minima> {
            let (core, model) = self.parts_mut();
            core.mhn_find_minima(model, starts, capacity, cluster_tol)
        }
    };
}

/// A solver (`ham_solver_t`) bound to one model and one operator.
///
/// It holds its own handle to the model (a `ham_model_ref` reference), so the model may
/// be dropped first; while the solver exists the model cannot be modified (see
/// [`Model`]). The workspace is sized on the first solve and grown only by a larger
/// batch; iterations never allocate.
///
/// # Threading
///
/// `Send` but not `Sync`: the library allows a solver to be used by one thread at a time,
/// and every method that runs it takes `&mut self`. Solvers in several threads may share
/// one model. Closures installed on it must be `Send`.
///
/// ```compile_fail
/// fn sync<T: Sync>() {}
/// sync::<hamdeq::Solver>(); // not Sync: one thread at a time
/// ```
///
/// ```
/// use hamdeq::*;
/// let mut model = Model::new(&[4, 3, 2], HAM_MODEL_CLAMPED_INPUT)?;
/// model.init_xavier(1)?;
/// let mut solver = Solver::new(&model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON)?;
/// solver.set_option(HAM_OPT_TOL, 1e-6)?;
/// let x = [0.1, 0.2, 0.3, 0.4, 0.9, 0.8, 0.7, 0.6]; // two samples of 4 inputs
/// let mut state = vec![0.0; 2 * solver.state_dim()];
/// let stats = solver.solve(&mut state, Some(&x))?;
/// assert!(stats.all_converged());
/// // a fixed point: G(s) = s
/// let g = model.apply(HAM_OPERATOR_EVEN_ODD, Some(&x), &state)?;
/// for (a, b) in g.iter().zip(&state) {
///     assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()));
/// }
/// # Ok::<(), hamdeq::Error>(())
/// ```
pub struct Solver {
    core: SolverCore,
    model: Model,
}

impl Solver {
    /// A solver of `model` for operator `op` (`HAM_OPERATOR_*`) with a built-in backend
    /// `kind` (`HAM_SOLVER_*`).
    pub fn new(model: &Model, op: i32, kind: i32) -> Result<Solver> {
        let mut ptr = ptr::null_mut();
        // SAFETY: live model; the solver takes its own reference.
        check(unsafe { sys::ham_solver_new(&mut ptr, model.as_ptr(), op, kind) })?;
        Ok(Solver::from_raw(ptr, model.share()))
    }

    /// A solver with the settings recorded in the model ([`Model::defaults`]): its
    /// operator and kind, with `HAM_OPT_TOL` and `HAM_OPT_MAX_ITER` set.
    pub fn with_defaults(model: &Model) -> Result<Solver> {
        let d = model.defaults()?;
        let mut solver = Solver::new(model, d.operator, d.solver)?;
        solver.set_option(sys::HAM_OPT_TOL, d.tol)?;
        solver.set_option(sys::HAM_OPT_MAX_ITER, d.max_iter as f64)?;
        Ok(solver)
    }

    pub(crate) fn from_raw(ptr: *mut sys::ham_solver_t, model: Model) -> Solver {
        // A solver must not outlive its owner's free if construction panics below.
        struct FreeOnPanic(*mut sys::ham_solver_t);
        impl Drop for FreeOnPanic {
            fn drop(&mut self) {
                // SAFETY: the solver was just created and is not used elsewhere.
                unsafe { sys::ham_solver_free(self.0) }
            }
        }
        let guard = FreeOnPanic(ptr);
        let core = SolverCore::new(ptr, &model);
        std::mem::forget(guard);
        Solver { core, model }
    }

    /// Default and bounds of a solver option (`ham_solver_option_info`).
    pub fn option_info(option: i32) -> Result<OptionInfo> {
        let mut i = OptionInfo { default: 0.0, min: 0.0, max: 0.0 };
        // SAFETY: outputs valid.
        check(unsafe {
            sys::ham_solver_option_info(&mut i.default, &mut i.min, &mut i.max, option)
        })?;
        Ok(i)
    }

    fn core(&self) -> &SolverCore {
        &self.core
    }

    fn model_ref(&self) -> &Model {
        &self.model
    }

    fn parts_mut(&mut self) -> (&mut SolverCore, &Model) {
        (&mut self.core, &self.model)
    }

    solver_read_methods!();
    solver_write_methods!();
}

impl Drop for Solver {
    fn drop(&mut self) {
        // SAFETY: this solver is ours; a custom backend's fini and destroy may run.
        unsafe { sys::ham_solver_free(self.core.as_ptr()) };
        crate::ffi::after_void_call();
    }
}

/// A trainer's solver, borrowed mutably from the [`Trainer`](crate::Trainer)
/// ([`Trainer::solver_mut`](crate::Trainer::solver_mut)): the methods of [`Solver`], valid
/// while the trainer is borrowed. Closures installed here also run during the trainer's
/// steps.
pub struct SolverMut<'a> {
    pub(crate) core: &'a mut SolverCore,
    pub(crate) model: &'a Model,
}

impl SolverMut<'_> {
    fn core(&self) -> &SolverCore {
        self.core
    }

    fn model_ref(&self) -> &Model {
        self.model
    }

    fn parts_mut(&mut self) -> (&mut SolverCore, &Model) {
        (self.core, self.model)
    }

    solver_read_methods!();
    solver_write_methods!();
}

/// A trainer's solver, borrowed from `&Trainer`
/// ([`Trainer::solver`](crate::Trainer::solver)): its options and last results.
pub struct SolverRef<'a> {
    pub(crate) core: &'a SolverCore,
    pub(crate) model: &'a Model,
}

impl SolverRef<'_> {
    fn core(&self) -> &SolverCore {
        self.core
    }

    fn model_ref(&self) -> &Model {
        self.model
    }

    solver_read_methods!();
}

fn debug(f: &mut fmt::Formatter<'_>, name: &str, core: &SolverCore) -> fmt::Result {
    f.debug_struct(name)
        .field("kind", &crate::solver_kind_name(core.kind()).unwrap_or("custom"))
        .field("operator", &crate::operator_name(core.operator()).unwrap_or("?"))
        .field("state_dim", &core.dim)
        .finish()
}

impl fmt::Debug for Solver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug(f, "Solver", &self.core)
    }
}

impl fmt::Debug for SolverMut<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug(f, "SolverMut", self.core)
    }
}

impl fmt::Debug for SolverRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug(f, "SolverRef", self.core)
    }
}
