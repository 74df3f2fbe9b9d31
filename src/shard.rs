//! Splitting a fleet over N machines: shard K of N (1-based) takes the CSV
//! data rows whose 0-based index is K-1 modulo N. Given by `--shard K/N`, or
//! by `--shard-count N` with Kubernetes' 0-based `JOB_COMPLETION_INDEX`.

use crate::error::{Error, Result};
use crate::manifest::extra::ShardInfo;

/// One slice of the CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl Shard {
    /// Parses `K/N` with 1 ≤ K ≤ N.
    pub fn parse(s: &str) -> Result<Shard> {
        let usage = |why: &str| Error::Usage(format!("--shard {s}: {why}"));
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| usage("expected K/N, such as 1/4"))?;
        let k: u64 = k.trim().parse().map_err(|_| usage("K is not a number"))?;
        let n: u64 = n.trim().parse().map_err(|_| usage("N is not a number"))?;
        Shard::new(k, n).map_err(|why| usage(&why))
    }

    fn new(index: u64, count: u64) -> std::result::Result<Shard, String> {
        if count == 0 || index == 0 || index > count {
            return Err(format!(
                "K must be between 1 and N (got K={index}, N={count})"
            ));
        }
        Ok(Shard { index, count })
    }

    /// The shard from `--shard`, or from `--shard-count` and
    /// `JOB_COMPLETION_INDEX` (`env` looks a variable up).
    pub fn from_args(
        shard: Option<&str>,
        count: Option<u64>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Shard>> {
        match (shard, count) {
            (Some(_), Some(_)) => Err(Error::Usage(
                "give --shard or --shard-count, not both".into(),
            )),
            (Some(s), None) => Shard::parse(s).map(Some),
            (None, Some(n)) => {
                let idx = env("JOB_COMPLETION_INDEX").ok_or_else(|| {
                    Error::Usage(
                        "--shard-count needs JOB_COMPLETION_INDEX (0-based) in the environment"
                            .into(),
                    )
                })?;
                let i: u64 = idx.trim().parse().map_err(|_| {
                    Error::Usage(format!("JOB_COMPLETION_INDEX={idx}: not a number"))
                })?;
                Shard::new(i + 1, n).map(Some).map_err(|why| {
                    Error::Usage(format!(
                        "JOB_COMPLETION_INDEX={idx} with --shard-count {n}: {why}"
                    ))
                })
            }
            (None, None) => Ok(None),
        }
    }

    /// Whether the row with 0-based `index` is in this shard.
    pub fn takes(&self, index: u64) -> bool {
        index % self.count == self.index - 1
    }

    /// How many of `total` rows this shard takes.
    pub fn rows_in(&self, total: u64) -> u64 {
        let first = self.index - 1;
        if total > first {
            (total - first).div_ceil(self.count)
        } else {
            0
        }
    }

    /// The manifest record for this shard of a `rows`-row CSV.
    pub fn info(&self, rows: u64) -> ShardInfo {
        ShardInfo {
            index: self.index,
            count: self.count,
            rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_splits() {
        assert!(Shard::parse("3/2").is_err());
        assert!(Shard::parse("0/2").is_err());
        let s = Shard::parse("2/3").expect("2/3");
        assert_eq!(
            (0..10).filter(|i| s.takes(*i)).count() as u64,
            s.rows_in(10)
        );
        let k = Shard::from_args(None, Some(3), |_| Some("2".into())).expect("env");
        assert_eq!(k, Some(Shard { index: 3, count: 3 }));
        assert!(Shard::from_args(None, Some(3), |_| Some("3".into())).is_err());
    }
}
