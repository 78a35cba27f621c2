//! Dependency graphs over addresses: topological order and cycle reporting.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::EngineError;

/// A directed graph: `deps[n]` are the nodes `n` depends on.
#[derive(Debug, Default, Clone)]
pub struct Graph {
    nodes: Vec<String>,
    index: BTreeMap<String, usize>,
    deps: Vec<Vec<usize>>,
}

impl Graph {
    /// Builds a graph from `(node, dependencies)`; dependencies on nodes not listed are ignored.
    pub fn new<'a>(entries: impl IntoIterator<Item = (&'a str, Vec<&'a str>)>) -> Self {
        let entries: Vec<(&str, Vec<&str>)> = entries.into_iter().collect();
        let mut g = Graph::default();
        for (n, _) in &entries {
            g.index.insert(n.to_string(), g.nodes.len());
            g.nodes.push(n.to_string());
        }
        g.deps = entries
            .iter()
            .map(|(_, ds)| {
                let mut v: Vec<usize> =
                    ds.iter().filter_map(|d| g.index.get(*d).copied()).collect();
                v.sort_unstable();
                v.dedup();
                v
            })
            .collect();
        g
    }

    /// Nodes in an order where every node comes after its dependencies; ties broken by name
    /// so the order is deterministic. Fails naming one cycle.
    pub fn topological(&self) -> Result<Vec<String>, EngineError> {
        let n = self.nodes.len();
        let mut indegree = vec![0usize; n];
        let mut dependents = vec![vec![]; n];
        for (i, ds) in self.deps.iter().enumerate() {
            indegree[i] = ds.len();
            for &d in ds {
                dependents[d].push(i);
            }
        }
        let mut ready: BTreeSet<(&str, usize)> = (0..n)
            .filter(|&i| indegree[i] == 0)
            .map(|i| (self.nodes[i].as_str(), i))
            .collect();
        let mut out = Vec::with_capacity(n);
        while let Some(first) = ready.pop_first() {
            let i = first.1;
            out.push(self.nodes[i].clone());
            for &j in &dependents[i] {
                indegree[j] -= 1;
                if indegree[j] == 0 {
                    ready.insert((self.nodes[j].as_str(), j));
                }
            }
        }
        if out.len() == n {
            return Ok(out);
        }
        Err(EngineError::Cycle {
            cycle: self.find_cycle(&indegree),
        })
    }

    fn find_cycle(&self, indegree: &[usize]) -> Vec<String> {
        // Every node left with a positive in-degree lies on or behind a cycle: walk
        // dependencies among them until a node repeats.
        let start = (0..self.nodes.len())
            .filter(|&i| indegree[i] > 0)
            .min_by_key(|&i| &self.nodes[i])
            .unwrap_or(0);
        let mut seen = BTreeMap::new();
        let mut path = vec![];
        let mut cur = start;
        loop {
            if let Some(&pos) = seen.get(&cur) {
                let mut cycle: Vec<String> = path[pos..]
                    .iter()
                    .map(|&i: &usize| self.nodes[i].clone())
                    .collect();
                cycle.push(self.nodes[cur].clone());
                return cycle;
            }
            seen.insert(cur, path.len());
            path.push(cur);
            cur = match self.deps[cur].iter().find(|&&d| indegree[d] > 0) {
                Some(&d) => d,
                None => return vec![self.nodes[cur].clone()],
            };
        }
    }

    /// Every node reachable from `roots` by following dependencies (roots included).
    pub fn closure(&self, roots: &[&str]) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut queue: VecDeque<usize> = roots
            .iter()
            .filter_map(|r| self.index.get(*r).copied())
            .collect();
        while let Some(i) = queue.pop_front() {
            if seen.insert(i) {
                queue.extend(self.deps[i].iter().copied());
            }
        }
        seen.into_iter().map(|i| self.nodes[i].clone()).collect()
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
