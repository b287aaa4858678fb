//! The actions xbak answers, one file (or folder) per action with its typed params, response
//! model and rendering. The server decodes `Action` into [`Action`] before any handler runs.

pub mod describe_available_cross_region;
pub mod describe_cross_region_backups;
pub mod describe_instance_cross_backup_policy;
pub mod modify_instance_cross_backup_policy;

/// The only API version served: RDS 2014-08-15.
pub const API_VERSION: &str = "2014-08-15";

/// An RPC action name we implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `DescribeCrossRegionBackups`.
    DescribeCrossRegionBackups,
    /// `ModifyInstanceCrossBackupPolicy`.
    ModifyInstanceCrossBackupPolicy,
    /// `DescribeInstanceCrossBackupPolicy`.
    DescribeInstanceCrossBackupPolicy,
    /// `DescribeAvailableCrossRegion`.
    DescribeAvailableCrossRegion,
}

impl Action {
    /// Every action, for listings and tests.
    pub const ALL: [Action; 4] = [
        Action::DescribeCrossRegionBackups,
        Action::ModifyInstanceCrossBackupPolicy,
        Action::DescribeInstanceCrossBackupPolicy,
        Action::DescribeAvailableCrossRegion,
    ];

    /// Looks up an action by its exact (case-sensitive) wire name.
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The wire name, also the root of the XML response (`<Name>Response`).
    pub fn name(self) -> &'static str {
        match self {
            Action::DescribeCrossRegionBackups => "DescribeCrossRegionBackups",
            Action::ModifyInstanceCrossBackupPolicy => "ModifyInstanceCrossBackupPolicy",
            Action::DescribeInstanceCrossBackupPolicy => "DescribeInstanceCrossBackupPolicy",
            Action::DescribeAvailableCrossRegion => "DescribeAvailableCrossRegion",
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
