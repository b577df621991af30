//! The import graph: siren-core's module trees import only the trees below them, no file
//! imports another that (through any chain) imports it back, and the workspace's crates
//! depend one way (core <- pde / image / hypernet <- cli / xtask).
//!
//! The graph is read from the sources: every `crate::`, `super::` and `self::` path outside
//! comments, `use` trees expanded, resolved to the file that defines the module it names
//! (root re-exports such as `crate::Float` to the module they come from).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// siren-core's module trees, lowest first; a tree may import its own files and lower trees.
const LAYERS: &[&[&str]] = &[
    &["error", "float", "tensor", "tracer", "device"],
    &["model"],
    &["jet"],
    &["backend"],
    &["evaluate"],
    &["io"],
    &["pytorch"],
    &["optim"],
    &["checkpoint"],
    &["train"],
    &["stats"],
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, as module paths (`["backend", "cpu", "rows"]`) and files.
fn modules(dir: &Path, prefix: &[String], out: &mut BTreeMap<Vec<String>, PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut p = prefix.to_vec();
            p.push(name);
            modules(&path, &p, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut p = prefix.to_vec();
            if name != "mod" && !(prefix.is_empty() && (name == "lib" || name == "main")) {
                p.push(name);
            }
            out.insert(p, path);
        }
    }
}

/// The code of a file without comments (doc links are not imports).
fn code(path: &Path) -> String {
    fs::read_to_string(path)
        .expect("read source")
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into its paths.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or("").trim();
        return vec![path.to_string()];
    };
    let prefix = &tree[..open];
    let Some(close) = tree.rfind('}').filter(|&c| c > open) else {
        return vec![prefix.trim_end_matches("::").to_string()];
    };
    let inner = &tree[open + 1..close];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, ch) in inner.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(expand)
        .map(|p| format!("{prefix}{p}"))
        .collect()
}

/// The module paths a file refers to, relative to the crate root.
fn references(module: &[String], text: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    // `use` statements, trees expanded.
    for stmt in text.split(';') {
        let s = stmt.trim();
        let s = s.strip_prefix("pub(crate) ").unwrap_or(s);
        let s = s.strip_prefix("pub(super) ").unwrap_or(s);
        let s = s.strip_prefix("pub ").unwrap_or(s);
        if let Some(tree) = s.strip_prefix("use ") {
            if ["crate::", "super::", "self::"]
                .iter()
                .any(|p| tree.starts_with(p))
            {
                paths.extend(expand(tree));
            }
        }
    }
    // Paths written inline in code.
    for start in ["crate::", "super::"] {
        for (i, _) in text.match_indices(start) {
            let rest: String = text[i..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            paths.push(rest);
        }
    }
    paths
        .into_iter()
        .filter_map(|p| {
            let segs: Vec<String> = p
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            match segs.first().map(String::as_str) {
                Some("crate") => Some(segs[1..].to_vec()),
                Some("super") => {
                    // Each `super` is one module up from the file's own module.
                    let mut base = module.to_vec();
                    let mut rest = &segs[..];
                    while rest.first().map(String::as_str) == Some("super") {
                        base.pop();
                        rest = &rest[1..];
                    }
                    Some([base, rest.to_vec()].concat())
                }
                Some("self") => Some([module.to_vec(), segs[1..].to_vec()].concat()),
                _ => None,
            }
        })
        .collect()
}

/// The longest module prefix of `path` that is a file, following root re-exports.
fn resolve(
    path: &[String],
    files: &BTreeMap<Vec<String>, PathBuf>,
    reexports: &BTreeMap<String, Vec<String>>,
) -> Option<Vec<String>> {
    for len in (1..=path.len()).rev() {
        if files.contains_key(&path[..len]) {
            return Some(path[..len].to_vec());
        }
    }
    let first = path.first()?;
    reexports
        .get(first)
        .and_then(|target| resolve(target, files, reexports))
}

fn layer_of(module: &[String]) -> Option<usize> {
    let top = module.first()?;
    LAYERS.iter().position(|l| l.contains(&top.as_str()))
}

#[test]
fn module_trees_import_downwards_without_circles() {
    let edges = graph(&src());
    let mut wrong_way = Vec::new();
    for (module, targets) in &edges {
        let layer = layer_of(module).unwrap_or_else(|| panic!("{module:?} is in no layer"));
        for target in targets {
            if layer_of(target).expect("a known tree") > layer {
                wrong_way.push(format!("{} -> {}", module.join("::"), target.join("::")));
            }
        }
    }
    assert!(
        wrong_way.is_empty(),
        "imports against the layers (see LAYERS): {wrong_way:#?}"
    );
    let count: usize = edges.values().map(BTreeSet::len).sum();
    assert!(count > 40, "the graph was read (found {count} edges)");
    if let Some(cycle) = find_cycle(&edges) {
        panic!("import circle: {}", cycle.join(" -> "));
    }
}

/// The paths of lib.rs's `pub use` statements.
fn expand_root_uses(text: &str) -> Vec<String> {
    text.split(';')
        .filter_map(|s| s.trim().strip_prefix("pub use "))
        .flat_map(expand)
        .collect()
}

/// A cycle in `edges`, as module names, if there is one.
fn find_cycle(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<String>> {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|n| n == next).expect("on the stack");
                    let mut cycle: Vec<String> =
                        stack[from..].iter().map(|m| m.join("::")).collect();
                    cycle.push(next.join("::"));
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, edges, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if state.get(node).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(node, edges, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

/// The file-level import graph of the crate whose sources are in `src`.
fn graph(src: &Path) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mut files = BTreeMap::new();
    modules(src, &[], &mut files);
    let root = ["lib.rs", "main.rs"]
        .into_iter()
        .map(|f| src.join(f))
        .find(|f| f.exists())
        .expect("a crate root");
    let mut reexports = BTreeMap::new();
    for path in expand_root_uses(&code(&root)) {
        let segs: Vec<String> = path.split("::").map(str::to_string).collect();
        if let Some((name, target)) = segs.split_last() {
            reexports.insert(name.clone(), target.to_vec());
        }
    }
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, file) in &files {
        if module.is_empty() {
            continue;
        }
        for target in references(module, &code(file)) {
            if let Some(target) = resolve(&target, &files, &reexports) {
                if !target.is_empty() && &target != module && !target.starts_with(module) {
                    edges.entry(module.clone()).or_default().insert(target);
                }
            }
        }
    }
    edges
}

#[test]
fn no_crate_of_the_workspace_has_an_import_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for name in [
        "siren-core",
        "siren-pde",
        "siren-image",
        "siren-hypernet",
        "siren-signal",
        "siren-cli",
        "xtask",
    ] {
        let edges = graph(&root.join(name).join("src"));
        if let Some(cycle) = find_cycle(&edges) {
            panic!("{name}: import circle {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn workspace_crates_depend_one_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let layer = |name: &str| match name {
        "siren-core" => Some(0),
        "siren-pde" | "siren-image" | "siren-hypernet" | "siren-signal" => Some(1),
        "siren-cli" | "xtask" => Some(2),
        _ => None,
    };
    let mut checked = 0;
    for name in [
        "siren-core",
        "siren-pde",
        "siren-image",
        "siren-hypernet",
        "siren-signal",
        "siren-cli",
        "xtask",
    ] {
        let manifest = fs::read_to_string(root.join(name).join("Cargo.toml"))
            .unwrap_or_else(|e| panic!("{name}/Cargo.toml at the repository root: {e}"));
        // Only [dependencies]: dev-dependencies may reach the integration-test crate.
        let deps = manifest
            .split("\n[")
            .find(|s| s.starts_with("dependencies]"))
            .unwrap_or("");
        for line in deps.lines().skip(1) {
            let dep = line.split(['=', '.', ' ']).next().unwrap_or("").trim();
            if let (Some(from), Some(to)) = (layer(name), layer(dep)) {
                assert!(to < from, "{name} depends on {dep}, which is not below it");
                checked += 1;
            }
        }
    }
    assert!(checked >= 8, "read {checked} workspace dependencies");
}
