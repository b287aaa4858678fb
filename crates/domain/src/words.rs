//! `wire_words!`: the word each value of a small enum is stored and sent
//! as, and the way back.

/// Gives an enum `as_str` (its word) and `parse` (the word, or an alias, back to the value;
/// `None` for anything else). With `as "Field"` it also implements `FromStr`, refusing unknown
/// words with [`DomainError::InvalidValue`](crate::DomainError::InvalidValue) for `Field`.
macro_rules! wire_words {
    ($ty:ident as $field:literal { $($rest:tt)* }) => {
        $crate::words::wire_words!($ty { $($rest)* });

        impl std::str::FromStr for $ty {
            type Err = $crate::DomainError;
            fn from_str(s: &str) -> Result<Self, $crate::DomainError> {
                $ty::parse(s).ok_or_else(|| $crate::DomainError::InvalidValue {
                    field: $field,
                    value: s.into(),
                })
            }
        }
    };
    ($ty:ident { $($variant:ident => $word:literal $(| $alias:literal)*),+ $(,)? }) => {
        impl $ty {
            /// The word this value is stored and sent as.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $word,)+
                }
            }

            /// The value `s` names, if any.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($word $(| $alias)* => Some($ty::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

pub(crate) use wire_words;
