//! `lethe ledger ...`: export an organization's ledger, verify an export offline, print the
//! public key.

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use lethe_entities::Keyring;
use lethe_entities::entity::organization;
use lethe_entities::ledger::checkpoint::{parse_public_key, public_key_pem};
use lethe_entities::ledger::read;
use lethe_entities::ledger::signer::LedgerSigner;
use lethe_entities::ledger::verify::verify_export;

use crate::config::Settings;
use crate::engine;

/// Ledger commands.
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Write an organization's ledger (entries and checkpoints) as JSON lines, after signing a
    /// checkpoint of its current head.
    Export {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Organization slug.
        #[arg(long, default_value = "default")]
        org: String,
    },
    /// Verify an export offline: chain, Merkle roots, signatures, checkpoint order. Needs no
    /// database and no network.
    Verify {
        /// The export file.
        file: PathBuf,
        /// The public key you trust: a PEM file, or the key as base64 or hex (see
        /// `GET /v1/ledger/public-key` or `lethe ledger public-key`).
        #[arg(long)]
        public_key: String,
    },
    /// Print the checkpoint-signing public key (PEM).
    PublicKey,
}

/// Runs `lethe ledger verify`: prints the report, or fails naming the first bad line.
pub fn verify(file: &Path, public_key: &str) -> anyhow::Result<()> {
    let key_text = if Path::new(public_key).is_file() {
        std::fs::read_to_string(public_key).with_context(|| format!("reading {public_key}"))?
    } else {
        public_key.to_owned()
    };
    let Some(key) = parse_public_key(&key_text) else {
        bail!("--public-key is not an Ed25519 public key (PEM, base64 or hex)");
    };
    let reader = BufReader::with_capacity(
        1 << 20,
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?,
    );
    match verify_export(reader, &key) {
        Ok(report) => {
            println!("{report}");
            Ok(())
        }
        Err(failure) => bail!("verification FAILED at {failure}"),
    }
}

/// Runs the commands that need the database.
pub async fn run(settings: &Settings, command: LedgerCommand) -> anyhow::Result<()> {
    let keyring = Keyring::derive(&settings.master_key);
    let db = engine::connect_and_migrate(&settings.database_url, &keyring).await?;
    let signer = LedgerSigner::load_or_create(&db, &keyring).await?;
    match command {
        LedgerCommand::Export { out, org } => {
            let organization = organization::Model::find_by_slug(&db, &org)
                .await?
                .with_context(|| format!("no organization '{org}'"))?;
            // Sign the current head first, so the export is covered to its last entry.
            signer.checkpoint(&db, organization.id).await?;
            let file = std::fs::File::create(&out).with_context(|| format!("creating {}", out.display()))?;
            let mut writer = BufWriter::new(file);
            let entries = read::export(&db, organization.id, &signer.key_id(), &mut writer).await?;
            writer.flush()?;
            println!("Wrote {entries} entries of '{org}' to {}.", out.display());
            println!("Verify with: lethe ledger verify {} --public-key <trusted key>", out.display());
        }
        LedgerCommand::PublicKey => print!("{}", public_key_pem(&signer.public_key())),
        LedgerCommand::Verify { .. } => unreachable!("runs without the database"),
    }
    Ok(())
}
