//! [`Error`]: a failed libhamdeq call, with its status, the status's name and the message
//! `ham_last_error()` gave right after the call.
use std::ffi::CStr;
use std::fmt;

use hamdeq_sys as sys;

/// The result of a fallible call.
pub type Result<T> = std::result::Result<T, Error>;

/// A libhamdeq failure: a negative status (`HAM_ERR_*`), its name, and one line about what
/// failed.
///
/// Errors from the library carry the message `ham_last_error()` gave on the calling
/// thread right after the failing call. Errors found by this crate before calling the
/// library (a slice of the wrong length, a path with a NUL byte, a model that is shared
/// where a call needs it alone) use the status the library would use
/// ([`HAM_ERR_DIMENSION`](crate::HAM_ERR_DIMENSION),
/// [`HAM_ERR_INVALID`](crate::HAM_ERR_INVALID)) and a message of their own. An error a
/// callback returned (a convergence test, a custom backend) comes back unchanged.
///
/// ```
/// use hamdeq::{Model, HAM_ERR_INVALID, HAM_MODEL_CLAMPED_INPUT};
/// let err = Model::new(&[4], HAM_MODEL_CLAMPED_INPUT).unwrap_err();
/// assert_eq!(err.status(), HAM_ERR_INVALID);
/// assert_eq!(err.name(), "HAM_ERR_INVALID");
/// assert!(!err.message().is_empty());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    status: i32,
    name: &'static str,
    message: String,
}

fn static_str(p: *const std::os::raw::c_char) -> &'static str {
    if p.is_null() {
        return "";
    }
    // SAFETY: the library returns static, NUL-terminated ASCII strings here.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("")
}

impl Error {
    /// An error with a status (a negative `HAM_ERR_*` value) and a message, for callbacks
    /// to return. A status that is not negative is reported by the library as
    /// [`HAM_ERR_CALLBACK`](crate::HAM_ERR_CALLBACK); this value is still what the call
    /// that ran the callback returns.
    pub fn new(status: i32, message: impl Into<String>) -> Error {
        // SAFETY: ham_status_name accepts any int and returns a static string.
        let name = static_str(unsafe { sys::ham_status_name(status) });
        Error { status, name, message: message.into() }
    }

    /// The error of the failing call that just returned `status` on this thread.
    pub(crate) fn last(status: i32) -> Error {
        // SAFETY: ham_last_error never returns NULL; the string is valid until this
        // thread's next failing call, and is copied at once.
        let message = unsafe { CStr::from_ptr(sys::ham_last_error()) };
        Error::new(status, message.to_string_lossy().into_owned())
    }

    /// The status, a negative `HAM_ERR_*` value.
    pub fn status(&self) -> i32 {
        self.status
    }

    /// The status's name, e.g. `"HAM_ERR_DIMENSION"` (`ham_status_name`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// What failed: which argument, file or sample. May be empty.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The status's description in English, e.g. "array sizes or dimensions do not match
    /// the model" (`ham_strerror`).
    pub fn description(&self) -> &'static str {
        // SAFETY: ham_strerror accepts any int and returns a static string.
        static_str(unsafe { sys::ham_strerror(self.status) })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}: {}", self.name, self.description())
        } else {
            write!(f, "{}: {}", self.name, self.message)
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("status", &self.status)
            .field("name", &self.name)
            .field("message", &self.message)
            .finish()
    }
}

impl std::error::Error for Error {}

pub(crate) fn dimension(message: impl Into<String>) -> Error {
    Error::new(sys::HAM_ERR_DIMENSION, message)
}

pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::new(sys::HAM_ERR_INVALID, message)
}

pub(crate) fn static_name(p: *const std::os::raw::c_char) -> Option<&'static str> {
    (!p.is_null()).then(|| static_str(p))
}
