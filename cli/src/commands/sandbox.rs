//! `kapstan sandbox serve`: the local Scaleway emulator in the foreground; `kapstan sandbox
//! resolve NAME`: where a host of its DNS zones leads on this machine.

use std::path::Path;

use crate::args::SandboxCommand;
use crate::error::CliError;
use kapstan_platform::sandbox as platform;

/// Port of `kapstan sandbox serve` when nothing else decides it.
const DEFAULT_PORT: u16 = 8787;

/// Runs a sandbox subcommand; `project_dir` is where a persisted project sandbox is looked
/// for.
pub(crate) async fn run(command: &SandboxCommand, project_dir: &Path) -> Result<i32, CliError> {
    match command {
        SandboxCommand::Serve {
            addr,
            speed,
            data_dir,
            secret_key,
            faults,
        } => {
            let project_sandbox = platform::sandbox_dir(project_dir);
            let serves_project = addr.is_none() && data_dir.is_none() && project_sandbox.is_dir();
            let (addr, speed, data_dir) = if serves_project {
                let port = match platform::recorded_port(project_dir) {
                    Some(p) => p,
                    None => {
                        platform::record_port(project_dir, DEFAULT_PORT)?;
                        DEFAULT_PORT
                    }
                };
                let url = format!("http://127.0.0.1:{port}");
                if platform::sandbox_answers(&url).await {
                    return Err(CliError::usage(
                        format!("the project's sandbox is already served at {url}"),
                        "use it as it is: every `--sandbox` command reaches it there",
                    ));
                }
                (
                    format!("127.0.0.1:{port}"),
                    speed.unwrap_or(platform::SANDBOX_SPEED),
                    Some(project_sandbox.clone()),
                )
            } else {
                (
                    addr.clone()
                        .unwrap_or_else(|| format!("127.0.0.1:{DEFAULT_PORT}")),
                    speed.unwrap_or(1.0),
                    data_dir.clone(),
                )
            };
            let mut options = kapstan_sandbox::SandboxOptions {
                addr: Some(addr.parse().map_err(|e| {
                    CliError::usage(
                        format!("--addr {addr:?} is not an address: {e}"),
                        "use 127.0.0.1:PORT",
                    )
                })?),
                speed,
                data_dir,
                chart_dirs: platform::chart_dirs_from_env(),
                coder: platform::coder_options_from_env(),
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
            let dns = sandbox.dns_addr();
            println!(
                "DNS responder (authoritative for the emulated zones, UDP and TCP) on {dns}:\n  dig @{ip} -p {port} coder.example.test A\n  dig @{ip} -p {port} _acme-challenge.coder.example.test TXT\nACME servers validating DNS-01 in the sandbox resolve through it (pebble -dnsserver {dns}).",
                ip = dns.ip(),
                port = dns.port(),
            );
            if serves_project {
                println!(
                    "Serving the project's sandbox ({}) on its recorded port {}: the kubeconfigs (~/.kube/config-coder-ENV) and access URLs that `kapstan up --sandbox` printed answer while it runs, and every `--sandbox` command uses it.",
                    project_sandbox.display(),
                    sandbox.addr().port()
                );
            }
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
        SandboxCommand::Resolve { name } => {
            let r = platform::resolve(project_dir, name).await?;
            println!(
                "{name} has address {ip} (load balancer {lb}); on this machine:\n  https (port 443): {https}\n  http  (port 80):  {http}\nReach it with the name kept (SNI and Host), trusting the ACME server's root:\n  curl --connect-to {name}:443:{https} --cacert <root.pem> https://{name}/healthz",
                ip = r.ip,
                lb = r.lb_id,
                https = r.https,
                http = r.http,
            );
            Ok(0)
        }
    }
}
