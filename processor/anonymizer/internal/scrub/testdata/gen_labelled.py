#!/usr/bin/env python3
"""Generates labelled.tsv: realistic positives per PII class and look-alike
negatives. Random tokens use a fixed seed. Card and IBAN check digits are
computed, never hand-tuned. Run: python3 gen_labelled.py > labelled.tsv"""
import base64, json, random, string

rnd = random.Random(20261123)
rows = []
def add(label, s): rows.append((label, s))

# ---------------- email
for s in [
    "alice@example.com", "Contact: bob.smith@company.co.uk for details",
    "alice+newsletter@example.com", "ALICE.SMITH@EXAMPLE.ORG",
    "j.doe-1987@mail.example.de", "alice%40example.com",
    "alice%2540example.com", "alice%2Btag%40example.co.uk",
    "/users/alice@example.com/profile", "user_99@sub.domain.example.io",
    "Order confirmation sent to maría.garcía@correo.es",
    "send to o.brien@example.ie please", "first_last@example.travel",
    "x@y.fr", "support@my-shop.example.net",
    "search: anna.kowalska@poczta.example.pl", "mailto:info@example.at",
    "newsletter signup john.doe@gmail.com", "12345@numbers.example.com",
    "hans.müller@example.de", "Thanks jane_doe2026@outlook.com!",
    "tom%40example.org", "<lee@example.kr>",
]: add("email", s)

# ---------------- phone
for s in [
    "+44 7700 900123", "+1-202-555-0143", "(202) 555-0143", "020 7946 0958",
    "0044 20 7946 0958", "+49 30 12345678", "030 12345678", "+33 1 23 45 67 89",
    "01 23 45 67 89", "+81 3-1234-5678", "03-1234-5678", "+61 2 9876 5432",
    "(02) 9876 5432", "+91 98765 43210", "+7 495 123-45-67", "8 (495) 123-45-67",
    "+55 11 91234-5678", "(11) 91234-5678", "+39 347 123 4567", "347 123 4567",
    "+86 138 0013 8000", "+34 912 345 678", "+1 (415) 555-2671", "415.555.2671",
    "06221 123456", "0664/1234567", "08-123 456 78", "Call us on +447700900123 today",
    "tel:+442079460958", "Ruf an: 089 1234 5678", "+31 6 12345678", "0612 345 678",
    "+353 87 123 4567", "00 1 202 555 0143",
]: add("phone", s)

# ---------------- card
def luhn_ok(n):
    d = [int(c) for c in n][::-1]
    return sum(x if i % 2 == 0 else (x*2 - 9 if x*2 > 9 else x*2) for i, x in enumerate(d)) % 10 == 0
cards = [
    "4111111111111111", "4012888888881881", "4242424242424242", "4000056655665556",
    "5555555555554444", "5105105105105100", "5200828282828210", "2223003122003222",
    "378282246310005", "371449635398431", "6011111111111117", "6011000990139424",
    "3530111333300000", "3566002020360505", "30569309025904", "38520000023237",
    "6200000000000005", "36227206271667", "4000002500003155", "5425233430109903",
    "4263982640269299", "374245455400126", "6250941006528599", "4222222222222",
]
for c in cards: assert luhn_ok(c), c
def fmt4(c, sep):
    if len(c) == 15: return sep.join([c[:4], c[4:10], c[10:]])
    return sep.join(c[i:i+4] for i in range(0, len(c), 4))
for i, c in enumerate(cards):
    if i % 4 == 0: add("card", c)
    elif i % 4 == 1: add("card", fmt4(c, " "))
    elif i % 4 == 2: add("card", fmt4(c, "-"))
    else: add("card", "Card number: " + fmt4(c, " ") + " exp 12/28")

# ---------------- iban
def iban_check(cc, bban):
    s = bban + cc + "00"
    n = int("".join(str(int(ch, 36)) for ch in s))
    return "%02d" % (98 - n % 97)
def iban_valid(i):
    s = i[4:] + i[:4]
    return int("".join(str(int(ch, 36)) for ch in s)) % 97 == 1
ibans = ["DE89370400440532013000", "GB82WEST12345698765432"]
for cc, bban in [
    ("FR", "20041010050500013M02606"), ("ES", "21000418450200051332"), ("IT", "X0542811101000000123456"),
    ("NL", "ABNA0417164300"), ("BE", "539007547034"), ("CH", "00762011623852957"), ("AT", "1904300234573201"),
    ("PL", "109010140000071219812874"), ("SE", "50000000058398257466"), ("NO", "86011117947"),
    ("DK", "00400440116243"), ("FI", "12345600000785"), ("IE", "AIBK93115212345678"),
    ("PT", "000201231234567890154"), ("LU", "0019400644750000"), ("CZ", "08000000192000145399"),
    ("HU", "117730161111101800000000"), ("RO", "AAAA1B31007593840000"), ("MT", "MALT011000012345MTLCAST001S"),
    ("HR", "10010051863000160"), ("SK", "12000000198742637541"), ("DE", "500105175407324931"),
    ("GB", "NWBK60161331926819"),
]:
    ibans.append(cc + iban_check(cc, bban) + bban)
for i in ibans: assert iban_valid(i), i
for k, i in enumerate(ibans):
    if k % 3 == 0: add("iban", i)
    elif k % 3 == 1: add("iban", " ".join(i[j:j+4] for j in range(0, len(i), 4)))
    else: add("iban", "IBAN: " + " ".join(i[j:j+4] for j in range(0, len(i), 4)) + " BIC: COBADEFFXXX")

# ---------------- jwt
def b64(d): return base64.urlsafe_b64encode(d).rstrip(b"=").decode()
def rb(n): return bytes(rnd.getrandbits(8) for _ in range(n))
headers = [{"alg": "HS256", "typ": "JWT"}, {"alg": "RS256", "kid": "k1"}, {"typ": "JWT", "alg": "ES256"},
           {"alg": "none"}, {"alg": "RS256", "typ": "at+jwt", "kid": "2026-01"}]
for k in range(22):
    h = headers[k % len(headers)]
    p = {"sub": str(rnd.randint(10**6, 10**9)), "iat": 1763900000 + k, "exp": 1763903600 + k}
    if k % 3 == 0: p["email"] = "user%d@example.com" % k
    if k % 4 == 0: p["scope"] = "openid profile"
    sig = "" if h["alg"] == "none" else b64(rb(32 if h["alg"] == "HS256" else 64))
    tok = b64(json.dumps(h, separators=(",", ":")).encode()) + "." + b64(json.dumps(p).encode()) + "." + sig
    ctx = ["%s", "Authorization: Bearer %s", "id_token %s", "session=%s", "#%s"][k % 5]
    add("jwt", ctx % tok)

# ---------------- token
B62 = string.ascii_letters + string.digits
def r(alphabet, n): return "".join(rnd.choice(alphabet) for _ in range(n))
toks = [
    "sk_live_" + r(B62, 24), "sk_test_" + r(B62, 24), "pk_live_" + r(B62, 24),
    "ghp_" + r(B62, 36), "gho_" + r(B62, 36), "xoxb-" + "%d-%d-%s" % (rnd.randint(10**10, 10**11), rnd.randint(10**10, 10**11), r(B62, 24)),
    "xoxp-" + "%d-%d-%s" % (rnd.randint(10**10, 10**11), rnd.randint(10**10, 10**11), r(B62, 32)),
    "AKIA" + r(string.ascii_uppercase + string.digits, 16), "AIza" + r(B62 + "-_", 35),
    "glpat-" + r(B62 + "-_", 20), r(B62, 32), r(B62, 40), r(B62, 24), r(B62, 28),
    base64.b64encode(rb(30)).decode(), base64.b64encode(rb(24)).decode(),
    b64(rb(32)), b64(rb(24)), r("0123456789abcdef", 64), r(string.ascii_lowercase + string.digits, 32),
    "api key " + r(B62, 32), "session=" + r(B62 + "-_", 43), "reset/" + r(B62, 30),
]
for t in toks: add("token", t)

# ---------------- none: look-alikes
for s in [
    "ORD-2026-000123", "Order #100234567", "Invoice INV-2026-0042", "Total: 1,299.00 EUR", "€ 1.299,00",
    "$12,499.99", "Price 1 299 000 ₽", "version 1.2.3.4", "v10.0.19041.1234", "2026-11-23",
    "23.11.2026", "11/23/2026", "2026-11-23T14:30:00Z", "2026-11-23 14:30:00", "14:30:00",
    "1732300000", "1732300000123", "2019-2026", "1999 - 2026", "ISBN 978-3-16-148410-0",
    "ISBN 0-306-40615-2", "1Z 999 AA1 01 2345 6784", "9400 1000 0000 0000 0000 00", "JD014600006281234567",
    "ZIP 90210-1234", "75008 Paris", "SW1A 1AA", "10115 Berlin", "48.8566, 2.3522",
    "48.856614 2.352222", "-33.8688,151.2093", "SKU-RS-42-RED-2026", "SKU 4006381333931",
    "EAN 4006381333931", "#ff5733", "#1e90ff", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "3f2a9c1b", "550e8400-e29b-41d4-a716-446655440000", "urn:uuid:123e4567-e89b-12d3-a456-426614174000",
    "1.0.0-beta.2+exp.sha.5114f85", "semver 2.14.0", "192.168.100.200", "10.10.10.10",
    "IP 203.0.113.54", "2001:db8::ff00:42:8329", "4111111111111112", "5555 5555 5555 4445",
    "1234 5678 9012 3456", "DE89370400440532013001", "GB82WEST12345698765431", "FR7630006000011234567890188",
    "how-to-choose-the-best-running-shoes-2026", "ProductDetailPageV2Experiment2026", "Donaudampfschifffahrtsgesellschaft",
    "internationalization-and-localization-guide", "a3f1c9e2b7d84f6a9c0e1b2d3f4a5b6c", "ea1b2c3d4e5f60718293a4b5c6d7e8f9",
    "aGVsbG8gd29ybGQ=", "dXNlcj0xMjM=", "Red running shoes — Shop", "Page 2 of 14",
    "Screen 1920x1080", "Resolution 2560 x 1440", "population 83 200 000", "Chapter 12.3.4",
    "Room 1204, Floor 12", "Flight LH 2026 departs 14:30", "Call before 18:00 on 23/11", "Size 42 EU / 8.5 UK",
    "serial SN-2026-11-00042", "build 20261123.4", "lat=52.520008&lng=13.404954", "tracking 7489 4612 3456 8",
    "0001234567", "000123456789", "article 12345678", "id 98765432101234",
    "user@localhost", "@webjourney", "npm install @babel/core@7.24.0", "logo@2x.png",
    "icons/sprite@3x.webp", "price 19.99 – 29.99", "1.299,00 € inkl. MwSt.", "12:30-14:00",
    "2026-01-01 - 2026-12-31", "Q3 2026 report", "Windows NT 10.0; Win64; x64", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
    "Chrome/131.0.6778.86", "GTIN 00012345678905", "order 2026/000123", "case 2026-000123",
    "customer number 12345678", "item 00012345", "+1", "1+1=2",
    "sort=price_asc&page=3", "PHPSESSID", "the quick brown fox jumps over the lazy dog 2026",
    "/blog/2026/11/23/launch-week", "product/12345678/reviews", "CSS grid-template-columns: 1fr 2fr 1fr",
]: add("none", s)

for l, s in rows:
    assert "\t" not in s and "\n" not in s
    print(l + "\t" + s)
