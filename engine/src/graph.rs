//! Dependency graphs over addresses: topological order and cycle reporting, on `petgraph`.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::Dfs;

use crate::EngineError;

/// A directed graph over addresses; an edge `n -> d` says `n` depends on `d`.
///
/// Nodes are added in name order, so a node's index orders like its name: the ready set of
/// the topological sort is a heap of indices rather than of strings.
#[derive(Debug, Default, Clone)]
pub struct Graph {
    graph: DiGraph<String, ()>,
    index: BTreeMap<String, NodeIndex>,
}

impl Graph {
    /// Builds a graph from `(node, dependencies)`; dependencies on nodes not listed are ignored.
    pub fn new<'a>(entries: impl IntoIterator<Item = (&'a str, Vec<&'a str>)>) -> Self {
        let entries: BTreeMap<&str, Vec<&str>> = entries.into_iter().collect();
        let mut graph = DiGraph::with_capacity(entries.len(), 0);
        let index: BTreeMap<String, NodeIndex> = entries
            .keys()
            .map(|n| (n.to_string(), graph.add_node(n.to_string())))
            .collect();
        for (n, ds) in &entries {
            let from = index[*n];
            let mut targets: Vec<NodeIndex> =
                ds.iter().filter_map(|d| index.get(*d).copied()).collect();
            targets.sort_unstable();
            targets.dedup();
            for to in targets {
                graph.add_edge(from, to, ());
            }
        }
        Graph { graph, index }
    }

    /// Nodes in an order where every node comes after its dependencies; ties broken by name
    /// so the order is deterministic. Fails naming one cycle.
    pub fn topological(&self) -> Result<Vec<String>, EngineError> {
        // Kahn's algorithm rather than `petgraph::algo::toposort`: that one is depth-first and
        // does not break ties by name, and plans must list resources in a stable order.
        let g = &self.graph;
        let mut pending: Vec<usize> = g
            .node_indices()
            .map(|i| g.neighbors_directed(i, Direction::Outgoing).count())
            .collect();
        let mut ready: BinaryHeap<Reverse<NodeIndex>> = g
            .node_indices()
            .filter(|i| pending[i.index()] == 0)
            .map(Reverse)
            .collect();
        let mut out = Vec::with_capacity(g.node_count());
        while let Some(Reverse(i)) = ready.pop() {
            out.push(g[i].clone());
            for j in g.neighbors_directed(i, Direction::Incoming) {
                pending[j.index()] -= 1;
                if pending[j.index()] == 0 {
                    ready.push(Reverse(j));
                }
            }
        }
        if out.len() == g.node_count() {
            return Ok(out);
        }
        Err(EngineError::Cycle {
            cycle: self.find_cycle(),
        })
    }

    /// One cycle, inside the strongly connected component holding the first (by name) node
    /// that lies on any cycle: from that node, follow the first dependency that stays in the
    /// component until a node repeats.
    fn find_cycle(&self) -> Vec<String> {
        let g = &self.graph;
        let cyclic = petgraph::algo::tarjan_scc(g)
            .into_iter()
            .filter(|scc| scc.len() > 1 || g.contains_edge(scc[0], scc[0]))
            .filter_map(|scc| {
                let first = *scc.iter().min()?;
                Some((first, scc.into_iter().collect::<BTreeSet<NodeIndex>>()))
            })
            .min_by_key(|(first, _)| *first);
        let Some((start, component)) = cyclic else {
            return vec![];
        };
        let mut seen = BTreeMap::new();
        let mut path = vec![];
        let mut cur = start;
        while !seen.contains_key(&cur) {
            seen.insert(cur, path.len());
            path.push(cur);
            // A strongly connected component of two or more nodes (or a self-loop) always
            // has an edge that stays inside it.
            cur = g
                .neighbors_directed(cur, Direction::Outgoing)
                .filter(|d| component.contains(d))
                .min()
                .unwrap_or(cur);
        }
        let mut cycle: Vec<String> = path[seen[&cur]..].iter().map(|&i| g[i].clone()).collect();
        cycle.push(g[cur].clone());
        cycle
    }

    /// Every node reachable from `roots` by following dependencies (roots included).
    pub fn closure(&self, roots: &[&str]) -> BTreeSet<String> {
        // One search for all roots: its visited set is kept across `move_to`, so each node is
        // walked once however many roots reach it.
        let mut seen = BTreeSet::new();
        let mut dfs = Dfs::empty(&self.graph);
        for root in roots.iter().filter_map(|r| self.index.get(*r)) {
            dfs.move_to(*root);
            while let Some(i) = dfs.next(&self.graph) {
                seen.insert(i);
            }
        }
        seen.into_iter().map(|i| self.graph[i].clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_dependencies_first_deterministically() {
        let g = Graph::new([("c", vec!["a"]), ("b", vec![]), ("a", vec![])]);
        assert_eq!(g.topological().unwrap(), vec!["a", "b", "c"]);
    }

    #[test]
    fn names_the_cycle() {
        let g = Graph::new([
            ("a", vec!["b"]),
            ("b", vec!["c"]),
            ("c", vec!["a"]),
            ("d", vec![]),
        ]);
        match g.topological() {
            Err(EngineError::Cycle { cycle }) => assert_eq!(cycle, vec!["a", "b", "c", "a"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_a_cycle_behind_which_other_nodes_wait() {
        // `a` waits on the cycle but is not on it: the cycle named is `b -> c -> b`.
        let g = Graph::new([("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["b"])]);
        match g.topological() {
            Err(EngineError::Cycle { cycle }) => assert_eq!(cycle, vec!["b", "c", "b"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_resource_depending_on_itself_is_a_cycle() {
        let g = Graph::new([("a", vec!["a"]), ("b", vec![])]);
        match g.topological() {
            Err(EngineError::Cycle { cycle }) => assert_eq!(cycle, vec!["a", "a"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn closure_follows_dependencies() {
        let g = Graph::new([
            ("a", vec![]),
            ("b", vec!["a"]),
            ("c", vec!["b"]),
            ("d", vec![]),
        ]);
        let c: Vec<_> = g.closure(&["c"]).into_iter().collect();
        assert_eq!(c, vec!["a", "b", "c"]);
    }
}
