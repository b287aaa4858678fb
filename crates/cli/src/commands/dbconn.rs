//! `xbak instance connect …` and the `--dsn` flags of `instance create`: how the backup agent
//! reaches an instance's database servers. Passwords are stored in the catalog and never shown.

use crate::context::Context;
use xbak_catalog::Catalog;
use xbak_domain::{Dsn, Instance, InstanceConnection};

/// The database servers of an instance.
#[derive(clap::Args)]
pub struct ConnectArgs {
    db_instance_id: String,
    #[command(flatten)]
    servers: ServerArgs,
}

/// `--dsn`, `--standby-dsn`, `--standby-instance-number`.
#[derive(clap::Args, Default)]
pub struct ServerArgs {
    /// The primary: mysql://user:password@host:port (backups come from it when there is no
    /// standby; its node number is the instance's --instance-number).
    #[arg(long)]
    pub dsn: Option<String>,
    /// A standby to take backups from instead (same form).
    #[arg(long, requires = "dsn", requires = "standby_instance_number")]
    pub standby_dsn: Option<String>,
    /// The standby's node number (InstanceId of the sets taken from it).
    #[arg(long, requires = "standby_dsn")]
    pub standby_instance_number: Option<i64>,
}

impl ServerArgs {
    /// Records the servers of `inst`, if `--dsn` was given.
    pub async fn apply(&self, catalog: &dyn Catalog, inst: &Instance) -> anyhow::Result<()> {
        let Some(dsn) = &self.dsn else {
            return Ok(());
        };
        let dsn = Dsn::parse(dsn)?;
        let standby = match (&self.standby_dsn, self.standby_instance_number) {
            (Some(s), Some(n)) => Some((Dsn::parse(s)?, n)),
            _ => None,
        };
        let connection = InstanceConnection {
            instance_id: inst.id,
            dsn,
            standby,
        };
        catalog.put_instance_connection(&connection).await?;
        let node = connection.backup_node(inst.instance_number);
        println!(
            "backups of {} are taken from {} (InstanceId {}{})",
            inst.db_instance_id,
            node.dsn,
            node.instance_number,
            if node.is_standby { ", the standby" } else { "" }
        );
        Ok(())
    }
}

pub async fn connect(ctx: &Context, a: ConnectArgs) -> anyhow::Result<()> {
    if a.servers.dsn.is_none() {
        anyhow::bail!("--dsn is required");
    }
    let catalog = ctx.catalog().await?;
    let inst = super::find_instance(&*catalog, &a.db_instance_id).await?;
    a.servers.apply(catalog.as_ref(), &inst).await
}
