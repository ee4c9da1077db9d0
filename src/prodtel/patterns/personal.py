"""Patterns for personal data that is not a credential: home directories, emails, IP and MAC
addresses, card numbers, phone numbers. Part of the one table in `prodtel.patterns`."""

from __future__ import annotations

from prodtel.patterns import Pattern

# A user-name segment ends at a separator, quote, colon or closing bracket: "(/home/bob)" keeps
# its ")" and "[C:\Users\bob]" its "]".
_NAME = r"""[^/\\\s"':)\]>,;|]+"""

HOMES = (
    Pattern(
        "home-windows",
        r"(?i)\b[a-z]:(?:\\+|/)(?:Users|Documents and Settings)(?:\\+|/)" + _NAME,
        "~",
        r"(?i)\b[a-z]:(?:\\+|/)(?:Users|Documents and Settings)(?:\\+|/)" + _NAME,
        matches=(r"C:\Users\dave\AppData", r"'C:\\Users\\dave\\x.txt'", "c:/Users/dave/x"),
        keeps=(r"C:\Program Files\x", r"D:\data\Users.csv"),
    ),
    Pattern(
        "home-unix",
        r"(?:/home|/Users|/var/home)/" + _NAME,
        "~",
        r"(?:/home|/Users|/var/home)/" + _NAME,
        matches=("/home/bob/.ssh/id_rsa", "(/Users/carol)", "/var/home/x"),
        keeps=("/usr/lib/python3", "/work/main/src/x.py", "/homework/a"),
    ),
)

_IPV4 = r"(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])"
_CARD = (
    r"\d{4}[ -]\d{4}[ -]\d{4}[ -]\d{1,7}|3[47]\d\d[ -]\d{6}[ -]\d{5}"  # Amex groups 4-6-5
    r"|4\d{12}(?:\d{3})?|5[1-5]\d{14}|2[2-7]\d{14}|3[47]\d{13}|6(?:011|5\d\d)\d{12}"
)
_PHONE = r"\+[1-9]\d{0,2}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{2,4}){3,5}"

ADDRESSES = (
    Pattern(
        "email",
        r"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,255}\.[A-Za-z]{2,}\b",
        "<email>",
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
        matches=("mail bob.jones+x@mail.example.co.uk now",),
        keeps=("loadgen@0.3.0", "user@localhost"),
    ),
    Pattern(
        "ipv4",
        rf"(?<![\w.]){_IPV4}(?![\w.])",
        "<ip>",
        rf"\b{_IPV4}\b",
        matches=("from 192.168.1.20:8080", "203.0.113.77"),
        keeps=("python 3.11.7", "999.1.1.1"),
    ),
    Pattern(
        "mac",
        r"(?<![\w:-])(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}(?![\w:-])",
        "<mac>",
        r"\b(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\b",
        matches=("nic 00:1a:2b:3c:4d:5e", "3C-22-FB-12-AB-9E"),
        keeps=("at 12:30:45.123",),
    ),
    Pattern(
        "card-number",
        rf"(?<![\w.+-])(?:{_CARD})(?![\w.-])",
        "<card>",
        rf"\b(?:{_CARD})\b",
        matches=(
            "card 4111 1111 1111 1111 declined",
            "4111-1111-1111-1111",
            "378282246310005",
            "amex 3782 822463 10005",
        ),
        keeps=("ts 1700000000123456789", "id 4111111111111112", "2026-08-01 12:30:45"),
        validate="luhn",
    ),
    Pattern(
        "phone",
        rf"(?<![\w+.-]){_PHONE}(?![\w])",
        "<phone>",
        # RE2 has no look-behind: the character before the '+' is masked with the number.
        rf"(?:^|[\s(\[:=,;\"']){_PHONE}\b",
        matches=("call +1 415 555 0132 now", "+44 20 7946 0958", "tel:+14155550132"),
        keeps=("1.0.0+20130313144700", "offset +05:30", "x +1 and +2", "+1.5s"),
    ),
)
IPV6 = Pattern(
    "ipv6",
    # Candidates (hex, colons, maybe an embedded IPv4 and a zone), validated before replacing.
    # Possessive and bounded (an address is at most 45 characters): linear on any input.
    r"(?<![\w:.%])[0-9A-Fa-f:.]{2,45}+(?:%[\w.-]{1,32}+)?(?![\w:.%])",
    "<ip>",
    r"(?i)\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b"
    r"|\b(?:[0-9a-f]{1,4}:){1,6}(?::[0-9a-f]{1,4}){1,6}\b",
    matches=("peer 2001:db8::7 and", "2001:db8:0:0:0:0:2:1"),
    keeps=("x[::2] and std::vector", "at 12:30:45"),
    validate="ipv6",
)
