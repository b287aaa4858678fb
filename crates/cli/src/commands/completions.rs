//! `xbak completions SHELL`: shell completion scripts (clap_complete).

use clap::CommandFactory;

#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  xbak completions bash > /etc/bash_completion.d/xbak
  xbak completions zsh > \"${fpath[1]}/_xbak\"
  xbak completions fish > ~/.config/fish/completions/xbak.fish")]
pub struct Args {
    /// bash, zsh, fish, elvish or powershell.
    shell: clap_complete::Shell,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut cmd = crate::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "xbak", &mut std::io::stdout());
    Ok(())
}
