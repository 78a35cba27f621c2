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
            let custom_key = secret_key.is_some();
            let sandbox = kapstan_sandbox::Sandbox::start(options)
                .await
                .map_err(|e| CliError::Sandbox(e.to_string()))?;
            // The sandbox's default key is a published test value, not a credential; a key
            // the user chose is never echoed.
            let key_hint = if custom_key {
                "<the key given with --secret-key>".to_string()
            } else {
                kapstan_sandbox::DEFAULT_SECRET_KEY.to_string()
            };
            println!(
                "Sandbox listening on {url} (speed x{speed}). Point any Scaleway client at it:\n  export SCW_API_URL={url}\n  export SCW_SECRET_KEY={key_hint}\n  export SCW_DEFAULT_PROJECT_ID={project}\nInspect every object: curl {url}/sandbox/v1/resources\nStop it with Ctrl-C.",
                url = sandbox.url(),
                project = sandbox.project_id(),
            );
            tokio::signal::ctrl_c()
                .await
                .map_err(|source| CliError::Io {
                    action: "waiting for",
                    path: "Ctrl-C".into(),
                    source,
                })?;
            sandbox.shutdown().await;
            Ok(0)
        }
    }
}
