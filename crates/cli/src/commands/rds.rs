//! `xbak rds ACTION --Key value …`: any RDS action, the way `aliyun rds …` calls it. Prints the
//! JSON body the API returned, indented (key order and numbers untouched); `--pager` walks
//! every page and prints the merged collection, `{"Items":{"Item":[…]}}`, as `aliyun --pager`
//! does.

use std::io::Write;

use xbak_sdk::describe_cross_region_backups as dcrb;
use xbak_sdk::PagerOptions;

use super::api_client::{exit_with, CliError, ClientArgs, CREDENTIALS_HELP, EXIT_CODES_HELP};

pub const AFTER_HELP: &str = "\
Examples:
  xbak rds DescribeCrossRegionBackups --RegionId cn-hangzhou --DBInstanceId rm-demo \\
      --StartTime 2026-11-01T00:00Z --EndTime 2026-12-01T00:00Z --endpoint http://127.0.0.1:8080
  xbak rds DescribeCrossRegionBackups --RegionId cn-hangzhou --DBInstanceId rm-demo \\
      --StartTime 2026-11-01T00:00Z --EndTime 2026-12-01T00:00Z --PageSize 100 --PageNumber 2
  xbak rds DescribeCrossRegionBackups --DBInstanceId rm-demo --CrossBackupId 7 --profile xbak
  xbak rds DescribeCrossRegionBackups ... --pager            # every page, Items.Item merged
  xbak rds DescribeCrossRegionBackups ... --pager path=Items.Item PageNumber=PageNumber
  xbak rds DescribeCrossRegionBackupDBInstance --RegionId cn-hangzhou --PageSize 100
  xbak rds DescribeCrossBackupMetaList --BackupSetId 7 --GetDbName shop
  xbak rds DescribeBinlogFiles --DBInstanceId rm-demo --StartTime 2026-11-01T00:00Z \\
      --EndTime 2026-12-01T00:00Z
  xbak rds DescribeCrossRegionLogBackupFiles --DBInstanceId rm-demo --StartTime 2026-11-01T00:00Z \\
      --EndTime 2026-12-01T00:00Z --CrossBackupRegion cn-shanghai
  xbak rds DescribeAvailableRecoveryTime --CrossBackupId 7

Parameters start with an upper-case letter (--DBInstanceId rm-x or --DBInstanceId=rm-x) and are
sent as given; xbak's own options are lower-case. RegionId defaults to --region/the profile's.
Actions xbak serves: DescribeCrossRegionBackups, ModifyInstanceCrossBackupPolicy,
DescribeInstanceCrossBackupPolicy, DescribeAvailableCrossRegion,
DescribeCrossRegionBackupDBInstance, DescribeCrossBackupMetaList, DescribeBinlogFiles,
DescribeCrossRegionLogBackupFiles, DescribeAvailableRecoveryTime (others are passed through to the
endpoint).

xbak's options: --endpoint URL, --profile NAME, --region REGION, --signature-version v3|v1,
--method POST|GET, --pager [path=A.B] [PageNumber=P] [PageSize=S] [TotalCount=T].
";

/// Raw arguments; parsed by hand because API parameters are open-ended.
#[derive(clap::Args, Debug)]
#[command(after_help = format!("{AFTER_HELP}\n{CREDENTIALS_HELP}\n\n{EXIT_CODES_HELP}"))]
pub struct Args {
    /// The API action, e.g. DescribeCrossRegionBackups.
    #[arg(value_name = "ACTION")]
    action: Option<String>,
    /// `--Key value` API parameters and options (see below).
    #[arg(
        value_name = "--Key value",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    rest: Vec<String>,
}

/// What the command line says.
#[derive(Debug, Default, PartialEq, Eq)]
struct Parsed {
    params: Vec<(String, String)>,
    client: ClientSettings,
    pager: Option<Vec<(String, String)>>,
    help: bool,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct ClientSettings {
    endpoint: Option<String>,
    profile: Option<String>,
    region: Option<String>,
    signature_version: Option<String>,
    method: Option<String>,
}

fn parse(rest: &[String]) -> Result<Parsed, String> {
    let mut out = Parsed::default();
    let mut i = 0;
    while i < rest.len() {
        let tok = &rest[i];
        i += 1;
        if tok == "-h" || tok == "--help" {
            out.help = true;
            continue;
        }
        let Some(flag) = tok.strip_prefix("--") else {
            return Err(format!(
                "unexpected {tok:?}: parameters are written --Key value"
            ));
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (flag, None),
        };
        if name == "pager" {
            let mut fields = Vec::new();
            while let Some(t) = rest.get(i).filter(|t| !t.starts_with("--")) {
                let (k, v) = t
                    .split_once('=')
                    .ok_or_else(|| format!("--pager takes key=value fields, not {t:?}"))?;
                fields.push((k.to_owned(), v.to_owned()));
                i += 1;
            }
            out.pager = Some(fields);
            continue;
        }
        let mut value = || -> Result<String, String> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            match rest.get(i) {
                Some(v) if !v.starts_with("--") => {
                    i += 1;
                    Ok(v.clone())
                }
                _ => Err(format!("--{name} needs a value")),
            }
        };
        let c = &mut out.client;
        match name {
            "endpoint" => c.endpoint = Some(value()?),
            "profile" => c.profile = Some(value()?),
            "region" => c.region = Some(value()?),
            "signature-version" => c.signature_version = Some(value()?),
            "method" => c.method = Some(value()?),
            n if n.starts_with(|ch: char| ch.is_ascii_uppercase()) => {
                let v = value()?;
                out.params.push((n.to_owned(), v));
            }
            n => {
                return Err(format!(
                    "unknown option --{n} (API parameters start with an upper-case letter)"
                ))
            }
        }
    }
    Ok(out)
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    match call(args).await {
        Ok(()) => Ok(()),
        Err(e) => exit_with(e),
    }
}

async fn call(args: Args) -> Result<(), CliError> {
    let parsed = parse(&args.rest).map_err(CliError::Usage)?;
    let Some(action) = args.action.filter(|_| !parsed.help) else {
        print_help();
        return Ok(());
    };
    if action.starts_with('-') {
        return Err(CliError::Usage(format!(
            "expected an ACTION, got {action:?}"
        )));
    }
    let c = &parsed.client;
    let client_args = ClientArgs {
        endpoint: c.endpoint.clone(),
        profile: c.profile.clone(),
        region: c.region.clone(),
        signature_version: match &c.signature_version {
            Some(v) => v.parse().map_err(CliError::Usage)?,
            None => Default::default(),
        },
        method: match &c.method {
            Some(v) => v.parse().map_err(CliError::Usage)?,
            None => Default::default(),
        },
    };
    let client = client_args.client()?;
    let mut stdout = std::io::stdout().lock();
    match &parsed.pager {
        None => {
            let raw = client.call_raw(&action, &parsed.params).await?;
            stdout.write_all(&indent_json(&raw.body))?;
        }
        Some(fields) => {
            let mut opts = PagerOptions::default();
            if action == dcrb::ACTION {
                opts.default_page_size = Some(dcrb::MAX_PAGE_SIZE);
            }
            for (k, v) in fields {
                match k.as_str() {
                    "path" => opts.path = Some(v.clone()),
                    "PageNumber" => opts.page_number_param = v.clone(),
                    "PageSize" => opts.page_size_param = v.clone(),
                    "TotalCount" => opts.total_field = Some(v.clone()),
                    other => {
                        return Err(CliError::Usage(format!(
                            "--pager field {other:?}: use path, PageNumber, PageSize, TotalCount"
                        )))
                    }
                }
            }
            let merged = client
                .call_all_pages(&action, &parsed.params, &opts)
                .await?;
            let text = serde_json::to_string_pretty(&merged.to_json())
                .map_err(|e| CliError::Other(e.to_string()))?;
            stdout.write_all(text.as_bytes())?;
        }
    }
    stdout.write_all(b"\n")?;
    Ok(())
}

fn print_help() {
    use clap::CommandFactory;
    let mut cmd = crate::Cli::command();
    if let Some(rds) = cmd.find_subcommand_mut("rds") {
        rds.print_long_help().ok();
    }
}

/// Re-indents a JSON text with two spaces, like Go's `json.Indent`: key order, number spelling
/// and string escapes stay as received; `{}` and `[]` stay compact. Not JSON → unchanged.
pub fn indent_json(body: &[u8]) -> Vec<u8> {
    if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
        return body.to_vec();
    }
    let mut out = Vec::with_capacity(body.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', depth * 2));
    };
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        i += 1;
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                out.push(b);
            }
            b'{' | b'[' => {
                let close = if b == b'{' { b'}' } else { b']' };
                let next = body[i..].iter().position(|c| !c.is_ascii_whitespace());
                if next.map(|n| body[i + n]) == Some(close) {
                    out.extend([b, close]);
                    i += next.unwrap_or(0) + 1;
                } else {
                    out.push(b);
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(b);
            }
            b',' => {
                out.push(b);
                newline(&mut out, depth);
            }
            b':' => out.extend(b": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn parses_params_options_and_pager() {
        let p = parse(&s(&[
            "--RegionId",
            "cn-hangzhou",
            "--DBInstanceId=rm-1",
            "--endpoint",
            "http://127.0.0.1:1",
            "--pager",
            "path=Items.Item",
            "--PageSize",
            "100",
            "--Empty=",
        ]))
        .unwrap();
        assert_eq!(
            p.params,
            vec![
                ("RegionId".to_owned(), "cn-hangzhou".to_owned()),
                ("DBInstanceId".into(), "rm-1".into()),
                ("PageSize".into(), "100".into()),
                ("Empty".into(), "".into()),
            ]
        );
        assert_eq!(p.client.endpoint.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(
            p.pager,
            Some(vec![("path".to_owned(), "Items.Item".to_owned())])
        );
        assert!(parse(&s(&["--RegionId"]))
            .unwrap_err()
            .contains("needs a value"));
        assert!(parse(&s(&["RegionId", "x"])).is_err());
        assert!(parse(&s(&["--bogus", "x"]))
            .unwrap_err()
            .contains("unknown option"));
        assert!(parse(&s(&["--help"])).unwrap().help);
    }

    #[test]
    fn indents_like_go_json_indent() {
        let body = br#"{"A":1,"B":{"Item":[]},"C":[{"D":"x,{y}:\"z\""},2.50],"E":{}}"#;
        let want = "{\n  \"A\": 1,\n  \"B\": {\n    \"Item\": []\n  },\n  \"C\": [\n    {\n      \"D\": \"x,{y}:\\\"z\\\"\"\n    },\n    2.50\n  ],\n  \"E\": {}\n}";
        assert_eq!(String::from_utf8(indent_json(body)).unwrap(), want);
        assert_eq!(indent_json(b"<xml/>"), b"<xml/>");
        let v: serde_json::Value = serde_json::from_slice(&indent_json(body)).unwrap();
        assert_eq!(
            v,
            serde_json::from_slice::<serde_json::Value>(body).unwrap()
        );
    }
}
