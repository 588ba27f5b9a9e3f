//! A browser-like client for the operator console over HTTP: keeps its cookies, does not
//! follow redirects (tests look at them), reads CSRF tokens and values out of the pages, and
//! computes TOTP codes from a secret shown on a page.

use std::collections::BTreeMap;
use std::sync::Mutex;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};

/// The password `TestApp::operator_in` gives every account.
pub const PASSWORD: &str = "a long test password";

/// A response: status, headers and body text.
#[derive(Debug)]
pub struct Page {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: String,
}

impl Page {
    /// Where a redirect points.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The first form's CSRF token on the page.
    pub fn csrf(&self) -> String {
        between(&self.body, "name=\"csrf\" value=\"", "\"").unwrap_or_else(|| panic!("no CSRF token in {}", self.body))
    }

    /// The text of the element with `id`.
    pub fn text_of(&self, id: &str) -> Option<String> {
        let start = self.body.find(&format!("id=\"{id}\""))?;
        let rest = &self.body[start..];
        let open = rest.find('>')? + 1;
        let close = rest[open..].find('<')?;
        Some(rest[open..open + close].trim().to_owned())
    }

    /// The opening tag of the element with `id` (`<input id="x" name="x" value="...">`).
    pub fn tag(&self, id: &str) -> Option<String> {
        let at = self.body.find(&format!(" id=\"{id}\""))?;
        let start = self.body[..at].rfind('<')?;
        let end = at + self.body[at..].find('>')? + 1;
        Some(self.body[start..end].to_owned())
    }

    /// The inline error shown next to the form field `id`, checking that the field points to
    /// it (`aria-invalid`, `aria-describedby`) and that the summary links to the field.
    pub fn field_error(&self, id: &str) -> Option<String> {
        let error = self.text_of(&format!("{id}-error"))?;
        let field = self.tag(id).unwrap_or_else(|| panic!("no field {id}"));
        assert!(field.contains(&format!("aria-invalid=\"true\" aria-describedby=\"{id}-error\"")), "{field}");
        assert!(self.body.contains(&format!("<li><a href=\"#{id}\">")), "the summary links to {id}");
        Some(error)
    }
}

/// The text between `start` and the next `end` in `text`.
pub fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(text[from..from + len].to_owned())
}

/// A console client with its own cookies.
pub struct Console {
    base: String,
    http: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
}

impl Console {
    /// A client of the engine at `base` with no cookies.
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { base: base.to_owned(), http, cookies: Mutex::new(BTreeMap::new()) }
    }

    fn cookie_header(&self) -> String {
        self.cookies.lock().unwrap().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    /// A copy of this client's cookies in a new client (another tab of the same browser).
    pub fn fork(&self) -> Self {
        let copy = Self::new(&self.base);
        *copy.cookies.lock().unwrap() = self.cookies.lock().unwrap().clone();
        copy
    }

    async fn read(&self, response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        for value in headers.get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let mut cookies = self.cookies.lock().unwrap();
            if value.is_empty() || text.contains("Max-Age=0") {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page { status, headers, body: response.text().await.unwrap() }
    }

    /// GETs `path`.
    pub async fn get(&self, path: &str) -> Page {
        let response =
            self.http.get(format!("{}{path}", self.base)).header("cookie", self.cookie_header()).send().await.unwrap();
        self.read(response).await
    }

    /// POSTs a form to `path`.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.read(response).await
    }

    /// POSTs a multipart form (text fields only) to `path`.
    pub async fn post_multipart(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.read(response).await
    }

    /// Signs in with e-mail and password; returns the answer to the password form.
    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        let form = self.get("/console/sign-in").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf();
        self.post("/console/sign-in", &[("csrf", &csrf), ("email", email), ("password", password)]).await
    }

    /// Signs in with the test password and expects to land in the console.
    pub async fn signed_in(base: &str, email: &str) -> Self {
        let console = Self::new(base);
        let answer = console.sign_in(email, PASSWORD).await;
        assert_eq!((answer.status, answer.location()), (StatusCode::SEE_OTHER, Some("/console/")), "{}", answer.body);
        console
    }

    /// The values of this client's cookies.
    pub fn cookie_values(&self) -> Vec<String> {
        self.cookies.lock().unwrap().values().cloned().collect()
    }

    /// The CSRF token of a signed-in page.
    pub async fn csrf(&self) -> String {
        self.get("/console/").await.csrf()
    }
}

/// The TOTP code of a base32 `secret` at `offset_steps` time steps from now.
pub fn totp_code(secret: &str, offset_steps: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    totp.generate((now + offset_steps * 30) as u64).to_string()
}

/// Creates a small SQLite shop in `dir` (`customers` with an e-mail column and an index on
/// it, `orders` referencing them; Ann, `ann@example.com`, has two orders) and returns its
/// sea-orm URL, to register as a store.
pub async fn sqlite_shop(dir: &std::path::Path) -> String {
    use sea_orm::ConnectionTrait;
    let url = format!("sqlite://{}?mode=rwc", dir.join("shop.db").display());
    let db = sea_orm::Database::connect(&url).await.expect("a SQLite file");
    for statement in [
        "CREATE TABLE customers (id integer PRIMARY KEY, email text NOT NULL, full_name text)",
        "CREATE INDEX customers_email ON customers (email)",
        "CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers (id), total integer)",
        "CREATE INDEX orders_customer_id ON orders (customer_id)",
        "INSERT INTO customers VALUES (1, 'ann@example.com', 'Ann Example'), (2, 'bob@example.com', 'Bob Example')",
        "INSERT INTO orders VALUES (1, 1, 100), (2, 1, 250), (3, 2, 75)",
    ] {
        db.execute_unprepared(statement).await.expect("fill the shop");
    }
    db.close().await.ok();
    url
}

/// Registers the SQLite shop at `url` (made by [`sqlite_shop`]) as the store `shop` of
/// `admin`'s organization, with [`SQLITE_SHOP_MAP`].
pub async fn register_sqlite_shop(app: &crate::TestApp, admin: &str, url: &str) {
    let body = serde_json::json!({"name": "shop", "kind": "sqlite", "connection": {"url": url}});
    let (status, shop) = app.post("/v1/stores", Some(admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{shop}");
    let map = format!("/v1/stores/{}/datamap", shop["id"].as_str().unwrap());
    let (status, saved) = app.put(&map, admin, serde_json::json!({ "yaml": SQLITE_SHOP_MAP })).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
}

/// A data map of the shop [`sqlite_shop`] creates: customers found by e-mail, their orders.
pub const SQLITE_SHOP_MAP: &str = "version: 1
tables:
  - name: customers
    primary_key: [id]
    purpose: Your customer account.
    columns:
      - { name: email, identity: email, category: user.contact.email }
      - { name: full_name, category: user.name }
  - name: orders
    primary_key: [id]
    purpose: Your orders.
    columns:
      - { name: customer_id, category: user.unique_id }
    references:
      - column: customer_id
        target: { table: customers, column: id }
        direction: from
";
