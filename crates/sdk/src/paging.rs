//! Walking the pages of any `PageNumber`/`PageSize` listing as raw JSON, and merging their
//! collections the way the aliyun CLI's `--pager` does: the result is only the collection,
//! nested under its path (`{"Items":{"Item":[…every item…]}}`).
//!
//! Differences from the aliyun CLI, on purpose: the page size is the one sent (the CLI reads a
//! `PageSize` field from the response, which `DescribeCrossRegionBackups` does not have, so its
//! default `--pager` fails on this action), the total is `TotalRecordCount` or `TotalCount`
//! (whichever the response has), and a walk stops at an empty or short page even without a
//! total.

use serde_json::{Map, Value};

use crate::client::Client;
use crate::error::SdkError;

/// Walk settings; the defaults fit every RDS `Describe…` listing.
#[derive(Debug, Clone)]
pub struct PagerOptions {
    /// Collection path such as `Items.Item` (a trailing `[]` is accepted); `None` = the first
    /// `{"X":{"Y":[…]}}` found in the first page.
    pub path: Option<String>,
    /// Request parameter carrying the page number.
    pub page_number_param: String,
    /// Request parameter carrying the page size.
    pub page_size_param: String,
    /// Response field with the total; `None` = `TotalRecordCount`, else `TotalCount`.
    pub total_field: Option<String>,
    /// Page size to ask for when the caller's parameters have neither a page size nor a page
    /// number (`None` = the service's default).
    pub default_page_size: Option<u32>,
    /// Safety stop against a service that ignores the page number.
    pub max_pages: u32,
}

impl Default for PagerOptions {
    fn default() -> Self {
        PagerOptions {
            path: None,
            page_number_param: "PageNumber".into(),
            page_size_param: "PageSize".into(),
            total_field: None,
            default_page_size: None,
            max_pages: 100_000,
        }
    }
}

/// Every page's collection, merged.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedPages {
    /// The collection path, split on `.`.
    pub path: Vec<String>,
    /// Every item, in page order.
    pub items: Vec<Value>,
    /// Pages fetched.
    pub pages: u32,
    /// The total the service reported on the last page.
    pub total: Option<u64>,
}

impl MergedPages {
    /// `{"Items":{"Item":[…]}}`: the items nested under their path (what `aliyun --pager`
    /// prints).
    pub fn to_json(&self) -> Value {
        let mut v = Value::Array(self.items.clone());
        for key in self.path.iter().rev() {
            let mut m = Map::new();
            m.insert(key.clone(), v);
            v = Value::Object(m);
        }
        v
    }
}

impl Client {
    /// Calls `action` page after page and merges the collections (see the module docs).
    pub async fn call_all_pages(
        &self,
        action: &str,
        params: &[(String, String)],
        opts: &PagerOptions,
    ) -> Result<MergedPages, SdkError> {
        let mut params = params.to_vec();
        let get = |p: &[(String, String)], k: &str| {
            p.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone())
        };
        // A default page size only when the caller chose neither (page 2 of 100 is not page 2
        // of the service's default 30).
        if get(&params, &opts.page_size_param).is_none()
            && get(&params, &opts.page_number_param).is_none()
        {
            if let Some(n) = opts.default_page_size {
                params.push((opts.page_size_param.clone(), n.to_string()));
            }
        }
        let page_size: Option<u64> =
            get(&params, &opts.page_size_param).and_then(|v| v.parse().ok());
        let mut number: u64 = match get(&params, &opts.page_number_param) {
            Some(v) => v.parse().map_err(|_| {
                SdkError::Config(format!("{} {v:?} is not a number", opts.page_number_param))
            })?,
            None => 1,
        };
        params.retain(|(k, _)| k != &opts.page_number_param);
        let mut path: Option<Vec<String>> = opts.path.as_deref().map(split_path);
        let mut merged = MergedPages {
            path: Vec::new(),
            items: Vec::new(),
            pages: 0,
            total: None,
        };
        loop {
            let mut p = params.clone();
            p.push((opts.page_number_param.clone(), number.to_string()));
            let body = self.call(action, &p).await?;
            merged.pages += 1;
            if path.is_none() {
                path = detect_path(&body);
            }
            let Some(path) = &path else {
                return Err(SdkError::Decode {
                    message: format!(
                        "{action}: no collection found in the response; give its path (--pager path=Items.Item)"
                    ),
                });
            };
            let page_items = lookup(&body, path)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            merged.total = total_of(&body, opts.total_field.as_deref()).or(merged.total);
            let received = page_items.len() as u64;
            merged.items.extend(page_items);
            merged.path = path.clone();
            let short = page_size.is_some_and(|s| received < s);
            let reached = merged
                .total
                .is_some_and(|t| page_size.map_or(merged.items.len() as u64, |s| number * s) >= t);
            if received == 0 || short || reached || merged.pages >= opts.max_pages {
                return Ok(merged);
            }
            number += 1;
        }
    }
}

fn split_path(p: &str) -> Vec<String> {
    p.trim_end_matches("[]")
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn lookup<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

/// The first `X.Y` where `body[X][Y]` is an array (`Items.Item` for RDS listings).
fn detect_path(body: &Value) -> Option<Vec<String>> {
    let obj = body.as_object()?;
    for (k, v) in obj {
        if let Some(inner) = v.as_object() {
            for (k2, v2) in inner {
                if v2.is_array() {
                    return Some(vec![k.clone(), k2.clone()]);
                }
            }
        }
    }
    None
}

fn total_of(body: &Value, field: Option<&str>) -> Option<u64> {
    let pick = |f: &str| {
        body.get(f).and_then(|t| {
            t.as_u64()
                .or_else(|| t.as_str().and_then(|s| s.parse().ok()))
        })
    };
    match field {
        Some(f) => pick(f),
        None => pick("TotalRecordCount").or_else(|| pick("TotalCount")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_totals_and_merged_shape() {
        let body = json!({"RequestId":"r","TotalRecordCount":"3","Items":{"Item":[1,2]}});
        assert_eq!(
            detect_path(&body),
            Some(vec!["Items".into(), "Item".into()])
        );
        assert_eq!(total_of(&body, None), Some(3));
        assert_eq!(total_of(&json!({"TotalCount":4}), None), Some(4));
        assert_eq!(split_path("Items.Item[]"), vec!["Items", "Item"]);
        let m = MergedPages {
            path: split_path("Items.Item"),
            items: vec![json!(1), json!(2)],
            pages: 1,
            total: Some(2),
        };
        assert_eq!(m.to_json(), json!({"Items":{"Item":[1,2]}}));
    }
}
