//! `lethe stores rekey`: re-encrypts every store's connection secret under the current master
//! key, when the master key is replaced.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use lethe_entities::entity::store::rekey_all;
use lethe_entities::{Keyring, MasterKey};

use crate::config::Settings;
use crate::engine;

/// Store commands.
#[derive(Debug, Subcommand)]
pub enum StoresCommand {
    /// Re-encrypt every store's connection secret from an old master key to the current one
    /// (`LETHE_MASTER_KEY` / `LETHE_MASTER_KEY_FILE`). Safe to rerun after an interruption.
    Rekey {
        /// A file holding the old master key (base64).
        #[arg(long)]
        old_master_key_file: PathBuf,
    },
}

/// Runs a store command.
pub async fn run(settings: &Settings, command: StoresCommand) -> anyhow::Result<()> {
    let StoresCommand::Rekey { old_master_key_file } = command;
    let text = std::fs::read_to_string(&old_master_key_file)
        .with_context(|| format!("reading {}", old_master_key_file.display()))?;
    let old = Keyring::derive(&MasterKey::from_base64(&text).context("the old master key")?);
    let new = Keyring::derive(&settings.master_key);
    let db = engine::connect_and_migrate(&settings.database_url, &new).await?;
    let done = rekey_all(&db, &old, &new).await?;
    println!("Re-encrypted {} store connection(s); {} were already under the current key.", done.rekeyed, done.current);
    Ok(())
}
