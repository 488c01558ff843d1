//! TypeScript → JavaScript, once per deployed version (never per call).
//!
//! Every script (handler or initialization script) is parsed by swc through
//! deno_ast, checked, and emitted as a CommonJS function body together with a
//! separate source map, so the runtime can run it in its own scope and map
//! stack traces back to the author's TypeScript lines.

use std::sync::Arc;

use deno_ast::swc::ast::{BinExpr, Decl, Expr, ModuleDecl, ModuleExportName, ModuleItem, Pat, Stmt};
use deno_ast::swc::common::{Span, Spanned};
use deno_ast::swc::ecma_visit::{Visit, VisitWith};
use deno_ast::{
    EmitOptions, MediaType, ModuleKind, ParseParams, ProgramRef, SourceMapOption, TranspileModuleOptions,
    TranspileOptions,
};
use serde::Serialize;

/// What a script is for: handlers must define an entry point, the chat
/// runtime's initialization script need not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptRole {
    Handler,
    Initialization,
}

/// How the runtime evaluates a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evaluation {
    /// A classic script in the global scope: its top-level declarations are
    /// visible to everything that runs after it (initialization scripts).
    Global,
    /// A CommonJS-style function body with its own scope, returning the
    /// handler (handlers written as classic scripts).
    FunctionBody,
    /// An ES module (scripts with `import`/`export`); a handler is its
    /// default export or its `handleEvent` export.
    EsModule,
}

/// A script ready to run: the author's source, the emitted JavaScript and the
/// source map from one to the other.
#[derive(Debug, Clone)]
pub struct CompiledScript {
    /// URL the script runs under; stack frames name it.
    pub specifier: Arc<str>,
    pub evaluation: Evaluation,
    pub source: Arc<str>,
    pub code: Arc<str>,
    pub source_map: Arc<[u8]>,
}

/// A script that cannot be deployed, with the position in the author's source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{message} (line {line}, column {column})")]
pub struct ScriptError {
    pub message: String,
    /// 1-based; 0 when the problem is not tied to a position.
    pub line: usize,
    /// 1-based; 0 when the problem is not tied to a position.
    pub column: usize,
}

impl ScriptError {
    fn whole_script(message: impl Into<String>) -> Self {
        ScriptError { message: message.into(), line: 0, column: 0 }
    }
}

/// Largest script accepted, in bytes.
pub const MAX_SCRIPT_BYTES: usize = 1024 * 1024;

/// Transpiles and validates `source`. `specifier` must be a URL
/// (e.g. `file:///functions/login/v3.ts`).
pub fn compile(specifier: &str, source: &str, role: ScriptRole) -> Result<CompiledScript, ScriptError> {
    // One at a time: only one compile can hold a deep script's stack.
    static ONE_AT_A_TIME: parking_lot::Mutex<()> = parking_lot::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock();
    std::thread::scope(|scope| {
        let compiling = std::thread::Builder::new()
            .name("chatfn-compile".into())
            .stack_size(COMPILE_STACK)
            .spawn_scoped(scope, || compile_on_this_thread(specifier, source, role))
            .map_err(|e| ScriptError::whole_script(format!("the compiler's thread could not start: {e}")))?;
        compiling.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The parser recurses once per level of nesting in the source, at about
/// 2.7 KB of stack a level: 3,000 nested parentheses overflowed an 8 MB
/// stack, and one 400 KB handler posted to the API aborted the whole
/// server. So each compile runs on a thread whose stack covers the deepest
/// script the size limit allows. It is address space; only what a script
/// really nests into becomes memory.
const COMPILE_STACK: usize = 4 << 30;

fn compile_on_this_thread(specifier: &str, source: &str, role: ScriptRole) -> Result<CompiledScript, ScriptError> {
    if source.len() > MAX_SCRIPT_BYTES {
        return Err(ScriptError::whole_script(format!(
            "script is {} bytes; the limit is {} bytes",
            source.len(),
            MAX_SCRIPT_BYTES
        )));
    }
    let url = deno_ast::ModuleSpecifier::parse(specifier)
        .map_err(|e| ScriptError::whole_script(format!("invalid script name {specifier:?}: {e}")))?;
    let parsed = deno_ast::parse_program(ParseParams {
        specifier: url,
        text: source.into(),
        media_type: MediaType::TypeScript,
        capture_tokens: false,
        scope_analysis: false,
        maybe_syntax: None,
    })
    .map_err(|d| diagnostic_error(&d))?;
    if let Some(d) = parsed.diagnostics().first() {
        return Err(diagnostic_error(d));
    }
    if let Some(span) = too_deep(parsed.program_ref()) {
        let at = parsed.text_info_lazy().line_and_column_display(deno_ast::SourcePos::unsafely_from_byte_pos(span.lo));
        return Err(ScriptError {
            message: format!("the script nests expressions and statements more than {MAX_NESTING} levels deep"),
            line: at.line_number,
            column: at.column_number,
        });
    }
    let evaluation = match (parsed.compute_is_script(), role) {
        (false, _) => Evaluation::EsModule,
        (true, ScriptRole::Initialization) => Evaluation::Global,
        (true, ScriptRole::Handler) => Evaluation::FunctionBody,
    };
    if role == ScriptRole::Handler && !declares_handler(parsed.program_ref()) {
        return Err(ScriptError::whole_script(
            "the script defines no handler: declare `async function handleEvent(event, context)` at top level, \
             or `export default` / `export async function handleEvent`",
        ));
    }

    let emitted = parsed
        .transpile(
            &TranspileOptions::default(),
            &TranspileModuleOptions {
                module_kind: Some(if evaluation == Evaluation::EsModule { ModuleKind::Esm } else { ModuleKind::Cjs }),
            },
            &EmitOptions { source_map: SourceMapOption::Separate, inline_sources: true, ..Default::default() },
        )
        .map_err(|e| match e {
            deno_ast::TranspileError::ParseErrors(errors) => match errors.0.first() {
                Some(d) => diagnostic_error(d),
                None => ScriptError::whole_script(errors.to_string()),
            },
            other => ScriptError::whole_script(other.to_string()),
        })?
        .into_source();

    let mut code = emitted.text;
    if let Some(at) = code.rfind("\n//# sourceMappingURL=") {
        code.truncate(at + 1);
    }
    if evaluation == Evaluation::FunctionBody {
        // Appended after the author's last line, so the mapping of every
        // earlier position is untouched.
        code.push_str("\n;return typeof handleEvent === \"function\" ? handleEvent : undefined;\n");
    }
    Ok(CompiledScript {
        specifier: specifier.into(),
        evaluation,
        source: source.into(),
        code: code.into(),
        source_map: emitted.source_map.unwrap_or_default().into_bytes().into(),
    })
}

fn diagnostic_error(d: &deno_ast::ParseDiagnostic) -> ScriptError {
    use deno_ast::diagnostics::Diagnostic;
    let pos = d.display_position();
    ScriptError { message: d.message().into_owned(), line: pos.line_number, column: pos.column_number }
}

/// Deepest nesting of expressions and statements a script may have. V8
/// does not bound it well: nested array literals ran at 3,000 levels,
/// failed with a RangeError at 6,000, panicked a runtime thread at 20,000,
/// and at 100,000 grew the process to 13 GB, past the time limit.
const MAX_NESTING: usize = 2_500;

/// Where the script first nests past `MAX_NESTING`, if it does.
fn too_deep(program: ProgramRef<'_>) -> Option<Span> {
    let mut nesting = Nesting { depth: 0, too_deep: None };
    match program {
        ProgramRef::Module(module) => module.visit_with(&mut nesting),
        ProgramRef::Script(script) => script.visit_with(&mut nesting),
    }
    nesting.too_deep
}

struct Nesting {
    depth: usize,
    too_deep: Option<Span>,
}

impl Nesting {
    /// One level deeper, unless that is too deep (then the walk stops).
    fn enter(&mut self, span: Span) -> bool {
        if self.too_deep.is_some() {
            return false;
        }
        if self.depth == MAX_NESTING {
            self.too_deep = Some(span);
            return false;
        }
        self.depth += 1;
        true
    }
}

impl Visit for Nesting {
    fn visit_expr(&mut self, expr: &Expr) {
        if self.enter(expr.span()) {
            expr.visit_children_with(self);
            self.depth -= 1;
        }
    }

    fn visit_stmt(&mut self, stmt: &Stmt) {
        if self.enter(stmt.span()) {
            stmt.visit_children_with(self);
            self.depth -= 1;
        }
    }

    /// `a + b + c ...` nests to the left, and V8 takes such a chain in a
    /// loop (500,000 terms ran in 107 ms): its left side is no deeper.
    fn visit_bin_expr(&mut self, bin: &BinExpr) {
        self.depth -= 1;
        bin.left.visit_with(self);
        self.depth += 1;
        bin.right.visit_with(self);
    }
}

/// Is there an entry point the runtime can find: a top-level `handleEvent`
/// (function or variable), an `export default`, or an exported `handleEvent`?
fn declares_handler(program: ProgramRef<'_>) -> bool {
    let is_handler_stmt = |stmt: &Stmt| match stmt {
        Stmt::Decl(decl) => decl_names_handler(decl),
        _ => false,
    };
    match program {
        ProgramRef::Script(script) => script.body.iter().any(is_handler_stmt),
        ProgramRef::Module(module) => module.body.iter().any(|item| match item {
            ModuleItem::Stmt(stmt) => is_handler_stmt(stmt),
            ModuleItem::ModuleDecl(decl) => match decl {
                ModuleDecl::ExportDefaultDecl(_) | ModuleDecl::ExportDefaultExpr(_) => true,
                ModuleDecl::ExportDecl(export) => decl_names_handler(&export.decl),
                ModuleDecl::ExportNamed(named) => named.specifiers.iter().any(|s| {
                    use deno_ast::swc::ast::ExportSpecifier;
                    match s {
                        ExportSpecifier::Named(n) => {
                            let exported = n.exported.as_ref().unwrap_or(&n.orig);
                            matches!(exported, ModuleExportName::Ident(i) if i.sym == *"handleEvent" || i.sym == *"default")
                        }
                        ExportSpecifier::Default(_) => true,
                        ExportSpecifier::Namespace(_) => false,
                    }
                }),
                _ => false,
            },
        }),
    }
}

fn decl_names_handler(decl: &Decl) -> bool {
    match decl {
        Decl::Fn(f) => f.ident.sym == *"handleEvent",
        Decl::Var(var) => var.decls.iter().any(|d| matches!(&d.name, Pat::Ident(id) if id.id.sym == *"handleEvent")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 200,000 nested parentheses (400 KB, inside the size limit) had
    /// overflowed the compiling thread's stack and aborted the process.
    #[test]
    fn a_deeply_nested_script_is_refused_with_its_position_without_overflowing_the_stack() {
        let depth = 200_000;
        let source =
            format!("async function handleEvent() {{\n  return {}1{} }}", "[".repeat(depth), "]".repeat(depth));
        let err = compile("file:///deep.ts", &source, ScriptRole::Handler).unwrap_err();
        assert_eq!(err.message, "the script nests expressions and statements more than 2500 levels deep");
        assert_eq!((err.line, err.column), (2, 10 + MAX_NESTING - 2));
        // Within the limit it compiles, and long `+` chains do not count.
        let fine = format!("async function handleEvent() {{ return {}1{} }}", "[".repeat(2_000), "]".repeat(2_000));
        assert!(compile("file:///fine.ts", &fine, ScriptRole::Handler).is_ok());
        let chain = format!("async function handleEvent() {{ return {}1 }}", "1 + ".repeat(100_000));
        assert!(compile("file:///chain.ts", &chain, ScriptRole::Handler).is_ok());
    }

    #[test]
    fn syntax_error_has_ts_position() {
        let err = compile("file:///h.ts", "async function handleEvent(e) {\n  return e +;\n}\n", ScriptRole::Handler)
            .unwrap_err();
        assert_eq!((err.line, err.column), (2, 13), "{err:?}");
    }

    #[test]
    fn script_without_handler_is_rejected() {
        let err = compile("file:///h.ts", "const x: number = 1;", ScriptRole::Handler).unwrap_err();
        assert!(err.message.contains("no handler"), "{err:?}");
        compile("file:///i.ts", "const x: number = 1;", ScriptRole::Initialization).unwrap();
    }

    #[test]
    fn module_forms_are_handlers() {
        for src in [
            "export default async function (e: any) { return e }",
            "export async function handleEvent(e: any) { return e }",
            "const handleEvent = async (e: any) => e; export { handleEvent }",
        ] {
            compile("file:///h.ts", src, ScriptRole::Handler).unwrap();
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

        /// Any text, and any cut or splice of a valid handler, compiles or
        /// is refused with a message; never a panic, and a position is in
        /// the text.
        #[test]
        fn any_source_compiles_or_is_refused_with_a_position(
            noise in "\\PC{0,200}",
            cut in 0usize..80,
            at in 0usize..80,
        ) {
            let valid = "async function handleEvent(e: any) { return { ok: e.n + 1 } }";
            let (head, tail) = valid.split_at(cut.min(valid.len()));
            let spliced = format!("{head}{}{tail}", &noise[..noise.char_indices().nth(at.min(noise.chars().count())).map_or(noise.len(), |(i, _)| i)]);
            for source in [noise.clone(), spliced] {
                if let Err(e) = compile("file:///fuzz.ts", &source, ScriptRole::Handler) {
                    proptest::prop_assert!(!e.message.is_empty());
                    proptest::prop_assert!(e.line <= source.lines().count() + 1, "{e:?}");
                }
            }
        }
    }
}
