//! Logs go to stderr, as text or JSON lines; stdout is kept for what the user asked for.

use tracing_subscriber::EnvFilter;

/// Log format on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Starts logging: errors only when `quiet`, more with each `verbose` step; `IAMSNAP_LOG`
/// (an `EnvFilter`) overrides both.
pub fn init(format: LogFormat, quiet: bool, verbose: u8) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_env("IAMSNAP_LOG").unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{level},aws_config=warn,aws_smithy_runtime=warn,hyper=warn,reqwest=warn"
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
    };
}
