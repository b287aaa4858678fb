//! The actions xbak answers, one file (or folder) per action with its typed params, response
//! model and rendering. The server decodes `Action` into [`Action`] before any handler runs.

pub mod describe_cross_region_backups;

/// The only API version served: RDS 2014-08-15.
pub const API_VERSION: &str = "2014-08-15";

/// An RPC action name we implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `DescribeCrossRegionBackups`.
    DescribeCrossRegionBackups,
}

impl Action {
    /// Every action, for listings and tests.
    pub const ALL: [Action; 1] = [Action::DescribeCrossRegionBackups];

    /// Looks up an action by its exact (case-sensitive) wire name.
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The wire name, also the root of the XML response (`<Name>Response`).
    pub fn name(self) -> &'static str {
        match self {
            Action::DescribeCrossRegionBackups => "DescribeCrossRegionBackups",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Action;

    #[test]
    fn names_round_trip_exactly() {
        for a in Action::ALL {
            assert_eq!(Action::from_name(a.name()), Some(a));
        }
        assert_eq!(Action::from_name("describecrossregionbackups"), None);
        assert_eq!(Action::from_name(""), None);
    }
}
