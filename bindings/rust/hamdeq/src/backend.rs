//! Custom solver backends: [`Backend`] implemented in Rust, driven by the library's
//! driver ([`Solver::new_custom`]).
use std::ffi::CString;
use std::os::raw::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use hamdeq_sys as sys;

use crate::error::{Error, Result};
use crate::ffi::{c_string, check, expect_len, record_error, record_panic};
use crate::model::Model;
use crate::solver::Solver;

/// What a [`Backend::step`] left in its buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// `s` holds the next iterates; the driver evaluates `G(s)`.
    Proposed,
    /// `s` holds the next iterates and `gs` already holds `G(s)` of them (saving the
    /// driver an evaluation).
    OutputReady,
}

/// A solver backend: proposes the next iterate of each row from `s` and `G(s)`. The
/// library's driver evaluates the operator, tests convergence and removes finished rows
/// (calling [`compact`](Backend::compact)).
///
/// The methods run on the thread that solves, one at a time (`Send`, not `Sync`). Errors
/// returned by [`init`](Backend::init), [`reset`](Backend::reset) and
/// [`step`](Backend::step) end the solve, which returns them. A panic in any method is
/// caught at the C boundary, ends the solve (at the next `step` for
/// [`compact`](Backend::compact)) and is resumed when the library call returns.
pub trait Backend: Send + 'static {
    /// Prepares for states of length `dim` and up to `max_rows` rows. Called again (after
    /// [`fini`](Backend::fini)) when a larger batch or changed options need it.
    fn init(&mut self, dim: usize, max_rows: usize) -> Result<()>;
    /// Releases what `init` prepared.
    fn fini(&mut self) {}
    /// Forgets all history before a solve of `rows` rows.
    fn reset(&mut self, _rows: usize) -> Result<()> {
        Ok(())
    }
    /// Replaces each row of `s` (`rows x dim`) by the next iterate, given `gs = G(s)`;
    /// may evaluate the operator through `step`.
    fn step(&mut self, step: &mut Step<'_>, s: &mut [f32], gs: &mut [f32]) -> Result<StepOutcome>;
    /// Keeps rows `keep` (increasing) and moves them to rows `0 .. keep.len()`.
    fn compact(&mut self, _keep: &[i32]) {}
}

/// The context of one [`Backend::step`] (`ham_step_t`).
pub struct Step<'a> {
    raw: &'a mut sys::ham_step_t,
}

impl Step<'_> {
    /// Rows of this step.
    pub fn rows(&self) -> usize {
        // SAFETY: valid during the step.
        unsafe { sys::ham_step_rows(&*self.raw) }.max(0) as usize
    }

    /// State length.
    pub fn dim(&self) -> usize {
        // SAFETY: valid during the step.
        unsafe { sys::ham_step_dim(&*self.raw) }.max(0) as usize
    }

    /// `out = G(s)` on this step's rows (`rows x dim` each); counts as one evaluation per
    /// row.
    pub fn apply(&mut self, s: &[f32], out: &mut [f32]) -> Result<()> {
        let n = self.rows() * self.dim();
        expect_len(s.len(), n, "s")?;
        expect_len(out.len(), n, "out")?;
        // SAFETY: both hold rows x dim values.
        check(unsafe { sys::ham_step_apply(self.raw, out.as_mut_ptr(), s.as_ptr()) })
    }
}

struct Holder<B> {
    name: CString,
    backend: B,
    /// Set when `compact` or `fini` panicked: the next `step` fails.
    failed: bool,
}

/// The status a callback returns for `e`: its own when negative.
fn status_of(e: Error) -> c_int {
    let status = if e.status() < 0 { e.status() } else { sys::HAM_ERR_CALLBACK };
    record_error(e);
    status
}

fn run<R>(f: impl FnOnce() -> R) -> std::result::Result<R, c_int> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        record_panic(payload);
        sys::HAM_ERR_CALLBACK
    })
}

unsafe fn holder<'a, B>(user: *mut c_void) -> &'a mut Holder<B> {
    // SAFETY (caller): `user` is the holder handed to ham_solver_new_custom; the
    // library calls one callback at a time, on the solving thread.
    &mut *(user as *mut Holder<B>)
}

unsafe extern "C" fn init<B: Backend>(
    state: *mut *mut c_void,
    dim: i32,
    max_rows: i32,
    user: *mut c_void,
) -> c_int {
    let h = holder::<B>(user);
    h.failed = false;
    // The state is the holder itself (the library treats a NULL state as none).
    *state = user;
    match run(|| h.backend.init(dim.max(0) as usize, max_rows.max(0) as usize)) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => status_of(e),
        Err(status) => status,
    }
}

unsafe extern "C" fn fini<B: Backend>(_state: *mut c_void, user: *mut c_void) {
    let h = holder::<B>(user);
    if run(|| h.backend.fini()).is_err() {
        h.failed = true;
    }
}

unsafe extern "C" fn reset<B: Backend>(_state: *mut c_void, rows: i32, user: *mut c_void) -> c_int {
    let h = holder::<B>(user);
    h.failed = false; // a new solve starts from no history
    match run(|| h.backend.reset(rows.max(0) as usize)) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => status_of(e),
        Err(status) => status,
    }
}

unsafe extern "C" fn step<B: Backend>(
    _state: *mut c_void,
    step: *mut sys::ham_step_t,
    s: *mut f32,
    gs: *mut f32,
    rows: i32,
    user: *mut c_void,
) -> c_int {
    let h = holder::<B>(user);
    if h.failed {
        return sys::HAM_ERR_CALLBACK;
    }
    let mut ctx = Step { raw: &mut *step };
    let n = rows.max(0) as usize * ctx.dim();
    // SAFETY: `s` and `gs` are the driver's two distinct buffers of rows x dim values.
    let (s, gs) = if n == 0 {
        (&mut [][..], &mut [][..])
    } else {
        (std::slice::from_raw_parts_mut(s, n), std::slice::from_raw_parts_mut(gs, n))
    };
    match run(|| h.backend.step(&mut ctx, s, gs)) {
        Ok(Ok(StepOutcome::Proposed)) => 0,
        Ok(Ok(StepOutcome::OutputReady)) => 1,
        Ok(Err(e)) => status_of(e),
        Err(status) => status,
    }
}

unsafe extern "C" fn compact<B: Backend>(
    _state: *mut c_void,
    keep: *const i32,
    n_keep: i32,
    user: *mut c_void,
) {
    let h = holder::<B>(user);
    let keep = crate::ffi::slice(keep, n_keep);
    if run(|| h.backend.compact(keep)).is_err() {
        h.failed = true;
    }
}

unsafe extern "C" fn destroy<B: Backend>(user: *mut c_void) {
    let h = Box::from_raw(user as *mut Holder<B>);
    let _ = run(move || drop(h));
}

impl Solver {
    /// A solver of `model` for operator `op` whose iterations are proposed by `backend`
    /// (`ham_solver_new_custom`). The solver owns the backend and drops it when it is
    /// dropped, after the last [`Backend::fini`].
    ///
    /// ```
    /// use hamdeq::*;
    /// /// Damped Picard: s <- (1 - a) s + a G(s).
    /// struct Damped(f32);
    /// impl Backend for Damped {
    ///     fn init(&mut self, _dim: usize, _max_rows: usize) -> Result<()> { Ok(()) }
    ///     fn step(&mut self, _: &mut Step<'_>, s: &mut [f32], gs: &mut [f32]) -> Result<StepOutcome> {
    ///         for (s, g) in s.iter_mut().zip(gs.iter()) {
    ///             *s += self.0 * (g - *s);
    ///         }
    ///         Ok(StepOutcome::Proposed)
    ///     }
    /// }
    /// let mut model = Model::new(&[3, 2], HAM_MODEL_CLAMPED_INPUT)?;
    /// model.init_xavier(5)?;
    /// let mut solver = Solver::new_custom(&model, HAM_OPERATOR_SYNC, "damped", Damped(0.5))?;
    /// assert_eq!(solver.kind(), HAM_SOLVER_CUSTOM);
    /// let mut s = vec![0.0; 2];
    /// assert!(solver.solve(&mut s, Some(&[0.2, 0.4, 0.6]))?.all_converged());
    /// # Ok::<(), hamdeq::Error>(())
    /// ```
    pub fn new_custom<B: Backend>(
        model: &Model,
        op: i32,
        name: &str,
        backend: B,
    ) -> Result<Solver> {
        let name = c_string(name, "backend name")?;
        let h = Box::into_raw(Box::new(Holder { name, backend, failed: false }));
        let def = sys::ham_solver_def_t {
            size: std::mem::size_of::<sys::ham_solver_def_t>() as u32,
            flags: 0,
            // SAFETY (for the library): the holder, and its name, live until destroy.
            name: unsafe { (*h).name.as_ptr() },
            init: Some(init::<B>),
            fini: Some(fini::<B>),
            reset: Some(reset::<B>),
            step: Some(step::<B>),
            compact: Some(compact::<B>),
            user: h.cast(),
            destroy: Some(destroy::<B>),
        };
        let mut ptr = ptr::null_mut();
        // SAFETY: a complete definition; on success the solver owns the holder.
        let result =
            check(unsafe { sys::ham_solver_new_custom(&mut ptr, model.as_ptr(), op, &def) });
        if let Err(e) = result {
            // On failure nothing was taken.
            // SAFETY: from Box::into_raw above, not handed over.
            drop(unsafe { Box::from_raw(h) });
            return Err(e);
        }
        Ok(Solver::from_raw(ptr, model.share()))
    }
}
