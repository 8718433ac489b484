//! A junction tree of a set of margins: the margins' attribute sets are cliques of a graph on
//! the table's dimensions; the graph is triangulated by greedy elimination (smallest clique
//! table first), its maximal cliques are joined by a maximum-weight spanning tree (which has
//! the running-intersection property), and every margin is assigned to a clique holding it.

/// A clique: table dimensions in ascending order, its tables row-major over them.
#[derive(Debug, Clone)]
pub(crate) struct Clique {
    /// Table dimensions, ascending.
    pub dims: Vec<usize>,
    /// Categories per dimension.
    pub sizes: Vec<usize>,
    /// Cells of the clique's table.
    pub len: usize,
}

/// An edge of the tree and its separator (the dimensions the two cliques share, ascending).
#[derive(Debug, Clone)]
pub(crate) struct Edge {
    /// The two cliques.
    pub ends: [usize; 2],
    /// Shared dimensions, ascending.
    pub dims: Vec<usize>,
}

/// The cliques, the tree's edges and each margin's clique.
#[derive(Debug, Clone)]
pub(crate) struct JunctionTree {
    pub cliques: Vec<Clique>,
    pub edges: Vec<Edge>,
    /// Per margin: the clique that holds its dimensions.
    pub home: Vec<usize>,
}

impl JunctionTree {
    /// The tree of margins over `margin_dims` on a table of `sizes`. Dimensions in no margin
    /// get cliques of their own.
    pub fn new(sizes: &[usize], margin_dims: &[Vec<usize>]) -> JunctionTree {
        let n = sizes.len();
        let mut adjacent = vec![vec![false; n]; n];
        for dims in margin_dims {
            for &a in dims {
                for &b in dims {
                    adjacent[a][b] = a != b;
                }
            }
        }
        let cliques = eliminate(sizes, adjacent);
        let edges = spanning_tree(&cliques);
        let home = margin_dims
            .iter()
            .map(|dims| {
                cliques.iter().position(|c| dims.iter().all(|d| c.dims.contains(d))).expect("a margin lies in a clique")
            })
            .collect();
        JunctionTree { cliques, edges, home }
    }

    /// Cells of all clique tables together (saturating).
    pub fn cells(&self) -> usize {
        self.cliques.iter().fold(0usize, |acc, c| acc.saturating_add(c.len))
    }

    /// Per clique: its edges as (edge index, the clique at the other end).
    pub fn neighbours(&self) -> Vec<Vec<(usize, usize)>> {
        let mut out = vec![Vec::new(); self.cliques.len()];
        for (e, edge) in self.edges.iter().enumerate() {
            let [a, b] = edge.ends;
            out[a].push((e, b));
            out[b].push((e, a));
        }
        out
    }
}

/// Greedy elimination: repeatedly removes the vertex whose clique (itself and its remaining
/// neighbours) has the fewest cells, ties to the fewest fill edges, then the lowest index.
/// Returns the maximal cliques in the order found.
fn eliminate(sizes: &[usize], mut adjacent: Vec<Vec<bool>>) -> Vec<Clique> {
    let n = sizes.len();
    let mut alive = vec![true; n];
    let mut cliques: Vec<Clique> = Vec::new();
    for _ in 0..n {
        let cost = |v: usize| {
            let nb: Vec<usize> = (0..n).filter(|&u| alive[u] && adjacent[v][u]).collect();
            let cells = nb.iter().fold(sizes[v] as f64, |acc, &u| acc * sizes[u] as f64);
            let fill = nb.iter().enumerate().flat_map(|(i, &a)| nb[i + 1..].iter().map(move |&b| (a, b)));
            let fill = fill.filter(|&(a, b)| !adjacent[a][b]).count();
            (cells, fill)
        };
        let v = (0..n)
            .filter(|&v| alive[v])
            .min_by(|&a, &b| cost(a).partial_cmp(&cost(b)).expect("finite costs").then(a.cmp(&b)))
            .expect("a vertex is left");
        let mut dims: Vec<usize> = (0..n).filter(|&u| u == v || (alive[u] && adjacent[v][u])).collect();
        dims.sort_unstable();
        for &a in &dims {
            for &b in &dims {
                if a != b {
                    adjacent[a][b] = true;
                }
            }
        }
        alive[v] = false;
        if !cliques.iter().any(|c| dims.iter().all(|d| c.dims.contains(d))) {
            let sizes: Vec<usize> = dims.iter().map(|&d| sizes[d]).collect();
            let len = sizes.iter().fold(1usize, |acc, &s| acc.saturating_mul(s));
            cliques.push(Clique { dims, sizes, len });
        }
    }
    cliques
}

/// Prim's maximum spanning tree on the number of shared dimensions (ties to the lowest
/// indices); cliques sharing nothing are joined by empty separators.
fn spanning_tree(cliques: &[Clique]) -> Vec<Edge> {
    let k = cliques.len();
    let shared = |a: usize, b: usize| -> Vec<usize> {
        cliques[a].dims.iter().copied().filter(|d| cliques[b].dims.contains(d)).collect()
    };
    let mut in_tree = vec![false; k];
    let mut edges = Vec::with_capacity(k.saturating_sub(1));
    if k == 0 {
        return edges;
    }
    in_tree[0] = true;
    for _ in 1..k {
        let mut best: Option<(usize, usize, usize)> = None;
        for a in (0..k).filter(|&a| in_tree[a]) {
            for b in (0..k).filter(|&b| !in_tree[b]) {
                let w = shared(a, b).len();
                if best.is_none_or(|(bw, _, _)| w > bw) {
                    best = Some((w, a, b));
                }
            }
        }
        let (_, a, b) = best.expect("a clique is left");
        in_tree[b] = true;
        edges.push(Edge { ends: [a, b], dims: shared(a, b) });
    }
    edges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_of_margins_is_its_own_tree() {
        let margins = vec![vec![0, 1], vec![1, 2], vec![2, 3]];
        let tree = JunctionTree::new(&[2, 3, 4, 5], &margins);
        let dims: Vec<_> = tree.cliques.iter().map(|c| c.dims.clone()).collect();
        assert_eq!(dims.len(), 3);
        for m in &margins {
            assert!(dims.contains(m));
        }
        assert_eq!(tree.edges.len(), 2);
        assert!(tree.edges.iter().all(|e| e.dims.len() == 1));
        assert_eq!(tree.cells(), 6 + 12 + 20);
    }

    #[test]
    fn a_cycle_is_triangulated_and_unmargined_dimensions_stand_alone() {
        // a 4-cycle 0-1-2-3-0 needs one chord: two cliques of three; dimension 4 is alone
        let margins = vec![vec![0, 1], vec![1, 2], vec![2, 3], vec![3, 0]];
        let tree = JunctionTree::new(&[2, 2, 2, 2, 7], &margins);
        let mut lens: Vec<usize> = tree.cliques.iter().map(|c| c.dims.len()).collect();
        lens.sort_unstable();
        assert_eq!(lens, vec![1, 3, 3]);
        assert_eq!(tree.edges.len(), 2);
        for (m, &h) in margins.iter().zip(&tree.home) {
            assert!(m.iter().all(|d| tree.cliques[h].dims.contains(d)));
        }
    }
}
