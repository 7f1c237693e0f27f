//! A small reader of the libhamdeq headers and of this crate's source, for the ABI
//! tests: it turns C declarations and Rust declarations into the same normal form
//! (`*const f32`, `Option<unsafe extern "C" fn(*const f32, i32) -> f64>`, ...), so that
//! the two can be compared as strings. It only knows the C the public headers use, and
//! panics on anything else, so a header that grows a new construct fails loudly here.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A function: name, normalised parameter types, normalised return type ("()" for void).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Func {
    pub name: String,
    pub params: Vec<String>,
    pub ret: String,
}

/// A struct: name and fields (name, normalised type) in order; empty for opaque ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Struct {
    pub name: String,
    pub fields: Vec<(String, String)>,
}

#[derive(Debug, Default)]
pub struct Api {
    pub funcs: BTreeMap<String, Func>,
    pub structs: BTreeMap<String, Struct>,
    pub opaque: Vec<String>,
    /// Function-pointer typedefs: name -> normalised type.
    pub fnptrs: BTreeMap<String, String>,
    /// Enum values and object-like `HAM_*` macros (name -> C expression).
    pub consts: BTreeMap<String, String>,
}

/// The include directories hamdeq-sys's build script found (pkg-config's `-I` flags or
/// HAMDEQ_INCLUDE_DIR).
pub fn include_dirs() -> Vec<PathBuf> {
    let dirs = env!("HAMDEQ_SYS_INCLUDE_DIRS");
    let dirs: Vec<PathBuf> =
        std::env::split_paths(dirs).filter(|d| !d.as_os_str().is_empty()).collect();
    assert!(
        !dirs.is_empty(),
        "hamdeq-sys was built without include directories: set HAMDEQ_INCLUDE_DIR \
         (with HAMDEQ_LIB_DIR) or use pkg-config"
    );
    dirs
}

/// Finds `name` (`hamdeq/hamdeq.h`, `version.h`, ...) in the include directories.
pub fn find_header(name: &str) -> PathBuf {
    let dirs = include_dirs();
    for d in &dirs {
        for candidate in [d.join(name), d.join("hamdeq").join(name)] {
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!("{name} not found in {dirs:?}");
}

/// The public headers: those hamdeq.h includes, and the generated version.h.
pub fn public_headers() -> Vec<PathBuf> {
    let umbrella = find_header("hamdeq/hamdeq.h");
    let text = std::fs::read_to_string(&umbrella).unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.trim().strip_prefix("#include \"") {
            let name = rest.trim_end_matches('"');
            out.push(find_header(name));
        }
    }
    out.push(find_header("version.h"));
    assert!(out.len() >= 8, "hamdeq.h includes too few headers: {out:?}");
    out
}

pub fn strip_c_comments(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && i + 1 < b.len() && b[i + 1] == b'*' {
            let end = src[i + 2..].find("*/").expect("unterminated comment") + i + 4;
            out.push(' ');
            i = end;
        } else if b[i] == b'/' && i + 1 < b.len() && b[i + 1] == b'/' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'"' {
            let end = src[i + 1..].find('"').unwrap() + i + 2;
            out.push_str(&src[i..end]);
            i = end;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// Splits at top-level commas (not inside parentheses or angle brackets).
pub fn split_top(s: &str, sep: char) -> Vec<String> {
    let (mut depth, mut cur, mut out) = (0i32, String::new(), Vec::new());
    let mut prev = ' ';
    for c in s.chars() {
        match c {
            '(' | '<' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            '>' if prev != '-' => depth -= 1,
            _ => {}
        }
        if c == sep && depth == 0 {
            out.push(cur.trim().to_string());
            cur.clear();
        } else {
            cur.push(c);
        }
        prev = c;
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn c_base(t: &str) -> String {
    match t {
        "void" => "c_void",
        "char" => "c_char",
        "int" => "c_int",
        "float" => "f32",
        "double" => "f64",
        "int32_t" => "i32",
        "uint32_t" => "u32",
        "int64_t" => "i64",
        "uint64_t" => "u64",
        "size_t" => "usize",
        other if other.starts_with("ham_") && other.ends_with("_t") => other,
        // function pointer typedefs without the _t suffix (trainer.h's ham_reduce_fn)
        other if other.starts_with("ham_") && other.ends_with("_fn") => other,
        other => panic!("C type {other:?} unknown to the test's header reader"),
    }
    .to_string()
}

/// Normalises one C declaration (`const float *s`, `double (*value)(const float *s)`,
/// `int32_t n`): returns (name, type). `name` is empty for an abstract declarator.
pub fn c_decl(decl: &str) -> (String, String) {
    let decl = decl.trim();
    if let Some(open) = decl.find("(*") {
        // function pointer: RET (*NAME)(PARAMS)
        let ret = c_type_only(&decl[..open]);
        let close = decl[open..].find(')').unwrap() + open;
        let name = decl[open + 2..close].trim().to_string();
        let rest = decl[close + 1..].trim();
        let params = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')).unwrap();
        return (name, fnptr_type(&c_params(params), &ret));
    }
    // Tokens with '*' split off.
    let spaced = decl.replace('*', " * ");
    let toks: Vec<&str> = spaced.split_whitespace().collect();
    // The name is the last identifier when it is not a type word.
    let (name, toks) = match toks.last() {
        Some(&last) if last != "*" && !is_c_type_word(last) && toks.len() > 1 => {
            (last.to_string(), &toks[..toks.len() - 1])
        }
        _ => (String::new(), &toks[..]),
    };
    (name, c_type_tokens(toks))
}

fn is_c_type_word(w: &str) -> bool {
    matches!(
        w,
        "void"
            | "char"
            | "int"
            | "float"
            | "double"
            | "int32_t"
            | "uint32_t"
            | "int64_t"
            | "uint64_t"
            | "size_t"
            | "const"
    ) || (w.starts_with("ham_") && (w.ends_with("_t") || w.ends_with("_fn")))
}

fn c_type_only(t: &str) -> String {
    let spaced = t.replace('*', " * ");
    let toks: Vec<&str> = spaced.split_whitespace().collect();
    c_type_tokens(&toks)
}

fn c_type_tokens(toks: &[&str]) -> String {
    // base with qualifiers, then pointer levels each optionally followed by const
    let first_star = toks.iter().position(|t| *t == "*").unwrap_or(toks.len());
    let base_toks = &toks[..first_star];
    let base_const = base_toks.contains(&"const");
    let base: Vec<&&str> = base_toks.iter().filter(|t| **t != "const").collect();
    assert_eq!(base.len(), 1, "unexpected C type {toks:?}");
    let base = c_base(base[0]);
    if first_star == toks.len() {
        return if base == "c_void" { "()".to_string() } else { base };
    }
    let mut ty = base;
    let mut pointee_const = base_const;
    let mut i = first_star;
    while i < toks.len() {
        assert_eq!(toks[i], "*", "unexpected C type {toks:?}");
        ty = format!("*{} {ty}", if pointee_const { "const" } else { "mut" });
        i += 1;
        pointee_const = false;
        if i < toks.len() && toks[i] == "const" {
            pointee_const = true;
            i += 1;
        }
    }
    ty
}

fn c_params(params: &str) -> Vec<String> {
    let params = params.trim();
    if params == "void" || params.is_empty() {
        return Vec::new();
    }
    split_top(params, ',').iter().map(|p| c_decl(p).1).collect()
}

pub fn fnptr_type(params: &[String], ret: &str) -> String {
    let ret = if ret == "()" { String::new() } else { format!(" -> {ret}") };
    format!("Option<unsafe extern \"C\" fn({}){ret}>", params.join(", "))
}

/// Reads the public headers.
pub fn parse_headers() -> Api {
    let mut api = Api::default();
    for path in public_headers() {
        parse_header(&path, &mut api);
    }
    api
}

fn parse_header(path: &Path, api: &mut Api) {
    let raw = std::fs::read_to_string(path).unwrap();
    let text = strip_c_comments(&raw);
    let mut code = String::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("#define ") {
            let (name, value) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            if name.starts_with("HAM_") && name != "HAM_API" && !name.contains('(') {
                let value = value.trim();
                assert!(!value.is_empty(), "{name} has no value");
                api.consts.insert(name.to_string(), value.to_string());
            }
        } else if !t.starts_with('#') {
            code.push_str(line);
            code.push('\n');
        }
    }
    // Drop `extern "C" {` / `}` guards of C++.
    let code = code.replace("extern \"C\" {", " ");
    for stmt in split_statements(&code) {
        let s = stmt.split_whitespace().collect::<Vec<_>>().join(" ");
        if s.is_empty() || s == "}" {
            continue;
        }
        if let Some(rest) = s.strip_prefix("HAM_API ") {
            let open = rest.find('(').unwrap();
            let (ret_name, params) = (&rest[..open], &rest[open + 1..rest.len() - 1]);
            let (name, ret) = c_decl(ret_name);
            assert!(name.starts_with("ham_"), "odd declaration {s}");
            let f = Func { name: name.clone(), params: c_params(params), ret };
            assert!(api.funcs.insert(name, f).is_none());
        } else if let Some(rest) = s.strip_prefix("typedef enum ") {
            let body = &rest[rest.find('{').unwrap() + 1..rest.rfind('}').unwrap()];
            for item in split_top(body, ',') {
                let (name, value) = item.split_once('=').expect("enum values are explicit");
                api.consts.insert(name.trim().to_string(), value.trim().to_string());
            }
        } else if let Some(rest) = s.strip_prefix("typedef struct ") {
            if let (Some(open), Some(close)) = (rest.find('{'), rest.rfind('}')) {
                let name = rest[close + 1..].trim().to_string();
                let fields =
                    split_top(&rest[open + 1..close], ';').iter().map(|f| c_decl(f)).collect();
                api.structs.insert(name.clone(), Struct { name, fields });
            } else {
                // typedef struct tag name_t;
                let name = rest.split_whitespace().last().unwrap().to_string();
                api.opaque.push(name);
            }
        } else if let Some(rest) = s.strip_prefix("typedef ") {
            let (name, ty) = c_decl(rest);
            assert!(ty.starts_with("Option<"), "unexpected typedef {s}");
            api.fnptrs.insert(name, ty);
        } else {
            panic!("{}: statement the test cannot read: {s}", path.display());
        }
    }
}

/// Splits C code into top-level statements ending with ';' (braces kept inside).
fn split_statements(code: &str) -> Vec<String> {
    let (mut depth, mut cur, mut out) = (0i32, String::new(), Vec::new());
    for c in code.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            // the closing brace of `extern "C" {`
            depth = 0;
            continue;
        }
        if c == ';' && depth == 0 {
            out.push(cur.trim().to_string());
            cur.clear();
        } else {
            cur.push(c);
        }
    }
    assert!(cur.trim().is_empty(), "trailing C code: {cur}");
    out
}

// ---------------------------------------------------------------------------------------
// The Rust side: hamdeq-sys's own source.

pub fn rust_source() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut s = std::fs::read_to_string(dir.join("lib.rs")).unwrap();
    s.push_str(&std::fs::read_to_string(dir.join("consts.rs")).unwrap());
    s
}

fn strip_rust_comments(src: &str) -> String {
    src.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Normalises a Rust type as written in hamdeq-sys: paths and parameter names dropped.
pub fn rust_type(t: &str) -> String {
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    let t = t.replace("core::ffi::", "").replace("std::os::raw::", "");
    if let Some(inner) = t.strip_prefix("Option<").and_then(|r| r.strip_suffix('>')) {
        let inner = inner.trim().trim_end_matches(',').trim();
        let rest = inner.strip_prefix("unsafe extern \"C\" fn").expect(&t).trim();
        let close = matching_paren(rest);
        let params: Vec<String> = split_top(&rest[1..close], ',')
            .iter()
            .map(|p| rust_type(p.split_once(':').map(|(_, ty)| ty).unwrap_or(p)))
            .collect();
        let ret = rest[close + 1..].trim();
        let ret = ret.strip_prefix("->").map(rust_type).unwrap_or_else(|| "()".into());
        return fnptr_type(&params, &ret);
    }
    t.trim().to_string()
}

fn matching_paren(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses in {s}");
}

/// Everything hamdeq-sys declares.
pub fn parse_rust() -> Api {
    let src = strip_rust_comments(&rust_source());
    let mut api = Api::default();
    let mut rest = src.as_str();
    // functions: `pub fn NAME(PARAMS) -> RET;`
    while let Some(i) = rest.find("pub fn ") {
        let after = &rest[i + 7..];
        let open = after.find('(').unwrap();
        let name = after[..open].trim().to_string();
        let close = matching_paren(&after[open..]) + open;
        let params: Vec<String> = split_top(&after[open + 1..close], ',')
            .iter()
            .map(|p| rust_type(p.split_once(':').unwrap().1))
            .collect();
        let tail = &after[close + 1..];
        let semi = tail.find(';').unwrap();
        let ret = tail[..semi].trim();
        let ret = ret.strip_prefix("->").map(rust_type).unwrap_or_else(|| "()".into());
        api.funcs.insert(name.clone(), Func { name, params, ret });
        rest = &tail[semi..];
    }
    // structs: `pub struct NAME { pub FIELD: TYPE, ... }`
    let mut rest = src.as_str();
    while let Some(i) = rest.find("pub struct ") {
        let after = &rest[i + 11..];
        let open = after.find('{').unwrap();
        let name = after[..open].trim().to_string();
        let mut depth = 0;
        let mut close = 0;
        for (j, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = open + j;
                        break;
                    }
                }
                _ => {}
            }
        }
        let fields: Vec<(String, String)> = split_top(&after[open + 1..close], ',')
            .iter()
            .map(|f| {
                let (n, t) = f.split_once(':').unwrap();
                (n.trim().trim_start_matches("pub ").trim().to_string(), rust_type(t))
            })
            .collect();
        if name.starts_with('$') {
            // the opaque! macro's template; its invocation is read below
        } else if fields.iter().any(|(n, _)| n == "_data") {
            api.opaque.push(name);
        } else {
            api.structs.insert(name.clone(), Struct { name, fields });
        }
        rest = &after[close..];
    }
    // the opaque! macro invocation lists names ending in `_t;`
    if let Some(i) = src.find("opaque! {") {
        let body = &src[i..src[i..].find("\n}").unwrap() + i];
        for line in body.lines() {
            let t = line.trim();
            if t.starts_with("ham_") && t.ends_with("_t;") {
                api.opaque.push(t.trim_end_matches(';').to_string());
            }
        }
    }
    // type aliases: `pub type NAME = TYPE;`
    let mut rest = src.as_str();
    while let Some(i) = rest.find("pub type ") {
        let after = &rest[i + 9..];
        let eq = after.find('=').unwrap();
        let semi = after.find(';').unwrap();
        api.fnptrs.insert(after[..eq].trim().to_string(), rust_type(&after[eq + 1..semi]));
        rest = &after[semi..];
    }
    // constants: `pub const NAME: TYPE = VALUE;`
    let mut rest = src.as_str();
    while let Some(i) = rest.find("pub const ") {
        let after = &rest[i + 10..];
        let colon = after.find(':').unwrap();
        let semi = after.find(';').unwrap();
        let value = after[..semi].split_once('=').unwrap().1.trim().to_string();
        api.consts.insert(after[..colon].trim().to_string(), value);
        rest = &after[semi..];
    }
    api
}

/// Exported symbols of lib/hamdeq.map (HAMDEQ_MAP overrides the path); None outside the
/// source tree.
pub fn symbol_map() -> Option<(PathBuf, Vec<String>)> {
    let path = match std::env::var_os("HAMDEQ_MAP") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../lib/hamdeq.map"),
    };
    let text = std::fs::read_to_string(&path).ok()?;
    let text = strip_c_comments(&text);
    let mut syms = Vec::new();
    let mut global = false;
    for line in text.lines() {
        let t = line.trim();
        if t == "global:" {
            global = true;
        } else if t == "local:" || t.starts_with('}') {
            global = false;
        } else if global && t.ends_with(';') {
            syms.push(t.trim_end_matches(';').trim().to_string());
        }
    }
    Some((path, syms))
}

/// The C compiler: $CC or `cc`.
pub fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".to_string())
}

/// Compiles and runs a C program against the headers; returns its stdout.
pub fn run_c(name: &str, source: &str) -> String {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join(format!("{name}.c"));
    let exe = dir.join(name);
    std::fs::write(&src, source).unwrap();
    let mut cmd = std::process::Command::new(cc());
    cmd.arg("-std=c11").arg("-Wall").arg("-Werror").arg("-o").arg(&exe).arg(&src);
    for d in include_dirs() {
        cmd.arg(format!("-I{}", d.display()));
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run the C compiler {}: {e}", cc()));
    assert!(
        out.status.success(),
        "{} failed on {}:\n{}",
        cc(),
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let run = std::process::Command::new(&exe).output().unwrap();
    assert!(run.status.success(), "{} failed", exe.display());
    String::from_utf8(run.stdout).unwrap()
}
