//! chatfn's integration tests: one binary (every test binary links all of
//! V8), a module per area.

mod api;
mod chat_events;

mod cli;
mod dashboard;
mod dispatch;
mod egress;
mod engine;
mod fixtures;
mod node_compat;
mod node_corpus;
mod npm;
mod npm_registry;
mod platform;
mod sdk;
mod support;
