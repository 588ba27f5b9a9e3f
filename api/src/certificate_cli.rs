//! `lethe certificate verify`: checks a certificate of erasure offline (no database, no
//! network) and says what it certifies.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use lethe_entities::ledger::certificate::{self, Certificate, Outcome, RecipientOutcome};
use lethe_entities::ledger::checkpoint::parse_public_key;

/// Certificate commands.
#[derive(Debug, Subcommand)]
pub enum CertificateCommand {
    /// Verify a certificate of erasure (`GET /v1/requests/{id}/certificate`) offline: its
    /// format and its Ed25519 signature. Needs no database and no network.
    Verify {
        /// The certificate file (JSON).
        file: PathBuf,
        /// The public key you trust: a PEM file, or the key as base64 or hex (see
        /// `GET /v1/ledger/public-key` or `lethe ledger public-key`).
        #[arg(long)]
        public_key: String,
    },
}

/// Runs a certificate command.
pub fn run(command: &CertificateCommand) -> anyhow::Result<()> {
    match command {
        CertificateCommand::Verify { file, public_key } => verify(file, public_key),
    }
}

/// Verifies the file against the key and prints what it certifies, or fails naming what is wrong.
fn verify(file: &Path, public_key: &str) -> anyhow::Result<()> {
    let key_text = if Path::new(public_key).is_file() {
        std::fs::read_to_string(public_key).with_context(|| format!("reading {public_key}"))?
    } else {
        public_key.to_owned()
    };
    let Some(key) = parse_public_key(&key_text) else {
        bail!("--public-key is not an Ed25519 public key (PEM, base64 or hex)");
    };
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let signed = certificate::parse(&text).map_err(|e| anyhow::anyhow!("verification FAILED: {e}"))?;
    certificate::verify(&signed, &key).map_err(|e| anyhow::anyhow!("verification FAILED: {e}"))?;
    print!("{}", summary(&signed.certificate));
    Ok(())
}

/// What a verified certificate says, in lines of text.
fn summary(c: &Certificate) -> String {
    let mut out = String::new();
    let regime = serde_json::to_value(c.regime).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let _ = writeln!(out, "OK: certificate of erasure signed by key {}.", c.key_id);
    let _ = writeln!(out, "Organization {}, erasure request {} ({regime}).", c.organization_id, c.request_id);
    let _ = writeln!(out, "Received {}, completed {}, issued {}.", c.received_at, c.completed_at, c.issued_at);
    for store in &c.stores {
        let outcome = match store.outcome {
            Outcome::Erased => "erased",
            Outcome::CompletedByOperator => "completed by an operator",
            Outcome::Waived => "waived by an admin",
        };
        let _ = writeln!(out, "Store {} ({}): {outcome}.", store.store, store.kind.as_str());
        for e in &store.erased {
            let _ = writeln!(
                out,
                "  erased  {}: {} row(s), {} (ledger entry #{})",
                e.table, e.rows, e.action, e.ledger_seq
            );
        }
        for r in &store.retained {
            let until = r.until.as_deref().unwrap_or("an unknown date");
            let _ = writeln!(out, "  kept    {}: {} row(s) until {until} ({}; {})", r.table, r.rows, r.basis, r.period);
        }
    }
    for r in &c.recipients {
        let outcome = match r.outcome {
            RecipientOutcome::Notified => "notified by an operator",
            RecipientOutcome::Waived => "waived by an admin",
        };
        let _ = writeln!(out, "Recipient {} (of store {}): {outcome} at {}.", r.recipient, r.store, r.at);
    }
    let l = &c.ledger;
    let _ = writeln!(
        out,
        "Ledger: entries #{} to #{} ({} entries) name the request; #{} closed it.",
        l.first_seq, l.last_seq, l.entries, l.closing_seq
    );
    out
}
