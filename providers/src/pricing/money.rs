//! Exact decimal money amounts and the billing periods they convert between.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Mul, Sub};
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Hours in a billing month. Scaleway, Infracost and most cloud calculators bill
/// a month as 730 hours (8760 h / 12), so hourly prices are multiplied by this.
pub const HOURS_PER_MONTH: i128 = 730;

/// Fractional digits kept by [`Money`]. Nine digits hold any published per-GB
/// hourly price (the smallest have six) times 730 without rounding.
pub const SCALE_DIGITS: u32 = 9;

const UNIT: i128 = 1_000_000_000;

/// An exact amount of money in the table's currency, stored as an integer number
/// of billionths so that sums and multiplications never round.
///
/// Only [`Money::per_period`] divides (a monthly amount into hours or days); it
/// rounds half away from zero at the ninth decimal, far below the cent shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i128);

/// Error returned when a decimal string is not a valid amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a decimal amount: {reason}")]
pub struct ParseMoneyError {
    /// The rejected text.
    pub input: String,
    /// Why it was rejected.
    pub reason: &'static str,
}

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);

    /// Builds an amount from whole cents (e.g. `Money::from_cents(5370)` is 53.70).
    pub const fn from_cents(cents: i64) -> Money {
        Money(cents as i128 * (UNIT / 100))
    }

    /// The amount in billionths of the currency unit.
    pub const fn nanos(self) -> i128 {
        self.0
    }

    /// True when the amount is exactly zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The amount rounded half away from zero to whole cents.
    pub fn round_cents(self) -> i128 {
        div_round(self.0, UNIT / 100)
    }

    /// The amount rounded to cents and formatted with two decimals, e.g. `53.70`.
    pub fn to_cents_string(self) -> String {
        let cents = self.round_cents();
        let sign = if cents < 0 { "-" } else { "" };
        let abs = cents.abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    /// Converts a monthly amount into the amount for `period` (see [`Period`]).
    pub fn per_period(self, period: Period) -> Money {
        match period {
            Period::Hourly => Money(div_round(self.0, HOURS_PER_MONTH)),
            Period::Daily => Money(div_round(self.0 * 24, HOURS_PER_MONTH)),
            Period::Monthly => self,
            Period::Yearly => Money(self.0 * 12),
        }
    }

    /// Multiplies by `numerator / denominator`, rounding half away from zero at the ninth
    /// decimal (per-million-sample and per-GB-day prices of usage-billed services).
    pub fn times_ratio(self, numerator: u64, denominator: u64) -> Money {
        Money(div_round(
            self.0 * i128::from(numerator),
            i128::from(denominator.max(1)),
        ))
    }

    /// Multiplies by a count (nodes, gigabytes, hours).
    pub fn times(self, n: u64) -> Money {
        Money(self.0 * i128::from(n))
    }
}

/// Integer division rounding half away from zero.
fn div_round(n: i128, d: i128) -> i128 {
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d.abs() {
        q + n.signum() * d.signum()
    } else {
        q
    }
}

impl FromStr for Money {
    type Err = ParseMoneyError;

    fn from_str(s: &str) -> Result<Money, ParseMoneyError> {
        let err = |reason| ParseMoneyError {
            input: s.to_string(),
            reason,
        };
        let t = s.trim();
        let (negative, digits) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(err("no digits"));
        }
        if !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
        {
            return Err(err("only digits and one decimal point are allowed"));
        }
        if frac_part.len() > SCALE_DIGITS as usize {
            return Err(err("more than nine decimal places"));
        }
        if int_part.len() > 18 {
            return Err(err("too large"));
        }
        let int: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| err("too large"))?
        };
        let mut frac: i128 = 0;
        for (i, b) in frac_part.bytes().enumerate() {
            frac += i128::from(b - b'0') * 10_i128.pow(SCALE_DIGITS - 1 - i as u32);
        }
        let value = int * UNIT + frac;
        Ok(Money(if negative { -value } else { value }))
    }
}

impl fmt::Display for Money {
    /// Exact decimal, trailing zeros trimmed but at least two decimals (`2.117`, `53.70`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.abs();
        let mut frac = format!("{:09}", abs % UNIT);
        while frac.len() > 2 && frac.ends_with('0') {
            frac.pop();
        }
        write!(f, "{sign}{}.{frac}", abs / UNIT)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}

impl Mul<u64> for Money {
    type Output = Money;
    fn mul(self, rhs: u64) -> Money {
        self.times(rhs)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl Serialize for Money {
    /// Serialized as an exact decimal string so JSON readers never see a float.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    /// Accepts a decimal string (preferred, exact) or a number. A float is read
    /// back through its shortest round-trip text, which is the literal the author
    /// wrote, so `0.0211` stays exactly 0.0211.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        struct MoneyVisitor;
        impl Visitor<'_> for MoneyVisitor {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal amount such as \"0.0211\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Money, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Money, E> {
                Ok(Money(i128::from(v) * UNIT))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Money, E> {
                Ok(Money(i128::from(v) * UNIT))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Money, E> {
                if !v.is_finite() {
                    return Err(E::custom("amount is not finite"));
                }
                format!("{v}").parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(MoneyVisitor)
    }
}

/// A billing period. Every period is derived from the monthly amount:
/// hourly = monthly / 730, daily = monthly × 24 / 730, yearly = monthly × 12.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// One hour.
    Hourly,
    /// 24 hours.
    Daily,
    /// 730 hours.
    #[default]
    Monthly,
    /// Twelve months (8760 hours).
    Yearly,
}

impl Period {
    /// All periods, shortest first.
    pub const ALL: [Period; 4] = [
        Period::Hourly,
        Period::Daily,
        Period::Monthly,
        Period::Yearly,
    ];

    /// The lowercase variant names serde uses, in declaration order (that of [`Period::ALL`]).
    const NAMES: [&'static str; 4] = ["hourly", "daily", "monthly", "yearly"];

    /// The lowercase name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error returned for an unknown period name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown period `{0}` (expected hourly, daily, monthly or yearly)")]
pub struct ParsePeriodError(pub String);

impl FromStr for Period {
    type Err = ParsePeriodError;
    fn from_str(s: &str) -> Result<Period, ParsePeriodError> {
        Period::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParsePeriodError(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_exactly() {
        assert_eq!(m("15.20"), Money::from_cents(1520));
        assert_eq!(m("0.0211").to_string(), "0.0211");
        assert_eq!(m("0.000118").times(730).to_string(), "0.08614");
        assert_eq!(m("2").to_string(), "2.00");
        assert_eq!(m(".5").to_string(), "0.50");
        assert_eq!(m("-1.005").to_cents_string(), "-1.01");
        assert!("1.2.3".parse::<Money>().is_err());
        assert!("0.0000000001".parse::<Money>().is_err());
        assert!("".parse::<Money>().is_err());
        assert!("1e5".parse::<Money>().is_err());
    }

    #[test]
    fn tenths_of_cents_do_not_drift() {
        // 0.1 added ten times is exactly 1 here, unlike with f64.
        let total: Money = std::iter::repeat_n(m("0.1"), 10).sum();
        assert_eq!(total, m("1"));
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(m("2.125").to_cents_string(), "2.13");
        assert_eq!(m("2.124999").to_cents_string(), "2.12");
        assert_eq!(m("161.257").to_cents_string(), "161.26");
    }

    #[test]
    fn converts_periods_from_monthly() {
        let monthly = m("73.00");
        assert_eq!(monthly.per_period(Period::Hourly), m("0.1"));
        assert_eq!(monthly.per_period(Period::Daily), m("2.4"));
        assert_eq!(monthly.per_period(Period::Yearly), m("876"));
        assert_eq!("Yearly".parse::<Period>().unwrap(), Period::Yearly);
        for p in Period::ALL {
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        assert!("weekly".parse::<Period>().is_err());
    }

    #[test]
    fn deserializes_strings_and_numbers() {
        let v: Vec<Money> = serde_json::from_str(r#"["0.0211", 0.0211, 3, 0.00014]"#).unwrap();
        assert_eq!(v, vec![m("0.0211"), m("0.0211"), m("3"), m("0.00014")]);
        assert_eq!(serde_json::to_string(&m("53.7")).unwrap(), "\"53.70\"");
    }
}
