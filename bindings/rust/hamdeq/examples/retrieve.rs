//! retrieve: solve a batch of a 784-512-10 HAM with the even-odd operator and Anderson
//! acceleration, and print what each sample took.
//!
//! The Rust twin of the C example `examples/retrieve.c`: same model, same inputs, same
//! output, line for line (`ci.sh` compares the two).
//!
//!     cargo run --example retrieve
use hamdeq::*;
use std::process::ExitCode;

const BATCH: usize = 8;

/// `%.2e` as C's printf writes it: two exponent digits at least, and a sign.
fn c_exp(v: f64) -> String {
    let s = format!("{v:.2e}");
    let (mantissa, exp) = s.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap();
    format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
}

fn main() -> Result<ExitCode> {
    // The paper's model: shifted sigmoid everywhere (the default), Xavier weights.
    let mut model = Model::new(&[784, 512, 10], HAM_MODEL_CLAMPED_INPUT)?;
    model.init_xavier(1)?;

    // Inputs: BATCH images of 784 "pixels" in [0, 1) from a small fixed generator.
    let mut rng = 12345u32;
    let x: Vec<f32> = (0..BATCH * 784)
        .map(|_| {
            rng = rng.wrapping_mul(1664525).wrapping_add(1013904223);
            (rng >> 8) as f32 / 16777216.0
        })
        .collect();

    // The even-odd state holds only the output layer: 10 floats per sample.
    let mut solver = Solver::new(&model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON)?;
    solver.set_option(HAM_OPT_TOL, 1e-4)?;
    let dim = solver.state_dim();
    let mut state = vec![0.0f32; BATCH * dim];
    let stats = solver.solve(&mut state, Some(&x))?;
    let samples = solver.samples()?;

    println!("libhamdeq {}: 784-512-10, even-odd + Anderson, tol 1e-4", version_string());
    println!("sample  iterations  residual   status     argmax");
    for k in 0..BATCH {
        let s = &state[k * dim..(k + 1) * dim];
        // the first largest output, as the C example's strict comparison picks it
        let best = (1..dim).fold(0, |best, j| if s[j] > s[best] { j } else { best });
        let status = match samples.status[k] {
            HAM_SAMPLE_CONVERGED => "converged",
            HAM_SAMPLE_MAX_ITER => "max-iter",
            _ => "diverged",
        };
        println!(
            "{k:6}  {:10}  {}  {status:<9}  {best:6}",
            samples.iterations[k],
            c_exp(samples.residuals[k])
        );
    }
    println!(
        "mean {:.2} iterations, {} of {} converged",
        stats.iters_mean, stats.converged, stats.samples
    );
    Ok(if stats.all_converged() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
