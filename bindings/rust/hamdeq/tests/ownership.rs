//! Lifetimes, sharing and threads: handles dropped in any order, a model modified only
//! through its only handle, solvers in several threads on one model, and slices checked
//! before the library sees them.
mod common;

use common::*;
use hamdeq::*;

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}

#[test]
fn send_and_sync_where_the_library_allows() {
    assert_send::<Model>();
    assert_sync::<Model>();
    assert_send::<Solver>();
    assert_send::<Trainer>();
    assert_send::<Dataset>();
    assert_sync::<Dataset>();
    assert_send::<Error>();
    assert_sync::<Error>();
    // Solver and Trainer are not Sync: compile_fail doc tests on those types check it.
}

#[test]
fn handles_may_be_dropped_in_any_order() {
    let model = random_model(&[4, 3, 2], 1, 0.5);
    let x = [0.1, 0.2, 0.3, 0.4];
    let mut solver = Solver::new(&model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON).unwrap();
    let mut expect = vec![0.0; 2];
    solver.solve(&mut expect, Some(&x)).unwrap();
    drop(model); // the solver keeps it alive
    let mut s = vec![0.0; 2];
    solver.solve(&mut s, Some(&x)).unwrap();
    assert_eq!(s, expect);
    assert_eq!(solver.model().layer_sizes(), [4, 3, 2]);

    let trainer =
        Trainer::new(solver.model().deep_clone().unwrap(), HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD)
            .unwrap();
    let model = trainer.into_model(); // the trainer goes first
    assert!(model.is_unique());
    assert_eq!(model.weights(0).unwrap(), solver.model().weights(0).unwrap());
}

#[test]
fn a_shared_model_cannot_be_modified() {
    let mut model = random_model(&[4, 3, 2], 1, 0.5);
    assert!(model.is_unique());
    let w = model.weights(1).unwrap();
    let solver = Solver::new(&model, HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD).unwrap();
    assert!(!model.is_unique());
    let e = model.set_weights(1, &w).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_INVALID);
    assert!(e.message().contains("shared"), "{e}");
    assert_eq!(model.init_xavier(1).unwrap_err().status(), HAM_ERR_INVALID);
    drop(solver);
    model.set_weights(1, &[0.5; 6]).unwrap();

    // a share sees the change made before it was taken, and blocks further ones
    let share = model.share();
    assert_eq!(share.weights(1).unwrap(), vec![0.5; 6]);
    assert!(model.set_bias(1, &[0.0; 3]).is_err());
    drop(share);
    model.set_bias(1, &[1.0; 3]).unwrap();

    // a deep clone is independent
    let mut copy = model.deep_clone().unwrap();
    copy.set_bias(1, &[2.0; 3]).unwrap();
    assert_eq!(model.bias(1).unwrap(), vec![1.0; 3]);

    // a trainer needs the only handle, and so do its steps
    let share = model.share();
    let e = Trainer::new(model, HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_INVALID);
    let mut trainer = Trainer::new(share, HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD).unwrap();
    let x = [0.5; 4];
    trainer.step(&x, &[1]).unwrap();
    let reader = trainer.model().share();
    assert_eq!(trainer.step(&x, &[1]).unwrap_err().status(), HAM_ERR_INVALID);
    trainer.gradient(&x, &[1]).unwrap(); // reading is fine
    drop(reader);
    trainer.step(&x, &[1]).unwrap();
}

#[test]
fn solvers_in_several_threads_share_one_model() {
    let model = random_model(&[8, 6, 4], 7, 0.6);
    let mut rng = Lcg(4);
    let inputs: Vec<Vec<f32>> = (0..4).map(|_| rng.vec(5 * 8, 0.0, 1.0)).collect();
    let solve = |model: &Model, x: &[f32]| {
        let mut solver = Solver::new(model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON).unwrap();
        let mut s = vec![0.0; 5 * solver.state_dim()];
        solver.solve(&mut s, Some(x)).unwrap();
        s
    };
    let serial: Vec<Vec<f32>> = inputs.iter().map(|x| solve(&model, x)).collect();
    let parallel: Vec<Vec<f32>> = std::thread::scope(|scope| {
        let handles: Vec<_> = inputs.iter().map(|x| scope.spawn(|| solve(&model, x))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(serial, parallel);

    // an owned share, and a solver moved to another thread
    let mut solver = Solver::new(&model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON).unwrap();
    let x = inputs[0].clone();
    let share = model.share();
    let moved = std::thread::spawn(move || {
        let mut s = vec![0.0; 5 * solver.state_dim()];
        solver.solve(&mut s, Some(&x)).unwrap();
        drop(share);
        s
    })
    .join()
    .unwrap();
    assert_eq!(moved, serial[0]);
}

#[test]
fn slices_are_checked_before_the_library_sees_them() {
    let model = random_model(&[4, 3, 2], 1, 0.5);
    let mut solver = Solver::new(&model, HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD).unwrap();
    let x = [0.5; 8];
    // 5 values per sample: 9 is not a whole batch
    let e = solver.solve(&mut [0.0; 9], Some(&x)).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_DIMENSION);
    assert!(e.message().contains("9 values"), "{e}");
    assert_eq!(solver.solve(&mut [], Some(&x)).unwrap_err().status(), HAM_ERR_DIMENSION);
    // two states, but inputs for one sample and a half
    let e = solver.solve(&mut [0.0; 10], Some(&x[..6])).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_DIMENSION);
    assert_eq!(solver.solve(&mut [0.0; 10], None).unwrap_err().status(), HAM_ERR_NULL);
    assert!(solver.solve(&mut [0.0; 10], Some(&x)).is_ok());

    let e = model.apply(HAM_OPERATOR_SYNC, Some(&x), &[0.0; 7]).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_DIMENSION);
    let e = model.jvp(HAM_OPERATOR_SYNC, Some(&x[..4]), &[0.0; 5], &[0.0; 4]).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_DIMENSION);
    let e = model.apply(77, Some(&x), &[0.0; 5]).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_UNKNOWN_OPERATOR);
    // counted arrays: the library checks the count
    let mut m = model.deep_clone().unwrap();
    let e = m.set_weights(0, &[0.0; 11]).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_DIMENSION);
    assert!(!e.message().is_empty());
    assert_eq!(m.weights(5).unwrap_err().status(), HAM_ERR_INVALID);
    assert_eq!(m.bias(0).unwrap_err().status(), HAM_ERR_INVALID, "the clamped input has none");
    let e = m.set_weights(0, &[f32::NAN; 12]).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_NONFINITE);

    // a free-input model takes no x
    let free = Model::new(&[3, 2], HAM_MODEL_FREE_INPUT).unwrap();
    let e = free.apply(HAM_OPERATOR_SYNC, Some(&[0.0; 3]), &[0.0; 5]).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_INVALID);
    assert_eq!(free.apply(HAM_OPERATOR_SYNC, None, &[0.0; 5]).unwrap().len(), 5);
}

#[test]
fn errors_carry_the_library_message() {
    let e = Model::load("/nonexistent/dir/model.ham").unwrap_err();
    assert_eq!(e.status(), HAM_ERR_IO);
    assert_eq!(e.name(), "HAM_ERR_IO");
    assert!(e.message().contains("/nonexistent/dir/model.ham"), "{e}");
    assert_eq!(e.description(), "an input/output operation failed");
    assert_eq!(e.to_string(), format!("HAM_ERR_IO: {}", e.message()));
    let e = Model::new(&[3; 65], HAM_MODEL_CLAMPED_INPUT).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_INVALID);
    let e = Model::new(&[3, 1 << 31], 0).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_INVALID);
    assert!(e.message().contains("2^31"), "{e}");
    let e = Error::new(-99, "");
    assert_eq!(e.name(), "HAM_UNKNOWN");
    assert_eq!(e.to_string(), "HAM_UNKNOWN: unknown status");
}

#[test]
fn model_files_and_buffers_round_trip() {
    let mut model = random_model(&[5, 4, 3], 2, 0.5);
    model.set_lagrangian(2, HAM_LAGRANGIAN_SOFTMAX, 3.0).unwrap();
    model.set_defaults(HAM_OPERATOR_SYNC, HAM_SOLVER_NEWTON, 1e-5, 40).unwrap();
    let dir = std::env::temp_dir().join(format!("hamdeq-rust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.ham");
    model.save(&path).unwrap();
    let bytes = model.to_bytes().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "a file holds the buffer's bytes");
    for loaded in [Model::load(&path).unwrap(), Model::from_bytes(&bytes).unwrap()] {
        assert_eq!(loaded.layer_sizes(), [5, 4, 3]);
        assert!(loaded.has_clamped_input());
        assert_eq!(loaded.to_bytes().unwrap(), bytes);
        assert_eq!(loaded.lagrangian(2).unwrap(), (HAM_LAGRANGIAN_SOFTMAX, 3.0));
        assert_eq!(loaded.defaults().unwrap(), model.defaults().unwrap());
        for b in 0..2 {
            assert_eq!(loaded.weights(b).unwrap(), model.weights(b).unwrap());
        }
    }
    let mut damaged = bytes.clone();
    let mid = damaged.len() / 2;
    damaged[mid] ^= 0x40;
    let e = Model::from_bytes(&damaged).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_FORMAT);
    assert!(e.message().starts_with("model buffer: "), "{e}");
    assert_eq!(Model::from_bytes(&[]).unwrap_err().status(), HAM_ERR_FORMAT);
    assert_eq!(model.save(&dir).unwrap_err().status(), HAM_ERR_IO, "a directory");
    std::fs::remove_dir_all(&dir).unwrap();
}
