//! Fixed points, operators and energies through the binding, checked against a direct
//! reimplementation of docs/math.md, and the solvers against each other.
mod common;

use common::*;
use hamdeq::*;

const SIZES: [usize; 4] = [6, 5, 4, 3];

#[test]
fn operator_and_energy_match_a_direct_reimplementation() {
    let model = random_model(&SIZES, 11, 0.8);
    let reference = Reference::of(&model);
    let mut rng = Lcg(5);
    let batch = 3;
    let x = rng.vec(batch * SIZES[0], 0.0, 1.0);
    let dim = model.state_dim(HAM_OPERATOR_SYNC).unwrap();
    assert_eq!(dim, 5 + 4 + 3);
    let s = rng.vec(batch * dim, -1.0, 1.5);

    let f = model.apply(HAM_OPERATOR_SYNC, Some(&x), &s).unwrap();
    let e = model.energy(Some(&x), &s).unwrap();
    assert_eq!(e.len(), batch);
    for k in 0..batch {
        let xk = &x[k * 6..(k + 1) * 6];
        let sk = &s[k * dim..(k + 1) * dim];
        let want = reference.sync(xk, sk);
        let got = &f[k * dim..(k + 1) * dim];
        assert!(max_abs_diff(got, &want) < 1e-5, "F differs: {got:?} vs {want:?}");
        let e_ref = reference.energy(xk, sk);
        assert!((e[k] - e_ref).abs() < 1e-4 * (1.0 + e_ref.abs()), "E {} vs {e_ref}", e[k]);
    }
}

#[test]
fn the_solved_state_is_a_fixed_point_of_the_reimplemented_operator() {
    let model = random_model(&SIZES, 3, 0.6);
    let reference = Reference::of(&model);
    let mut rng = Lcg(9);
    let batch = 4;
    let x = rng.vec(batch * SIZES[0], 0.0, 1.0);
    let mut solver = Solver::new(&model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON).unwrap();
    solver.set_option(HAM_OPT_TOL, 1e-6).unwrap();
    solver.set_option(HAM_OPT_MAX_ITER, 500.0).unwrap();
    let eo_dim = solver.state_dim();
    // even-odd state of a 4-layer model: the output's parity class, layers 1 and 3
    assert_eq!(eo_dim, 5 + 3);
    assert_eq!(model.state_offset(HAM_OPERATOR_EVEN_ODD, 3).unwrap(), 5);
    let mut eo = vec![0.0; batch * eo_dim];
    let stats = solver.solve(&mut eo, Some(&x)).unwrap();
    assert_eq!(stats.samples, batch as i32);
    assert!(stats.all_converged(), "{stats:?}");

    let full = model.eo_to_full(Some(&x), &eo).unwrap();
    let dim = model.state_dim(HAM_OPERATOR_SYNC).unwrap();
    for k in 0..batch {
        let sk = &full[k * dim..(k + 1) * dim];
        let fk = reference.sync(&x[k * 6..(k + 1) * 6], sk);
        let scale = fk.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!(max_abs_diff(sk, &fk) < 1e-4 * scale.max(1.0), "sample {k}: not F(s) = s");
    }
    // full_to_eo inverts eo_to_full on the state class
    let back = model.full_to_eo(&full).unwrap();
    assert_eq!(back, eo);
    // samples() reports the same batch
    let samples = solver.samples().unwrap();
    assert_eq!(samples.status, vec![HAM_SAMPLE_CONVERGED; batch]);
    assert!(samples.residuals.iter().all(|&r| r < 1e-6));
    assert_eq!(samples.iterations.iter().map(|&i| i as i64).sum::<i64>(), stats.evaluations);
}

#[test]
fn every_solver_and_operator_reaches_the_same_fixed_point() {
    let model = random_model(&SIZES, 21, 0.5);
    let mut rng = Lcg(2);
    let batch = 3;
    let x = rng.vec(batch * SIZES[0], 0.0, 1.0);
    let mut results = Vec::new();
    for op in [HAM_OPERATOR_SYNC, HAM_OPERATOR_EVEN_ODD] {
        for kind in [HAM_SOLVER_PICARD, HAM_SOLVER_ANDERSON, HAM_SOLVER_BROYDEN, HAM_SOLVER_NEWTON]
        {
            let mut solver = Solver::new(&model, op, kind).unwrap();
            assert_eq!((solver.kind(), solver.operator()), (kind, op));
            solver.set_option(HAM_OPT_TOL, 1e-6).unwrap();
            solver.set_option(HAM_OPT_MAX_ITER, 1000.0).unwrap();
            let mut s = vec![0.0; batch * solver.state_dim()];
            let stats = solver.solve(&mut s, Some(&x)).unwrap();
            assert!(stats.all_converged(), "{op} {kind}: {stats:?}");
            if kind == HAM_SOLVER_NEWTON {
                assert!(stats.jacobian_products > 0);
            }
            let full =
                if op == HAM_OPERATOR_SYNC { s } else { model.eo_to_full(Some(&x), &s).unwrap() };
            results.push(full);
        }
    }
    for r in &results[1..] {
        let d = r.iter().zip(&results[0]).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(d < 1e-4, "fixed points differ by {d}");
    }
}

#[test]
fn jvp_and_vjp_are_transposes_and_match_finite_differences() {
    let model = random_model(&[4, 3, 2], 8, 0.9);
    let mut rng = Lcg(17);
    let x = rng.vec(4, 0.0, 1.0);
    let op = HAM_OPERATOR_SYNC;
    let s = rng.vec(5, -0.5, 1.0);
    let u = rng.vec(5, -1.0, 1.0);
    let v = rng.vec(5, -1.0, 1.0);
    let ju = model.jvp(op, Some(&x), &s, &u).unwrap();
    let jtv = model.vjp(op, Some(&x), &s, &v).unwrap();
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(a, b)| (a * b) as f64).sum::<f64>();
    assert!((dot(&v, &ju) - dot(&jtv, &u)).abs() < 1e-5, "<v, Ju> != <J'v, u>");
    // central difference of F along u
    let h = 1e-2f32;
    let plus: Vec<f32> = s.iter().zip(&u).map(|(s, u)| s + h * u).collect();
    let minus: Vec<f32> = s.iter().zip(&u).map(|(s, u)| s - h * u).collect();
    let fp = model.apply(op, Some(&x), &plus).unwrap();
    let fm = model.apply(op, Some(&x), &minus).unwrap();
    for i in 0..5 {
        let fd = (fp[i] - fm[i]) / (2.0 * h);
        assert!((fd - ju[i]).abs() < 2e-3, "J u [{i}]: {} vs finite difference {fd}", ju[i]);
    }
}

#[test]
fn warm_start_from_the_fixed_point_takes_one_evaluation() {
    let model = random_model(&SIZES, 4, 0.5);
    let x = Lcg(1).vec(SIZES[0], 0.0, 1.0);
    let mut solver = Solver::new(&model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD).unwrap();
    solver.set_option(HAM_OPT_TOL, 1e-6).unwrap();
    let mut s = vec![0.0; solver.state_dim()];
    let cold = solver.solve(&mut s, Some(&x)).unwrap();
    assert!(cold.iters_max > 2);
    solver.set_option(HAM_OPT_WARM_START, 1.0).unwrap();
    assert_eq!(solver.option(HAM_OPT_WARM_START).unwrap(), 1.0);
    let warm = solver.solve(&mut s, Some(&x)).unwrap();
    assert_eq!(warm.iters_max, 1);
}

#[test]
fn defaults_build_a_solver() {
    let mut model = random_model(&[4, 3, 2], 1, 0.5);
    model.set_defaults(HAM_OPERATOR_SYNC, HAM_SOLVER_BROYDEN, 1e-5, 77).unwrap();
    let d = model.defaults().unwrap();
    assert_eq!(
        d,
        Defaults {
            operator: HAM_OPERATOR_SYNC,
            solver: HAM_SOLVER_BROYDEN,
            tol: 1e-5,
            max_iter: 77
        }
    );
    let solver = Solver::with_defaults(&model).unwrap();
    assert_eq!(solver.kind(), HAM_SOLVER_BROYDEN);
    assert_eq!(solver.operator(), HAM_OPERATOR_SYNC);
    assert_eq!(solver.option(HAM_OPT_TOL).unwrap(), 1e-5);
    assert_eq!(solver.option(HAM_OPT_MAX_ITER).unwrap(), 77.0);
}

#[test]
fn option_info_and_bounds() {
    let tol = Solver::option_info(HAM_OPT_TOL).unwrap();
    assert_eq!((tol.default, tol.min, tol.max), (1e-4, 0.0, 1.0));
    assert_eq!(Solver::option_info(999).unwrap_err().status(), HAM_ERR_UNKNOWN_OPTION);
    let model = random_model(&[4, 3, 2], 1, 0.5);
    let mut solver = Solver::new(&model, HAM_OPERATOR_SYNC, HAM_SOLVER_ANDERSON).unwrap();
    let e = solver.set_option(HAM_OPT_ANDERSON_M, 2.5).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_INVALID);
    assert_eq!(solver.option(HAM_OPT_ANDERSON_M).unwrap(), 4.0, "unchanged after a failure");
    let lr = Trainer::option_info(HAM_TRAIN_LR).unwrap();
    assert_eq!((lr.default, lr.min, lr.max), (0.01, 0.0, 10.0));
}

#[test]
fn names_round_trip() {
    for kind in [HAM_SOLVER_PICARD, HAM_SOLVER_ANDERSON, HAM_SOLVER_BROYDEN, HAM_SOLVER_NEWTON] {
        let name = solver_kind_name(kind).unwrap();
        assert_eq!(solver_kind_from_name(name).unwrap(), kind);
    }
    for op in [HAM_OPERATOR_SYNC, HAM_OPERATOR_EVEN_ODD] {
        assert_eq!(operator_from_name(operator_name(op).unwrap()).unwrap(), op);
    }
    assert_eq!(operator_name(HAM_OPERATOR_EVEN_ODD), Some("even-odd"));
    for kind in 0..=4 {
        assert_eq!(lagrangian_from_name(lagrangian_name(kind).unwrap()).unwrap(), kind);
    }
    assert_eq!(lagrangian_name(HAM_LAGRANGIAN_SHIFTED_SIGMOID), Some("shifted-sigmoid"));
    assert_eq!(lagrangian_name(55), None);
    assert_eq!(lagrangian_from_name("nope").unwrap_err().status(), HAM_ERR_UNKNOWN_LAGRANGIAN);
    assert_eq!(operator_from_name("a\0b").unwrap_err().status(), HAM_ERR_INVALID);
    assert!(version() >= HAM_VERSION_NUMBER);
    assert_eq!(version() / 10000, HAM_VERSION_MAJOR);
    let parts: Vec<u32> = version_string().split('.').map(|p| p.parse().unwrap()).collect();
    assert_eq!(parts[0] * 10000 + parts[1] * 100 + parts[2], version());
}

#[test]
fn lagrangians_can_be_set_and_read() {
    let mut model = Model::new(&[3, 4, 2], HAM_MODEL_CLAMPED_INPUT).unwrap();
    model.set_lagrangian(1, HAM_LAGRANGIAN_SOFTMAX, 2.5).unwrap();
    assert_eq!(model.lagrangian(1).unwrap(), (HAM_LAGRANGIAN_SOFTMAX, 2.5));
    assert_eq!(model.lagrangian(2).unwrap(), (HAM_LAGRANGIAN_SHIFTED_SIGMOID, 0.0));
    let e = model.set_lagrangian(1, HAM_LAGRANGIAN_SOFTMAX, -1.0).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_INVALID);
    assert_eq!(model.lagrangian(1).unwrap(), (HAM_LAGRANGIAN_SOFTMAX, 2.5), "kept on failure");
    let e = model.set_lagrangian(7, HAM_LAGRANGIAN_TANH, 0.0).unwrap_err();
    assert_eq!(e.status(), HAM_ERR_INVALID);
}

#[test]
fn attractor_safe_and_stability_check_options_and_stats() {
    let safe = Solver::option_info(HAM_OPT_ATTRACTOR_SAFE).unwrap();
    assert_eq!((safe.default, safe.min, safe.max), (-1.0, -1.0, 2.0));
    let check = Solver::option_info(HAM_OPT_STABILITY_CHECK).unwrap();
    assert_eq!((check.default, check.min, check.max), (0.0, 0.0, 1000.0));

    let model = random_model(&SIZES, 3, 0.6);
    let mut rng = Lcg(9);
    let batch = 4;
    let x = rng.vec(batch * SIZES[0], 0.0, 1.0);
    let mut solver = Solver::new(&model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON).unwrap();
    solver.set_option(HAM_OPT_TOL, 1e-6).unwrap();
    solver.set_option(HAM_OPT_MAX_ITER, 500.0).unwrap();
    solver.set_option(HAM_OPT_ATTRACTOR_SAFE, 1.0).unwrap();
    solver.set_option(HAM_OPT_STABILITY_CHECK, 20.0).unwrap();
    assert_eq!(solver.option(HAM_OPT_ATTRACTOR_SAFE).unwrap(), 1.0);
    assert_eq!(solver.option(HAM_OPT_STABILITY_CHECK).unwrap(), 20.0);
    assert!(solver.set_option(HAM_OPT_ATTRACTOR_SAFE, 3.0).is_err());
    assert!(solver.set_option(HAM_OPT_STABILITY_CHECK, 1001.0).is_err());

    let mut s = vec![0.0; batch * solver.state_dim()];
    let stats = solver.solve(&mut s, Some(&x)).unwrap();
    assert_eq!(stats.samples, batch as i32);
    // a small contractive model: every sample converges to an attractor
    assert_eq!(stats.unstable, 0, "{stats:?}");
    assert!(stats.rejected_steps >= 0, "{stats:?}");
    assert!(stats.jacobian_products > 0, "the stability check's JVPs: {stats:?}");
    assert_eq!(
        stats.converged + stats.not_converged + stats.diverged + stats.unstable,
        stats.samples,
        "{stats:?}"
    );
    let samples = solver.samples().unwrap();
    assert!(samples.status.iter().all(|&st| st != HAM_SAMPLE_UNSTABLE));
    assert_eq!(solver.stats().unwrap(), stats);
}
