//! The response model and its JSON/XML rendering: `Regions.Region[]` with its wrapper object
//! always present (`"Regions":{"Region":[]}`, `<Regions></Regions>` when empty).

use serde::{Deserialize, Serialize};

/// The body of a successful `DescribeAvailableCrossRegion` call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeAvailableCrossRegionResponse {
    /// `RequestId`.
    pub request_id: String,
    /// `Regions.Region[]`: destination region ids.
    pub regions: RegionList,
}

/// The `Regions` wrapper object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RegionList {
    /// `Region[]`.
    pub region: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::body::rendered;

    #[test]
    fn wrappers_in_both_formats() {
        let mut r = DescribeAvailableCrossRegionResponse {
            request_id: "R".into(),
            ..Default::default()
        };
        let (json, xml) = rendered(&r);
        assert_eq!(json, r#"{"RequestId":"R","Regions":{"Region":[]}}"#);
        assert!(xml.ends_with("<DescribeAvailableCrossRegionResponse><RequestId>R</RequestId><Regions></Regions></DescribeAvailableCrossRegionResponse>"), "{xml}");
        r.regions.region = vec!["cn-beijing".into(), "cn-shanghai".into()];
        let (json, xml) = rendered(&r);
        assert_eq!(
            json,
            r#"{"RequestId":"R","Regions":{"Region":["cn-beijing","cn-shanghai"]}}"#
        );
        assert!(
            xml.contains(
                "<Regions><Region>cn-beijing</Region><Region>cn-shanghai</Region></Regions>"
            ),
            "{xml}"
        );
        let back: DescribeAvailableCrossRegionResponse = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }
}
