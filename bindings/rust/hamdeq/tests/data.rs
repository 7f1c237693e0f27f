//! Datasets through the binding, from IDX and .npy files this test writes.
use hamdeq::*;
use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hamdeq-rust-data-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        v.extend(d.to_be_bytes());
    }
    v.extend(data);
    v
}

/// 5 images of 2 x 3 bytes (pixel j of image k = 50 k + j) and labels k % 3.
fn write_idx(dir: &Path, prefix: &str) -> (PathBuf, PathBuf) {
    let pixels: Vec<u8> = (0..5u8).flat_map(|k| (0..6u8).map(move |j| 50 * k + j)).collect();
    let labels: Vec<u8> = (0..5).map(|k| k % 3).collect();
    let (i, l) = (
        dir.join(format!("{prefix}-images-idx3-ubyte")),
        dir.join(format!("{prefix}-labels-idx1-ubyte")),
    );
    std::fs::write(&i, idx(&[5, 2, 3], &pixels)).unwrap();
    std::fs::write(&l, idx(&[5], &labels)).unwrap();
    (i, l)
}

#[test]
fn idx_files_load_and_copy_out() {
    let dir = tmp("idx");
    let (images, labels) = write_idx(&dir, "train");
    let d = Dataset::load_idx(&images, Some(&labels), &LoadOptions::default()).unwrap();
    assert_eq!((d.len(), d.dim(), d.n_classes(), d.has_labels()), (5, 6, 3, true));
    let (x, y) = d.get(1, 3).unwrap();
    assert_eq!(y.unwrap(), [1, 2, 0]);
    // bytes divided by 255, exactly
    let want: Vec<f32> =
        (1..4).flat_map(|k| (0..6).map(move |j| (50 * k + j) as f32 / 255.0)).collect();
    assert_eq!(x, want);
    let (x, y) = d.gather(&[4, 0]).unwrap();
    assert_eq!(y.unwrap(), [1, 0]);
    assert_eq!(x[0], 200.0 / 255.0);
    assert_eq!(x[6], 0.0);
    // into caller's buffers; wrong lengths refused
    let mut buf = vec![0.0; 12];
    let mut lab = [0; 2];
    d.get_into(3, &mut buf, Some(&mut lab)).unwrap();
    assert_eq!(lab, [0, 1]);
    assert_eq!(d.get_into(0, &mut buf, Some(&mut [0; 3])).unwrap_err().status(), HAM_ERR_DIMENSION);
    assert_eq!(d.get_into(0, &mut buf[..7], None).unwrap_err().status(), HAM_ERR_DIMENSION);
    assert_eq!(d.get(4, 2).unwrap_err().status(), HAM_ERR_INVALID, "past the end");
    assert_eq!(d.gather(&[0, 5]).unwrap_err().status(), HAM_ERR_INVALID);

    // the same through load_dir, and without labels
    let d2 = Dataset::load_dir(&dir, "train", &LoadOptions::default()).unwrap();
    assert_eq!(d2.get(0, 5).unwrap(), d.get(0, 5).unwrap());
    let unlabelled = Dataset::load_idx(&images, None, &LoadOptions::default()).unwrap();
    assert!(!unlabelled.has_labels());
    assert_eq!(unlabelled.n_classes(), 0);
    assert_eq!(unlabelled.get(0, 1).unwrap().1, None);

    // the byte cap
    let e =
        Dataset::load_idx(&images, Some(&labels), &LoadOptions::with_max_bytes(16)).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_NOMEM);
    // errors name the file
    let e = Dataset::load_dir(&dir, "t10k", &LoadOptions::default()).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_IO);
    assert!(e.message().contains("t10k-images-idx3-ubyte"), "{e}");
    std::fs::write(dir.join("bad"), b"not an idx file").unwrap();
    let e = Dataset::load_idx(dir.join("bad"), None, &LoadOptions::default()).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_FORMAT);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape = shape.iter().map(|d| format!("{d},")).collect::<String>();
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({shape}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend((header.len() as u16).to_le_bytes());
    v.extend(header.as_bytes());
    v.extend(data);
    v
}

#[test]
fn npy_files_load() {
    let dir = tmp("npy");
    let values: Vec<f32> = (0..8).map(|i| i as f32 * 0.25 - 1.0).collect();
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join("x.npy"), npy("<f4", &[4, 2], &bytes)).unwrap();
    let labels: Vec<u8> = [3i64, 0, 1, 3].iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join("y.npy"), npy("<i8", &[4], &labels)).unwrap();
    let d = Dataset::load_npy(dir.join("x.npy"), Some(&dir.join("y.npy")), &LoadOptions::default())
        .unwrap();
    assert_eq!((d.len(), d.dim(), d.n_classes()), (4, 2, 4));
    let (x, y) = d.get(0, 4).unwrap();
    assert_eq!(x, values, "float32 data is kept as is");
    assert_eq!(y.unwrap(), [3, 0, 1, 3]);
    std::fs::remove_dir_all(&dir).unwrap();
}
