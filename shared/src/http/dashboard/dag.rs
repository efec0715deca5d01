//! Where a workflow's steps and edges go on the page: a layered drawing (each step one
//! column right of the furthest step that leads to it), rows ordered to keep edges
//! short. Only geometry is computed here; the page template draws it as inline SVG, so
//! every key and label passes through the template's HTML escaping.

use std::collections::HashMap;

use serde::Serialize;

const BOX_W: u32 = 150;
const BOX_H: u32 = 44;
const GAP_X: u32 = 70;
const GAP_Y: u32 = 26;
const MARGIN: u32 = 16;
/// Passes of the barycenter ordering: enough to untangle the small graphs a definition
/// allows, and a fixed cost.
const ORDER_PASSES: usize = 4;

/// A step as drawn: its key, its kind and, on a run's page, its status.
#[derive(Debug, Clone)]
pub struct Node {
    pub key: String,
    pub kind: String,
    pub status: Option<String>,
}

/// An edge as drawn; `branch` is shown unless it is the default one.
#[derive(Debug, Clone)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub branch: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Layout {
    pub width: u32,
    pub height: u32,
    pub nodes: Vec<PlacedNode>,
    pub edges: Vec<PlacedEdge>,
}

#[derive(Debug, Serialize)]
pub struct PlacedNode {
    pub key: String,
    /// The key, cut to fit its box.
    pub label: String,
    pub kind: String,
    pub status: Option<String>,
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

#[derive(Debug, Serialize)]
pub struct PlacedEdge {
    /// The SVG path data, a cubic curve from the right side of one box to the left side
    /// of the next (or, for an edge that goes back or stays in its column, around).
    pub path: String,
    pub label: Option<String>,
    pub label_x: u32,
    pub label_y: u32,
}

/// Lays the graph out. Edges naming a step that is not in `nodes` are left out; a graph
/// with a cycle (a definition never has one) still gets a drawing, with the cycle's
/// back edge drawn around.
pub fn layout(nodes: &[Node], edges: &[Edge]) -> Layout {
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.key.as_str(), i))
        .collect();
    let links: Vec<(usize, usize, Option<&str>)> = edges
        .iter()
        .filter_map(|e| {
            Some((
                *index.get(e.from.as_str())?,
                *index.get(e.to.as_str())?,
                e.branch.as_deref().filter(|b| *b != "default"),
            ))
        })
        .collect();

    let column = columns(nodes.len(), &links);
    let rows = order_rows(&column, &links);

    let mut at = vec![(0u32, 0u32); nodes.len()];
    let mut height = 0;
    for (c, members) in rows.iter().enumerate() {
        for (r, &n) in members.iter().enumerate() {
            let x = MARGIN + c as u32 * (BOX_W + GAP_X);
            let y = MARGIN + r as u32 * (BOX_H + GAP_Y);
            at[n] = (x, y);
            height = height.max(y + BOX_H + MARGIN);
        }
    }
    let cols = rows.len() as u32;
    let width = MARGIN * 2 + cols * BOX_W + cols.saturating_sub(1) * GAP_X;

    let placed_edges = links
        .iter()
        .map(|&(from, to, branch)| {
            let (fx, fy) = at[from];
            let (tx, ty) = at[to];
            let (sx, sy) = (fx + BOX_W, fy + BOX_H / 2);
            let (ex, ey) = (tx, ty + BOX_H / 2);
            let path = if ex > sx {
                let bend = (ex - sx) / 2;
                format!(
                    "M{sx},{sy} C{},{sy} {},{ey} {ex},{ey}",
                    sx + bend,
                    ex - bend
                )
            } else {
                // Backwards or within a column: out to the right, below the boxes, in
                // from the left.
                let below = height.saturating_sub(MARGIN / 2);
                format!(
                    "M{sx},{sy} C{},{sy} {},{below} {},{below} L{},{below} C{},{below} {},{ey} {ex},{ey}",
                    sx + GAP_X / 2,
                    sx + GAP_X / 2,
                    sx,
                    ex,
                    ex.saturating_sub(GAP_X / 2),
                    ex.saturating_sub(GAP_X / 2),
                )
            };
            PlacedEdge {
                path,
                label: branch.map(str::to_owned),
                label_x: (sx + ex) / 2,
                label_y: (sy + ey) / 2 - 4,
            }
        })
        .collect();

    Layout {
        width: width.max(MARGIN * 2 + BOX_W),
        height: height.max(MARGIN * 2 + BOX_H),
        nodes: nodes
            .iter()
            .zip(&at)
            .map(|(n, &(x, y))| PlacedNode {
                key: n.key.clone(),
                label: fit(&n.key),
                kind: n.kind.clone(),
                status: n.status.clone(),
                x,
                y,
                w: BOX_W,
                h: BOX_H,
            })
            .collect(),
        edges: placed_edges,
    }
}

/// Keys are up to 64 characters; a box shows about 20.
fn fit(key: &str) -> String {
    const SHOWN: usize = 20;
    if key.chars().count() <= SHOWN {
        key.to_owned()
    } else {
        key.chars().take(SHOWN - 1).chain(['…']).collect()
    }
}

/// Each step's column: the length of the longest path reaching it from a start step.
/// Relaxation stops after `n` rounds, so a cycle cannot make it loop.
fn columns(n: usize, links: &[(usize, usize, Option<&str>)]) -> Vec<usize> {
    let mut column = vec![0usize; n];
    for _ in 0..n {
        let mut changed = false;
        for &(from, to, _) in links {
            if from != to && column[to] < column[from] + 1 && column[from] + 1 < n {
                column[to] = column[from] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    column
}

/// The steps of each column, top to bottom: first in definition order, then sorted a
/// few times by the mean row of their neighbours in the column before.
fn order_rows(column: &[usize], links: &[(usize, usize, Option<&str>)]) -> Vec<Vec<usize>> {
    let columns = column.iter().max().map_or(0, |m| m + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); columns];
    for (n, &c) in column.iter().enumerate() {
        rows[c].push(n);
    }
    for _ in 0..ORDER_PASSES {
        let mut row_of = vec![0f64; column.len()];
        for members in &rows {
            for (r, &n) in members.iter().enumerate() {
                row_of[n] = r as f64;
            }
        }
        for members in rows.iter_mut().skip(1) {
            let mut keyed: Vec<(f64, usize)> = members
                .iter()
                .enumerate()
                .map(|(r, &n)| {
                    let parents: Vec<f64> = links
                        .iter()
                        .filter(|l| l.1 == n && column[l.0] < column[n])
                        .map(|l| row_of[l.0])
                        .collect();
                    let key = if parents.is_empty() {
                        r as f64
                    } else {
                        parents.iter().sum::<f64>() / parents.len() as f64
                    };
                    (key, n)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            *members = keyed.into_iter().map(|(_, n)| n).collect();
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(key: &str) -> Node {
        Node {
            key: key.into(),
            kind: "transform".into(),
            status: None,
        }
    }

    fn edge(from: &str, to: &str, branch: Option<&str>) -> Edge {
        Edge {
            from: from.into(),
            to: to.into(),
            branch: branch.map(Into::into),
        }
    }

    fn placed<'a>(l: &'a Layout, key: &str) -> &'a PlacedNode {
        l.nodes.iter().find(|n| n.key == key).unwrap()
    }

    #[test]
    fn a_step_sits_right_of_every_step_leading_to_it() {
        // a → b → d, a → c → d, and a shortcut a → d: d is still after b and c.
        let nodes: Vec<Node> = ["a", "b", "c", "d"].into_iter().map(node).collect();
        let edges = vec![
            edge("a", "b", Some("true")),
            edge("a", "c", Some("false")),
            edge("b", "d", None),
            edge("c", "d", None),
            edge("a", "d", Some("default")),
        ];
        let l = layout(&nodes, &edges);
        let (a, b, c, d) = (
            placed(&l, "a"),
            placed(&l, "b"),
            placed(&l, "c"),
            placed(&l, "d"),
        );
        assert!(a.x < b.x && b.x == c.x && c.x < d.x);
        assert_ne!(b.y, c.y, "two steps of one column do not overlap");
        let labels: Vec<_> = l.edges.iter().filter_map(|e| e.label.as_deref()).collect();
        assert_eq!(
            labels,
            ["true", "false"],
            "the default branch carries no label"
        );
        for n in &l.nodes {
            assert!(
                n.x + n.w <= l.width && n.y + n.h <= l.height,
                "{} inside",
                n.key
            );
        }
    }

    #[test]
    fn rows_follow_their_parents() {
        // Two chains declared in crossed order: x2 belongs beside x1, y2 beside y1.
        let nodes: Vec<Node> = ["x1", "y1", "y2", "x2"].into_iter().map(node).collect();
        let edges = vec![edge("x1", "x2", None), edge("y1", "y2", None)];
        let l = layout(&nodes, &edges);
        assert_eq!(placed(&l, "x1").y, placed(&l, "x2").y);
        assert_eq!(placed(&l, "y1").y, placed(&l, "y2").y);
    }

    #[test]
    fn unknown_ends_and_cycles_still_draw() {
        let nodes: Vec<Node> = ["a", "b"].into_iter().map(node).collect();
        let edges = vec![
            edge("a", "b", None),
            edge("b", "a", Some("error")),
            edge("a", "ghost", None),
        ];
        let l = layout(&nodes, &edges);
        assert_eq!(l.edges.len(), 2);
        assert!(l.edges.iter().all(|e| e.path.starts_with('M')));
        assert!(layout(&[], &[]).nodes.is_empty());
        assert_eq!(fit("a_very_long_step_key_indeed").chars().count(), 20);
    }
}
