//! `DescribeAvailableRecoveryTime`: the window a cross-region copy can be restored to, from its
//! set's consistent time to the end of the unbroken binlog coverage in the copy's region.
//!
//! [`params`] validates the request; [`response`] is the answer's model.

pub mod params;
pub mod response;

pub use params::DescribeAvailableRecoveryTimeParams;
pub use response::DescribeAvailableRecoveryTimeResponse;
