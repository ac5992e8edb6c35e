//! Settings: command-line flag, then `QUITTANCE_*` variable, then TOML file, then default.

use std::path::Path;

use serde::Deserialize;

/// Keys accepted in the TOML configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database: Option<String>,
    pub bind: Option<String>,
    pub insecure_cookies: Option<bool>,
    pub log: Option<String>,
    pub max_connections: Option<u32>,
    /// Folder for filed documents; absent: documents are stored in the database.
    pub documents_folder: Option<std::path::PathBuf>,
    /// Largest accepted upload, in Mio (default 10).
    pub documents_max_mib: Option<u64>,
    /// Key of the audit anchors' HMAC (at least 32 characters; never stored in the database).
    /// Prefer `QUITTANCE_AUDIT_KEY`, or keep this file readable by the service only.
    pub audit_key: Option<String>,
    /// Folder the audit chain's head is anchored to (outside the database's reach).
    pub audit_anchors: Option<std::path::PathBuf>,
    /// Minutes between two anchors written by a running server (default 15).
    pub audit_anchor_minutes: Option<u64>,
    /// Reverse proxies whose `X-Forwarded-For` is believed, comma-separated IPs or CIDRs.
    pub trusted_proxies: Option<String>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> Result<FileConfig, String> {
        let Some(path) = path else { return Ok(FileConfig::default()) };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("fichier de configuration « {} » illisible : {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            let msg = e.message().to_string();
            if msg.contains("unknown field") {
                let key = msg.split('`').nth(1).unwrap_or("?");
                format!(
                    "clé inconnue « {key} » dans « {} » (clés permises : database, bind, insecure_cookies, log, max_connections, documents_folder, documents_max_mib, trusted_proxies, audit_key, audit_anchors, audit_anchor_minutes)",
                    path.display()
                )
            } else {
                format!("fichier de configuration « {} » invalide : {msg}", path.display())
            }
        })
    }
}
