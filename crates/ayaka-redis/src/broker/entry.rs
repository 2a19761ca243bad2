//! Parsing stream replies by hand: a foreign or truncated entry is skipped
//! (and logged), never a panic and never an error that wedges a consumer.

use bytes::Bytes;
use redis::Value;

use super::Event;
use super::consumer::Delivery;

fn bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.as_bytes()),
        _ => None,
    }
}

pub(super) fn text(value: &Value) -> Option<String> {
    bytes(value)
        .and_then(|b| std::str::from_utf8(b).ok())
        .map(str::to_owned)
}

fn items(value: &Value) -> Option<&[Value]> {
    match value {
        Value::Array(items) => Some(items),
        _ => None,
    }
}

/// Field/value pairs of one entry, as a RESP2 array or a RESP3 map.
fn field<'a>(fields: &'a Value, name: &str) -> Option<&'a Value> {
    match fields {
        Value::Array(items) => items
            .chunks_exact(2)
            .find(|pair| bytes(&pair[0]) == Some(name.as_bytes()))
            .map(|pair| &pair[1]),
        Value::Map(pairs) => pairs
            .iter()
            .find(|(key, _)| bytes(key) == Some(name.as_bytes()))
            .map(|(_, value)| value),
        _ => None,
    }
}

/// One `[id, [field, value, ...]]` entry of the event stream.
pub(super) fn event_entry(entry: &Value) -> Option<Delivery> {
    let [id, fields] = items(entry)? else {
        return None;
    };
    let id = text(id)?;
    let name = text(field(fields, "t")?)?;
    let shard = text(field(fields, "s")?)?.parse().ok()?;
    let data = Bytes::copy_from_slice(bytes(field(fields, "d")?)?);
    Some(Delivery {
        id,
        event: Event { name, shard, data },
    })
}

/// One `[id, [d, bytes]]` entry of a command stream.
pub(super) fn command_entry(entry: &Value) -> Option<(String, Bytes)> {
    let [id, fields] = items(entry)? else {
        return None;
    };
    Some((
        text(id)?,
        Bytes::copy_from_slice(bytes(field(fields, "d")?)?),
    ))
}

/// The entries of the one stream an `XREAD`/`XREADGROUP` reply holds
/// (`nil` when the block timed out).
pub(super) fn read_reply(reply: &Value) -> Vec<&Value> {
    let streams: Vec<&Value> = match reply {
        Value::Array(streams) => streams
            .iter()
            .filter_map(|stream| items(stream)?.get(1))
            .collect(),
        Value::Map(streams) => streams.iter().map(|(_, entries)| entries).collect(),
        _ => Vec::new(),
    };
    streams.into_iter().filter_map(items).flatten().collect()
}

/// The claimed entries of an `XAUTOCLAIM` reply.
pub(super) fn autoclaim_reply(reply: &Value) -> Vec<&Value> {
    items(reply)
        .and_then(|parts| parts.get(1))
        .and_then(items)
        .map(|entries| entries.iter().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn entries_parse_and_junk_is_skipped() {
        let good = Value::Array(vec![
            bulk("1-0"),
            Value::Array(vec![
                bulk("t"),
                bulk("READY"),
                bulk("s"),
                bulk("2"),
                bulk("d"),
                bulk("{}"),
            ]),
        ]);
        let delivery = event_entry(&good).unwrap();
        assert_eq!(delivery.id, "1-0");
        assert_eq!(delivery.event.name, "READY");
        assert_eq!(delivery.event.shard, 2);
        assert_eq!(&delivery.event.data[..], b"{}");
        for junk in [
            Value::Nil,
            Value::Array(vec![bulk("1-0")]),
            Value::Array(vec![bulk("1-0"), Value::Nil]),
            Value::Array(vec![bulk("1-0"), Value::Array(vec![bulk("t")])]),
            Value::Array(vec![
                bulk("1-0"),
                Value::Array(vec![
                    bulk("t"),
                    bulk("X"),
                    bulk("s"),
                    bulk("-1"),
                    bulk("d"),
                    bulk("{}"),
                ]),
            ]),
        ] {
            assert!(event_entry(&junk).is_none(), "{junk:?}");
        }
        let stream = Value::Array(vec![Value::Array(vec![
            bulk("key"),
            Value::Array(vec![good.clone()]),
        ])]);
        assert_eq!(read_reply(&stream).len(), 1);
        assert!(read_reply(&Value::Nil).is_empty());
        let claimed = Value::Array(vec![
            bulk("0-0"),
            Value::Array(vec![good]),
            Value::Array(vec![]),
        ]);
        assert_eq!(autoclaim_reply(&claimed).len(), 1);
    }
}
