//! Whether one set of JVMs is slower than another: a rank test (Mann–Whitney, exact) and the
//! Hodges–Lehmann estimate of the throughput ratio with its confidence band.
//!
//! Rows 1 and 3 of the suite ask "is the agent, loaded and idle, distinguishable from no
//! agent?". The unit of noise is the JVM (where the JIT placed its code), so each JVM gives
//! one value, its median ns per call. A rank test answers that question at a stated false
//! alarm rate whatever the machine's noise: with identical JVMs it reports "slower" in 1% of
//! runs at `p < 0.01`, on a quiet host or a noisy one, and no single JVM can decide it.

/// How a configuration's JVMs compare with the reference JVMs (values: ns per call).
#[derive(Debug, Clone, Copy)]
pub struct Shift {
    /// Throughput of the configuration over the reference's (reference ns / configuration ns),
    /// the Hodges–Lehmann estimate: the median over every pair of one JVM of each.
    pub ratio: f64,
    /// The band of `ratio` at the confidence asked (from the same pairs, cut where the exact
    /// rank distribution puts the tails).
    pub low: f64,
    pub high: f64,
    /// One-sided p-value of "the configuration is slower": the chance that identical JVMs
    /// rank the configuration at least this far behind.
    pub p_slower: f64,
    /// The smallest p-value these numbers of JVMs can give (every configuration JVM behind
    /// every reference JVM): a test at a level below it could never fail.
    pub p_floor: f64,
}

/// Compares `config` with `reference` (ns per call, one value per JVM; both non-empty).
pub fn throughput_shift(reference: &[f64], config: &[f64], confidence: f64) -> Shift {
    let (n, m) = (config.len(), reference.len());
    assert!(n > 0 && m > 0, "throughput_shift needs values on both sides");
    let dist = RankSumNull::new(n, m);
    // U: pairs where the configuration is slower (more ns per call); ties count one half.
    let u: f64 = config
        .iter()
        .flat_map(|c| {
            reference.iter().map(move |r| {
                if c > r {
                    1.0
                } else if c == r {
                    0.5
                } else {
                    0.0
                }
            })
        })
        .sum();
    // A tie's half is rounded toward "not slower": conservative.
    let p_slower = dist.at_least(u.floor() as usize);
    // log(reference) - log(config) for every pair: the log of the throughput ratio.
    let mut d: Vec<f64> = config.iter().flat_map(|c| reference.iter().map(move |r| r.ln() - c.ln())).collect();
    d.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    // U counts the differences at or below 0, so d[k] > 0 exactly when U <= k: the band's ends
    // are d[k] and d[N - 1 - k] for the largest k with P(U <= k) <= tail. With too few JVMs
    // for that confidence no such k exists, and the band is the whole range.
    let mut k = 0;
    while k + 1 < d.len() / 2 && dist.at_most(k + 1) <= tail {
        k += 1;
    }
    Shift {
        ratio: crate::median(&d).exp(),
        low: d[k].exp(),
        high: d[d.len() - 1 - k].exp(),
        p_slower,
        p_floor: dist.at_least(n * m),
    }
}

/// The exact distribution of the Mann–Whitney U statistic for samples of `n` and `m` with no
/// ties, under the hypothesis that both come from one distribution.
struct RankSumNull {
    /// `counts[u]`: how many of the C(n + m, n) orderings give U = u.
    counts: Vec<f64>,
    total: f64,
}

impl RankSumNull {
    fn new(n: usize, m: usize) -> RankSumNull {
        // f(i, j)[u] = f(i - 1, j)[u - j] + f(i, j - 1)[u]: the largest of the i + j values is
        // either one of the i (it beats all j) or one of the j (it beats none of the i).
        let mut rows: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); m + 1]; n + 1];
        for i in 0..=n {
            for j in 0..=m {
                let mut f = vec![0.0; i * j + 1];
                if i == 0 || j == 0 {
                    f[0] = 1.0;
                } else {
                    for (u, slot) in f.iter_mut().enumerate() {
                        let from_i = if u >= j { rows[i - 1][j].get(u - j).copied().unwrap_or(0.0) } else { 0.0 };
                        let from_j = rows[i][j - 1].get(u).copied().unwrap_or(0.0);
                        *slot = from_i + from_j;
                    }
                }
                rows[i][j] = f;
            }
        }
        let counts = std::mem::take(&mut rows[n][m]);
        let total = counts.iter().sum();
        RankSumNull { counts, total }
    }

    /// P(U <= u).
    fn at_most(&self, u: usize) -> f64 {
        self.counts.iter().take(u + 1).sum::<f64>() / self.total
    }

    /// P(U >= u).
    fn at_least(&self, u: usize) -> f64 {
        self.counts.iter().skip(u).sum::<f64>() / self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exact_distribution_matches_the_published_critical_values() {
        // Tables of U: for n = m = 10 the two-sided 5% critical value is 23.
        let d = RankSumNull::new(10, 10);
        assert!(d.at_most(23) <= 0.025 && d.at_most(24) > 0.025, "{} {}", d.at_most(23), d.at_most(24));
        // For n = 6, m = 12 the one-sided 1% critical value is 11 (P(U <= 11) = 0.0089).
        let d = RankSumNull::new(6, 12);
        assert!(d.at_most(11) <= 0.01 && d.at_most(12) > 0.01, "{} {}", d.at_most(11), d.at_most(12));
        assert!((d.at_most(72) - 1.0).abs() < 1e-12);
        assert!((d.at_least(0) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_configuration_behind_every_reference_jvm_is_slower() {
        let reference: Vec<f64> = (0..12).map(|i| 1.60 + 0.005 * i as f64).collect();
        let config: Vec<f64> = (0..6).map(|i| 1.70 + 0.005 * i as f64).collect();
        let s = throughput_shift(&reference, &config, 0.98);
        // Every pair puts the configuration behind: 1 ordering in C(18, 6) = 18,564.
        assert!((s.p_slower - 1.0 / 18_564.0).abs() < 1e-12, "{s:?}");
        assert_eq!(s.p_floor, s.p_slower);
        // Three JVMs against six can never reach p < 0.01: 1 ordering in C(9, 3) = 84.
        let s = throughput_shift(&reference[..6], &config[..3], 0.98);
        assert!((s.p_floor - 1.0 / 84.0).abs() < 1e-12, "{s:?}");
        assert!(s.ratio < 0.97 && s.low <= s.ratio && s.ratio <= s.high && s.high < 1.0, "{s:?}");
    }

    #[test]
    fn the_band_cuts_at_the_critical_value_of_u() {
        // n = m = 10 at 95%: the band runs from the 24th smallest to the 24th largest of the
        // 100 differences (critical value 23, index 23 from either end); all 100 differ.
        let reference: Vec<f64> = (0..10).map(|i| (i as f64 * 0.1 + (i * i) as f64 * 0.0013).exp()).collect();
        let config: Vec<f64> = (0..10).map(|j| (j as f64 * 0.0973 + 0.0123).exp()).collect();
        let mut d: Vec<f64> = config.iter().flat_map(|c| reference.iter().map(move |r| r.ln() - c.ln())).collect();
        d.sort_by(f64::total_cmp);
        let s = throughput_shift(&reference, &config, 0.95);
        assert!((s.low.ln() - d[23]).abs() < 1e-12 && (s.high.ln() - d[76]).abs() < 1e-12, "{s:?} {d:?}");
    }

    #[test]
    fn interleaved_jvms_are_not_slower_and_their_band_holds_one() {
        let reference: Vec<f64> = (0..12).map(|i| 1.60 + 0.01 * i as f64).collect();
        let config: Vec<f64> = (0..6).map(|i| 1.605 + 0.02 * i as f64).collect();
        let s = throughput_shift(&reference, &config, 0.98);
        assert!(s.p_slower > 0.3, "{s:?}");
        assert!(s.low < 1.0 && 1.0 < s.high, "{s:?}");
    }
}
