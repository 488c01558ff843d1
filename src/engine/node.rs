//! Node's built-in modules (`fs`, `stream`, `node:zlib`, ...): their
//! JavaScript, embedded in the binary and compiled lazily by
//! `js-runtime/require.js` the first time a runtime requires one, and the
//! names each exports, which ES modules importing them link against.
//!
//! Each built-in is a CommonJS file in `js-runtime/node/`; those made of
//! Node's own code from npm (streams, events, `util.inspect`, ...) load
//! bundles from `js-runtime/node/vendor-dist/` (see `vendor/build.mjs`).

use std::collections::HashMap;
use std::sync::OnceLock;

use deno_core::op2;
use deno_error::JsErrorBox;

macro_rules! sources {
    ($($name:literal => $file:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../js-runtime/node/", $file)))),*]
    };
}

/// Every built-in module chat functions can load, by Node's name.
const BUILTINS: &[(&str, &str)] = sources! {
    "assert" => "assert.js",
    "assert/strict" => "assert_strict.js",
    "async_hooks" => "async_hooks.js",
    "buffer" => "buffer.js",
    "child_process" => "child_process.js",
    "cluster" => "cluster.js",
    "console" => "console.js",
    "constants" => "constants.js",
    "crypto" => "crypto.js",
    "dgram" => "dgram.js",
    "diagnostics_channel" => "diagnostics_channel.js",
    "dns" => "dns.js",
    "dns/promises" => "dns_promises.js",
    "domain" => "domain.js",
    "events" => "events.js",
    "fs" => "fs.js",
    "fs/promises" => "fs_promises.js",
    "http" => "http.js",
    "http2" => "http2.js",
    "https" => "https.js",
    "inspector" => "inspector.js",
    "module" => "module.js",
    "net" => "net.js",
    "os" => "os.js",
    "path" => "path.js",
    "path/posix" => "path.js",
    "perf_hooks" => "perf_hooks.js",
    "process" => "process.js",
    "punycode" => "punycode.js",
    "querystring" => "querystring.js",
    "readline" => "readline.js",
    "stream" => "stream.js",
    "stream/consumers" => "stream_consumers.js",
    "stream/promises" => "stream_promises.js",
    "stream/web" => "stream_web.js",
    "string_decoder" => "string_decoder.js",
    "sys" => "util.js",
    "timers" => "timers.js",
    "timers/promises" => "timers_promises.js",
    "tls" => "tls.js",
    "tty" => "tty.js",
    "url" => "url.js",
    "util" => "util.js",
    "util/types" => "util_types.js",
    "v8" => "v8.js",
    "vm" => "vm.js",
    "worker_threads" => "worker_threads.js",
    "zlib" => "zlib.js",
};

/// Node's own code from npm, bundled (internal: built-ins load them).
const VENDORED: &[(&str, &str)] = &[
    ("buffer", include_str!("../../js-runtime/node/vendor-dist/buffer.js")),
    ("events", include_str!("../../js-runtime/node/vendor-dist/events.js")),
    ("inspect", include_str!("../../js-runtime/node/vendor-dist/inspect.js")),
    ("punycode", include_str!("../../js-runtime/node/vendor-dist/punycode.js")),
    ("stream", include_str!("../../js-runtime/node/vendor-dist/stream.js")),
    ("string_decoder", include_str!("../../js-runtime/node/vendor-dist/string_decoder.js")),
    ("web_streams", include_str!("../../js-runtime/node/vendor-dist/web_streams.js")),
];

/// Modules the built-ins share (never `require`-able by name).
const LIB: &[(&str, &str)] = &[
    ("errors", include_str!("../../js-runtime/node/internal/errors.js")),
    ("http_client", include_str!("../../js-runtime/node/internal/http_client.js")),
    ("webcrypto", include_str!("../../js-runtime/node/internal/webcrypto.js")),
];

/// The built-in `request` names (`fs`, `node:fs`), if any.
pub fn builtin_name(request: &str) -> Option<&'static str> {
    let name = request.strip_prefix("node:").unwrap_or(request);
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(n, _)| *n)
}

pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|(n, _)| *n)
}

fn source(name: &str) -> Option<&'static str> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// The names a built-in exports, for ES modules importing it: what Node's
/// CommonJS analysis finds in its source (each file ends with an object
/// literal or an esbuild-style `0 && (module.exports = {...})` hint).
pub fn builtin_exports(name: &str) -> &'static [String] {
    static EXPORTS: OnceLock<HashMap<&'static str, Vec<String>>> = OnceLock::new();
    let all = EXPORTS.get_or_init(|| {
        BUILTINS.iter().map(|(name, source)| (*name, super::loader::cjs_exports(name, source).exports)).collect()
    });
    all.get(name).map(Vec::as_slice).unwrap_or(&[])
}

/// The source of a built-in (`kind` "builtin") or a vendored bundle
/// ("vendor"), for `require.js` to compile on first use.
#[op2]
#[string]
pub fn op_chatfn_builtin_source(#[string] kind: &str, #[string] name: &str) -> Result<String, JsErrorBox> {
    let found = match kind {
        "builtin" => source(name),
        "vendor" => VENDORED.iter().find(|(n, _)| *n == name).map(|(_, s)| *s),
        "lib" => LIB.iter().find(|(n, _)| *n == name).map(|(_, s)| *s),
        _ => None,
    };
    found.map(str::to_string).ok_or_else(|| JsErrorBox::generic(format!("No such built-in module: {name}")))
}

/// Every built-in's name, for `require.js` (`module.builtinModules`).
#[op2]
#[serde]
pub fn op_chatfn_builtin_names() -> Vec<&'static str> {
    builtin_names().collect()
}
