//! `index.html`: the package's page for the person, in the request's language. Self-contained
//! (inline style, no script, no external resource; the only links are to the organization's
//! portal and its supervisory authority), every value escaped, readable at 320 px.

use std::io::{self, Write};

use lethe_entities::datamap::notice::is_third_country;

use super::data::{parse_row, text};
use super::sections::{Section, kinds, recipients, retention_lines, rights, systems};
use super::spool::{Spooled, SpooledAttachment, attachments_of};
use super::{FORMAT, HTML_ROWS, PackageInfo, PackageStore};
use crate::i18n::{PackageTexts, Terms, fill, names};
use crate::mail::escape_html as esc;

/// The page's inline style sheet: one column that reflows down to 320 px; long values break;
/// wide tables scroll inside their own region.
const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:60rem;margin:0 auto;\
padding:1rem;line-height:1.5;color:#1d1d1f;overflow-wrap:anywhere}h1{font-size:1.6rem;line-height:1.25}\
h2{margin-top:2.5rem;border-bottom:1px solid #ddd}h3{margin-top:2rem}h4{margin:1.5rem 0 .5rem;font-size:1.05rem}\
dt{font-weight:600;margin-top:.5rem}dd{margin:0}section.table{border-left:4px solid #e4e4e7;padding-left:.75rem}\
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;\
text-align:left;vertical-align:top;overflow-wrap:normal}th{background:#f4f4f5}.none{color:#595959}\
.scroll{overflow-x:auto;max-width:100%}.scroll:focus{outline:3px solid #1d1d1f;outline-offset:2px}\
code{background:#f4f4f5;padding:0 .25rem;border-radius:3px}a{color:#0b5cad}a:focus{outline:3px solid #1d1d1f}";

/// Escapes `template` and fills it with values that are already HTML.
fn html(template: &str, values: &[(&str, &str)]) -> String {
    fill(&esc(template), values)
}

/// Writes `index.html`.
pub(super) fn write_html(
    out: &mut impl Write,
    spooled: &Spooled,
    info: &PackageInfo,
    sections: &[Section<'_>],
) -> io::Result<()> {
    let t = PackageTexts::of(info.locale);
    let org = esc(&info.organization);
    let title = html(&t.title, &[("org", &org)]);
    let date = esc(&Terms::of(info.locale).date_time(info.generated_at));
    let reference = format!("<code>{}</code>", esc(&info.request_id.to_string()));
    write!(
        out,
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n<p>{intro}</p>\n",
        lang = info.locale.code(),
        intro = html(&t.intro, &[("org", &org), ("date", &date), ("reference", &reference)]),
    )?;
    write_summary(out, t, spooled, info, sections)?;
    let held = !sections.is_empty() || !spooled.attachments.is_empty();
    if held {
        writeln!(out, "<h2 id=\"held\">{}</h2>", esc(&t.held_heading))?;
        for (i, store) in info.stores.iter().enumerate() {
            write_store(out, t, spooled, info, (i, store), sections)?;
        }
    }
    write_recipients(out, t, info, sections)?;
    write_decisions(out, t, info, sections)?;
    write_rights(out, t, info, sections)?;
    write_controller(out, t, info)?;
    write_files(out, t, sections)?;
    if !info.not_included.is_empty() {
        writeln!(
            out,
            "<h2 id=\"not-included\">{}</h2>\n<p>{}</p>\n<ul>",
            esc(&t.not_included_heading),
            esc(&t.not_included)
        )?;
        for (name, _) in &info.not_included {
            writeln!(out, "<li>{}</li>", esc(name))?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "</main>\n</body>\n</html>")
}

/// The plain summary first, or that nothing was found; then the page's contents.
fn write_summary(
    out: &mut impl Write,
    t: &PackageTexts,
    spooled: &Spooled,
    info: &PackageInfo,
    sections: &[Section<'_>],
) -> io::Result<()> {
    writeln!(out, "<h2 id=\"summary\">{}</h2>", esc(&t.summary_heading))?;
    let found = systems(spooled, info, sections);
    if found == 0 {
        write!(out, "<p><strong>{}</strong>", esc(&t.empty))?;
        if !info.stores.is_empty() {
            let searched = PackageTexts::count(&t.systems_one, &t.systems_many, info.stores.len());
            write!(out, " {}", html(&t.empty_detail, &[("systems", &esc(&searched))]))?;
        }
        if !info.not_included.is_empty() {
            write!(out, " {}", esc(&t.empty_others))?;
        }
        writeln!(out, "</p>")?;
    } else {
        let kinds = PackageTexts::count(&t.kinds_one, &t.kinds_many, kinds(spooled, sections));
        let systems = PackageTexts::count(&t.systems_one, &t.systems_many, found);
        writeln!(out, "<p>{}</p>", html(&t.summary, &[("kinds", &esc(&kinds)), ("systems", &esc(&systems))]))?;
    }
    writeln!(out, "<nav aria-labelledby=\"contents\"><h2 id=\"contents\">{}</h2>\n<ul>", esc(&t.contents_heading))?;
    let mut links = Vec::new();
    if found > 0 {
        links.push(("held", &t.held_heading));
    }
    links.extend([
        ("recipients", &t.recipients_heading),
        ("decisions", &t.decisions_heading),
        ("rights", &t.rights_heading),
        ("complaint", &t.complaint_heading),
        ("who", &t.who_heading),
        ("files", &t.files_heading),
    ]);
    if !info.not_included.is_empty() {
        links.push(("not-included", &t.not_included_heading));
    }
    for (id, heading) in links {
        writeln!(out, "<li><a href=\"#{id}\">{}</a></li>", esc(heading))?;
    }
    writeln!(out, "</ul></nav>")
}

/// One store's part of the page: its tables, its attached files, or that nothing was found.
fn write_store(
    out: &mut impl Write,
    t: &PackageTexts,
    spooled: &Spooled,
    info: &PackageInfo,
    (index, store): (usize, &PackageStore),
    sections: &[Section<'_>],
) -> io::Result<()> {
    let mine: Vec<&Section<'_>> = sections.iter().filter(|s| std::ptr::eq(s.store, store)).collect();
    // Ids by position: names could map to the same id once made safe.
    let id = format!("system-{}", index + 1);
    writeln!(out, "<h3 id=\"{id}\">{}</h3>", html(&t.system, &[("name", &esc(&store.name))]))?;
    let files: Vec<&SpooledAttachment> = attachments_of(spooled, store).collect();
    if mine.is_empty() && files.is_empty() {
        writeln!(out, "<p class=\"none\">{}</p>", esc(&t.system_nothing))?;
    }
    for s in mine {
        write_section(out, t, spooled, info, s)?;
    }
    if !files.is_empty() {
        writeln!(out, "<p id=\"{id}-attachments\">{}</p>\n<ul>", esc(&t.system_attached))?;
        for file in files {
            let bytes = html(&t.file_bytes, &[("bytes", &file.bytes.to_string())]);
            writeln!(out, "<li><code>{}</code> ({bytes})</li>", esc(&file.entry))?;
        }
        writeln!(out, "</ul>")?;
    }
    Ok(())
}

/// A table's facts (why, basis, origin, retention, recipients, decision, contents) and rows.
fn write_section(
    out: &mut impl Write,
    t: &PackageTexts,
    spooled: &Spooled,
    info: &PackageInfo,
    s: &Section<'_>,
) -> io::Result<()> {
    writeln!(out, "<section class=\"table\">\n<h4 id=\"{}\">{}</h4>\n<dl>", s.id, esc(&s.label))?;
    let why = match &s.purpose {
        Some(purpose) => esc(purpose),
        None => format!("<span class=\"none\">{}</span>", esc(&t.purpose_missing)),
    };
    writeln!(out, "<dt>{}</dt><dd>{why}</dd>", esc(&t.purpose))?;
    if let Some(basis) = s.legal_basis {
        writeln!(out, "<dd>{}</dd>", html(&t.legal_basis, &[("basis", &esc(t.basis(basis)))]))?;
    }
    let origin = s.origin.as_deref().map_or_else(|| esc(&t.origin_you), esc);
    writeln!(out, "<dt>{}</dt><dd>{origin}</dd>", esc(&t.origin))?;
    writeln!(out, "<dt>{}</dt>", esc(&t.retention))?;
    for line in retention_lines(t, s) {
        writeln!(out, "<dd>{}</dd>", esc(&line))?;
    }
    let org = esc(&info.organization);
    let recipients = if s.recipients.is_empty() {
        html(&t.recipients_none, &[("org", &org)])
    } else {
        s.recipients.iter().map(|r| esc(&r.name)).collect::<Vec<_>>().join(", ")
    };
    writeln!(out, "<dt>{}</dt><dd>{recipients}</dd>", esc(&t.recipients))?;
    if let Some((logic, consequences)) = &s.decision {
        writeln!(
            out,
            "<dt>{}</dt><dd>{}</dd><dd>{}</dd>",
            esc(&t.decision),
            html(&t.decision_logic, &[("logic", &esc(logic))]),
            html(&t.decision_consequences, &[("consequences", &esc(consequences))])
        )?;
    }
    if !s.categories.is_empty() {
        writeln!(out, "<dt>{}</dt>", esc(&t.contains))?;
        for c in &s.categories {
            let values =
                [("label", esc(&c.label)), ("column", esc(&c.column.label)), ("description", esc(&c.description))];
            let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
            writeln!(out, "<dd>{}</dd>", html(&t.column_category, &values))?;
        }
    }
    writeln!(out, "</dl>")?;
    write_rows(out, t, spooled, s)?;
    writeln!(out, "</section>")
}

/// The first [`HTML_ROWS`] rows under the columns' labels.
fn write_rows(out: &mut impl Write, t: &PackageTexts, spooled: &Spooled, s: &Section<'_>) -> io::Result<()> {
    let rows = s.spooled.rows;
    let file = format!("<code>{}</code>", esc(&s.csv));
    let count = if rows as usize > HTML_ROWS {
        html(&t.records_some, &[("n", &rows.to_string()), ("shown", &HTML_ROWS.to_string()), ("file", &file)])
    } else if rows == 1 {
        html(&t.records_one, &[("file", &file)])
    } else {
        html(&t.records_many, &[("n", &rows.to_string()), ("file", &file)])
    };
    writeln!(out, "<p>{count}</p>")?;
    write!(out, "<div class=\"scroll\" role=\"region\" tabindex=\"0\" aria-label=\"{}\"><table>\n<tr>", esc(&s.label))?;
    for column in &s.columns {
        write!(out, "<th scope=\"col\">{}</th>", esc(&column.label))?;
    }
    writeln!(out, "</tr>")?;
    for line in spooled.lines(s.spooled)?.take(HTML_ROWS) {
        let row = parse_row(&line?)?;
        write!(out, "<tr>")?;
        for column in &s.columns {
            match text(row.get(&column.name)) {
                Some(value) => write!(out, "<td>{}</td>", esc(&value))?,
                None => write!(out, "<td class=\"none\">{}</td>", esc(&t.empty_value))?,
            }
        }
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</table></div>")
}

/// Who receives the data found, and the transfers outside the EEA with their safeguards.
fn write_recipients(
    out: &mut impl Write,
    t: &PackageTexts,
    info: &PackageInfo,
    sections: &[Section<'_>],
) -> io::Result<()> {
    writeln!(out, "<h2 id=\"recipients\">{}</h2>", esc(&t.recipients_heading))?;
    let org = esc(&info.organization);
    let recipients = recipients(sections);
    if recipients.is_empty() {
        writeln!(out, "<p>{}</p>", html(&t.recipients_nobody, &[("org", &org)]))?;
    } else {
        writeln!(out, "<p>{}</p>\n<ul>", esc(&t.recipients_intro))?;
        for r in &recipients {
            let mut data: Vec<String> =
                r.everything_in.iter().map(|store| html(&t.recipient_everything, &[("store", &esc(store))])).collect();
            if !r.labels.is_empty() {
                data.push(html(&t.recipient_data, &[("tables", &esc(&r.labels.join(", ")))]));
            }
            let data = data.join(" ");
            let place = r.recipient.country.as_deref().map_or_else(String::new, |c| {
                format!(" {}", html(&t.recipient_where, &[("country", &esc(&names::country(info.locale, c)))]))
            });
            writeln!(out, "<li><strong>{}</strong>. {data}{place}</li>", esc(&r.recipient.name))?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "<h3 id=\"transfers\">{}</h3>", esc(&t.transfers_heading))?;
    let transfers: Vec<_> =
        recipients.iter().filter(|r| r.recipient.country.as_deref().is_some_and(is_third_country)).collect();
    // A recipient whose country is not recorded might be abroad: never claim there is no transfer.
    let unknown: Vec<_> = recipients.iter().filter(|r| r.recipient.country.is_none()).collect();
    if transfers.is_empty() && unknown.is_empty() {
        return writeln!(out, "<p>{}</p>", esc(&t.transfers_none));
    }
    if !transfers.is_empty() {
        writeln!(out, "<p>{}</p>", esc(&t.transfers_intro))?;
    }
    writeln!(out, "<ul>")?;
    for r in unknown {
        writeln!(out, "<li>{}</li>", html(&t.transfer_unknown, &[("recipient", &esc(&r.recipient.name))]))?;
    }
    for r in transfers {
        let country = names::country(info.locale, r.recipient.country.as_deref().unwrap_or_default());
        let safeguard = r.recipient.safeguard.map_or("", |s| t.safeguard(s));
        let line = html(
            &t.transfer,
            &[("recipient", &esc(&r.recipient.name)), ("country", &esc(&country)), ("safeguard", &esc(safeguard))],
        );
        writeln!(out, "<li>{line}</li>")?;
    }
    writeln!(out, "</ul>")
}

/// Automated decision-making: the organization's, each table's, or that there is none.
fn write_decisions(
    out: &mut impl Write,
    t: &PackageTexts,
    info: &PackageInfo,
    sections: &[Section<'_>],
) -> io::Result<()> {
    writeln!(out, "<h2 id=\"decisions\">{}</h2>", esc(&t.decisions_heading))?;
    let tables: Vec<&Section<'_>> = sections.iter().filter(|s| s.decision.is_some()).collect();
    if info.notice.automated_decisions.is_none() && tables.is_empty() {
        return writeln!(out, "<p>{}</p>", esc(&t.decisions_none));
    }
    if let Some(text) = &info.notice.automated_decisions {
        writeln!(out, "<p>{}</p>", esc(text))?;
    }
    for s in tables {
        let (logic, consequences) = s.decision.as_ref().expect("filtered");
        writeln!(
            out,
            "<p><strong>{}</strong>: {} {}</p>",
            esc(&s.label),
            html(&t.decision_logic, &[("logic", &esc(logic))]),
            html(&t.decision_consequences, &[("consequences", &esc(consequences))])
        )?;
    }
    Ok(())
}

/// The person's rights with the portal's link, and the right to complain.
fn write_rights(
    out: &mut impl Write,
    t: &PackageTexts,
    info: &PackageInfo,
    sections: &[Section<'_>],
) -> io::Result<()> {
    let portal = format!("<a href=\"{0}\">{0}</a>", esc(&info.portal_url));
    writeln!(
        out,
        "<h2 id=\"rights\">{}</h2>\n<p>{}</p>\n<ul>",
        esc(&t.rights_heading),
        html(&t.rights_intro, &[("portal", &portal)])
    )?;
    for (_, text, url) in rights(t, info, sections) {
        match url {
            Some(url) => writeln!(out, "<li><a href=\"{}\">{}</a></li>", esc(&url), esc(text))?,
            None => writeln!(out, "<li>{}</li>", esc(text))?,
        }
    }
    writeln!(out, "</ul>\n<h2 id=\"complaint\">{}</h2>\n<p>{}", esc(&t.complaint_heading), esc(&t.complaint))?;
    let notice = &info.notice;
    let authority = match (&notice.supervisory_authority, &notice.supervisory_authority_url) {
        (Some(name), Some(url)) => Some(format!("{} (<a href=\"{1}\">{1}</a>)", esc(name), esc(url))),
        (Some(name), None) => Some(esc(name)),
        (None, Some(url)) => Some(format!("<a href=\"{0}\">{0}</a>", esc(url))),
        (None, None) => None,
    };
    if let Some(authority) = authority {
        write!(out, " {}", html(&t.complaint_authority, &[("authority", &authority)]))?;
    }
    writeln!(out, "</p>")
}

/// Who the controller is and how to reach its data protection officer.
fn write_controller(out: &mut impl Write, t: &PackageTexts, info: &PackageInfo) -> io::Result<()> {
    let controller = info.notice.controller.as_deref().unwrap_or(&info.organization);
    writeln!(
        out,
        "<h2 id=\"who\">{}</h2>\n<p>{}</p>",
        esc(&t.who_heading),
        html(&t.controller, &[("controller", &esc(controller))])
    )?;
    let contact = match &info.notice.dpo_contact {
        Some(contact) => html(&t.dpo, &[("contact", &esc(contact))]),
        None => html(&t.dpo_none, &[("portal", &format!("<a href=\"{0}\">{0}</a>", esc(&info.portal_url)))]),
    };
    writeln!(out, "<p>{contact}</p>")
}

/// The files of the package; CSV files only when there are some.
fn write_files(out: &mut impl Write, t: &PackageTexts, sections: &[Section<'_>]) -> io::Result<()> {
    writeln!(out, "<h2 id=\"files\">{}</h2>\n<ul>", esc(&t.files_heading))?;
    writeln!(out, "<li>{}</li>", esc(&t.file_index))?;
    writeln!(out, "<li>{}</li>", html(&t.file_json, &[("format", &format!("<code>{FORMAT}</code>"))]))?;
    if !sections.is_empty() {
        writeln!(out, "<li>{}\n<ul>", esc(&t.file_csv))?;
        for s in sections {
            writeln!(out, "<li><a href=\"#{}\"><code>{}</code></a>: {}</li>", s.id, esc(&s.csv), esc(&s.label))?;
        }
        writeln!(out, "</ul></li>")?;
    }
    writeln!(out, "</ul>")
}
