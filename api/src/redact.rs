//! Showing what holds a credential without showing the credential: connection URLs without
//! their user information or password parameters, and a `Debug` that prints only the type's
//! name for values that carry passwords, tokens or codes ([`opaque_debug!`]).

/// Query parameters whose values are hidden: their names contain one of these.
const SECRET_PARAMETERS: [&str; 4] = ["pass", "secret", "token", "key"];

/// `url` for display: user information replaced by `***`, and the values of query parameters
/// that look like credentials (`password=`, `sslkey=`, ...) too.
pub fn redact_url(url: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match (base.find("://"), base.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}***@{}", &base[..scheme_end + 3], &base[at + 1..])
        }
        _ => base.to_owned(),
    };
    let Some(query) = query else { return base };
    let parameters: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if SECRET_PARAMETERS.iter().any(|s| name.to_ascii_lowercase().contains(s)) => {
                format!("{name}=***")
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", parameters.join("&"))
}

/// Implements `Debug` as the type's name and `{ .. }`: for request bodies and forms that carry
/// a password, a token or a code, so no `{:?}` can ever print one.
#[macro_export]
macro_rules! opaque_debug {
    ($($t:ty),* $(,)?) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t)).finish_non_exhaustive()
            }
        }
    )*};
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(redact_url("postgres://lethe:s3cret@db:5432/lethe"), "postgres://***@db:5432/lethe");
        assert_eq!(redact_url("sqlite://lethe-data/lethe.db?mode=rwc"), "sqlite://lethe-data/lethe.db?mode=rwc");
        assert_eq!(
            redact_url("postgres://db/lethe?sslmode=require&password=s3cret&sslkey=/k.pem"),
            "postgres://db/lethe?sslmode=require&password=***&sslkey=***"
        );
        assert_eq!(redact_url("smtps://u:p@ss@mail.example.com"), "smtps://***@mail.example.com");
    }

    #[test]
    fn opaque_types_print_their_name_only() {
        struct Login {
            _password: String,
        }
        crate::opaque_debug!(Login);
        assert_eq!(format!("{:?}", Login { _password: "s3cret".into() }), "Login { .. }");
    }
}
