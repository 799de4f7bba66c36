//! Which addresses HTTP tasks may connect to. A flow's author picks the URL, so without a rule
//! an account could reach the service's own network: in Lambda the Runtime API on
//! 127.0.0.1:9001 (answering other invocations) and link-local metadata addresses; elsewhere
//! loopback services and the private network. Special-purpose ranges are denied unless an
//! allowlist names them; IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64,
//! 6to4) are judged by that address. The check is pure: `connect.rs` applies it to the
//! resolved address of every connection.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The setting that lists the networks HTTP tasks may reach despite the rule.
pub const ALLOW_NETWORKS_ENV: &str = "FNF_HTTP_ALLOW_NETWORKS";

const UNSPECIFIED: &str = "an unspecified address";
const LOOPBACK: &str = "a loopback address";
const LINK_LOCAL: &str = "a link-local address";
const PRIVATE: &str = "a private address";
const MULTICAST: &str = "a multicast address";
const RESERVED: &str = "a reserved address";

/// IPv4 special-purpose ranges (RFC 6890 and its updates) that HTTP tasks may not reach.
const V4_DENIED: [([u8; 4], u8, &str); 15] = [
    ([0, 0, 0, 0], 8, UNSPECIFIED),
    ([10, 0, 0, 0], 8, PRIVATE),
    ([100, 64, 0, 0], 10, "a carrier-grade NAT address"),
    ([127, 0, 0, 0], 8, LOOPBACK),
    ([169, 254, 0, 0], 16, LINK_LOCAL),
    ([172, 16, 0, 0], 12, PRIVATE),
    ([192, 0, 0, 0], 24, RESERVED),
    ([192, 0, 2, 0], 24, RESERVED),
    ([192, 88, 99, 0], 24, RESERVED),
    ([192, 168, 0, 0], 16, PRIVATE),
    ([198, 18, 0, 0], 15, RESERVED),
    ([198, 51, 100, 0], 24, RESERVED),
    ([203, 0, 113, 0], 24, RESERVED),
    ([224, 0, 0, 0], 4, MULTICAST),
    // 240.0.0.0/4 holds the limited broadcast address 255.255.255.255.
    ([240, 0, 0, 0], 4, "a reserved or broadcast address"),
];

/// IPv6 ranges denied in their own right (embedded IPv4 forms are handled before these).
const V6_DENIED: [(u128, u8, &str); 10] = [
    (0, 128, UNSPECIFIED),
    (1, 128, LOOPBACK),
    // RFC 8215 local-use NAT64: translates to addresses of the operator's choosing.
    (0x0064_ff9b_0001 << 80, 48, PRIVATE),
    (0x0100 << 112, 64, RESERVED),
    // Teredo: the IPv4 server and client inside are obfuscated, so they cannot be judged.
    (0x2001_0000 << 96, 32, RESERVED),
    (0x2001_0db8 << 96, 32, RESERVED),
    (0xfc00 << 112, 7, "a unique-local address"),
    (0xfe80 << 112, 10, LINK_LOCAL),
    (0xfec0 << 112, 10, "a site-local address"),
    (0xff00 << 112, 8, MULTICAST),
];

/// One allowed network, `address/prefix` (a bare address is the one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(text: &str) -> Result<Network, EgressError> {
        let bad = || EgressError::BadNetwork(text.to_owned());
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(bad)?,
        };
        Ok(Network { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                in_prefix(u32::from(net).into(), u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                in_prefix(u128::from(net), u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Whether `ip` is in `net`/`prefix`, for addresses `width` bits wide (held in a u128).
fn in_prefix(net: u128, ip: u128, prefix: u8, width: u8) -> bool {
    let shift = u32::from(width - prefix);
    shift >= u32::from(width) || (net >> shift) == (ip >> shift)
}

/// The egress rule: special-purpose addresses are denied unless `allowed` holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Egress {
    allowed: Vec<Network>,
}

/// A connection HTTP tasks may not make.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{addr} is {range}, which HTTP tasks may not reach unless {ALLOW_NETWORKS_ENV} lists it")]
pub struct Denied {
    pub addr: IpAddr,
    pub range: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    #[error(
        "{ALLOW_NETWORKS_ENV}: {0:.64?} is not an IP address or network (e.g. 10.1.0.0/16), \
         nor `none`"
    )]
    BadNetwork(String),
}

impl Egress {
    /// Special-purpose addresses denied, loopback included (the default).
    pub fn deny() -> Egress {
        Egress::default()
    }

    /// Loopback (127.0.0.0/8, ::1) allowed too: local `serve` without authentication, where
    /// every caller is the operator anyway, and tests.
    pub fn allow_loopback() -> Egress {
        Egress::allowing(vec![
            Network::parse("127.0.0.0/8").expect("a valid network"),
            Network::parse("::1").expect("a valid network"),
        ])
    }

    pub fn allowing(allowed: Vec<Network>) -> Egress {
        Egress { allowed }
    }

    /// A comma-separated list of networks (`127.0.0.1/32,10.1.0.0/16`); `none` is no network.
    pub fn parse(list: &str) -> Result<Egress, EgressError> {
        if list.trim().eq_ignore_ascii_case("none") {
            return Ok(Egress::deny());
        }
        let allowed = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Network::parse)
            .collect::<Result<_, _>>()?;
        Ok(Egress { allowed })
    }

    pub fn allowed(&self) -> &[Network] {
        &self.allowed
    }

    /// Whether HTTP tasks may connect to `ip`. An allowed network also allows the
    /// IPv4-mapped form of its addresses (the same destination).
    pub fn check(&self, ip: IpAddr) -> Result<(), Denied> {
        let Some(range) = special_range(ip) else {
            return Ok(());
        };
        let canonical = ip.to_canonical();
        if self
            .allowed
            .iter()
            .any(|n| n.contains(ip) || n.contains(canonical))
        {
            return Ok(());
        }
        Err(Denied { addr: ip, range })
    }
}

/// What special-purpose range `ip` is in (as the cause words it), or `None` when public.
pub fn special_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_range(v4),
        IpAddr::V6(v6) => v6_range(v6),
    }
}

fn v4_range(ip: Ipv4Addr) -> Option<&'static str> {
    let bits = u32::from(ip).into();
    V4_DENIED
        .iter()
        .find(|(net, prefix, _)| in_prefix(u32::from_be_bytes(*net).into(), bits, *prefix, 32))
        .map(|(_, _, range)| *range)
}

fn v6_range(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(ip);
    // `::` and `::1` first: as IPv4-compatible forms they would read as 0.0.0.0 and 0.0.0.1.
    if bits > 1
        && let Some(v4) = embedded_v4(bits)
    {
        return v4_range(v4);
    }
    V6_DENIED
        .iter()
        .find(|(net, prefix, _)| in_prefix(*net, bits, *prefix, 128))
        .map(|(_, _, range)| *range)
}

/// The IPv4 address an IPv6 address stands for, in the forms that reach it: mapped
/// (::ffff:a.b.c.d), translated (::ffff:0:a.b.c.d), compatible (::a.b.c.d, deprecated but
/// still routed by some stacks), NAT64 well-known prefix (64:ff9b::/96) and 6to4 (2002::/16).
fn embedded_v4(bits: u128) -> Option<Ipv4Addr> {
    let low = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    match bits >> 32 {
        0 | 0xffff | 0xffff_0000 | 0x0064_ff9b_0000_0000_0000_0000 => return Some(low),
        _ => {}
    }
    (bits >> 112 == 0x2002).then(|| Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32))
}

#[cfg(test)]
mod tests;
