//! [`Model`]: a layered Hierarchical Associative Memory.
use std::fmt;
use std::path::Path;
use std::ptr::{self, NonNull};
use std::sync::Arc;

use hamdeq_sys as sys;

use crate::error::{invalid, Error, Result};
use crate::ffi::{c_path, check, expect_len, rows, to_i32};

/// A layered HAM (`ham_model_t`): layer sizes, Lagrangians, weights and biases.
///
/// Layers `0 .. L-1` of sizes `N_l`; weight block `W_l` couples layers `l` and `l+1`
/// (`N_l x N_{l+1}`, row-major); free layers have biases. With
/// [`HAM_MODEL_CLAMPED_INPUT`](crate::HAM_MODEL_CLAMPED_INPUT) layer 0 is the input `x`.
/// States are row-major `f32` batches, one row per sample, of
/// [`state_dim`](Model::state_dim) values for the operator
/// ([`HAM_OPERATOR_SYNC`](crate::HAM_OPERATOR_SYNC): every free layer;
/// [`HAM_OPERATOR_EVEN_ODD`](crate::HAM_OPERATOR_EVEN_ODD): the output layer's parity
/// class). Batch sizes are inferred from slice lengths, which are checked before the
/// library sees them.
///
/// # Sharing and modification
///
/// The C model is reference-counted. Each `Model` value holds one reference
/// (`ham_model_ref` / `ham_model_free`); [`share`](Model::share) makes another handle to
/// the same model, and every [`Solver`](crate::Solver) and [`Trainer`](crate::Trainer)
/// holds one too, so handles may be dropped in any order. A shared model is the same
/// model: nobody may modify it while another thread reads it. So the methods that modify
/// it (`set_*`, [`init_xavier`](Model::init_xavier), ...) need `&mut self` **and** the
/// only handle: while a solver, a trainer or a share of the model exists they fail with
/// [`HAM_ERR_INVALID`](crate::HAM_ERR_INVALID). [`deep_clone`](Model::deep_clone) gives
/// an independent copy.
///
/// # Threading
///
/// `Model` is `Send` and `Sync`: the library allows several threads to read one model at
/// once (solvers in several threads may share it) as long as none modifies it, which the
/// rule above guarantees, and its reference count is atomic.
///
/// ```
/// use hamdeq::{Model, HAM_MODEL_CLAMPED_INPUT, HAM_OPERATOR_EVEN_ODD, HAM_OPERATOR_SYNC};
/// let mut model = Model::new(&[4, 3, 2], HAM_MODEL_CLAMPED_INPUT)?;
/// model.init_xavier(7)?;
/// assert_eq!(model.layer_sizes(), [4, 3, 2]);
/// assert_eq!(model.state_dim(HAM_OPERATOR_SYNC)?, 5); // layers 1 and 2
/// assert_eq!(model.state_dim(HAM_OPERATOR_EVEN_ODD)?, 2); // layer 2's parity class
/// let w = model.weights(0)?;
/// assert_eq!(w.len(), 12);
/// let copy = Model::from_bytes(&model.to_bytes()?)?;
/// assert_eq!(copy.weights(0)?, w);
/// # Ok::<(), hamdeq::Error>(())
/// ```
pub struct Model {
    ptr: NonNull<sys::ham_model_t>,
    /// One clone per handle to this model in Rust: the model may be modified only
    /// through a handle whose token is unique.
    token: Arc<()>,
}

// SAFETY: the library allows any thread to use a model and to take and drop references
// (atomic count); concurrent modification is excluded by `exclusive` (see above), and
// custom Lagrangians are required to be `Send + Sync`.
unsafe impl Send for Model {}
// SAFETY: `&Model` only reads the model, which the library allows from several threads.
unsafe impl Sync for Model {}

/// A model's recorded solver settings ([`Model::defaults`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Defaults {
    /// `HAM_OPERATOR_*`
    pub operator: i32,
    /// `HAM_SOLVER_*`
    pub solver: i32,
    /// relative tolerance
    pub tol: f64,
    /// operator evaluations per sample at most
    pub max_iter: i32,
}

/// Takes ownership of a model returned by a constructor.
fn from_new(status: std::os::raw::c_int, ptr: *mut sys::ham_model_t) -> Result<Model> {
    check(status)?;
    let ptr = NonNull::new(ptr).expect("libhamdeq returned HAM_OK and no model");
    Ok(Model { ptr, token: Arc::new(()) })
}

impl Model {
    /// A model with the given layer sizes (`ham_model_new`): shifted-sigmoid
    /// Lagrangians, zero weights and biases. `flags`:
    /// [`HAM_MODEL_CLAMPED_INPUT`](crate::HAM_MODEL_CLAMPED_INPUT) or
    /// [`HAM_MODEL_FREE_INPUT`](crate::HAM_MODEL_FREE_INPUT).
    pub fn new(sizes: &[usize], flags: u32) -> Result<Model> {
        let sizes: Vec<i32> =
            sizes.iter().map(|&n| to_i32(n, "layer size")).collect::<Result<_>>()?;
        let n = to_i32(sizes.len(), "number of layers")?;
        let mut ptr = ptr::null_mut();
        // SAFETY: `sizes` holds `n` values.
        let status = unsafe { sys::ham_model_new(&mut ptr, n, sizes.as_ptr(), flags) };
        from_new(status, ptr)
    }

    /// Loads a model file written by [`save`](Model::save) (`ham_model_load`).
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        let path = c_path(path.as_ref(), "model path")?;
        let mut ptr = ptr::null_mut();
        // SAFETY: `path` is a NUL-terminated string.
        let status = unsafe { sys::ham_model_load(&mut ptr, path.as_ptr()) };
        from_new(status, ptr)
    }

    /// Decodes a model from the bytes of [`to_bytes`](Model::to_bytes) or of a model file
    /// (`ham_model_load_buffer`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        let mut ptr = ptr::null_mut();
        // SAFETY: the library reads `bytes.len()` bytes at most.
        let status =
            unsafe { sys::ham_model_load_buffer(&mut ptr, bytes.as_ptr().cast(), bytes.len()) };
        from_new(status, ptr)
    }

    /// A Modern Hopfield network storing the rows of `patterns` (`n_patterns x dim`,
    /// row-major) with inverse temperature `beta` (`ham_mhn_new`): layer 0 the hidden
    /// softmax layer, layer 1 the visible one; its even-odd operator is
    /// `v <- X softmax(beta X^T v)`. See [`Model::mhn_energy`] and
    /// [`Solver::mhn_find_minima`](crate::Solver::mhn_find_minima).
    pub fn new_mhn(patterns: &[f32], dim: usize, beta: f64) -> Result<Model> {
        let n = rows(patterns.len(), dim, "patterns")?;
        let mut ptr = ptr::null_mut();
        // SAFETY: `patterns` holds n x dim values.
        let status = unsafe {
            sys::ham_mhn_new(
                &mut ptr,
                patterns.as_ptr(),
                to_i32(n, "n_patterns")?,
                to_i32(dim, "dim")?,
                beta,
            )
        };
        from_new(status, ptr)
    }

    /// Another handle to the same model (`ham_model_ref`): changes made through one are
    /// seen by all, so while it exists neither handle can modify the model.
    pub fn share(&self) -> Model {
        // SAFETY: `self` holds a reference, so the model is alive.
        let ptr = unsafe { sys::ham_model_ref(self.ptr.as_ptr()) };
        Model {
            ptr: NonNull::new(ptr).expect("ham_model_ref returned NULL"),
            token: self.token.clone(),
        }
    }

    /// An independent copy (`ham_model_clone`): weights, biases, Lagrangians and
    /// defaults copied; a custom Lagrangian's object is shared.
    pub fn deep_clone(&self) -> Result<Model> {
        let mut ptr = ptr::null_mut();
        // SAFETY: `self.ptr` is a live model.
        let status = unsafe { sys::ham_model_clone(&mut ptr, self.ptr.as_ptr()) };
        from_new(status, ptr)
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::ham_model_t {
        self.ptr.as_ptr()
    }

    /// True when this is the only handle to the model in Rust (no share, solver or
    /// trainer holds it).
    pub fn is_unique(&self) -> bool {
        Arc::strong_count(&self.token) == 1
    }

    /// The model, for a call that modifies it: only through the only handle.
    pub(crate) fn exclusive(&mut self) -> Result<*mut sys::ham_model_t> {
        if Arc::get_mut(&mut self.token).is_none() {
            return Err(invalid(format!(
                "the model is shared with {} other handle(s) (solvers, trainers or \
                 Model::share): it can be modified only through its only handle",
                Arc::strong_count(&self.token) - 1
            )));
        }
        Ok(self.ptr.as_ptr())
    }

    /// Number of layers.
    pub fn n_layers(&self) -> usize {
        // SAFETY: live model.
        unsafe { sys::ham_model_n_layers(self.ptr.as_ptr()) as usize }
    }

    /// Size of layer `layer` (0 when out of range).
    pub fn layer_size(&self, layer: usize) -> usize {
        let Ok(layer) = i32::try_from(layer) else { return 0 };
        // SAFETY: live model; any layer index is accepted.
        unsafe { sys::ham_model_layer_size(self.ptr.as_ptr(), layer) as usize }
    }

    /// All layer sizes.
    pub fn layer_sizes(&self) -> Vec<usize> {
        (0..self.n_layers()).map(|l| self.layer_size(l)).collect()
    }

    /// True when layer 0 is clamped to the input.
    pub fn has_clamped_input(&self) -> bool {
        // SAFETY: live model.
        unsafe { sys::ham_model_has_clamped_input(self.ptr.as_ptr()) != 0 }
    }

    /// Sets layer `layer`'s Lagrangian to a built-in kind (`HAM_LAGRANGIAN_*`); `param` is
    /// the softmax's beta, ignored by the other kinds.
    pub fn set_lagrangian(&mut self, layer: usize, kind: i32, param: f64) -> Result<()> {
        let layer = to_i32(layer, "layer")?;
        let m = self.exclusive()?;
        // SAFETY: live model, held alone.
        check(unsafe { sys::ham_model_set_lagrangian(m, layer, kind, param) })
    }

    /// Layer `layer`'s Lagrangian: its kind and parameter (beta for softmax, else 0).
    pub fn lagrangian(&self, layer: usize) -> Result<(i32, f64)> {
        let (mut kind, mut param) = (0, 0.0);
        // SAFETY: live model; outputs are valid.
        check(unsafe {
            sys::ham_model_get_lagrangian(
                &mut kind,
                &mut param,
                self.ptr.as_ptr(),
                to_i32(layer, "layer")?,
            )
        })?;
        Ok((kind, param))
    }

    /// Xavier-uniform weights from `seed` (the same on every platform) and zero biases.
    pub fn init_xavier(&mut self, seed: u64) -> Result<()> {
        let m = self.exclusive()?;
        // SAFETY: live model, held alone.
        check(unsafe { sys::ham_model_init_xavier(m, seed) })
    }

    fn block_len(&self, block: usize) -> usize {
        if block + 1 < self.n_layers() {
            self.layer_size(block) * self.layer_size(block + 1)
        } else {
            0
        }
    }

    /// Weight block `W_block` (`N_block x N_{block+1}`, row-major).
    pub fn weights(&self, block: usize) -> Result<Vec<f32>> {
        let mut out = vec![0.0; self.block_len(block)];
        // SAFETY: the library writes `out.len()` floats at most (it checks the count).
        check(unsafe {
            sys::ham_model_get_weights(
                out.as_mut_ptr(),
                self.ptr.as_ptr(),
                to_i32(block, "block")?,
                out.len(),
            )
        })?;
        Ok(out)
    }

    /// Sets weight block `W_block` from `N_block x N_{block+1}` finite values.
    pub fn set_weights(&mut self, block: usize, w: &[f32]) -> Result<()> {
        let block = to_i32(block, "block")?;
        let m = self.exclusive()?;
        // SAFETY: the library checks `w.len()` against the block before reading.
        check(unsafe { sys::ham_model_set_weights(m, block, w.as_ptr(), w.len()) })
    }

    /// The bias of free layer `layer` (`N_layer` values).
    pub fn bias(&self, layer: usize) -> Result<Vec<f32>> {
        let mut out = vec![0.0; self.layer_size(layer)];
        // SAFETY: the library checks the count before writing.
        check(unsafe {
            sys::ham_model_get_bias(
                out.as_mut_ptr(),
                self.ptr.as_ptr(),
                to_i32(layer, "layer")?,
                out.len(),
            )
        })?;
        Ok(out)
    }

    /// Sets the bias of free layer `layer` from `N_layer` finite values.
    pub fn set_bias(&mut self, layer: usize, b: &[f32]) -> Result<()> {
        let layer = to_i32(layer, "layer")?;
        let m = self.exclusive()?;
        // SAFETY: the library checks `b.len()` before reading.
        check(unsafe { sys::ham_model_set_bias(m, layer, b.as_ptr(), b.len()) })
    }

    /// Values per sample of the state of operator `op` (`HAM_OPERATOR_*`).
    pub fn state_dim(&self, op: i32) -> Result<usize> {
        let mut dim = 0;
        // SAFETY: live model.
        check(unsafe { sys::ham_model_state_dim(&mut dim, self.ptr.as_ptr(), op) })?;
        Ok(dim as usize)
    }

    /// Where layer `layer` starts in one sample's state of operator `op`.
    pub fn state_offset(&self, op: i32, layer: usize) -> Result<usize> {
        let mut off = 0;
        // SAFETY: live model.
        check(unsafe {
            sys::ham_model_state_offset(&mut off, self.ptr.as_ptr(), op, to_i32(layer, "layer")?)
        })?;
        Ok(off as usize)
    }

    /// Checks `x` against `batch` samples: required (N_0 values each) for a clamped
    /// model, absent otherwise. Returns the pointer to pass.
    pub(crate) fn input_ptr(&self, x: Option<&[f32]>, batch: usize) -> Result<*const f32> {
        match (self.has_clamped_input(), x) {
            (true, Some(x)) => {
                expect_len(x.len(), batch * self.layer_size(0), "the input x")?;
                Ok(x.as_ptr())
            }
            (false, None) => Ok(ptr::null()),
            (true, None) => Err(Error::new(
                sys::HAM_ERR_NULL,
                "the model has a clamped input layer: x is required",
            )),
            (false, Some(_)) => {
                Err(invalid("the model has no clamped input layer: x must be None"))
            }
        }
    }

    /// `(batch, dim)` of a state slice for operator `op`.
    fn batch_of(&self, op: i32, s: &[f32], what: &str) -> Result<(usize, usize)> {
        let dim = self.state_dim(op)?;
        Ok((rows(s.len(), dim, what)?, dim))
    }

    /// Applies operator `op` to states `s` (`batch x state_dim(op)`): `F(s)` (sync) or
    /// `G(s)` (even-odd). `x`: `batch x N_0` inputs for a clamped model, `None` otherwise.
    pub fn apply(&self, op: i32, x: Option<&[f32]>, s: &[f32]) -> Result<Vec<f32>> {
        let (batch, _) = self.batch_of(op, s, "the state s")?;
        let xp = self.input_ptr(x, batch)?;
        let mut out = vec![0.0; s.len()];
        // SAFETY: every buffer holds batch rows of the sizes the library expects.
        check(unsafe {
            sys::ham_model_apply(
                out.as_mut_ptr(),
                self.ptr.as_ptr(),
                op,
                to_i32(batch, "batch")?,
                xp,
                s.as_ptr(),
            )
        })?;
        Ok(out)
    }

    /// Jacobian-vector product `J(s) v` of operator `op`, one tangent `v` per sample.
    pub fn jvp(&self, op: i32, x: Option<&[f32]>, s: &[f32], v: &[f32]) -> Result<Vec<f32>> {
        self.product(op, x, s, v, sys::ham_model_jvp)
    }

    /// Vector-Jacobian product `J(s)^T v` of operator `op`, one `v` per sample.
    pub fn vjp(&self, op: i32, x: Option<&[f32]>, s: &[f32], v: &[f32]) -> Result<Vec<f32>> {
        self.product(op, x, s, v, sys::ham_model_vjp)
    }

    fn product(
        &self,
        op: i32,
        x: Option<&[f32]>,
        s: &[f32],
        v: &[f32],
        f: unsafe extern "C" fn(
            *mut f32,
            *const sys::ham_model_t,
            i32,
            i32,
            *const f32,
            *const f32,
            *const f32,
        ) -> std::os::raw::c_int,
    ) -> Result<Vec<f32>> {
        let (batch, _) = self.batch_of(op, s, "the state s")?;
        expect_len(v.len(), s.len(), "the tangent v")?;
        let xp = self.input_ptr(x, batch)?;
        let mut out = vec![0.0; s.len()];
        // SAFETY: every buffer holds batch rows of the sizes the library expects.
        check(unsafe {
            f(
                out.as_mut_ptr(),
                self.ptr.as_ptr(),
                op,
                to_i32(batch, "batch")?,
                xp,
                s.as_ptr(),
                v.as_ptr(),
            )
        })?;
        Ok(out)
    }

    /// Energy `E(s; x)` of full (synchronous) states, one value per sample.
    pub fn energy(&self, x: Option<&[f32]>, full: &[f32]) -> Result<Vec<f64>> {
        let (batch, _) = self.batch_of(sys::HAM_OPERATOR_SYNC, full, "the full state")?;
        let xp = self.input_ptr(x, batch)?;
        let mut out = vec![0.0; batch];
        // SAFETY: buffers sized for `batch`.
        check(unsafe {
            sys::ham_model_energy(
                out.as_mut_ptr(),
                self.ptr.as_ptr(),
                to_i32(batch, "batch")?,
                xp,
                full.as_ptr(),
            )
        })?;
        Ok(out)
    }

    /// Full states from even-odd states: the other parity class set to its conditional
    /// optimum.
    pub fn eo_to_full(&self, x: Option<&[f32]>, eo: &[f32]) -> Result<Vec<f32>> {
        let (batch, _) = self.batch_of(sys::HAM_OPERATOR_EVEN_ODD, eo, "the even-odd state")?;
        let xp = self.input_ptr(x, batch)?;
        let mut out = vec![0.0; batch * self.state_dim(sys::HAM_OPERATOR_SYNC)?];
        // SAFETY: buffers sized for `batch`.
        check(unsafe {
            sys::ham_model_eo_to_full(
                out.as_mut_ptr(),
                self.ptr.as_ptr(),
                to_i32(batch, "batch")?,
                xp,
                eo.as_ptr(),
            )
        })?;
        Ok(out)
    }

    /// The even-odd states inside full states (a copy of the state class's layers).
    pub fn full_to_eo(&self, full: &[f32]) -> Result<Vec<f32>> {
        let (batch, _) = self.batch_of(sys::HAM_OPERATOR_SYNC, full, "the full state")?;
        let mut out = vec![0.0; batch * self.state_dim(sys::HAM_OPERATOR_EVEN_ODD)?];
        // SAFETY: buffers sized for `batch`.
        check(unsafe {
            sys::ham_model_full_to_eo(
                out.as_mut_ptr(),
                self.ptr.as_ptr(),
                to_i32(batch, "batch")?,
                full.as_ptr(),
            )
        })?;
        Ok(out)
    }

    /// Records the solver the model is meant to be run with (saved in model files); see
    /// [`Solver::with_defaults`](crate::Solver::with_defaults).
    pub fn set_defaults(
        &mut self,
        operator: i32,
        solver: i32,
        tol: f64,
        max_iter: i32,
    ) -> Result<()> {
        let m = self.exclusive()?;
        // SAFETY: live model, held alone.
        check(unsafe { sys::ham_model_set_defaults(m, operator, solver, tol, max_iter) })
    }

    /// The recorded solver settings.
    pub fn defaults(&self) -> Result<Defaults> {
        let mut d = Defaults { operator: 0, solver: 0, tol: 0.0, max_iter: 0 };
        // SAFETY: live model; outputs valid.
        check(unsafe {
            sys::ham_model_get_defaults(
                &mut d.operator,
                &mut d.solver,
                &mut d.tol,
                &mut d.max_iter,
                self.ptr.as_ptr(),
            )
        })?;
        Ok(d)
    }

    /// Saves the model to a file, atomically (`ham_model_save`).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = c_path(path.as_ref(), "model path")?;
        // SAFETY: live model, NUL-terminated path.
        check(unsafe { sys::ham_model_save(self.ptr.as_ptr(), path.as_ptr()) })
    }

    /// The bytes [`save`](Model::save) writes (`ham_model_save_buffer`).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut size = 0usize;
        // SAFETY: a size query (buf NULL).
        check(unsafe {
            sys::ham_model_save_buffer(ptr::null_mut(), &mut size, self.ptr.as_ptr())
        })?;
        let mut buf = vec![0u8; size];
        // SAFETY: `buf` holds `size` bytes, the capacity passed in.
        check(unsafe {
            sys::ham_model_save_buffer(buf.as_mut_ptr().cast(), &mut size, self.ptr.as_ptr())
        })?;
        buf.truncate(size);
        Ok(buf)
    }

    /// Energy of visible states `v` (`batch x dim`) of a Modern Hopfield network
    /// (`ham_mhn_energy`).
    pub fn mhn_energy(&self, v: &[f32]) -> Result<Vec<f64>> {
        self.mhn_per_sample(v, sys::ham_mhn_energy)
    }

    /// Smallest eigenvalue of a Modern Hopfield network's energy Hessian at visible states
    /// `v` (`ham_mhn_hessian_min`): positive at a strict local minimum.
    pub fn mhn_hessian_min(&self, v: &[f32]) -> Result<Vec<f64>> {
        self.mhn_per_sample(v, sys::ham_mhn_hessian_min)
    }

    fn mhn_per_sample(
        &self,
        v: &[f32],
        f: unsafe extern "C" fn(
            *mut f64,
            *const sys::ham_model_t,
            i32,
            *const f32,
        ) -> std::os::raw::c_int,
    ) -> Result<Vec<f64>> {
        // The visible layer is layer 1 of an MHN. The library checks the rest of the
        // layout (free input, softmax and identity Lagrangians).
        if self.n_layers() != 2 {
            return Err(Error::new(
                sys::HAM_ERR_UNSUPPORTED,
                "not a Modern Hopfield network: an MHN has 2 layers",
            ));
        }
        let dim = self.layer_size(1);
        let batch = rows(v.len(), dim, "the visible states v")?;
        let mut out = vec![0.0; batch];
        // SAFETY: `v` holds batch x N_1 values, `out` batch.
        check(unsafe {
            f(out.as_mut_ptr(), self.ptr.as_ptr(), to_i32(batch, "batch")?, v.as_ptr())
        })?;
        Ok(out)
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: this handle's reference; a custom Lagrangian's destructor may run.
        unsafe { sys::ham_model_free(self.ptr.as_ptr()) };
        crate::ffi::after_void_call();
    }
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model")
            .field("layers", &self.layer_sizes())
            .field("clamped_input", &self.has_clamped_input())
            .finish()
    }
}

/// `beta_s = 1 / lambda_max(Cov(X))` of the patterns' rows (`n_patterns x dim`): the
/// inverse temperature at which a Modern Hopfield network's mean attractor loses
/// stability (`ham_mhn_beta_s`); infinite when all patterns are equal.
///
/// ```
/// // three unit-norm patterns of a regular simplex: beta_s = N - 1 = 2
/// let h = 3f32.sqrt() / 2.0;
/// let patterns = [1.0, 0.0, -0.5, h, -0.5, -h];
/// let beta_s = hamdeq::mhn_beta_s(&patterns, 2)?;
/// assert!((beta_s - 2.0).abs() < 1e-5);
/// # Ok::<(), hamdeq::Error>(())
/// ```
pub fn mhn_beta_s(patterns: &[f32], dim: usize) -> Result<f64> {
    let n = rows(patterns.len(), dim, "patterns")?;
    let mut beta_s = 0.0;
    // SAFETY: `patterns` holds n x dim values.
    check(unsafe {
        sys::ham_mhn_beta_s(
            &mut beta_s,
            patterns.as_ptr(),
            to_i32(n, "n_patterns")?,
            to_i32(dim, "dim")?,
        )
    })?;
    Ok(beta_s)
}
