//! A model's fields as XML elements, the way Alibaba's gateway turns a JSON body into XML: a
//! field `Name: value` is `<Name>value</Name>`; an object is an element holding its fields; a
//! list field `Name: [a, b]` is `<Name>a</Name><Name>b</Name>` (its wrapper is the object
//! around it, so `"Items":{"Item":[]}` is `<Items></Items>`); `None` fields are left out.
//!
//! A serde `Serializer` of its own rather than `quick_xml::se`: text goes through
//! [`super::escape_text`] (CR kept as `&#13;`, characters XML 1.0 cannot carry replaced), which
//! quick-xml's escaping does not do, and an empty value is `<Name></Name>` as the gateway writes it.

use std::fmt;

use serde::ser::{self, Impossible, Serialize, SerializeMap, SerializeSeq, SerializeStruct};

/// Appends the elements of `model`'s fields; `model` must serialize as a struct.
pub(crate) fn write_fields<T: Serialize>(out: &mut Vec<u8>, model: &T) {
    model
        .serialize(Element { out, name: None })
        .expect("response models are structs of strings, integers, lists and structs");
}

/// A shape the writer has no XML for (a response model bug).
#[derive(Debug)]
pub(crate) struct Unsupported(String);

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no XML for {}", self.0)
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        Unsupported(msg.to_string())
    }
}

type Done = Result<(), Unsupported>;

/// Serializes one value as the element(s) named `name`; the model itself (`name` `None`) as
/// its fields' elements only.
struct Element<'a> {
    out: &'a mut Vec<u8>,
    name: Option<&'a str>,
}

impl<'a> Element<'a> {
    /// The element's name; the model itself has none, so it can only be a struct.
    fn name(&self, what: &str) -> Result<&'a str, Unsupported> {
        self.name
            .ok_or_else(|| Unsupported(format!("a model that is {what}")))
    }

    /// Opens the element of a struct (none for the model itself) for its fields.
    fn children(self) -> Children<'a> {
        if let Some(name) = self.name {
            super::open(self.out, name);
        }
        Children {
            out: self.out,
            name: self.name,
            key: String::new(),
        }
    }
}

/// The `Serializer` methods for shapes no response model has.
macro_rules! unsupported {
    ($($method:ident($($arg:ty),*) -> $ret:ty;)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<$ret, Unsupported> {
            Err(Unsupported(stringify!($method).to_owned()))
        })*
    };
}

/// The `Serializer` methods that write a number.
macro_rules! numbers {
    ($($method:ident($t:ty);)*) => {
        $(fn $method(self, v: $t) -> Done {
            super::num_element(self.out, self.name("a number")?, v);
            Ok(())
        })*
    };
}

impl<'a> ser::Serializer for Element<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Self;
    type SerializeTuple = Impossible<(), Unsupported>;
    type SerializeTupleStruct = Impossible<(), Unsupported>;
    type SerializeTupleVariant = Impossible<(), Unsupported>;
    type SerializeMap = Children<'a>;
    type SerializeStruct = Children<'a>;
    type SerializeStructVariant = Impossible<(), Unsupported>;

    numbers! {
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
    }

    fn serialize_bool(self, v: bool) -> Done {
        self.serialize_str(if v { "true" } else { "false" })
    }

    fn serialize_str(self, v: &str) -> Done {
        super::text_element(self.out, self.name("a string")?, v);
        Ok(())
    }

    fn serialize_none(self) -> Done {
        Ok(())
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Done {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, value: &T) -> Done {
        value.serialize(self)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Unsupported> {
        self.name("a list")?;
        Ok(self)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Children<'a>, Unsupported> {
        Ok(self.children())
    }

    /// serde serializes a struct with a `#[serde(flatten)]` field as a map of its fields.
    fn serialize_map(self, _: Option<usize>) -> Result<Children<'a>, Unsupported> {
        Ok(self.children())
    }

    unsupported! {
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_char(char) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_unit_variant(&'static str, u32, &'static str) -> ();
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: &T,
    ) -> Done {
        Err(Unsupported(variant.to_owned()))
    }
}

/// A list: each item is an element of the list's name.
impl SerializeSeq for Element<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Done {
        value.serialize(Element {
            out: self.out,
            name: self.name,
        })
    }

    fn end(self) -> Done {
        Ok(())
    }
}

/// The fields of a struct (or the entries of a flattened one), inside its element `name` when
/// it has one; `key` is the entry being written.
struct Children<'a> {
    out: &'a mut Vec<u8>,
    name: Option<&'a str>,
    key: String,
}

impl Children<'_> {
    fn field<T: ?Sized + Serialize>(&mut self, name: &str, value: &T) -> Done {
        value.serialize(Element {
            out: self.out,
            name: Some(name),
        })
    }

    fn close(self) -> Done {
        if let Some(name) = self.name {
            super::close(self.out, name);
        }
        Ok(())
    }
}

impl SerializeStruct for Children<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Done {
        self.field(key, value)
    }

    fn end(self) -> Done {
        self.close()
    }
}

impl SerializeMap for Children<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Done {
        // Keys are field names: serde_json turns one into its text without a serializer of ours.
        self.key = match serde_json::to_value(key) {
            Ok(serde_json::Value::String(name)) => name,
            _ => return Err(Unsupported("a map key that is not a string".to_owned())),
        };
        Ok(())
    }

    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Done {
        let key = std::mem::take(&mut self.key);
        self.field(&key, value)
    }

    fn end(self) -> Done {
        self.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Model {
        request_id: String,
        count: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        start: Option<String>,
        items: Items,
        empty: Items,
    }

    #[derive(serde::Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Items {
        item: Vec<Item>,
    }

    #[derive(serde::Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Item {
        id: i64,
        name: String,
        tags: Vec<String>,
    }

    #[test]
    fn fields_lists_and_wrappers() {
        let model = Model {
            request_id: "R&D".into(),
            count: 2,
            start: None,
            items: Items {
                item: vec![Item {
                    id: -1,
                    name: String::new(),
                    tags: vec!["a".into(), "b<".into()],
                }],
            },
            empty: Items { item: vec![] },
        };
        let mut out = Vec::new();
        write_fields(&mut out, &model);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<RequestId>R&amp;D</RequestId><Count>2</Count><Items><Item><Id>-1</Id><Name></Name>\
             <Tags>a</Tags><Tags>b&lt;</Tags></Item></Items><Empty></Empty>"
        );
    }

    #[derive(serde::Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Flat {
        request_id: String,
        #[serde(flatten)]
        item: Item,
    }

    #[test]
    fn flattened_fields_sit_beside_the_others() {
        let flat = Flat {
            request_id: "R".into(),
            item: Item {
                id: 7,
                name: "n".into(),
                tags: vec![],
            },
        };
        let mut out = Vec::new();
        write_fields(&mut out, &flat);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<RequestId>R</RequestId><Id>7</Id><Name>n</Name>"
        );
    }

    #[test]
    fn a_model_that_is_no_struct_is_refused() {
        assert!(7u32
            .serialize(Element {
                out: &mut Vec::new(),
                name: None
            })
            .is_err());
    }
}
