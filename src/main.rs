use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = chatfn::cli::Cli::parse();
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    tokio.block_on(async {
        let telemetry = match chatfn::telemetry::init(cli.log_format, cli.otlp_endpoint.as_deref()) {
            Ok(telemetry) => telemetry,
            Err(message) => {
                eprintln!("chatfn: {message}");
                return ExitCode::from(chatfn::cli::EXIT_USAGE);
            }
        };
        let code = chatfn::cli::execute(cli).await;
        tokio::task::spawn_blocking(move || telemetry.shutdown()).await.ok();
        code
    })
}
