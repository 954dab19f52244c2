"""URL helpers: canonical forms for de-duplication, scheme checks and safe joining."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from tidings.digits import ascii_int

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "ref_src",
        "ref_url",
        "_ga",
        "_gl",
        "yclid",
        "spm",
        "scm",
        "ocid",
        "cmpid",
        "icid",
        "__twitter_impression",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wt_mc",
        "ns_mchannel",
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "at_")
DEFAULT_PORTS = {"http": 80, "https": 443}
HTTP_SCHEMES = frozenset({"http", "https"})


def is_tracking_param(name: str) -> bool:
    """True when a query parameter only tracks the click and never selects content."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def is_http_url(url: str) -> bool:
    """True for absolute http(s) URLs with a host and, if any, a port of ASCII digits below 65536."""
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # raises on a port no client could use ("¹¹", "99999")
    except ValueError:
        return False
    return parts.scheme.lower() in HTTP_SCHEMES and bool(parts.hostname)


def safe_http_url(url: object) -> str | None:
    """The URL when it is an absolute http(s) URL without control characters, else None.

    The one guard for every URL that becomes a link or an API `url` field: `javascript:`, `data:` and other
    schemes never get through, at ingest and again at output.
    """
    if not isinstance(url, str):
        return None
    candidate = url.strip()
    if not candidate or any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in candidate):
        return None
    return candidate if is_http_url(candidate) else None


def host_of(url: str) -> str:
    """The lower-case host name of a URL ("" when it has none)."""
    try:
        return (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return ""


def _netloc_without_default_port(scheme: str, netloc: str) -> str:
    userinfo, _, hostport = netloc.rpartition("@")
    host, port = hostport, ""
    # Bracketed IPv6 literals contain colons of their own, so split on the last one outside brackets.
    if hostport.startswith("["):
        end = hostport.find("]")
        host, port = hostport[: end + 1], hostport[end + 2 :]
    elif ":" in hostport:
        host, _, port = hostport.rpartition(":")
    host = host.lower().rstrip(".")
    number = ascii_int(port)
    if number is not None and number == DEFAULT_PORTS.get(scheme):
        port = ""
    rebuilt = f"{host}:{port}" if port else host
    return f"{userinfo}@{rebuilt}" if userinfo else rebuilt


def canonicalize_url(url: str) -> str:
    """A canonical form of a URL: lower-case scheme and host, no default port, fragment or tracking params."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    netloc = _netloc_without_default_port(scheme, parts.netloc)
    path = parts.path or ("/" if scheme in HTTP_SCHEMES and netloc else "")
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking_param(k)]
    query = urlencode(sorted(pairs), doseq=True)
    return urlunsplit((scheme, netloc, path, query, ""))


def join_url(base: str | None, value: str) -> str | None:
    """value made absolute against base, or None when either is malformed (say an unclosed IPv6 bracket,
    which makes the standard library raise): one bad link never aborts a whole feed or page."""
    try:
        joined = urljoin(base, value) if base else value
        urlsplit(joined)
    except ValueError:
        return None
    return joined
