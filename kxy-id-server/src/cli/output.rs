//! How admin commands print their result: an aligned table (or a sentence) for people, the
//! answer's `data` as JSON with `--json` for scripts. Errors go to standard error either way.

use serde::Serialize;

/// What a command prints on success.
pub(crate) enum Output {
    /// Rows under headers, columns aligned.
    Table {
        headers: &'static [&'static str],
        rows: Vec<Vec<String>>,
    },
    /// One line for people.
    Line(String),
}

impl Output {
    /// A table of `headers` over `rows`.
    pub(crate) fn table(headers: &'static [&'static str], rows: Vec<Vec<String>>) -> Self {
        Output::Table { headers, rows }
    }
}

/// Prints `data` as JSON (`json`) or as `human` shows it.
pub(crate) fn print(json: bool, data: &impl Serialize, human: Output) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(data).expect("an answer serializes")
        );
        return;
    }
    match human {
        Output::Table { headers, rows } => print!("{}", render(headers, &rows)),
        Output::Line(line) => println!("{line}"),
    }
}

/// The table as text: each column as wide as its widest cell, two spaces apart, no trailing
/// blanks.
fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(cell);
            out.extend(std::iter::repeat_n(' ', width - cell.chars().count()));
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    };
    let mut text = line(&mut headers.iter().copied());
    for row in rows {
        text.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    text
}

/// An optional value as a cell (`-` when absent).
pub(crate) fn cell(value: Option<&str>) -> String {
    value.filter(|v| !v.is_empty()).unwrap_or("-").to_owned()
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub(crate) fn utc(secs: u64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil-from-days, for days on or after 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned_without_trailing_blanks() {
        let rows = vec![
            vec!["shop:db:t:id".to_owned(), "1234".to_owned()],
            vec!["a:b:c:d".to_owned(), "7".to_owned()],
        ];
        assert_eq!(
            render(&["KEY", "VALUE"], &rows),
            "KEY           VALUE\nshop:db:t:id  1234\na:b:c:d       7\n"
        );
        assert_eq!(render(&["GUID", "SYSTEM"], &[]), "GUID  SYSTEM\n");
        assert_eq!(cell(None), "-");
        assert_eq!(cell(Some("")), "-");
    }

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc(4_107_542_399), "2100-02-28T23:59:59Z");
    }
}
