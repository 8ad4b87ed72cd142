"""The address tricks corpus: webhook URLs that try to reach an address production mode must not
call (or that are malformed), each with the verdict the destination guard must give.

Used by the pure decision tests (tests/unit/test_destinations.py) and by the API tests
(tests/integration/test_destination_guard.py). `resolve` is the fake DNS they all use; no
address here is ever connected to (the decision tests make no connection, and the API tests
only save URLs).
"""

# The corpus is made of look-alike characters on purpose (fullwidth digits and letters, other
# dots): the confusable-character rule would flag every one of them.
# ruff: noqa: RUF001

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Expect(Enum):
    ALLOWED = "allowed"  # in both modes
    PRODUCTION_REFUSES = "refused in production"  # development mode (local testing) allows it
    ALWAYS_REFUSED = "refused in every mode"  # malformed: no normal form


@dataclass(frozen=True)
class Trick:
    url: str
    expect: Expect
    # Refused: a fragment the reason must contain. Allowed: the normal form (URL the client
    # is given), when the trick is about it.
    detail: str = ""

    @property
    def refused_in_production(self) -> bool:
        return self.expect is not Expect.ALLOWED


PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:4700:4700::1111"

# The fake DNS: name → answer. Unknown names do not resolve.
DNS: dict[str, list[str]] = {
    "public.example": [PUBLIC_V4],
    "public6.example": [PUBLIC_V6],
    "xn--mnchen-3ya.example": [PUBLIC_V4],
    "localhost": ["127.0.0.1"],
    "internal.example": ["10.0.0.7"],
    "mixed.example": [PUBLIC_V4, "10.0.0.1"],
    "v6loop.example": ["::1"],
    "mapped.example": ["::ffff:127.0.0.1"],
    "nat64.example": ["64:ff9b::a9fe:a9fe"],
    "metadata.example": ["169.254.169.254"],
    "linklocal6.example": ["fe80::1%eth0"],
    "garbage.example": ["not-an-address"],
    "empty.example": [],
}
LONG_PUBLIC_SUFFIX = ".public.example"  # any name under it resolves to PUBLIC_V4


async def resolve(host: str, port: int) -> list[str]:
    if host.endswith(LONG_PUBLIC_SUFFIX):
        return [PUBLIC_V4]
    if host in DNS:
        return list(DNS[host])
    raise OSError(f"[Errno -2] Name or service not known: {host}")


A, P, X = Expect.ALLOWED, Expect.PRODUCTION_REFUSES, Expect.ALWAYS_REFUSED
LOOPBACK = "127.0.0.0/8"

TRICKS: tuple[Trick, ...] = (
    # -- IPv4 special-purpose blocks -------------------------------------------------------------
    Trick("https://127.0.0.1/", P, LOOPBACK),
    Trick("https://127.255.255.254/", P, LOOPBACK),
    Trick("https://10.0.0.1/", P, "10.0.0.0/8"),
    Trick("https://172.16.0.1/", P, "172.16.0.0/12"),
    Trick("https://172.31.255.255/", P, "172.16.0.0/12"),
    Trick("https://192.168.1.1/", P, "192.168.0.0/16"),
    Trick("https://169.254.169.254/latest/meta-data", P, "169.254.0.0/16"),
    Trick("https://100.64.0.1/", P, "100.64.0.0/10"),
    Trick("https://0.0.0.0/", P, "0.0.0.0/32"),
    Trick("https://0.1.2.3/", P, "0.0.0.0/8"),
    Trick("https://192.0.0.1/", P, "192.0.0.0/29"),
    Trick("https://192.0.0.8/", P, "192.0.0.8/32"),
    Trick("https://192.0.0.170/", P, "192.0.0.170/32"),
    Trick("https://192.0.0.171/", P, "192.0.0.171/32"),
    Trick("https://192.0.0.192/", P, "192.0.0.0/24"),
    Trick("https://192.0.0.255/", P, "192.0.0.0/24"),
    Trick("https://192.0.2.1/", P, "192.0.2.0/24"),
    Trick("https://198.51.100.1/", P, "198.51.100.0/24"),
    Trick("https://203.0.113.1/", P, "203.0.113.0/24"),
    Trick("https://198.18.0.1/", P, "198.18.0.0/15"),
    Trick("https://198.19.255.255/", P, "198.18.0.0/15"),
    Trick("https://192.88.99.1/", P, "192.88.99.0/24"),
    Trick("https://192.88.99.2/", P, "192.88.99.2/32"),
    Trick("https://224.0.0.1/", P, "224.0.0.0/4"),
    Trick("https://239.255.255.250/", P, "224.0.0.0/4"),
    Trick("https://240.0.0.1/", P, "240.0.0.0/4"),
    Trick("https://255.255.255.255/", P, "255.255.255.255/32"),
    # Globally reachable by the registries (some of them inside refused blocks), or just
    # outside a refused block.
    Trick(f"https://{PUBLIC_V4}/", A),
    Trick("https://8.8.8.8/", A),
    Trick("https://192.0.0.9/", A),
    Trick("https://192.0.0.10/", A),
    Trick("https://192.31.196.1/", A),
    Trick("https://192.52.193.1/", A),
    Trick("https://192.175.48.1/", A),
    Trick("https://172.32.0.1/", A),
    Trick("https://100.128.0.1/", A),
    Trick("https://198.20.0.1/", A),
    # -- IPv6 literals and every IPv4 embedding ----------------------------------------------------
    Trick("https://[::1]/", P, "::1/128"),
    Trick("https://[::]/", P, "::/128"),
    Trick("https://[0:0:0:0:0:0:0:1]/", P, "::1/128"),
    Trick("https://[::ffff:127.0.0.1]/", P, LOOPBACK),
    Trick("https://[::ffff:7f00:1]/", P, LOOPBACK),
    Trick("https://[::FFFF:10.0.0.1]/", P, "10.0.0.0/8"),
    Trick("https://[::ffff:169.254.169.254]/", P, "169.254.0.0/16"),
    Trick("https://[::ffff:8.8.8.8]/", A, "https://[::ffff:808:808]/"),
    Trick("https://[::127.0.0.1]/", P, "IPv4-compatible"),
    Trick("https://[::8.8.8.8]/", P, "::/96"),
    Trick("https://[::ffff:0:7f00:1]/", P, "SIIT"),
    Trick("https://[::ffff:0:808:808]/", P, "::ffff:0:0:0/96"),
    Trick("https://[64:ff9b::7f00:1]/", P, LOOPBACK),
    Trick("https://[64:ff9b::10.0.0.1]/", P, "10.0.0.0/8"),
    Trick("https://[64:ff9b::a9fe:a9fe]/", P, "169.254.0.0/16"),
    Trick("https://[64:ff9b::808:808]/", A),
    Trick("https://[64:ff9b:1::7f00:1]/", P, LOOPBACK),
    Trick("https://[64:ff9b:1::808:808]/", P, "64:ff9b:1::/48"),
    Trick("https://[2002:7f00:1::]/", P, LOOPBACK),
    Trick("https://[2002:a00:1::1]/", P, "10.0.0.0/8"),
    Trick("https://[2002:808:808::1]/", P, "2002::/16"),
    # Teredo: server 65.54.227.120, client 127.0.0.1 (stored inverted: 80ff:fffe).
    Trick("https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", P, LOOPBACK),
    Trick("https://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/", P, "2001::/32"),
    Trick("https://[fe80::1]/", P, "fe80::/10"),
    Trick("https://[fc00::1]/", P, "fc00::/7"),
    Trick("https://[fd12:3456:789a::1]/", P, "fc00::/7"),
    Trick("https://[fec0::1]/", P, "fec0::/10"),
    Trick("https://[ff02::1]/", P, "ff00::/8"),
    Trick("https://[ff0e::1]/", P, "ff00::/8"),
    Trick("https://[2001:db8::1]/", P, "2001:db8::/32"),
    Trick("https://[3fff::1]/", P, "3fff::/20"),
    Trick("https://[5f00::1]/", P, "5f00::/16"),
    Trick("https://[100::1]/", P, "100::/64"),
    Trick("https://[100:0:0:1::1]/", P, "100:0:0:1::/64"),
    Trick("https://[2001:2::1]/", P, "2001:2::/48"),
    Trick("https://[2001:10::1]/", P, "2001:10::/28"),
    Trick("https://[2001:1ff::1]/", P, "2001::/23"),
    Trick("https://[4000::1]/", P, "reserved"),
    Trick("https://[2001:1::1]/", A),
    Trick("https://[2001:1::3]/", A),
    Trick("https://[2001:3::1]/", A),
    Trick("https://[2001:4:112::1]/", A),
    Trick("https://[2001:20::1]/", A),
    Trick("https://[2001:30::1]/", A),
    Trick("https://[2620:4f:8000::1]/", A),
    Trick(f"https://[{PUBLIC_V6}]/", A),
    Trick(
        "https://[2001:4860:4860:0000:0000:0000:0000:8888]/", A, "https://[2001:4860:4860::8888]/"
    ),
    # -- IPv4 numbers the way inet_aton reads them ----------------------------------------------
    Trick("https://0x7f.1/", P, LOOPBACK),
    Trick("https://0x7f000001/", P, LOOPBACK),
    Trick("https://017700000001/", P, LOOPBACK),
    Trick("https://2130706433/", P, LOOPBACK),
    Trick("https://127.1/", P, LOOPBACK),
    Trick("https://127.0.1/", P, LOOPBACK),
    Trick("https://0177.0.0.1/", P, LOOPBACK),
    Trick("https://0X7F.0.0.1/", P, LOOPBACK),
    Trick("https://127.0.0.01/", P, LOOPBACK),
    Trick("https://0/", P, "0.0.0.0/32"),
    Trick("https://0x0/", P, "0.0.0.0/32"),
    Trick("https://3232235777/", P, "192.168.0.0/16"),
    Trick("https://0xa9.0xfe.0xa9.0xfe/", P, "169.254.0.0/16"),
    Trick("https://0251.0376.0251.0376/", P, "169.254.0.0/16"),
    Trick("https://134744072/", A, "https://8.8.8.8/"),
    Trick("https://0x08080808/", A, "https://8.8.8.8/"),
    Trick("https://1.2.3.4.5/", X, "IPv4"),
    Trick("https://256.0.0.1/", X, "IPv4"),
    Trick("https://08.0.0.1/", X, "IPv4"),
    Trick("https://4294967296/", X, "IPv4"),
    Trick("https://public.example.0x7f/", X, "IPv4"),
    # -- IDNA / UTS-46: fullwidth, other dots, mapped letters, invisible characters --------------
    Trick("https://１２７.０.０.１/", P, LOOPBACK),
    Trick("https://127。0。0。1/", P, LOOPBACK),
    Trick("https://127．0．0．1/", P, LOOPBACK),
    Trick("https://127｡0｡0｡1/", P, LOOPBACK),
    Trick("https://𝟏𝟐𝟕.𝟎.𝟎.𝟏/", P, LOOPBACK),
    Trick("https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", P, LOOPBACK),
    Trick("https://ＬＯＣＡＬＨＯＳＴ/", P, LOOPBACK),
    Trick("https://ｌｏｃａｌｈｏｓｔ:8443/", P, LOOPBACK),
    Trick("https://loc\u00adalhost/", P, LOOPBACK),
    Trick("https://local\u200bhost/", P, LOOPBACK),
    Trick("https://xn--mnchen-3ya.example/", A),
    Trick("https://münchen.example/hook", A, "https://xn--mnchen-3ya.example/hook"),
    Trick("https://ＰＵＢＬＩＣ.example/", A, "https://public.example/"),
    Trick("https://xn--zz.example/", X, "domain name"),
    Trick("https://☃.example/", X, "domain name"),
    Trick("https://\ud800.example/", X, "lone surrogate"),
    Trick("https://under_score.public.example/", A, "https://under_score.public.example/"),
    Trick("https://Under_Score.Public.Example./", A, "https://under_score.public.example/"),
    Trick("https://under_score..example/", X, "domain name"),
    Trick("https://_under.example-/", X, "domain name"),
    Trick("https://xn--zz_.example/", X, "domain name"),
    # -- Trailing dots and case ---------------------------------------------------------------
    Trick("https://localhost./", P, LOOPBACK),
    Trick("https://127.0.0.1./", P, LOOPBACK),
    Trick("https://LOCALHOST/", P, LOOPBACK),
    Trick("https://LocalHost./", P, LOOPBACK),
    Trick("https://PUBLIC.EXAMPLE/", A, "https://public.example/"),
    Trick("https://public.example./", A, "https://public.example/"),
    Trick("HTTPS://Public.Example/Path", A, "https://public.example/Path"),
    Trick("https://public.example../", X, "domain name"),
    Trick("https://.public.example/", X, "domain name"),
    # -- Brackets and zone ids --------------------------------------------------------------
    Trick("https://[127.0.0.1]/", X),
    Trick("https://[::1/", X),
    Trick("https://::1/", X),
    Trick("https://[::1]x/", X),
    Trick("https://[v1.fe]/", X),
    Trick("https://[fe80::1%25eth0]/", X),
    Trick("https://[fe80::1%eth0]/", X),
    Trick("https://[::1%251]/", X),
    # -- Userinfo ---------------------------------------------------------------------------
    Trick("https://user@public.example/", X, "credentials"),
    Trick("https://user:pw@public.example/", X, "credentials"),
    Trick("https://public.example@127.0.0.1/", X, "credentials"),
    Trick("https://127.0.0.1@public.example/", X, "credentials"),
    Trick("https://@public.example/", X, "credentials"),
    Trick("https://public.example%40127.0.0.1/", X, "domain name"),
    Trick("https://public.example\\@127.0.0.1/", X, "backslash"),
    Trick("https://127.0.0.1\\.public.example/", X, "backslash"),
    # -- Percent-encoding in the host ---------------------------------------------------------
    Trick("https://127.0.0.%31/", P, LOOPBACK),
    Trick("https://%31%32%37.0.0.1/", P, LOOPBACK),
    Trick("https://local%68ost/", P, LOOPBACK),
    Trick("https://127%2e0%2e0%2e1/", P, LOOPBACK),
    Trick("https://%EF%BC%91%EF%BC%92%EF%BC%97.0.0.1/", P, LOOPBACK),
    Trick("https://%zz.example/", X, "domain name"),
    Trick("https://%ff.example/", X, "UTF-8"),
    Trick("https://127.0.0.1%00.public.example/", X, "domain name"),
    Trick("https://public.example%2f.evil/", X, "domain name"),
    # -- Ports --------------------------------------------------------------------------------
    Trick("https://127.0.0.1:443/", P, LOOPBACK),
    Trick("https://127.0.0.1:8443/", P, LOOPBACK),
    Trick("https://public.example:8443/", A, "https://public.example:8443/"),
    Trick("https://public.example:443/", A, "https://public.example/"),
    Trick("https://public.example:0443/", A, "https://public.example/"),
    Trick("https://public.example:/", A, "https://public.example/"),
    Trick("https://public.example:0/", X, "port"),
    Trick("https://public.example:65536/", X, "port"),
    Trick("https://public.example:８４４３/", X, "port"),
    Trick("https://public.example:-1/", X, "port"),
    Trick("https://public.example:443:443/", X, "brackets"),
    # -- Labels ------------------------------------------------------------------------------
    Trick("https://a..public.example/", X, "Empty Label"),
    Trick(f"https://{'a' * 64}.public.example/", X, "too long"),
    Trick(f"https://{'a' * 63}.public.example/", A),
    Trick(f"https://{'.'.join(['a' * 60] * 5)}.public.example/", X, "too long"),
    Trick("https://-lead.public.example/", X, "hyphen"),
    # -- Names and what they resolve to --------------------------------------------------------
    Trick("https://public.example/hook?x=1", A, "https://public.example/hook?x=1"),
    Trick("https://public6.example/", A),
    Trick("https://internal.example/", P, "10.0.0.0/8"),
    Trick("https://mixed.example/", P, "10.0.0.0/8"),
    Trick("https://v6loop.example/", P, "::1/128"),
    Trick("https://mapped.example/", P, LOOPBACK),
    Trick("https://nat64.example/", P, "169.254.0.0/16"),
    Trick("https://metadata.example/", P, "169.254.0.0/16"),
    Trick("https://linklocal6.example/", P, "fe80::/10"),
    Trick("https://garbage.example/", P, "not an address"),
    Trick("https://empty.example/", P, "no address"),
    Trick("https://nowhere.example/", P, "could not resolve"),
    # -- Schemes and the rest of the URL -------------------------------------------------------
    Trick("http://public.example/", P, "https://"),
    Trick("http://127.0.0.1:3000/hook", P, "https://"),
    Trick("ftp://public.example/", X, "https://"),
    Trick("javascript:alert(1)", X, "https://"),
    Trick("https:public.example", X),
    Trick("https:///public.example/", X, "no host"),
    Trick("//public.example/", X, "https://"),
    Trick("https://public.example/#frag", X, "fragment"),
    Trick("https://public.example/\t", X, "spaces"),
    Trick(" https://public.example/", X, "spaces"),
    Trick("https://public.example/\x00", X, "control"),
    Trick("https://public\u3000example/", X, "spaces"),
    Trick("https://public.example/" + "a" * 2048, X, "longer"),
    Trick("https://", X, "no host"),
)
