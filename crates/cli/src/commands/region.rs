//! `xbak region …`

use crate::context::Context;
use clap::Subcommand;
use xbak_domain::Region;
use xbak_storage::RegionStore;

#[derive(Subcommand)]
pub enum Cmd {
    /// Add a region (or change its store). Default store: a folder under the data dir.
    Add {
        /// Region id, e.g. cn-shanghai.
        region_id: String,
        /// Object store URL: file:///abs/path, or s3://[KEY:SECRET@]bucket[/prefix]?endpoint=…&region=…
        #[arg(long)]
        store: Option<String>,
    },
    /// List regions.
    List,
}

pub async fn run(ctx: &Context, cmd: Cmd) -> anyhow::Result<()> {
    let catalog = ctx.catalog().await?;
    match cmd {
        Cmd::Add { region_id, store } => {
            if !valid_region_id(&region_id) {
                anyhow::bail!("region id {region_id:?} must be lower-case letters, digits and '-', like cn-shanghai");
            }
            let store_url = match store {
                Some(url) => url,
                None => ctx.default_store_url(&region_id)?,
            };
            // Opening validates the URL and creates a local folder before anything is recorded.
            RegionStore::open(&region_id, &store_url)?;
            catalog
                .put_region(&Region {
                    region_id: region_id.clone(),
                    store_url: store_url.clone(),
                })
                .await?;
            println!(
                "region {region_id} -> {}",
                xbak_protocol::redact::redact(&store_url)
            );
        }
        Cmd::List => {
            for r in catalog.regions().await? {
                println!(
                    "{}\t{}",
                    r.region_id,
                    xbak_protocol::redact::redact(&r.store_url)
                );
            }
        }
    }
    Ok(())
}

fn valid_region_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
