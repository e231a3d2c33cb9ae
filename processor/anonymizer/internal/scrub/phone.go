package scrub

import "strings"

// Phone numbers. A region is a run of digit groups joined by short
// separators (space, - . / parentheses, a '+' standing for an encoded
// space between digits), optionally led by '+' or '('. Every group that
// starts the region or follows a plain space may start a candidate; a
// candidate grows group by group while it has at most 15 digits, and the
// longest candidate that looks like a phone number wins. Candidates are
// then judged by rules (isPhone) tuned against dates, times, prices,
// versions, IPv4 addresses, coordinates, ZIP+4 codes, year ranges, order
// numbers and thousands-grouped amounts.

type grp struct {
	s, e    int  // digits s[s:e]
	sep     byte // separator kind before this group: 0 (none), ' ', '-', '.', '/', ')', '+'
	spaceOK bool // the separator before is whitespace only: a candidate may start here
}

func digitsIn(s string, g []grp) int {
	n := 0
	for _, x := range g {
		n += x.e - x.s
	}
	return n
}

// readSep parses a separator at k and returns its kind and end, or 0.
func readSep(s string, k int) (kind byte, end int) {
	spaces, open, closeP, punct := 0, 0, 0, byte(0)
	j := k
	for j < len(s) && j-k < 4 {
		c := s[j]
		switch {
		case c == ' ' || c == '+': // '+' is an encoded space in query strings
			spaces++
			j++
			continue
		case c == 0xC2 && j+1 < len(s) && s[j+1] == 0xA0: // no-break space
			spaces++
			j += 2
			continue
		case c == '(':
			open++
		case c == ')':
			closeP++
		case c == '-' || c == '.' || c == '/':
			if punct != 0 {
				return 0, k
			}
			punct = c
		default:
			goto done
		}
		j++
	}
done:
	if j == k || j >= len(s) || !isDigit(s[j]) || open > 1 || closeP > 1 {
		return 0, k
	}
	switch {
	case punct != 0:
		return punct, j
	case open+closeP > 0:
		return ')', j
	default:
		return ' ', j
	}
}

// minPhoneDigits is the fewest digits a phone number has: a 7-digit
// local number after a phone word ("fax 555-0143").
const minPhoneDigits = 7

// findPhones finds phone numbers in s; lead is the context of a number at
// the start of s (what a label before s says, see labelContext).
func findPhones(s string, sp []span, lead int) []span {
	var groups []grp
	for i := 0; i < len(s); {
		c := s[i]
		plus, paren := false, false
		k := i
		if c == '+' && i > 0 && isAlnum(s[i-1]) {
			i++ // "call+020+7946+0958": an encoded space, not a country code
			continue
		}
		if c == '+' && i+1 < len(s) && isDigit(s[i+1]) {
			plus, k = true, i+1
		} else if c == '(' && i+1 < len(s) && isDigit(s[i+1]) {
			paren, k = true, i+1
		} else if !isDigit(c) {
			i++
			continue
		}
		// What precedes: glued to a number or code, a reference ("#", an
		// order or ticket word), a phone word, or nothing telling.
		ctx := contextBefore(s, i, lead)
		if ctx == ctxHash && plus {
			ctx = ctxNone // "#+44 20 7946 0958": a '+' number is no reference
		}
		groups = groups[:0]
		sep, sok := byte(0), true
		for {
			ge := k
			for ge < len(s) && isDigit(s[ge]) {
				ge++
			}
			groups = append(groups, grp{s: k, e: ge, sep: sep, spaceOK: sok})
			kind, next := readSep(s, ge)
			if kind == 0 {
				k = ge
				break
			}
			sep, sok = kind, kind == ' '
			if paren && len(groups) == 1 && kind != ')' {
				sep, sok = 0, false // "(" needs its ")"
				k = ge
				break
			}
			k = next
		}
		regionEnd := k
		// attached to what follows? ("123abc", "12:30", "1.5"; after a
		// phone word only a letter or digit right after counts:
		// "call-0612345678-now")
		tailAttached := false
		if regionEnd < len(s) {
			n := s[regionEnd]
			if isAlnum(n) || n == '_' && ctx != ctxPhone {
				tailAttached = true
			} else if ctx != ctxPhone && (n == ':' || n == ',' || n == '.' || n == '-' || n == '/') && regionEnd+1 < len(s) && isAlnum(s[regionEnd+1]) {
				tailAttached = true
			}
		}
		cardLike := allFours(groups)
		found := len(sp)
		for g0 := 0; g0 < len(groups); g0++ {
			if ctx == ctxGlued || ctx == ctxReference || ctx == ctxHash {
				break // AA1 01 2345 6784, ORD-2026-000123, Order #12 345 678
			}
			if g0 > 0 && !groups[g0].spaceOK {
				continue
			}
			best := -1
			d := 0
			for e := g0; e < len(groups); e++ {
				d += groups[e].e - groups[e].s
				if d > 15 {
					break
				}
				if e == len(groups)-1 && tailAttached {
					break
				}
				if e+1 < len(groups) && !groups[e+1].spaceOK {
					continue // a phone is not the prefix of a longer dotted/dashed number
				}
				if cardLike && !(g0 == 0 && plus) {
					break
				}
				if isPhone(s, groups[g0:e+1], g0 == 0 && plus, g0 == 0 && paren, g0 == 0 && ctx == ctxPhone, d) {
					best = e
				}
			}
			if best >= 0 {
				st := groups[g0].s
				if g0 == 0 && (plus || paren) {
					st = i
				}
				sp = append(sp, span{st, groups[best].e})
				g0 = best
			}
		}
		if plus && len(sp) == found {
			// No international number: the '+' may be an encoded space
			// ("CALL:+06.12.34.56.78", "WhatsApp+-+555-0143"); judge the
			// digits again without it.
			i++
			continue
		}
		if regionEnd <= i {
			regionEnd = i + 1
		}
		i = regionEnd
	}
	return sp
}

// allFours: 1234 5678 9012 3456, 9400 1000 0000 0000 0000 00, 7489 4612
// 3456 8 (card-like and parcel tracking numbers) are not phones.
func allFours(g []grp) bool {
	if len(g) < 3 {
		return false
	}
	for _, x := range g[:len(g)-1] {
		if x.e-x.s != 4 {
			return false
		}
	}
	return g[len(g)-1].e-g[len(g)-1].s <= 4
}

func onlySep(g []grp, c byte) bool {
	for _, x := range g {
		if x.sep != c {
			return false
		}
	}
	return true
}

func isYear(s string, g grp) bool {
	if g.e-g.s != 4 {
		return false
	}
	return (s[g.s] == '1' && s[g.s+1] == '9') || (s[g.s] == '2' && s[g.s+1] == '0')
}

func num(s string, g grp) int {
	n := 0
	for i := g.s; i < g.e && i < g.s+6; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// isPhone judges a candidate: its digit groups g with d digits, led by
// '+' or '(', or right after a phone word (afterWord: "call-", "tel:").
func isPhone(s string, g []grp, plus, paren, afterWord bool, d int) bool {
	first := g[0]
	fl := first.e - first.s
	if plus {
		return d >= 8 && d <= 15 && !(len(g) >= 4 && onlySep(g[1:], '.') && fl <= 3)
	}
	if len(g) == 1 {
		if afterWord && d >= minPhoneDigits && d <= 15 {
			// "call-0612345678", "tel:2025550143": the word says what
			// the digits are.
			return true
		}
		// No separators: 00 + country code + national number, or a
		// national number of 10 or 11 digits with its trunk 0
		// (0612345678, 07700900123) that is not an ISBN-10.
		switch {
		case d >= 11 && d <= 15 && s[first.s] == '0' && s[first.s+1] == '0' && s[first.s+2] != '0':
			return true
		case (d == 10 || d == 11) && s[first.s] == '0' && s[first.s+1] != '0':
			return d == 11 || !isbn10(s[first.s:first.e])
		}
		return false
	}
	if fl >= 3 && fl <= 5 && s[first.s] == '0' && s[first.s+1] == '0' {
		// 0044 20 7946 0958: international with 00
		if d >= 10 && d <= 15 && s[first.s+2] != '0' {
			return true
		}
	}
	if d < 8 && !(afterWord && d >= minPhoneDigits) || d > 13 {
		return false // 7 digits only after a phone word: "fax 555-0143"
	}
	if !paren && (isYear(s, first) && s[first.s] != '0') {
		return false // 2026-11-23, 2019-2026, 2026-000123
	}
	if fl > 5 && !paren && !(afterWord && fl == 6) {
		return false // a 6-digit first group only after a phone word: "call 098765 43210"
	}
	last := g[len(g)-1]
	if last.e-last.s == 1 {
		return false // ISBN check digits, versions
	}
	// separator kinds: '.' does not mix with others (coordinates, decimals)
	dot, other := false, false
	for _, x := range g[1:] {
		if x.sep == '.' {
			dot = true
		} else {
			other = true
		}
		if x.e-x.s > 8 {
			return false
		}
	}
	if dot && other {
		return false
	}
	// dates: DD.MM.YYYY, MM/DD/YYYY inside the candidate
	for k := 0; k+2 < len(g); k++ {
		a, b, y := g[k], g[k+1], g[k+2]
		if a.e-a.s <= 2 && b.e-b.s <= 2 && isYear(s, y) && num(s, a) <= 31 && num(s, b) <= 31 {
			return false
		}
	}
	if dot {
		if len(g) < 3 {
			return false // decimals: 52.520008, 48.856614
		}
		for _, x := range g {
			if x.e-x.s > 4 {
				return false
			}
		}
	}
	if dot && !other {
		all2 := true
		for _, x := range g {
			if x.e-x.s != 2 {
				all2 = false
			}
		}
		if len(g) >= 4 && !(all2 && d == 10 && s[first.s] == '0') {
			return false // IPv4 addresses, version strings
		}
	}
	if len(g) >= 4 && s[first.s] != '0' {
		all2 := true
		for _, x := range g {
			if x.e-x.s > 2 {
				all2 = false
			}
		}
		if all2 {
			return false // lists of small numbers: sizes 36 38 40 42
		}
	}
	// thousands grouping: 12.345.678, 10 000 000, 100 000 000 000
	rest3 := true
	for _, x := range g[1:] {
		if x.e-x.s != 3 {
			rest3 = false
		}
	}
	if rest3 && s[first.s] != '0' && fl <= 3 && (dot || fl <= 2 || s[last.s:last.e] == "000") {
		return false
	}
	// ZIP+4
	if len(g) == 2 && fl == 5 && last.e-last.s == 4 && last.sep == '-' {
		return false
	}
	// 4-4-4(-4): tracking and card-like numbers
	if len(g) >= 3 {
		all4 := true
		for _, x := range g {
			if x.e-x.s != 4 {
				all4 = false
			}
		}
		if all4 {
			return false
		}
	}
	// time after the candidate: "2026 11 23 14:30"
	if last.e < len(s) && s[last.e] == ':' {
		return false
	}
	return true
}

// isbn10 reports whether ten digits carry a valid ISBN-10 check digit.
func isbn10(digits string) bool {
	sum := 0
	for i := range 10 {
		sum += (10 - i) * int(digits[i]-'0')
	}
	return sum%11 == 0
}

// Contexts of a digit region, from what precedes it.
const (
	ctxNone      = iota
	ctxGlued     // part of a longer number or code: 1Z 999 AA1 01 2345, x9-12
	ctxReference // after an order, ticket, invoice, ... word
	ctxHash      // after "#": a reference, unless the number starts with '+'
	ctxPhone     // after a phone word: call-, tel:, whatsapp_

	ctxUnknown = -1 // a label's context not read yet (see textAfter)
)

// maxContextSeps is how many separator characters may stand between a
// word and the digits it describes ("Tel.: ", "call - ").
const maxContextSeps = 3

// contextBefore classifies what precedes the digit region starting at i:
// the separators right before it, then up to two words ("Phone No. 06…"
// is a phone; "Ticket #12…" a reference). lead is the context when
// nothing in s precedes the region but separators.
func contextBefore(s string, i, lead int) int {
	j := i - 1
	seps, hash := 0, false
	for j >= 0 && seps < maxContextSeps+1 {
		c := s[j]
		if c == '#' {
			hash = true
		} else if !isContextSep(c) {
			break
		}
		j--
		seps++
	}
	if j < 0 {
		if hash {
			return ctxHash
		}
		return lead
	}
	if seps > maxContextSeps {
		return ctxNone
	}
	c := s[j]
	switch {
	case isDigit(c):
		if seps <= 1 {
			return ctxGlued // "AA1 01 2345 6784", "12-3456 7890": part of a longer number
		}
		return ctxNone
	case !isAlpha(c) && c < 0x80:
		if hash {
			return ctxHash
		}
		return ctxNone
	}
	var buf [maxWord]byte
	word, start := wordBefore(s, j+1, &buf)
	switch {
	case phoneWords[string(word)]:
		return ctxPhone
	case string(word) == "me" && start >= 3 && strings.EqualFold(s[start-3:start], "wa."):
		return ctxPhone // https://wa.me/4915112345678: WhatsApp's click-to-chat link
	case referenceWords[string(word)] || hash && len(word) > 0:
		// A phone word before the reference word still wins: "Phone No. 06…".
		if prev, _ := wordBefore(s, skipSeps(s, start), &buf); phoneWords[string(prev)] {
			return ctxPhone
		}
		return ctxReference
	case seps == 0:
		// Glued to a word that says nothing: JD014600006281234567, v2.
		return ctxGlued
	}
	if prev, _ := wordBefore(s, skipSeps(s, start), &buf); phoneWords[string(prev)] {
		return ctxPhone // "call us 0612…", "Tel. (mobil) 0612…"
	}
	return ctxNone
}

// isContextSep: what stands between a word and its number.
func isContextSep(c byte) bool {
	switch c {
	case ' ', '\t', '-', '_', '.', ':', '/', '=', ',', '(', ')', '[', '\'', '"', '+': // '+': an encoded space
		return true
	}
	return false
}

// skipSeps returns where the separators ending at end (exclusive) begin.
func skipSeps(s string, end int) int {
	for end > 0 && (isContextSep(s[end-1]) || s[end-1] == '#') {
		end--
	}
	return end
}

// maxWord bounds the word read before a number.
const maxWord = 16

// wordBefore returns the lower-cased word of letters (ASCII or UTF-8)
// ending at end (exclusive), at most maxWord bytes, in buf, and where it
// starts. Look it up as m[string(w)], which does not allocate.
func wordBefore(s string, end int, buf *[maxWord]byte) (w []byte, start int) {
	start = end
	for start > 0 && end-start < maxWord && (isAlpha(s[start-1]) || s[start-1] >= 0x80) {
		start--
	}
	if start == end || start > 0 && (isAlpha(s[start-1]) || s[start-1] >= 0x80) {
		return nil, start // no word, or longer than any listed
	}
	w = buf[:0]
	for k := start; k < end; k++ {
		c := s[k]
		if isUpper(c) {
			c |= 0x20
		}
		w = append(w, c)
	}
	return w, start
}

// phoneWords are words that say the number after them is a phone number,
// in the languages of the sites we serve: call-0612345678, tel:…,
// whatsapp_+49…, Telefon: 030….
var phoneWords = setOf(
	"call", "calls", "caller", "callback", "phone", "phones", "ph", "tel", "tele", "telephone", "telefon",
	"telefono", "teléfono", "telefone", "telefoon", "téléphone", "telephon", "mobile", "mobil", "mob", "móvil",
	"movil", "cell", "cellphone", "cellular", "celular", "cellulare", "handy", "portable", "fax", "whatsapp",
	"wa", "sms", "viber", "telegram", "hotline", "helpline", "dial",
	"appel", "appelez", "appeler", "rappel", "anruf", "anrufen", "ruf", "bel", "bellen", "llamar", "llama",
	"llámanos", "chiama", "chiamare", "ligue", "ligar", "tlf", "tlfn", "tfno", "fon", "tlph", "tél", "mob", "gsm",
	"mobiel", "mobiele", "telefoonnummer", "telefonnummer", "rufnummer", "handynummer", "mobilnummer", "telemóvel",
	"telemovel", "cel", "telf",
)

// referenceWords say the number after them is a reference, not a phone:
// "Order #12 345 678", "Ticket 123-456-7890", "ISBN 0306406152".
var referenceWords = setOf(
	"order", "orders", "ord", "ref", "reference", "invoice", "inv", "ticket", "tkt", "case", "booking",
	"confirmation", "conf", "tracking", "track", "shipment", "parcel", "consignment", "sku", "isbn", "issn",
	"ean", "gtin", "upc", "asin", "mpn", "item", "article", "art", "product", "prod", "model", "serial",
	"sn", "id", "no", "nr", "nº", "num", "number", "po", "rma", "claim", "policy", "account", "acct",
	"customer", "member", "membership", "bestellung", "bestellnummer", "rechnung", "auftrag", "kundennummer",
	"commande", "facture", "dossier", "pedido", "factura", "ordine", "fattura", "bestelling", "factuur",
	"zamówienie", "№", "n°", "n.º",
	// the same in other languages: Réf. 0612…, Auftragsnummer 12 345 678, Reserva 123-456-7890
	"réf", "référence", "réservation", "colis", "referencia", "referência", "riferimento", "referentie",
	"kenmerk", "aktenzeichen", "vorgang", "vorgangsnummer", "auftragsnummer", "rechnungsnummer",
	"bestellnr", "buchung", "buchungsnummer", "sendung", "sendungsnummer", "lieferschein", "beleg",
	"encomenda", "fatura", "reserva", "envío", "envio", "prenotazione", "spedizione", "bestelnummer",
	"boeking", "zending", "ordernummer", "ticketnummer",
)

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// labelContext is what a label says about a number right at the start of
// the value it names: a query parameter or property called "phone" or
// "tel_mobile" holds a phone number, one called "ticket" or "order_id" a
// reference. (A URL fragment is not read as "#" followed by a reference:
// "#0612345678" and "#(202) 555-0143" are phone numbers.)
func labelContext(label string) int {
	if hasSuffixFold(label, "wa.me") {
		return ctxPhone // the host of WhatsApp's https://wa.me/<number>
	}
	var buf [maxWord]byte
	word, start := wordBefore(label, len(label), &buf)
	if ambiguousLabels[string(word)] {
		// "order_id", "phone_number": the word before says more.
		if prev, _ := wordBefore(label, skipSeps(label, start), &buf); len(prev) > 0 {
			word = prev
		}
	}
	switch {
	case phoneWords[string(word)]:
		return ctxPhone
	case referenceWords[string(word)] && !ambiguousLabels[string(word)]:
		return ctxReference
	}
	return ctxNone
}

// ambiguousLabels are reference words that, as a parameter's whole name,
// say too little: ?ref= is mostly a referral, ?id= and ?no= anything.
var ambiguousLabels = setOf("ref", "id", "no", "nr", "num", "number", "art", "sn", "po", "conf", "prod", "track")

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}
