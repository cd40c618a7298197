//! Durations as people write them in scenario files and on the command line:
//! a number and a unit, such as `200ms`, `1.5s` or `10m`.
//!
//! Decimals are parsed digit by digit rather than through `f64`, so that
//! `0.1s` is exactly 100 milliseconds and every duration printed by
//! [`format_duration`] reads back to the same number of nanoseconds.

use std::time::Duration;

/// Examples appended to every error, so a user who got it wrong sees the form
/// that works without opening the manual.
const EXAMPLES: &str = r#"(expected e.g. "200ms", "1.5s", "10m")"#;

/// Units in the order they are tried when formatting, largest first, with
/// their length in nanoseconds.
const UNITS: [(&str, u128); 6] = [
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

/// Parses a duration such as `200ms`, `1.5s` or `10m`.
///
/// The number is a non-negative integer or decimal (`1.5`, not `.5` or `1.`,
/// which are more often typos than intent); the unit is one of `ns`, `us`
/// (or `µs`), `ms`, `s`, `m`, `h`. A unit is required: a bare `200` would be
/// ambiguous between milliseconds and seconds, and guessing wrong by a
/// factor of a thousand is worse than asking. Decimals finer than a
/// nanosecond are rounded to the nearest nanosecond.
///
/// Errors quote the input, say what is wrong with it and show valid examples.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let fail = |why: &str| Err(format!("invalid duration {text:?}: {why} {EXAMPLES}"));
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return fail("it is empty");
    }
    if trimmed.starts_with('-') {
        return fail("it is negative");
    }
    if trimmed.chars().any(char::is_whitespace) {
        return fail("it contains a space; write the number and unit together");
    }
    let number_len = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(number_len);
    if number.is_empty() {
        return fail("it does not start with a number");
    }
    let Some(unit_nanos) = unit_nanos(unit) else {
        return if unit.is_empty() {
            fail("it has no unit (one of ns, us, ms, s, m, h)")
        } else {
            fail(&format!("unknown unit {unit:?} (one of ns, us, ms, s, m, h)"))
        };
    };
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (number, ""),
    };
    if whole.is_empty() || (number.contains('.') && fraction.is_empty()) || fraction.contains('.') {
        return fail("the number is malformed; write digits on both sides of one '.'");
    }
    let Some(nanos) = to_nanos(whole, fraction, unit_nanos) else {
        return fail("it is too large");
    };
    let secs = u64::try_from(nanos / 1_000_000_000);
    match secs {
        // The remainder is below 10^9, so it always fits in u32.
        Ok(secs) => Ok(Duration::new(secs, (nanos % 1_000_000_000) as u32)),
        Err(_) => fail("it is too large"),
    }
}

/// Formats a duration in the largest unit that keeps it short and exact:
/// `10m`, `90s`, `1.5s`, `200ms`, `250us`, `7ns`.
///
/// Minutes and hours are used only for whole numbers of them (a fraction of a
/// minute rarely has a finite decimal form); below that, seconds,
/// milliseconds and microseconds carry as many decimals as needed. The result
/// always reads back through [`parse_duration`] to the same duration.
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    for (unit, size) in UNITS {
        let whole_only = size > 1_000_000_000;
        if nanos % size == 0 {
            return format!("{}{unit}", nanos / size);
        }
        if !whole_only && nanos >= size {
            return format!("{}{unit}", decimal(nanos, size));
        }
    }
    // Unreachable in practice: every duration is a whole number of ns.
    format!("{nanos}ns")
}

/// The length of one `unit` in nanoseconds, or None if it is not a unit.
fn unit_nanos(unit: &str) -> Option<u128> {
    let unit = if unit == "µs" { "us" } else { unit };
    UNITS.iter().find(|(name, _)| *name == unit).map(|&(_, size)| size)
}

/// Converts `whole.fraction` units into nanoseconds, rounding to the nearest
/// nanosecond; None on overflow.
fn to_nanos(whole: &str, fraction: &str, unit_nanos: u128) -> Option<u128> {
    let mut nanos: u128 = 0;
    for digit in whole.bytes() {
        nanos = nanos.checked_mul(10)?.checked_add(u128::from(digit - b'0'))?;
    }
    nanos = nanos.checked_mul(unit_nanos)?;
    // Twenty decimals resolve far below a nanosecond even for hours, and
    // stopping there keeps `numerator * unit_nanos` well within u128.
    let mut scale: u128 = 1;
    let mut numerator: u128 = 0;
    for digit in fraction.bytes().take(20) {
        numerator = numerator * 10 + u128::from(digit - b'0');
        scale *= 10;
    }
    let part = (numerator.checked_mul(unit_nanos)? + scale / 2) / scale;
    let nanos = nanos.checked_add(part)?;
    (nanos <= Duration::MAX.as_nanos()).then_some(nanos)
}

/// `nanos / size` written as a decimal without trailing zeros; exact because
/// `size` is a power of ten here.
fn decimal(nanos: u128, size: u128) -> String {
    let digits = size.ilog10() as usize;
    let fraction = format!("{:0digits$}", nanos % size);
    format!("{}.{}", nanos / size, fraction.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match parse_duration(text) {
            Ok(d) => panic!("{text:?} parsed as {d:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("250µs"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
    }

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0.1s"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("0.5m"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1.000000001s"), Ok(Duration::new(1, 1)));
    }

    #[test]
    fn rounds_sub_nanosecond_decimals() {
        assert_eq!(parse_duration("1.4ns"), Ok(Duration::from_nanos(1)));
        assert_eq!(parse_duration("1.5ns"), Ok(Duration::from_nanos(2)));
        assert_eq!(
            parse_duration("0.33333333333333333333333333333333333333333333s"),
            Ok(Duration::from_nanos(333_333_333))
        );
    }

    #[test]
    fn accepts_zero() {
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn ignores_surrounding_whitespace() {
        assert_eq!(parse_duration(" 200ms\n"), Ok(Duration::from_millis(200)));
    }

    #[test]
    fn rejects_missing_unit() {
        let e = err("200");
        assert!(e.contains("no unit"), "{e}");
        assert!(e.contains(r#""200ms", "1.5s", "10m""#), "{e}");
    }

    #[test]
    fn rejects_unknown_unit() {
        let e = err("3d");
        assert!(e.contains(r#"unknown unit "d""#), "{e}");
    }

    #[test]
    fn rejects_negative() {
        assert!(err("-5s").contains("negative"));
    }

    #[test]
    fn rejects_empty() {
        assert!(err("").contains("empty"));
        assert!(err("  ").contains("empty"));
    }

    #[test]
    fn rejects_nan_and_infinity() {
        assert!(err("NaN").contains("does not start with a number"));
        assert!(err("infs").contains("does not start with a number"));
    }

    #[test]
    fn rejects_inner_space() {
        let e = err("20 0ms");
        assert!(e.starts_with(r#"invalid duration "20 0ms": "#), "{e}");
        assert!(e.contains("space"), "{e}");
    }

    #[test]
    fn rejects_malformed_numbers() {
        for text in [".5s", "5.s", "1.2.3s", "1e3ms", "+5s"] {
            assert!(parse_duration(text).is_err(), "{text}");
        }
    }

    #[test]
    fn rejects_overflow() {
        assert!(err("99999999999999999999999h").contains("too large"));
        assert!(err("18446744073709551616s").contains("too large"));
    }

    #[test]
    fn accepts_the_largest_duration() {
        assert_eq!(parse_duration("18446744073709551615.999999999s"), Ok(Duration::MAX));
    }

    #[test]
    fn formats_in_the_largest_exact_unit() {
        assert_eq!(format_duration(Duration::from_millis(200)), "200ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_secs(600)), "10m");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(format_duration(Duration::from_micros(250)), "250us");
        assert_eq!(format_duration(Duration::from_nanos(7)), "7ns");
        assert_eq!(format_duration(Duration::from_nanos(1500)), "1.5us");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn format_round_trips() {
        let samples = [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_nanos(999),
            Duration::from_nanos(1_001),
            Duration::from_micros(1_500),
            Duration::from_millis(200),
            Duration::from_millis(61_500),
            Duration::new(1, 1),
            Duration::from_secs(600),
            Duration::from_secs(5400),
            Duration::from_secs(3601),
            Duration::MAX,
        ];
        for d in samples {
            let text = format_duration(d);
            assert_eq!(parse_duration(&text), Ok(d), "{text}");
        }
    }
}
