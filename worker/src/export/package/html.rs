//! `index.html`: the package's page for the person, self-contained (inline style, no script, no
//! external resource), every value escaped.

use std::io::{self, Write};

use super::data::{attachments_of, parse_row, text};
use super::spool::{Spooled, SpooledAttachment};
use super::{HTML_ROWS, PackageInfo, PackageStore, Section};
use crate::mail::escape_html;

/// The page's inline style sheet.
const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:75rem;margin:2rem auto;\
padding:0 1rem;line-height:1.5;color:#1d1d1f}h2{margin-top:2.5rem;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}th,td{border:1px solid #ccc;\
padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f4f4f5}.none{color:#888}\
.scroll{overflow-x:auto}code{background:#f4f4f5;padding:0 .25rem;border-radius:3px}";

/// Writes `index.html`.
pub(super) fn write_html(
    out: &mut impl Write,
    spooled: &Spooled,
    info: &PackageInfo,
    sections: &[Section<'_>],
) -> io::Result<()> {
    let org = escape_html(&info.organization);
    let date = info
        .generated_at
        .format(time::macros::format_description!("[day] [month repr:long] [year]"))
        .unwrap_or_default();
    write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Your personal data at {org}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Your personal data at {org}</h1>\n\
         <p>This is a copy of the personal data {org} holds about you, prepared on {date} in answer to your \
         access request (reference <code>{request}</code>). It holds {rows} record(s) from {stores} system(s).</p>\n\
         <p>The package has three kinds of file:</p>\n<ul>\n\
         <li><code>index.html</code>, this page: what we found, where, why we hold it and what kind of data it is;</li>\n\
         <li><code>data.json</code>: all of it in a machine-readable form, which you may take to another service;</li>\n\
         <li>one CSV file per table (for example <code>{example}</code>), which spreadsheet programs open.</li>\n</ul>\n\
         <h2>Summary</h2>\n<table>\n<tr><th>System</th><th>Table</th><th>Records</th><th>Why we hold it</th></tr>\n",
        request = escape_html(&info.request_id.to_string()),
        rows = spooled.rows(),
        stores = info.stores.len(),
        example = escape_html(sections.first().map_or("shop/orders.csv", |s| s.csv.as_str())),
    )?;
    write_summary_rows(out, spooled, info, sections)?;
    writeln!(out, "</table>")?;

    for store in &info.stores {
        write_store(out, spooled, store, sections)?;
    }
    if !info.not_included.is_empty() {
        writeln!(
            out,
            "<h2>Not in this package</h2>\n<p>These systems are not part of this copy; anything we find there \
             reaches you separately:</p>\n<ul>"
        )?;
        for (name, _) in &info.not_included {
            writeln!(out, "<li>{}</li>", escape_html(name))?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "</body>\n</html>")
}

/// The summary table's rows: per store, its tables with rows, its attached files, or nothing
/// found.
fn write_summary_rows(
    out: &mut impl Write,
    spooled: &Spooled,
    info: &PackageInfo,
    sections: &[Section<'_>],
) -> io::Result<()> {
    for store in &info.stores {
        let mine: Vec<&Section<'_>> = sections.iter().filter(|s| std::ptr::eq(s.store, store)).collect();
        let files = attachments_of(spooled, store).count();
        if files > 0 {
            writeln!(
                out,
                "<tr><td>{}</td><td><a href=\"#{}-attachments\">file(s) attached by our staff</a></td><td>{files}</td><td></td></tr>",
                escape_html(&store.name),
                anchor(&store.name),
            )?;
        } else if mine.is_empty() {
            writeln!(
                out,
                "<tr><td>{}</td><td class=\"none\">nothing found</td><td>0</td><td></td></tr>",
                escape_html(&store.name)
            )?;
        }
        for s in mine {
            writeln!(
                out,
                "<tr><td>{}</td><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
                escape_html(&store.name),
                anchor(&s.csv),
                escape_html(s.table),
                s.spooled.rows,
                escape_html(s.purpose.unwrap_or("")),
            )?;
        }
    }
    Ok(())
}

/// One store's part of the page: its tables, its attached files, or that nothing was found.
fn write_store(
    out: &mut impl Write,
    spooled: &Spooled,
    store: &PackageStore,
    sections: &[Section<'_>],
) -> io::Result<()> {
    let mine: Vec<&Section<'_>> = sections.iter().filter(|s| std::ptr::eq(s.store, store)).collect();
    writeln!(out, "<h2>{}</h2>", escape_html(&store.name))?;
    let files: Vec<&SpooledAttachment> = attachments_of(spooled, store).collect();
    if mine.is_empty() && files.is_empty() {
        writeln!(out, "<p class=\"none\">We searched this system and found nothing about you.</p>")?;
    }
    for s in mine {
        write_html_section(out, spooled, s)?;
    }
    if !files.is_empty() {
        writeln!(
            out,
            "<p id=\"{}-attachments\">Our staff searched this system and attached what they found:</p>\n<ul>",
            anchor(&store.name)
        )?;
        for file in files {
            writeln!(out, "<li><code>{}</code> ({} bytes)</li>", escape_html(&file.entry), file.bytes)?;
        }
        writeln!(out, "</ul>")?;
    }
    Ok(())
}

/// An HTML id made of a file or store name.
fn anchor(csv: &str) -> String {
    csv.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

fn write_html_section(out: &mut impl Write, spooled: &Spooled, s: &Section<'_>) -> io::Result<()> {
    writeln!(out, "<h3 id=\"{}\">{}</h3>", anchor(&s.csv), escape_html(s.table))?;
    match s.purpose {
        Some(purpose) => writeln!(out, "<p><strong>Why we hold it:</strong> {}</p>", escape_html(purpose))?,
        None => writeln!(out, "<p><strong>Why we hold it:</strong> <span class=\"none\">not recorded</span></p>")?,
    }
    if !s.categories.is_empty() {
        writeln!(out, "<p><strong>What kind of data it is:</strong></p>\n<ul>")?;
        for (column, category, description) in &s.categories {
            writeln!(
                out,
                "<li><code>{}</code>: {} <span class=\"none\">({})</span></li>",
                escape_html(column),
                escape_html(description),
                escape_html(category)
            )?;
        }
        writeln!(out, "</ul>")?;
    }
    let rows = s.spooled.rows;
    let csv = escape_html(&s.csv);
    if rows as usize > HTML_ROWS {
        writeln!(
            out,
            "<p>{rows} records. The first {HTML_ROWS} are shown here; all of them are in <code>{csv}</code> and \
             <code>data.json</code>.</p>"
        )?;
    } else {
        writeln!(out, "<p>{rows} record(s), also in <code>{csv}</code> and <code>data.json</code>.</p>")?;
    }
    write!(out, "<div class=\"scroll\"><table>\n<tr>")?;
    for column in &s.columns {
        write!(out, "<th>{}</th>", escape_html(column))?;
    }
    writeln!(out, "</tr>")?;
    for line in spooled.lines(s.spooled)?.take(HTML_ROWS) {
        let row = parse_row(&line?)?;
        write!(out, "<tr>")?;
        for column in &s.columns {
            match text(row.get(column)) {
                Some(value) => write!(out, "<td>{}</td>", escape_html(&value))?,
                None => write!(out, "<td class=\"none\">(empty)</td>")?,
            }
        }
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</table></div>")
}
