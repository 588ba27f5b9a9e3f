//! Reading the messages Lethe wrote to its file outbox (or an SMTP server's maildir).

use std::path::Path;
use std::time::{Duration, Instant};

/// Waits until `dir` (searched recursively) holds at least `count` messages; returns them all,
/// oldest first (by file time, then by name: Lethe names its files by time, finer than file
/// times, which two messages of one millisecond can share).
pub async fn wait_for_messages(dir: &Path, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut found = Vec::new();
        collect(dir, &mut found);
        if found.len() >= count {
            found.sort_by(|(a, name_a, _), (b, name_b, _)| a.cmp(b).then_with(|| name_a.cmp(name_b)));
            return found.into_iter().map(|(_, _, text)| text).collect();
        }
        assert!(Instant::now() < deadline, "expected {count} message(s) in {}, found {}", dir.display(), found.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn collect(dir: &Path, out: &mut Vec<(std::time::SystemTime, std::ffi::OsString, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if let (Ok(text), Ok(meta)) = (std::fs::read_to_string(&path), entry.metadata())
            && text.contains("Subject:")
        {
            out.push((meta.modified().unwrap_or(std::time::UNIX_EPOCH), entry.file_name(), text));
        }
    }
}

/// Waits until at least `count` messages to `address` arrived; returns those, oldest first.
pub async fn wait_for_messages_to(dir: &Path, address: &str, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mine: Vec<String> =
            wait_for_messages(dir, 0).await.into_iter().filter(|m| recipient(m) == address).collect();
        if mine.len() >= count {
            return mine;
        }
        assert!(Instant::now() < deadline, "expected {count} message(s) to one address, found {}", mine.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until a message to `address` whose decoded text part contains `needle` arrived;
/// returns the raw message.
pub async fn wait_for_message_with(dir: &Path, address: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = wait_for_messages(dir, 0)
            .await
            .into_iter()
            .find(|m| recipient(m) == address && part(m, "text/plain").is_some_and(|text| text.contains(needle)));
        if let Some(message) = found {
            return message;
        }
        assert!(Instant::now() < deadline, "no message to one address contains {needle:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until at least `count` verification-code messages to `address` arrived; returns
/// those, oldest first.
pub async fn wait_for_codes_to(dir: &Path, address: &str, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let codes: Vec<String> = wait_for_messages(dir, 0)
            .await
            .into_iter()
            .filter(|m| recipient(m) == address && code_line(m).is_some())
            .collect();
        if codes.len() >= count {
            return codes;
        }
        assert!(Instant::now() < deadline, "expected {count} code message(s) to one address, found {}", codes.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The line of a message's text part that is only a 6-digit code, if there is one.
pub fn code_line(message: &str) -> Option<String> {
    let text = part(message, "text/plain")?;
    text.lines().map(str::trim).find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit())).map(str::to_owned)
}

/// The 6-digit verification code in a message, in any language: the line of the text part
/// that is only the code.
pub fn code_in(message: &str) -> String {
    code_line(message).expect("a verification-code message")
}

/// The decoded body of a message's part of `content_type` (`text/plain`, `text/html`).
pub fn part(message: &str, content_type: &str) -> Option<String> {
    let message = message.replace("\r\n", "\n");
    let boundary = message.split("boundary=\"").nth(1)?.split('"').next()?.to_owned();
    message.split(&format!("--{boundary}")).find_map(|section| {
        let (headers, body) = section.trim_start_matches('\n').split_once("\n\n")?;
        let lower = headers.to_ascii_lowercase();
        if !lower.contains(&format!("content-type: {content_type}")) {
            return None;
        }
        let body = body.trim_end();
        let bytes = if lower.contains("content-transfer-encoding: base64") {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(body.replace('\n', "")).ok()?
        } else if lower.contains("content-transfer-encoding: quoted-printable") {
            crate::package::unquote(body).into_bytes()
        } else {
            body.as_bytes().to_vec()
        };
        String::from_utf8(bytes).ok()
    })
}

/// The recipient address of a message.
pub fn recipient(message: &str) -> String {
    message.lines().find_map(|l| l.strip_prefix("To: ")).expect("a To header").trim().to_owned()
}
