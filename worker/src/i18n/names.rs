//! Names a person reads in their language that are not sentences: the built-in data categories
//! (`worker/locales/categories/<code>.toml`, a label and a description per category) and the
//! countries (`worker/locales/countries/<code>.toml`, ISO 3166-1 alpha-2 to a short name).

use std::collections::HashMap;
use std::sync::LazyLock;

use lethe_entities::datamap::taxonomy;
use serde::Deserialize;

use super::Locale;

/// A data category for the person.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryText {
    /// A short name ("E-mail address").
    pub label: String,
    /// One sentence on what it holds.
    pub description: String,
}

fn categories_source(locale: Locale) -> &'static str {
    match locale {
        Locale::En => include_str!("../../locales/categories/en.toml"),
        Locale::De => include_str!("../../locales/categories/de.toml"),
        Locale::Sv => include_str!("../../locales/categories/sv.toml"),
    }
}

fn countries_source(locale: Locale) -> &'static str {
    match locale {
        Locale::En => include_str!("../../locales/countries/en.toml"),
        Locale::De => include_str!("../../locales/countries/de.toml"),
        Locale::Sv => include_str!("../../locales/countries/sv.toml"),
    }
}

type Catalog<T> = Vec<(Locale, HashMap<String, T>)>;

static CATEGORIES: LazyLock<Catalog<CategoryText>> = LazyLock::new(|| {
    // A file that does not parse fails the unit tests; at run time it is an empty catalogue.
    Locale::ALL.into_iter().map(|l| (l, toml::from_str(categories_source(l)).unwrap_or_default())).collect()
});

static COUNTRIES: LazyLock<Catalog<String>> = LazyLock::new(|| {
    Locale::ALL.into_iter().map(|l| (l, toml::from_str(countries_source(l)).unwrap_or_default())).collect()
});

fn of<T>(catalog: &Catalog<T>, locale: Locale) -> &HashMap<String, T> {
    &catalog.iter().find(|(l, _)| *l == locale).unwrap_or(&catalog[0]).1
}

/// The category `name` in `locale`: its own text, or its nearest built-in parent's (a custom
/// `user.contact.email.work` reads as an e-mail address); `None` for a name outside the
/// taxonomy with no known parent.
pub fn category(locale: Locale, name: &str) -> Option<&'static CategoryText> {
    let texts = of(&CATEGORIES, locale);
    let mut current = Some(name);
    while let Some(n) = current {
        if let Some(text) = texts.get(n) {
            return Some(text);
        }
        current = taxonomy::parent(n);
    }
    None
}

/// The country with ISO 3166-1 alpha-2 code `code` in `locale`, or the code itself.
pub fn country(locale: Locale, code: &str) -> String {
    of(&COUNTRIES, locale).get(code).cloned().unwrap_or_else(|| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_has_a_text_in_every_language() {
        for locale in Locale::ALL {
            let texts: HashMap<String, CategoryText> = toml::from_str(categories_source(locale)).unwrap();
            for c in taxonomy::CATEGORIES {
                assert!(texts.contains_key(c.name), "{}: no text for {}", locale.code(), c.name);
            }
            assert_eq!(texts.len(), taxonomy::CATEGORIES.len(), "{}: texts for unknown categories", locale.code());
        }
        assert_eq!(category(Locale::De, "user.contact.email").unwrap().label, "E-Mail-Adresse");
        assert!(category(Locale::Sv, "user.contact.email.work").is_some(), "a parent's text");
        assert!(category(Locale::En, "custom.thing").is_none());
    }

    #[test]
    fn every_language_names_the_same_countries() {
        let english: HashMap<String, String> = toml::from_str(countries_source(Locale::En)).unwrap();
        assert_eq!(english.len(), 249);
        for locale in Locale::ALL {
            let names: HashMap<String, String> = toml::from_str(countries_source(locale)).unwrap();
            let mut codes: Vec<&String> = names.keys().collect();
            let mut expected: Vec<&String> = english.keys().collect();
            codes.sort();
            expected.sort();
            assert_eq!(codes, expected, "{}", locale.code());
        }
        assert_eq!(country(Locale::En, "US"), "United States");
        assert_eq!(country(Locale::Sv, "ZZ"), "ZZ");
    }
}
