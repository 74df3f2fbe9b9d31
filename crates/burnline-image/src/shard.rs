//! Splitting a fleet over N machines: shard K of N (1-based) takes the CSV
//! data rows whose 0-based index is K-1 modulo N. Given by `--shard K/N`, or
//! by `--shard-count N` with Kubernetes' 0-based `JOB_COMPLETION_INDEX`.

use crate::error::{Error, Result};
use crate::manifest::files::ShardInfo;

/// One slice of the CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl Shard {
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
        shard: Option<Shard>,
        count: Option<u64>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Shard>> {
        match (shard, count) {
            (Some(_), Some(_)) => Err(Error::Usage(
                "give --shard or --shard-count, not both".into(),
            )),
            (Some(s), None) => Ok(Some(s)),
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

impl std::str::FromStr for Shard {
    type Err = String;

    /// Parses `K/N` with 1 ≤ K ≤ N (clap names the argument and the value
    /// before the message).
    fn from_str(s: &str) -> std::result::Result<Shard, String> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| "expected K/N, such as 1/4".to_owned())?;
        let k: u64 = k
            .trim()
            .parse()
            .map_err(|_| "K is not a number".to_owned())?;
        let n: u64 = n
            .trim()
            .parse()
            .map_err(|_| "N is not a number".to_owned())?;
        Shard::new(k, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_splits() {
        assert!("3/2".parse::<Shard>().is_err());
        assert!("0/2".parse::<Shard>().is_err());
        let s: Shard = "2/3".parse().expect("2/3");
        assert_eq!(
            (0..10).filter(|i| s.takes(*i)).count() as u64,
            s.rows_in(10)
        );
        let k = Shard::from_args(None, Some(3), |_| Some("2".into())).expect("env");
        assert_eq!(k, Some(Shard { index: 3, count: 3 }));
        assert!(Shard::from_args(None, Some(3), |_| Some("3".into())).is_err());
    }
}
