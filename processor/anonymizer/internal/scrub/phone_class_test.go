package scrub

import (
	"net/url"
	"strings"
	"testing"
)

// phoneFormats are phone numbers as people write them, national and
// international, in the countries of the sites we serve.
var phoneFormats = []string{
	// United Kingdom, Ireland
	"+44 20 7946 0958", "020 7946 0958", "07700 900123", "+447700900123", "0044 20 7946 0958",
	"087 123 4567", "+353 87 123 4567",
	// United States, Canada, Mexico
	"(202) 555-0143", "202-555-0143", "202.555.0143", "+1 202 555 0143", "+1-202-555-0143", "1-800-555-0199",
	"+1 (416) 555-0175", "55 1234 5678", "+52 55 1234 5678",
	// Germany, Austria, Switzerland
	"+49 30 12345678", "030 12345678", "0151 12345678", "+49 151 1234 5678", "030/1234567",
	"+49 (0)30 1234 5678", "0664/1234567", "+43 664 1234567", "044 668 18 00", "+41 44 668 18 00",
	// France, Belgium, Netherlands
	"06 12 34 56 78", "+33 6 12 34 56 78", "06.12.34.56.78", "+33612345678", "0612345678",
	"0470 12 34 56", "+32 470 12 34 56", "06-12345678", "+31 6 12345678", "020 123 4567",
	// Spain, Portugal, Italy
	"612 34 56 78", "+34 612 345 678", "912 345 678", "+351 912 345 678", "333 123 4567",
	"+39 06 1234 5678", "06 1234 5678", "+39 333 123 4567",
	// Nordics, Poland
	"070-123 45 67", "+46 70 123 45 67", "+47 412 34 567", "+45 20 12 34 56", "512 345 678",
	"+48 512 345 678",
	// Brazil, India, Australia, Japan
	"(11) 91234-5678", "+55 11 91234-5678", "+91 98765 43210", "098765 43210", "0412 345 678",
	"+61 412 345 678", "(02) 9876 5432", "090-1234-5678", "+81 90-1234-5678", "03-1234-5678",
	// local numbers, only after a word that names them
	"555-0143", "5550143",
}

// phoneWordsUsed are words that name a phone number, in several languages
// and cases.
var phoneWordsUsed = []string{
	"call", "Call", "CALL", "tel", "Tel", "phone", "Phone", "whatsapp", "WhatsApp", "mobile", "fax", "sms",
	"Telefon", "Handy", "appelez", "téléphone", "llamar", "teléfono", "chiama", "cellulare", "bel", "mobiel",
	"ligue", "telefone", "hotline", "contact",
}

// glues join a word and its number.
var glues = []string{"-", "_", ":", ".", "/", "=", " ", ": ", " - ", "+", "_+"}

// surfaces are the places text travels in, each as a function from a text
// to what the anonymizer scrubs and the text as it sits there (decoded).
func phoneSurfaces(s *Scrubber) map[string]func(string) (string, Counts) {
	return map[string]func(string) (string, Counts){
		"title": s.Text, // also custom event names, campaign values, form ids and names
		"property_value": func(v string) (string, Counts) {
			return s.TextAfter("note", v)
		},
		"path_segment": func(v string) (string, Counts) {
			out, c := s.URL("https://shop.example/contact/" + url.PathEscape(v) + "/x")
			return pathUnescape(out), c
		},
		"query_value": func(v string) (string, Counts) {
			out, c := s.URL("https://shop.example/thanks?msg=" + url.QueryEscape(v) + "&page=2")
			u, _ := url.Parse(out)
			return u.Query().Get("msg"), c
		},
		"fragment": func(v string) (string, Counts) {
			out, c := s.URL("https://shop.example/help#" + url.PathEscape(v))
			return pathUnescape(out), c
		},
	}
}

func pathUnescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// A phone number glued to a word by any separator is removed in every
// surface, whatever its country's format.
func TestPhoneGluedToWordEverySurface(t *testing.T) {
	s := allOn(t)
	surfaces := phoneSurfaces(s)
	checked := 0
	for i, num := range phoneFormats {
		digits := digitsOnly(num)
		for j, w := range phoneWordsUsed {
			// every word with "-" (the reported class), every glue with a
			// word that rotates with the number
			if w == "contact" && localOnly(num) {
				continue // "contact" alone does not make 7 digits a phone number
			}
			var texts []string
			texts = append(texts, w+"-"+num)
			if j == i%len(phoneWordsUsed) {
				for _, g := range glues {
					texts = append(texts, w+g+num, "Please "+w+g+num+" today")
				}
			}
			for _, text := range texts {
				for name, f := range surfaces {
					out, c := f(text)
					checked++
					// Removed as a phone, or with its "phone=" parameter
					// (a fragment that reads as a query).
					if c.Get(Phone)+c.Get(Param) == 0 || strings.Contains(digitsOnly(out), digits[1:]) {
						t.Errorf("%s: %q -> %q (%v)", name, text, out, c.Map())
					}
				}
			}
		}
	}
	t.Logf("%d surface checks", checked)
}

// International numbers (a leading '+' or 00) are phones without a word.
func TestPhoneInternationalAlone(t *testing.T) {
	s := allOn(t)
	for _, num := range phoneFormats {
		if num[0] != '+' && !strings.HasPrefix(num, "00") {
			continue
		}
		for name, f := range phoneSurfaces(s) {
			if out, c := f(num); c.Get(Phone) != 1 {
				t.Errorf("%s: %q -> %q (%v)", name, num, out, c.Map())
			}
		}
	}
}

// referenceWordsUsed name what follows as an order, ticket or other
// reference.
var referenceWordsUsed = []string{
	"Order", "order", "ORDER", "Ticket", "ticket", "Invoice", "Case", "Booking", "Ref", "Reference",
	"Tracking", "Bestellung", "Rechnung", "Commande", "Facture", "Pedido", "Factura", "Ordine", "Bestelling",
	"Confirmation", "Claim", "Policy", "Customer", "Account", "PO", "RMA", "SKU", "Item", "Serial",
	"Réf", "Référence", "Auftragsnummer", "Rechnungsnummer", "Sendungsnummer", "Buchung", "Referencia",
	"Reserva", "Encomenda", "Fatura", "Riferimento", "Prenotazione", "Bestelnummer", "Kenmerk",
}

// referenceGlues join a reference word and its number.
var referenceGlues = []string{" #", " # ", "#", "-", "_", " no. ", " No ", " nr. ", " n° ", ": ", " ", " Nº "}

// referenceNumbers are digit groups as order and ticket systems write
// them; many have a phone number's shape.
var referenceNumbers = []string{
	"1234-5678-90", "12 345 678", "123-456-7890", "0612 345 678", "100234567", "2026-000123", "0123456789",
	"0612345678", "2026/000123", "1234 5678 90", "12-3456-7890", "(202) 555-0143", "06 12 34 56 78",
	"4500012345", "20261202-0042",
}

// Numbers after "#" or an order, ticket or invoice word are references: no
// phone detector fires, in any surface.
func TestReferencesAreNoPhones(t *testing.T) {
	s := allOn(t)
	surfaces := phoneSurfaces(s)
	for i, n := range referenceNumbers {
		texts := []string{"#" + n}
		for j, w := range referenceWordsUsed {
			g := referenceGlues[(i+j)%len(referenceGlues)]
			texts = append(texts, w+g+n, "Your "+w+g+n+" is confirmed")
		}
		for _, text := range texts {
			for name, f := range surfaces {
				if name == "fragment" && text[0] == '#' {
					continue // in a URL the '#' is the fragment's own
				}
				if out, c := f(text); c.Get(Phone) != 0 || c.Get(Card) != 0 {
					t.Errorf("%s: %q -> %q (%v)", name, text, out, c.Map())
				}
			}
		}
	}
}

// Dates, times, prices, versions, measurements and long ids are no phone
// numbers, alone or after a word.
func TestNumbersThatAreNoPhones(t *testing.T) {
	s := allOn(t)
	numbers := []string{
		// dates and times
		"2026-12-02", "02.12.2026", "12/02/2026", "2026/12/02", "02-12-2026", "2026-12-02 10:15",
		"2026-12-02T10:15:00+01:00", "2026-12-02 10:15:30.123", "10:15:30", "09:00-17:30", "2019-2026",
		"1.12.2026 - 24.12.2026", "Mon 2026-12-02",
		// prices and amounts
		"1 299,00 €", "€ 1.299,00", "$1,234,567.89", "12 345 678 Ft", "1.299.000", "CHF 1'299.00", "¥ 129,800",
		"R$ 1.234,56", "₹ 1,23,456.00", "population 83 200 000", "1,234,567", "12 345 678",
		// versions and builds
		"1.2.3", "10.0.19041.1234", "Chrome/131.0.6778.86", "v2026.11.2", "build 20261202.4",
		"Android 14; SM-S918B Build/UP1A.231005.007",
		// ids, codes, coordinates, sizes
		"1764670500", "1764670500000", "GA1.2.1234567890.1764670500", "1234567890.1764670500",
		"550e8400-e29b-41d4-a716-446655440000", "4006381333931", "ISBN 978-3-16-148410-0", "ISBN 0306406152",
		"48.856614, 2.352222", "-33.8688,151.2093", "1920x1080", "IP 192.168.1.254", "10115 Berlin",
		"ZIP 90210-1234", "user 123456789", "id=100012345678", "page 12 of 345", "Size 42 EU / 8.5 UK",
	}
	for _, n := range numbers {
		for _, text := range []string{n, "Updated " + n, n + " (see)"} {
			for name, f := range phoneSurfaces(s) {
				if out, c := f(text); c.Get(Phone) != 0 {
					t.Errorf("%s: %q -> %q (%v)", name, text, out, c.Map())
				}
			}
		}
	}
}

// localOnly: a number too short or too oddly grouped to be a phone without
// a word that names it.
func localOnly(num string) bool {
	return num == "555-0143" || num == "5550143" || num == "098765 43210"
}
