//! Calling into the library: status checks, conversions, and the hand-over of panics and
//! errors that callbacks caught at the C boundary.
//!
//! No callback may unwind through the library (docs/api.md, "Callbacks"), so every
//! trampoline in this crate runs the user's code under `catch_unwind` and reports failure
//! by return value (or NaN). The panic is kept in a thread-local slot, on the thread the
//! callback ran on, which is the thread that called into the library; the wrapper of that
//! call resumes it with `resume_unwind` once the library has returned. An `Err` a
//! callback returns is kept the same way and returned by the call instead of the
//! library's generic error.
use std::any::Any;
use std::cell::RefCell;
use std::ffi::CString;
use std::os::raw::c_int;
use std::panic::resume_unwind;
use std::path::Path;

use crate::error::{invalid, Error, Result};

#[derive(Default)]
struct Pending {
    panic: Option<Box<dyn Any + Send>>,
    error: Option<Error>,
}

thread_local! {
    static PENDING: RefCell<Pending> = RefCell::new(Pending::default());
}

/// Keeps the first panic a callback caught during the current call.
pub(crate) fn record_panic(payload: Box<dyn Any + Send>) {
    // (During thread teardown the slot may be gone: the panic is then dropped.)
    let _ = PENDING.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.panic.is_none() {
            p.panic = Some(payload);
        }
    });
}

/// Keeps the first error a callback returned during the current call.
pub(crate) fn record_error(error: Error) {
    let _ = PENDING.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.error.is_none() {
            p.error = Some(error);
        }
    });
}

fn take_pending() -> Pending {
    PENDING.try_with(|p| std::mem::take(&mut *p.borrow_mut())).unwrap_or_default()
}

/// Turns the status of a call that just returned into a `Result`, reading
/// `ham_last_error()` first; resumes a panic a callback caught during the call.
pub(crate) fn check(status: c_int) -> Result<()> {
    let error = (status != 0).then(|| Error::last(status));
    let pending = take_pending();
    if let Some(payload) = pending.panic {
        resume_unwind(payload);
    }
    match error {
        None => Ok(()),
        Some(e) => Err(pending.error.unwrap_or(e)),
    }
}

/// After a call that returns nothing but may run callbacks (frees): resumes a caught
/// panic, unless this thread is already unwinding (then it is dropped).
pub(crate) fn after_void_call() {
    let pending = take_pending();
    if let Some(payload) = pending.panic {
        if !std::thread::panicking() {
            resume_unwind(payload);
        }
    }
}

/// A count or index as the library's `int32_t`.
pub(crate) fn to_i32(n: usize, what: &str) -> Result<i32> {
    i32::try_from(n).map_err(|_| invalid(format!("{what} = {n} is larger than 2^31 - 1")))
}

/// The number of rows of `len` values each `dim` long: a positive whole number.
pub(crate) fn rows(len: usize, dim: usize, what: &str) -> Result<usize> {
    #[allow(clippy::manual_is_multiple_of)] // is_multiple_of needs Rust 1.87
    if dim == 0 || len == 0 || len % dim != 0 {
        return Err(crate::error::dimension(format!(
            "{what} holds {len} values, not a positive whole number of rows of {dim}"
        )));
    }
    Ok(len / dim)
}

/// Checks that `slice` holds exactly `expected` values.
pub(crate) fn expect_len(len: usize, expected: usize, what: &str) -> Result<()> {
    if len != expected {
        return Err(crate::error::dimension(format!(
            "{what} holds {len} values, {expected} expected"
        )));
    }
    Ok(())
}

pub(crate) fn c_string(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| invalid(format!("{what} contains a NUL byte")))
}

pub(crate) fn c_path(path: &Path, what: &str) -> Result<CString> {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path
        .to_str()
        .ok_or_else(|| invalid(format!("{what} is not valid Unicode: {}", path.display())))?
        .as_bytes()
        .to_vec();
    CString::new(bytes).map_err(|_| invalid(format!("{what} contains a NUL byte")))
}

/// A slice from a pointer and length the library handed to a callback; empty for NULL.
///
/// # Safety
/// `ptr` must point to `len` valid values for `'a` when it is not NULL.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: i32) -> &'a [T] {
    if ptr.is_null() || len <= 0 {
        &[]
    } else {
        std::slice::from_raw_parts(ptr, len as usize)
    }
}
