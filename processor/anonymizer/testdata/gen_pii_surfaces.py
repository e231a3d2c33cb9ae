#!/usr/bin/env python3
"""Generates pii_surfaces.tsv: personal data (canaries) and harmless
look-alikes, each placed in every surface an event carries text in, for
TestPIIAccuracy. Columns: surface, label, core, value.

- label: the detector that must remove the canary (email, phone, card,
  iban, jwt, token, name_key), or "none" for a look-alike that must come
  out unchanged.
- core: what must not survive, in clear or encoded (canaries); the
  look-alike itself (none).
- value: what the event carries in that surface: a whole URL for the URL
  surfaces, "key=value" for the key surfaces, the text otherwise.

Card and IBAN check digits are computed, tokens come from a fixed seed.
Run: python3 gen_pii_surfaces.py > pii_surfaces.tsv
"""
import base64, json, random, string, urllib.parse

rnd = random.Random(20261202)

def luhn_ok(n):
    d = [int(c) for c in n][::-1]
    return sum(x if i % 2 == 0 else (x*2 - 9 if x*2 > 9 else x*2) for i, x in enumerate(d)) % 10 == 0

def iban_check(cc, bban):
    s = bban + cc + "00"
    n = int("".join(str(int(ch, 36)) for ch in s))
    return "%02d" % (98 - n % 97)

def b64(d): return base64.urlsafe_b64encode(d).rstrip(b"=").decode()
def rb(n): return bytes(rnd.getrandbits(8) for _ in range(n))
B62 = string.ascii_letters + string.digits
def r(alphabet, n): return "".join(rnd.choice(alphabet) for _ in range(n))

# (label, core, text): the canary's core and the text it sits in.
canaries = []
def canary(label, core, text=None): canaries.append((label, core, text or core))

# e-mail addresses
for core, text in [
    ("jane.doe@example.com", "Contact jane.doe@example.com"),
    ("j.smith+news@mail.example.co.uk", None),
    ("anna.kowalska@poczta.example.pl", "newsletter-anna.kowalska@poczta.example.pl"),
    ("o.brien@example.ie", "mailto:o.brien@example.ie"),
    ("hans.mueller@example.de", "Danke hans.mueller@example.de!"),
    ("Jane.Doe@Example.COM", "from-Jane.Doe@Example.COM"),
]: canary("email", core, text)

# phone numbers, alone and glued to a word by a separator
for core, text in [
    ("+44 20 7946 0958", "call-+44 20 7946 0958"),
    ("0612345678", "call-0612345678"),
    ("0612345678", "/contact/call-0612345678"),
    ("+33612345678", "tel:+33612345678"),
    ("+4915112345678", "whatsapp-+4915112345678"),
    ("+44 7700 900123", "contact_+44 7700 900123"),
    ("(202) 555-0143", "Call (202) 555-0143 today"),
    ("+1-202-555-0143", "phone_+1-202-555-0143"),
    ("020 7946 0958", "Call us on 020 7946 0958"),
    ("07700 900123", "mobile.07700 900123"),
    ("030 12345678", "Telefon: 030 12345678"),
    ("06 12 34 56 78", "appelez-06 12 34 56 78"),
    ("+31 6 12345678", "bel-+31 6 12345678"),
    ("0612345678", "0612345678"),
    ("555-0143", "fax 555-0143"),
    ("0664/1234567", "Handy 0664/1234567"),
    ("+49 (0)30 1234 5678", "Tel.: +49 (0)30 1234 5678"),
    ("0044 20 7946 0958", "0044 20 7946 0958"),
    ("0612345678", "tel:0612345678"),
    ("+41 44 668 18 00", "Hotline +41 44 668 18 00"),
    ("4915112345678", "https://wa.me/4915112345678"),
    ("555.867.5309", "call 555.867.5309"),
    ("+1 800 555 0199", "+1 800 555 0199"),
    ("0612345678", "phone=0612345678"),
]: canary("phone", core, text)

# payment cards
cards = ["4111111111111111", "5555555555554444", "378282246310005", "4242424242424242", "6011111111111117",
         "5105105105105100"]
for c in cards: assert luhn_ok(c), c
for i, c in enumerate(cards):
    core = [c, " ".join(c[k:k+4] for k in range(0, len(c), 4)), "-".join(c[k:k+4] for k in range(0, len(c), 4))][i % 3]
    if len(c) == 15: core = c
    canary("card", core, ["%s", "Card: %s", "paid-with-%s"][i % 3] % core)

# IBANs
for cc, bban, fmt in [("DE", "370400440532013000", "IBAN %s"), ("GB", "WEST12345698765432", "%s"),
                      ("FR", "20041010050500013M02606", "iban-%s"), ("NL", "ABNA0417164300", "Rekening %s"),
                      ("CH", "00762011623852957", "Konto: %s")]:
    i = cc + iban_check(cc, bban) + bban
    core = " ".join(i[k:k+4] for k in range(0, len(i), 4)) if cc in ("DE", "NL") else i
    canary("iban", core, fmt % core)

# JWTs
for k in range(3):
    h = {"alg": "HS256", "typ": "JWT"}
    p = {"sub": str(rnd.randint(10**6, 10**9)), "email": "user%d@example.com" % k, "iat": 1764600000 + k}
    tok = b64(json.dumps(h, separators=(",", ":")).encode()) + "." + b64(json.dumps(p).encode()) + "." + b64(rb(32))
    canary("jwt", tok, ["%s", "Bearer %s", "id_token-%s"][k] % tok)

# secret tokens
for core, fmt in [("sk_live_" + r(B62, 24), "%s"), ("ghp_" + r(B62, 36), "token %s"),
                  ("AKIA" + r(string.ascii_uppercase + string.digits, 16), "key-%s"),
                  (r(B62, 32), "reset-%s"), (b64(rb(32)), "%s")]:
    canary("token", core, fmt % core)

# Look-alikes: what analytics must keep.
lookalikes = [
    # order, ticket and invoice references
    "#1234-5678-90", "Order #12 345 678", "Ticket #123-456-7890", "ORD-2026-000123", "Invoice INV-2026-0042",
    "order 2026/000123", "case 2026-000123", "ref #0612 345 678", "Booking 1234 5678 90",
    # SKUs, product and tracking numbers
    "SKU-RS-42-RED-2026", "SKU 4006381333931", "EAN 4006381333931", "1Z 999 AA1 01 2345 6784",
    "tracking 7489 4612 3456 8", "9400 1000 0000 0000 0000 00", "article 12345678", "item 00012345",
    # ISBNs
    "ISBN 978-3-16-148410-0", "ISBN 0-306-40615-2", "ISBN 0306406152",
    # dates and times
    "2026-11-23", "23.11.2026", "11/23/2026", "2026-11-23T14:30:00Z", "12:30-14:00", "2019-2026",
    # prices and amounts
    "Total: 1,299.00 EUR", "€ 1.299,00", "$12,499.99", "Price 1 299 000 ₽", "population 83 200 000",
    # versions and builds
    "version 1.2.3.4", "v10.0.19041.1234", "Chrome/131.0.6778.86", "build 20261123.4",
    # hex ids and hashes
    "da39a3ee5e6b4b0d3255bfef95601890afd80709", "550e8400-e29b-41d4-a716-446655440000", "3f2a9c1b",
    # coordinates and places
    "48.856614, 2.352222", "-33.8688,151.2093", "ZIP 90210-1234", "75008 Paris",
    # other numbers and words
    "Page 2 of 14", "Screen 1920x1080", "Room 1204, Floor 12", "Size 42 EU / 8.5 UK", "1732300000",
    "Q3 2026 report", "how-to-choose-the-best-running-shoes-2026", "mobile-app-download",
    # written after the detectors were changed, without tuning them to these
    "Order #2026-1234-5678", "Ticket 123-456-7890", "Invoice no. 0612345678", "PO 4500012345",
    "Case #0123456789", "tracking 1Z999AA10123456784", "ISBN-13 9780306406157", "ISSN 0317-8471",
    "GTIN 04006381333931", "IP 192.168.1.254", "2026-12-02 10:15:00", "Dec 2, 2026", "price 1,234,567.89",
    "CHF 1'299.00", "¥ 129,800", "latitude 51.5074 longitude -0.1278", "version 2.40.1", "release 2026.11.2",
    "MAC 00:1A:2B:3C:4D:5E", "color #1e90ff", "hex 0x7fffffff", "batch 20261202-0042", "serial SN-0612345678",
    "SKU-0612345678", "model 1234-5678", "part no. 123-4567-890", "10115 Berlin", "page 12 of 345",
    "4K 3840x2160", "reference 0612 345 678",
]

# Personal-name keys: the value is a name no detector sees; only the key
# says what it is.
name_keys = ["first_name", "customer_name", "billingName", "FullName", "shippingAddress", "nom", "prenom",
             "vorname", "nachname", "apellido", "nome", "cognome", "name", "contact-email-address", "user.phone",
             "customer[first_name]", "FIRSTNAME", "billing-address", "shipping_street", "contactPhone", "user_email",
             "Nombre_Completo", "achternaam", "imię", "förnamn"]
name_values = ["Jane Doe", "Jean Dupont", "Hans Müller", "María García", "Giulia Rossi"]

def q(s): return urllib.parse.quote_plus(s, safe="")
def pe(s): return urllib.parse.quote(s, safe="")
def fe(s): return urllib.parse.quote(s, safe="#/?:@!$&'()*+,;=-._~")

text_surfaces = {
    "url_path": lambda t: "https://shop.example/contact/" + pe(t),
    "query_value": lambda t: "https://shop.example/thanks?msg=" + q(t) + "&page=2",
    "fragment": lambda t: "https://shop.example/help#" + fe(t),
    "referrer": lambda t: "https://forum.example/t/" + pe(t) + "?ref=" + q(t),
    "link_url": lambda t: "https://partner.example/out?to=" + q(t),
    "title": lambda t: t,
    "search_term": lambda t: t,
    "custom_name": lambda t: t,
    "campaign": lambda t: t,
    "form_id": lambda t: t,
    "form_name": lambda t: t,
    "property_value": lambda t: t,
}

rows = []
for surface, place in text_surfaces.items():
    for label, core, text in canaries:
        rows.append((surface, label, core, place(text)))
    for text in lookalikes:
        rows.append((surface, "none", text, place(text)))
for i, key in enumerate(name_keys):
    v = name_values[i % len(name_values)]
    rows.append(("query_key", "name_key", v, "https://shop.example/thanks?" + key + "=" + q(v) + "&page=2"))
    rows.append(("property_key", "name_key", v, key + "=" + v))
    rows.append(("otlp_attribute", "name_key", v, key + "=" + v))
# Keys that are no person's keep their values.
for i, key in enumerate(["product_name", "event_name", "plan", "color", "company_name", "is_mobile", "hotel"]):
    v = ["Oak sofa", "signup", "pro", "grey", "Acme Ltd", "true", "Hotel Ritz"][i]
    rows.append(("query_key", "none", v, "https://shop.example/p?" + key + "=" + q(v)))
    rows.append(("property_key", "none", v, key + "=" + v))
    rows.append(("otlp_attribute", "none", v, key + "=" + v))

print("# surface\tlabel\tcore\tvalue   (generated by gen_pii_surfaces.py; do not edit by hand)")
for row in rows:
    assert all("\t" not in f and "\n" not in f for f in row), row
    print("\t".join(row))
