//! Translations for everything a data subject reads: the portal's pages (`lethe-api`) and the
//! e-mails sent to them (here). One TOML file per language (`worker/locales/<code>.toml`),
//! compiled into the binary; each user of a section deserializes it into a struct of its own
//! with `deny_unknown_fields`, so a key missing in one language, or one left over, fails the
//! unit test that loads every section in every language (never a page at run time).

pub mod names;
mod package;
mod terms;

use std::sync::LazyLock;

use serde::de::DeserializeOwned;

pub use package::PackageTexts;
pub use terms::Terms;

/// A language Lethe speaks to data subjects in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    /// English (the default).
    En,
    /// German.
    De,
    /// Swedish.
    Sv,
}

impl Locale {
    /// Every language, in the order the language switch shows them.
    pub const ALL: [Locale; 3] = [Locale::En, Locale::De, Locale::Sv];

    /// The language code (`en`, `de`, `sv`), as stored on a request and used in `lang`.
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
            Self::Sv => "sv",
        }
    }

    /// The language's own name, for the switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::De => "Deutsch",
            Self::Sv => "Svenska",
        }
    }

    /// The language with code `code` (letter case ignored), if Lethe speaks it.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code().eq_ignore_ascii_case(code.trim()))
    }

    /// A stored code, or English for anything else.
    pub fn from_stored(code: &str) -> Self {
        Self::parse(code).unwrap_or(Self::En)
    }

    /// The best language for an `Accept-Language` header: the highest-weighted one Lethe
    /// speaks (`de-AT` counts as `de`), with its region if one was given; English otherwise.
    pub fn negotiate(accept_language: &str) -> (Self, Option<String>) {
        let mut best: Option<(f32, Self, Option<String>)> = None;
        for item in accept_language.split(',') {
            let mut parts = item.trim().split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let mut subtags = tag.split(['-', '_']);
            let Some(locale) = subtags.next().and_then(Self::parse) else { continue };
            let region = subtags.next().filter(|r| r.len() == 2).map(str::to_ascii_uppercase);
            if weight > 0.0 && best.as_ref().is_none_or(|(w, ..)| weight > *w) {
                best = Some((weight, locale, region));
            }
        }
        best.map_or((Self::En, None), |(_, locale, region)| (locale, region))
    }

    fn source(self) -> &'static str {
        match self {
            Self::En => include_str!("../../locales/en.toml"),
            Self::De => include_str!("../../locales/de.toml"),
            Self::Sv => include_str!("../../locales/sv.toml"),
        }
    }
}

static CATALOGS: LazyLock<Vec<(Locale, toml::Table)>> = LazyLock::new(|| {
    Locale::ALL
        .into_iter()
        // A file that is not TOML fails the unit tests; at run time it is an empty catalogue.
        .map(|l| (l, l.source().parse::<toml::Table>().unwrap_or_default()))
        .collect()
});

/// Section `name` of `locale`'s file as `T` (every key required, none unknown).
pub fn section<T: DeserializeOwned>(locale: Locale, name: &str) -> Result<T, toml::de::Error> {
    let table = CATALOGS
        .iter()
        .find(|(l, _)| *l == locale)
        .and_then(|(_, catalog)| catalog.get(name))
        .cloned()
        .unwrap_or_else(|| toml::Value::Table(toml::Table::new()));
    T::deserialize(table)
}

/// Loads section `name` as `T` for every language once; `T` must parse for each (the unit
/// tests of every section's owner check that).
pub fn load_all<T: DeserializeOwned>(name: &str) -> Vec<(Locale, T)> {
    Locale::ALL
        .into_iter()
        .map(|l| match section::<T>(l, name) {
            Ok(t) => (l, t),
            Err(e) => panic!("translation section [{name}] of {} is incomplete: {e}", l.code()),
        })
        .collect()
}

/// The entry of `locale` in texts loaded by [`load_all`] (English if it were missing).
pub fn pick<T>(all: &[(Locale, T)], locale: Locale) -> &T {
    all.iter().find(|(l, _)| *l == locale).map_or(&all[0].1, |(_, t)| t)
}

/// `template` with each `{name}` replaced by its value (values are inserted as they are:
/// escape them for HTML first where needed).
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_toml() {
        for l in Locale::ALL {
            assert!(l.source().parse::<toml::Table>().is_ok(), "{} is not valid TOML", l.code());
        }
    }

    #[test]
    fn every_language_has_the_same_keys() {
        fn keys(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
            for (k, v) in table {
                let path = format!("{prefix}{k}");
                match v {
                    toml::Value::Table(t) => keys(&format!("{path}."), t, out),
                    _ => out.push(path),
                }
            }
        }
        let mut english = Vec::new();
        keys("", &CATALOGS[0].1, &mut english);
        english.sort();
        assert!(english.len() > 100, "the catalogue is loaded");
        for (locale, catalog) in CATALOGS.iter().skip(1) {
            let mut other = Vec::new();
            keys("", catalog, &mut other);
            other.sort();
            assert_eq!(other, english, "{} has other keys than en", locale.code());
        }
    }

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(Locale::negotiate("de-AT,de;q=0.9,en;q=0.8"), (Locale::De, Some("AT".into())));
        assert_eq!(Locale::negotiate("fr-FR, sv;q=0.5, en;q=0.4"), (Locale::Sv, None));
        assert_eq!(Locale::negotiate("fr, it"), (Locale::En, None));
        assert_eq!(Locale::negotiate(""), (Locale::En, None));
        assert_eq!(Locale::negotiate("en-GB;q=0.2, de;q=0"), (Locale::En, Some("GB".into())));
        assert_eq!(Locale::parse("DE"), Some(Locale::De));
        assert_eq!(Locale::from_stored("xx"), Locale::En);
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(fill("{org} has {n} days, {org}", &[("org", "Acme"), ("n", "30")]), "Acme has 30 days, Acme");
    }
}
