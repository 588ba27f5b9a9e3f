//! Reading and writing cookies: HttpOnly, SameSite=Strict, `Secure` when served over TLS.

use axum::http::{HeaderMap, HeaderValue, header};

/// How cookies are written.
#[derive(Debug, Clone, Copy)]
pub struct CookiePolicy {
    /// Add `Secure` (the public URL is `https://`).
    pub secure: bool,
}

impl CookiePolicy {
    /// A `Set-Cookie` value for `name=value` on `path`, living `max_age` seconds.
    pub fn set(&self, name: &str, value: &str, path: &str, max_age: u64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let text = format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}");
        // Names and values are ours (JWTs and URL-safe tokens): always valid header text.
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// A `Set-Cookie` value that removes `name` on `path`.
    pub fn clear(&self, name: &str, path: &str) -> HeaderValue {
        self.set(name, "", path, 0)
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; lethe_session=abc.def; b="));
        assert_eq!(read(&headers, "lethe_session"), Some("abc.def"));
        assert_eq!(read(&headers, "b"), None);
        assert_eq!(read(&headers, "c"), None);
        let set = CookiePolicy { secure: true }.set("s", "v", "/console", 60);
        assert_eq!(set, "s=v; Path=/console; Max-Age=60; HttpOnly; SameSite=Strict; Secure");
        let plain = CookiePolicy { secure: false }.clear("s", "/");
        assert_eq!(plain, "s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    }
}
