//! [`Trainer`]: training a HAM through its fixed point.
use std::fmt;
use std::os::raw::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};

use hamdeq_sys as sys;

use crate::error::{invalid, Error, Result};
use crate::ffi::{check, expect_len, record_error, record_panic, to_i32};
use crate::model::Model;
use crate::solver::{OptionInfo, SolveStats, SolverCore, SolverMut, SolverRef};

/// Loss and accuracy of one training step or gradient.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepResult {
    /// mean loss over the batch
    pub loss: f64,
    /// samples whose output's argmax is their label
    pub correct: i32,
}

/// Trains a model (`ham_trainer_t`): each step solves the forward fixed point, the loss,
/// the adjoint fixed point and the gradients, and updates the model's weights and biases.
///
/// The trainer owns the only handle to its model (it takes the [`Model`] by value), since
/// steps modify it: read it with [`model`](Trainer::model) between steps, take it back
/// with [`into_model`](Trainer::into_model). A step fails with
/// [`HAM_ERR_INVALID`](crate::HAM_ERR_INVALID) while another handle to the model exists
/// ([`Model::share`], or a [`Solver`](crate::Solver) made from `trainer.model()`); to
/// evaluate during training use the trainer's own solver,
/// [`solver_mut`](Trainer::solver_mut).
///
/// # Threading
///
/// `Send` but not `Sync`: one thread at a time, as the library requires of every handle.
///
/// ```compile_fail
/// fn sync<T: Sync>() {}
/// sync::<hamdeq::Trainer>();
/// ```
///
/// The borrowed solver cannot outlive its trainer:
///
/// ```compile_fail
/// use hamdeq::*;
/// let model = Model::new(&[2, 2], HAM_MODEL_CLAMPED_INPUT).unwrap();
/// let mut trainer = Trainer::new(model, HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD).unwrap();
/// let mut solver = trainer.solver_mut();
/// drop(trainer); // error: trainer is borrowed
/// solver.set_option(HAM_OPT_TOL, 1e-3).unwrap();
/// ```
///
/// ```
/// use hamdeq::*;
/// let mut model = Model::new(&[4, 3, 2], HAM_MODEL_CLAMPED_INPUT)?;
/// model.init_xavier(1)?;
/// let mut trainer = Trainer::new(model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON)?;
/// trainer.set_option(HAM_TRAIN_OPTIMIZER, HAM_OPTIMIZER_ADAM as f64)?;
/// trainer.solver_mut().set_option(HAM_OPT_MAX_ITER, 50.0)?;
/// let x = [0.9, 0.8, 0.1, 0.0, 0.0, 0.1, 0.8, 0.9];
/// let labels = [0, 1];
/// let first = trainer.step(&x, &labels)?.loss;
/// for _ in 0..30 {
///     trainer.step(&x, &labels)?;
/// }
/// assert!(trainer.gradient(&x, &labels)?.loss < first);
/// # Ok::<(), hamdeq::Error>(())
/// ```
pub struct Trainer {
    ptr: NonNull<sys::ham_trainer_t>,
    solver: SolverCore,
    model: Model,
    // The installed reduction; its heap address is the C callback's `user`. Dropped
    // after the C trainer (Drop frees that first).
    reduce: Option<Box<ReduceFn>>,
}

type ReduceFn = Box<dyn FnMut(&mut [f32], &mut [f64]) -> Result<()> + Send>;

unsafe extern "C" fn reduce_trampoline(
    grad: *mut f32,
    len: usize,
    counts: *mut f64,
    n_counts: i32,
    user: *mut c_void,
) -> c_int {
    // SAFETY: `user` is the trainer's boxed closure, which the step's `&mut` borrow of
    // the trainer keeps alive and untouched by Rust meanwhile; `grad` holds `len` floats
    // (or is NULL), `counts` `n_counts` doubles, for the duration of the call.
    let f = &mut *(user as *mut ReduceFn);
    let grad: &mut [f32] = if grad.is_null() || len == 0 {
        &mut []
    } else {
        std::slice::from_raw_parts_mut(grad, len)
    };
    let counts: &mut [f64] = if counts.is_null() || n_counts <= 0 {
        &mut []
    } else {
        std::slice::from_raw_parts_mut(counts, n_counts as usize)
    };
    match catch_unwind(AssertUnwindSafe(|| f(grad, counts))) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            record_error(Error::new(
                sys::HAM_ERR_CALLBACK,
                format!("the gradient reduction failed: {}", e.message()),
            ));
            1
        }
        Err(payload) => {
            record_panic(payload);
            1
        }
    }
}

// SAFETY: a trainer may be used from any thread, one at a time (`&mut` for everything
// that runs it); its model handle is `Send`, its solver's closures too.
unsafe impl Send for Trainer {}

impl Trainer {
    /// A trainer of `model` (clamped input) whose forward solves use operator `op` and
    /// solver `kind` (`ham_trainer_new`). Fails when another handle to the model exists.
    pub fn new(mut model: Model, op: i32, kind: i32) -> Result<Trainer> {
        let m = model.exclusive().map_err(|e| {
            invalid(format!("Trainer::new needs the only handle to the model: {}", e.message()))
        })?;
        let mut ptr = ptr::null_mut();
        // SAFETY: live model, held alone; the trainer takes its own reference.
        check(unsafe { sys::ham_trainer_new(&mut ptr, m, op, kind) })?;
        let ptr = NonNull::new(ptr).expect("libhamdeq returned HAM_OK and no trainer");
        // SAFETY: live trainer; the borrowed solver lives until ham_trainer_free.
        let solver_ptr = unsafe { sys::ham_trainer_solver(ptr.as_ptr()) };
        let guard = Guard(ptr);
        let solver = SolverCore::new(solver_ptr, &model);
        std::mem::forget(guard);
        Ok(Trainer { ptr, solver, model, reduce: None })
    }

    /// The model being trained.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Frees the trainer and returns its model.
    pub fn into_model(self) -> Model {
        let model = self.model.share();
        drop(self);
        model
    }

    /// The forward solver, borrowed: its options and last results.
    pub fn solver(&self) -> SolverRef<'_> {
        SolverRef { core: &self.solver, model: &self.model }
    }

    /// The forward solver, borrowed mutably: set its options and callbacks, or solve with
    /// it (to evaluate the model during training).
    pub fn solver_mut(&mut self) -> SolverMut<'_> {
        SolverMut { core: &mut self.solver, model: &self.model }
    }

    /// Default and bounds of a trainer option (`ham_trainer_option_info`).
    pub fn option_info(option: i32) -> Result<OptionInfo> {
        let mut i = OptionInfo { default: 0.0, min: 0.0, max: 0.0 };
        // SAFETY: outputs valid.
        check(unsafe {
            sys::ham_trainer_option_info(&mut i.default, &mut i.min, &mut i.max, option)
        })?;
        Ok(i)
    }

    /// Sets a trainer option (`HAM_TRAIN_*`).
    pub fn set_option(&mut self, option: i32, value: f64) -> Result<()> {
        // SAFETY: live trainer.
        check(unsafe { sys::ham_trainer_set_option(self.ptr.as_ptr(), option, value) })
    }

    /// The value of a trainer option.
    pub fn option(&self, option: i32) -> Result<f64> {
        let mut v = 0.0;
        // SAFETY: live trainer.
        check(unsafe { sys::ham_trainer_get_option(&mut v, self.ptr.as_ptr(), option) })?;
        Ok(v)
    }

    fn batch(&self, x: &[f32], labels: &[i32]) -> Result<i32> {
        let batch = labels.len();
        if batch == 0 {
            return Err(invalid("an empty batch"));
        }
        expect_len(x.len(), batch * self.model.layer_size(0), "the input x")?;
        to_i32(batch, "batch")
    }

    /// The loss and the gradients on a batch without changing the model
    /// (`ham_trainer_gradient`); read them with [`weight_grad`](Trainer::weight_grad) and
    /// [`bias_grad`](Trainer::bias_grad). `x`: `batch x N_0` inputs; `labels`: `batch`
    /// class indices of the output layer.
    pub fn gradient(&mut self, x: &[f32], labels: &[i32]) -> Result<StepResult> {
        let batch = self.batch(x, labels)?;
        let mut r = StepResult { loss: 0.0, correct: 0 };
        // SAFETY: `x` holds batch x N_0 values, `labels` batch.
        check(unsafe {
            sys::ham_trainer_gradient(
                self.ptr.as_ptr(),
                &mut r.loss,
                &mut r.correct,
                batch,
                x.as_ptr(),
                labels.as_ptr(),
            )
        })?;
        Ok(r)
    }

    /// One training step on a batch: [`gradient`](Trainer::gradient), then one optimiser
    /// update of the model (`ham_trainer_step`). Needs the only handle to the model.
    pub fn step(&mut self, x: &[f32], labels: &[i32]) -> Result<StepResult> {
        let batch = self.batch(x, labels)?;
        self.model
            .exclusive()
            .map_err(|e| invalid(format!("a training step modifies the model: {}", e.message())))?;
        let mut r = StepResult { loss: 0.0, correct: 0 };
        // SAFETY: as in `gradient`; no other handle reads the model meanwhile.
        check(unsafe {
            sys::ham_trainer_step(
                self.ptr.as_ptr(),
                &mut r.loss,
                &mut r.correct,
                batch,
                x.as_ptr(),
                labels.as_ptr(),
            )
        })?;
        Ok(r)
    }

    /// Gradient of weight block `block` from the last gradient or step.
    pub fn weight_grad(&self, block: usize) -> Result<Vec<f32>> {
        let n = if block + 1 < self.model.n_layers() {
            self.model.layer_size(block) * self.model.layer_size(block + 1)
        } else {
            0
        };
        let mut out = vec![0.0; n];
        // SAFETY: the library checks the count before writing.
        check(unsafe {
            sys::ham_trainer_get_weight_grad(
                out.as_mut_ptr(),
                self.ptr.as_ptr(),
                to_i32(block, "block")?,
                out.len(),
            )
        })?;
        Ok(out)
    }

    /// Gradient of the bias of free layer `layer` from the last gradient or step.
    pub fn bias_grad(&self, layer: usize) -> Result<Vec<f32>> {
        let mut out = vec![0.0; self.model.layer_size(layer)];
        // SAFETY: the library checks the count before writing.
        check(unsafe {
            sys::ham_trainer_get_bias_grad(
                out.as_mut_ptr(),
                self.ptr.as_ptr(),
                to_i32(layer, "layer")?,
                out.len(),
            )
        })?;
        Ok(out)
    }

    /// Sets the gradient reduction of data-parallel training (`ham_trainer_set_reduce`,
    /// docs/distributed.md): every later [`gradient`](Trainer::gradient) and
    /// [`step`](Trainer::step) calls `reduce(grad, counts)` twice, in the same order on
    /// every process, and reports global figures (the loss over the global batch, the
    /// global count of correct samples, the global mean gradient).
    ///
    /// `reduce` must replace `grad` and `counts` in place by their element-wise sums over
    /// every process (each receiving the same sums) and return `Ok(())`:
    ///  1. before the solves, with `grad` empty: the trainer learns the global batch;
    ///  2. after the gradient, with the flat gradient: every weight block in turn (as
    ///     [`Model::weights`] lays it out), then the bias of every layer that has one.
    ///
    /// `counts` holds 4 values: the sum of the per-sample losses, the samples classified
    /// correctly, the samples, and 1 if this process failed in this step (else 0); the
    /// first two are 0 in the first call.
    ///
    /// An `Err` fails the step with [`HAM_ERR_CALLBACK`](crate::HAM_ERR_CALLBACK) (the
    /// error's message kept); a panic is caught at the C boundary, fails the step, and is
    /// resumed once the library has returned. With one process, a reduction that leaves
    /// its arguments unchanged takes the same step as none, bit for bit.
    ///
    /// ```
    /// use hamdeq::*;
    /// let mut model = Model::new(&[4, 3, 2], HAM_MODEL_CLAMPED_INPUT)?;
    /// model.init_xavier(1)?;
    /// let mut trainer = Trainer::new(model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON)?;
    /// // one process: the sums are the arguments themselves
    /// trainer.set_reduce(|_grad: &mut [f32], counts: &mut [f64]| {
    ///     assert_eq!(counts.len(), 4);
    ///     Ok(())
    /// })?;
    /// let r = trainer.step(&[0.9, 0.8, 0.1, 0.0], &[0])?;
    /// assert!(r.loss.is_finite());
    /// trainer.clear_reduce()?;
    /// # Ok::<(), hamdeq::Error>(())
    /// ```
    pub fn set_reduce<F>(&mut self, reduce: F) -> Result<()>
    where
        F: FnMut(&mut [f32], &mut [f64]) -> Result<()> + Send + 'static,
    {
        let mut boxed: Box<ReduceFn> = Box::new(Box::new(reduce));
        let user = &mut *boxed as *mut ReduceFn as *mut c_void;
        // SAFETY: live trainer; `user` stays valid while installed (kept in self.reduce
        // until replaced or removed, and dropped after the C trainer).
        check(unsafe {
            sys::ham_trainer_set_reduce(self.ptr.as_ptr(), Some(reduce_trampoline), user)
        })?;
        self.reduce = Some(boxed);
        Ok(())
    }

    /// Removes the gradient reduction ([`set_reduce`](Trainer::set_reduce)): later steps
    /// are local again.
    pub fn clear_reduce(&mut self) -> Result<()> {
        // SAFETY: live trainer; NULL removes the reduction.
        check(unsafe { sys::ham_trainer_set_reduce(self.ptr.as_ptr(), None, ptr::null_mut()) })?;
        self.reduce = None;
        Ok(())
    }

    /// Statistics of the last step's adjoint (backward) solve.
    pub fn backward_stats(&self) -> Result<SolveStats> {
        let mut st = SolveStats::raw();
        // SAFETY: size-prefixed struct of this size.
        check(unsafe { sys::ham_trainer_backward_stats(&mut st, self.ptr.as_ptr()) })?;
        Ok(SolveStats::from_raw(&st))
    }
}

struct Guard(NonNull<sys::ham_trainer_t>);
impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: a trainer created above and not handed out.
        unsafe { sys::ham_trainer_free(self.0.as_ptr()) }
    }
}

impl Drop for Trainer {
    fn drop(&mut self) {
        // SAFETY: ours; frees the borrowed solver too (never ham_solver_free'd here).
        unsafe { sys::ham_trainer_free(self.ptr.as_ptr()) };
        crate::ffi::after_void_call();
    }
}

impl fmt::Debug for Trainer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trainer")
            .field("model", &self.model)
            .field("solver", &self.solver())
            .finish()
    }
}
