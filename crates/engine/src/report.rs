//! What diffs and plans have in common when written for people: kinds in dependency order,
//! long lists cut to a few entries per kind, relationship records (memberships, assignments,
//! attachments) shown under the object they belong to, numbers with separators.
//!
//! A [`Section`] receives the [`Entry`]s of one kind in key order and writes them as lines:
//! an object per line, or, for a kind with a [`Parent`], one line per parent that counts its
//! members and names the first few (`group Ops: 200 members added (ada, grace, linus, … 197
//! more)`). With a limit, a section stops after that many lines and ends with how many
//! entries it left out; without one (`--full`), every entry gets its own line and nothing is
//! held, so that a list of millions streams in bounded memory.

use std::io::{self, Write};

use iamsnap_provider::kind::dependency_order;
use iamsnap_provider::{KindInfo, Parent};

/// Entries listed per kind unless told otherwise.
pub const DEFAULT_LIMIT: usize = 20;

/// Member names shown on a parent's line.
pub const NAMES: usize = 3;

/// How much a report shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detail {
    /// Lines per kind (per kind and action in a plan); `None` lists everything.
    pub limit: Option<usize>,
    /// List the objects whose only difference is their ids (diff).
    pub show_ids: bool,
    /// ANSI colours (text on a terminal only).
    pub colour: bool,
}

impl Default for Detail {
    fn default() -> Self {
        Detail {
            limit: Some(DEFAULT_LIMIT),
            show_ids: false,
            colour: false,
        }
    }
}

/// `12345` → `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The kinds of a provider, for ordering and grouping; kinds it does not declare come last,
/// by name, ungrouped.
#[derive(Debug, Clone, Default)]
pub struct Kinds {
    ordered: Vec<KindInfo>,
}

impl Kinds {
    pub fn new(kinds: &[KindInfo]) -> Kinds {
        Kinds {
            ordered: dependency_order(kinds),
        }
    }

    /// Where `kind` goes: its place in dependency order, then its name.
    pub fn rank<'k>(&self, kind: &'k str) -> (usize, &'k str) {
        let at = self.ordered.iter().position(|k| k.name == kind);
        (at.unwrap_or(self.ordered.len()), kind)
    }

    /// `kinds` sorted by [`Kinds::rank`].
    pub fn sort<'k>(&self, kinds: impl IntoIterator<Item = &'k String>) -> Vec<&'k String> {
        let mut out: Vec<&String> = kinds.into_iter().collect();
        out.sort_by(|a, b| self.rank(a).cmp(&self.rank(b)));
        out
    }

    pub fn parent(&self, kind: &str) -> Option<Parent> {
        self.ordered.iter().find(|k| k.name == kind)?.parent
    }
}

/// Text or Markdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Text,
    Markdown,
}

impl Style {
    /// `text` as inline code in Markdown (surviving backticks inside), as is in text.
    pub fn code(self, text: &str) -> String {
        if self == Style::Text {
            return text.to_string();
        }
        let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
        if longest == 0 {
            return format!("`{text}`");
        }
        let fence = "`".repeat(longest + 1);
        format!("{fence} {text} {fence}")
    }

    pub fn item(self) -> &'static str {
        match self {
            Style::Text => "  ",
            Style::Markdown => "- ",
        }
    }

    fn sub(self) -> &'static str {
        match self {
            Style::Text => "      ",
            Style::Markdown => "  - ",
        }
    }
}

/// One object or relationship record of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    /// The line of an object shown alone, without its key: `+ {key} (id 00u1)` is
    /// `head: "+"`, `tail: " (id 00u1)"`.
    pub head: String,
    pub tail: String,
    /// Under a parent's line: what happened to the member, `added`, `to create`, …
    pub verb: &'static str,
    /// Lines shown under the entry (changed fields).
    pub details: Vec<String>,
}

/// Members of one parent, while their lines are collected (limited sections only).
struct Group {
    parent: String,
    /// Per verb, in order of first sight: how many, and the first few names.
    verbs: Vec<(&'static str, u64, Vec<String>)>,
    /// Members with details, shown on their own lines under the parent's.
    detailed: Vec<Entry>,
}

/// The lines of one kind; see the module documentation.
pub struct Section<'o> {
    out: &'o mut dyn Write,
    style: Style,
    parent: Option<Parent>,
    limit: Option<usize>,
    lines: usize,
    left_out: u64,
    group: Option<Group>,
    /// The parent whose heading was written last (unlimited sections).
    heading: Option<String>,
}

impl<'o> Section<'o> {
    pub fn new(
        out: &'o mut dyn Write,
        style: Style,
        parent: Option<Parent>,
        limit: Option<usize>,
    ) -> Self {
        Section {
            out,
            style,
            parent,
            limit,
            lines: 0,
            left_out: 0,
            group: None,
            heading: None,
        }
    }

    fn full(&self) -> bool {
        self.limit.is_some_and(|l| self.lines >= l)
    }

    pub fn push(&mut self, entry: Entry) -> io::Result<()> {
        let Some(parent) = self.parent else {
            if self.full() {
                self.left_out += 1;
                return Ok(());
            }
            self.lines += 1;
            return self.alone(&entry, self.style.item(), self.style.sub());
        };
        let (owner, member) = Parent::split(&entry.key);
        if self.limit.is_none() {
            // Everything listed: a heading per parent, then its members one per line.
            if self.heading.as_deref() != Some(owner) {
                let line = format!(
                    "{}{} {}, {}:",
                    self.style.item(),
                    parent.noun,
                    self.style.code(owner),
                    parent.members
                );
                writeln!(self.out, "{line}")?;
                self.heading = Some(owner.to_string());
            }
            let shown = Entry {
                key: member.to_string(),
                ..entry
            };
            let deeper = format!("    {}", self.style.sub());
            return self.alone(&shown, self.style.sub(), &deeper);
        }
        if self.group.as_ref().is_some_and(|g| g.parent != owner) {
            self.close_group()?;
        }
        if self.group.is_none() {
            if self.full() {
                self.left_out += 1;
                return Ok(());
            }
            self.group = Some(Group {
                parent: owner.to_string(),
                verbs: Vec::new(),
                detailed: Vec::new(),
            });
        }
        let limit = self.limit.unwrap_or(usize::MAX);
        let group = self.group.as_mut().expect("opened above");
        match group.verbs.iter_mut().find(|(v, _, _)| *v == entry.verb) {
            Some((_, count, names)) => {
                *count += 1;
                if names.len() < NAMES {
                    names.push(member.to_string());
                }
            }
            None => group.verbs.push((entry.verb, 1, vec![member.to_string()])),
        }
        if !entry.details.is_empty() && group.detailed.len() < limit {
            group.detailed.push(Entry {
                key: member.to_string(),
                ..entry
            });
        }
        Ok(())
    }

    fn alone(&mut self, entry: &Entry, indent: &str, sub: &str) -> io::Result<()> {
        writeln!(
            self.out,
            "{indent}{} {}{}",
            entry.head,
            self.style.code(&entry.key),
            entry.tail
        )?;
        for line in &entry.details {
            writeln!(self.out, "{sub}{line}")?;
        }
        Ok(())
    }

    fn close_group(&mut self) -> io::Result<()> {
        let Some(group) = self.group.take() else {
            return Ok(());
        };
        let parent = self
            .parent
            .expect("groups are made for kinds with a parent");
        let style = self.style;
        let counts: Vec<String> = group
            .verbs
            .iter()
            .enumerate()
            .map(|(i, (verb, count, names))| {
                let what = match (i, *count) {
                    (0, 1) => one(parent.members),
                    (0, _) => parent.members.to_string(),
                    _ => String::new(),
                };
                let mut shown: Vec<String> = names.iter().map(|n| style.code(n)).collect();
                let more = *count - names.len() as u64;
                if more > 0 {
                    shown.push(format!("… {} more", thousands(more)));
                }
                let what = if what.is_empty() {
                    String::new()
                } else {
                    format!(" {what}")
                };
                format!("{}{what} {verb} ({})", thousands(*count), shown.join(", "))
            })
            .collect();
        writeln!(
            self.out,
            "{}{} {}: {}",
            style.item(),
            parent.noun,
            style.code(&group.parent),
            counts.join(", ")
        )?;
        self.lines += 1;
        let deeper = format!("    {}", style.sub());
        for entry in &group.detailed {
            self.alone(entry, style.sub(), &deeper)?;
        }
        Ok(())
    }

    /// Whether the section has all the lines it shows: whatever comes next is only counted.
    pub fn satisfied(&self) -> bool {
        self.full() && self.group.is_none()
    }

    /// Counts `n` entries left out without reading them.
    pub fn skip(&mut self, n: u64) {
        self.left_out += n;
    }

    /// Writes what is still held and the count of what was left out; returns that count.
    pub fn finish(mut self) -> io::Result<u64> {
        self.close_group()?;
        if self.left_out > 0 {
            writeln!(
                self.out,
                "{}… and {} more (use --full or --format json)",
                self.style.item(),
                thousands(self.left_out)
            )?;
        }
        Ok(self.left_out)
    }
}

/// `members` → `member`, `inline policies` → `inline policy`.
pub fn one(plural: &str) -> String {
    if let Some(stem) = plural.strip_suffix("ies") {
        format!("{stem}y")
    } else {
        plural.strip_suffix('s').unwrap_or(plural).to_string()
    }
}

/// A table with a first column of names and right-aligned numbers.
pub fn table(
    out: &mut dyn Write,
    style: Style,
    header: &[&str],
    rows: &[(String, Vec<u64>)],
) -> io::Result<()> {
    match style {
        Style::Markdown => {
            writeln!(out, "| {} |", header.join(" | "))?;
            let align: Vec<&str> = header
                .iter()
                .enumerate()
                .map(|(i, _)| if i == 0 { "---" } else { "---:" })
                .collect();
            writeln!(out, "| {} |", align.join(" | "))?;
            for (name, values) in rows {
                let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
                writeln!(out, "| {name} | {} |", values.join(" | "))?;
            }
        }
        Style::Text => {
            let first = rows
                .iter()
                .map(|(n, _)| n.chars().count())
                .chain([header[0].len()])
                .max()
                .unwrap_or(0);
            let widths: Vec<usize> = header[1..]
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    rows.iter()
                        .map(|(_, v)| thousands(v[i]).len())
                        .chain([h.len()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let mut line = format!("  {:first$}", header[0]);
            for (h, w) in header[1..].iter().zip(&widths) {
                line.push_str(&format!("  {h:>w$}"));
            }
            writeln!(out, "{}", line.trim_end())?;
            for (name, values) in rows {
                let mut line = format!("  {name:first$}");
                for (v, w) in values.iter().zip(&widths) {
                    line.push_str(&format!("  {:>w$}", thousands(*v)));
                }
                writeln!(out, "{line}")?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, verb: &'static str) -> Entry {
        Entry {
            key: key.to_string(),
            head: "+".into(),
            tail: String::new(),
            verb,
            details: Vec::new(),
        }
    }

    const MEMBERS: Parent = Parent {
        noun: "group",
        members: "members",
    };

    fn lines(limit: Option<usize>, parent: Option<Parent>, entries: &[Entry]) -> String {
        let mut out = Vec::new();
        let mut section = Section::new(&mut out, Style::Text, parent, limit);
        for e in entries {
            section.push(e.clone()).unwrap();
        }
        section.finish().unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn numbers_have_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(12345), "12,345");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn members_are_counted_under_their_parent_and_the_rest_is_counted() {
        let mut entries: Vec<Entry> = (0..5)
            .map(|i| entry(&format!("Ops|u{i}"), "added"))
            .collect();
        entries.push(entry("Ops|u9", "removed"));
        entries.push(entry("Sales|u1", "added"));
        entries.push(entry("Zeta|u1", "added"));
        assert_eq!(
            lines(Some(2), Some(MEMBERS), &entries),
            "  group Ops: 5 members added (u0, u1, u2, … 2 more), 1 removed (u9)\n  group Sales: 1 member added (u1)\n  … and 1 more (use --full or --format json)\n"
        );
        assert_eq!(
            lines(None, Some(MEMBERS), &entries[4..]),
            "  group Ops, members:\n      + u4\n      + u9\n  group Sales, members:\n      + u1\n  group Zeta, members:\n      + u1\n"
        );
        assert_eq!(
            lines(Some(1), None, &entries[..3]),
            "  + Ops|u0\n  … and 2 more (use --full or --format json)\n"
        );
    }
}
