//! AccessKeys, and where Alibaba Cloud users keep them.
//!
//! [`resolve`] looks, in this order (the first that gives an AccessKey wins):
//!
//! 1. the profile named by the caller (`--profile`), which must exist;
//! 2. `ALIBABA_CLOUD_ACCESS_KEY_ID` + `ALIBABA_CLOUD_ACCESS_KEY_SECRET` (optional
//!    `ALIBABA_CLOUD_SECURITY_TOKEN`), the variables of Alibaba's credentials libraries;
//! 3. `ALICLOUD_ACCESS_KEY` + `ALICLOUD_SECRET_KEY` (optional `ALICLOUD_SECURITY_TOKEN`), the
//!    older names Terraform's provider and some scripts use;
//! 4. the profile named by `ALIBABA_CLOUD_PROFILE` (or `ALIBABACLOUD_PROFILE`), else the
//!    `current` profile of `~/.aliyun/config.json`, the aliyun CLI's file.
//!
//! The region is the caller's, else `ALIBABA_CLOUD_REGION_ID`, else the profile's `region_id`.
//! The endpoint is the caller's, else `XBAK_ENDPOINT`, else the profile's `endpoint` (a key xbak
//! adds to the aliyun CLI's format; the CLI ignores it), else [`ALIBABA_RDS_ENDPOINT`].
//!
//! Profile modes understood: `AK` and `StsToken`. Others (`RamRoleArn`, `EcsRamRole`, …) need a
//! token service and are refused with a message saying so.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::endpoint::ALIBABA_RDS_ENDPOINT;
use crate::error::SdkError;

/// An AccessKey pair, optionally with an STS token. `Debug` never prints the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `AccessKeyId`.
    pub access_key_id: String,
    /// `AccessKeySecret`.
    pub access_key_secret: String,
    /// STS `SecurityToken`, sent as `SecurityToken` (v1) or `x-acs-security-token` (v3).
    pub security_token: Option<String>,
}

impl Credentials {
    /// A plain AccessKey pair.
    pub fn new(access_key_id: impl Into<String>, access_key_secret: impl Into<String>) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
            security_token: None,
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<hidden>")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<hidden>"),
            )
            .finish()
    }
}

/// What the caller fixed explicitly (command-line flags); `None` means "look it up".
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--profile`.
    pub profile: Option<String>,
    /// `--endpoint`.
    pub endpoint: Option<String>,
    /// `--region`.
    pub region_id: Option<String>,
}

/// The outcome of [`resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `None` when no source had an AccessKey.
    pub credentials: Option<Credentials>,
    /// Where the credentials came from, for messages (`env ALIBABA_CLOUD_ACCESS_KEY_ID`,
    /// `profile default in /root/.aliyun/config.json`).
    pub credentials_source: String,
    /// Default `RegionId`.
    pub region_id: Option<String>,
    /// Endpoint string, not yet parsed.
    pub endpoint: String,
}

/// Resolves settings from the process environment and `$HOME/.aliyun/config.json`.
pub fn resolve(overrides: &Overrides) -> Result<Settings, SdkError> {
    let config = std::env::var_os("HOME").map(|h| default_config_path(Path::new(&h)));
    resolve_with(overrides, &|k| std::env::var(k).ok(), config.as_deref())
}

/// The aliyun CLI's config file under a home directory.
pub fn default_config_path(home: &Path) -> PathBuf {
    home.join(".aliyun").join("config.json")
}

/// [`resolve`] with the environment and config path given, for tests and embedding.
pub fn resolve_with(
    overrides: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
    config_path: Option<&Path>,
) -> Result<Settings, SdkError> {
    let env = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let file = match config_path {
        Some(p) if p.exists() => Some((p, ConfigFile::load(p)?)),
        _ => None,
    };
    let profile_named = |name: &str| -> Result<Option<(&Profile, String)>, SdkError> {
        let Some((path, file)) = &file else {
            return Ok(None);
        };
        Ok(file
            .profiles
            .iter()
            .find(|p| p.name == name)
            .map(|p| (p, format!("profile {name} in {}", path.display()))))
    };

    let env_profile = env("ALIBABA_CLOUD_PROFILE").or_else(|| env("ALIBABACLOUD_PROFILE"));
    let profile = match (&overrides.profile, &env_profile) {
        (Some(name), _) => Some(profile_named(name)?.ok_or_else(|| {
            SdkError::Config(match config_path {
                Some(p) => format!("no profile {name:?} in {}", p.display()),
                None => format!("no profile {name:?}: HOME is not set"),
            })
        })?),
        (None, Some(name)) => profile_named(name)?,
        (None, None) => match &file {
            Some((_, f)) if !f.current.is_empty() => profile_named(&f.current)?,
            Some((_, f)) if f.profiles.len() == 1 => profile_named(&f.profiles[0].name)?,
            _ => None,
        },
    };

    let from_env = |id: &str, secret: &str, token: &str| {
        Some(Credentials {
            access_key_id: env(id)?,
            access_key_secret: env(secret)?,
            security_token: env(token),
        })
        .map(|c| (c, format!("env {id}")))
    };
    let explicit_profile = overrides.profile.is_some();
    let credentials = if explicit_profile {
        profile
            .as_ref()
            .map(|(p, src)| p.credentials().map(|c| (c, src.clone())))
            .transpose()?
    } else {
        let from_profile = || {
            profile
                .as_ref()
                .map(|(p, src)| p.credentials().map(|c| (c, src.clone())))
                .transpose()
        };
        match from_env(
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "ALIBABA_CLOUD_SECURITY_TOKEN",
        )
        .or_else(|| {
            from_env(
                "ALICLOUD_ACCESS_KEY",
                "ALICLOUD_SECRET_KEY",
                "ALICLOUD_SECURITY_TOKEN",
            )
        }) {
            Some(c) => Some(c),
            None => from_profile()?,
        }
    };
    let (credentials, credentials_source) = match credentials {
        Some((c, src)) => (Some(c), src),
        None => (None, String::new()),
    };
    let profile = profile.map(|(p, _)| p);
    // The value given, else the environment variable, else the profile's value when not empty.
    let setting = |given: &Option<String>, var: &str, from_profile: Option<&String>| {
        given
            .clone()
            .or_else(|| env(var))
            .or_else(|| from_profile.filter(|v| !v.is_empty()).cloned())
    };
    let region_id = setting(
        &overrides.region_id,
        "ALIBABA_CLOUD_REGION_ID",
        profile.and_then(|p| p.region_id.as_ref()),
    );
    let endpoint = setting(
        &overrides.endpoint,
        "XBAK_ENDPOINT",
        profile.and_then(|p| p.endpoint.as_ref()),
    )
    .unwrap_or_else(|| ALIBABA_RDS_ENDPOINT.to_owned());
    Ok(Settings {
        credentials,
        credentials_source,
        region_id,
        endpoint,
    })
}

/// `~/.aliyun/config.json` as the aliyun CLI writes it (only the keys xbak reads).
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ConfigFile {
    current: String,
    profiles: Vec<Profile>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Profile {
    name: String,
    mode: String,
    access_key_id: String,
    access_key_secret: String,
    sts_token: String,
    region_id: Option<String>,
    /// xbak's addition: the endpoint this profile talks to.
    endpoint: Option<String>,
}

impl ConfigFile {
    fn load(path: &Path) -> Result<ConfigFile, SdkError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SdkError::Config(format!("reading {}: {e}", path.display())))?;
        serde_json::from_str(&text)
            .map_err(|e| SdkError::Config(format!("parsing {}: {e}", path.display())))
    }
}

impl Profile {
    fn credentials(&self) -> Result<Credentials, SdkError> {
        let token = match self.mode.as_str() {
            "AK" | "" => None,
            "StsToken" => Some(self.sts_token.clone()),
            other => {
                return Err(SdkError::Config(format!(
                    "profile {:?} uses mode {other}; xbak reads AK and StsToken profiles \
                     (or set ALIBABA_CLOUD_ACCESS_KEY_ID/ALIBABA_CLOUD_ACCESS_KEY_SECRET)",
                    self.name
                )))
            }
        };
        if self.access_key_id.is_empty() || self.access_key_secret.is_empty() {
            return Err(SdkError::Config(format!(
                "profile {:?} has no access_key_id/access_key_secret",
                self.name
            )));
        }
        Ok(Credentials {
            access_key_id: self.access_key_id.clone(),
            access_key_secret: self.access_key_secret.clone(),
            security_token: token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const CONFIG: &str = r#"{"current":"default","profiles":[
        {"name":"default","mode":"AK","access_key_id":"AK1","access_key_secret":"S1",
         "region_id":"cn-hangzhou","output_format":"json","language":"en"},
        {"name":"xbak","mode":"AK","access_key_id":"AK2","access_key_secret":"S2",
         "region_id":"cn-beijing","endpoint":"http://127.0.0.1:8080"},
        {"name":"sts","mode":"StsToken","access_key_id":"STS.x","access_key_secret":"S3",
         "sts_token":"tok","region_id":""},
        {"name":"role","mode":"RamRoleArn","access_key_id":"a","access_key_secret":"b"}],
        "meta_path":""}"#;

    fn run(o: Overrides, env: &[(&str, &str)], with_file: bool) -> Result<Settings, SdkError> {
        let dir = tempfile::tempdir().unwrap();
        let path = default_config_path(dir.path());
        if with_file {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, CONFIG).unwrap();
        }
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        resolve_with(&o, &|k| env.get(k).cloned(), Some(&path))
    }

    #[test]
    fn current_profile_when_nothing_else() {
        let s = run(Overrides::default(), &[], true).unwrap();
        assert_eq!(s.credentials, Some(Credentials::new("AK1", "S1")));
        assert_eq!(s.region_id.as_deref(), Some("cn-hangzhou"));
        assert_eq!(s.endpoint, "rds.aliyuncs.com");
        assert!(s.credentials_source.starts_with("profile default"));
    }

    #[test]
    fn env_beats_current_profile_and_new_names_beat_old() {
        let env = [
            ("ALICLOUD_ACCESS_KEY", "OLD"),
            ("ALICLOUD_SECRET_KEY", "OLDS"),
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "NEW"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "NEWS"),
            ("ALIBABA_CLOUD_REGION_ID", "cn-shenzhen"),
            ("XBAK_ENDPOINT", "http://127.0.0.1:1"),
        ];
        let s = run(Overrides::default(), &env, true).unwrap();
        assert_eq!(s.credentials, Some(Credentials::new("NEW", "NEWS")));
        assert_eq!(s.region_id.as_deref(), Some("cn-shenzhen"));
        assert_eq!(s.endpoint, "http://127.0.0.1:1");
        let s = run(Overrides::default(), &env[..2], false).unwrap();
        assert_eq!(s.credentials, Some(Credentials::new("OLD", "OLDS")));
        assert_eq!(s.credentials_source, "env ALICLOUD_ACCESS_KEY");
    }

    #[test]
    fn explicit_profile_beats_env_and_brings_its_endpoint() {
        let o = Overrides {
            profile: Some("xbak".into()),
            ..Default::default()
        };
        let env = [
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "NEW"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "NEWS"),
        ];
        let s = run(o, &env, true).unwrap();
        assert_eq!(s.credentials, Some(Credentials::new("AK2", "S2")));
        assert_eq!(s.endpoint, "http://127.0.0.1:8080");
        assert_eq!(s.region_id.as_deref(), Some("cn-beijing"));
        // Flags beat the profile.
        let o = Overrides {
            profile: Some("xbak".into()),
            endpoint: Some("http://127.0.0.1:2".into()),
            region_id: Some("cn-x".into()),
        };
        let s = run(o, &[], true).unwrap();
        assert_eq!(s.endpoint, "http://127.0.0.1:2");
        assert_eq!(s.region_id.as_deref(), Some("cn-x"));
    }

    #[test]
    fn env_profile_sts_and_refusals() {
        let s = run(
            Overrides::default(),
            &[("ALIBABA_CLOUD_PROFILE", "sts")],
            true,
        )
        .unwrap();
        let c = s.credentials.unwrap();
        assert_eq!(c.security_token.as_deref(), Some("tok"));
        assert_eq!(s.region_id, None, "blank region_id counts as absent");
        assert!(!format!("{c:?}").contains("S3"), "Debug hides the secret");
        let o = |p: &str| Overrides {
            profile: Some(p.into()),
            ..Default::default()
        };
        assert!(
            matches!(run(o("role"), &[], true), Err(SdkError::Config(m)) if m.contains("RamRoleArn"))
        );
        assert!(
            matches!(run(o("nope"), &[], true), Err(SdkError::Config(m)) if m.contains("no profile"))
        );
        let s = run(Overrides::default(), &[], false).unwrap();
        assert_eq!(s.credentials, None);
    }
}
