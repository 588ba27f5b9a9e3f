//! Address rules: networks in CIDR notation ([`Net`]), the IPv6 forms that carry an IPv4
//! address ([`unwrap`]), and the local ranges a production installation refuses unless allowed
//! ([`LOCAL_NETS`]).

use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net};

/// The ranges refused in production unless an allow rule names them: "this network" and
/// unspecified, private (RFC 1918), shared (CGNAT), loopback, link-local, multicast and
/// reserved IPv4 (broadcast included); unspecified, loopback and IPv4-compatible IPv6
/// (`::/96`), link-local, site-local, unique-local and multicast IPv6. IPv4-mapped and NAT64
/// addresses are matched as the IPv4 address they carry ([`unwrap`]).
pub const LOCAL_NETS: [&str; 14] = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/96",
    "fe80::/10",
    "fec0::/10",
    "fc00::/7",
    "ff00::/8",
];

/// A network (`10.0.0.0/8`, `fd00::/8`) or a single address (`192.0.2.7`), as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net(IpNet);

/// A rule that is neither a network nor an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a network (`10.0.0.0/8`, `fd00::/8`) or an address")]
pub struct NetError(String);

impl Net {
    /// Whether `ip` (taken as [`unwrap`] gives it) is in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&unwrap(ip))
    }
}

impl FromStr for Net {
    type Err = NetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let net = match s.parse::<IpNet>() {
            Ok(net) => net.trunc(),
            Err(_) => IpNet::from(s.parse::<IpAddr>().map_err(|_| NetError(s.to_owned()))?),
        };
        // An IPv4-mapped IPv6 network is the IPv4 network it maps: addresses are unwrapped too.
        if let IpNet::V6(v6) = net
            && let Some(v4) = v6.network().to_ipv4_mapped()
            && v6.prefix_len() >= 96
        {
            let v4 = Ipv4Net::new(v4, v6.prefix_len() - 96).expect("a prefix of at most 32");
            return Ok(Self(IpNet::V4(v4)));
        }
        Ok(Self(net))
    }
}

impl std::fmt::Display for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The address rules are matched against: the IPv4 address an IPv4-mapped (`::ffff:a.b.c.d`)
/// or NAT64 (`64:ff9b::a.b.c.d`) IPv6 address carries, any other address as it is.
pub fn unwrap(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else { return ip };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    match v6.segments() {
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => IpAddr::V4(Ipv4Addr::from((u32::from(high) << 16) | u32::from(low))),
        _ => ip,
    }
}

/// [`LOCAL_NETS`], parsed.
pub fn local_nets() -> Vec<Net> {
    LOCAL_NETS.iter().map(|n| n.parse().expect("the local ranges are valid networks")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn local(s: &str) -> bool {
        local_nets().iter().any(|n| n.contains(ip(s)))
    }

    #[test]
    fn networks_and_addresses_parse() {
        let net: Net = "10.1.2.3/8".parse().unwrap();
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert!(net.contains(ip("10.200.0.1")) && !net.contains(ip("11.0.0.1")));
        let one: Net = " 192.0.2.7 ".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6: Net = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!("10.0.0.0/33".parse::<Net>().is_err());
        assert!("db.internal".parse::<Net>().is_err());
        assert!("".parse::<Net>().is_err());
    }

    #[test]
    fn ipv4_carried_in_ipv6_is_matched_as_ipv4() {
        assert_eq!(unwrap(ip("::ffff:127.0.0.1")), ip("127.0.0.1"));
        assert_eq!(unwrap(ip("64:ff9b::a00:1")), ip("10.0.0.1"));
        assert_eq!(unwrap(ip("2001:db8::1")), ip("2001:db8::1"));
        let net: Net = "127.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("::ffff:127.0.0.5")));
        let mapped: Net = "::ffff:10.0.0.0/104".parse().unwrap();
        assert_eq!(mapped.to_string(), "10.0.0.0/8");
        assert!(mapped.contains(ip("10.9.9.9")) && mapped.contains(ip("::ffff:10.9.9.9")));
    }

    #[test]
    fn local_ranges() {
        for refused in [
            "127.0.0.1",
            "127.8.8.8",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "fd00::1",
            "fc00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:192.168.0.1",
            "64:ff9b::7f00:1",
        ] {
            assert!(local(refused), "{refused} is local");
        }
        for public in ["8.8.8.8", "172.32.0.1", "192.0.2.1", "2001:db8::1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(!local(public), "{public} is not local");
        }
    }
}
