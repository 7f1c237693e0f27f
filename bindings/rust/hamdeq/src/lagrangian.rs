//! Custom Lagrangians: [`Lagrangian`] implemented in Rust and registered with
//! [`Model::set_custom_lagrangian`].
use std::ffi::CString;
use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use hamdeq_sys as sys;

use crate::error::Result;
use crate::ffi::{c_string, check, record_panic, to_i32};
use crate::model::Model;

/// A layer Lagrangian `L(s)`, convex, with its activation `g = grad L(s)` and Hessian
/// `H(s)`, evaluated one row (one sample, `n` units) at a time.
///
/// The library may call these from any thread that uses the model, and several at once
/// when solvers in several threads share it, hence `Send + Sync`. They return no status:
/// a method that panics has its panic caught at the C boundary, its output set to NaN
/// (the samples it reaches end as diverged), and the panic resumed on the calling thread
/// when the library call returns.
pub trait Lagrangian: Send + Sync + 'static {
    /// `L(s)` for one row.
    fn value(&self, s: &[f32]) -> f64;
    /// `g = grad L(s)` for one row (`g.len() == s.len()`).
    fn activation(&self, s: &[f32], g: &mut [f32]);
    /// `out = H(s) v` for one row, given `s` and its activation `g`.
    fn hvp(&self, s: &[f32], g: &[f32], v: &[f32], out: &mut [f32]);
}

struct Holder<L> {
    name: CString,
    lagrangian: L,
}

/// Runs `f` on a row; a panic is kept for the calling thread and NaN written instead.
fn guarded<R>(f: impl FnOnce() -> R, on_panic: impl FnOnce()) -> Option<R> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => Some(r),
        Err(payload) => {
            record_panic(payload);
            on_panic();
            None
        }
    }
}

/// Overlap of two float ranges: the library passes distinct buffers, but the Rust
/// references below must not alias, so this is checked rather than assumed.
fn overlaps(a: *const f32, b: *const f32, n: usize) -> bool {
    let (a, b) = (a as usize, b as usize);
    let bytes = n * std::mem::size_of::<f32>();
    a < b + bytes && b < a + bytes
}

unsafe extern "C" fn value<L: Lagrangian>(s: *const f32, n: i32, user: *mut c_void) -> f64 {
    let h = &*(user as *const Holder<L>);
    let s = crate::ffi::slice(s, n);
    guarded(|| h.lagrangian.value(s), || ()).unwrap_or(f64::NAN)
}

unsafe extern "C" fn activation<L: Lagrangian>(
    g: *mut f32,
    s: *const f32,
    n: i32,
    user: *mut c_void,
) {
    let h = &*(user as *const Holder<L>);
    let len = n.max(0) as usize;
    if g.is_null() || s.is_null() || len == 0 {
        return;
    }
    let s_copy;
    let s = if overlaps(g, s, len) {
        s_copy = std::slice::from_raw_parts(s, len).to_vec();
        &s_copy[..]
    } else {
        std::slice::from_raw_parts(s, len)
    };
    let g = std::slice::from_raw_parts_mut(g, len);
    let gp = g.as_mut_ptr();
    guarded(
        || h.lagrangian.activation(s, g),
        || std::slice::from_raw_parts_mut(gp, len).fill(f32::NAN),
    );
}

unsafe extern "C" fn hvp<L: Lagrangian>(
    out: *mut f32,
    s: *const f32,
    g: *const f32,
    v: *const f32,
    n: i32,
    user: *mut c_void,
) {
    let h = &*(user as *const Holder<L>);
    let len = n.max(0) as usize;
    if out.is_null() || s.is_null() || g.is_null() || v.is_null() || len == 0 {
        return;
    }
    let copies;
    let (s, g, v) = if overlaps(out, s, len) || overlaps(out, g, len) || overlaps(out, v, len) {
        copies = (
            std::slice::from_raw_parts(s, len).to_vec(),
            std::slice::from_raw_parts(g, len).to_vec(),
            std::slice::from_raw_parts(v, len).to_vec(),
        );
        (&copies.0[..], &copies.1[..], &copies.2[..])
    } else {
        (
            std::slice::from_raw_parts(s, len),
            std::slice::from_raw_parts(g, len),
            std::slice::from_raw_parts(v, len),
        )
    };
    let o = std::slice::from_raw_parts_mut(out, len);
    guarded(
        || h.lagrangian.hvp(s, g, v, o),
        || std::slice::from_raw_parts_mut(out, len).fill(f32::NAN),
    );
}

unsafe extern "C" fn destroy<L: Lagrangian>(user: *mut c_void) {
    let holder = Box::from_raw(user as *mut Holder<L>);
    guarded(move || drop(holder), || ());
}

impl Model {
    /// Gives layer `layer` a Lagrangian implemented in Rust
    /// (`ham_model_set_custom_lagrangian`); `name` appears in messages. The model (and
    /// any [`deep_clone`](Model::deep_clone) made of it later) owns `lagrangian` and
    /// drops it when the last of them lets go of the layer. A model with a custom
    /// Lagrangian cannot be saved.
    ///
    /// ```
    /// use hamdeq::{Lagrangian, Model, HAM_LAGRANGIAN_TANH, HAM_MODEL_CLAMPED_INPUT,
    ///              HAM_OPERATOR_SYNC};
    /// /// L(s) = sum log cosh(s_i): the built-in tanh Lagrangian, written in Rust.
    /// struct LogCosh;
    /// impl Lagrangian for LogCosh {
    ///     fn value(&self, s: &[f32]) -> f64 {
    ///         s.iter().map(|&x| (x as f64).cosh().ln()).sum()
    ///     }
    ///     fn activation(&self, s: &[f32], g: &mut [f32]) {
    ///         for (g, s) in g.iter_mut().zip(s) {
    ///             *g = s.tanh();
    ///         }
    ///     }
    ///     fn hvp(&self, _s: &[f32], g: &[f32], v: &[f32], out: &mut [f32]) {
    ///         for i in 0..g.len() {
    ///             out[i] = (1.0 - g[i] * g[i]) * v[i];
    ///         }
    ///     }
    /// }
    /// let mut builtin = Model::new(&[3, 4, 2], HAM_MODEL_CLAMPED_INPUT)?;
    /// builtin.init_xavier(3)?;
    /// builtin.set_lagrangian(1, HAM_LAGRANGIAN_TANH, 0.0)?;
    /// let mut custom = builtin.deep_clone()?;
    /// custom.set_custom_lagrangian(1, "log-cosh", LogCosh)?;
    /// assert_eq!(custom.lagrangian(1)?.0, hamdeq::HAM_LAGRANGIAN_CUSTOM);
    ///
    /// // The synchronous operator feeds layer 1's activation to layer 2: same result.
    /// let x = [0.1, 0.5, 0.9];
    /// let s = [0.3, -0.2, 0.8, -1.0, 0.5, 0.25];
    /// let a = builtin.apply(HAM_OPERATOR_SYNC, Some(&x), &s)?;
    /// let b = custom.apply(HAM_OPERATOR_SYNC, Some(&x), &s)?;
    /// for (a, b) in a.iter().zip(&b) {
    ///     assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    /// }
    /// # Ok::<(), hamdeq::Error>(())
    /// ```
    pub fn set_custom_lagrangian<L: Lagrangian>(
        &mut self,
        layer: usize,
        name: &str,
        lagrangian: L,
    ) -> Result<()> {
        let layer = to_i32(layer, "layer")?;
        let name = c_string(name, "Lagrangian name")?;
        let m = self.exclusive()?;
        let holder = Box::into_raw(Box::new(Holder { name, lagrangian }));
        let def = sys::ham_lagrangian_def_t {
            size: std::mem::size_of::<sys::ham_lagrangian_def_t>() as u32,
            flags: 0,
            // SAFETY (for the library): the holder, and so the name, lives until destroy.
            name: unsafe { (*holder).name.as_ptr() },
            value: Some(value::<L>),
            activation: Some(activation::<L>),
            hvp: Some(hvp::<L>),
            user: holder.cast(),
            destroy: Some(destroy::<L>),
        };
        // SAFETY: `def` is a complete definition; on success the library owns `holder`.
        let result = check(unsafe { sys::ham_model_set_custom_lagrangian(m, layer, &def) });
        if result.is_err() {
            // On failure nothing was taken: the holder is still ours.
            // SAFETY: `holder` came from Box::into_raw above and was not handed over.
            drop(unsafe { Box::from_raw(holder) });
        }
        result
    }
}
