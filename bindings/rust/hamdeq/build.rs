//! Puts the directory hamdeq-sys found libhamdeq in (when it is not a system directory)
//! into the run path of this crate's tests, examples and doc tests, so that they run
//! against a build tree without LD_LIBRARY_PATH. hamdeq-sys exports the directories as
//! `DEP_HAMDEQ_LIB_DIRS` (empty for a system installation or with HAMDEQ_NO_RPATH=1).
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_HAMDEQ_LIB_DIRS");
    if let Some(dirs) = std::env::var_os("DEP_HAMDEQ_LIB_DIRS") {
        for dir in std::env::split_paths(&dirs) {
            if !dir.as_os_str().is_empty() {
                println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
            }
        }
    }
}
