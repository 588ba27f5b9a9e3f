//! The checkpoint-signing key and checkpoint writing.
//!
//! The Ed25519 key is generated on first start and stored with its private half encrypted
//! (AES-256-GCM) under the master key's keyring. Every process of one installation loads the
//! same key. The public key is published so auditors can pin it.

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::rngs::OsRng;
use sea_orm::sea_query::ExprTrait;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::LedgerError;
use super::append::lock_head;
use super::certificate::{self, Certificate, SignedCertificate};
use super::checkpoint::{Checkpoint, key_id};
use super::entry::now_micros;
use super::merkle::Frontier;
use crate::domain::crypto::Keyring;
use crate::entity::{ledger_checkpoint, ledger_head, ledger_key};

const SLOT: &str = "checkpoint-signing";

/// The installation's checkpoint signer.
#[derive(Clone)]
pub struct LedgerSigner {
    key: SigningKey,
}

impl std::fmt::Debug for LedgerSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LedgerSigner({})", self.key_id())
    }
}

impl LedgerSigner {
    /// Loads the signing key, generating and storing it on first start. Concurrent first starts
    /// agree on one key (the insert is conditional and everyone reads back the winner).
    pub async fn load_or_create(db: &DatabaseConnection, keyring: &Keyring) -> Result<Self, LedgerError> {
        let fresh = SigningKey::generate(&mut OsRng);
        let public = fresh.verifying_key();
        let id = key_id(&public);
        let ciphertext = keyring.encrypt(fresh.as_bytes(), context(&id).as_bytes());
        ledger_key::Entity::insert(ledger_key::ActiveModel {
            slot: Set(SLOT.into()),
            key_id: Set(id),
            public_key: Set(public.as_bytes().to_vec()),
            private_key_ciphertext: Set(ciphertext),
            created_at_us: Set(now_micros()),
        })
        .on_conflict(OnConflict::column(ledger_key::Column::Slot).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
        let stored = ledger_key::Entity::find_by_id(SLOT).one(db).await?.ok_or(LedgerError::Key("missing"))?;
        let secret = keyring
            .decrypt(&stored.private_key_ciphertext, context(&stored.key_id).as_bytes())
            .map_err(|_| LedgerError::Key("it does not decrypt with this master key"))?;
        let bytes: Zeroizing<[u8; 32]> =
            Zeroizing::new(secret.as_slice().try_into().map_err(|_| LedgerError::Key("wrong length"))?);
        let key = SigningKey::from_bytes(&bytes);
        if key.verifying_key().as_bytes()[..] != stored.public_key[..] {
            return Err(LedgerError::Key("the private key does not match the published public key"));
        }
        Ok(Self { key })
    }

    /// A signer over a given key (tests and benchmarks).
    pub fn from_key(key: SigningKey) -> Self {
        Self { key }
    }

    /// The public key.
    pub fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The public key's id.
    pub fn key_id(&self) -> String {
        key_id(&self.public_key())
    }

    /// Signs a certificate of erasure with the ledger's key (its `key_id` should be
    /// [`LedgerSigner::key_id`]).
    pub fn sign_certificate(&self, certificate: Certificate) -> SignedCertificate {
        certificate::sign(certificate, &self.key)
    }

    /// Signs the organization's current tree head if it has entries no checkpoint covers, and
    /// returns the new checkpoint; `None` if the latest checkpoint is already current.
    pub async fn checkpoint(
        &self,
        db: &DatabaseConnection,
        organization: Uuid,
    ) -> Result<Option<Checkpoint>, LedgerError> {
        let txn = crate::entity::begin_write(db).await?;
        let now = now_micros();
        let head = lock_head(&txn, organization, now).await?;
        if head.tree_size == head.checkpointed_size {
            txn.commit().await?;
            return Ok(None);
        }
        let frontier = Frontier::from_bytes(&head.frontier).ok_or(LedgerError::Corrupt("head frontier"))?;
        // Checkpoint times never go backwards, even if the clock does.
        let signed_at = Ord::max(now, head.checkpointed_at_us);
        let cp = Checkpoint::sign(&self.key, organization, frontier.size(), signed_at, frontier.root());
        ledger_checkpoint::Entity::insert(ledger_checkpoint::ActiveModel {
            organization_id: Set(organization),
            tree_size: Set(cp.tree_size as i64),
            signed_at_us: Set(cp.signed_at_us),
            root_hash: Set(cp.root_hash.to_vec()),
            key_id: Set(cp.key_id.clone()),
            signature: Set(cp.signature.to_vec()),
        })
        .exec_without_returning(&txn)
        .await?;
        ledger_head::Entity::update(ledger_head::ActiveModel {
            organization_id: Set(organization),
            checkpointed_size: Set(cp.tree_size as i64),
            checkpointed_at_us: Set(signed_at),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        let data = serde_json::json!({
            "tree_size": cp.tree_size,
            "signed_at_us": cp.signed_at_us,
            "key_id": cp.key_id,
        });
        crate::webhook::announce(
            &txn,
            crate::webhook::Announcement::new(organization, crate::webhook::EventType::CheckpointSigned, None, data),
        )
        .await?;
        txn.commit().await?;
        Ok(Some(cp))
    }

    /// Signs every organization whose unsigned entries number at least `every_entries`, or
    /// whose oldest unsigned entry waited `every_secs` seconds. Returns how many were signed.
    pub async fn checkpoint_due(
        &self,
        db: &DatabaseConnection,
        every_entries: u64,
        every_secs: u64,
    ) -> Result<usize, LedgerError> {
        let cutoff = now_micros() - (every_secs as i64).saturating_mul(1_000_000);
        let due: Vec<Uuid> = ledger_head::Entity::find()
            .filter(Expr::col(ledger_head::Column::TreeSize).gt(Expr::col(ledger_head::Column::CheckpointedSize)))
            .filter(
                Expr::col(ledger_head::Column::TreeSize)
                    .sub(Expr::col(ledger_head::Column::CheckpointedSize))
                    .gte(every_entries as i64)
                    .or(ledger_head::Column::CheckpointedAtUs.lte(cutoff)),
            )
            .all(db)
            .await?
            .into_iter()
            .map(|h| h.organization_id)
            .collect();
        let mut signed = 0;
        for org in due {
            if self.checkpoint(db, org).await?.is_some() {
                signed += 1;
            }
        }
        Ok(signed)
    }
}

fn context(key_id: &str) -> String {
    format!("ledger-signing-key:{key_id}")
}
