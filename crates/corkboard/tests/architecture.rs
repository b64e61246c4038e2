//! The crate's layers are one-way: a module may import only from layers
//! below its own, never from a layer above it nor from another module of
//! its own layer (the doors never import each other). This test reads the
//! sources and fails on any import that breaks that, and on a module that
//! has no place in the table. docs/architecture.md explains the layers.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every top-level module of `src/` and its layer, bottom (0) to top.
const LAYERS: &[(&str, u8)] = &[
    // The contract's model, rules, messages and errors: pure.
    ("core", 0),
    // Trace spans and their exporter: imports nothing of the crate.
    ("telemetry", 0),
    // Durable state behind the Store trait.
    ("store", 1),
    // Passwords, secrets and the credential cache; delivery to this node's
    // connections (hub, outboxes, frames).
    ("auth", 2),
    ("realtime", 2),
    // Fan-out of commits: in-process, or Redis across nodes.
    ("bus", 3),
    // Shared state of a running node and the operations every command uses.
    ("service", 4),
    // The command registry: one file per operation.
    ("commands", 5),
    // What every door shares (state, extractors, errors), and TLS setup.
    ("gateway", 6),
    ("tls", 6),
    // The doors.
    ("http", 7),
    ("ws", 7),
    ("sse", 7),
    ("longpoll", 7),
    ("grpc", 7),
    // Wiring: the route table, flags, startup, bindings.
    ("routes", 8),
    ("config", 8),
    ("server", 9),
    ("ts_bindings", 9),
    ("lib", 10),
    ("main", 10),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// The top-level module a file under `src/` belongs to.
fn module_of(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .and_then(|c| c.as_os_str().to_str())
        .unwrap_or_default();
    first.strip_suffix(".rs").unwrap_or(first).to_owned()
}

/// The top-level modules a source text names through `crate::…`, outside
/// comments, including grouped imports (`use crate::{a::X, b};`).
fn imports(source: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut in_group = false;
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                in_group = true;
                collect_group(group, &mut found, &mut in_group);
            } else {
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
            rest = after;
        }
        if in_group && !code.contains("crate::{") {
            collect_group(code, &mut found, &mut in_group);
        }
    }
    found
}

/// Names at the start of each item of a `{…}` group, until its `}`.
fn collect_group(text: &str, found: &mut BTreeSet<String>, in_group: &mut bool) {
    let mut depth = 0i32;
    let mut item_start = true;
    let mut name = String::new();
    for c in text.chars() {
        match c {
            '{' => {
                depth += 1;
                item_start = false;
            }
            '}' if depth == 0 => {
                *in_group = false;
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => item_start = true,
            c if item_start && (c.is_ascii_alphanumeric() || c == '_') => name.push(c),
            _ => {
                if item_start && !name.is_empty() {
                    found.insert(std::mem::take(&mut name));
                    item_start = false;
                } else if !c.is_whitespace() {
                    item_start = false;
                }
            }
        }
    }
    if !name.is_empty() {
        found.insert(name);
    }
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every import of every file, checked against the table.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    sources(src, &mut files);
    files.sort();
    let mut bad = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("under src");
        let module = module_of(rel);
        let Some(own) = layer(&module) else {
            bad.push(format!(
                "{}: module `{module}` has no layer in tests/architecture.rs",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("read source");
        for target in imports(&text) {
            if target == module {
                continue;
            }
            match layer(&target) {
                None => bad.push(format!(
                    "{}: imports `crate::{target}`, which has no layer",
                    rel.display()
                )),
                Some(l) if l >= own => bad.push(format!(
                    "{}: `{module}` (layer {own}) imports `crate::{target}` (layer {l})",
                    rel.display()
                )),
                Some(_) => {}
            }
        }
    }
    bad
}

/// No module imports from its own layer or above.
#[test]
fn imports_only_go_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let bad = violations(&src);
    assert!(bad.is_empty(), "upward imports:\n{}", bad.join("\n"));
}

/// The checker itself sees single, nested-path and grouped imports, and
/// ignores comments (so the test above can fail).
#[test]
fn the_import_scanner_finds_every_form() {
    let text = "use crate::core::{Event, User};\n\
                use crate::{store::Store, bus};\n\
                use crate::{\n    realtime::Hub,\n    service::{App, Principal},\n};\n\
                let x = crate::http::metrics::render;\n\
                // crate::server is only mentioned here\n";
    let got: Vec<String> = imports(text).into_iter().collect();
    assert_eq!(
        got,
        vec!["bus", "core", "http", "realtime", "service", "store"]
    );
}

/// An upward import in a scratch tree is reported, with its layers.
#[test]
fn an_upward_import_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("core")).expect("mkdir");
    std::fs::write(dir.path().join("core/mod.rs"), "use crate::service::App;\n").expect("write");
    std::fs::write(dir.path().join("nowhere.rs"), "").expect("write");
    let bad = violations(dir.path());
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(bad
        .iter()
        .any(|b| b.contains("`core` (layer 0) imports `crate::service` (layer 4)")));
    assert!(bad.iter().any(|b| b.contains("`nowhere` has no layer")));
}
