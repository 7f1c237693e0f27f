//! Finds libhamdeq and tells cargo how to link it. No crates: the `pkg-config` program
//! is run as a subprocess.
//!
//! Order of precedence:
//!
//! 1. `HAMDEQ_LIB_DIR` (the directory of `libhamdeq.so`) and optionally
//!    `HAMDEQ_INCLUDE_DIR` (a `:`-separated list of directories in which
//!    `hamdeq/hamdeq.h` and `version.h` are found; only the ABI tests need it);
//! 2. `pkg-config hamdeq` (`$PKG_CONFIG` if set), which honours `PKG_CONFIG_PATH`: with
//!    `PKG_CONFIG_PATH=BUILDDIR/meson-uninstalled` it finds meson's
//!    `hamdeq-uninstalled.pc` and links the build tree without installing.
//!
//! A directory that is not a system one is also put into the run path (`-Wl,-rpath`) of
//! this crate's tests, and exported to dependent build scripts as `DEP_HAMDEQ_LIB_DIRS`,
//! so that the safe crate's tests, examples and doc tests find the library too. Set
//! `HAMDEQ_NO_RPATH=1` to leave the run path alone.
use std::env;
use std::path::PathBuf;
use std::process::Command;

const MIN_VERSION: &str = "0.1";

fn main() {
    for var in [
        "HAMDEQ_LIB_DIR",
        "HAMDEQ_INCLUDE_DIR",
        "HAMDEQ_NO_RPATH",
        "PKG_CONFIG",
        "PKG_CONFIG_PATH",
        "PKG_CONFIG_LIBDIR",
        "PKG_CONFIG_SYSROOT_DIR",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=build.rs");

    let (lib_dirs, include_dirs) = match env::var_os("HAMDEQ_LIB_DIR") {
        Some(dir) if !dir.is_empty() => {
            let include = env::var_os("HAMDEQ_INCLUDE_DIR")
                .map(|v| env::split_paths(&v).collect())
                .unwrap_or_default();
            (vec![PathBuf::from(dir)], include)
        }
        _ => from_pkg_config(),
    };

    for dir in &lib_dirs {
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
    println!("cargo:rustc-link-lib=dylib=hamdeq");

    let rpath: Vec<&PathBuf> = if env::var_os("HAMDEQ_NO_RPATH").is_some_and(|v| v != "0") {
        Vec::new()
    } else {
        lib_dirs.iter().filter(|d| !is_system_dir(d)).collect()
    };
    for dir in &rpath {
        // Only this crate's own tests; dependents add it from DEP_HAMDEQ_LIB_DIRS.
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
    }
    let join = |v: &[&PathBuf]| env::join_paths(v).unwrap().into_string().unwrap();
    // Metadata for dependents' build scripts (DEP_HAMDEQ_*), and for this crate's tests.
    println!("cargo:lib_dirs={}", join(&rpath));
    let includes: Vec<&PathBuf> = include_dirs.iter().collect();
    println!("cargo:include={}", join(&includes));
    println!("cargo:rustc-env=HAMDEQ_SYS_INCLUDE_DIRS={}", join(&includes));
    let libs: Vec<&PathBuf> = lib_dirs.iter().collect();
    println!("cargo:rustc-env=HAMDEQ_SYS_LIB_DIRS={}", join(&libs));
}

fn is_system_dir(dir: &std::path::Path) -> bool {
    ["/usr/lib", "/lib", "/usr/lib64", "/lib64"].iter().any(|sys| {
        dir == std::path::Path::new(sys) || dir.parent() == Some(std::path::Path::new(sys))
    })
}

fn from_pkg_config() -> (Vec<PathBuf>, Vec<PathBuf>) {
    let program = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_string());
    let query = format!("hamdeq >= {MIN_VERSION}");
    let out = Command::new(&program).args(["--cflags", "--libs", &query]).output();
    let out = match out {
        Ok(out) if out.status.success() => out,
        Ok(out) => fail(&format!(
            "`{program} --cflags --libs '{query}'` failed:\n{}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => fail(&format!("cannot run `{program}`: {e}")),
    };
    let text = String::from_utf8(out.stdout).expect("pkg-config printed non-UTF-8");
    let (mut libs, mut includes) = (Vec::new(), Vec::new());
    for flag in text.split_whitespace() {
        if let Some(dir) = flag.strip_prefix("-L") {
            libs.push(PathBuf::from(dir));
        } else if let Some(dir) = flag.strip_prefix("-I") {
            includes.push(PathBuf::from(dir));
        } else if let Some(lib) = flag.strip_prefix("-l") {
            if lib != "hamdeq" {
                println!("cargo:rustc-link-lib={lib}");
            }
        }
    }
    (libs, includes)
}

fn fail(why: &str) -> ! {
    eprintln!(
        "\nhamdeq-sys: libhamdeq {MIN_VERSION} or newer was not found.\n{why}\n\n\
         Install it (meson install puts hamdeq.pc on the pkg-config path), or point \
         the build at a meson build tree without installing:\n    \
         PKG_CONFIG_PATH=BUILDDIR/meson-uninstalled cargo build\n\
         or name the directories yourself:\n    \
         HAMDEQ_LIB_DIR=BUILDDIR/lib HAMDEQ_INCLUDE_DIR=include:BUILDDIR/include/hamdeq cargo build\n"
    );
    std::process::exit(1);
}
