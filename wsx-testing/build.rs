//! Registers the scenarios: every `pub fn NAME<A: TestAdapter>()` in `src/scenarios/*.rs`
//! becomes a name in the `__wsx_scenario_names!` macro, which `behaviour_suite!` expands into
//! one test each, so a new scenario runs on every adapter without being listed anywhere. The
//! server's scenarios likewise: `pub fn NAME<S: TestServing>()` in `__wsx_server_names!`, and
//! `pub fn NAME<C: TestAdapter, S: TestServing>()` (a client of one adapter, a server of
//! another) in `__wsx_pair_names!`.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new("src/scenarios");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("src/scenarios")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    files.sort();
    let mut names = Vec::new();
    let mut server_names = Vec::new();
    let mut pair_names = Vec::new();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let text = std::fs::read_to_string(file).expect("a scenario module");
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("pub fn ") else {
                continue;
            };
            if let Some(name) = rest.strip_suffix("<A: TestAdapter>() {") {
                names.push(name.to_owned());
            } else if let Some(name) = rest.strip_suffix("<S: TestServing>() {") {
                server_names.push(name.to_owned());
            } else if let Some(name) = rest.strip_suffix("<C: TestAdapter, S: TestServing>() {") {
                pair_names.push(name.to_owned());
            }
        }
    }
    assert!(!names.is_empty(), "no scenarios found in {}", dir.display());
    let mut out = String::new();
    for (macro_name, names) in [
        ("__wsx_scenario_names", &names),
        ("__wsx_server_names", &server_names),
        ("__wsx_pair_names", &pair_names),
    ] {
        let _ = write!(
            out,
            "/// Calls `$callback!` with the given arguments, then `;` and every scenario's name.\n\
             #[doc(hidden)]\n#[macro_export]\nmacro_rules! {macro_name} {{\n    \
             ($callback:path; $($args:tt)*) => {{\n        $callback! {{ $($args)*;\n",
        );
        for name in names {
            let _ = writeln!(out, "            {name},");
        }
        out.push_str("        }\n    };\n}\n");
    }
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("scenario_names.rs");
    std::fs::write(target, out).expect("write the scenario list");
}
