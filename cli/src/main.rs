//! The `kapstan` binary: parses arguments, runs the command, renders errors with miette.

use std::io::IsTerminal;

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
    match tracing_subscriber::EnvFilter::try_from_env("KAPSTAN_LOG") {
        // Asked-for logs keep their targets and times; colour only on a terminal.
        Ok(filter) => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .init(),
        // Otherwise warnings are messages to the user: `warning: …`, no log decoration.
        Err(_) => tracing_subscriber::fmt()
            // A wait on an API's rate limit can last minutes: say so, as info.
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "warn,kapstan::rate_limit=info",
            ))
            .with_ansi(false)
            .event_format(kapstan_cli::UserMessages)
            .with_writer(std::io::stderr)
            .init(),
    }
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
