//! CommonJS `require` of a runtime's installed packages (see
//! `js-runtime/require.js`): Node's resolution rules over the packages of
//! the runtime's lockfile, and nothing else. Modules have virtual paths,
//! `/node_modules/<name>@<version>/<file>`; reads map them onto the
//! package cache and can never leave a package's directory.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use deno_core::{op2, OpState};
use deno_error::JsErrorBox;
use serde_json::Value;

/// Largest module file `require` reads.
const MAX_MODULE_BYTES: u64 = 16 * 1024 * 1024;
const ROOT: &str = "/node_modules/";

/// One installed package: its exact dependencies and where its files are.
#[derive(Debug, Clone)]
pub struct InstalledPackage {
    pub name: String,
    pub version: String,
    pub dependencies: BTreeMap<String, String>,
    pub dir: PathBuf,
}

/// The packages a runtime may `require`.
#[derive(Debug, Default)]
pub struct Packages {
    /// The runtime's own dependencies: name → version.
    pub dependencies: BTreeMap<String, String>,
    /// By `name@version`.
    pub packages: HashMap<String, InstalledPackage>,
    /// What npm's flat `node_modules` would hold at the top: for each name,
    /// the version met first walking the tree breadth first from the
    /// runtime's dependencies. Packages (and the runtime's scripts) that
    /// use a name they do not declare get this one, as they do in Node.
    hoisted: HashMap<String, String>,
    /// Whether a directory's nearest `package.json` says `"type": "module"`,
    /// by directory (packages never change once installed).
    module_dirs: parking_lot::Mutex<HashMap<String, bool>>,
}

impl Packages {
    pub fn new(dependencies: BTreeMap<String, String>, packages: HashMap<String, InstalledPackage>) -> Packages {
        let mut hoisted = HashMap::new();
        let mut queue: std::collections::VecDeque<(&String, &String)> = dependencies.iter().collect();
        while let Some((name, version)) = queue.pop_front() {
            if hoisted.contains_key(name) {
                continue;
            }
            hoisted.insert(name.clone(), version.clone());
            if let Some(package) = packages.get(&format!("{name}@{version}")) {
                queue.extend(package.dependencies.iter());
            }
        }
        Packages { dependencies, packages, hoisted, module_dirs: Default::default() }
    }

    fn root_of(key: &str) -> String {
        format!("{ROOT}{key}")
    }

    /// The package a virtual path lies in, and the path inside it.
    fn package_of<'a>(&self, path: &'a str) -> Option<(&InstalledPackage, &'a str)> {
        let rest = path.strip_prefix(ROOT)?;
        // `name@version/...` or `@scope/name@version/...`.
        let split = if rest.starts_with('@') { rest.match_indices('/').nth(1) } else { rest.match_indices('/').next() };
        let (key, inner) = match split {
            Some((i, _)) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        Some((self.packages.get(key)?, inner))
    }

    /// The real file behind a virtual path, if it is inside a package.
    pub(crate) fn real_path(&self, path: &str) -> Option<PathBuf> {
        let (package, inner) = self.package_of(path)?;
        let inner = Path::new(inner);
        if inner.components().any(|c| !matches!(c, Component::Normal(_))) {
            return None;
        }
        Some(package.dir.join(inner))
    }

    pub(crate) fn is_file(&self, path: &str) -> bool {
        self.real_path(path).is_some_and(|p| p.is_file())
    }

    fn read_json(&self, path: &str) -> Option<Value> {
        let real = self.real_path(path)?;
        serde_json::from_slice(&std::fs::read(real).ok()?).ok()
    }

    /// Node's LOAD_AS_FILE then LOAD_AS_DIRECTORY.
    fn file_or_directory(&self, path: &str) -> Option<String> {
        let path = normalize(path)?;
        for candidate in [path.clone(), format!("{path}.js"), format!("{path}.json"), format!("{path}.cjs")] {
            if self.is_file(&candidate) {
                return Some(candidate);
            }
        }
        if let Some(manifest) = self.read_json(&format!("{path}/package.json")) {
            if let Some(main) = manifest.get("main").and_then(Value::as_str) {
                let main = normalize(&format!("{path}/{main}"))?;
                for candidate in
                    [main.clone(), format!("{main}.js"), format!("{main}.json"), format!("{main}/index.js")]
                {
                    if self.is_file(&candidate) {
                        return Some(candidate);
                    }
                }
            }
        }
        ["index.js", "index.json", "index.cjs"].iter().map(|f| format!("{path}/{f}")).find(|c| self.is_file(c))
    }

    /// Resolves `request` as required from the module at `parent` (empty:
    /// the handler or initialization script, whose scope is the runtime's
    /// own dependencies).
    pub fn resolve(&self, request: &str, parent: &str) -> Result<String, String> {
        self.resolve_with(request, parent, REQUIRE_CONDITIONS)
    }

    /// Resolves `request` as imported (`import`, `import()`) from `parent`.
    pub fn resolve_import(&self, request: &str, parent: &str) -> Result<String, String> {
        self.resolve_with(request, parent, IMPORT_CONDITIONS)
    }

    /// How Node would load the file at `path`: by its extension, and for
    /// `.js` by the `type` of the nearest `package.json` inside its package.
    pub fn format_of(&self, path: &str) -> ModuleFormat {
        if path.ends_with(".mjs") {
            return ModuleFormat::EsModule;
        }
        if path.ends_with(".json") {
            return ModuleFormat::Json;
        }
        if path.ends_with(".cjs") {
            return ModuleFormat::CommonJs;
        }
        let Some((package, _)) = self.package_of(path) else { return ModuleFormat::CommonJs };
        let root = Self::root_of(&format!("{}@{}", package.name, package.version));
        let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        if self.dir_is_module(dir, &root) {
            ModuleFormat::EsModule
        } else {
            ModuleFormat::CommonJs
        }
    }

    /// The `type` of the nearest `package.json` from `dir` up to the
    /// package's root.
    fn dir_is_module(&self, dir: &str, root: &str) -> bool {
        if let Some(known) = self.module_dirs.lock().get(dir) {
            return *known;
        }
        let is_module = match self.read_json(&format!("{dir}/package.json")) {
            Some(manifest) => manifest.get("type").and_then(Value::as_str) == Some("module"),
            None if dir.len() > root.len() => {
                self.dir_is_module(dir.rsplit_once('/').map(|(d, _)| d).unwrap_or(""), root)
            }
            None => false,
        };
        self.module_dirs.lock().insert(dir.to_string(), is_module);
        is_module
    }

    fn resolve_with(&self, request: &str, parent: &str, conditions: &[&str]) -> Result<String, String> {
        let not_found = || format!("Cannot find module '{request}'");
        if request.is_empty() {
            return Err(not_found());
        }
        if request.starts_with("./") || request.starts_with("../") || request == "." || request == ".." {
            let (package, _) = self.package_of(parent).ok_or_else(not_found)?;
            let dir = parent.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            let target = normalize(&format!("{dir}/{request}")).ok_or_else(not_found)?;
            // Relative requires stay inside their package.
            let root = Self::root_of(&format!("{}@{}", package.name, package.version));
            if target != root && !target.starts_with(&format!("{root}/")) {
                return Err(not_found());
            }
            return self.file_or_directory(&target).ok_or_else(not_found);
        }
        if request.starts_with('/') {
            return Err(not_found());
        }
        let mut parts = request.splitn(if request.starts_with('@') { 3 } else { 2 }, '/');
        let name = if request.starts_with('@') {
            format!("{}/{}", parts.next().unwrap_or(""), parts.next().ok_or_else(not_found)?)
        } else {
            parts.next().unwrap_or("").to_string()
        };
        let subpath = parts.next().unwrap_or("");
        let parent_package = self.package_of(parent).map(|(package, _)| package);
        let version = match parent_package {
            // A package may require itself by name (Node's self-reference).
            Some(package) if package.name == name => &package.version,
            Some(package) => {
                package.dependencies.get(&name).or_else(|| self.hoisted.get(&name)).ok_or_else(not_found)?
            }
            None => self.dependencies.get(&name).or_else(|| self.hoisted.get(&name)).ok_or_else(not_found)?,
        };
        let key = format!("{name}@{version}");
        self.packages.get(&key).ok_or_else(not_found)?;
        let root = Self::root_of(&key);
        let manifest = self.read_json(&format!("{root}/package.json")).unwrap_or(Value::Null);
        if let Some(exports) = manifest.get("exports").filter(|e| !e.is_null()) {
            let wanted = if subpath.is_empty() { ".".to_string() } else { format!("./{subpath}") };
            let target = exports_target(exports, &wanted, conditions).ok_or_else(|| {
                format!("Package subpath '{wanted}' is not defined by \"exports\" in {name}/package.json")
            })?;
            let path = normalize(&format!("{root}/{target}")).ok_or_else(not_found)?;
            return if self.is_file(&path) { Ok(path) } else { Err(not_found()) };
        }
        let target = if subpath.is_empty() { root } else { format!("{root}/{subpath}") };
        self.file_or_directory(&target).ok_or_else(not_found)
    }

    pub fn read(&self, path: &str) -> Result<String, String> {
        let real = self.real_path(path).ok_or_else(|| format!("Cannot find module '{path}'"))?;
        let meta = std::fs::metadata(&real).map_err(|_| format!("Cannot find module '{path}'"))?;
        if meta.len() > MAX_MODULE_BYTES {
            return Err(format!("module '{path}' is larger than the limit of {MAX_MODULE_BYTES} bytes"));
        }
        std::fs::read_to_string(&real).map_err(|e| format!("module '{path}' cannot be read: {e}"))
    }
}

/// How a module file is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleFormat {
    CommonJs,
    EsModule,
    Json,
}

/// Conditions `require` and `import` match in `exports` (Node's, for the
/// `node` platform), in priority order of the package's own listing.
const REQUIRE_CONDITIONS: &[&str] = &["require", "node", "module-sync", "default"];
const IMPORT_CONDITIONS: &[&str] = &["import", "node", "module-sync", "default"];

/// The target of `wanted` (`.` or `./sub`) in a package's `exports`.
fn exports_target(exports: &Value, wanted: &str, conditions: &[&str]) -> Option<String> {
    let conditional = |entry: &Value| conditional(entry, conditions);
    let is_subpath_map = exports.as_object().is_some_and(|map| map.keys().next().is_some_and(|k| k.starts_with('.')));
    if !is_subpath_map {
        return if wanted == "." { conditional(exports) } else { None };
    }
    let map = exports.as_object()?;
    if let Some(entry) = map.get(wanted) {
        return conditional(entry);
    }
    // `"./lib/*": "./dist/*.js"` patterns.
    for (key, entry) in map {
        if let Some((prefix, suffix)) = key.split_once('*') {
            if wanted.starts_with(prefix) && wanted.ends_with(suffix) && wanted.len() >= prefix.len() + suffix.len() {
                let star = &wanted[prefix.len()..wanted.len() - suffix.len()];
                return conditional(entry).map(|t| t.replace('*', star));
            }
        }
    }
    None
}

fn conditional(entry: &Value, conditions: &[&str]) -> Option<String> {
    match entry {
        Value::String(s) => Some(s.clone()),
        Value::Array(options) => options.iter().find_map(|o| conditional(o, conditions)),
        Value::Object(map) => {
            map.iter().find_map(|(k, v)| conditions.contains(&k.as_str()).then(|| conditional(v, conditions)).flatten())
        }
        _ => None,
    }
}

/// Collapses `.` and `..` in an absolute virtual path; `None` if it climbs out.
pub(crate) fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// The packages of the running runtime. Lives in `OpState`.
#[derive(Default)]
pub struct ModuleBinding(pub Option<Arc<Packages>>);

fn packages(state: &OpState) -> Result<Arc<Packages>, JsErrorBox> {
    Ok(state.borrow::<ModuleBinding>().0.clone().unwrap_or_default())
}

#[op2]
#[string]
pub fn op_chatfn_require_resolve(
    state: &mut OpState,
    #[string] request: &str,
    #[string] parent: &str,
) -> Result<String, JsErrorBox> {
    packages(state)?.resolve(request, parent).map_err(JsErrorBox::generic)
}

/// How `require` loads the file at `path`: "commonjs", "module" or "json".
#[op2]
#[string]
pub fn op_chatfn_module_format(state: &mut OpState, #[string] path: &str) -> Result<&'static str, JsErrorBox> {
    Ok(match packages(state)?.format_of(path) {
        ModuleFormat::CommonJs => "commonjs",
        ModuleFormat::EsModule => "module",
        ModuleFormat::Json => "json",
    })
}

#[op2]
#[string]
pub fn op_chatfn_require_read(state: &mut OpState, #[string] path: &str) -> Result<String, JsErrorBox> {
    packages(state)?.read(path).map_err(JsErrorBox::generic)
}

deno_core::extension!(
    chatfn_modules,
    ops = [
        op_chatfn_require_resolve,
        op_chatfn_require_read,
        op_chatfn_module_format,
        super::node::op_chatfn_builtin_source,
        super::node::op_chatfn_builtin_names
    ],
    state = |state| {
        state.put(ModuleBinding::default());
    },
);

/// The capability: its ops and `js-runtime/require.js` over them.
pub(super) fn extension() -> deno_core::Extension {
    super::isolates::with_scripts!(chatfn_modules::init(), "require.js")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_conditions_and_patterns() {
        let exports = serde_json::json!({
            ".": {"import": "./esm/index.mjs", "require": "./cjs/index.js"},
            "./sub": "./lib/sub.js",
            "./feature/*": {"default": "./features/*.js"},
        });
        let r = REQUIRE_CONDITIONS;
        assert_eq!(exports_target(&exports, ".", r).as_deref(), Some("./cjs/index.js"));
        assert_eq!(exports_target(&exports, ".", IMPORT_CONDITIONS).as_deref(), Some("./esm/index.mjs"));
        assert_eq!(exports_target(&exports, "./sub", r).as_deref(), Some("./lib/sub.js"));
        assert_eq!(exports_target(&exports, "./feature/x", r).as_deref(), Some("./features/x.js"));
        assert_eq!(exports_target(&exports, "./private", r), None);
        assert_eq!(exports_target(&serde_json::json!("./main.js"), ".", r).as_deref(), Some("./main.js"));
        assert_eq!(normalize("/node_modules/a@1/lib/../x.js").as_deref(), Some("/node_modules/a@1/x.js"));
        assert_eq!(normalize("/../x"), None);
    }
}
