//! Address ranges: CIDR parsing and the `lateral_ip_in_cidr(ip, cidr, ...)` scalar UDF that
//! `net.ip_in_range_cidr` and `in cidr %list` compile to (IPv4 and IPv6).

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{Array, BooleanArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::cast::as_string_array;
use datafusion::common::{exec_err, Result as DfResult, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// Name under which the UDF is registered.
pub const IP_IN_CIDR: &str = "lateral_ip_in_cidr";

/// An address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// `10.0.0.0/8`, `fe80::/10`, or a single address (a full-length prefix).
    pub fn parse(s: &str) -> Option<IpNet> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.trim().parse::<u8>().ok()?)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpNet { addr, prefix })
    }

    /// Whether `ip` lies in the range (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Parse an address as events hold it (tolerating brackets and an IPv6 zone).
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_start_matches('[').trim_end_matches(']');
    let s = s.split('%').next().unwrap_or(s);
    s.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// `lateral_ip_in_cidr(ip, cidr1, cidr2, ...)`: true when `ip` is in any range. A missing or
/// unparsable address is false (never NULL), so `NOT` keeps events lacking the field.
#[derive(Debug, PartialEq, Eq, Hash)]
struct IpInCidr {
    signature: Signature,
}

enum CidrArg {
    Fixed(Option<IpNet>),
    PerRow(StringArray),
}

impl ScalarUDFImpl for IpInCidr {
    fn name(&self) -> &str {
        IP_IN_CIDR
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let Some((ip_arg, cidr_args)) = args.args.split_first() else {
            return exec_err!("{IP_IN_CIDR} needs an address and at least one range");
        };
        if cidr_args.is_empty() {
            return exec_err!("{IP_IN_CIDR} needs an address and at least one range");
        }
        let mut ranges = Vec::with_capacity(cidr_args.len());
        for arg in cidr_args {
            ranges.push(match arg {
                ColumnarValue::Scalar(ScalarValue::Utf8(Some(s))) => match IpNet::parse(s) {
                    Some(net) => CidrArg::Fixed(Some(net)),
                    None => return exec_err!("{IP_IN_CIDR}: invalid CIDR range \"{s}\""),
                },
                ColumnarValue::Scalar(ScalarValue::Utf8(None)) => CidrArg::Fixed(None),
                ColumnarValue::Array(a) => CidrArg::PerRow(as_string_array(a)?.clone()),
                ColumnarValue::Scalar(other) => {
                    return exec_err!("{IP_IN_CIDR}: expected a string range, got {other:?}")
                }
            });
        }
        let ips = ip_arg.to_array(rows)?;
        let ips = as_string_array(&ips)?;
        let out: BooleanArray = (0..rows)
            .map(|row| {
                let Some(ip) = (!ips.is_null(row))
                    .then(|| ips.value(row))
                    .and_then(parse_ip)
                else {
                    return Some(false);
                };
                Some(ranges.iter().any(|r| match r {
                    CidrArg::Fixed(net) => net.is_some_and(|n| n.contains(ip)),
                    CidrArg::PerRow(a) => {
                        !a.is_null(row)
                            && IpNet::parse(a.value(row)).is_some_and(|n| n.contains(ip))
                    }
                }))
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// The shared UDF instance.
pub fn ip_in_cidr_udf() -> Arc<ScalarUDF> {
    static UDF: OnceLock<Arc<ScalarUDF>> = OnceLock::new();
    UDF.get_or_init(|| {
        Arc::new(ScalarUDF::from(IpInCidr {
            signature: Signature::variadic(vec![DataType::Utf8], Volatility::Immutable),
        }))
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        parse_ip(s).expect("address")
    }

    #[test]
    fn ranges_contain_addresses() {
        let net = IpNet::parse("10.0.0.0/8").expect("range");
        assert!(net.contains(ip("10.200.3.4")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.1.2.3")));
        assert!(!net.contains(ip("fe80::1")));
        let host = IpNet::parse("10.0.2.18").expect("single address");
        assert!(host.contains(ip("10.0.2.18")));
        assert!(!host.contains(ip("10.0.2.19")));
        let all = IpNet::parse("0.0.0.0/0").expect("everything");
        assert!(all.contains(ip("192.168.1.1")));
        let v6 = IpNet::parse("fe80::/10").expect("link local");
        assert!(v6.contains(ip("fe80::90e:17af:263c:5209%12")));
        assert!(!v6.contains(ip("2001:db8::1")));
        assert!(IpNet::parse("::/0").expect("all v6").contains(ip("::1")));
    }

    #[test]
    fn bad_ranges_are_rejected() {
        for bad in [
            "10.0.0.0/33",
            "fe80::/129",
            "10.0.0/8",
            "x",
            "",
            "10.0.0.0/",
            "1.2.3.4/-1",
        ] {
            assert_eq!(IpNet::parse(bad), None, "{bad}");
        }
    }
}
