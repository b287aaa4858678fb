//! `xbak`: serve Alibaba's cross-region backup API, manage the catalog, run copies.

mod commands;
mod context;
mod progress;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// mimalloc rather than glibc's allocator: a listing allocates and frees a few thousand small
/// values, and glibc's malloc and free took a fifth of the uncached listing's CPU (merging its
/// fast bins on every larger allocation, `malloc_consolidate`, alone 4 %). With the catalog's hot
/// reads on the calling thread (rows allocated and freed on one thread) it measured 25 % less CPU
/// per uncached request. Built without transparent huge pages (`no_thp`): mimalloc otherwise
/// asks for them on its arenas and the server's memory grew 20–40 MiB past glibc's under the
/// same load (bench/results.md, 2026-12-05T06:30Z).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Self-hosted cross-region backups for MySQL-family databases, served over Alibaba Cloud RDS's API.
#[derive(Parser)]
#[command(name = "xbak", version, about, long_about = None)]
struct Cli {
    /// Folder holding catalog.db and the local regions.
    #[arg(
        long,
        global = true,
        env = "XBAK_DATA_DIR",
        default_value = "./xbak-data"
    )]
    data_dir: PathBuf,
    /// Catalog URL: postgres://user@host/db (shared by many servers and workers) or
    /// sqlite:///path/catalog.db. Default: catalog.db in the data dir.
    #[arg(long, global = true, env = "XBAK_CATALOG", value_name = "URL")]
    catalog: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API, the download route and the copy workers in one process.
    Serve(commands::serve::Args),
    /// Run the background work of `serve` (copies, retention, scheduled and requested backups)
    /// without the API; any number of workers may share one catalog.
    Worker(commands::worker::Args),
    /// Manage regions (object stores).
    #[command(subcommand)]
    Region(commands::region::Cmd),
    /// Manage accounts and their AccessKeys.
    #[command(subcommand)]
    Account(commands::account::Cmd),
    /// Manage database instances.
    #[command(subcommand)]
    Instance(commands::instance::Cmd),
    /// Manage cross-region backup policies.
    #[command(subcommand)]
    Policy(commands::policy::Cmd),
    /// Take (run) or record (register) backup sets.
    #[command(subcommand)]
    Backup(commands::backup::Cmd),
    /// Run cross-region copy jobs.
    Replicate(commands::replicate::Args),
    /// Restore a cross-region backup and verify it against its manifest.
    Restore(commands::restore::Args),
    /// Daily backup windows, run by `serve`.
    #[command(subcommand)]
    Schedule(commands::schedule::Cmd),
    /// Call an RDS API action the way `aliyun rds` does: xbak rds ACTION --Key value ...
    Rds(commands::rds::Args),
    /// List and download cross-region backups through the API (any xbak or Alibaba endpoint).
    #[command(subcommand)]
    Backups(commands::backups::Cmd),
    /// Print a shell completion script.
    Completions(commands::completions::Args),
}

fn main() -> std::process::ExitCode {
    // Everything this process creates (catalog, backups in local regions, staging files, the
    // files object_store and SQLite create) is for its owner only, whatever the caller's umask.
    // SAFETY: umask only swaps the process's file-creation mask; no memory is involved.
    unsafe { libc::umask(0o077) };
    let cli = Cli::parse();
    let serving = matches!(cli.command, Command::Serve(_) | Command::Worker(_));
    context::init_tracing(serving);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let ctx = context::Context::new(cli.data_dir, cli.catalog);
        match cli.command {
            Command::Serve(a) => commands::serve::run(&ctx, a).await,
            Command::Worker(a) => commands::worker::run(&ctx, a).await,
            Command::Region(c) => commands::region::run(&ctx, c).await,
            Command::Account(c) => commands::account::run(&ctx, c).await,
            Command::Instance(c) => commands::instance::run(&ctx, c).await,
            Command::Policy(c) => commands::policy::run(&ctx, c).await,
            Command::Backup(c) => commands::backup::run(&ctx, c).await,
            Command::Replicate(a) => commands::replicate::run(&ctx, a).await,
            Command::Restore(a) => commands::restore::run(&ctx, a).await,
            Command::Schedule(c) => commands::schedule::run(&ctx, c).await,
            Command::Rds(a) => commands::rds::run(a).await,
            Command::Backups(c) => commands::backups::run(c).await,
            Command::Completions(a) => commands::completions::run(a),
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "error: {}",
                xbak_protocol::redact::redact(&format!("{e:#}"))
            );
            std::process::ExitCode::FAILURE
        }
    }
}
