//! hamdeq-sys against the C library: every exported function is declared, every
//! declaration has the header's types, and every struct layout and constant is what the C
//! compiler makes of the headers.
mod support;

use hamdeq_sys::*;
use std::collections::{BTreeMap, BTreeSet};
use std::mem::{align_of, offset_of, size_of};
use support::*;

#[test]
fn every_exported_function_is_declared() {
    let Some((path, exported)) = symbol_map() else {
        // Outside the source tree (a packaged crate) there is no map; the header test
        // below still checks every HAM_API declaration.
        eprintln!("lib/hamdeq.map not found: set HAMDEQ_MAP to check the exports");
        return;
    };
    assert!(exported.len() >= 84, "{}: only {} symbols", path.display(), exported.len());
    let declared = parse_rust().funcs;
    let missing: Vec<&String> = exported.iter().filter(|s| !declared.contains_key(*s)).collect();
    assert!(
        missing.is_empty(),
        "exported by {} but not declared in hamdeq-sys: {missing:?}",
        path.display()
    );
    let extra: Vec<&String> = declared.keys().filter(|d| !exported.contains(d)).collect();
    assert!(extra.is_empty(), "declared in hamdeq-sys but not exported: {extra:?}");
}

#[test]
fn the_source_reader_sees_every_declaration() {
    // Guards the text-based tests below against a reader that silently sees nothing.
    let rust = parse_rust();
    assert_eq!(rust.funcs.len(), 84);
    assert_eq!(rust.structs.len(), 7, "{:?}", rust.structs.keys());
    assert_eq!(rust.opaque.len(), 5, "{:?}", rust.opaque);
    assert_eq!(rust.fnptrs.len(), 3);
    assert_eq!(
        rust.funcs["ham_model_new"].params,
        ["*mut *mut ham_model_t", "i32", "*const i32", "u32"]
    );
    let c = parse_headers();
    assert_eq!(
        c.structs["ham_lagrangian_def_t"].fields[3],
        (
            "value".to_string(),
            "Option<unsafe extern \"C\" fn(*const f32, i32, *mut c_void) -> f64>".to_string()
        )
    );
}

#[test]
fn declarations_match_the_headers() {
    let c = parse_headers();
    let rust = parse_rust();
    let mut problems = Vec::new();
    for (name, f) in &c.funcs {
        match rust.funcs.get(name) {
            None => problems.push(format!("{name}: in the headers, not in hamdeq-sys")),
            Some(r) if r != f => problems.push(format!(
                "{name}: C ({}) -> {}, Rust ({}) -> {}",
                f.params.join(", "),
                f.ret,
                r.params.join(", "),
                r.ret
            )),
            _ => {}
        }
    }
    for name in rust.funcs.keys() {
        if !c.funcs.contains_key(name) {
            problems.push(format!("{name}: in hamdeq-sys, not in the headers"));
        }
    }
    if c.fnptrs != rust.fnptrs {
        problems.push(format!("function pointer types: C {:?}, Rust {:?}", c.fnptrs, rust.fnptrs));
    }
    for (name, s) in &c.structs {
        match rust.structs.get(name) {
            None => problems.push(format!("struct {name}: not in hamdeq-sys")),
            Some(r) if r.fields != s.fields => {
                problems.push(format!("struct {name}: C {:?}, Rust {:?}", s.fields, r.fields))
            }
            _ => {}
        }
    }
    let c_structs: BTreeSet<_> = c.structs.keys().collect();
    let r_structs: BTreeSet<_> = rust.structs.keys().collect();
    if c_structs != r_structs {
        problems.push(format!("structs: C {c_structs:?}, Rust {r_structs:?}"));
    }
    let c_opaque: BTreeSet<_> = c.opaque.iter().collect();
    let r_opaque: BTreeSet<_> = rust.opaque.iter().collect();
    if c_opaque != r_opaque {
        problems.push(format!("opaque types: C {c_opaque:?}, Rust {r_opaque:?}"));
    }
    let c_consts: BTreeSet<_> = c.consts.keys().collect();
    let r_consts: BTreeSet<_> = rust.consts.keys().collect();
    if c_consts != r_consts {
        problems.push(format!(
            "constants only in C: {:?}; only in Rust: {:?}",
            c_consts.difference(&r_consts).collect::<Vec<_>>(),
            r_consts.difference(&c_consts).collect::<Vec<_>>()
        ));
    }
    assert!(problems.is_empty(), "hamdeq-sys differs from the headers:\n{}", problems.join("\n"));
}

/// Size of a field, from a projection closure.
fn field_size<T, F>(_: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

/// struct name -> (size, alignment, [(field, offset, size)])
type Layouts = BTreeMap<String, (usize, usize, Vec<(String, usize, usize)>)>;

macro_rules! rust_layouts {
    ($($t:ident { $($f:ident),* $(,)? })*) => {{
        let mut m = Layouts::new();
        $(
            m.insert(stringify!($t).to_string(), (size_of::<$t>(), align_of::<$t>(), vec![$(
                (stringify!($f).to_string(), offset_of!($t, $f), field_size::<$t, _>(|s| &s.$f)),
            )*]));
        )*
        m
    }};
}

#[test]
fn struct_layouts_match_c() {
    let rust = rust_layouts! {
        ham_lagrangian_def_t { size, flags, name, value, activation, hvp, user, destroy }
        ham_solve_stats_t { size, samples, converged, not_converged, diverged, iters_max,
                            iters_mean, evaluations, jacobian_products, unstable,
                            rejected_steps }
        ham_iter_info_t { size, iteration, active, sample, residual, iterations, dim, state,
                          output }
        ham_conv_info_t { size, sample, iterations, dim, state, output, residual_norm,
                          output_norm, tol, atol }
        ham_solver_def_t { size, flags, name, init, fini, reset, step, compact, user, destroy }
        ham_load_options_t { size, flags, max_bytes }
        ham_mhn_minima_t { size, starts, converged, minima, saddles, mean_attractor, mean_basin,
                           iters_max, iters_mean }
    };
    // The C program prints the same table for every struct the headers define, with the
    // fields the headers list.
    let headers = parse_headers();
    let mut prog = String::from(
        "#include <stddef.h>\n#include <stdio.h>\n#include <hamdeq/hamdeq.h>\nint main(void) {\n",
    );
    for (name, s) in &headers.structs {
        prog +=
            &format!("  printf(\"struct {name} %zu %zu\\n\", sizeof({name}), _Alignof({name}));\n");
        for (field, _) in &s.fields {
            prog += &format!(
                "  printf(\"field {name} {field} %zu %zu\\n\", offsetof({name}, {field}), \
                 sizeof((({name} *)0)->{field}));\n"
            );
        }
    }
    prog += "  return 0;\n}\n";
    let out = run_c("layouts", &prog);
    let mut c = Layouts::new();
    for line in out.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w[0] {
            "struct" => {
                c.insert(w[1].into(), (w[2].parse().unwrap(), w[3].parse().unwrap(), vec![]));
            }
            "field" => c.get_mut(w[1]).unwrap().2.push((
                w[2].into(),
                w[3].parse().unwrap(),
                w[4].parse().unwrap(),
            )),
            _ => panic!("{line}"),
        }
    }
    assert_eq!(c.len(), 7, "{out}");
    for (name, layout) in &c {
        assert_eq!(rust.get(name), Some(layout), "layout of {name}: C {layout:?}");
    }
    assert_eq!(rust.len(), c.len());
    // A size-prefixed struct starts with `uint32_t size` (docs/api.md).
    for (name, (_, _, fields)) in &c {
        assert_eq!(fields[0], ("size".to_string(), 0, 4), "{name}");
    }
}

#[derive(Debug, PartialEq)]
enum Value {
    Int(i128),
    Str(String),
}

macro_rules! rust_consts {
    ($($n:ident)*) => {{
        let mut m = BTreeMap::new();
        $( m.insert(stringify!($n).to_string(), Value::from($n)); )*
        m
    }};
}

macro_rules! from_int {
    ($($t:ty)*) => {$( impl From<$t> for Value { fn from(v: $t) -> Self { Value::Int(v as i128) } } )*};
}
from_int!(i32 u32 u64);
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_string())
    }
}

#[test]
fn constants_match_c() {
    let rust = rust_consts! {
        HAM_OK HAM_ERR_NULL HAM_ERR_INVALID HAM_ERR_DIMENSION HAM_ERR_NOMEM HAM_ERR_NONFINITE
        HAM_ERR_UNKNOWN_LAGRANGIAN HAM_ERR_UNKNOWN_SOLVER HAM_ERR_UNKNOWN_OPERATOR
        HAM_ERR_UNKNOWN_OPTION HAM_ERR_UNSUPPORTED HAM_ERR_STRUCT_SIZE HAM_ERR_CANCELLED
        HAM_ERR_NUMERIC HAM_ERR_CALLBACK HAM_ERR_IO HAM_ERR_FORMAT
        HAM_VERSION_MAJOR HAM_VERSION_MINOR HAM_VERSION_PATCH HAM_VERSION_STRING
        HAM_VERSION_NUMBER
        HAM_LAGRANGIAN_SHIFTED_SIGMOID HAM_LAGRANGIAN_SIGMOID HAM_LAGRANGIAN_TANH
        HAM_LAGRANGIAN_IDENTITY HAM_LAGRANGIAN_SOFTMAX HAM_LAGRANGIAN_CUSTOM
        HAM_MAX_LAYERS HAM_MODEL_FREE_INPUT HAM_MODEL_CLAMPED_INPUT
        HAM_OPERATOR_SYNC HAM_OPERATOR_EVEN_ODD
        HAM_SOLVER_PICARD HAM_SOLVER_ANDERSON HAM_SOLVER_BROYDEN HAM_SOLVER_NEWTON
        HAM_SOLVER_CUSTOM
        HAM_OPT_TOL HAM_OPT_MAX_ITER HAM_OPT_WARM_START HAM_OPT_DT HAM_OPT_ANDERSON_M
        HAM_OPT_ANDERSON_BETA HAM_OPT_ANDERSON_LAMBDA HAM_OPT_ANDERSON_SAFEGUARD
        HAM_OPT_BROYDEN_M HAM_OPT_NEWTON_LINESEARCH HAM_OPT_NEWTON_MAX_DIM HAM_OPT_DIVERGENCE
        HAM_OPT_NEWTON_KRYLOV_DIM HAM_OPT_NEWTON_FORCING HAM_OPT_FIXED_ITERS HAM_OPT_ATOL
        HAM_OPT_ATTRACTOR_SAFE HAM_OPT_STABILITY_CHECK HAM_OPT_THREADS
        HAM_SAMPLE_CONVERGED HAM_SAMPLE_MAX_ITER HAM_SAMPLE_DIVERGED HAM_SAMPLE_UNSTABLE
        HAM_LOSS_MSE HAM_LOSS_CROSS_ENTROPY
        HAM_OPTIMIZER_SGD HAM_OPTIMIZER_ADAM HAM_OPTIMIZER_MADAM
        HAM_GRADIENT_IMPLICIT HAM_GRADIENT_RECURRENT
        HAM_TRAIN_LOSS HAM_TRAIN_OPTIMIZER HAM_TRAIN_LR HAM_TRAIN_MOMENTUM HAM_TRAIN_ADAM_BETA1
        HAM_TRAIN_ADAM_BETA2 HAM_TRAIN_ADAM_EPS HAM_TRAIN_MADAM_SCALE HAM_TRAIN_MADAM_GBOUND
        HAM_TRAIN_MADAM_BIASES HAM_TRAIN_GRADIENT HAM_TRAIN_BACKWARD_SOLVER
        HAM_TRAIN_BACKWARD_ITERS HAM_TRAIN_BACKWARD_TOL HAM_TRAIN_THREADS
        HAM_LOAD_DEFAULT_MAX_BYTES
    };
    let headers = parse_headers();
    let mut prog =
        String::from("#include <stdio.h>\n#include <hamdeq/hamdeq.h>\nint main(void) {\n");
    for (name, value) in &headers.consts {
        if value.starts_with('"') {
            prog += &format!("  printf(\"str {name} %s\\n\", {name});\n");
        } else {
            prog += &format!("  printf(\"int {name} %lld\\n\", (long long)({name}));\n");
        }
    }
    prog += "  return 0;\n}\n";
    let out = run_c("constants", &prog);
    let mut c = BTreeMap::new();
    for line in out.lines() {
        let mut w = line.splitn(3, ' ');
        let (kind, name, value) = (w.next().unwrap(), w.next().unwrap(), w.next().unwrap());
        let v = match kind {
            "int" => Value::Int(value.parse().unwrap()),
            _ => Value::Str(value.to_string()),
        };
        c.insert(name.to_string(), v);
    }
    // Every constant the source declares is in the table above (so its value is checked).
    let declared: BTreeSet<String> = parse_rust().consts.into_keys().collect();
    let tabled: BTreeSet<String> = rust.keys().cloned().collect();
    assert_eq!(declared, tabled, "constants declared vs. checked here");
    assert_eq!(c.len(), rust.len(), "C constants: {:?}", c.keys().collect::<Vec<_>>());
    for (name, value) in &c {
        assert_eq!(rust.get(name), Some(value), "{name}");
    }
}

#[test]
fn the_library_is_the_one_the_headers_describe() {
    // The loaded library's version matches the headers' (the ABI only grows within 0.x,
    // so a newer minor is fine, an older one is not).
    let v = unsafe { ham_version() };
    assert_eq!(v / 10000, HAM_VERSION_MAJOR);
    assert!(v >= HAM_VERSION_NUMBER, "library {v} older than the headers {HAM_VERSION_NUMBER}");
    let s = unsafe { std::ffi::CStr::from_ptr(ham_version_string()) };
    assert_eq!(s.to_str().unwrap().split('.').count(), 3);
    // Status names and descriptions through the raw declarations.
    let name = unsafe { std::ffi::CStr::from_ptr(ham_status_name(HAM_ERR_DIMENSION)) };
    assert_eq!(name.to_str().unwrap(), "HAM_ERR_DIMENSION");
}
