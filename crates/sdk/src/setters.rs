//! The builder-setter macro shared by the client's options and the actions' requests.

/// Builder setters: `name: Type` stores `Some(value)`, `name: into Type` stores `Some` of
/// anything that converts into `Type`, `name = Type` stores the value itself.
macro_rules! setters {
    () => {};
    ($(#[$doc:meta])* $name:ident = $ty:ty; $($rest:tt)*) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = value;
            self
        }
        $crate::setters::setters!($($rest)*);
    };
    ($(#[$doc:meta])* $name:ident: into $ty:ty; $($rest:tt)*) => {
        $(#[$doc])*
        pub fn $name(mut self, value: impl Into<$ty>) -> Self {
            self.$name = Some(value.into());
            self
        }
        $crate::setters::setters!($($rest)*);
    };
    ($(#[$doc:meta])* $name:ident: $ty:ty; $($rest:tt)*) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = Some(value);
            self
        }
        $crate::setters::setters!($($rest)*);
    };
}

pub(crate) use setters;
