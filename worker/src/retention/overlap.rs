//! When several policies cover the same rows of one table, which one governs them: a
//! narrower policy (its filter has every condition of the other's and more) beats a broader
//! one, whatever their ages; between policies neither narrower than the other, the longest
//! retention wins. A run of a policy leaves alone the rows that another policy governs (rows
//! matching that policy's filter). Legal holds beat every policy (see [`super::holds`]).

use lethe_entities::datamap::validate::subtract_duration;
use lethe_entities::entity::retention_policy::Model as Policy;
use lethe_entities::retention::Filter;
use time::OffsetDateTime;

/// The filters of the other policies of `others` that govern some rows `policy` covers: the
/// run of `policy` leaves rows matching any of them alone. An empty filter stands for every
/// row.
pub fn yielded(policy: &Policy, others: &[Policy], now: OffsetDateTime) -> Vec<Vec<Filter>> {
    let mine = policy.filters();
    let my_cutoff = subtract_duration(now, &policy.max_age);
    let contains = |a: &[Filter], b: &[Filter]| b.iter().all(|f| a.contains(f));
    others
        .iter()
        .filter(|p| p.id != policy.id && p.store_id == policy.store_id && p.target == policy.target)
        .filter_map(|p| {
            let theirs = p.filters();
            let narrower = contains(&theirs, &mine) && !contains(&mine, &theirs);
            let broader = contains(&mine, &theirs) && !contains(&theirs, &mine);
            let longer = matches!((subtract_duration(now, &p.max_age), my_cutoff), (Some(t), Some(m)) if t < m);
            (narrower || (!broader && longer)).then_some(theirs)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lethe_entities::retention::FilterOp;
    use time::macros::datetime;
    use uuid::Uuid;

    fn policy(max_age: &str, filters: &[(&str, &str)]) -> Policy {
        let now = datetime!(2026-06-01 00:00 UTC);
        let filter: Vec<Filter> = filters
            .iter()
            .map(|(c, v)| Filter { column: (*c).into(), op: FilterOp::Eq, value: Some((*v).into()) })
            .collect();
        Policy {
            id: Uuid::now_v7(),
            organization_id: Uuid::nil(),
            name: "p".into(),
            store_id: Uuid::nil(),
            target: "logs".into(),
            age_column: Some("at".into()),
            max_age: max_age.into(),
            filter: serde_json::to_value(filter).unwrap(),
            action: serde_json::json!({"type": "delete_row"}),
            schedule: None,
            time_zone: "UTC".into(),
            batch_size: 10,
            throttle_rows_per_sec: None,
            legal_basis: "x".into(),
            enabled: true,
            builtin: None,
            next_run_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn narrower_beats_broader_and_the_longest_retention_wins() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let all_14 = policy("P14D", &[]);
        let disputed_90 = policy("P90D", &[("status", "disputed")]);
        let disputed_7 = policy("P7D", &[("status", "disputed")]);
        let all_30 = policy("P30D", &[]);
        let others = [all_14.clone(), disputed_90.clone(), disputed_7.clone(), all_30.clone()];
        let filter = |p: &Policy| p.filters();
        // The broad 14-day policy yields to both narrower ones (whatever their age) and to the
        // equally broad, longer 30-day one.
        assert_eq!(yielded(&all_14, &others, now), [filter(&disputed_90), filter(&disputed_7), filter(&all_30)]);
        // The narrow 7-day one yields to the equally narrow, longer 90-day one, not to the broad.
        assert_eq!(yielded(&disputed_7, &others, now), [filter(&disputed_90)]);
        assert!(yielded(&disputed_90, &others, now).is_empty());
        // The broad 30-day policy yields to the narrower ones only.
        assert_eq!(yielded(&all_30, &others, now), [filter(&disputed_90), filter(&disputed_7)]);
        // Another table or store is another matter.
        let mut elsewhere = disputed_90.clone();
        elsewhere.target = "other".into();
        assert!(yielded(&all_14, &[elsewhere], now).is_empty());
    }
}
