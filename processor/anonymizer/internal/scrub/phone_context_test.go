package scrub

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A word is either a phone word or a reference word, never both.
func TestContextWordsDisjoint(t *testing.T) {
	for w := range phoneWords {
		if referenceWords[w] {
			t.Errorf("%q is both a phone and a reference word", w)
		}
	}
}

// Phone numbers glued to a word by a separator are phones in every
// surface; a number after "#" or an order or ticket word is a reference.
func TestPhoneContext(t *testing.T) {
	s := allOn(t)
	for _, in := range []string{
		"call-+44 20 7946 0958", "call-0612345678", "call_0612345678", "call.0612345678", "call:0612345678",
		"tel-06-12-34-56-78", "phone-+33612345678", "whatsapp-+4915112345678", "contact_+44 7700 900123",
		"mobile/0612345678", "Phone No. 0612 345 678", "call-0612345678-now", "tel:2025550143", "fax 555-0143",
		"Tel0612345678", "appelez-06 12 34 56 78", "Handy 0664/1234567", "wa.me/4915112345678", "0612345678",
		"+33612345678", "#+44 20 7946 0958",
	} {
		out, c := s.Text(in)
		assert.Equal(t, 1, c.Get(Phone), "%q -> %q", in, out)
		for _, u := range []string{
			"https://shop.example/contact/" + url.PathEscape(in),
			"https://shop.example/?msg=" + url.QueryEscape(in),
			"https://shop.example/#" + url.PathEscape(in),
		} {
			out, c := s.URL(u)
			assert.Positive(t, c.Get(Phone), "%q -> %q", u, out)
		}
	}
	for _, in := range []string{
		"#1234-5678-90", "Order #12 345 678", "Ticket #123-456-7890", "ref #0612 345 678", "Order #100234567",
		"Ticket 123-456-7890", "Invoice no. 0612345678", "Case #0123456789", "ISBN 0306406152", "0306406152",
		"SKU-0612345678", "serial SN-0612345678", "part no. 123-4567-890",
	} {
		out, c := s.Text(in)
		assert.Zero(t, c.Total(), "%q -> %q", in, out)
	}
	// The name before a value says what a number at its start is.
	for label, want := range map[string]int{"ticket": 0, "order_id": 0, "mobile": 1, "tel_home": 1, "q": 1, "ref": 1} {
		_, c := s.TextAfter(label, "0612345678")
		assert.Equal(t, want, c.Get(Phone), label)
	}
	_, c := s.TextAfter("ticket", "1234-5678-90")
	assert.Zero(t, c.Total())
	out, _ := s.URL("https://support.example/tickets/1234-5678-90?order=12-3456-7890")
	assert.Equal(t, "https://support.example/tickets/1234-5678-90?order=12-3456-7890", out)
}
