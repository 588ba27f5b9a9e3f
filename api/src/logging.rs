//! The process's log subscriber: the events `LETHE_LOG` selects, to standard error, as text or
//! JSON (`LETHE_LOG_FORMAT`). The `lethe` binary installs it with [`init`]; tests install the
//! same subscriber with [`install`] and a writer of their own.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::{SubscriberInitExt, TryInitError};

use crate::config::LogFormat;

/// The filter when `LETHE_LOG` is unset or not a valid filter.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn";

/// Installs the subscriber for this process: the filter from `LETHE_LOG`, written to standard
/// error in `format`. Does nothing when the process already has one.
pub fn init(format: LogFormat) {
    let directives = std::env::var("LETHE_LOG").ok();
    let _ = install(directives.as_deref(), format, std::io::stderr);
}

/// Installs the subscriber for this process with the filter `directives` (`LETHE_LOG`'s syntax;
/// [`DEFAULT_FILTER`] when `None` or invalid), writing lines in `format` to `writer`.
pub fn install<W>(directives: Option<&str>, format: LogFormat, writer: W) -> Result<(), TryInitError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = directives.and_then(|d| EnvFilter::try_new(d).ok()).unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    match format {
        LogFormat::Text => builder.finish().try_init(),
        LogFormat::Json => builder.json().finish().try_init(),
    }
}
