//! Closures and trait objects called by the library: the iteration callback, the
//! convergence test, custom Lagrangians and backends; their errors, and panics caught at
//! the C boundary and resumed after the call.
#![allow(clippy::needless_range_loop)]
mod common;

use common::*;
use hamdeq::*;
use std::ops::ControlFlow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const SIZES: [usize; 3] = [6, 5, 4];

fn setup(kind: i32) -> (Model, Solver, Vec<f32>) {
    let model = random_model(&SIZES, 13, 0.7);
    let mut solver = Solver::new(&model, HAM_OPERATOR_EVEN_ODD, kind).unwrap();
    solver.set_option(HAM_OPT_TOL, 1e-6).unwrap();
    let x = Lcg(3).vec(3 * SIZES[0], 0.0, 1.0);
    (model, solver, x)
}

#[test]
fn the_iteration_callback_sees_every_iteration() {
    let (_model, mut solver, x) = setup(HAM_SOLVER_PICARD);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let log_handle = seen.clone();
    solver
        .set_iteration_callback(move |info| {
            assert_eq!(info.samples().len(), info.active());
            assert_eq!(info.residuals().len(), info.active());
            assert_eq!(info.iterations().len(), info.active());
            assert_eq!(info.states().len(), info.active() * info.dim());
            assert_eq!(info.outputs().len(), info.active() * info.dim());
            // residual = ||G(s) - s|| / ||G(s)|| of each active row
            for (r, &res) in info.residuals().iter().enumerate() {
                let d = info.dim();
                let s = &info.states()[r * d..(r + 1) * d];
                let g = &info.outputs()[r * d..(r + 1) * d];
                let num: f64 = s.iter().zip(g).map(|(s, g)| ((g - s) as f64).powi(2)).sum();
                let den: f64 = g.iter().map(|g| (*g as f64).powi(2)).sum();
                assert!((res - (num / den).sqrt()).abs() <= 1e-6 + 1e-3 * res);
            }
            log.lock().unwrap().push((info.iteration(), info.active(), info.samples().to_vec()));
            ControlFlow::Continue(())
        })
        .unwrap();
    let mut s = vec![0.0; 3 * solver.state_dim()];
    let stats = solver.solve(&mut s, Some(&x)).unwrap();
    assert!(stats.all_converged());
    let seen = seen.lock().unwrap().clone();
    // iterations are numbered 0, 1, ...; the active set only shrinks
    for (i, (it, _, _)) in seen.iter().enumerate() {
        assert_eq!(*it, i);
    }
    assert_eq!(seen[0].1, 3);
    assert_eq!(seen[0].2, [0, 1, 2]);
    assert!(seen.windows(2).all(|w| w[1].1 <= w[0].1));
    // one call per iteration: as many as the longest sample's evaluations
    assert_eq!(seen.len(), stats.iters_max as usize);

    // removed, it is no longer called
    let n = seen.len();
    drop(seen);
    solver.clear_iteration_callback().unwrap();
    solver.solve(&mut s, Some(&x)).unwrap();
    assert_eq!(log_len(&log_handle), n);
}

fn log_len<T>(log: &Arc<Mutex<Vec<T>>>) -> usize {
    log.lock().unwrap().len()
}

#[test]
fn the_iteration_callback_can_cancel() {
    let (_model, mut solver, x) = setup(HAM_SOLVER_ANDERSON);
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    solver
        .set_iteration_callback(move |info| {
            c.fetch_add(1, Ordering::SeqCst);
            if info.iteration() == 1 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    let mut s = vec![0.0; 3 * solver.state_dim()];
    let e = solver.solve(&mut s, Some(&x)).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_CANCELLED);
    assert_eq!(e.name(), "HAM_ERR_CANCELLED");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    solver.clear_iteration_callback().unwrap();
    assert!(solver.solve(&mut s, Some(&x)).unwrap().all_converged());
    assert_eq!(calls.load(Ordering::SeqCst), 2, "not called once cleared");
}

#[test]
fn a_panic_in_the_iteration_callback_is_resumed_after_the_solve() {
    let (_model, mut solver, x) = setup(HAM_SOLVER_BROYDEN);
    solver
        .set_iteration_callback(|info| {
            if info.iteration() == 3 {
                panic!("callback panicked at iteration 3");
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    let mut s = vec![0.0; 3 * solver.state_dim()];
    let caught = catch_unwind(AssertUnwindSafe(|| solver.solve(&mut s, Some(&x)))).unwrap_err();
    assert_eq!(panic_text(&*caught), "callback panicked at iteration 3");
    // the library was left consistent: the solver works afterwards
    solver.clear_iteration_callback().unwrap();
    assert!(solver.solve(&mut s, Some(&x)).unwrap().all_converged());
}

#[test]
fn a_convergence_test_in_rust_replaces_the_builtin_one() {
    let (_model, mut reference, x) = setup(HAM_SOLVER_ANDERSON);
    let mut s_ref = vec![0.0; 3 * reference.state_dim()];
    reference.solve(&mut s_ref, Some(&x)).unwrap();
    let iters_ref = reference.samples().unwrap().iterations;

    // The built-in test, written again: r < tol. Same verdicts, same iterations, same
    // states.
    let (_model, mut solver, _) = setup(HAM_SOLVER_ANDERSON);
    let asked = Arc::new(AtomicUsize::new(0));
    let a = asked.clone();
    solver
        .set_convergence_test(move |c| {
            a.fetch_add(1, Ordering::SeqCst);
            assert_eq!(c.state().len(), c.dim());
            assert_eq!(c.output().len(), c.dim());
            assert_eq!(c.tol(), 1e-6);
            assert_eq!(c.atol(), 0.0);
            assert!(c.sample() < 3 && c.iterations() >= 1);
            Ok(c.residual_norm() < c.tol() * c.output_norm())
        })
        .unwrap();
    let mut s = vec![0.0; s_ref.len()];
    solver.solve(&mut s, Some(&x)).unwrap();
    assert_eq!(solver.samples().unwrap().iterations, iters_ref);
    assert_eq!(s, s_ref);
    assert!(asked.load(Ordering::SeqCst) >= 3);

    // A looser test of our own stops earlier.
    solver.set_convergence_test(|c| Ok(c.residual_norm() < 1e-2 * c.output_norm())).unwrap();
    solver.solve(&mut s, Some(&x)).unwrap();
    let loose = solver.samples().unwrap().iterations;
    assert!(loose.iter().zip(&iters_ref).all(|(a, b)| a <= b) && loose != iters_ref);

    // Restored, the built-in one gives the reference again.
    solver.clear_convergence_test().unwrap();
    solver.solve(&mut s, Some(&x)).unwrap();
    assert_eq!(solver.samples().unwrap().iterations, iters_ref);
}

#[test]
fn an_error_from_the_convergence_test_is_what_the_solve_returns() {
    let (_model, mut solver, x) = setup(HAM_SOLVER_PICARD);
    solver
        .set_convergence_test(|c| {
            if c.sample() == 1 && c.iterations() == 2 {
                Err(Error::new(HAM_ERR_NUMERIC, "sample 1 looks wrong"))
            } else {
                Ok(false)
            }
        })
        .unwrap();
    let mut s = vec![0.0; 3 * solver.state_dim()];
    let e = solver.solve(&mut s, Some(&x)).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_NUMERIC);
    assert_eq!(e.message(), "sample 1 looks wrong");
    assert_eq!(e.to_string(), "HAM_ERR_NUMERIC: sample 1 looks wrong");

    // a panic aborts the solve and is resumed
    solver.set_convergence_test(|_| panic!("test panicked")).unwrap();
    let caught = catch_unwind(AssertUnwindSafe(|| solver.solve(&mut s, Some(&x)))).unwrap_err();
    assert_eq!(panic_text(&*caught), "test panicked");
    solver.clear_convergence_test().unwrap();
    assert!(solver.solve(&mut s, Some(&x)).unwrap().all_converged());
}

/// Counts its drops, to check who drops user data, and when.
struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// tanh written in Rust, optionally panicking after some activations.
struct Tanh {
    _drops: Counted,
    panic_after: Option<usize>,
    calls: AtomicUsize,
}

impl Lagrangian for Tanh {
    fn value(&self, s: &[f32]) -> f64 {
        s.iter().map(|&v| (v as f64).cosh().ln()).sum()
    }
    fn activation(&self, s: &[f32], g: &mut [f32]) {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if self.panic_after.is_some_and(|p| n >= p) {
            panic!("activation panicked");
        }
        for (g, s) in g.iter_mut().zip(s) {
            *g = s.tanh();
        }
    }
    fn hvp(&self, _s: &[f32], g: &[f32], v: &[f32], out: &mut [f32]) {
        for i in 0..g.len() {
            out[i] = (1.0 - g[i] * g[i]) * v[i];
        }
    }
}

fn tanh(drops: &Arc<AtomicUsize>, panic_after: Option<usize>) -> Tanh {
    Tanh { _drops: Counted(drops.clone()), panic_after, calls: AtomicUsize::new(0) }
}

#[test]
fn a_rust_lagrangian_solves_like_the_builtin_one() {
    let drops = Arc::new(AtomicUsize::new(0));
    let mut builtin = random_model(&SIZES, 5, 0.7);
    builtin.set_lagrangian(1, HAM_LAGRANGIAN_TANH, 0.0).unwrap();
    let mut custom = builtin.deep_clone().unwrap();
    custom.set_custom_lagrangian(1, "rust-tanh", tanh(&drops, None)).unwrap();
    let x = Lcg(3).vec(2 * SIZES[0], 0.0, 1.0);
    let mut states = Vec::new();
    for model in [&builtin, &custom] {
        let mut solver = Solver::new(model, HAM_OPERATOR_SYNC, HAM_SOLVER_NEWTON).unwrap();
        solver.set_option(HAM_OPT_TOL, 1e-6).unwrap();
        let mut s = vec![0.0; 2 * solver.state_dim()];
        assert!(solver.solve(&mut s, Some(&x)).unwrap().all_converged());
        let e = model.energy(Some(&x), &s).unwrap();
        states.push((s, e));
    }
    let (a, b) = (&states[0], &states[1]);
    assert!(a.0.iter().zip(&b.0).all(|(a, b)| (a - b).abs() < 1e-5));
    assert!(a.1.iter().zip(&b.1).all(|(a, b)| (a - b).abs() < 1e-5));
    // custom Lagrangians cannot be saved
    assert_eq!(custom.to_bytes().unwrap_err().status(), HAM_ERR_UNSUPPORTED);
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(custom);
    assert_eq!(drops.load(Ordering::SeqCst), 1, "dropped with its model");
}

#[test]
fn a_lagrangian_is_dropped_once_by_the_last_model_that_uses_it() {
    let drops = Arc::new(AtomicUsize::new(0));
    let mut model = Model::new(&[3, 2], HAM_MODEL_CLAMPED_INPUT).unwrap();
    model.set_custom_lagrangian(1, "t", tanh(&drops, None)).unwrap();
    let clone = model.deep_clone().unwrap();
    let solver = Solver::new(&clone, HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD).unwrap();
    drop(model);
    drop(clone);
    assert_eq!(drops.load(Ordering::SeqCst), 0, "the solver still holds the clone");
    drop(solver);
    assert_eq!(drops.load(Ordering::SeqCst), 1);

    // replaced by a built-in one: released at once
    let mut model = Model::new(&[3, 2], HAM_MODEL_CLAMPED_INPUT).unwrap();
    model.set_custom_lagrangian(1, "t", tanh(&drops, None)).unwrap();
    model.set_lagrangian(1, HAM_LAGRANGIAN_IDENTITY, 0.0).unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 2);

    // a registration that fails takes nothing: the value is dropped by the binding
    let e = model.set_custom_lagrangian(9, "t", tanh(&drops, None)).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_INVALID);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

#[test]
fn a_panic_in_a_lagrangian_is_resumed_after_the_call() {
    let drops = Arc::new(AtomicUsize::new(0));
    let mut model = random_model(&SIZES, 5, 0.7);
    model.set_custom_lagrangian(1, "bad", tanh(&drops, Some(4))).unwrap();
    let x = Lcg(3).vec(SIZES[0], 0.0, 1.0);
    let dim = model.state_dim(HAM_OPERATOR_SYNC).unwrap();
    // before the panic, it works
    let s = vec![0.1; dim];
    assert!(model.apply(HAM_OPERATOR_SYNC, Some(&x), &s).unwrap().iter().all(|v| v.is_finite()));
    let mut solver = Solver::new(&model, HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD).unwrap();
    let mut state = vec![0.0; dim];
    let caught = catch_unwind(AssertUnwindSafe(|| solver.solve(&mut state, Some(&x))));
    assert_eq!(panic_text(&*caught.unwrap_err()), "activation panicked");
    // the sample the NaN reached diverged
    assert_eq!(solver.samples().unwrap().status, [HAM_SAMPLE_DIVERGED]);
}

/// Plain Picard (`s <- G(s)`) in Rust, recording which original sample each row is, to
/// check `compact`.
struct Picard {
    rows: Vec<usize>,
    steps: Arc<Mutex<Vec<usize>>>,
    inits: usize,
    _drops: Counted,
}

impl Backend for Picard {
    fn init(&mut self, dim: usize, max_rows: usize) -> Result<()> {
        assert!(dim > 0 && max_rows > 0);
        self.inits += 1;
        Ok(())
    }
    fn reset(&mut self, rows: usize) -> Result<()> {
        self.rows = (0..rows).collect();
        *self.steps.lock().unwrap() = vec![0; rows];
        Ok(())
    }
    fn step(&mut self, step: &mut Step<'_>, s: &mut [f32], gs: &mut [f32]) -> Result<StepOutcome> {
        assert_eq!(step.rows(), self.rows.len());
        assert_eq!(s.len(), step.rows() * step.dim());
        let mut steps = self.steps.lock().unwrap();
        for &r in &self.rows {
            steps[r] += 1;
        }
        s.copy_from_slice(gs);
        Ok(StepOutcome::Proposed)
    }
    fn compact(&mut self, keep: &[i32]) {
        self.rows = keep.iter().map(|&k| self.rows[k as usize]).collect();
    }
}

#[test]
fn a_rust_backend_equals_the_builtin_picard_and_compacts_correctly() {
    let (model, mut builtin, x) = setup(HAM_SOLVER_PICARD);
    let mut s_ref = vec![0.0; 3 * builtin.state_dim()];
    builtin.solve(&mut s_ref, Some(&x)).unwrap();
    let ref_samples = builtin.samples().unwrap();
    assert!(ref_samples.iterations.iter().any(|&i| i != ref_samples.iterations[0]));

    let drops = Arc::new(AtomicUsize::new(0));
    let steps = Arc::new(Mutex::new(Vec::new()));
    let backend =
        Picard { rows: vec![], steps: steps.clone(), inits: 0, _drops: Counted(drops.clone()) };
    let mut solver =
        Solver::new_custom(&model, HAM_OPERATOR_EVEN_ODD, "picard-rs", backend).unwrap();
    assert_eq!(solver.kind(), HAM_SOLVER_CUSTOM);
    solver.set_option(HAM_OPT_TOL, 1e-6).unwrap();
    let mut s = vec![0.0; s_ref.len()];
    solver.solve(&mut s, Some(&x)).unwrap();
    assert_eq!(s, s_ref, "bit for bit the built-in Picard");
    let samples = solver.samples().unwrap();
    assert_eq!(samples, ref_samples);
    // Each sample took one step less than its evaluations (the first one is G(s0)):
    // the rows the backend tracked through `compact` are the right samples.
    let steps = steps.lock().unwrap().clone();
    for k in 0..3 {
        assert_eq!(steps[k] + 1, samples.iterations[k] as usize, "sample {k}");
    }
    drop(solver);
    assert_eq!(drops.load(Ordering::SeqCst), 1, "the backend is dropped with the solver");
}

/// Two Picard steps per step, the second through `Step::apply`.
struct Double;
impl Backend for Double {
    fn init(&mut self, _: usize, _: usize) -> Result<()> {
        Ok(())
    }
    fn step(&mut self, step: &mut Step<'_>, s: &mut [f32], gs: &mut [f32]) -> Result<StepOutcome> {
        let mut out = vec![0.0; gs.len()];
        step.apply(gs, &mut out)?; // G(G(s))
        s.copy_from_slice(&out);
        step.apply(s, gs)?; // and G of that, for the driver
                            // wrong lengths are refused before the library sees them
        let e = step.apply(&s[1..], &mut out).unwrap_err();
        assert_eq!(e.status(), HAM_ERR_DIMENSION);
        Ok(StepOutcome::OutputReady)
    }
}

#[test]
fn a_backend_may_evaluate_the_operator_itself() {
    let (model, mut builtin, x) = setup(HAM_SOLVER_PICARD);
    let mut s_ref = vec![0.0; 3 * builtin.state_dim()];
    builtin.solve(&mut s_ref, Some(&x)).unwrap();
    let mut solver = Solver::new_custom(&model, HAM_OPERATOR_EVEN_ODD, "double", Double).unwrap();
    solver.set_option(HAM_OPT_TOL, 1e-6).unwrap();
    let mut s = vec![0.0; s_ref.len()];
    let stats = solver.solve(&mut s, Some(&x)).unwrap();
    assert!(stats.all_converged());
    assert!(s.iter().zip(&s_ref).all(|(a, b)| (a - b).abs() < 1e-4));
}

struct Failing {
    panic: bool,
}
impl Backend for Failing {
    fn init(&mut self, _: usize, _: usize) -> Result<()> {
        Ok(())
    }
    fn step(&mut self, _: &mut Step<'_>, _: &mut [f32], _: &mut [f32]) -> Result<StepOutcome> {
        if self.panic {
            panic!("backend panicked");
        }
        Err(Error::new(HAM_ERR_NUMERIC, "the backend gave up"))
    }
}

#[test]
fn backend_errors_and_panics_come_back() {
    let (model, _, x) = setup(HAM_SOLVER_PICARD);
    let mut solver =
        Solver::new_custom(&model, HAM_OPERATOR_EVEN_ODD, "f", Failing { panic: false }).unwrap();
    let mut s = vec![0.0; 3 * solver.state_dim()];
    let e = solver.solve(&mut s, Some(&x)).unwrap_err();
    assert_eq!((e.status(), e.message()), (HAM_ERR_NUMERIC, "the backend gave up"));
    let mut solver =
        Solver::new_custom(&model, HAM_OPERATOR_EVEN_ODD, "f", Failing { panic: true }).unwrap();
    let caught = catch_unwind(AssertUnwindSafe(|| solver.solve(&mut s, Some(&x)))).unwrap_err();
    assert_eq!(panic_text(&*caught), "backend panicked");
}
