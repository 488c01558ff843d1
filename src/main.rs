use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = chatfn::cli::Cli::parse();
    chatfn::cli::init_tracing_as(cli.log_format);
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    tokio.block_on(chatfn::cli::execute(cli))
}
