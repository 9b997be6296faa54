//! How msgctl talks to its user: prompts (only on a terminal), stdin, and where output goes — data on
//! stdout, status lines and errors on stderr.

use std::io::{BufRead, IsTerminal, Read, Write};

use dialoguer::console::Term;
use dialoguer::{Input, Password};
use serde::Serialize;

use super::exit::CliError;

/// The user's terminal, and the output options.
#[derive(Debug, Clone, Copy)]
pub struct Terminal {
    /// Prompts are allowed: stdin and stderr are terminals and `--no-input` was not given.
    pub interactive: bool,
    /// `--json`: machine-readable stdout, errors as JSON on stderr.
    pub json: bool,
    /// `--quiet`: no status lines.
    pub quiet: bool,
}

impl Terminal {
    /// Looks at the real stdin and stderr.
    pub fn detect(no_input: bool, json: bool, quiet: bool) -> Self {
        let interactive = !no_input && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        Self { interactive, json, quiet }
    }

    /// Whether stdin is a terminal (so reading it would wait for typing).
    pub fn stdin_is_terminal(&self) -> bool {
        std::io::stdin().is_terminal()
    }

    /// Whether stderr is a terminal (for progress bars and spinners).
    pub fn stderr_is_terminal(&self) -> bool {
        std::io::stderr().is_terminal()
    }

    /// Asks for a line of text, or fails with `missing` (exit 2) when prompting is not possible.
    pub fn ask(&self, prompt: &str, missing: &str) -> Result<String, CliError> {
        self.require_interactive(missing)?;
        Input::<String>::new()
            .with_prompt(prompt)
            .interact_on(&Term::stderr())
            .map(|s| s.trim().to_owned())
            .map_err(prompt_failed)
    }

    /// Asks for a password without echoing it.
    pub fn ask_password(&self, prompt: &str, missing: &str) -> Result<String, CliError> {
        self.require_interactive(missing)?;
        Password::new().with_prompt(prompt).interact_on(&Term::stderr()).map_err(prompt_failed)
    }

    /// Asks a yes-or-no question (default no).
    pub fn confirm(&self, question: &str) -> Result<bool, CliError> {
        self.require_interactive("a confirmation is required")?;
        dialoguer::Confirm::new()
            .with_prompt(question)
            .default(false)
            .interact_on(&Term::stderr())
            .map_err(prompt_failed)
    }

    /// Asks for a new password twice, without echoing it; the rules are checked before the repeat.
    pub fn ask_new_password(&self, missing: &str) -> Result<String, CliError> {
        self.require_interactive(missing)?;
        Password::new()
            .with_prompt("New password")
            .validate_with(|input: &String| {
                crate::domain::NewPassword::parse(input.clone()).map(drop).map_err(|e| format!("The password {e}."))
            })
            .with_confirmation("Repeat the new password", "The passwords do not match; try again.")
            .interact_on(&Term::stderr())
            .map_err(prompt_failed)
    }

    fn require_interactive(&self, missing: &str) -> Result<(), CliError> {
        if self.interactive { Ok(()) } else { Err(CliError::usage("input_required", missing)) }
    }

    /// A status line for people, on stderr; silent with `--quiet` or `--json`.
    pub fn status(&self, line: impl AsRef<str>) {
        if !self.quiet && !self.json {
            eprintln!("{}", line.as_ref());
        }
    }

    /// A line of data on stdout.
    pub fn out(&self, line: impl AsRef<str>) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", line.as_ref());
    }

    /// A JSON document on stdout.
    pub fn out_json(&self, value: &impl Serialize) {
        self.out(serde_json::to_string_pretty(value).expect("output serializes"));
    }

    /// One JSON object on one line of stdout (JSON lines).
    pub fn out_json_line(&self, value: &impl Serialize) {
        self.out(serde_json::to_string(value).expect("output serializes"));
    }

    /// A JSON array on stdout, written an item at a time (one per line) and closed when dropped: the
    /// same shape however many pages it takes, without holding them all.
    pub fn json_array(&self) -> JsonArray {
        JsonArray { items: 0 }
    }

    /// Rows of data on stdout: at a terminal, aligned columns under a header; otherwise tab-separated
    /// without the header (as gh does), for `cut -f` and `awk -F'\t'`. Cells must not hold tabs or
    /// newlines (callers pass them through [`visible`]).
    pub fn table(&self, header: &[&str], rows: &[Vec<String>]) {
        use unicode_width::UnicodeWidthStr;
        if !std::io::stdout().is_terminal() {
            for row in rows {
                self.out(row.join("\t"));
            }
            return;
        }
        let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
        for row in rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.width());
            }
        }
        let line = |cells: Vec<&str>| {
            let mut text = String::new();
            for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
                if i + 1 == cells.len() {
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    text.push_str(&" ".repeat(width - cell.width() + 2));
                }
            }
            text.trim_end().to_owned()
        };
        self.out(line(header.to_vec()));
        for row in rows {
            self.out(line(row.iter().map(String::as_str).collect()));
        }
    }

    /// Reports an error on stderr: a sentence, or `{"error","code"}` with `--json`.
    pub fn error(&self, error: &CliError) {
        if self.json {
            let body = serde_json::json!({"error": error.message, "code": error.code});
            eprintln!("{body}");
        } else {
            eprintln!("msgctl: {}", error.message);
        }
    }
}

/// See [`Terminal::json_array`].
pub struct JsonArray {
    items: usize,
}

impl JsonArray {
    pub fn item(&mut self, value: &impl Serialize) {
        let mut stdout = std::io::stdout().lock();
        let lead = if self.items == 0 { "[\n" } else { ",\n" };
        let _ = write!(stdout, "{lead}{}", serde_json::to_string(value).expect("output serializes"));
        self.items += 1;
    }
}

impl Drop for JsonArray {
    fn drop(&mut self) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", if self.items == 0 { "[]" } else { "\n]" });
    }
}

/// Text someone else wrote, made safe to print: bidirectional overrides and isolates ("Trojan Source"),
/// invisible format characters and lone carriage returns are shown as `<U+202E>` and the like, so what a
/// terminal shows is what was sent. (The server stores content byte for byte; only printing changes.)
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char, next: Option<char>| -> bool {
        matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180E}'
            | '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}' | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E007F}')
            || (c == '\r' && next != Some('\n'))
    };
    let mut chars = text.chars().peekable();
    let mut out: Option<String> = None;
    let mut index = 0;
    while let Some(c) = chars.next() {
        if hidden(c, chars.peek().copied()) {
            let out = out.get_or_insert_with(|| text[..index].to_owned());
            out.push_str(&format!("<U+{:04X}>", u32::from(c)));
        } else if let Some(out) = &mut out {
            out.push(c);
        }
        index += c.len_utf8();
    }
    out.map_or(std::borrow::Cow::Borrowed(text), std::borrow::Cow::Owned)
}

fn prompt_failed(e: dialoguer::Error) -> CliError {
    CliError::other("prompt_failed", format!("reading from the terminal failed: {e}"))
}

/// Reads `count` lines from stdin, without their line endings; fails (exit 2) when stdin ends early.
pub fn read_stdin_lines(count: usize, what: &str) -> Result<Vec<String>, CliError> {
    let stdin = std::io::stdin();
    let mut lines = Vec::with_capacity(count);
    for line in stdin.lock().lines().take(count) {
        let line = line.map_err(|e| CliError::other("stdin_unreadable", format!("reading stdin failed: {e}")))?;
        lines.push(line.strip_suffix('\r').unwrap_or(&line).to_owned());
    }
    if lines.len() < count {
        return Err(CliError::usage("input_required", format!("expected {what} on stdin")));
    }
    Ok(lines)
}

/// Reads all of stdin as text.
pub fn read_stdin_text() -> Result<String, CliError> {
    let mut text = String::new();
    std::io::stdin()
        .lock()
        .read_to_string(&mut text)
        .map_err(|e| CliError::usage("stdin_unreadable", format!("stdin is not readable UTF-8 text: {e}")))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn invisible_and_direction_changing_characters_are_made_visible() {
        assert_eq!(visible("plain text, שלום, 👋🏽"), "plain text, שלום, 👋🏽");
        // The Trojan Source example: an override that makes "admin" read backwards.
        assert_eq!(visible("user \u{202E}nimda\u{202C} ok"), "user <U+202E>nimda<U+202C> ok");
        assert_eq!(visible("zero\u{200B}width"), "zero<U+200B>width");
        assert_eq!(visible("over\rwrite"), "over<U+000D>write");
        assert_eq!(visible("line\r\n"), "line\r\n", "a CRLF is a line end");
        // Joiners are kept: emoji sequences and Persian need them.
        assert_eq!(visible("👨\u{200D}👩\u{200D}👧"), "👨\u{200D}👩\u{200D}👧");
    }
}
