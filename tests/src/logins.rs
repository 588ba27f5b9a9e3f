//! Store URLs with a password in them, for a [`Company`]: the shop on PostgreSQL (trust
//! authentication: the server never asks, so any password works), the CRM through a MariaDB
//! user made for it, the cache through a Redis ACL user made for it. Each password is
//! recognisable (`<what>-pw-<12 hex>`) so a test can look for it wherever it must not be.

use sea_orm::{ConnectionTrait, Database};

use crate::company::Company;

/// The password-carrying URLs of a company's stores; remove the users with
/// [`StoreLogins::remove`] (or, failing that, on drop).
pub struct StoreLogins {
    /// The shop's URL, `postgres://postgres:<password>@...`.
    pub shop_url: String,
    /// The CRM's URL, `mysql://<user>:<password>@...`.
    pub crm_url: String,
    /// The cache's URL, `redis://<user>:<password>@...`.
    pub cache_url: String,
    /// (store, password) of each.
    pub passwords: Vec<(&'static str, String)>,
    users: Users,
}

/// The users to remove: on [`StoreLogins::remove`], or on drop (a failing test), best-effort.
#[derive(Default)]
struct Users {
    name: String,
    crm_root_url: String,
    redis_root_url: String,
    armed: bool,
}

impl Users {
    async fn remove(&mut self) -> anyhow::Result<()> {
        self.armed = false;
        let crm = Database::connect(&self.crm_root_url).await?;
        crm.execute_unprepared(&format!("DROP USER IF EXISTS '{}'@'%'", self.name)).await?;
        crm.close().await.ok();
        let client = redis::Client::open(self.redis_root_url.as_str())?;
        let mut redis = client.get_multiplexed_async_connection().await?;
        redis::cmd("ACL").arg(&["DELUSER", &self.name]).query_async::<i64>(&mut redis).await?;
        Ok(())
    }
}

impl Drop for Users {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut users = std::mem::take(self);
        crate::cleanup::on_own_runtime(async move { users.remove().await });
    }
}

/// A recognisable password: `<what>-pw-<12 hex>`.
pub fn password(what: &str) -> String {
    format!("{what}-pw-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// `url` with `user` and `password` as its user information (`scheme://user:password@host...`),
/// replacing any there was.
pub fn with_login(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let host = rest.split_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{user}:{password}@{host}")
}

impl StoreLogins {
    /// Creates the MariaDB and Redis users (named `lethe_leak_<hex>`) and the URLs.
    pub async fn create(company: &Company) -> StoreLogins {
        let user = format!("lethe_leak_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let passwords = vec![("shop", password("shop")), ("crm", password("crm")), ("cache", password("cache"))];
        let crm_db = company.crm_url.rsplit('/').next().expect("the CRM database").to_owned();
        let crm = Database::connect(&company.crm_url).await.expect("MariaDB as root");
        for sql in [
            format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{}'", passwords[1].1),
            format!("GRANT ALL PRIVILEGES ON `{crm_db}`.* TO '{user}'@'%'"),
        ] {
            crm.execute_unprepared(&sql).await.expect("a MariaDB user for the CRM");
        }
        crm.close().await.ok();
        let mut redis = redis_connection(&company.redis_url).await;
        let rule = format!(">{}", passwords[2].1);
        let _: () = redis::cmd("ACL")
            .arg(&["SETUSER", &user, "on", &rule, "~*", "&*", "+@all"])
            .query_async(&mut redis)
            .await
            .expect("a Redis user for the cache");
        StoreLogins {
            shop_url: with_login(&company.shop_url, "postgres", &passwords[0].1),
            crm_url: with_login(&company.crm_url, &user, &passwords[1].1),
            cache_url: with_login(&company.redis_url, &user, &passwords[2].1),
            passwords,
            users: Users {
                name: user,
                crm_root_url: company.crm_url.clone(),
                redis_root_url: company.redis_url.clone(),
                armed: true,
            },
        }
    }

    /// Drops the MariaDB user and deletes the Redis user. Panics if that fails.
    pub async fn remove(mut self) {
        self.users.remove().await.expect("removing the store users");
    }
}

async fn redis_connection(url: &str) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(url).expect("a Redis URL");
    client.get_multiplexed_async_connection().await.expect("Redis on 127.0.0.1:6379")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_login_replaces_the_user_information() {
        assert_eq!(super::with_login("postgres://postgres@h:5432/db", "u", "p"), "postgres://u:p@h:5432/db");
        assert_eq!(super::with_login("redis://127.0.0.1:6379/", "u", "p"), "redis://u:p@127.0.0.1:6379/");
    }
}
