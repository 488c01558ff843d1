// `sqlx::migrate!` embeds migrations/ at compile time, and cargo cannot tell
// on its own that a new migration file calls for a rebuild.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
