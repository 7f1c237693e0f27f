//! The safe crate wraps every function libhamdeq exports, except those listed below with
//! the reason. Fails when the library exports a function this crate does not call (a new
//! one to wrap), or when an exception is no longer true.
use std::collections::BTreeSet;
use std::path::Path;

/// Exported functions the safe crate deliberately does not call.
const EXCEPTIONS: &[(&str, &str)] = &[(
    "ham_solver_model",
    "returns a borrowed pointer to the solver's model; the safe Solver keeps the Model \
     handle it was created with (its own ham_model_ref reference) and Solver::model() \
     returns that, so there is no pointer to wrap",
)];

fn words_after(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let tail = &rest[i + prefix.len()..];
        let name: String =
            tail.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        out.insert(format!("ham_{name}"));
        rest = tail;
    }
    out
}

/// The functions hamdeq-sys declares (its own tests check them against lib/hamdeq.map
/// and the headers), and the map's when the source tree is there.
fn exported() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = std::fs::read_to_string(root.join("../hamdeq-sys/src/lib.rs")).unwrap();
    let declared = words_after(&sys, "pub fn ham_");
    assert_eq!(declared.len(), 84, "hamdeq-sys declares {} functions", declared.len());
    let map = std::env::var_os("HAMDEQ_MAP")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("../../../lib/hamdeq.map"));
    if let Ok(text) = std::fs::read_to_string(&map) {
        let mapped: BTreeSet<String> = text
            .lines()
            .map(|l| l.trim())
            .filter(|l| l.starts_with("ham_") && l.ends_with(';'))
            .map(|l| l.trim_end_matches(';').to_string())
            .collect();
        assert_eq!(mapped, declared, "{} and hamdeq-sys differ", map.display());
    }
    declared
}

fn used() -> BTreeSet<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut text = String::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            // code only: drop comment lines (doc examples and prose name functions too)
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                if !line.trim_start().starts_with("//") {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
    }
    // functions, not the types (`sys::ham_model_t`)
    words_after(&text, "sys::ham_").into_iter().filter(|n| !n.ends_with("_t")).collect()
}

#[test]
fn every_exported_function_is_wrapped_or_excepted() {
    let exported = exported();
    let used = used();
    let excepted: BTreeSet<String> = EXCEPTIONS.iter().map(|(n, _)| n.to_string()).collect();
    let unknown: Vec<_> = used.difference(&exported).collect();
    assert!(unknown.is_empty(), "the safe crate calls functions hamdeq-sys lacks: {unknown:?}");
    let missing: Vec<_> =
        exported.iter().filter(|f| !used.contains(*f) && !excepted.contains(*f)).collect();
    assert!(
        missing.is_empty(),
        "exported by libhamdeq but neither wrapped by the safe crate nor listed in \
         EXCEPTIONS with a reason: {missing:?}"
    );
    for (name, reason) in EXCEPTIONS {
        assert!(exported.contains(*name), "exception {name} is not exported");
        assert!(!used.contains(*name), "exception {name} is used after all: remove it");
        assert!(reason.len() > 20, "{name}: give the reason");
    }
    assert_eq!(used.len() + EXCEPTIONS.len(), exported.len());
}
