//! Reading what an access export delivers: the link in the mail, the download, the ZIP.

use std::io::Read;

use reqwest::StatusCode;

use crate::app::TestApp;
use crate::mailbox;

/// A downloaded package.
pub type Zip = zip::ZipArchive<std::io::Cursor<Vec<u8>>>;

/// Undoes quoted-printable soft line breaks and escapes (the mail's text part).
pub fn unquote(message: &str) -> String {
    let joined = message.replace("=\r\n", "").replace("=\n", "");
    let mut out = Vec::new();
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The download token in the export-ready message to `address`, whenever it arrives among
/// the others (progress notices are sent by their own jobs, in no fixed order).
pub async fn export_token(app: &TestApp, address: &str) -> String {
    token_in(&mailbox::wait_for_message_with(&app.outbox, address, "/v1/exports/").await)
}

/// The download token in an export-ready message (in any of Lethe's languages).
pub fn token_in(message: &str) -> String {
    let text = unquote(message);
    let ready = ["a copy of your personal data is ready", "liegt bereit", "är klar"];
    assert!(ready.iter().any(|r| text.contains(r)), "{text}");
    let at = text.find("http://lethe.test/v1/exports/").expect("the link, on the configured public URL")
        + "http://lethe.test/v1/exports/".len();
    let token: String =
        text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    assert_eq!(token.len(), 64, "{token}");
    token
}

/// `GET /v1/exports/<token>`.
pub async fn download(app: &TestApp, token: &str) -> reqwest::Response {
    app.http.get(app.url(&format!("/v1/exports/{token}"))).send().await.unwrap()
}

/// Downloads the package behind `token` (which must work) and opens it.
pub async fn open(app: &TestApp, token: &str) -> Zip {
    let response = download(app, token).await;
    assert_eq!(response.status(), StatusCode::OK);
    zip::ZipArchive::new(std::io::Cursor::new(response.bytes().await.unwrap().to_vec())).expect("a ZIP")
}

/// One entry of the package, as text.
pub fn read_entry(zip: &mut Zip, name: &str) -> String {
    let mut text = String::new();
    zip.by_name(name).unwrap_or_else(|_| panic!("{name} in the package")).read_to_string(&mut text).unwrap();
    text
}
