//! How a PATCH of the organization reads its fields: one sent (possibly `null`) or left out,
//! and set only when given and different.

use sea_orm::ActiveValue::{self, Set};
use serde::{Deserialize, Deserializer};

/// A field that was sent, possibly as `null` (a field left out is `None` by `default`).
pub(super) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Sets `field` to `new` when one is given and it differs from `current`, naming the field in
/// `changed`.
pub(super) fn set_changed<T>(
    field: &mut ActiveValue<T>,
    current: &T,
    new: Option<T>,
    name: &'static str,
    changed: &mut Vec<&'static str>,
) where
    T: PartialEq + Into<sea_orm::Value>,
{
    if let Some(new) = new
        && new != *current
    {
        *field = Set(new);
        changed.push(name);
    }
}
