//! A deserializer wrapper that gives both parsers one reading of JSON.
//!
//! serde_json and simd-json read the same text differently in four places,
//! and [`Strict`] settles each one the same way on both, serde_json's way
//! unless serde_json is the lax one:
//!
//! - **Skipped values.** serde_json skips an ignored value without fully
//!   checking it (a lone surrogate escape, a number out of `f64` range or
//!   nesting past the depth limit pass unnoticed), while simd-json checked
//!   the whole text before any value is read. Over serde_json, `Strict`
//!   reads every ignored value through `deserialize_any`, so the same rules
//!   apply to values that are kept and values that are dropped.
//! - **`-0`.** serde_json reads the integer `-0` as the float `-0.0`,
//!   simd-json as the signed integer `0`. `Strict` turns a visited signed
//!   `0` (which only simd-json produces, and only for `-0`) into `-0.0`.
//! - **Number hints.** simd-json answers `deserialize_u64` and its kin by
//!   converting whatever number it holds, where serde_json hands the number
//!   to the visitor as it was written. Over simd-json, `Strict` asks for
//!   every number with `deserialize_any` and refuses anything that is not a
//!   number without visiting it, as serde_json does.
//! - **Options.** simd-json visits `null` under `deserialize_option` as
//!   `unit`, serde_json as `none`; `Strict` visits `none`.
//!
//! Map keys and enum variant names are passed through untouched: both
//! parsers read them as strings.

use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};

/// A deserializer, an access or a seed, read with the rules above.
pub(super) struct Strict<T> {
    inner: T,
    parser: Origin,
}

/// Which parser is underneath: each needs only some of the rules.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// serde_json: its ignored values must be read in full.
    SerdeJson,
    /// simd-json: it checked the whole text already, but its number hints
    /// must be answered the way serde_json answers them.
    #[cfg(feature = "simd-json")]
    SimdJson,
}

impl<T> Strict<T> {
    pub(super) fn new(inner: T, parser: Origin) -> Self {
        Self { inner, parser }
    }

    /// `inner`, read with the same parser's rules.
    fn wrap<U>(&self, inner: U) -> Strict<U> {
        Strict::new(inner, self.parser)
    }

    fn visit<V>(&self, inner: V, hint: Hint) -> Visit<V> {
        Visit {
            inner,
            hint,
            parser: self.parser,
        }
    }

    fn any<V>(&self, inner: V) -> Visit<V> {
        self.visit(inner, Hint::Any)
    }
}

/// What the caller of a `deserialize_*` method asked for, where that changes
/// how a visit is answered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hint {
    /// Anything the input holds.
    Any,
    /// A number: anything else is refused without visiting.
    Number,
    /// An option: `null` is visited as `none`.
    Option,
}

/// A visitor answering as the rules above say, then as `V` would.
struct Visit<V> {
    inner: V,
    hint: Hint,
    parser: Origin,
}

impl<V> Visit<V> {
    fn wrap<U>(&self, inner: U) -> Strict<U> {
        Strict::new(inner, self.parser)
    }

    /// Whether a visit that is not of a number must be refused.
    fn wants_number(&self) -> bool {
        self.hint == Hint::Number
    }
}

macro_rules! forward {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                let visitor = self.any(visitor);
                self.inner.$method(visitor)
            }
        )*
    };
}

macro_rules! number_hints {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                match self.parser {
                    // serde_json's own answer is the one to give
                    Origin::SerdeJson => {
                        let visitor = self.any(visitor);
                        self.inner.$method(visitor)
                    }
                    #[cfg(feature = "simd-json")]
                    Origin::SimdJson => {
                        let visitor = self.visit(visitor, Hint::Number);
                        self.inner.deserialize_any(visitor)
                    }
                }
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    forward!(
        deserialize_any,
        deserialize_bool,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
    );

    number_hints!(
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
    );

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let visitor = self.visit(visitor, Hint::Option);
        self.inner.deserialize_option(visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.any(visitor);
        self.inner.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.any(visitor);
        self.inner.deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.any(visitor);
        self.inner.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.any(visitor);
        self.inner.deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.any(visitor);
        self.inner.deserialize_struct(name, fields, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.any(visitor);
        self.inner.deserialize_enum(name, variants, visitor)
    }

    /// Over serde_json, reads the value in full, so that it is held to the
    /// same rules as a value that is kept (simd-json has checked it).
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let visitor = self.any(visitor);
        match self.parser {
            Origin::SerdeJson => self.inner.deserialize_any(visitor),
            #[cfg(feature = "simd-json")]
            Origin::SimdJson => self.inner.deserialize_ignored_any(visitor),
        }
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// The visits that are not of numbers: refused under a number hint.
macro_rules! not_numbers {
    ($($method:ident($v:ident: $type:ty) => $unexpected:expr),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, $v: $type) -> Result<V::Value, E> {
                if self.wants_number() {
                    return Err(E::invalid_type($unexpected, &self));
                }
                self.inner.$method($v)
            }
        )*
    };
}

/// The visits of numbers, passed on.
macro_rules! numbers {
    ($($method:ident($type:ty)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, v: $type) -> Result<V::Value, E> {
                self.inner.$method(v)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Visit<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    numbers!(
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_f64(f64),
    );

    /// Both parsers visit negative integers here; a signed zero comes only
    /// from simd-json reading `-0`, which serde_json reads as `-0.0`.
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<V::Value, E> {
        if v == 0 {
            self.inner.visit_f64(-0.0)
        } else {
            self.inner.visit_i64(v)
        }
    }

    not_numbers!(
        visit_bool(v: bool) => Unexpected::Bool(v),
        visit_char(v: char) => Unexpected::Char(v),
        visit_str(v: &str) => Unexpected::Str(v),
        visit_borrowed_str(v: &'de str) => Unexpected::Str(v),
        visit_string(v: String) => Unexpected::Str(&v),
        visit_bytes(v: &[u8]) => Unexpected::Bytes(v),
        visit_borrowed_bytes(v: &'de [u8]) => Unexpected::Bytes(v),
        visit_byte_buf(v: Vec<u8>) => Unexpected::Bytes(&v),
    );

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        if self.wants_number() {
            return Err(E::invalid_type(Unexpected::Option, &self));
        }
        self.inner.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        if self.wants_number() {
            return Err(de::Error::invalid_type(Unexpected::Option, &self));
        }
        let deserializer = self.wrap(deserializer);
        self.inner.visit_some(deserializer)
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        match self.hint {
            Hint::Number => Err(E::invalid_type(Unexpected::Unit, &self)),
            Hint::Option => self.inner.visit_none(),
            Hint::Any => self.inner.visit_unit(),
        }
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        if self.wants_number() {
            return Err(de::Error::invalid_type(Unexpected::NewtypeStruct, &self));
        }
        let deserializer = self.wrap(deserializer);
        self.inner.visit_newtype_struct(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        if self.wants_number() {
            return Err(de::Error::invalid_type(Unexpected::Seq, &self));
        }
        let seq = self.wrap(seq);
        self.inner.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        if self.wants_number() {
            return Err(de::Error::invalid_type(Unexpected::Map, &self));
        }
        let map = self.wrap(map);
        self.inner.visit_map(map)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        if self.wants_number() {
            return Err(de::Error::invalid_type(Unexpected::Enum, &self));
        }
        let data = self.wrap(data);
        self.inner.visit_enum(data)
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        let seed = self.wrap(seed);
        self.inner.next_element_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.inner.next_key_seed(seed)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        let seed = self.wrap(seed);
        self.inner.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Strict<A> {
    type Error = A::Error;
    type Variant = Strict<A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), A::Error> {
        let parser = self.parser;
        let (value, variant) = self.inner.variant_seed(seed)?;
        Ok((value, Strict::new(variant, parser)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        let seed = self.wrap(seed);
        self.inner.newtype_variant_seed(seed)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let visitor = self.any(visitor);
        self.inner.tuple_variant(len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let visitor = self.any(visitor);
        self.inner.struct_variant(fields, visitor)
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Strict<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        let deserializer = self.wrap(deserializer);
        self.inner.deserialize(deserializer)
    }
}
