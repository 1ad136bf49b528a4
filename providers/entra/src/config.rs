//! `[sources.NAME]` with `provider = "entra"`.

use std::path::PathBuf;

use serde::Deserialize;

/// Public Microsoft identity platform.
pub const DEFAULT_LOGIN_URL: &str = "https://login.microsoftonline.com";
/// Public Microsoft Graph.
pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntraConfig {
    /// Directory (tenant) id, a GUID, or a verified domain such as `contoso.onmicrosoft.com`.
    pub tenant_id: String,
    /// Application (client) id of the app registration iamsnap signs in as.
    pub client_id: String,
    /// Environment variable holding the client secret.
    pub client_secret_env: Option<String>,
    /// File holding the client secret (relative paths are taken from the config file's folder).
    pub client_secret_file: Option<PathBuf>,
    /// Identity platform endpoint (default `https://login.microsoftonline.com`; national clouds
    /// and emulators differ).
    pub login_url: Option<String>,
    /// Microsoft Graph endpoint (default `https://graph.microsoft.com`).
    pub graph_url: Option<String>,
    /// Requests in flight at once (default 4, at most 20); each `$batch` counts as one here
    /// and carries up to 20 Graph requests.
    pub concurrency: Option<usize>,
}
