//! Modern Hopfield networks through the binding: retrieval, energy, beta_s, minima.
mod common;

use common::*;
use hamdeq::*;

/// `n` random +-1 patterns of length `dim`, scaled to unit norm.
fn patterns(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = Lcg(seed);
    let scale = 1.0 / (dim as f32).sqrt();
    (0..n * dim).map(|_| if rng.next_f32() < 0.5 { -scale } else { scale }).collect()
}

#[test]
fn retrieval_recovers_a_stored_pattern_and_lowers_the_energy() {
    let (n, dim) = (5, 64);
    let x = patterns(n, dim, 1);
    let model = Model::new_mhn(&x, dim, 20.0).unwrap();
    assert_eq!(model.layer_sizes(), [n, dim]);
    assert!(!model.has_clamped_input());
    let mut solver = Solver::new(&model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON).unwrap();
    solver.set_option(HAM_OPT_WARM_START, 1.0).unwrap();
    solver.set_option(HAM_OPT_TOL, 1e-6).unwrap();
    // pattern 2 with a quarter of its signs flipped
    let mut query = x[2 * dim..3 * dim].to_vec();
    for v in query.iter_mut().step_by(4) {
        *v = -*v;
    }
    let e0 = model.mhn_energy(&query).unwrap()[0];
    let mut v = query.clone();
    assert!(solver.solve(&mut v, None).unwrap().all_converged());
    let e1 = model.mhn_energy(&v).unwrap()[0];
    assert!(e1 < e0, "energy {e0} -> {e1}");
    let overlap: f32 = v.iter().zip(&x[2 * dim..3 * dim]).map(|(a, b)| a * b).sum();
    assert!(overlap > 0.99, "overlap with the stored pattern {overlap}");
    // a strict local minimum
    assert!(model.mhn_hessian_min(&v).unwrap()[0] > 0.0);
    // the energy equals the HAM energy of the full state
    let full = model.eo_to_full(None, &v).unwrap();
    let e_ham = model.energy(None, &full).unwrap()[0];
    assert!((e_ham - e1).abs() < 1e-5 * (1.0 + e1.abs()));
}

#[test]
fn simplex_patterns_beta_s_and_minima() {
    // three unit patterns 120 degrees apart: beta_s = N - 1 = 2
    let h = 3f32.sqrt() / 2.0;
    let x = [1.0, 0.0, -0.5, h, -0.5, -h];
    assert!((mhn_beta_s(&x, 2).unwrap() - 2.0).abs() < 1e-5);
    assert_eq!(mhn_beta_s(&[1.0, 2.0, 1.0, 2.0], 2).unwrap(), f64::INFINITY);
    assert_eq!(mhn_beta_s(&x, 4).unwrap_err().status(), HAM_ERR_DIMENSION);

    let mut starts = Vec::new();
    let mut rng = Lcg(3);
    for _ in 0..24 {
        let a = rng.uniform(0.0, std::f32::consts::TAU);
        starts.extend([0.9 * a.cos(), 0.9 * a.sin()]);
    }
    // well above beta_s: the three patterns are the minima, the mean is not one
    let model = Model::new_mhn(&x, 2, 8.0).unwrap();
    let mut solver = Solver::new(&model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON).unwrap();
    let m = solver.mhn_find_minima(&starts, 8, 1e-2).unwrap();
    assert_eq!((m.starts, m.minima, m.mean_attractor), (24, 3, None));
    assert_eq!(m.converged, 24);
    assert_eq!(m.points.len(), 3 * 2);
    assert_eq!(m.assign.len(), 24);
    assert!(m.assign.iter().all(|&a| (0..3).contains(&a)));
    for p in m.points.chunks(2) {
        let best = x.chunks(2).map(|q| (p[0] - q[0]).hypot(p[1] - q[1])).fold(f32::MAX, f32::min);
        assert!(best < 0.05, "minimum {p:?} is not near a pattern");
    }
    // below beta_s: everything falls into the mean
    let model = Model::new_mhn(&x, 2, 1.0).unwrap();
    let mut solver = Solver::new(&model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON).unwrap();
    let m = solver.mhn_find_minima(&starts, 0, 1e-2).unwrap();
    assert_eq!((m.minima, m.mean_attractor, m.mean_basin), (1, Some(0), 24));
    assert!(m.points.is_empty());

    // not an MHN
    let ham = random_model(&[3, 2, 2], 1, 0.5);
    assert_eq!(ham.mhn_energy(&[0.0; 2]).unwrap_err().status(), HAM_ERR_UNSUPPORTED);
    let clamped2 = random_model(&[3, 2], 1, 0.5);
    assert_eq!(clamped2.mhn_energy(&[0.0; 2]).unwrap_err().status(), HAM_ERR_UNSUPPORTED);
}
