//! Moving a [`Catalog`](crate::Catalog) method's borrowed arguments onto the blocking pool: each is
//! carried as an owned value into the closure ([`Carry`]), and lent back there in the form the area
//! function takes ([`Lend`]).

use std::time::Duration;

use crate::LeasedQueue;
use xbak_domain::time::Timestamp;
use xbak_domain::{
    BackupMethod, BackupSchedule, BackupSetDetails, CopyQuery, InstanceConnection, LeaseHolder,
    NewBackupRun, NewBackupSet, NewInstance, Policy, PolicyChange, Region,
};

/// An argument as the caller passes it, turned into a value that can move to another thread.
pub(super) trait Carry {
    type Owned: Lend + Send + 'static;
    fn carry(self) -> Self::Owned;
}

/// A carried argument, lent back as the area function takes it.
pub(super) trait Lend {
    type Lent<'a>
    where
        Self: 'a;
    fn lend(&self) -> Self::Lent<'_>;
}

impl Carry for &str {
    type Owned = String;
    fn carry(self) -> String {
        self.to_owned()
    }
}

impl Lend for String {
    type Lent<'a> = &'a str;
    fn lend(&self) -> &str {
        self
    }
}

impl Carry for Option<&str> {
    type Owned = Option<String>;
    fn carry(self) -> Option<String> {
        self.map(str::to_owned)
    }
}

impl Lend for Option<String> {
    type Lent<'a> = Option<&'a str>;
    fn lend(&self) -> Option<&str> {
        self.as_deref()
    }
}

impl<T: Clone + Send + 'static> Carry for &[T] {
    type Owned = Vec<T>;
    fn carry(self) -> Vec<T> {
        self.to_vec()
    }
}

impl<T> Lend for Vec<T> {
    type Lent<'a>
        = &'a [T]
    where
        T: 'a;
    fn lend(&self) -> &[T] {
        self
    }
}

/// Small `Copy` values travel as they are.
macro_rules! by_value {
    ($($t:ty),*) => {$(
        impl Carry for $t {
            type Owned = $t;
            fn carry(self) -> $t {
                self
            }
        }

        impl Lend for $t {
            type Lent<'a> = $t;
            fn lend(&self) -> $t {
                *self
            }
        }
    )*};
}

by_value!(
    i64,
    u32,
    bool,
    Timestamp,
    Duration,
    BackupMethod,
    LeasedQueue,
    Option<i64>,
    Option<Timestamp>
);

/// Domain values are cloned, and lent back by reference.
macro_rules! by_clone {
    ($($t:ty),*) => {$(
        impl Carry for &$t {
            type Owned = $t;
            fn carry(self) -> $t {
                self.clone()
            }
        }

        impl Lend for $t {
            type Lent<'a> = &'a $t;
            fn lend(&self) -> &$t {
                self
            }
        }
    )*};
}

by_clone!(
    Region,
    NewInstance,
    Policy,
    PolicyChange,
    NewBackupSet,
    BackupSetDetails,
    CopyQuery,
    InstanceConnection,
    NewBackupRun,
    BackupSchedule,
    LeaseHolder
);

by_clone!(xbak_domain::BinlogProgress);
by_clone!(xbak_domain::LogFile);
