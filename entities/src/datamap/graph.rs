//! The organization-wide reference graph that locating walks.
//!
//! Nodes are mapped tables (and Redis key patterns) of every store. Locating starts at the
//! *seeds* (identity columns, and key patterns keyed by an identity) and follows *edges*: an
//! edge says "the values of `source` column, in rows already found, are looked up in `lookup`
//! column". References become edges in the direction the data map allows (`from`: target →
//! this table; `to`: this table → target; `none`: no edge), so a customer's orders are followed
//! but the support representative the customer points at is not.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::model::{DataMap, Direction, KeySource, Matching};
use crate::domain::enums::{IdentityKind, StoreKind};

/// A mapped table or key pattern: `(store, table)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Node {
    /// The store's name.
    pub store: String,
    /// The table's name (or the Redis key pattern).
    pub table: String,
}

impl Node {
    /// A node.
    pub fn new(store: &str, table: &str) -> Self {
        Self { store: store.to_owned(), table: table.to_owned() }
    }
}

/// Where locating starts: rows of `node` whose `column` holds one of the subject's identities
/// of `kind`. For a key pattern, `column` is empty: the identity fills the placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    /// The table or key pattern.
    pub node: Node,
    /// The identity column (empty for key patterns).
    pub column: String,
    /// The identity kind.
    pub kind: IdentityKind,
    /// How values are compared.
    pub matching: Matching,
}

/// Values of `source.1` in found rows of `source.0` are looked up in `lookup.1` of `lookup.0`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    /// Where the values come from: node and column.
    pub source: (Node, String),
    /// Where they are looked up: node and column (empty for a key pattern's placeholder).
    pub lookup: (Node, String),
}

/// The graph of one organization's saved data maps.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// Starting points.
    pub seeds: Vec<Seed>,
    /// Edges, in a stable order.
    pub edges: Vec<Edge>,
    /// Every node, with its store's kind.
    pub nodes: BTreeMap<Node, StoreKind>,
}

impl Graph {
    /// Builds the graph from every store's name, kind and saved map. References to stores or
    /// tables that are not mapped are skipped (validation reports them when a map is saved).
    pub fn build<'a>(stores: impl IntoIterator<Item = (&'a str, StoreKind, &'a DataMap)>) -> Self {
        let stores: Vec<_> = stores.into_iter().collect();
        let mut graph = Graph::default();
        for (store, kind, map) in &stores {
            for table in &map.tables {
                graph.nodes.insert(Node::new(store, &table.name), *kind);
            }
            for key in &map.keys {
                graph.nodes.insert(Node::new(store, &key.pattern), *kind);
            }
        }
        for (store, _, map) in &stores {
            for table in &map.tables {
                let here = Node::new(store, &table.name);
                for column in &table.columns {
                    if let Some(kind) = column.identity {
                        graph.seeds.push(Seed {
                            node: here.clone(),
                            column: column.name.clone(),
                            kind,
                            matching: column.effective_matching(),
                        });
                    }
                }
                for reference in &table.references {
                    let target = Node::new(reference.target.store.as_deref().unwrap_or(store), &reference.target.table);
                    if !graph.nodes.contains_key(&target) {
                        continue;
                    }
                    let this = (here.clone(), reference.column.clone());
                    let that = (target, reference.target.column.clone());
                    match reference.direction {
                        Direction::From => graph.edges.push(Edge { source: that, lookup: this }),
                        Direction::To => graph.edges.push(Edge { source: this, lookup: that }),
                        Direction::None => {}
                    }
                }
            }
            for key in &map.keys {
                let here = Node::new(store, &key.pattern);
                match &key.source {
                    KeySource::Identity(kind) => graph.seeds.push(Seed {
                        node: here,
                        column: String::new(),
                        kind: *kind,
                        matching: Matching::Exact,
                    }),
                    KeySource::Column(source) => {
                        let source_node = Node::new(source.store.as_deref().unwrap_or(store), &source.table);
                        if graph.nodes.contains_key(&source_node) {
                            graph.edges.push(Edge {
                                source: (source_node, source.column.clone()),
                                lookup: (here, String::new()),
                            });
                        }
                    }
                }
            }
        }
        graph.edges.sort();
        graph.edges.dedup();
        graph
    }

    /// Edges leaving `node`.
    pub fn edges_from<'g>(&'g self, node: &'g Node) -> impl Iterator<Item = &'g Edge> + 'g {
        self.edges.iter().filter(move |e| &e.source.0 == node)
    }

    /// The columns of `node` whose values outgoing edges need.
    pub fn source_columns(&self, node: &Node) -> BTreeSet<String> {
        self.edges_from(node).map(|e| e.source.1.clone()).collect()
    }

    /// Nodes no seed can reach: their rows are never located (worth a warning when a map is
    /// saved).
    pub fn unreachable(&self) -> Vec<Node> {
        let mut reached: BTreeSet<&Node> = self.seeds.iter().map(|s| &s.node).collect();
        let mut queue: VecDeque<&Node> = reached.iter().copied().collect();
        while let Some(node) = queue.pop_front() {
            for edge in self.edges_from(node) {
                if reached.insert(&edge.lookup.0) {
                    queue.push_back(&edge.lookup.0);
                }
            }
        }
        self.nodes.keys().filter(|n| !reached.contains(n)).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datamap::parse::from_yaml;

    fn shop() -> DataMap {
        from_yaml(
            r#"
version: 1
tables:
  - name: customers
    primary_key: [id]
    columns: [{ name: email, identity: email }]
    references:
      - { column: support_rep_id, target: { table: employees, column: id }, direction: none }
      - { column: last_order_id, target: { table: orders, column: id }, direction: to }
  - name: orders
    primary_key: [id]
    references: [{ column: customer_id, target: { table: customers, column: id }, direction: from }]
  - name: employees
    primary_key: [id]
    references: [{ column: manager_id, target: { table: employees, column: id }, direction: none }]
"#,
        )
        .unwrap()
        .0
    }

    fn cache() -> DataMap {
        from_yaml(
            r#"
version: 1
keys:
  - { pattern: "session:{id}", source: { column: { store: shop, table: customers, column: id } } }
  - { pattern: "cart:{email}", source: { identity: email } }
"#,
        )
        .unwrap()
        .0
    }

    #[test]
    fn references_become_edges_in_their_direction_only() {
        let (shop, cache) = (shop(), cache());
        let graph = Graph::build([("shop", StoreKind::Postgres, &shop), ("cache", StoreKind::Redis, &cache)]);
        let edges: Vec<String> = graph
            .edges
            .iter()
            .map(|e| {
                format!(
                    "{}.{}.{} -> {}.{}.{}",
                    e.source.0.store, e.source.0.table, e.source.1, e.lookup.0.store, e.lookup.0.table, e.lookup.1
                )
            })
            .collect();
        assert_eq!(
            edges,
            [
                "shop.customers.id -> cache.session:{id}.",
                "shop.customers.id -> shop.orders.customer_id",
                "shop.customers.last_order_id -> shop.orders.id",
            ]
        );
        assert_eq!(graph.seeds.len(), 2);
        assert_eq!(graph.unreachable(), vec![Node::new("shop", "employees")]);
        let columns: Vec<String> = graph.source_columns(&Node::new("shop", "customers")).into_iter().collect();
        assert_eq!(columns, ["id", "last_order_id"]);
    }

    #[test]
    fn references_to_unmapped_stores_are_skipped() {
        let cache = cache();
        let graph = Graph::build([("cache", StoreKind::Redis, &cache)]);
        assert!(graph.edges.is_empty());
        assert_eq!(graph.unreachable(), vec![Node::new("cache", "session:{id}")]);
    }
}
