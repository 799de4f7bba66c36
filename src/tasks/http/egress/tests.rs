use super::*;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn denied(egress: &Egress, text: &str) -> Option<&'static str> {
    egress.check(ip(text)).err().map(|d| d.range)
}

#[test]
fn denies_each_special_range_by_default() {
    let egress = Egress::default();
    for (addr, range) in [
        ("0.0.0.0", UNSPECIFIED),
        ("0.1.2.3", UNSPECIFIED),
        ("10.0.0.1", PRIVATE),
        ("10.255.255.255", PRIVATE),
        ("100.64.0.1", "a carrier-grade NAT address"),
        ("100.127.255.255", "a carrier-grade NAT address"),
        ("127.0.0.1", LOOPBACK),
        ("127.255.0.9", LOOPBACK),
        ("169.254.169.254", LINK_LOCAL),
        ("172.16.0.1", PRIVATE),
        ("172.31.255.254", PRIVATE),
        ("192.0.0.8", RESERVED),
        ("192.0.2.1", RESERVED),
        ("192.168.1.1", PRIVATE),
        ("198.18.0.1", RESERVED),
        ("224.0.0.1", MULTICAST),
        ("239.255.255.250", MULTICAST),
        ("255.255.255.255", "a reserved or broadcast address"),
        ("::", UNSPECIFIED),
        ("::1", LOOPBACK),
        ("fe80::1", LINK_LOCAL),
        ("febf::1", LINK_LOCAL),
        ("fc00::1", "a unique-local address"),
        ("fd12:3456::1", "a unique-local address"),
        ("fec0::1", "a site-local address"),
        ("ff02::1", MULTICAST),
        ("64:ff9b:1::1", PRIVATE),
        ("100::1", RESERVED),
        ("2001::1", RESERVED),
        ("2001:db8::1", RESERVED),
    ] {
        assert_eq!(denied(&egress, addr), Some(range), "{addr}");
    }
}

#[test]
fn allows_public_addresses() {
    let egress = Egress::default();
    for addr in [
        "1.1.1.1",
        "8.8.8.8",
        "9.255.255.255",
        "11.0.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "126.255.255.255",
        "128.0.0.1",
        "169.253.255.255",
        "172.15.255.255",
        "172.32.0.0",
        "192.167.255.255",
        "192.169.0.0",
        "223.255.255.255",
        "2606:4700:4700::1111",
        "2a00:1450:4001::200e",
        "64:ff9b::808:808",
        "2002:808:808::1",
        "::ffff:8.8.8.8",
    ] {
        assert_eq!(denied(&egress, addr), None, "{addr}");
    }
}

#[test]
fn judges_ipv6_forms_by_the_ipv4_address_they_embed() {
    let egress = Egress::default();
    for (addr, range) in [
        ("::ffff:127.0.0.1", LOOPBACK),
        ("::ffff:7f00:1", LOOPBACK),
        ("::ffff:169.254.169.254", LINK_LOCAL),
        ("::ffff:10.0.0.1", PRIVATE),
        ("::ffff:0.0.0.0", UNSPECIFIED),
        ("::ffff:0:127.0.0.1", LOOPBACK),
        ("::127.0.0.1", LOOPBACK),
        ("::192.168.0.1", PRIVATE),
        ("::0.0.0.2", UNSPECIFIED),
        ("64:ff9b::127.0.0.1", LOOPBACK),
        ("64:ff9b::a9fe:a9fe", LINK_LOCAL),
        ("2002:7f00:1::", LOOPBACK),
        ("2002:a00:1::1", PRIVATE),
    ] {
        assert_eq!(denied(&egress, addr), Some(range), "{addr}");
    }
}

#[test]
fn an_allowlist_overrides() {
    let egress = Egress::parse(" 127.0.0.1/32, 10.1.0.0/16 ,fd00::/8,").unwrap();
    assert_eq!(egress.allowed().len(), 3);
    for addr in ["127.0.0.1", "::ffff:127.0.0.1", "10.1.2.3", "fd00::5"] {
        assert_eq!(denied(&egress, addr), None, "{addr}");
    }
    for addr in [
        "127.0.0.2",
        "::1",
        "10.2.0.1",
        "fc00::1",
        "0.0.0.0",
        "::ffff:10.2.0.1",
    ] {
        assert!(denied(&egress, addr).is_some(), "{addr}");
    }

    let loopback = Egress::allow_loopback();
    for addr in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
        assert_eq!(denied(&loopback, addr), None, "{addr}");
    }
    for addr in ["0.0.0.0", "::", "169.254.169.254", "10.0.0.1"] {
        assert!(denied(&loopback, addr).is_some(), "{addr}");
    }

    let everything = Egress::parse("0.0.0.0/0,::/0").unwrap();
    for addr in ["127.0.0.1", "::1", "fe80::1", "255.255.255.255"] {
        assert_eq!(denied(&everything, addr), None, "{addr}");
    }
    assert_eq!(Egress::parse("none").unwrap(), Egress::deny());
    assert_eq!(Egress::parse("").unwrap(), Egress::deny());
}

#[test]
fn parses_networks_or_names_the_bad_one() {
    let net = Network::parse("10.1.0.0/16").unwrap();
    assert_eq!(net.to_string(), "10.1.0.0/16");
    assert_eq!(Network::parse("::1").unwrap().to_string(), "::1/128");
    assert_eq!(Network::parse("1.2.3.4").unwrap().to_string(), "1.2.3.4/32");
    for bad in [
        "10.0.0.0/33",
        "::/129",
        "10.0.0/8",
        "localhost",
        "10.0.0.0/x",
        "/8",
    ] {
        let err = Egress::parse(&format!("127.0.0.1/32,{bad}")).unwrap_err();
        assert_eq!(err, EgressError::BadNetwork(bad.to_owned()));
        assert!(err.to_string().contains(ALLOW_NETWORKS_ENV), "{err}");
    }
}

#[test]
fn the_cause_names_the_address_and_the_setting() {
    let err = Egress::default().check(ip("127.0.0.1")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "127.0.0.1 is a loopback address, which HTTP tasks may not reach unless \
         FNF_HTTP_ALLOW_NETWORKS lists it"
    );
}
