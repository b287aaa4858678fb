//! A writer for Prometheus' text exposition format (version 0.0.4): metric families, each with
//! its `# HELP` and `# TYPE` lines, followed by its samples.
//!
//! One small writer rather than a metrics crate: the few counters of [`crate::metrics`] live in
//! atomics and the catalog figures are read at scrape time, so nothing needs a registry; and
//! the crates' encoders write OpenMetrics, whose family names drop `_total` and whose help text
//! gains a period, which would change what dashboards read.

use std::fmt::{Display, Write as _};

/// `Content-Type` of the text this writer produces.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// The `# TYPE` of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (restarts from zero with the process).
    Counter,
    /// Goes up and down.
    Gauge,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// The exposition being written; [`Exposition::finish`] hands out the text.
#[derive(Debug, Default)]
pub struct Exposition {
    text: String,
}

impl Exposition {
    /// An empty exposition.
    pub fn new() -> Exposition {
        Exposition {
            text: String::with_capacity(2048),
        }
    }

    /// Starts a metric family: writes its `# HELP` and `# TYPE` lines; its samples follow.
    pub fn family(&mut self, name: &'static str, help: &str, kind: Kind) -> Family<'_> {
        // Writing to a String cannot fail.
        let _ = writeln!(
            self.text,
            "# HELP {name} {}\n# TYPE {name} {}",
            escape_help(help),
            kind.as_str()
        );
        Family {
            text: &mut self.text,
            name,
        }
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        self.text
    }
}

/// A metric family whose header is written; add its samples.
pub struct Family<'a> {
    text: &'a mut String,
    name: &'static str,
}

impl Family<'_> {
    /// The family's one sample, without labels.
    pub fn value(&mut self, value: impl Display) -> &mut Self {
        let _ = writeln!(self.text, "{} {value}", self.name);
        self
    }

    /// A sample with one label.
    pub fn labelled(&mut self, label: &str, label_value: &str, value: impl Display) -> &mut Self {
        let _ = writeln!(
            self.text,
            "{}{{{label}=\"{}\"}} {value}",
            self.name,
            escape_label_value(label_value)
        );
        self
    }
}

/// A label value: backslash, double quote and line feed escaped.
fn escape_label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Help text: backslash and line feed escaped.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_is_its_help_and_type_lines_then_its_samples() {
        let mut out = Exposition::new();
        out.family("xbak_things_total", "Things seen.", Kind::Counter)
            .value(3);
        out.family("xbak_sizes", "Sizes by shelf.", Kind::Gauge)
            .labelled("shelf", "a", 1)
            .labelled("shelf", "b", 2);
        assert_eq!(
            out.finish(),
            "# HELP xbak_things_total Things seen.\n# TYPE xbak_things_total counter\n\
             xbak_things_total 3\n\
             # HELP xbak_sizes Sizes by shelf.\n# TYPE xbak_sizes gauge\n\
             xbak_sizes{shelf=\"a\"} 1\nxbak_sizes{shelf=\"b\"} 2\n"
        );
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        let mut out = Exposition::new();
        out.family("xbak_x", "Back\\slash\nand more.", Kind::Gauge)
            .labelled("instance", "rm-\"a\"\\b\nc", 0);
        assert_eq!(
            out.finish(),
            "# HELP xbak_x Back\\\\slash\\nand more.\n# TYPE xbak_x gauge\n\
             xbak_x{instance=\"rm-\\\"a\\\"\\\\b\\nc\"} 0\n"
        );
    }
}
