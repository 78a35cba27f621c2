//! `kapstan sandbox serve`: the local Scaleway emulator in the foreground.

use crate::args::SandboxCommand;
use crate::error::CliError;

/// Runs a sandbox subcommand.
pub async fn run(command: &SandboxCommand) -> Result<i32, CliError> {
    match command {
        SandboxCommand::Serve {
            addr,
            speed,
            data_dir,
            secret_key,
            faults,
        } => {
            let mut options = kapstan_sandbox::SandboxOptions {
                addr: Some(addr.parse().map_err(|e| {
                    CliError::usage(
                        format!("--addr {addr:?} is not an address: {e}"),
                        "use 127.0.0.1:PORT",
                    )
                })?),
                speed: *speed,
                data_dir: data_dir.clone(),
                ..Default::default()
            };
            if let Some(k) = secret_key {
                options.secret_key = k.clone();
            }
            if let Some(f) = faults {
                options.faults = kapstan_sandbox::FaultSpec::parse(f)
                    .map_err(|e| CliError::Sandbox(e.to_string()))?;
            }
            println!(
                "Sandbox listening on http://{addr} (speed ×{speed}); point clients at it with:\n  export SCW_API_URL=http://{addr}\n  export SCW_SECRET_KEY=<the sandbox secret key>\n  export SCW_DEFAULT_PROJECT_ID={}\nStop it with Ctrl-C.",
                options.default_project_id
            );
            kapstan_sandbox::serve_until_ctrl_c(options)
                .await
                .map_err(|e| CliError::Sandbox(e.to_string()))?;
            Ok(0)
        }
    }
}
