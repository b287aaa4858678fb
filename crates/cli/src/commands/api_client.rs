//! What the client-side commands (`xbak rds`, `xbak backups`) share: the flags that pick the
//! endpoint and credentials, building an SDK client from them, and exit codes.

use std::io::Write;

use xbak_sdk::credentials::{resolve, Overrides};
use xbak_sdk::{Client, HttpMethod, SdkError, SignatureVersion};

/// Exit codes of the client-side commands besides 0 (also in their `--help`).
pub mod exit {
    /// Anything else: no credentials, bad configuration, local file errors.
    pub const OTHER: i32 = 1;
    /// Bad command line (clap's convention).
    pub const USAGE: i32 = 2;
    /// The service answered with an error (Code/Message/RequestId printed on stderr).
    pub const API: i32 = 3;
    /// The endpoint could not be reached (after retries).
    pub const NETWORK: i32 = 4;
    /// A download failed: no such backup, no link, or its bytes did not verify.
    pub const DOWNLOAD: i32 = 5;
}

/// The `--help` paragraph listing the exit codes.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  other failure (no credentials, bad configuration, local file error)
  2  bad command line
  3  the service answered an error: ErrorCode, Message and RequestId are printed on stderr
  4  the endpoint could not be reached (after retries)
  5  download failed: no such backup or link, or the bytes did not verify";

/// The help paragraph on credentials and endpoints.
pub const CREDENTIALS_HELP: &str = "\
Credentials: --profile P (from ~/.aliyun/config.json, the aliyun CLI's file), else
ALIBABA_CLOUD_ACCESS_KEY_ID/ALIBABA_CLOUD_ACCESS_KEY_SECRET, else ALICLOUD_ACCESS_KEY/
ALICLOUD_SECRET_KEY, else the current profile. Endpoint: --endpoint, else XBAK_ENDPOINT, else
the profile's \"endpoint\", else rds.aliyuncs.com. Region: --region, else ALIBABA_CLOUD_REGION_ID,
else the profile's region_id.";

/// Flags choosing where and as whom to call.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ClientArgs {
    /// API endpoint, e.g. http://127.0.0.1:8080 or rds.aliyuncs.com.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Profile of ~/.aliyun/config.json.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The instance's RegionId (default: ALIBABA_CLOUD_REGION_ID or the profile's).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Signature scheme: v3 (ACS3-HMAC-SHA256, the official SDKs' default) or v1 (HMAC-SHA1).
    #[arg(long, value_name = "v3|v1", default_value = "v3")]
    pub signature_version: SignatureVersion,
    /// HTTP method of API calls.
    #[arg(long, value_name = "POST|GET", default_value = "POST")]
    pub method: HttpMethod,
}

impl ClientArgs {
    /// Resolves settings and builds the client.
    pub fn client(&self) -> Result<Client, CliError> {
        let settings = resolve(&Overrides {
            profile: self.profile.clone(),
            endpoint: self.endpoint.clone(),
            region_id: self.region.clone(),
        })?;
        Ok(Client::builder()
            .settings(&settings)
            .signature_version(self.signature_version)
            .method(self.method)
            .build()?)
    }
}

/// Why a client-side command failed; decides the exit code.
#[derive(Debug)]
pub enum CliError {
    /// From the SDK.
    Sdk(SdkError),
    /// Bad command line.
    Usage(String),
    /// Anything else.
    Other(String),
}

impl From<SdkError> for CliError {
    fn from(e: SdkError) -> Self {
        CliError::Sdk(e)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::Other(e.to_string())
    }
}

/// Prints `err` the way the aliyun CLI does and exits with its code.
pub fn exit_with(err: CliError) -> ! {
    std::io::stdout().flush().ok();
    let code = match &err {
        CliError::Sdk(SdkError::Api {
            code,
            message,
            request_id,
            http_status,
        }) => {
            eprintln!(
                "ERROR: SDK.ServerError\nErrorCode: {code}\nMessage: {message}\nRequestId: {request_id}\nHTTP status: {http_status}"
            );
            exit::API
        }
        CliError::Sdk(e @ SdkError::Transport(_)) => {
            eprintln!("ERROR: {}", chain(e));
            exit::NETWORK
        }
        CliError::Sdk(e @ SdkError::Download(_)) => {
            eprintln!("ERROR: {e}");
            exit::DOWNLOAD
        }
        CliError::Sdk(e) => {
            eprintln!("ERROR: {e}");
            exit::OTHER
        }
        CliError::Usage(m) => {
            eprintln!("error: {m}\n\nFor more information, try '--help'.");
            exit::USAGE
        }
        CliError::Other(m) => {
            eprintln!("ERROR: {m}");
            exit::OTHER
        }
    };
    std::io::stderr().flush().ok();
    std::process::exit(code)
}

/// An error and its causes, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
