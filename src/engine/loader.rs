//! The ES module loader of a runtime: `import` and `import()` reach the
//! host's own scripts, Node's built-ins (`node:fs`, `fs`) and the files of
//! the runtime's installed packages, nothing else.
//!
//! Interop follows Node 22: an ES module importing a CommonJS file gets a
//! wrapper module whose default export is `module.exports` and whose named
//! exports are the names Node's CommonJS analysis finds in the source
//! (re-exports followed); a `.js` file that a `type: commonjs` package ships
//! with `import`/`export` syntax loads as an ES module. `require()` of an ES
//! module goes through deno_core's synchronous import (see `require.js`).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Mutex, OnceLock};

use deno_ast::{MediaType, ParseParams};
use deno_core::{
    ModuleLoadOptions, ModuleLoadReferrer, ModuleLoadResponse, ModuleLoader, ModuleResolveResponse, ModuleSource,
    ModuleSourceCode, ModuleSpecifier, ModuleType, ResolutionKind,
};
use deno_error::JsErrorBox;

use super::modules::{ModuleFormat, Packages};
use super::node;

/// Source maps of the scripts this runtime compiled, keyed by specifier;
/// deno_core asks for them when it maps a stack trace.
#[derive(Default, Clone)]
pub(crate) struct SourceMaps(pub(crate) Rc<RefCell<HashMap<String, Arc<[u8]>>>>);

pub(crate) struct ChatLoader {
    pub maps: SourceMaps,
    pub packages: Option<Arc<Packages>>,
}

/// URL prefix of installed packages' files (their virtual paths are
/// `/node_modules/<name>@<version>/...`).
const PACKAGES_URL: &str = "file:///node_modules/";

/// The global through which wrapper modules reach `require.js`; defined
/// there, read-only.
const BRIDGE: &str = "globalThis.__chatfnModules";

impl ChatLoader {
    fn packages(&self) -> Arc<Packages> {
        self.packages.clone().unwrap_or_default()
    }
}

fn not_found(specifier: &str, referrer: &str) -> JsErrorBox {
    JsErrorBox::new(
        "Error",
        format!("Cannot find module '{specifier}' imported from {referrer} (chat functions import only Node's built-ins and the runtime's installed packages)"),
    )
}

impl ModuleLoader for ChatLoader {
    fn resolve(&self, specifier: &str, referrer: &str, _kind: ResolutionKind) -> ModuleResolveResponse {
        if self.maps.0.borrow().contains_key(specifier) {
            return ModuleSpecifier::parse(specifier).map_err(JsErrorBox::from_err);
        }
        if let Some(name) = node::builtin_name(specifier) {
            return ModuleSpecifier::parse(&format!("node:{name}")).map_err(JsErrorBox::from_err);
        }
        if specifier.starts_with("node:") {
            return Err(JsErrorBox::new("Error", format!("No such built-in module: {specifier}")));
        }
        let packages = self.packages();
        // A file of an installed package named by its URL or path.
        let absolute = specifier.strip_prefix("file://").or_else(|| specifier.starts_with('/').then_some(specifier));
        if let Some(path) = absolute {
            if path.starts_with("/node_modules/") && packages.is_file(path) {
                return ModuleSpecifier::parse(&format!("file://{path}")).map_err(JsErrorBox::from_err);
            }
            return Err(not_found(specifier, referrer));
        }
        let parent = referrer.strip_prefix("file://").filter(|p| p.starts_with("/node_modules/")).unwrap_or("");
        match packages.resolve_import(specifier, parent) {
            Ok(path) => ModuleSpecifier::parse(&format!("file://{path}")).map_err(JsErrorBox::from_err),
            Err(_) => Err(not_found(specifier, referrer)),
        }
    }

    fn load(
        &self,
        specifier: &ModuleSpecifier,
        _referrer: Option<&ModuleLoadReferrer>,
        _options: ModuleLoadOptions,
    ) -> ModuleLoadResponse {
        ModuleLoadResponse::Sync(self.load_now(specifier))
    }

    fn get_source_map(&self, file_name: &str) -> Option<Cow<'_, [u8]>> {
        self.maps.0.borrow().get(file_name).filter(|m| !m.is_empty()).map(|m| Cow::Owned(m.to_vec()))
    }
}

impl ChatLoader {
    fn load_now(&self, specifier: &ModuleSpecifier) -> Result<ModuleSource, JsErrorBox> {
        let url = specifier.as_str();
        let javascript = |code: String| {
            ModuleSource::new(ModuleType::JavaScript, ModuleSourceCode::String(code.into()), specifier, None)
        };
        if let Some(name) = url.strip_prefix("node:") {
            let name = node::builtin_name(name)
                .ok_or_else(|| JsErrorBox::generic(format!("No such built-in module: {url}")))?;
            let load = format!("{BRIDGE}.builtin({})", js_string(name));
            return Ok(javascript(wrapper(&load, node::builtin_exports(name))));
        }
        if !url.starts_with(PACKAGES_URL) {
            return Err(JsErrorBox::generic(format!("Cannot load module '{url}'")));
        }
        let path = &url["file://".len()..];
        let packages = self.packages();
        let source = packages.read(path).map_err(JsErrorBox::generic)?;
        match packages.format_of(path) {
            ModuleFormat::Json => {
                Ok(ModuleSource::new(ModuleType::Json, ModuleSourceCode::String(source.into()), specifier, None))
            }
            ModuleFormat::EsModule => Ok(javascript(source)),
            ModuleFormat::CommonJs => {
                let analysis = analyze_file(&packages, path, &source);
                if analysis.module_syntax && !path.ends_with(".cjs") {
                    return Ok(javascript(source));
                }
                let names = exported_names(&packages, path, &analysis);
                let load = format!("{BRIDGE}.load({})", js_string(path));
                Ok(javascript(wrapper(&load, &names)))
            }
        }
    }
}

/// An ES module re-exporting a CommonJS module's `module.exports`: as the
/// default export, and each analysed name as a named export.
fn wrapper(load: &str, names: &[String]) -> String {
    let mut code = format!("const m = {load};\nexport default m;\nconst o = Object(m);\n");
    let mut exports = Vec::new();
    for (i, name) in names.iter().filter(|n| *n != "default").enumerate() {
        code.push_str(&format!("const e{i} = o[{}];\n", js_string(name)));
        exports.push(format!("e{i} as {}", js_string(name)));
    }
    if !exports.is_empty() {
        code.push_str(&format!("export {{ {} }};\n", exports.join(", ")));
    }
    code
}

fn js_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// What the CommonJS analysis of one file found.
#[derive(Debug, Clone, Default)]
pub(crate) struct CjsInfo {
    pub exports: Vec<String>,
    pub reexports: Vec<String>,
    /// The file has `import`/`export` syntax: it is an ES module.
    pub module_syntax: bool,
}

/// Node's CommonJS export analysis (cjs-module-lexer's rules, by deno_ast).
/// A file that does not parse exports nothing by name.
pub(crate) fn cjs_exports(name: &str, source: &str) -> CjsInfo {
    let specifier = ModuleSpecifier::parse(&format!("file:///{}", name.trim_start_matches('/')))
        .unwrap_or_else(|_| ModuleSpecifier::parse("file:///module.js").expect("valid URL"));
    let parsed = deno_ast::parse_program(ParseParams {
        specifier,
        text: source.into(),
        media_type: MediaType::JavaScript,
        capture_tokens: false,
        scope_analysis: false,
        maybe_syntax: None,
    });
    match parsed {
        Ok(parsed) => {
            let module_syntax = !parsed.compute_is_script();
            let analysis = parsed.analyze_cjs();
            CjsInfo { exports: analysis.exports, reexports: analysis.reexports, module_syntax }
        }
        Err(_) => CjsInfo::default(),
    }
}

/// Analyses of package files, by real path (packages are immutable once
/// in the cache, so an analysis holds for the process's life).
fn analyze_file(packages: &Packages, path: &str, source: &str) -> Arc<CjsInfo> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<CjsInfo>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = packages.real_path(path).unwrap_or_else(|| PathBuf::from(path));
    if let Some(found) = cache.lock().expect("analysis cache").get(&key) {
        return found.clone();
    }
    let info = Arc::new(cjs_exports(path, source));
    cache.lock().expect("analysis cache").insert(key, info.clone());
    info
}

/// A CommonJS module's named exports with its re-exports' followed (as
/// Node does for `module.exports = require('./impl')`).
fn exported_names(packages: &Packages, path: &str, info: &CjsInfo) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut seen_names = HashSet::new();
    let mut visited = HashSet::from([path.to_string()]);
    let mut pending: Vec<(String, String, usize)> =
        info.reexports.iter().map(|r| (r.clone(), path.to_string(), 0)).collect();
    for name in &info.exports {
        if seen_names.insert(name.clone()) {
            names.push(name.clone());
        }
    }
    while let Some((request, parent, depth)) = pending.pop() {
        if depth > 16 {
            continue;
        }
        let exports: Vec<String> = if let Some(builtin) = node::builtin_name(&request) {
            node::builtin_exports(builtin).to_vec()
        } else {
            let Ok(target) = packages.resolve(&request, &parent) else { continue };
            if !visited.insert(target.clone()) {
                continue;
            }
            let Ok(source) = packages.read(&target) else { continue };
            let info = analyze_file(packages, &target, &source);
            pending.extend(info.reexports.iter().map(|r| (r.clone(), target.clone(), depth + 1)));
            info.exports.clone()
        };
        for name in exports {
            if seen_names.insert(name.clone()) {
                names.push(name);
            }
        }
    }
    names
}
