//! Training through the binding: gradients against finite differences of the loss, steps
//! that learn, the borrowed solver, options and errors.
mod common;

use common::*;
use hamdeq::*;
use std::ops::ControlFlow;
use std::panic::{catch_unwind, AssertUnwindSafe};

const SIZES: [usize; 3] = [4, 3, 2];

fn precise(trainer: &mut Trainer) {
    let mut solver = trainer.solver_mut();
    solver.set_option(HAM_OPT_TOL, 1e-7).unwrap();
    solver.set_option(HAM_OPT_MAX_ITER, 1000.0).unwrap();
    trainer.set_option(HAM_TRAIN_BACKWARD_TOL, 1e-7).unwrap();
    trainer.set_option(HAM_TRAIN_BACKWARD_ITERS, 1000.0).unwrap();
}

fn loss_of(model: &Model, x: &[f32], labels: &[i32]) -> f64 {
    let mut t = Trainer::new(model.deep_clone().unwrap(), HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_NEWTON)
        .unwrap();
    precise(&mut t);
    t.gradient(x, labels).unwrap().loss
}

#[test]
fn gradients_match_finite_differences_of_the_loss() {
    let model = random_model(&SIZES, 31, 1.5);
    let mut rng = Lcg(8);
    let x = rng.vec(3 * 4, 0.0, 1.0);
    let labels = [0, 1, 1];
    let mut trainer =
        Trainer::new(model.deep_clone().unwrap(), HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_NEWTON)
            .unwrap();
    precise(&mut trainer);
    let r = trainer.gradient(&x, &labels).unwrap();
    assert!((r.loss - loss_of(&model, &x, &labels)).abs() < 1e-9);
    assert_eq!(trainer.model().weights(0).unwrap(), model.weights(0).unwrap(), "unchanged");
    let stats = trainer.backward_stats().unwrap();
    assert_eq!(stats.samples, 3);
    assert!(stats.all_converged(), "{stats:?}");

    let h = 1e-2f32;
    let mut checked = 0;
    for block in 0..2 {
        let grad = trainer.weight_grad(block).unwrap();
        assert_eq!(grad.len(), SIZES[block] * SIZES[block + 1]);
        let scale = grad.iter().fold(0f32, |m, g| m.max(g.abs())) as f64;
        assert!(scale > 1e-4, "block {block}: a gradient of zeros proves nothing");
        let w = model.weights(block).unwrap();
        for i in 0..w.len() {
            let mut loss = [0.0; 2];
            for (k, sign) in [1.0f32, -1.0].iter().enumerate() {
                let mut m = model.deep_clone().unwrap();
                let mut wp = w.clone();
                wp[i] += sign * h;
                m.set_weights(block, &wp).unwrap();
                loss[k] = loss_of(&m, &x, &labels);
            }
            let fd = (loss[0] - loss[1]) / (2.0 * h as f64);
            let g = grad[i] as f64;
            assert!(
                (fd - g).abs() < 0.02 * scale + 1e-5,
                "dL/dW_{block}[{i}]: {g} vs finite difference {fd}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 12 + 6);
    // bias of the output layer, likewise
    let gb = trainer.bias_grad(2).unwrap();
    let b = model.bias(2).unwrap();
    for i in 0..2 {
        let mut loss = [0.0; 2];
        for (k, sign) in [1.0f32, -1.0].iter().enumerate() {
            let mut m = model.deep_clone().unwrap();
            let mut bp = b.clone();
            bp[i] += sign * h;
            m.set_bias(2, &bp).unwrap();
            loss[k] = loss_of(&m, &x, &labels);
        }
        let fd = (loss[0] - loss[1]) / (2.0 * h as f64);
        assert!((fd - gb[i] as f64).abs() < 1e-3, "dL/db_2[{i}]: {} vs {fd}", gb[i]);
    }
    assert_eq!(trainer.bias_grad(0).unwrap_err().status(), HAM_ERR_INVALID);
}

/// Two classes: bright left half or bright right half.
fn toy(n: usize) -> (Vec<f32>, Vec<i32>) {
    let mut rng = Lcg(99);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for k in 0..n {
        let c = (k % 2) as i32;
        for j in 0..4 {
            let bright = (j < 2) == (c == 0);
            x.push(if bright { rng.uniform(0.7, 1.0) } else { rng.uniform(0.0, 0.3) });
        }
        y.push(c);
    }
    (x, y)
}

#[test]
fn steps_learn_a_separable_problem() {
    let mut model = Model::new(&SIZES, HAM_MODEL_CLAMPED_INPUT).unwrap();
    model.init_xavier(3).unwrap();
    let mut trainer = Trainer::new(model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON).unwrap();
    trainer.set_option(HAM_TRAIN_OPTIMIZER, HAM_OPTIMIZER_ADAM as f64).unwrap();
    trainer.set_option(HAM_TRAIN_LR, 0.05).unwrap();
    assert_eq!(trainer.option(HAM_TRAIN_LR).unwrap(), 0.05);
    assert_eq!(trainer.option(HAM_TRAIN_LOSS).unwrap(), HAM_LOSS_MSE as f64);
    let (x, y) = toy(16);
    let first = trainer.gradient(&x, &y).unwrap();
    let before = trainer.model().weights(0).unwrap();
    let mut last = first;
    for _ in 0..60 {
        last = trainer.step(&x, &y).unwrap();
    }
    assert_ne!(trainer.model().weights(0).unwrap(), before, "steps modify the model");
    let after = trainer.gradient(&x, &y).unwrap();
    assert!(after.loss < 0.5 * first.loss, "{} -> {}", first.loss, after.loss);
    assert_eq!(after.correct, 16);
    assert!(last.correct >= 12);

    // the trained model evaluates the same through an ordinary solver
    let model = trainer.into_model();
    let mut solver = Solver::new(&model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON).unwrap();
    let mut s = vec![0.0; 16 * 2];
    solver.solve(&mut s, Some(&x)).unwrap();
    let correct = (0..16).filter(|&k| (s[2 * k + 1] > s[2 * k]) == (y[k] == 1)).count();
    assert_eq!(correct, 16);
}

#[test]
fn the_borrowed_solver_drives_the_steps() {
    let mut model = Model::new(&SIZES, HAM_MODEL_CLAMPED_INPUT).unwrap();
    model.init_xavier(3).unwrap();
    let mut trainer = Trainer::new(model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD).unwrap();
    let (x, y) = toy(4);
    {
        let mut solver = trainer.solver_mut();
        assert_eq!(solver.kind(), HAM_SOLVER_PICARD);
        solver.set_option(HAM_OPT_MAX_ITER, 3.0).unwrap();
        solver.set_option(HAM_OPT_FIXED_ITERS, 1.0).unwrap();
    }
    trainer.step(&x, &y).unwrap();
    let stats = trainer.solver().stats().unwrap();
    assert_eq!((stats.samples, stats.iters_max, stats.evaluations), (4, 3, 12));
    assert_eq!(trainer.solver().option(HAM_OPT_MAX_ITER).unwrap(), 3.0);
    assert_eq!(trainer.solver().samples().unwrap().iterations, [3; 4]);

    // a callback on it cancels a step; a panic in it is resumed after the step
    trainer.solver_mut().set_iteration_callback(|_| ControlFlow::Break(())).unwrap();
    assert_eq!(trainer.step(&x, &y).unwrap_err().status(), HAM_ERR_CANCELLED);
    trainer.solver_mut().set_iteration_callback(|_| panic!("in a training step")).unwrap();
    let caught = catch_unwind(AssertUnwindSafe(|| trainer.step(&x, &y))).unwrap_err();
    assert_eq!(panic_text(&*caught), "in a training step");
    trainer.solver_mut().clear_iteration_callback().unwrap();
    trainer.step(&x, &y).unwrap();

    // it also solves, to evaluate during training
    let mut s = vec![0.0; 4 * trainer.solver().state_dim()];
    trainer.solver_mut().solve(&mut s, Some(&x)).unwrap();
    assert_eq!(trainer.solver().stats().unwrap().samples, 4);
}

#[test]
fn trainer_errors() {
    let (x, y) = toy(2);
    let free = Model::new(&SIZES, HAM_MODEL_FREE_INPUT).unwrap();
    let e = Trainer::new(free, HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_UNSUPPORTED);
    let model = Model::new(&SIZES, HAM_MODEL_CLAMPED_INPUT).unwrap();
    let mut trainer = Trainer::new(model, HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD).unwrap();
    assert_eq!(trainer.step(&x, &[0, 2]).unwrap_err().status(), HAM_ERR_INVALID, "label 2");
    assert_eq!(trainer.step(&x[..7], &y).unwrap_err().status(), HAM_ERR_DIMENSION);
    assert_eq!(trainer.step(&[], &[]).unwrap_err().status(), HAM_ERR_INVALID);
    assert_eq!(trainer.set_option(HAM_TRAIN_LR, 0.0).unwrap_err().status(), HAM_ERR_INVALID);
    assert_eq!(trainer.option(99).unwrap_err().status(), HAM_ERR_UNKNOWN_OPTION);
    assert_eq!(trainer.weight_grad(2).unwrap_err().status(), HAM_ERR_INVALID);
}

fn reduce_setup() -> (Model, Vec<f32>, Vec<i32>) {
    let model = random_model(&SIZES, 17, 1.0);
    let mut rng = Lcg(23);
    let x = rng.vec(5 * 4, 0.0, 1.0);
    (model, x, vec![0, 1, 1, 0, 1])
}

fn adam_trainer(model: &Model) -> Trainer {
    let mut t =
        Trainer::new(model.deep_clone().unwrap(), HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON)
            .unwrap();
    t.set_option(HAM_TRAIN_OPTIMIZER, HAM_OPTIMIZER_ADAM as f64).unwrap();
    t.solver_mut().set_option(HAM_OPT_MAX_ITER, 200.0).unwrap();
    t
}

fn params(m: &Model) -> Vec<f32> {
    let mut p = Vec::new();
    for b in 0..SIZES.len() - 1 {
        p.extend(m.weights(b).unwrap());
    }
    for l in 1..SIZES.len() {
        p.extend(m.bias(l).unwrap());
    }
    p
}

#[test]
fn an_identity_reduction_takes_the_same_step_bit_for_bit() {
    let (model, x, labels) = reduce_setup();
    let mut plain = adam_trainer(&model);
    let mut reduced = adam_trainer(&model);
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = calls.clone();
    reduced
        .set_reduce(move |grad: &mut [f32], counts: &mut [f64]| {
            seen.lock().unwrap().push((grad.len(), counts.to_vec()));
            Ok(())
        })
        .unwrap();
    let n_params: usize = (0..SIZES.len() - 1).map(|b| SIZES[b] * SIZES[b + 1]).sum::<usize>()
        + SIZES[1..].iter().sum::<usize>();
    for step in 0..3 {
        let a = plain.step(&x, &labels).unwrap();
        let b = reduced.step(&x, &labels).unwrap();
        assert_eq!(a.loss.to_bits(), b.loss.to_bits(), "step {step}");
        assert_eq!(a.correct, b.correct, "step {step}");
        assert_eq!(params(plain.model()), params(reduced.model()), "step {step}");
        for block in 0..SIZES.len() - 1 {
            assert_eq!(plain.weight_grad(block).unwrap(), reduced.weight_grad(block).unwrap());
        }
    }
    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), 6, "two calls per step");
    for pair in calls.chunks(2) {
        let (len0, c0) = &pair[0];
        let (len1, c1) = &pair[1];
        assert_eq!(*len0, 0, "the first call has no gradient");
        assert_eq!(c0.len(), 4);
        assert_eq!((c0[0], c0[1], c0[2], c0[3]), (0.0, 0.0, labels.len() as f64, 0.0));
        assert!(n_params >= *len1 && *len1 > 0, "{len1} of {n_params}");
        assert_eq!(c1[2], labels.len() as f64);
        assert_eq!(c1[3], 0.0);
    }
    // removed: still the same steps
    reduced.clear_reduce().unwrap();
    let a = plain.step(&x, &labels).unwrap();
    let b = reduced.step(&x, &labels).unwrap();
    assert_eq!(a.loss.to_bits(), b.loss.to_bits());
    assert_eq!(params(plain.model()), params(reduced.model()));
}

#[test]
fn a_reduction_that_doubles_the_counts_doubles_the_batch() {
    // two identical processes: the summed gradient's mean is the local one
    let (model, x, labels) = reduce_setup();
    let mut plain = adam_trainer(&model);
    let mut twice = adam_trainer(&model);
    twice
        .set_reduce(|grad: &mut [f32], counts: &mut [f64]| {
            grad.iter_mut().for_each(|g| *g *= 2.0);
            counts.iter_mut().for_each(|c| *c *= 2.0);
            Ok(())
        })
        .unwrap();
    let a = plain.gradient(&x, &labels).unwrap();
    let b = twice.gradient(&x, &labels).unwrap();
    assert!((a.loss - b.loss).abs() < 1e-12 * a.loss.abs().max(1.0), "{a:?} {b:?}");
    assert_eq!(b.correct, 2 * a.correct);
    for block in 0..SIZES.len() - 1 {
        let ga = plain.weight_grad(block).unwrap();
        let gb: Vec<f64> = twice.weight_grad(block).unwrap().iter().map(|&g| g as f64).collect();
        assert!(max_abs_diff(&ga, &gb) < 1e-6, "block {block}");
    }
}

#[test]
fn a_failing_or_panicking_reduction_fails_the_step_and_leaves_the_model() {
    let (model, x, labels) = reduce_setup();
    let mut t = adam_trainer(&model);
    let before = params(t.model());
    t.set_reduce(|_: &mut [f32], _: &mut [f64]| Err(Error::new(HAM_ERR_IO, "network down")))
        .unwrap();
    let e = t.step(&x, &labels).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_CALLBACK, "{e}");
    assert!(e.message().contains("network down"), "{e}");
    assert_eq!(params(t.model()), before, "a failed step leaves the model");

    // failing only in the second call (the gradient's)
    t.set_reduce(|grad: &mut [f32], _: &mut [f64]| {
        if grad.is_empty() {
            Ok(())
        } else {
            Err(Error::new(HAM_ERR_CALLBACK, "second call"))
        }
    })
    .unwrap();
    let e = t.gradient(&x, &labels).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_CALLBACK, "{e}");
    assert_eq!(params(t.model()), before);

    t.set_reduce(|_: &mut [f32], _: &mut [f64]| panic!("reduce panicked")).unwrap();
    let payload = catch_unwind(AssertUnwindSafe(|| t.step(&x, &labels))).unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"reduce panicked"));
    assert_eq!(params(t.model()), before);

    // the trainer is fine afterwards
    t.clear_reduce().unwrap();
    t.step(&x, &labels).unwrap();
    assert_ne!(params(t.model()), before);
}
