//! Global clustering of speaker embeddings: which local speakers of which
//! windows are the same person.
//!
//! Average-linkage agglomerative clustering on cosine distance, stopped at a
//! tuned threshold or cut at the speaker count the user gave. Memory is bounded:
//! at most [`MAX_LINKED`] embeddings (the ones with the most clean speech) enter
//! the O(n²) distance matrix (≈ 9 MB); every other embedding joins the nearest
//! cluster centroid afterwards, so a 3-hour recording costs no more than a
//! 30-minute one.

use crate::error::{Error, Result};

/// Largest number of embeddings that enter the distance matrix.
pub(crate) const MAX_LINKED: usize = 1500;

/// How many speakers to find.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SpeakerCount {
    /// Exactly this many (overrides the bounds).
    pub exact: Option<usize>,
    pub min: Option<usize>,
    pub max: Option<usize>,
}

impl SpeakerCount {
    /// A count that can be met: none of them zero, the bounds in order.
    pub fn check(&self) -> Result<()> {
        if self.exact == Some(0) || self.max == Some(0) {
            return Err(Error::Usage("speaker counts must be at least 1".into()));
        }
        if let (Some(min), Some(max)) = (self.min, self.max)
            && min > max
        {
            return Err(Error::Usage(
                "the minimum speaker count is above the maximum".into(),
            ));
        }
        Ok(())
    }
}

/// Clustering settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ClusterParams {
    /// Merging stops when the closest clusters are farther apart than this (cosine distance).
    pub(crate) threshold: f32,
    /// A cluster with less total weight (seconds of clean speech) is folded into its
    /// nearest large neighbour: a few stray embeddings are not a new person. Windows
    /// overlap four times over, so 8 s of weight is about 2 s of a voice; with 2-3 s
    /// pieces (noisier embeddings) 4 s let reverberant copies of the dialogues grow a
    /// phantom speaker (counts right 13/18 against 15/18 with 8 s).
    pub(crate) min_cluster_weight: f32,
    /// Embeddings from less clean speech than this (seconds) are too noisy to
    /// shape the clusters; they only join the nearest one afterwards.
    pub(crate) min_link_weight: f32,
    pub(crate) count: SpeakerCount,
}

impl Default for ClusterParams {
    fn default() -> Self {
        ClusterParams {
            threshold: 0.45,
            min_cluster_weight: 8.0,
            min_link_weight: 1.0,
            count: SpeakerCount::default(),
        }
    }
}

/// In a short recording the minimum weights are at most this share of all the weight.
const SHORT_RECORDING_SHARE: f32 = 0.1;

impl ClusterParams {
    /// The minimum weights, lowered for a recording with little speech: three people
    /// in 3 s each have well under a second, and the fixed minimums (tuned on minutes
    /// of speech) folded them into one speaker.
    fn for_total_weight(&self, total: f32) -> ClusterParams {
        let cap = SHORT_RECORDING_SHARE * total;
        ClusterParams {
            min_cluster_weight: self.min_cluster_weight.min(cap),
            min_link_weight: self.min_link_weight.min(cap),
            ..*self
        }
    }
}

/// Cluster label for every embedding (labels are 0..k, ordered by first appearance).
pub(crate) fn cluster(
    embeddings: &[Vec<f32>],
    weights: &[f32],
    params: &ClusterParams,
) -> Vec<usize> {
    if embeddings.is_empty() {
        return Vec::new();
    }
    let params = &params.for_total_weight(weights.iter().sum());
    let unit: Vec<Vec<f32>> = embeddings.iter().map(|e| normalized(e)).collect();
    let linked = heaviest(weights, params.min_link_weight, MAX_LINKED);
    let linked_vectors: Vec<&[f32]> = linked.iter().map(|&i| unit[i].as_slice()).collect();
    let merges = average_linkage(&linked_vectors);
    let k = choose_count(&merges, linked.len(), params);
    let linked_labels = cut(&merges, linked.len(), k);
    let mut centroids = centroids_of(&linked, &linked_labels, &unit, weights);
    fold_small_clusters(&mut centroids, params, k.max(1));
    let labels: Vec<usize> = unit.iter().map(|e| nearest(&centroids, e)).collect();
    relabel_by_first_appearance(&labels)
}

/// Cosine distance of two unit vectors.
pub(crate) fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    1.0 - a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>()
}

pub(crate) fn normalized(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter().map(|x| x / norm).collect()
}

/// Indices of the `limit` heaviest items of at least `min_weight` (all items
/// when none is that heavy), in index order.
fn heaviest(weights: &[f32], min_weight: f32, limit: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..weights.len())
        .filter(|&i| weights[i] >= min_weight)
        .collect();
    if order.is_empty() {
        order = (0..weights.len()).collect();
    }
    if order.len() > limit {
        order.sort_by(|&a, &b| weights[b].total_cmp(&weights[a]));
        order.truncate(limit);
        order.sort_unstable();
    }
    order
}

/// One merge of the dendrogram: clusters `a` and `b` (ids as in scipy: leaves
/// 0..n, merge i creates id n+i) joined at `distance`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Merge {
    a: usize,
    b: usize,
    distance: f32,
}

/// UPGMA with the Lance–Williams update and a cached nearest neighbour per row,
/// O(n²) memory and about O(n²) time.
fn average_linkage(vectors: &[&[f32]]) -> Vec<Merge> {
    let n = vectors.len();
    let mut dist = vec![0f32; n * n];
    for i in 0..n {
        for j in i + 1..n {
            let d = cosine_distance(vectors[i], vectors[j]);
            dist[i * n + j] = d;
            dist[j * n + i] = d;
        }
    }
    let mut size = vec![1usize; n];
    let mut alive = vec![true; n];
    let mut id: Vec<usize> = (0..n).collect();
    let row_min = |dist: &[f32], alive: &[bool], i: usize| -> (usize, f32) {
        (0..n)
            .filter(|&j| j != i && alive[j])
            .map(|j| (j, dist[i * n + j]))
            .min_by(|x, y| x.1.total_cmp(&y.1))
            .unwrap_or((i, f32::INFINITY))
    };
    let mut nearest: Vec<(usize, f32)> = (0..n).map(|i| row_min(&dist, &alive, i)).collect();
    let mut merges = Vec::with_capacity(n.saturating_sub(1));
    for step in 0..n.saturating_sub(1) {
        let (i, (j, d)) = (0..n)
            .filter(|&i| alive[i])
            .map(|i| (i, nearest[i]))
            .min_by(|x, y| x.1.1.total_cmp(&y.1.1))
            .expect("two clusters alive");
        merges.push(Merge {
            a: id[i],
            b: id[j],
            distance: d,
        });
        // Row i becomes the union; row j dies.
        for k in 0..n {
            if alive[k] && k != i && k != j {
                let merged = (size[i] as f32 * dist[i * n + k] + size[j] as f32 * dist[j * n + k])
                    / (size[i] + size[j]) as f32;
                dist[i * n + k] = merged;
                dist[k * n + i] = merged;
            }
        }
        alive[j] = false;
        size[i] += size[j];
        id[i] = n + step;
        for k in 0..n {
            if alive[k] && (k == i || nearest[k].0 == i || nearest[k].0 == j) {
                nearest[k] = row_min(&dist, &alive, k);
            } else if alive[k] && dist[k * n + i] < nearest[k].1 {
                nearest[k] = (i, dist[k * n + i]);
            }
        }
    }
    merges
}

/// The number of clusters: the user's exact count, else the count at the
/// threshold, kept within the user's bounds.
fn choose_count(merges: &[Merge], n: usize, params: &ClusterParams) -> usize {
    if let Some(exact) = params.count.exact {
        return exact.clamp(1, n.max(1));
    }
    let below = merges
        .iter()
        .filter(|m| m.distance <= params.threshold)
        .count();
    let at_threshold = n - below;
    let min = params.count.min.unwrap_or(1).max(1);
    let max = params.count.max.unwrap_or(usize::MAX).max(min);
    at_threshold.clamp(min, max).min(n.max(1))
}

/// Labels after replaying the first `n - k` merges.
fn cut(merges: &[Merge], n: usize, k: usize) -> Vec<usize> {
    let mut parent: Vec<usize> = (0..2 * n).collect();
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for (step, m) in merges.iter().take(n.saturating_sub(k)).enumerate() {
        let new_id = n + step;
        let (ra, rb) = (root(&mut parent, m.a), root(&mut parent, m.b));
        parent[ra] = new_id;
        parent[rb] = new_id;
    }
    let roots: Vec<usize> = (0..n).map(|i| root(&mut parent, i)).collect();
    relabel_by_first_appearance(&roots)
}

struct Centroid {
    vector: Vec<f32>,
    weight: f32,
}

fn centroids_of(
    members: &[usize],
    labels: &[usize],
    unit: &[Vec<f32>],
    weights: &[f32],
) -> Vec<Centroid> {
    let k = labels.iter().max().map_or(0, |m| m + 1);
    let dim = unit.first().map_or(0, Vec::len);
    let mut sums = vec![vec![0f32; dim]; k];
    let mut totals = vec![0f32; k];
    for (&member, &label) in members.iter().zip(labels) {
        let w = weights[member].max(1e-3);
        for (s, x) in sums[label].iter_mut().zip(&unit[member]) {
            *s += w * x;
        }
        totals[label] += weights[member];
    }
    sums.into_iter()
        .zip(totals)
        .map(|(v, weight)| Centroid {
            vector: normalized(&v),
            weight,
        })
        .collect()
}

/// Drops light clusters (their members then go to the nearest heavy one), but
/// never below `keep_at_least` clusters: a count the user asked for is kept.
fn fold_small_clusters(
    centroids: &mut Vec<Centroid>,
    params: &ClusterParams,
    keep_at_least: usize,
) {
    if params.count.exact.is_some() {
        return;
    }
    let floor = params.count.min.unwrap_or(1).max(1).min(keep_at_least);
    while centroids.len() > floor {
        let (lightest, weight) = centroids
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.weight))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("non-empty");
        if weight >= params.min_cluster_weight {
            break;
        }
        centroids.remove(lightest);
    }
}

fn nearest(centroids: &[Centroid], e: &[f32]) -> usize {
    centroids
        .iter()
        .enumerate()
        .min_by(|a, b| cosine_distance(&a.1.vector, e).total_cmp(&cosine_distance(&b.1.vector, e)))
        .map_or(0, |(i, _)| i)
}

fn relabel_by_first_appearance(labels: &[usize]) -> Vec<usize> {
    let mut map = std::collections::HashMap::new();
    labels
        .iter()
        .map(|l| {
            let next = map.len();
            *map.entry(*l).or_insert(next)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points scattered around `k` well-separated directions.
    fn blobs(k: usize, per: usize, spread: f32) -> (Vec<Vec<f32>>, Vec<usize>) {
        let dim = 16;
        let mut seed = 7u64;
        let mut rand = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let mut points = Vec::new();
        let mut truth = Vec::new();
        for i in 0..per {
            for c in 0..k {
                let mut v: Vec<f32> = (0..dim).map(|_| rand() * spread).collect();
                v[c] += 1.0;
                points.push(v);
                truth.push(c);
                let _ = i;
            }
        }
        (points, truth)
    }

    fn agree(a: &[usize], b: &[usize]) -> bool {
        let mut map = std::collections::HashMap::new();
        a.iter()
            .zip(b)
            .all(|(x, y)| *map.entry(*x).or_insert(*y) == *y)
            && a.iter()
                .copied()
                .collect::<std::collections::HashSet<_>>()
                .len()
                == b.iter()
                    .copied()
                    .collect::<std::collections::HashSet<_>>()
                    .len()
    }

    #[test]
    fn finds_the_number_of_blobs_by_threshold() {
        for k in 1..=4 {
            let (points, truth) = blobs(k, 12, 0.3);
            let weights = vec![1.0; points.len()];
            let labels = cluster(&points, &weights, &ClusterParams::default());
            assert!(agree(&labels, &truth), "k={k}: {labels:?}");
        }
    }

    #[test]
    fn honours_an_exact_count() {
        let (points, _) = blobs(4, 10, 0.3);
        let weights = vec![1.0; points.len()];
        let params = ClusterParams {
            count: SpeakerCount {
                exact: Some(2),
                ..SpeakerCount::default()
            },
            ..ClusterParams::default()
        };
        let labels = cluster(&points, &weights, &params);
        assert_eq!(labels.iter().max(), Some(&1));
    }

    #[test]
    fn honours_bounds() {
        let (points, _) = blobs(4, 10, 0.3);
        let weights = vec![1.0; points.len()];
        let bounded = |min, max| ClusterParams {
            count: SpeakerCount {
                exact: None,
                min: Some(min),
                max: Some(max),
            },
            ..ClusterParams::default()
        };
        let at_most_3 = cluster(&points, &weights, &bounded(1, 3));
        assert_eq!(at_most_3.iter().max(), Some(&2));
        let at_least_5 = cluster(&points, &weights, &bounded(5, 8));
        assert!(at_least_5.iter().max().unwrap() + 1 >= 5);
    }

    #[test]
    fn stray_embeddings_do_not_make_a_speaker() {
        let (mut points, _) = blobs(2, 20, 0.2);
        let mut weights = vec![1.0; points.len()];
        let mut odd = vec![0.0; 16];
        odd[9] = 1.0;
        points.push(odd);
        weights.push(0.5);
        let labels = cluster(&points, &weights, &ClusterParams::default());
        assert_eq!(labels.iter().max(), Some(&1));
    }

    #[test]
    fn large_inputs_are_bounded_and_still_right() {
        let (points, truth) = blobs(3, 700, 0.25);
        let weights: Vec<f32> = (0..points.len()).map(|i| (i % 7) as f32 + 1.0).collect();
        let labels = cluster(&points, &weights, &ClusterParams::default());
        assert!(points.len() > MAX_LINKED);
        assert!(agree(&labels, &truth));
    }
}
