//! [`Dataset`]: labelled samples read from IDX or .npy files.
use std::fmt;
use std::path::Path;
use std::ptr::{self, NonNull};

use hamdeq_sys as sys;

use crate::error::{invalid, Result};
use crate::ffi::{c_path, c_string, check, expect_len, rows, to_i32};

/// Options of the dataset loaders (`ham_load_options_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LoadOptions {
    /// Most bytes one load may allocate for the data; 0: the library's default,
    /// [`HAM_LOAD_DEFAULT_MAX_BYTES`](crate::HAM_LOAD_DEFAULT_MAX_BYTES) (2 GiB);
    /// `u64::MAX`: no limit. A load that needs more fails with
    /// [`HAM_ERR_NOMEM`](crate::HAM_ERR_NOMEM).
    pub max_bytes: u64,
}

impl LoadOptions {
    /// Options with a cap on the bytes one load may allocate.
    pub fn with_max_bytes(max_bytes: u64) -> LoadOptions {
        LoadOptions { max_bytes }
    }

    fn raw(&self) -> sys::ham_load_options_t {
        sys::ham_load_options_t {
            size: std::mem::size_of::<sys::ham_load_options_t>() as u32,
            flags: 0,
            max_bytes: self.max_bytes,
        }
    }
}

/// Labelled samples (`ham_dataset_t`), kept compactly (bytes stay bytes) and copied out as
/// `f32` batches (bytes divided by 255).
///
/// # Threading
///
/// `Send` and `Sync`: a dataset is read-only after loading and may be shared by threads.
pub struct Dataset {
    ptr: NonNull<sys::ham_dataset_t>,
}

// SAFETY: read-only after loading; the library allows sharing it between threads.
unsafe impl Send for Dataset {}
// SAFETY: as above.
unsafe impl Sync for Dataset {}

fn from_new(status: std::os::raw::c_int, ptr: *mut sys::ham_dataset_t) -> Result<Dataset> {
    check(status)?;
    Ok(Dataset { ptr: NonNull::new(ptr).expect("libhamdeq returned HAM_OK and no dataset") })
}

impl Dataset {
    /// Loads IDX files, raw or gzip-compressed (`ham_dataset_load_idx`): images of
    /// unsigned bytes with 2 or more dimensions, and optionally `n` labels.
    pub fn load_idx(
        images: impl AsRef<Path>,
        labels: Option<&Path>,
        options: &LoadOptions,
    ) -> Result<Dataset> {
        let images = c_path(images.as_ref(), "images path")?;
        let labels = labels.map(|l| c_path(l, "labels path")).transpose()?;
        let opts = options.raw();
        let mut ptr = ptr::null_mut();
        // SAFETY: NUL-terminated paths (or NULL), a size-prefixed options struct.
        let status = unsafe {
            sys::ham_dataset_load_idx(
                &mut ptr,
                images.as_ptr(),
                labels.as_ref().map_or(ptr::null(), |l| l.as_ptr()),
                &opts,
            )
        };
        from_new(status, ptr)
    }

    /// Loads NumPy `.npy` files (`ham_dataset_load_npy`): `<f4` or `|u1` samples and
    /// optionally integer labels.
    pub fn load_npy(
        samples: impl AsRef<Path>,
        labels: Option<&Path>,
        options: &LoadOptions,
    ) -> Result<Dataset> {
        let samples = c_path(samples.as_ref(), "samples path")?;
        let labels = labels.map(|l| c_path(l, "labels path")).transpose()?;
        let opts = options.raw();
        let mut ptr = ptr::null_mut();
        // SAFETY: as in load_idx.
        let status = unsafe {
            sys::ham_dataset_load_npy(
                &mut ptr,
                samples.as_ptr(),
                labels.as_ref().map_or(ptr::null(), |l| l.as_ptr()),
                &opts,
            )
        };
        from_new(status, ptr)
    }

    /// Loads one split of an MNIST-style directory (`ham_dataset_load_dir`):
    /// `DIR/{split}-images-idx3-ubyte` and `DIR/{split}-labels-idx1-ubyte`, each with or
    /// without `.gz`; `split` is `"train"` or `"t10k"` for MNIST.
    pub fn load_dir(dir: impl AsRef<Path>, split: &str, options: &LoadOptions) -> Result<Dataset> {
        let dir = c_path(dir.as_ref(), "directory")?;
        let split = c_string(split, "split")?;
        let opts = options.raw();
        let mut ptr = ptr::null_mut();
        // SAFETY: NUL-terminated strings, a size-prefixed options struct.
        let status =
            unsafe { sys::ham_dataset_load_dir(&mut ptr, dir.as_ptr(), split.as_ptr(), &opts) };
        from_new(status, ptr)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        // SAFETY: live dataset.
        unsafe { sys::ham_dataset_count(self.ptr.as_ptr()) }.max(0) as usize
    }

    /// True when there are no samples (never, for a loaded dataset).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values per sample, e.g. 784 for 28 x 28 images.
    pub fn dim(&self) -> usize {
        // SAFETY: live dataset.
        unsafe { sys::ham_dataset_dim(self.ptr.as_ptr()) }.max(0) as usize
    }

    /// True when the dataset has labels.
    pub fn has_labels(&self) -> bool {
        // SAFETY: live dataset.
        unsafe { sys::ham_dataset_has_labels(self.ptr.as_ptr()) != 0 }
    }

    /// Number of classes: the largest label + 1 (0 without labels).
    pub fn n_classes(&self) -> usize {
        // SAFETY: live dataset.
        unsafe { sys::ham_dataset_n_classes(self.ptr.as_ptr()) }.max(0) as usize
    }

    /// Copies samples `first .. first + count` out: `count x dim` values, and their labels
    /// when the dataset has them.
    pub fn get(&self, first: usize, count: usize) -> Result<(Vec<f32>, Option<Vec<i32>>)> {
        // checked here so as not to allocate for a range the library will refuse
        match first.checked_add(count) {
            Some(end) if end <= self.len() => {}
            _ => {
                return Err(invalid(format!(
                    "samples {first} .. {first} + {count} are outside the {} samples",
                    self.len()
                )))
            }
        }
        let mut x = vec![0.0; count * self.dim()];
        let mut labels = self.has_labels().then(|| vec![0; count]);
        self.get_into(first, &mut x, labels.as_deref_mut())?;
        Ok((x, labels))
    }

    /// [`get`](Dataset::get) into caller's buffers: the count is `x.len() / dim`, and
    /// `labels` (if given) must hold as many values.
    pub fn get_into(&self, first: usize, x: &mut [f32], labels: Option<&mut [i32]>) -> Result<()> {
        let count = rows(x.len(), self.dim(), "x")?;
        let lp = self.labels_ptr(labels, count)?;
        let first = i64::try_from(first).map_err(|_| invalid("first is out of range"))?;
        // SAFETY: `x` holds count x dim values and `lp` count (or NULL).
        check(unsafe {
            sys::ham_dataset_get(
                x.as_mut_ptr(),
                lp,
                self.ptr.as_ptr(),
                first,
                to_i32(count, "count")?,
            )
        })
    }

    /// Copies the samples at `indices` out (shuffled mini-batches).
    pub fn gather(&self, indices: &[usize]) -> Result<(Vec<f32>, Option<Vec<i32>>)> {
        let mut x = vec![0.0; indices.len() * self.dim()];
        let mut labels = self.has_labels().then(|| vec![0; indices.len()]);
        self.gather_into(indices, &mut x, labels.as_deref_mut())?;
        Ok((x, labels))
    }

    /// [`gather`](Dataset::gather) into caller's buffers (`indices.len() x dim` values).
    pub fn gather_into(
        &self,
        indices: &[usize],
        x: &mut [f32],
        labels: Option<&mut [i32]>,
    ) -> Result<()> {
        let count = indices.len();
        expect_len(x.len(), count * self.dim(), "x")?;
        let lp = self.labels_ptr(labels, count)?;
        let idx: Vec<i64> = indices.iter().map(|&i| i64::try_from(i).unwrap_or(i64::MAX)).collect();
        // SAFETY: `x` holds count x dim values, `idx` and `lp` count; the library checks
        // every index before writing.
        check(unsafe {
            sys::ham_dataset_gather(
                x.as_mut_ptr(),
                lp,
                self.ptr.as_ptr(),
                idx.as_ptr(),
                to_i32(count, "count")?,
            )
        })
    }

    fn labels_ptr(&self, labels: Option<&mut [i32]>, count: usize) -> Result<*mut i32> {
        match labels {
            None => Ok(ptr::null_mut()),
            Some(l) => {
                expect_len(l.len(), count, "labels")?;
                Ok(l.as_mut_ptr())
            }
        }
    }
}

impl Drop for Dataset {
    fn drop(&mut self) {
        // SAFETY: ours.
        unsafe { sys::ham_dataset_free(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dataset")
            .field("len", &self.len())
            .field("dim", &self.dim())
            .field("n_classes", &self.n_classes())
            .finish()
    }
}
