package main

import (
	"slices"
	"testing"
)

func TestRequiredLiterals(t *testing.T) {
	tests := []struct {
		pattern string
		want    []string
	}{
		{`Googlebot\/`, []string{"googlebot/"}},
		{`[wW]get`, []string{"wget"}},
		{`^curl`, []string{"curl"}},
		{`(sistrix|SISTRIX) [cC]rawler`, []string{"sistrix crawler"}},
		{`Ahrefs(Bot|SiteAudit)`, []string{"ahrefsbot", "ahrefssiteaudit"}},
		{`Automaton|Newsify Feed Fetcher`, []string{"automaton", "newsify feed fetcher"}},
		{`AdsBot-Google([^-]|$)`, []string{"adsbot-google"}},
		{`BlogTraffic\/\d\.\d+ Feed-Fetcher`, []string{" feed-fetcher"}},
		{`ContextualBot[\s\S]*outcomes\.net`, []string{"contextualbot"}},
		{`(?i)spider`, []string{"spider"}},
		{`a.b`, nil},        // nothing of length >= 3
		{`.*`, nil},         // nothing at all
		{`(?i)straße`, nil}, // Unicode folding: not ASCII-foldable
		{`x(abc)?y`, nil},   // optional part is not required
		{`(abc)+d`, []string{"abc"}},
		{`[`, nil}, // invalid
	}
	for _, tt := range tests {
		if got := requiredLiterals(tt.pattern); !slices.Equal(got, tt.want) {
			t.Errorf("requiredLiterals(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}
