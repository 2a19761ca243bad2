//! Small helpers to read structure out of fuzz input.

/// Splits `data` into its first byte (a selector) and the rest.
pub(crate) fn selector(data: &[u8]) -> Option<(u8, &[u8])> {
    data.split_first().map(|(&first, rest)| (first, rest))
}

/// Splits `data` into frames: each frame is a length byte then that many
/// bytes (the last frame takes what is left). Concatenated, the frames are
/// `data` without its length bytes.
pub(crate) fn length_prefixed(data: &[u8]) -> Vec<&[u8]> {
    let mut frames = Vec::new();
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (frame, tail) = tail.split_at(len);
        frames.push(frame);
        rest = tail;
    }
    frames
}

/// Splits `data` at every `separator` byte.
pub(crate) fn separated(data: &[u8], separator: u8) -> Vec<&[u8]> {
    data.split(|&byte| byte == separator).collect()
}

/// Checks that `outputs` are whole messages, in order, each output one or
/// more consecutive `messages`, and returns how many messages they hold.
/// Empty messages (a flush with nothing before it) join the output before
/// them.
pub(crate) fn whole_messages(outputs: &[Vec<u8>], messages: &[Vec<u8>]) -> usize {
    let mut next = 0;
    for (index, output) in outputs.iter().enumerate() {
        let mut joined = 0;
        let mut count = 0;
        while let Some(message) = messages.get(next + count) {
            let whole = count > 0 && joined == output.len();
            if whole && !message.is_empty() {
                break;
            }
            assert!(
                output[joined..].starts_with(message),
                "output {index} ({} bytes) is not made of whole messages (at message {})",
                output.len(),
                next + count
            );
            joined += message.len();
            count += 1;
        }
        assert!(
            joined == output.len() && count > 0,
            "output {index} ({} bytes) is not made of whole messages",
            output.len()
        );
        next += count;
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_the_data_without_length_bytes() {
        assert_eq!(
            length_prefixed(&[2, 7, 8, 0, 5, 1]),
            vec![&[7, 8][..], &[], &[1]]
        );
        assert!(length_prefixed(&[]).is_empty());
    }

    #[test]
    fn whole_messages_are_told_from_partial_ones() {
        let messages = vec![b"ab".to_vec(), b"c".to_vec(), b"de".to_vec()];
        assert_eq!(
            whole_messages(&[b"abc".to_vec(), b"de".to_vec()], &messages),
            3
        );
        assert_eq!(whole_messages(&[b"ab".to_vec()], &messages), 1);
        let with_empty = vec![b"ab".to_vec(), Vec::new(), b"c".to_vec()];
        assert_eq!(
            whole_messages(&[b"ab".to_vec(), b"c".to_vec()], &with_empty),
            3
        );
        assert_eq!(whole_messages(&[Vec::new()], &[Vec::new()]), 1);
        let empty_output = std::panic::catch_unwind(|| whole_messages(&[Vec::new()], &messages));
        assert!(empty_output.is_err());
        let partial = std::panic::catch_unwind(|| whole_messages(&[b"a".to_vec()], &messages));
        assert!(partial.is_err());
    }
}
