//! Configuration: command-line flags, then `TONGXIN_*` environment variables (both through
//! clap), then an optional TOML file (`--config`), then built-in defaults. Unknown keys in the
//! file are reported, secrets are redacted when printed.

use anyhow::Context;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Keys accepted in the TOML file (see config/tongxin.example.toml).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct FileConfig {
    /// Address to listen on.
    pub listen: Option<String>,
    /// Data directory (SQLite file).
    pub data: Option<PathBuf>,
    /// PostgreSQL URL; when set, SQLite is not used.
    pub database_url: Option<String>,
    /// `text` or `json`.
    pub log_format: Option<String>,
    /// Mark cookies Secure (behind HTTPS).
    pub secure_cookies: Option<bool>,
    /// Trust X-Forwarded-For from a load balancer.
    pub trust_proxy: Option<bool>,
    /// Largest request body in bytes.
    pub max_body_bytes: Option<usize>,
    /// Database pool size.
    pub max_connections: Option<u32>,
    /// Basemap tile URL template of the incident map (none: district outlines only).
    pub map_tiles: Option<String>,
    /// Datum of the basemap: `wgs84` or `gcj02`.
    pub map_crs: Option<String>,
    /// Attribution the basemap requires.
    pub map_attribution: Option<String>,
}

const KNOWN: [&str; 11] = [
    "listen",
    "data",
    "database_url",
    "log_format",
    "secure_cookies",
    "trust_proxy",
    "max_body_bytes",
    "max_connections",
    "map_tiles",
    "map_crs",
    "map_attribution",
];

impl FileConfig {
    /// Reads the file; a missing explicit file is an error, unknown keys are warnings.
    pub fn load(path: Option<&Path>) -> anyhow::Result<(FileConfig, Vec<String>)> {
        let Some(path) = path else { return Ok((FileConfig::default(), vec![])) };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("无法读取配置文件 / cannot read config file {}", path.display()))?;
        let raw: toml::Table =
            toml::from_str(&text).with_context(|| format!("配置文件格式错误 / invalid TOML in {}", path.display()))?;
        let unknown = raw.keys().filter(|k| !KNOWN.contains(&k.as_str())).cloned().collect();
        let cfg: FileConfig = toml::from_str(&text)
            .with_context(|| format!("配置项类型错误 / wrong value type in {}", path.display()))?;
        Ok((cfg, unknown))
    }
}

/// Resolved settings for opening the store.
#[derive(Clone)]
pub struct DbSettings {
    /// Data directory.
    pub data: PathBuf,
    /// PostgreSQL URL, if any.
    pub database_url: Option<String>,
    /// Pool size.
    pub max_connections: u32,
}

impl std::fmt::Debug for DbSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbSettings")
            .field("data", &self.data)
            .field("database_url", &self.database_url.as_deref().map(tongxin_store::redact_url))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl DbSettings {
    /// The store URL: PostgreSQL when configured, else the SQLite file under the data dir.
    pub fn url(&self) -> anyhow::Result<String> {
        match &self.database_url {
            Some(u) if !u.is_empty() => Ok(u.clone()),
            _ => {
                std::fs::create_dir_all(&self.data)
                    .with_context(|| format!("无法创建数据目录 / cannot create data dir {}", self.data.display()))?;
                Ok(tongxin_store::sqlite_url(&self.data.join("tongxin.db")))
            }
        }
    }
}
