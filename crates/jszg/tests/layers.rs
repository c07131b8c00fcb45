//! The import graph of the service crate, read from its source: every file is
//! a node, every `crate::…` or `super::…` path an edge to the file that defines
//! it. Two rules hold, and this test fails with the offending edges otherwise:
//!
//! - layers only point down: server → http → flows → app → adapters → store →
//!   config → the low modules (vault, error, crypto, message, metrics); the
//!   clock reads its development offset from the store, so it sits beside adapters;
//! - there is no cycle between files, not even inside one layer.
//!
//! The same check runs on the domain crate (no cycle). It needs no extra tool:
//! `cargo test -p jszg --test layers -- --nocapture` prints the layer summary.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Top-level modules from the top of the stack to the bottom. A module may
/// use any module of a lower rank, and modules of its own rank.
const LAYERS: &[(&str, u8)] = &[
    ("main", 9),
    ("server", 8),
    ("http", 7),
    ("flows", 6),
    ("app", 5),
    ("adapters", 4),
    ("clock", 4),
    ("store", 3),
    ("config", 2),
    ("vault", 1),
    ("error", 1),
    ("crypto", 0),
    ("message", 0),
    ("metrics", 0),
];

/// Macros exported at the crate root but defined in `store/mod.rs`.
const MACROS: &[(&str, &str)] = &[("db_run", "store"), ("tx_run", "store"), ("account_columns", "store")];

fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs").to_owned();
        if stem != "mod" && stem != "lib" {
            parts.push(stem);
        }
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::a::b` / `super::a` path in the file, as segments, with
/// `use crate::{a, b::c}` groups expanded one level.
fn paths_in(text: &str) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let code = code.split(" //").next().unwrap_or(code);
        for anchor in ["crate::", "super::"] {
            let mut rest = code;
            while let Some(i) = rest.find(anchor) {
                let before = &rest[..i];
                rest = &rest[i + anchor.len()..];
                // `jszg_crate::` or `$crate::` are not our paths (but `$crate` is).
                if before.ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let kind = anchor.trim_end_matches("::").to_owned();
                if let Some(group) = rest.strip_prefix('{') {
                    let inner = group.split('}').next().unwrap_or("");
                    for item in inner.split(',') {
                        let segs = segments(item.trim());
                        if !segs.is_empty() {
                            found.push((kind.clone(), segs));
                        }
                    }
                } else {
                    let segs = segments(rest);
                    if !segs.is_empty() {
                        found.push((kind, segs));
                    }
                }
            }
        }
    }
    found
}

fn segments(s: &str) -> Vec<String> {
    let mut segs = Vec::new();
    let mut rest = s;
    loop {
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        segs.push(rest[..end].to_owned());
        rest = &rest[end..];
        match rest.strip_prefix("::") {
            Some(r) if !r.starts_with('{') => rest = r,
            _ => break,
        }
    }
    segs
}

struct Graph {
    /// File module path ("flows::notify") → the modules it uses.
    edges: BTreeMap<String, BTreeSet<String>>,
}

fn build(src: &Path, macros: &[(&str, &str)]) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(src, f)).collect();
    let mut edges = BTreeMap::new();
    for file in &files {
        let me = module_of(src, file);
        let text = fs::read_to_string(file).unwrap_or_default();
        let is_dir_module = file.file_name().is_some_and(|n| n == "mod.rs" || n == "lib.rs");
        let mut targets = BTreeSet::new();
        for (kind, segs) in paths_in(&text) {
            let mut full: Vec<String> = if kind == "crate" {
                Vec::new()
            } else {
                // `super` of a file module is its directory's module; of a mod.rs, the one above.
                let mut base = me.clone();
                base.pop();
                if is_dir_module {
                    base.pop();
                }
                base
            };
            let mut segs = segs;
            while segs.first().is_some_and(|s| s == "super") {
                full.pop();
                segs.remove(0);
            }
            full.extend(segs);
            if let Some((_, owner)) = macros.iter().find(|(m, _)| full.len() == 1 && full[0] == *m) {
                full = vec![owner.to_string()];
            }
            // The longest prefix that is a file module.
            let target = (1..=full.len()).rev().map(|n| full[..n].to_vec()).find(|p| modules.contains(p));
            if let Some(target) = target {
                if target != me {
                    targets.insert(target.join("::"));
                }
            }
        }
        edges.insert(me.join("::"), targets);
    }
    Graph { edges }
}

fn rank(module: &str) -> Option<u8> {
    let top = module.split("::").next().unwrap_or("");
    LAYERS.iter().find(|(m, _)| *m == top).map(|(_, r)| *r)
}

/// Strongly connected components with more than one file (Tarjan).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        let graph = s.graph;
        for w in graph.edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !graph.edges.contains_key(w) {
                continue;
            }
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(lw));
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in graph.edges.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v.as_str());
        }
    }
    s.out
}

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name).join("src")
}

#[test]
fn service_layers_point_down_and_files_form_no_cycle() {
    let graph = build(&crate_src("jszg"), MACROS);
    assert!(graph.edges.len() > 40, "found only {} files: is the source path right?", graph.edges.len());
    let mut upward = Vec::new();
    let mut unranked = BTreeSet::new();
    let mut summary: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (from, tos) in &graph.edges {
        if from.is_empty() {
            continue; // lib.rs only declares the modules
        }
        let Some(rf) = rank(from) else {
            unranked.insert(from.clone());
            continue;
        };
        for to in tos {
            let Some(rt) = rank(to) else {
                unranked.insert(to.clone());
                continue;
            };
            let top = |m: &str| m.split("::").next().unwrap_or("").to_owned();
            if top(from) != top(to) {
                *summary.entry((top(from), top(to))).or_default() += 1;
            }
            if rt > rf {
                upward.push(format!("{from} → {to}"));
            }
        }
    }
    println!("edges between layers (from → to: files×uses):");
    for ((from, to), n) in &summary {
        println!("  {from:>9} → {to:<9} {n}");
    }
    assert!(unranked.is_empty(), "modules missing from LAYERS: {unranked:?}");
    assert!(upward.is_empty(), "imports pointing up the stack:\n{}", upward.join("\n"));
    let found = cycles(&graph);
    println!("files: {}, cycles: {}", graph.edges.len(), found.len());
    assert!(found.is_empty(), "import cycles between files: {found:#?}");
}

#[test]
fn domain_files_form_no_cycle() {
    let graph = build(&crate_src("domain"), &[]);
    assert!(graph.edges.len() > 5);
    let found = cycles(&graph);
    assert!(found.is_empty(), "import cycles between domain files: {found:#?}");
}

#[test]
fn the_checker_sees_a_cycle_and_an_upward_import() {
    // A cycle the checker must find, so a broken parser cannot pass silently.
    let dir = std::env::temp_dir().join(format!("jszg-layers-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("flows")).unwrap();
    fs::write(dir.join("lib.rs"), "pub mod app; pub mod flows;").unwrap();
    fs::write(dir.join("app.rs"), "use crate::flows::notify::Message;").unwrap();
    fs::write(dir.join("flows/mod.rs"), "pub mod notify;").unwrap();
    fs::write(dir.join("flows/notify.rs"), "use crate::{app::App, error};\nfn f() { super::super::app::x(); }").unwrap();
    let graph = build(&dir, &[]);
    assert!(graph.edges["app"].contains("flows::notify"));
    assert!(graph.edges["flows::notify"].contains("app"));
    assert_eq!(cycles(&graph), vec![vec!["app".to_owned(), "flows::notify".to_owned()]]);
    assert!(rank("app") < rank("flows::notify"));
    let _ = fs::remove_dir_all(&dir);
}

/// Wire crates a layer may not name, and the folders of it that may: flows return typed values
/// and `AppError`s; the HTTP layer alone chooses statuses and routes, shapes JSON and describes it
/// (utoipa). Inside `flows/oidc` JSON is the subject itself (ID token claims, discovery), so JSON
/// values are allowed there and nowhere else in flows.
const BANNED: &[(&str, &[&str], &[&str])] = &[
    ("flows", &["axum::", "StatusCode", "http::", "utoipa", "ToSchema"], &[]),
    ("flows", &["serde_json::Value", "use serde_json::json", "json!("], &["oidc"]),
];

#[test]
fn flows_name_no_wire_crate() {
    let src = crate_src("jszg");
    let mut found = Vec::new();
    for (layer, words, allowed) in BANNED {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        files.sort();
        for file in files {
            let rel = file.strip_prefix(src.join(layer)).unwrap_or(&file);
            if allowed.iter().any(|dir| rel.starts_with(dir)) {
                continue;
            }
            let text = fs::read_to_string(&file).expect("read source");
            // Test modules may build JSON to feed what they test.
            let code_part = text.split("#[cfg(test)]").next().unwrap_or("");
            for (n, line) in code_part.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for word in *words {
                    if code.contains(word) {
                        found.push(format!("{}:{}: {word}", file.strip_prefix(&src).unwrap_or(&file).display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "wire types where they do not belong:\n{}", found.join("\n"));
}
