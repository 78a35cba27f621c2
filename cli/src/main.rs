//! The `kapstan` binary: parses arguments, runs the command, renders errors with miette.

use clap::Parser;

fn main() {
    let cli = match kapstan_cli::args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and --version are answers, not errors. Every other parse error is a usage
            // error and exits 1: 2 means "changes present" to `--detailed-exitcode` gates.
            let code = if e.use_stderr() {
                kapstan_cli::EXIT_ERROR
            } else {
                0
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KAPSTAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kapstan: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(async {
        match kapstan_cli::run(cli).await {
            Ok(code) => code,
            Err(e) => {
                eprintln!("{:?}", miette::Report::new(e));
                1
            }
        }
    });
    std::process::exit(code);
}
