//! Helpers shared by the integration tests: a small deterministic generator, and a
//! direct reimplementation of the model's operator and energy (docs/math.md, sections 1
//! and 3) in f64, to check the library's results against.
#![allow(dead_code, clippy::needless_range_loop)]

use hamdeq::*;

/// A 64-bit LCG: deterministic test data without crates.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next_f32(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32) / (1u64 << 24) as f32
    }
    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.next_f32()
    }
    pub fn vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }
}

/// A clamped model with random weights and biases (shifted-sigmoid everywhere).
pub fn random_model(sizes: &[usize], seed: u64, scale: f32) -> Model {
    let mut rng = Lcg(seed);
    let mut m = Model::new(sizes, HAM_MODEL_CLAMPED_INPUT).unwrap();
    for b in 0..sizes.len() - 1 {
        m.set_weights(b, &rng.vec(sizes[b] * sizes[b + 1], -scale, scale)).unwrap();
    }
    for (l, &n) in sizes.iter().enumerate().skip(1) {
        m.set_bias(l, &rng.vec(n, -0.5, 0.5)).unwrap();
    }
    m
}

/// The model's parameters, read back through the binding, in f64.
pub struct Reference {
    pub sizes: Vec<usize>,
    pub w: Vec<Vec<f64>>,
    pub b: Vec<Vec<f64>>,
}

pub fn shifted_sigmoid(s: f64) -> f64 {
    1.0 / (1.0 + (-4.0 * (s - 0.5)).exp())
}

fn softplus(z: f64) -> f64 {
    if z > 30.0 {
        z
    } else {
        z.exp().ln_1p()
    }
}

impl Reference {
    pub fn of(model: &Model) -> Reference {
        let sizes = model.layer_sizes();
        let w = (0..sizes.len() - 1)
            .map(|b| model.weights(b).unwrap().iter().map(|&v| v as f64).collect())
            .collect();
        let b = (0..sizes.len())
            .map(|l| {
                if l == 0 {
                    vec![0.0; sizes[0]]
                } else {
                    model.bias(l).unwrap().iter().map(|&v| v as f64).collect()
                }
            })
            .collect();
        Reference { sizes, w, b }
    }

    /// Splits one sample's full state (layers 1..L-1) into layers, with layer 0's
    /// activation taken from x.
    fn layers(&self, x: &[f32], full: &[f32]) -> Vec<Vec<f64>> {
        let mut s = vec![x.iter().map(|&v| v as f64).collect::<Vec<_>>()];
        let mut off = 0;
        for &n in &self.sizes[1..] {
            s.push(full[off..off + n].iter().map(|&v| v as f64).collect());
            off += n;
        }
        s
    }

    /// `F(s)` of one sample: `F_l = W_{l-1}' g_{l-1} + W_l g_{l+1} + b_l`, with
    /// `g_0 = g(x)`.
    pub fn sync(&self, x: &[f32], full: &[f32]) -> Vec<f64> {
        let s = self.layers(x, full);
        let g: Vec<Vec<f64>> =
            s.iter().map(|l| l.iter().map(|&v| shifted_sigmoid(v)).collect()).collect();
        let mut out = Vec::new();
        for l in 1..self.sizes.len() {
            let n = self.sizes[l];
            let mut f = self.b[l].clone();
            // W_{l-1}' g_{l-1}: W_{l-1} is N_{l-1} x N_l
            for i in 0..self.sizes[l - 1] {
                for j in 0..n {
                    f[j] += self.w[l - 1][i * n + j] * g[l - 1][i];
                }
            }
            if l + 1 < self.sizes.len() {
                let m = self.sizes[l + 1];
                for i in 0..n {
                    for j in 0..m {
                        f[i] += self.w[l][i * m + j] * g[l + 1][j];
                    }
                }
            }
            out.extend(f);
        }
        out
    }

    /// `E(s; x)` of one sample (docs/math.md, section 1).
    pub fn energy(&self, x: &[f32], full: &[f32]) -> f64 {
        let s = self.layers(x, full);
        let g: Vec<Vec<f64>> =
            s.iter().map(|l| l.iter().map(|&v| shifted_sigmoid(v)).collect()).collect();
        let mut e = 0.0;
        for l in 1..self.sizes.len() {
            for i in 0..self.sizes[l] {
                let lag = 0.25 * softplus(4.0 * (s[l][i] - 0.5));
                e += s[l][i] * g[l][i] - lag - self.b[l][i] * g[l][i];
            }
        }
        for l in 0..self.sizes.len() - 1 {
            let m = self.sizes[l + 1];
            for i in 0..self.sizes[l] {
                for j in 0..m {
                    e -= g[l][i] * self.w[l][i * m + j] * g[l + 1][j];
                }
            }
        }
        e
    }
}

pub fn max_abs_diff(a: &[f32], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(&a, &b)| (a as f64 - b).abs()).fold(0.0, f64::max)
}

/// The text of a caught panic.
pub fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "?".to_string()
    }
}
