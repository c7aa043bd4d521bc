//! The module order of `ARCHITECTURE.md`, checked: every `crate::<module>` reference in `src/`
//! (and every `phasebench::<module>` one in the binary's `cli/` and `main.rs`) goes down the
//! order, never up, and no two files refer to each other in a circle. Reads the source as text
//! (comments and unit tests left out), so it needs nothing but the standard library.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The allowed order, lowest first: a module may refer only to modules before it. `lib` is the
/// crate root's own items (`crate::load_checked_suite`); `cli` and `main` are the binary.
const ORDER: [&str; 21] = [
    "units",
    "warnings",
    "stats",
    "atomic_file",
    "telemetry",
    "suite",
    "device",
    "accuracy",
    "models",
    "plan",
    "results",
    "compare",
    "report",
    "runner",
    "lib",
    "app",
    "ui",
    "cli",
    "main",
    // Reserved for modules the order does not know yet: a new module must be placed in it.
    "",
    "",
];

/// One reference from a file to a path of the library.
#[derive(Debug)]
struct Reference {
    file: PathBuf,
    line: usize,
    /// The referenced path's segments after `crate::` or `phasebench::`.
    segments: Vec<String>,
}

fn source_dir() -> PathBuf {
    let root = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from("."), PathBuf::from);
    root.join("src")
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

/// The top-level module a file belongs to: `src/app/live.rs` → `app`, `src/lib.rs` → `lib`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap_or(file);
    let first = relative.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned()).unwrap_or_default();
    first.trim_end_matches(".rs").to_owned()
}

/// The text of the code that ships: line comments blanked, the unit-test module cut off.
fn code_of(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = match line.find("//") {
            // A `//` inside a string (a URL) is kept; only a comment outside quotes is cut.
            Some(at) if line[..at].matches('"').count() % 2 == 0 => &line[..at],
            _ => line,
        };
        lines.push(code.to_owned());
    }
    lines
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths a `use` tree starting at `text` names: `a::b`, or `{a, b::{c, d}, self}`.
fn paths_of_tree(text: &str) -> Vec<Vec<String>> {
    let text = text.trim_start();
    if let Some(inner) = text.strip_prefix('{') {
        let mut depth = 0usize;
        let mut items = Vec::new();
        let mut start = 0;
        for (index, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    items.push(&inner[start..index]);
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&inner[start..index]);
                    start = index + 1;
                }
                _ => {}
            }
        }
        return items.into_iter().filter(|item| !item.trim().is_empty()).flat_map(paths_of_tree).collect();
    }
    let mut segments = Vec::new();
    let mut rest = text;
    loop {
        let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        segments.push(rest[..end].to_owned());
        rest = &rest[end..];
        match rest.strip_prefix("::") {
            Some(after) if after.trim_start().starts_with('{') => {
                let inner = paths_of_tree(after);
                return inner
                    .into_iter()
                    .map(|tail| segments.iter().cloned().chain(tail.into_iter().filter(|s| s != "self")).collect())
                    .collect();
            }
            Some(after) => rest = after,
            None => break,
        }
    }
    vec![segments]
}

/// Every reference to a library path in `file`, with its line.
fn references_in(src: &Path, file: &Path) -> Vec<Reference> {
    let Ok(text) = std::fs::read_to_string(file) else { return Vec::new() };
    let module = module_of(src, file);
    let prefix = if module == "cli" || module == "main" { "phasebench::" } else { "crate::" };
    let lines = code_of(&text);
    let joined = lines.join("\n");
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = joined[from..].find(prefix) {
        let start = from + at;
        from = start + prefix.len();
        if joined[..start].chars().next_back().is_some_and(is_ident) {
            continue;
        }
        let line = joined[..start].matches('\n').count() + 1;
        for segments in paths_of_tree(&joined[from..]) {
            if !segments.is_empty() {
                found.push(Reference { file: file.to_owned(), line, segments });
            }
        }
    }
    found
}

/// The module a reference lands in: its first segment when that is a module, else the root.
fn target_module(segments: &[String], modules: &BTreeSet<String>) -> String {
    match segments.first() {
        Some(first) if modules.contains(first) => first.clone(),
        _ => "lib".to_owned(),
    }
}

/// The file a reference lands in: the deepest `src/a/b.rs` or `src/a/b/mod.rs` along its path.
fn target_file(src: &Path, segments: &[String]) -> PathBuf {
    let mut best = src.join("lib.rs");
    let mut dir = src.to_path_buf();
    for segment in segments {
        let as_file = dir.join(format!("{segment}.rs"));
        let as_dir = dir.join(segment).join("mod.rs");
        if as_file.is_file() {
            best = as_file;
        } else if as_dir.is_file() {
            best = as_dir;
        } else {
            break;
        }
        dir = dir.join(segment);
    }
    best
}

/// The problems of the tree under `src`: references against the order, unknown modules, circles.
fn problems(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|file| module_of(src, file)).collect();
    let rank = |module: &str| ORDER.iter().position(|known| !known.is_empty() && *known == module);
    let mut problems = Vec::new();
    for module in &modules {
        if rank(module).is_none() {
            problems.push(format!(
                "module `{module}` is not in the order of tests/architecture.rs (and ARCHITECTURE.md): place it"
            ));
        }
    }
    let mut edges: BTreeMap<PathBuf, BTreeMap<PathBuf, usize>> = BTreeMap::new();
    for file in &files {
        let module = module_of(src, file);
        for reference in references_in(src, file) {
            let target = target_module(&reference.segments, &modules);
            let shown =
                |path: &Path| path.strip_prefix(src.parent().unwrap_or(src)).unwrap_or(path).display().to_string();
            if target != module
                && let (Some(from), Some(to)) = (rank(&module), rank(&target))
                && to > from
            {
                problems.push(format!(
                    "{}:{}: `{module}` refers to `{}` but `{target}` comes after `{module}` in the module order",
                    shown(&reference.file),
                    reference.line,
                    reference.segments.join("::"),
                ));
            }
            if module != "cli" && module != "main" {
                let to = target_file(src, &reference.segments);
                if &to != file {
                    edges.entry(file.clone()).or_default().entry(to).or_insert(reference.line);
                }
            }
        }
    }
    problems.extend(circles(&edges, src));
    problems
}

/// Every circle of file references, each once, as `a.rs:L → b.rs:L → a.rs`.
fn circles(edges: &BTreeMap<PathBuf, BTreeMap<PathBuf, usize>>, src: &Path) -> Vec<String> {
    let shown = |path: &Path| path.strip_prefix(src.parent().unwrap_or(src)).unwrap_or(path).display().to_string();
    let mut found = BTreeSet::new();
    let mut problems = Vec::new();
    for start in edges.keys() {
        // Depth-first from each file, looking for a way back to it.
        let mut stack: Vec<(PathBuf, Vec<PathBuf>)> = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in edges.get(&at).map(|targets| targets.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
                if &next == start {
                    let mut members: Vec<PathBuf> = path.clone();
                    members.sort();
                    if found.insert(members) {
                        let mut text = String::new();
                        for (index, file) in path.iter().enumerate() {
                            let to = path.get(index + 1).unwrap_or(start);
                            let line = edges.get(file).and_then(|targets| targets.get(to)).copied().unwrap_or(0);
                            text.push_str(&format!("{}:{line} → ", shown(file)));
                        }
                        text.push_str(&shown(start));
                        problems.push(format!("files refer to each other in a circle: {text}"));
                    }
                } else if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next, longer));
                }
            }
        }
    }
    problems
}

#[test]
fn modules_refer_only_down_the_order_and_files_never_in_a_circle() {
    let src = source_dir();
    assert!(src.join("lib.rs").is_file(), "no src/lib.rs under {}", src.display());
    let problems = problems(&src);
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn use_trees_are_read_with_their_groups() {
    let paths = paths_of_tree("{a, b::{c, d::E}, self, f::g};");
    let joined: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(joined, ["a", "b::c", "b::d::E", "self", "f::g"]);
    assert_eq!(
        paths_of_tree("runner::{self, Shard};").iter().map(|p| p.join("::")).collect::<Vec<_>>(),
        ["runner", "runner::Shard"]
    );
}

#[test]
fn a_reference_up_the_order_and_a_circle_are_found() {
    let dir = std::env::temp_dir().join(format!("phasebench-architecture-{}", std::process::id()));
    let src = dir.join("src");
    let write = |path: &str, text: &str| {
        let path = src.join(path);
        std::fs::create_dir_all(path.parent().unwrap_or(&src)).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| e.to_string())
    };
    let setup = (|| {
        write("lib.rs", "pub mod stats;\npub mod results;\n")?;
        write("stats/mod.rs", "// crate::results in a comment does not count\nuse crate::results::RunResult;\n")?;
        write("results/mod.rs", "mod store;\nuse crate::results::store::X;\n")?;
        write("results/store.rs", "use crate::results::Y;\n")
    })();
    let found = setup.map(|()| problems(&src));
    let _ = std::fs::remove_dir_all(&dir);
    let found = found.unwrap_or_else(|error| vec![error]);
    assert!(
        found.iter().any(|p| p.contains("src/stats/mod.rs:2: `stats` refers to `results::RunResult`")),
        "{found:#?}"
    );
    assert!(found.iter().any(|p| p.starts_with("files refer to each other in a circle")), "{found:#?}");
    assert_eq!(found.len(), 2, "{found:#?}");
}
