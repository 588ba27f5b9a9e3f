//! Medians and 90th percentiles computed in SQL: each group's values (and, when asked, all of
//! them) ranked with window functions, and only the ranks needed read back (two for the median
//! of an even count, one for the 90th percentile by the nearest-rank method). Works alike on
//! SQLite and PostgreSQL.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DbErr, Value};

use super::sql;

/// The median and the 90th percentile of one group's values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Spread {
    /// How many values.
    pub count: i64,
    /// The middle value (the mean of the two middle ones for an even count).
    pub median: f64,
    /// The smallest value at least 90% of the values are at or below (nearest rank).
    pub p90: f64,
}

/// What to rank: `value` over the rows of `from` (a `FROM ... WHERE ...` clause with `$n`
/// parameters `values`), per `group` (an expression).
pub(super) struct Ranking<'a> {
    pub from: &'a str,
    pub values: Vec<Value>,
    pub group: &'a str,
    pub value: &'a str,
}

/// Each group's spread, keyed by the group's value as text, and, with `overall`, the spread of
/// all rows together, from one read of the rows (the value is computed once per row).
pub(super) async fn spreads(
    db: &impl ConnectionTrait,
    ranking: Ranking<'_>,
    overall: bool,
) -> Result<(BTreeMap<String, Spread>, Option<Spread>), DbErr> {
    let (group, value) = (ranking.group, ranking.value);
    let ranks = |rn: &str, n: &str| format!("{rn} = ({n} + 1) / 2 OR {rn} = {n} / 2 + 1 OR {rn} = (9 * {n} + 9) / 10");
    let (total_columns, total_where) = if overall {
        (", ROW_NUMBER() OVER (ORDER BY v) AS trn, COUNT(*) OVER () AS tn", format!(" OR {}", ranks("trn", "tn")))
    } else {
        (", CAST(0 AS BIGINT) AS trn, CAST(0 AS BIGINT) AS tn", String::new())
    };
    let sql = format!(
        "SELECT g, rn, n, trn, tn, v FROM (
           SELECT g, v,
             ROW_NUMBER() OVER (PARTITION BY g ORDER BY v) AS rn,
             COUNT(*) OVER (PARTITION BY g) AS n{total_columns}
           FROM (SELECT CAST({group} AS TEXT) AS g, {value} AS v {from}) base) ranked
         WHERE {}{total_where}",
        ranks("rn", "n"),
        from = ranking.from,
    );
    let backend = db.get_database_backend();
    let rows = db.query_all_raw(sql::statement(backend, &sql, ranking.values)).await?;
    let mut ranked: BTreeMap<String, Vec<(i64, i64, f64)>> = BTreeMap::new();
    let mut total: Vec<(i64, i64, f64)> = Vec::new();
    for row in rows {
        let v: f64 = row.try_get("", "v")?;
        let (rn, n): (i64, i64) = (row.try_get("", "rn")?, row.try_get("", "n")?);
        if rn == (n + 1) / 2 || rn == n / 2 + 1 || rn == (9 * n + 9) / 10 {
            ranked.entry(row.try_get("", "g")?).or_default().push((rn, n, v));
        }
        let (trn, tn): (i64, i64) = (row.try_get("", "trn")?, row.try_get("", "tn")?);
        if overall {
            total.push((trn, tn, v));
        }
    }
    let groups = ranked.into_iter().map(|(g, rows)| (g, spread(&rows))).collect();
    Ok((groups, (overall && !total.is_empty()).then(|| spread(&total))))
}

/// The spread from the ranked rows read back: `(rank, count, value)`.
fn spread(rows: &[(i64, i64, f64)]) -> Spread {
    let count = rows.first().map_or(0, |r| r.1);
    let at = |rank: i64| rows.iter().find(|r| r.0 == rank).map_or(0.0, |r| r.2);
    Spread { count, median: (at((count + 1) / 2) + at(count / 2 + 1)) / 2.0, p90: at((9 * count + 9) / 10) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows the query reads back for `values` (sorted).
    fn ranked(values: &[f64]) -> Vec<(i64, i64, f64)> {
        let n = values.len() as i64;
        (1..=n)
            .filter(|rn| *rn == (n + 1) / 2 || *rn == n / 2 + 1 || *rn == (9 * n + 9) / 10)
            .map(|rn| (rn, n, values[(rn - 1) as usize]))
            .collect()
    }

    #[test]
    fn the_median_of_an_odd_count_is_the_middle_value() {
        let s = spread(&ranked(&[1.0, 2.0, 9.0]));
        assert_eq!((s.count, s.median, s.p90), (3, 2.0, 9.0));
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let s = spread(&ranked(&[1.0, 2.0, 4.0, 10.0]));
        assert_eq!((s.median, s.p90), (3.0, 10.0));
    }

    #[test]
    fn the_90th_percentile_is_the_nearest_rank() {
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(spread(&ranked(&values)).p90, 18.0, "rank ceil(0.9 * 20) = 18");
        let values: Vec<f64> = (1..=11).map(f64::from).collect();
        assert_eq!(spread(&ranked(&values)).p90, 10.0, "rank ceil(9.9) = 10");
        assert_eq!(spread(&ranked(&[7.0])).p90, 7.0);
    }
}
