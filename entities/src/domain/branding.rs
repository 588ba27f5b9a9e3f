//! The rules for an organization's portal branding: a brand colour, https links and a small
//! logo of a known image type.

/// The longest link accepted.
pub const MAX_URL_CHARS: usize = 2048;

/// Whether `value` is a colour as `#rrggbb`.
pub fn is_colour(value: &str) -> bool {
    value.len() == 7 && value.starts_with('#') && value[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `value` is an absolute `https://` URL with a host, at most [`MAX_URL_CHARS`] long,
/// of printable ASCII without spaces, quotes or angle brackets.
pub fn is_https_url(value: &str) -> bool {
    let Some(rest) = value.strip_prefix("https://") else { return false };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    value.len() <= MAX_URL_CHARS
        && !host.is_empty()
        && !host.starts_with(['.', ':', '@'])
        && value.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'<' | b'>' | b'\\' | b'`'))
}

/// The media type of a logo from its first bytes: PNG, JPEG or WebP, nothing else (no SVG:
/// it can carry script).
pub fn logo_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// The text colour readable on `background` (`#rrggbb`): black or white, whichever contrasts
/// more (WCAG relative luminance), so a brand colour never makes a button unreadable.
pub fn ink_on(background: &str) -> &'static str {
    if !is_colour(background) {
        return "#ffffff";
    }
    let channel = |i: usize| {
        let c = f64::from(u8::from_str_radix(&background[i..i + 2], 16).unwrap_or(0)) / 255.0;
        if c <= 0.03928 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    let luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    // Contrast with white is 1.05 / (L + 0.05), with black (L + 0.05) / 0.05.
    if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 { "#ffffff" } else { "#000000" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours() {
        assert!(is_colour("#0b5cad") && is_colour("#ABCDEF"));
        assert!(!is_colour("0b5cad") && !is_colour("#0b5ca") && !is_colour("#0b5cag") && !is_colour("red"));
        assert_eq!(ink_on("#0b5cad"), "#ffffff");
        assert_eq!(ink_on("#ffe600"), "#000000");
        assert_eq!(ink_on("#000000"), "#ffffff");
    }

    #[test]
    fn links() {
        assert!(is_https_url("https://acme.example/privacy?lang=en#top"));
        for bad in [
            "http://acme.example/privacy",
            "javascript:alert(1)",
            "https://",
            "https:///path",
            "https://acme.example/a b",
            "https://acme.example/\"onload",
            "https://acme.example/<x>",
        ] {
            assert!(!is_https_url(bad), "{bad}");
        }
        assert!(!is_https_url(&format!("https://a.example/{}", "x".repeat(MAX_URL_CHARS))));
    }

    #[test]
    fn logos() {
        assert_eq!(logo_type(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(logo_type(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(logo_type(b"RIFF\x00\x00\x00\x00WEBPVP8 "), Some("image/webp"));
        assert_eq!(logo_type(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), None);
        assert_eq!(logo_type(b"GIF89a"), None);
    }
}
