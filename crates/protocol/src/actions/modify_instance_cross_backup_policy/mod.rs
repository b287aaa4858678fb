//! `ModifyInstanceCrossBackupPolicy`: turn an instance's cross-region backup on or off, and pick
//! its destination region and retention.
//!
//! [`params`] validates the request; [`response`] renders the echo of the stored policy.

pub mod params;
pub mod response;

pub use params::ModifyInstanceCrossBackupPolicyParams;
pub use response::ModifyInstanceCrossBackupPolicyResponse;
