//! `xbak account …`

use crate::context::Context;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum Cmd {
    /// Create an account and its AccessKey. The secret is printed once and never again.
    Create {
        name: String,
        /// Print {"AccountName","AccessKeyId","AccessKeySecret"}.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(ctx: &Context, cmd: Cmd) -> anyhow::Result<()> {
    let catalog = ctx.catalog().await?;
    match cmd {
        Cmd::Create { name, json } => {
            if name.trim().is_empty() {
                anyhow::bail!("the account name must not be empty");
            }
            let (account, key) = catalog.create_account(&name).await?;
            if json {
                let out = serde_json::json!({
                    "AccountName": account.name,
                    "AccessKeyId": key.access_key_id,
                    "AccessKeySecret": key.secret,
                });
                println!("{out}");
            } else {
                println!("account          {}", account.name);
                println!("AccessKeyId      {}", key.access_key_id);
                println!("AccessKeySecret  {}", key.secret);
                eprintln!("Keep the secret now: xbak will not show it again.");
            }
        }
    }
    Ok(())
}
