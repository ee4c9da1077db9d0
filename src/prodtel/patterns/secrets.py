"""Credential patterns: URLs with credentials, webhooks, vendor token formats, key=value lines,
private keys. Part of the one table in `prodtel.patterns`.

Vendor formats follow the rule set of gitleaks (MIT) where one exists; each needs a vendor
prefix or a fixed shape, so no rule redacts every long token.
"""

from __future__ import annotations

from prodtel.patterns import Pattern

# (family, regex) of tokens that carry a vendor prefix or a fixed shape. One pattern in the table.
VENDOR_TOKENS: tuple[tuple[str, str], ...] = (
    ("aws", r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"),
    ("github", r"gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"),
    ("gitlab", r"gl(?:pat|dt|ptt|rt|ft|imt|oas|cbt|soat|agent|ffct|rtr)-[A-Za-z0-9_.-]{20,}"),
    ("gitlab", r"GR1348941[A-Za-z0-9_-]{20}|_gitlab_session=[a-z0-9]{32}"),
    ("slack", r"(?:xox[a-z]|xapp|xoxe\.xox[bp])-[A-Za-z0-9-]{10,}"),
    ("stripe", r"(?:sk|pk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,}"),
    ("openai", r"sk-[A-Za-z0-9_-]{20,}"),
    ("google", r"AIza[0-9A-Za-z_-]{35}"),
    ("npm", r"npm_[A-Za-z0-9]{36}"),
    ("pypi", r"pypi-[A-Za-z0-9_-]{50,}"),
    ("1password", r"ops_eyJ[A-Za-z0-9+/]{100,}={0,3}|A3-[A-Z0-9]{6}-[A-Z0-9-]{23,}"),
    ("age", r"AGE-SECRET-KEY-1[A-Z0-9]{58}"),
    ("airtable", r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}"),
    ("authress", r"(?:sc|ext|scauth|authress)_[a-z0-9]{5,30}\.[a-z0-9]{4,6}"
                 r"\.acc[_-][a-z0-9-]{10,32}"
                 r"\.[a-z0-9+/_=-]{30,120}"),
    ("cloudflare", r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}"),
    ("databricks", r"dapi[a-f0-9]{32}(?:-\d)?"),
    ("defined", r"dnkey-[a-z0-9=_-]{26}-[a-z0-9=_-]{52}"),
    ("digitalocean", r"do[opr]_v1_[a-f0-9]{64}"),
    ("doppler", r"dp\.(?:pt|st|ct|sa|scim|audit)\.[A-Za-z0-9]{40,}"),
    ("duffel", r"duffel_(?:test|live)_[A-Za-z0-9_=-]{43}"),
    ("dynatrace", r"dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}"),
    ("facebook", r"EAA[MC][A-Za-z0-9]{100,}|\d{15,16}[|%][0-9A-Za-z_-]{27,40}"),
    ("flutterwave", r"FLW(?:PUBK|SECK)_TEST-?[A-Za-z0-9]{12,32}(?:-X)?"),
    ("flyio", r"fo1_[A-Za-z0-9_-]{43}|fm[12][ar]?_[A-Za-z0-9+/]{100,}={0,3}"),
    ("frameio", r"fio-u-[A-Za-z0-9_=-]{64}"),
    ("grafana", r"glc_[A-Za-z0-9+/]{32,}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"),
    ("harness", r"(?:pat|sat)\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}"),
    ("hashicorp", r"[a-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}|hv[sb]\.[A-Za-z0-9_-]{90,}"),
    ("hashicorp", r"s\.[A-Za-z0-9]{24}\b"),
    ("huggingface", r"hf_[A-Za-z]{34}|api_org_[A-Za-z]{34}"),
    ("intra42", r"s-s4t2(?:ud|af)-[a-f0-9]{64}"),
    ("linear", r"lin_api_[A-Za-z0-9]{40}"),
    ("octopusdeploy", r"API-[A-Z0-9]{26}"),
    ("planetscale", r"pscale_(?:pw|tkn|oauth)_[A-Za-z0-9=._-]{32,64}"),
    ("prefect", r"pnu_[A-Za-z0-9]{36}"),
    ("pulumi", r"pul-[a-f0-9]{40}"),
    ("readme", r"rdme_[a-z0-9]{70}"),
    ("rubygems", r"rubygems_[a-f0-9]{48}"),
    ("scalingo", r"tk-us-[A-Za-z0-9_-]{48}"),
    ("sendgrid", r"SG\.[A-Za-z0-9=_.-]{66}"),
    ("sendinblue", r"xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}"),
    ("sentry", r"sntrys_eyJ[A-Za-z0-9+/=_-]{60,}|sntryu_[a-f0-9]{64}"),
    ("settlemint", r"sm_(?:pat|aat|sat)_[A-Za-z0-9]{16}"),
    ("shippo", r"shippo_(?:live|test)_[a-fA-F0-9]{40}"),
    ("shopify", r"shp(?:ss|at|ca|pa)_[a-fA-F0-9]{32}"),
    ("square", r"sq0(?:csp|atp)-[A-Za-z0-9_\]\\-]{22,60}|EAAA[A-Za-z0-9_-]{22,60}"),
    ("telegram", r"\d{5,16}:A[A-Za-z0-9_-]{34}"),
    ("twitter", r"A{22}[A-Za-z0-9%]{80,100}"),
    ("atlassian", r"ATATT3[A-Za-z0-9_=-]{150,}"),
    ("aws", r"ABSK[A-Za-z0-9+/]{100,}={0,2}|bedrock-api-key-[A-Za-z0-9+/]{20,}={0,2}"),
    ("clickhouse", r"4b1d[A-Za-z0-9]{38}"),
    ("clojars", r"CLOJARS_[a-z0-9]{60}"),
    ("easypost", r"EZ[AT]K[A-Za-z0-9]{54}"),
    ("grafana", r"eyJrIjoi[A-Za-z0-9]{70,400}={0,3}"),
    ("heroku", r"HRKU-AA[A-Za-z0-9_-]{58}"),
    ("infracost", r"ico-[A-Za-z0-9]{32}"),
    ("maxmind", r"[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk"),
    ("notion", r"ntn_\d{11}[A-Za-z0-9]{32,35}"),
    ("openshift", r"sha256~[A-Za-z0-9_-]{43}"),
    ("perplexity", r"pplx-[A-Za-z0-9]{48}"),
    ("postman", r"PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}"),
    ("sourcegraph", r"sgp_(?:[a-fA-F0-9]{16}|local)_[a-fA-F0-9]{40}|sgp_[a-fA-F0-9]{40}"),
    ("twilio", r"SK[0-9a-fA-F]{32}\b|AC[a-z0-9]{32}\b"),
    ("yandex", r"t1\.[A-Za-z0-9_-]{1,100}={0,2}\.[A-Za-z0-9_-]{86}={0,2}"),
)  # fmt: skip
# Families with a placeholder of their own; the rest become <api-key>.
_OWN = {"aws": "<aws-key>", "github": "<github-token>", "gitlab": "<gitlab-token>",
        "slack": "<slack-token>"}  # fmt: skip


def _vendor(families: set[str], exclude: bool = False) -> str:
    rxs = [rx for fam, rx in VENDOR_TOKENS if (fam in families) != exclude]
    return r"\b(?:" + "|".join(rxs) + ")"


def _own_token(family: str, matches: tuple[str, ...], keeps: tuple[str, ...]) -> Pattern:
    rx = _vendor({family})
    return Pattern(f"{family}-token", rx, _OWN[family], rx, matches=matches, keeps=keeps)


_VENDOR = _vendor(set(_OWN), exclude=True)

# Key names that say "the value is a secret" (at the end of a longer name too: jiraToken), and
# the separators of config files and code:
# key=v, key: v, key := v (Go), key ::= / ?= (make), key => v (PHP), "key": "v" (JSON).
_STRONG = (
    r"(?:api[_.-]?key|apikey|access[_.-]?(?:key|token|id)|accessid|auth[_.-]?token"
    r"|refresh[_.-]?token|client[_.-]?secret|private[_.-]?key|secret|password|passwd|pwd"
    r"|token|credentials?|creds)"
)
# Key names that are secrets only with a long value ("key: 42" is not one).
_WEAK = r"(?:key|client[_.-]?id|clientid|client|login|auth|authorization)"
_SUFFIX = r"(?:[_.-]?(?:id|key|base|string|str|value|val|token|secret|data|\d{1,3})){0,2}"
# Spaces and tabs only: a key at the end of a line never takes the next line as its value.
_SEP = r"""(?:["']?[ \t]*(?:=>|:{0,3}=|\?=|:)[ \t]*["'{]?|["'][ \t]*,[ \t]*["'])"""
_KEY_PREFIX = r"[\w.-]{0,40}?"
_VALUE = r"""[^\s"',;&<>]"""
# Vendors whose gitleaks rules anchor a token of no fixed shape on the vendor's name
# (`cloudflare: "<37 hex>"`, `"artifactory", "<64 characters>"`), so the name finds it.
_VENDOR_BRANDS = (
    "Adafruit", "Adobe", "Algolia", "Alibaba", "Artifactory", "Asana", "Atlassian", "Beamer",
    "Bintray", "BitBucket", "Bittrex", "CloudFlare", "CodeCov", "Coinbase", "Confluence",
    "Confluent", "Contentful", "DataDog", "Discord", "DroneCI", "DropBox", "Etsy", "Fastly",
    "Finicity", "Finnhub", "Flickr", "FreshBooks", "Gitter", "GoCardless", "Heroku", "HubSpot",
    "Intercom", "JFrog", "Jira", "Kraken", "KuCoin", "LaunchDarkly", "LinkedIn", "MailChimp",
    "MailGun", "MapBox", "MatterMost", "MessageBird", "Netlify", "NewRelic", "NYTimes", "Okta",
    "Plaid", "RapidAPI", "SendBird", "Snyk", "SourceGraph", "SquareSpace", "SumoLogic", "Travis",
    "Trello", "Twitch", "Twitter", "TypeForm", "ZenDesk",
)  # fmt: skip


def _spellings(brands: tuple[str, ...]) -> str:
    """Each name as its brand writes it, in lower, upper and capitalized case, grouped by first
    letter. Python's re tries a case-insensitive alternation of 60 names at every position of a
    text: 10x slower on a traceback (436 vs 40 us)."""
    by_first: dict[str, set[str]] = {}
    for b in brands:
        for w in (b, b.lower(), b.upper(), b.capitalize()):
            by_first.setdefault(w[0], set()).add(w[1:])
    groups = (f"{c}(?:{'|'.join(sorted(rest))})" for c, rest in sorted(by_first.items()))
    return "(?:" + "|".join(groups) + ")"


_VENDOR_NAMES = _spellings(_VENDOR_BRANDS)
_VENDOR_NAMES_RE2 = "(?i)(?:" + "|".join(b.lower() for b in _VENDOR_BRANDS) + ")"
# A name holding a secret word anywhere (todo_secret_do_not_commit) takes a token-shaped value.
_NAME_TAIL = r"[\w.-]{1,24}?"
_TOKEN_HEAD = r"[A-Za-z0-9_+=-]{16}"
# A value that starts like a token runs to its end: in the collector's one alternation a match
# that stopped at a dot or % would hide the JWT or key pattern that covers the rest.
_VENDOR_TOKEN = rf"[A-Za-z0-9_-]{{20,}}{_VALUE}*"
# xml-secret-element: the value may sit on its own line, the line breaks real or escaped (a
# repr or a JSON string: backslash-n). A value stops before a backslash that starts an escaped
# break, so the break around it is kept.
_XML_GAP = r"(?:\s|\\[nrt]){0,40}"
_XML_OPEN = rf"(<{_KEY_PREFIX}(?:{_STRONG}|{_WEAK}){_SUFFIX}>{_XML_GAP})"
_XML_VALUE = r"(?:[^<>\s\\]|\\[^nrt<>\s])+"
# Its form for the collector's transform: RE2 has no look-ahead and the redaction processor
# masks a whole match (the line breaks too), so the transform replaces the value alone and
# puts the groups around it back.
XML_ELEMENT_VALUE_RE2 = (rf"(?i){_XML_OPEN}{_XML_VALUE}({_XML_GAP}</)", "$1****$2")
_QUOTED = r"""(?:"[^"\n:]*:[^"\n]*"|'[^'\n:]*:[^'\n]*'|(?:"[^"\n]*"|'[^'\n]*'|[^\s"':]+)"""
_CURL_USER = _QUOTED + r""":(?:"[^"\n]*"|'[^'\n]*'|[^\s"']*))"""
# \x20, not a space after "(?:": the collector config stays plain YAML (no ": " in it).
_PEM = (
    r"-----BEGIN[A-Z ]* PRIVATE KEY(?:\x20BLOCK)?-----.*?"
    r"(?:-----END[A-Z ]* PRIVATE KEY(?:\x20BLOCK)?-----|\z)"
)

CREDENTIALS = (
    Pattern(
        "url-credentials",
        r"(?i)\b([a-z][a-z0-9+.-]{0,30}://)[^\s/@<>\"']+:[^\s/<>\"']*@",
        r"\1<credentials>@",
        r"(?i)\b[a-z][a-z0-9+.-]*://[^\s/:@]+:[^\s/@]+@",
        matches=("https://bob:hunter2@db.example.com/x", "postgres://app:S3cr3t!pw@db:5432/p"),
        keeps=("https://example.com:8080/x", "see http://a/b@c"),
    ),
    Pattern(
        "url-user",
        r"(?i)\b([a-z][a-z0-9+.-]{0,30}://)[^\s/:@<>\"']+@",
        r"\1<credentials>@",
        r"(?i)\b[a-z][a-z0-9+.-]{0,30}://[^\s/:@<>\"']+@",
        matches=("ssh://git@host/x", "https://ghuser123@github.com/org/repo.git"),
        keeps=("https://github.com/org/repo.git",),
    ),
    Pattern(
        "webhook-slack",
        # The whole URL is the credential: nothing of it is kept.
        # Starts with a literal "h" so Python's engine scans for it instead of trying everywhere.
        r"h(?:ttps?://hooks|ooks)\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_+-]{8,}",
        "<slack-webhook>",
        r"(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_+-]{8,}",
        matches=("https://hooks.slack.com/services/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",),
        keeps=("https://slack.com/help/articles/115005265063",),
    ),
    Pattern(
        "webhook-url",
        # Discord (/api/webhooks/), Teams (/webhookb2/), and any other .../hooks/<token>.
        r"(?i)https?://[^\s/\"'<>]{1,255}/(?:[^\s/\"'<>]{1,100}/){0,6}?"
        r"(?:hooks|webhooks?|webhookb2)/[^\s\"'<>]{8,}",
        "<webhook>",
        r"(?i)https?://[^\s/\"'<>]{1,255}/(?:[^\s/\"'<>]{1,100}/){0,6}"
        r"(?:hooks|webhooks?|webhookb2)/[^\s\"'<>]{8,}",
        matches=(
            "https://discord.com/api/webhooks/123456789012345678/AbCdEf-gh_IJklmnOPqrstu",
            "https://acme.webhook.office.com/webhookb2/5d22@bmja/IncomingWebhook/ldb4/q18y",
            "https://ci.example.org/hooks/9f8e7d6c5b4a39281706",
        ),
        keeps=("https://docs.example.org/guide/webhooks/", "https://example.org/hooks/x"),
    ),
    Pattern(
        "jwt",
        r"\bey[A-Za-z0-9_-]{10,}\.ey[A-Za-z0-9_/\\-]{10,}\.[A-Za-z0-9_/\\+-]*={0,2}",
        "<jwt>",
        r"\bey[A-Za-z0-9_-]{10,}\.ey[A-Za-z0-9_/\\-]{10,}\.[A-Za-z0-9_/\\+-]*={0,2}",
        matches=(
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlX3gx",
            "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0LXVzZXIifQ.",
        ),
        keeps=("eyes.eyebrows.x",),
    ),
    Pattern(
        "auth-scheme",
        r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{12,}",
        r"\1 <token>",
        r"(?i)\b(?:bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{12,}",
        matches=("Authorization: Bearer abcdefghijklmnop", "Basic YWxhZGRpbjpvcGVuc2VzYW1l"),
        keeps=("basic auth failed", "token expired"),
    ),
    _own_token("aws", ("key AKIAIOSFODNN7EXAMPLE", "ABIATGA5TINJYDEUV7XG"), ("AKIA is a prefix",)),
    _own_token("github", ("ghp_" + "a" * 36,), ("ghp_short",)),
    _own_token("gitlab", ("glpat-" + "x" * 20, "gldt-8c5gu4jhyhe84bginszp"), ("glpat-short",)),
    _own_token("slack", ("xoxb-1234567890-abcdef",), ("xoxb-1",)),
    Pattern(
        "vendor-token",
        _VENDOR,
        "<api-key>",
        _VENDOR,
        matches=(
            "sk_live_" + "a1" * 12,
            "AIza" + "B" * 35,
            "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",
            "SG.kyzang-76bffeqfcb8s0ki=ju-uo_pibwqsxi5dex119d1ot2c1wm24u42km6nppb7",
            "pscale_tkn_b7uu-4fnmnx--=5_rsw0itu2ahnqqffa",
            "dop_v1_e3eb9b105d94a3fff81f0ccb36905b5cf211bc3f63dbac44e5266b899c0d317d",
            "npm_" + "A1" * 18,
            "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",
        ),
        keeps=(
            "sk-learn",
            "git sha 3f2a9c1b7e4d5a6b8c9d0e1f2a3b4c5d6e7f8a9b",
            "skip_test_setup",
        ),
    ),
    Pattern(
        "azure-client-secret",
        r"(?<![\w~.-])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![\w~.-])",
        "<secret>",
        r"[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}",
        matches=(
            "'2Vq7Q~q5VgKljZ7cb3.0sp0Apz.vOjRIPyeTr'",
            "QtT8Q~9C-_Ij~RouHVpD2Tuf3oHWGh.DQ3kcjbAn",
        ),
        keeps=("Q~ and ~Q",),
    ),
    Pattern(
        "xml-secret-attribute",
        r"""(?i)(<add[ \t]+key=["'][^"'\n]{0,60}(?:passw|secret|token|key)[^"'\n]{0,60}["']"""
        r"""[ \t]+value=["'])[^"'\n]+""",
        r"\1<redacted>",
        r"""(?i)<add[ \t]+key=["'][^"'\n]{0,60}(?:passw|secret|token|key)[^"'\n]{0,60}["']"""
        r"""[ \t]+value=["'][^"'\n]+""",
        matches=('<add key="ClearTextPassword" value="CleartextPassword1" />',),
        keeps=('<add key="Username" value="bob" />',),
    ),
    Pattern(
        "keyed-secret",
        # One pass over the key words for both forms: scanning them twice cost 30% more.
        rf"(?i)({_STRONG}(?:{_SUFFIX}{_SEP}|{_NAME_TAIL}{_SEP}(?={_TOKEN_HEAD}))){_VALUE}+",
        r"\1<redacted>",
        rf"(?i){_STRONG}(?:{_SUFFIX}{_SEP}{_VALUE}+|{_NAME_TAIL}{_SEP}{_TOKEN_HEAD}{_VALUE}*)",
        matches=(
            "password=hunter2; user=x",
            '{"client_secret": "s3cr3t"}',
            "X-Auth-Token: abc",
            'jiraToken := "e5cny2ehe4h6nh16h8ywcd14"',
            'SNYK_TOKEN ::= "12345678-ABCD"',
            "sumologic.accessId = 'su9OL59biWiJu7'",
            '"secret_key" => "sk_ubb4yN3mz"',
            "todo_secret_do_not_commit = Wjczoz811RL0RnDJaxdb8B4jDLsHpZ",
            'DB_PASSWORD_PROD: "c2VjcmV0LXZhbHVlLTE="',
            'String tokenWithNoneAlg = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0In0.";',
        ),
        keeps=(
            "password:\nnext line",
            "no password given",
            "token expired",
            "KeyError: 'x'",
            "password_hint = the dog",
            "token_endpoint: https://auth.example.com/oauth/token",
        ),
    ),
    Pattern(
        "keyed-long-value",
        rf"(?i)({_WEAK}{_SUFFIX}{_SEP}){_VALUE}{{12,}}",
        r"\1<redacted>",
        rf"(?i){_WEAK}{_SUFFIX}{_SEP}{_VALUE}{{12,}}",
        matches=(
            'alibabaKey := "LTAI89d0118a87ee4f664dcc"',
            'SONAR_LOGIN = "12345678ABCDEFH1234567890ABCDEFH12345678"',
            "Authorization:  5eb4223e-5008-46e5-be67-c7b8f2732305",
        ),
        keeps=("key: 42", "KeyError: 'some_long_key_name_here'", "Authorization: Bearer <token>"),
    ),
    Pattern(
        "keyed-vendor-token",
        rf"({_VENDOR_NAMES}[\w.-]{{0,20}}?{_SEP}){_VENDOR_TOKEN}",
        r"\1<api-key>",
        rf"{_VENDOR_NAMES_RE2}[\w.-]{{0,20}}{_SEP}{_VENDOR_TOKEN}",
        matches=(
            'cloudflare: "0574b9f43978174cc2cb9a1068681225433c4"',
            '"artifactory", "oknbtnoytx4gkw4d698c5s6r76ym53nxqf0xdrbrfzagmpst27fdpqsirb52p1zy"',
            "SOURCEGRAPH_ACCESS = 6d2FabeB6ADd229Bc199FabA28fD3efb57dF0bD3",
            "myCloudflareKey: 0574b9f43978174cc2cb9a1068681225433c4",
            "gocardless_token: live_ocbptu23j48s3zmqz2gj6j9d4=1b=wq9-h8tmklz",
        ),
        keeps=("cloudflare: timeout", "datadog = enabled", "jira: PROJ-1234"),
    ),
    Pattern(
        "xml-secret-element",
        rf"(?i){_XML_OPEN}{_XML_VALUE}(?={_XML_GAP}</)",
        r"\1<redacted>",
        # Same line only: the collector masks the whole match and must not eat a line break.
        rf"(?i)<{_KEY_PREFIX}(?:{_STRONG}|{_WEAK}){_SUFFIX}>[ \t]*{_XML_VALUE}",
        # Values on their own line: tests/test_patterns.py (the collector's transform form).
        matches=("<apiToken>abc123</apiToken>", "<password> hunter2 </password>"),
        keeps=("<token/>", "<keyboard>x</keyboard>"),
    ),
    Pattern(
        "curl-user",
        rf"((?:^|[ \t])(?:-u|--user)[ \t]+){_CURL_USER}",
        r"\1<credentials>",
        rf"(?:^|[ \t])(?:-u|--user)[ \t]+{_CURL_USER}",
        matches=("curl -u elastic:P@ssw0rd$1 https://x", "curl --user 'api:d2LkV78zLx!t' x"),
        keeps=("sort -u names.txt", "curl --user-agent x"),
    ),
    Pattern(
        "bundler-credentials",
        r"""\b(BUNDLE_[A-Z0-9_]*__[A-Z0-9_]+["']?[ \t]*[:=][ \t]*["']?)[^\s"';&]+""",
        r"\1<credentials>",
        r"""\bBUNDLE_[A-Z0-9_]*__[A-Z0-9_]+["']?[ \t]*[:=][ \t]*["']?[^\s"';&]+""",
        matches=("export BUNDLE_GEMS__CONTRIBSYS__COM=cafebabe:deadbeef",),
        keeps=("BUNDLE_PATH=vendor",),
    ),
    Pattern(
        "yaml-base64-value",
        # Kubernetes Secret data: an indented `name: <base64 with padding>` line, or the padded
        # base64 line of a block scalar (`.dockercfg: |`).
        # The padding ends the value: "  detail: password=hunter2" is a keyed secret instead
        # (in the collector's one alternation the leftmost match wins and would eat the key).
        r"""(?m)^([ \t]+(?:[\w.-]{1,64}:[ \t]*["']?)?)[A-Za-z0-9+/]{8,}={1,2}(?![^\s"'])""",
        r"\1<redacted>",
        r"""(?m)^[ \t]+(?:[\w.-]{1,64}:[ \t]*["']?)?[A-Za-z0-9+/]{8,}={1,2}(?:[ \t"']|$)""",
        matches=("data:\n  extra: YWRtaW46cGFzc3dvcmQ=", "cfg: |\n    eyJhdXRocyI6e30K=\n"),
        keeps=("data:\n  replicas: 3", "version: 1.2.3", "  detail: password=x"),
    ),
    Pattern(
        "private-key",
        "(?s)" + _PEM.replace(r"\z", r"\Z"),  # Python spells end-of-text \Z, RE2 \z
        "<private-key>",
        "(?s)" + _PEM,
        matches=(
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQWGBGSVV4YB\n"
            "-----END PGP PRIVATE KEY BLOCK-----",
            "-----BEGIN PRIVATE KEY-----\nMIIE cut off",
        ),
        keeps=("-----BEGIN PUBLIC KEY-----",),
    ),
)
# Random-looking tokens of unknown vendors: 32+ characters mixing upper, lower case and digits.
# SDK only: RE2 cannot require three character classes in one run without look-ahead.
GENERIC = Pattern(
    "generic-secret",
    r"(?<![\w-])(?=[\w-]*[A-Z])(?=[\w-]*[a-z])(?=[\w-]*\d)[A-Za-z0-9_-]{32,}(?![\w-])",
    "<secret>",
    None,
    matches=("unknown vendor key Zx8Qw2Er5Ty7Ui9Op1As3Df4Gh6Jk0Lm",),
    keeps=("test_strings_are_scrubbed_before_they_leave_the_process_ok",),
    no_re2="needs look-ahead for 'has upper, lower case and digits'",
)
