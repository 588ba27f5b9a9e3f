//! The process's log subscriber: the events `LETHE_LOG` selects, below a ceiling no setting can
//! lift, to standard error as text or JSON (`LETHE_LOG_FORMAT`). The `lethe` binary installs
//! it with [`init`]; tests install the same subscriber with [`install`] and a writer of their
//! own.
//!
//! The ceiling ([`ceiling`]): `LETHE_LOG` reaches every level of Lethe's own modules, whose
//! lines carry ids and counts, never a secret or a person's data. Other crates' diagnostics do
//! not: at `debug` and `trace` sea-orm's connect span prints the connection options, URL and
//! password included, HTTP and TLS crates print traffic, the job queue prints its tasks; the
//! database drivers print statements and the server's notices, which can quote rows. So the
//! database drivers never log, other crates log warnings and errors only, and tower-http's
//! request lines (Lethe's `http` span: method and route, no query string; then status and
//! latency) follow `LETHE_LOG` like Lethe's own.

use tracing_subscriber::filter::{FilterExt, LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::{SubscriberInitExt, TryInitError};
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::LogFormat;

/// The filter when `LETHE_LOG` is unset or not a valid filter.
pub const DEFAULT_FILTER: &str = "info";

/// Targets `LETHE_LOG` reaches at every level: Lethe's crates and tower-http's request tracing.
const OWN: [&str; 6] =
    ["lethe", "lethe_api", "lethe_worker", "lethe_entities", "lethe_migrations", "tower_http::trace"];

/// Targets that never log: the database drivers (statements with values, server notices,
/// connection options).
const SILENT: [&str; 2] = ["sqlx", "sea_orm"];

/// The most any other crate logs, whatever `LETHE_LOG` says.
pub const DEPENDENCY_CEILING: LevelFilter = LevelFilter::WARN;

/// The ceiling under `LETHE_LOG`: see the module documentation.
pub fn ceiling() -> Targets {
    let own = OWN.map(|target| (target, LevelFilter::TRACE));
    let silent = SILENT.map(|target| (target, LevelFilter::OFF));
    Targets::new().with_default(DEPENDENCY_CEILING).with_targets(own).with_targets(silent)
}

/// Installs the subscriber for this process: the filter from `LETHE_LOG` under the
/// [`ceiling`], written to standard error in `format`. Does nothing when the process already
/// has one.
pub fn init(format: LogFormat) {
    let directives = std::env::var("LETHE_LOG").ok();
    let _ = install(directives.as_deref(), format, std::io::stderr);
}

/// Installs the subscriber for this process with the filter `directives` (`LETHE_LOG`'s syntax;
/// [`DEFAULT_FILTER`] when `None` or invalid) under the [`ceiling`], writing lines in `format`
/// to `writer`.
pub fn install<W>(directives: Option<&str>, format: LogFormat, writer: W) -> Result<(), TryInitError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let chosen = directives.and_then(|d| EnvFilter::try_new(d).ok()).unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
    let lines = tracing_subscriber::fmt::layer().with_writer(writer);
    let lines: Box<dyn Layer<Registry> + Send + Sync> = match format {
        LogFormat::Text => lines.boxed(),
        LogFormat::Json => lines.json().boxed(),
    };
    tracing_subscriber::registry().with(lines.with_filter(chosen.and(ceiling()))).try_init()
}

#[cfg(test)]
mod tests {
    use tracing::Level;
    use tracing_subscriber::filter::Targets;

    fn allows(targets: &Targets, target: &str, level: Level) -> bool {
        targets.would_enable(target, &level)
    }

    #[test]
    fn the_ceiling_keeps_dependencies_at_warnings_and_databases_silent() {
        let ceiling = super::ceiling();
        for own in ["lethe_api::services::intake", "lethe_worker::jobs", "lethe", "tower_http::trace::on_response"] {
            assert!(allows(&ceiling, own, Level::TRACE), "{own}");
        }
        for dependency in ["hyper_util::client", "rustls::client", "apalis_core::worker", "redis", "tower_http::limit"]
        {
            assert!(!allows(&ceiling, dependency, Level::INFO), "{dependency}");
            assert!(allows(&ceiling, dependency, Level::WARN), "{dependency}");
        }
        for database in ["sqlx::query", "sqlx_postgres::options", "sea_orm::driver", "sea_orm_migration::migrator"] {
            assert!(!allows(&ceiling, database, Level::ERROR), "{database}");
        }
    }
}
