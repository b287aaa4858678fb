//! `DescribeInstanceCrossBackupPolicy`: read an instance's cross-region backup policy.
//!
//! [`params`] validates the request; [`response`] renders the policy with the instance's details.

pub mod params;
pub mod response;

pub use params::DescribeInstanceCrossBackupPolicyParams;
pub use response::DescribeInstanceCrossBackupPolicyResponse;
