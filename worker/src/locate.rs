//! Locating one person's data across every store of an organization.
//!
//! The walk starts at the seeds of the reference graph (identity columns and identity-keyed
//! Redis patterns) and proceeds in *hops*. In each hop every `(table, column)` that has new
//! values to look up gets one batched query (`WHERE column IN (...)`, chunked), never one query
//! per row. Values found in new rows flow along the graph's edges into the next hop, across
//! stores too. A value is looked up in a given column only once, so cycles and
//! self-references terminate; rows are deduplicated by primary key. References marked
//! `direction: none` are not edges, so another person's rows are never pulled in.
//!
//! When only keys are wanted (erasure, previews), a hop's tables are looked up at the same
//! time, so a walk costs about one round trip per hop. Whole rows (access exports) are looked
//! up one table after another and handed to a sink as they stream in, so memory holds only a
//! 16-byte digest per located row plus the values still to be looked up. Manual and HTTP stores
//! are not walked: they get a task for an operator or the service.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use lethe_entities::StoreKind;
use lethe_entities::datamap::graph::{Graph, Node};
use lethe_entities::datamap::{DataMap, Matching};
use lethe_entities::domain::enums::IdentityKind;

pub use crate::stores::lookup::Mode;
use crate::stores::lookup::{Find, Found, Seen};
use crate::stores::schema::{Schema, check_map};
use crate::stores::{Connector, StoreError};

/// The person: normalised identities (personal data: never logged).
#[derive(Clone, Default)]
pub struct Subject {
    /// `(kind, normalised value)` pairs.
    pub identities: Vec<(IdentityKind, String)>,
}

impl std::fmt::Debug for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Subject({} identities)", self.identities.len())
    }
}

/// One located row, as handed to the sink.
#[derive(Debug)]
pub struct Located<'a> {
    /// The store.
    pub store: &'a str,
    /// The table or key pattern.
    pub table: &'a str,
    /// The primary key as text (composite keys joined with `,` in key order), or the Redis key.
    pub key: &'a str,
    /// The primary key's columns as text, in key order (one element, the key, for Redis).
    pub key_parts: &'a [Option<String>],
    /// The row's columns as text (in [`Mode::Rows`]); for Redis, the value under `value`.
    pub row: Option<&'a BTreeMap<String, serde_json::Value>>,
}

/// One store as locating sees it.
pub struct StoreInput {
    /// The store's name.
    pub name: String,
    /// Its kind.
    pub kind: StoreKind,
    /// Its saved data map (automated stores).
    pub map: Option<DataMap>,
    /// Its connector, or why there is none (automated stores).
    pub connector: Option<Result<Connector, StoreError>>,
}

/// The outcome for one store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Located: rows per table (every mapped table, zeros included).
    Located(BTreeMap<String, u64>),
    /// Could not be searched.
    Failed(StoreError),
    /// Manual or HTTP: needs an operator or the service.
    Waiting,
}

/// What a locate run found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Per store.
    pub stores: BTreeMap<String, Outcome>,
    /// Statements (and Redis round trips) issued, schema reads excluded.
    pub queries: usize,
    /// Hops walked.
    pub hops: usize,
}

struct Walk<'a> {
    graph: Graph,
    maps: HashMap<&'a str, &'a DataMap>,
    connectors: HashMap<&'a str, Connector>,
    schemas: HashMap<&'a str, Arc<Schema>>,
    seen: HashMap<Node, Seen>,
    queried: HashMap<(Node, String), HashSet<String>>,
    counts: BTreeMap<String, BTreeMap<String, u64>>,
    failed: BTreeMap<String, StoreError>,
    queries: usize,
}

/// Located primary keys: store -> table (or key pattern) -> rows (key columns as text, the key
/// itself for Redis).
pub type Keys = BTreeMap<String, BTreeMap<String, Vec<Vec<String>>>>;

/// Locates `subject` in `stores`, primary keys only ([`Mode::Keys`]), and returns them with the
/// report.
pub async fn locate_keys(stores: &[StoreInput], subject: &Subject) -> (Report, Keys) {
    let mut keys = Keys::new();
    let report = locate(stores, subject, Mode::Keys, &mut |found: Located<'_>| {
        let parts = found.key_parts.iter().map(|p| p.clone().unwrap_or_default()).collect();
        keys.entry(found.store.to_owned()).or_default().entry(found.table.to_owned()).or_default().push(parts);
    })
    .await;
    (report, keys)
}

/// Locates `subject` in `stores`, handing every row to `sink`.
pub async fn locate(
    stores: &[StoreInput],
    subject: &Subject,
    mode: Mode,
    sink: &mut (dyn FnMut(Located<'_>) + Send),
) -> Report {
    let mut report = Report::default();
    let mut walk = Walk::open(stores, &mut report).await;
    let mut pending = walk.seeds(subject);
    while !pending.is_empty() {
        report.hops += 1;
        pending = walk.hop(pending, mode, sink).await;
    }
    report.queries = walk.queries;
    for (store, counts) in walk.counts {
        if !walk.failed.contains_key(&store) {
            report.stores.insert(store, Outcome::Located(counts));
        }
    }
    for (store, error) in walk.failed {
        report.stores.insert(store, Outcome::Failed(error));
    }
    report
}

/// Lookups due in the next hop: per `(table, column)`, whether to ignore case and the values.
type Pending = BTreeMap<(Node, String), (bool, BTreeSet<String>)>;

/// One lookup of a hop: values not asked before in `column` of `node`.
struct Lookup {
    node: Node,
    column: String,
    ignore_case: bool,
    values: Vec<String>,
}

/// A row a lookup found in [`Mode::Keys`], kept until the hop's other lookups are back.
struct Row {
    key: String,
    key_parts: Vec<Option<String>>,
    sources: Vec<(String, Option<String>)>,
}

impl Row {
    fn of(found: &Found<'_>) -> Self {
        Row {
            key: found.key.to_owned(),
            key_parts: found.key_parts.to_vec(),
            sources: found.sources.iter().map(|(c, v)| ((*c).to_owned(), v.map(str::to_owned))).collect(),
        }
    }
}

impl<'a> Walk<'a> {
    /// Prepares the walk over `stores`: each automated store with a map and a connector is
    /// checked against its live schema; manual and HTTP stores are reported waiting, the others
    /// failed.
    async fn open(stores: &'a [StoreInput], report: &mut Report) -> Walk<'a> {
        let mut walk = Walk {
            graph: Graph::default(),
            maps: HashMap::new(),
            connectors: HashMap::new(),
            schemas: HashMap::new(),
            seen: HashMap::new(),
            queried: HashMap::new(),
            counts: BTreeMap::new(),
            failed: BTreeMap::new(),
            queries: 0,
        };
        for store in stores {
            if !store.kind.is_automated() {
                report.stores.insert(store.name.clone(), Outcome::Waiting);
                continue;
            }
            let Some(map) = &store.map else {
                walk.failed.insert(store.name.clone(), StoreError::NoDataMap);
                continue;
            };
            match &store.connector {
                Some(Ok(connector)) => {
                    if let Err(e) = walk.prepare(store, map, connector).await {
                        walk.failed.insert(store.name.clone(), e);
                        continue;
                    }
                    walk.connectors.insert(&store.name, connector.clone());
                    walk.maps.insert(&store.name, map);
                    let zeros = map.tables.iter().map(|t| &t.name).chain(map.keys.iter().map(|k| &k.pattern));
                    walk.counts.insert(store.name.clone(), zeros.map(|t| (t.clone(), 0)).collect());
                }
                Some(Err(e)) => {
                    walk.failed.insert(store.name.clone(), e.clone());
                }
                None => {
                    walk.failed.insert(store.name.clone(), StoreError::Config("no connection is configured".into()));
                }
            }
        }
        walk.graph = Graph::build(stores.iter().filter_map(|s| {
            let map = walk.maps.get(s.name.as_str())?;
            Some((s.name.as_str(), s.kind, *map))
        }));
        walk
    }

    /// The first hop's lookups: the subject's identities in the graph's seed columns.
    fn seeds(&self, subject: &Subject) -> Pending {
        let mut pending = Pending::new();
        for seed in &self.graph.seeds {
            let values: BTreeSet<String> =
                subject.identities.iter().filter(|(k, _)| *k == seed.kind).map(|(_, v)| v.clone()).collect();
            if !values.is_empty() {
                let entry = pending
                    .entry((seed.node.clone(), seed.column.clone()))
                    .or_insert_with(|| (seed.matching == Matching::CaseInsensitive, BTreeSet::new()));
                entry.1.extend(values);
            }
        }
        pending
    }

    /// One hop: every pending lookup with values not asked before; returns the next hop's
    /// lookups (values of new rows flowing along the graph's edges). A store that fails is
    /// left out of the rest of the walk. Keys are looked up in every table at once (see
    /// [`Walk::lookup_keys`]); whole rows one table after another, streamed to the sink.
    async fn hop(&mut self, pending: Pending, mode: Mode, sink: &mut (dyn FnMut(Located<'_>) + Send)) -> Pending {
        let lookups = self.fresh(pending);
        if mode == Mode::Keys {
            return self.lookup_keys(lookups, sink).await;
        }
        let mut next = Pending::new();
        for lookup in lookups {
            if self.failed.contains_key(&lookup.node.store) {
                continue;
            }
            match self.visit(&lookup, sink).await {
                Ok(outgoing) => self.follow(&lookup.node, &outgoing, &mut next),
                Err(e) => self.fail(&lookup.node, e),
            }
        }
        next
    }

    /// The hop's lookups, in a fixed order: per `(table, column)`, the values not asked before.
    fn fresh(&mut self, pending: Pending) -> Vec<Lookup> {
        let mut lookups = Vec::with_capacity(pending.len());
        for ((node, column), (ignore_case, values)) in pending {
            if self.failed.contains_key(&node.store) {
                continue;
            }
            let asked = self.queried.entry((node.clone(), column.clone())).or_default();
            let values: Vec<String> = values
                .into_iter()
                .map(|v| if ignore_case { v.to_lowercase() } else { v })
                .filter(|v| asked.insert(v.clone()))
                .collect();
            if !values.is_empty() {
                lookups.push(Lookup { node, column, ignore_case, values });
            }
        }
        lookups
    }

    /// Adds the values of a table's new rows to the next hop's lookups along the graph's edges.
    fn follow(&self, node: &Node, outgoing: &BTreeMap<String, Vec<String>>, next: &mut Pending) {
        for edge in self.graph.edges_from(node) {
            if let Some(values) = outgoing.get(&edge.source.1).filter(|v| !v.is_empty()) {
                next.entry(edge.lookup.clone())
                    .or_insert_with(|| (false, BTreeSet::new()))
                    .1
                    .extend(values.iter().cloned());
            }
        }
    }

    /// Leaves a store that failed out of the rest of the walk.
    fn fail(&mut self, node: &Node, e: StoreError) {
        tracing::warn!(store = %node.store, table = %node.table, code = e.code(), "locating in a store failed");
        self.failed.insert(node.store.clone(), e);
    }

    /// A hop in [`Mode::Keys`]: every table's lookups run at the same time (one table's one
    /// after another, as they share its seen rows), each on its own connection from its store's
    /// pool, so a hop costs about one round trip instead of one per table. The keys found are
    /// kept until all are back, then handed on in the hop's order, exactly as one after the
    /// other would: a store that failed is left out from its failing lookup on.
    async fn lookup_keys(&mut self, lookups: Vec<Lookup>, sink: &mut (dyn FnMut(Located<'_>) + Send)) -> Pending {
        let mut by_node: BTreeMap<Node, Vec<Lookup>> = BTreeMap::new();
        for lookup in lookups {
            by_node.entry(lookup.node.clone()).or_default().push(lookup);
        }
        let mut runs = Vec::with_capacity(by_node.len());
        for (node, lookups) in by_node {
            let (Some(connector), Some(map)) =
                (self.connectors.get(node.store.as_str()).cloned(), self.maps.get(node.store.as_str()).copied())
            else {
                continue;
            };
            let schema = self.schemas.get(node.store.as_str()).cloned();
            let sources: Vec<String> = self.graph.source_columns(&node).into_iter().collect();
            let mut seen = self.seen.remove(&node).unwrap_or_default();
            runs.push(async move {
                let mut results = Vec::with_capacity(lookups.len());
                for lookup in lookups {
                    let mut rows = Vec::new();
                    let find = Find {
                        table: &node.table,
                        column: &lookup.column,
                        ignore_case: lookup.ignore_case,
                        values: &lookup.values,
                        sources: &sources,
                        mode: Mode::Keys,
                        map,
                        schema: schema.as_deref(),
                    };
                    let result =
                        connector.lookup(find, &mut seen, &mut |found: Found<'_>| rows.push(Row::of(&found))).await;
                    let failed = result.is_err();
                    results.push(result.map(|queries| (queries, rows)));
                    if failed {
                        break;
                    }
                }
                (node, seen, results)
            });
        }
        let mut next = Pending::new();
        for (node, seen, results) in futures::future::join_all(runs).await {
            self.seen.insert(node.clone(), seen);
            for result in results {
                if self.failed.contains_key(&node.store) {
                    break;
                }
                match result {
                    Ok((queries, rows)) => {
                        self.queries += queries;
                        let outgoing = self.hand_on(&node, &rows, sink);
                        self.follow(&node, &outgoing, &mut next);
                    }
                    Err(e) => self.fail(&node, e),
                }
            }
        }
        next
    }

    /// Counts a lookup's rows, hands them to the sink and returns, per outgoing source column,
    /// their values.
    fn hand_on(
        &mut self,
        node: &Node,
        rows: &[Row],
        sink: &mut (dyn FnMut(Located<'_>) + Send),
    ) -> BTreeMap<String, Vec<String>> {
        *self.counts.entry(node.store.clone()).or_default().entry(node.table.clone()).or_default() += rows.len() as u64;
        let mut outgoing: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in rows {
            for (source, value) in &row.sources {
                if let Some(value) = value {
                    outgoing.entry(source.clone()).or_default().push(value.clone());
                }
            }
            sink(Located {
                store: &node.store,
                table: &node.table,
                key: &row.key,
                key_parts: &row.key_parts,
                row: None,
            });
        }
        outgoing
    }

    /// Reads the store's schema (SQL stores) and checks its map against it.
    async fn prepare(&mut self, store: &'a StoreInput, map: &DataMap, connector: &Connector) -> Result<(), StoreError> {
        let Some(schema) = connector.schema().await? else { return Ok(()) };
        let errors = check_map(map, &schema);
        if let Some(first) = errors.first() {
            return Err(StoreError::Schema(format!(
                "the data map does not match the live schema ({} problem(s)); first: {}: {}",
                errors.len(),
                first.path,
                first.message
            )));
        }
        self.schemas.insert(&store.name, schema);
        Ok(())
    }

    /// Runs one lookup in [`Mode::Rows`], streaming each new row to the sink; returns, per
    /// outgoing source column, the values of newly located rows.
    async fn visit(
        &mut self,
        lookup: &Lookup,
        sink: &mut (dyn FnMut(Located<'_>) + Send),
    ) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
        let Lookup { node, column, ignore_case, values } = lookup;
        let connector = self.connectors.get(node.store.as_str()).cloned();
        let map = self.maps.get(node.store.as_str()).copied();
        let (Some(connector), Some(map)) = (connector, map) else { return Ok(BTreeMap::new()) };
        let seen = self.seen.entry(node.clone()).or_default();
        let count = self.counts.entry(node.store.clone()).or_default().entry(node.table.clone()).or_default();
        let sources: Vec<String> = self.graph.source_columns(node).into_iter().collect();
        let find = Find {
            table: &node.table,
            column,
            ignore_case: *ignore_case,
            values,
            sources: &sources,
            mode: Mode::Rows,
            map,
            schema: self.schemas.get(node.store.as_str()).map(|s| s.as_ref()),
        };
        let mut outgoing: BTreeMap<String, Vec<String>> = BTreeMap::new();
        self.queries += connector
            .lookup(find, seen, &mut |found: Found<'_>| {
                *count += 1;
                for (source, value) in found.sources {
                    if let Some(value) = value {
                        outgoing.entry((*source).to_owned()).or_default().push((*value).to_owned());
                    }
                }
                sink(Located {
                    store: &node.store,
                    table: &node.table,
                    key: found.key,
                    key_parts: found.key_parts,
                    row: found.row,
                });
            })
            .await?;
        Ok(outgoing)
    }
}
