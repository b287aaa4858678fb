//! The response model and its JSON/XML rendering: `Regions.Region[]` with its wrapper object
//! always present (`"Regions":{"Region":[]}`, `<Regions></Regions>` when empty).

use serde::{Deserialize, Serialize};

use crate::actions::body::render_success;
use crate::format::Format;
use crate::xml;

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

/// The XML root element: `<Action>Response`.
pub(crate) const ROOT: &str = "DescribeAvailableCrossRegionResponse";

/// Renders the success body in `format`.
pub fn render(r: &DescribeAvailableCrossRegionResponse, format: Format) -> Vec<u8> {
    render_success(r, format, ROOT, 256, |o| {
        xml::text_element(o, "RequestId", &r.request_id);
        xml::text_list(o, "Regions", "Region", &r.regions.region);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrappers_in_both_formats() {
        let mut r = DescribeAvailableCrossRegionResponse {
            request_id: "R".into(),
            ..Default::default()
        };
        let json = String::from_utf8(render(&r, Format::Json)).unwrap();
        assert_eq!(json, r#"{"RequestId":"R","Regions":{"Region":[]}}"#);
        let xml = String::from_utf8(render(&r, Format::Xml)).unwrap();
        assert!(xml.ends_with("<DescribeAvailableCrossRegionResponse><RequestId>R</RequestId><Regions></Regions></DescribeAvailableCrossRegionResponse>"), "{xml}");
        r.regions.region = vec!["cn-beijing".into(), "cn-shanghai".into()];
        let json = String::from_utf8(render(&r, Format::Json)).unwrap();
        assert_eq!(
            json,
            r#"{"RequestId":"R","Regions":{"Region":["cn-beijing","cn-shanghai"]}}"#
        );
        let xml = String::from_utf8(render(&r, Format::Xml)).unwrap();
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
