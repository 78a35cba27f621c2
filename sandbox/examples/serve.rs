//! Runs a sandbox in the foreground until Ctrl-C: `cargo run -p kapstan-sandbox --example serve
//! -- [ADDR] [SPEED] [FAULTS]` (the `kapstan sandbox serve` command does the same with flags).

use kapstan_sandbox::{FaultSpec, Sandbox, SandboxOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().map(|a| a.parse()).transpose()?;
    let speed = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1.0);
    let faults = FaultSpec::parse(&args.next().unwrap_or_default())?;
    let sandbox = Sandbox::start(SandboxOptions {
        addr,
        speed,
        faults,
        ..Default::default()
    })
    .await?;
    println!("SCW_API_URL={}", sandbox.url());
    println!("SCW_SECRET_KEY={}", sandbox.secret_key());
    println!("SCW_DEFAULT_PROJECT_ID={}", sandbox.project_id());
    tokio::signal::ctrl_c().await?;
    sandbox.shutdown().await;
    Ok(())
}
