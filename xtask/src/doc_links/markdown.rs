//! Just enough Markdown to find links: fenced code blocks are skipped,
//! paragraphs are read whole (a link may wrap), code spans are kept apart
//! from brackets, and reference definitions are told from uses.

use std::collections::BTreeMap;

/// What one Markdown file links to.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Links {
    /// Reference definitions, by normalised label: `[label]: url`.
    pub(crate) definitions: BTreeMap<String, String>,
    /// Destinations of inline links, `[text](url)`, and of definitions.
    pub(crate) urls: Vec<String>,
    /// Labels used by reference links, `[label][]` or `[text][label]`, and
    /// by shortcut references that look like rustdoc's (`` [`Item`] ``),
    /// which GitHub prints as text when nothing defines them.
    pub(crate) references: Vec<String>,
    /// Other shortcut references, `[label]`: links if something defines
    /// the label, text otherwise.
    pub(crate) shortcuts: Vec<String>,
    /// The contents of code spans outside links.
    pub(crate) code_spans: Vec<String>,
    /// The anchors of the headings, as GitHub makes them.
    pub(crate) anchors: Vec<String>,
}

/// A label as Markdown compares them: case and runs of spaces ignored.
pub(crate) fn normalise(label: &str) -> String {
    label
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The anchor GitHub gives a heading: lower case, punctuation dropped,
/// spaces made hyphens.
pub(crate) fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Scans `text`.
pub(crate) fn scan(text: &str) -> Links {
    let mut links = Links::default();
    let mut paragraph = String::new();
    let mut fence: Option<&str> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(marker) = fence {
            if trimmed.starts_with(marker) {
                fence = None;
            }
            continue;
        }
        if let Some(marker) = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m)) {
            fence = Some(marker);
            flush(&mut paragraph, &mut links);
            continue;
        }
        // a definition cannot interrupt a paragraph: there, it is text
        if let Some((label, url)) = definition(trimmed).filter(|_| paragraph.is_empty()) {
            links.urls.push(url.to_owned());
            links
                .definitions
                .entry(normalise(label))
                .or_insert_with(|| url.to_owned());
            continue;
        }
        if let Some(heading) = trimmed.strip_prefix('#') {
            flush(&mut paragraph, &mut links);
            let heading = heading.trim_start_matches('#').replace('`', "");
            links.anchors.push(anchor(&heading));
            scan_inline(&heading, &mut links);
            continue;
        }
        if trimmed.is_empty() {
            flush(&mut paragraph, &mut links);
        } else {
            paragraph.push_str(trimmed);
            paragraph.push(' ');
        }
    }
    flush(&mut paragraph, &mut links);
    links
}

/// `[label]: url` at the start of a line (up to three spaces in).
fn definition(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('[')?;
    let (label, rest) = rest.split_once("]:")?;
    if label.is_empty() || label.contains('[') {
        return None;
    }
    let url = rest.split_whitespace().next()?;
    Some((label, url))
}

fn flush(paragraph: &mut String, links: &mut Links) {
    scan_inline(paragraph, links);
    paragraph.clear();
}

/// Links and code spans of one paragraph.
fn scan_inline(text: &str, links: &mut Links) {
    let mut rest = text;
    while let Some(at) = rest.find(['`', '[']) {
        let (before, from) = rest.split_at(at);
        // an escaped bracket is text
        if before.ends_with('\\') {
            rest = &from[1..];
            continue;
        }
        if from.starts_with('`') {
            let (span, after) = code_span(from);
            if let Some(span) = span {
                links.code_spans.push(span.to_owned());
            }
            rest = after;
            continue;
        }
        let Some((label, after)) = bracketed(from) else {
            rest = &from[1..];
            continue;
        };
        rest = after;
        if let Some(destination) = after.strip_prefix('(') {
            let end = destination.find(')').unwrap_or(destination.len());
            let url = destination[..end].split_whitespace().next().unwrap_or("");
            links.urls.push(url.trim_matches(['<', '>']).to_owned());
            rest = destination.get(end + 1..).unwrap_or("");
        } else if let Some((second, after)) = bracketed(after) {
            let used = if second.trim().is_empty() {
                label
            } else {
                second
            };
            links.references.push(normalise(used));
            rest = after;
        } else if label.starts_with('`') && label.ends_with('`') && label.len() > 2 {
            links.references.push(normalise(label));
        } else {
            // a shortcut reference that names a definition, or plain text
            links.shortcuts.push(normalise(label));
        }
    }
}

/// The code span `text` starts with, and what follows it. A backtick run
/// with no closing run of the same length is text.
fn code_span(text: &str) -> (Option<&str>, &str) {
    let ticks = text.len() - text.trim_start_matches('`').len();
    let marker = &text[..ticks];
    let body = &text[ticks..];
    let mut search = 0;
    while let Some(found) = body[search..].find(marker) {
        let start = search + found;
        let run = body[start..].len() - body[start..].trim_start_matches('`').len();
        if run == ticks {
            return (Some(body[..start].trim()), &body[start + ticks..]);
        }
        search = start + run;
    }
    (None, body)
}

/// `[...]` at the start of `text` (code spans inside may hold brackets):
/// the label and what follows the closing bracket.
fn bracketed(text: &str) -> Option<(&str, &str)> {
    let inner = text.strip_prefix('[')?;
    let mut depth = 0usize;
    let mut index = 0;
    while index < inner.len() {
        let rest = &inner[index..];
        if rest.starts_with('`') {
            let (span, after) = code_span(rest);
            if span.is_some() {
                index = inner.len() - after.len();
                continue;
            }
        }
        match rest.chars().next()? {
            '\\' => index += 1,
            '[' => depth += 1,
            ']' if depth == 0 => return Some((&inner[..index], &inner[index + 1..])),
            ']' => depth -= 1,
            _ => {}
        }
        index += rest.chars().next().map_or(1, char::len_utf8);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_uses_and_inline_links_are_told_apart() {
        let links = scan(
            "See [`Shard`] and [`next`][`Shard::next`], [the page](docs/a.md#x),\n\
             [ayaka-rs] and [plain text].\n\
             \n\
             [`Shard`]: https://docs.rs/a/latest/a/struct.Shard.html\n\
             [ayaka-rs]: https://github.com/ayaka-rs/ayaka\n",
        );
        assert_eq!(links.references, ["`shard`", "`shard::next`"]);
        assert_eq!(links.shortcuts, ["ayaka-rs", "plain text"]);
        assert_eq!(
            links.urls,
            [
                "docs/a.md#x",
                "https://docs.rs/a/latest/a/struct.Shard.html",
                "https://github.com/ayaka-rs/ayaka",
            ]
        );
        assert_eq!(links.definitions.len(), 2);
    }

    #[test]
    fn a_definition_inside_a_paragraph_is_text() {
        let links = scan("Some text\n[`a`]: https://docs.rs/a\n\n[`b`]: https://docs.rs/b\n");
        assert_eq!(links.definitions.keys().collect::<Vec<_>>(), ["`b`"]);
        assert_eq!(links.references, ["`a`"]);
    }

    #[test]
    fn code_is_not_read_as_links() {
        let links = scan(
            "`let x: &[u8] = b\"[a]\";` and ``a ` b``\n\n```rust\nlet [a] = [`b`];\n```\n[`c`]\n",
        );
        assert_eq!(links.code_spans, ["let x: &[u8] = b\"[a]\";", "a ` b"]);
        assert_eq!(links.references, ["`c`"]);
        assert!(links.urls.is_empty());
    }

    #[test]
    fn a_link_may_wrap_and_hold_brackets_in_code() {
        let links = scan("one [`a[0]`\nand b](x.md) two\n");
        assert_eq!(links.urls, ["x.md"]);
        assert!(links.references.is_empty());
    }

    #[test]
    fn headings_give_github_anchors() {
        let links = scan("# The shard: a `machine` and a shell\n## Code map\n");
        assert_eq!(
            links.anchors,
            ["the-shard-a-machine-and-a-shell", "code-map"]
        );
        assert_eq!(anchor("Inside one process"), "inside-one-process");
    }
}
