package campaign

import "testing"

func BenchmarkFromQuery(b *testing.B) {
	cases := []struct{ name, q string }{
		{"none", "page=2&sort=desc&q=hello+world&ref=home&lang=en-US&session=abcdef0123456789"},
		{"utm", "utm_source=google&utm_medium=cpc&utm_campaign=spring%20sale&gclid=EAIaIQobChMI"},
		{"mtm", "mtm_campaign=newsletter&mtm_source=email&mtm_kwd=shoes"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				FromQuery(c.q)
			}
		})
	}
}
