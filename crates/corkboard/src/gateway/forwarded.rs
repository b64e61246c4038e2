//! The client address behind trusted reverse proxies. A proxy appends the
//! address it received a request from to `X-Forwarded-For` (or `Forwarded:
//! for=`), so the right-most entries are the ones trusted hops wrote; the
//! client is the right-most entry that is not itself a trusted proxy.
//! Anything left of it was written by the client and is ignored, and so are
//! the headers altogether when the TCP peer is not a trusted proxy.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The proxies whose forwarding headers are believed (`--trusted-proxy`).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

/// Parses one `--trusted-proxy` value: an address or a CIDR block.
///
/// # Errors
/// When the value is neither.
pub fn parse_net(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{s:?} is not an IP address or CIDR block"))
}

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client's address for a request from `peer` with `headers`.
    /// `X-Forwarded-For` is read if present, else `Forwarded`. Walking the
    /// chain from the right, trusted hops are skipped; an entry that is not
    /// an address (malformed, `unknown`, obfuscated) ends the walk at the
    /// last address reached, so a garbled chain never lets a client choose.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let chain = forwarded_chain(headers);
        let mut client = peer;
        for entry in chain.iter().rev() {
            let Some(ip) = entry else { break };
            client = *ip;
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// The addresses of the forwarding header in order, left to right; `None`
/// for an entry that is not an address.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let xff: Vec<_> = headers.get_all("x-forwarded-for").iter().collect();
    if !xff.is_empty() {
        return xff
            .into_iter()
            .flat_map(|v| match v.to_str() {
                Ok(s) => s.split(',').map(node).collect(),
                Err(_) => vec![None],
            })
            .collect();
    }
    headers
        .get_all("forwarded")
        .iter()
        .flat_map(|v| match v.to_str() {
            Ok(s) => s.split(',').filter_map(forwarded_for).collect(),
            Err(_) => vec![None],
        })
        .collect()
}

/// The `for=` parameter of one `Forwarded` element (RFC 7239), if it has one.
fn forwarded_for(element: &str) -> Option<Option<IpAddr>> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("for")
            .then(|| node(v.trim().trim_matches('"')))
    })
}

/// One node: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]` or
/// `[2001:db8::1]:80`.
fn node(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let ip = s
        .parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            s.strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|r| r.parse().ok())
        })?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(nets: &[&str]) -> TrustedProxies {
        TrustedProxies(nets.iter().map(|n| parse_net(n).unwrap()).collect())
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn flag_values_are_addresses_or_blocks() {
        assert_eq!(parse_net("10.0.0.1").unwrap().to_string(), "10.0.0.1/32");
        assert_eq!(parse_net(" 10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_net("::1").unwrap().to_string(), "::1/128");
        assert_eq!(parse_net("fd00::/8").unwrap().to_string(), "fd00::/8");
        assert!(parse_net("10.0.0.0/33").is_err());
        assert!(parse_net("proxy.local").is_err());
        assert!(parse_net("").is_err());
    }

    /// From a peer that is not a trusted proxy the headers are ignored, however they look.
    #[test]
    fn spoofed_headers_from_an_untrusted_peer_are_ignored() {
        let t = trusted(&["127.0.0.1"]);
        let h = headers(&[
            ("x-forwarded-for", "1.1.1.1, 127.0.0.1"),
            ("forwarded", "for=2.2.2.2"),
        ]);
        assert_eq!(t.client_ip(ip("203.0.113.9"), &h), ip("203.0.113.9"));
        // No proxy trusted at all (the default): the peer, always.
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(ip("127.0.0.1"), &h), ip("127.0.0.1"));
    }

    /// The client behind `peer` that sent `X-Forwarded-For: chain`.
    fn xff(t: &TrustedProxies, peer: &str, chain: &str) -> IpAddr {
        t.client_ip(ip(peer), &headers(&[("x-forwarded-for", chain)]))
    }

    /// The right-most untrusted entry wins; what the client wrote left of it does not.
    #[test]
    fn chains_are_walked_from_the_right() {
        let t = trusted(&["127.0.0.1", "10.0.0.0/8"]);
        let cases = [
            ("198.51.100.7", "198.51.100.7"),
            // The client sent "X-Forwarded-For: 1.1.1.1"; nginx appended its address.
            ("1.1.1.1, 198.51.100.7", "198.51.100.7"),
            // Trusted hops (10.1.2.3 is an inner proxy) are skipped.
            ("1.1.1.1, 198.51.100.7, 10.1.2.3", "198.51.100.7"),
            // Every entry trusted: the left-most one.
            ("10.0.0.5, 10.0.0.6", "10.0.0.5"),
            // A port, as some proxies write it.
            ("198.51.100.7:5000", "198.51.100.7"),
        ];
        for (chain, client) in cases {
            assert_eq!(xff(&t, "127.0.0.1", chain), ip(client), "{chain}");
        }
        // Several header lines are one list, in order.
        let lines = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "198.51.100.7, 10.0.0.2"),
        ]);
        let peer = ip("127.0.0.1");
        assert_eq!(t.client_ip(peer, &lines), ip("198.51.100.7"));
        // No header from a trusted proxy: the proxy itself.
        assert_eq!(t.client_ip(peer, &HeaderMap::new()), peer);
    }

    #[test]
    fn ipv6_and_forwarded() {
        let t = trusted(&["::1", "fd00::/8"]);
        assert_eq!(xff(&t, "::1", "2001:db8::7, fd00::2"), ip("2001:db8::7"));
        assert_eq!(xff(&t, "::1", "[2001:db8::8]:4711"), ip("2001:db8::8"));
        let fwd = headers(&[(
            "forwarded",
            "for=1.1.1.1, for=\"[2001:db8::9]:80\";proto=https, For=\"[fd00::3]\"",
        )]);
        assert_eq!(t.client_ip(ip("::1"), &fwd), ip("2001:db8::9"));
        // An IPv4-mapped peer is its IPv4 address.
        let v4 = trusted(&["127.0.0.1"]);
        assert_eq!(
            xff(&v4, "::ffff:127.0.0.1", "198.51.100.7"),
            ip("198.51.100.7")
        );
    }

    /// A garbled entry ends the walk at the last address reached: never an address the client chose.
    #[test]
    fn malformed_entries_stop_the_walk() {
        let t = trusted(&["127.0.0.1", "10.0.0.0/8"]);
        let peer = ip("127.0.0.1");
        for bad in [
            "not-an-ip",
            "",
            "1.2.3",
            "unknown",
            "_hidden",
            "1.1.1.1 2.2.2.2",
        ] {
            let h = headers(&[("x-forwarded-for", &format!("9.9.9.9, {bad}"))]);
            assert_eq!(t.client_ip(peer, &h), peer, "{bad:?}");
            let h = headers(&[("x-forwarded-for", &format!("9.9.9.9, {bad}, 10.0.0.9"))]);
            assert_eq!(t.client_ip(peer, &h), ip("10.0.0.9"), "{bad:?}");
        }
        let mut h = HeaderMap::new();
        let latin1 = axum::http::HeaderValue::from_bytes(b"9.9.9.9, \xff").unwrap();
        h.insert("x-forwarded-for", latin1);
        assert_eq!(t.client_ip(peer, &h), peer);
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(t.client_ip(peer, &h), peer);
        // A Forwarded element without for= adds no hop.
        let h = headers(&[("forwarded", "for=198.51.100.7, proto=https")]);
        assert_eq!(t.client_ip(peer, &h), ip("198.51.100.7"));
    }
}
