package journey

import (
	"testing"
	"time"
)

func TestForget(t *testing.T) {
	tr, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	tr.Apply(Event{ID: "a", Visitor: "v", Name: "webjourney.page_view", Time: t0, Medium: "search", Source: "google"})
	if !tr.Forget("v") || tr.Forget("v") {
		t.Fatal("Forget must report whether the visitor was held")
	}
	if tr.Touches("v") != nil || tr.Len() != 0 || tr.Evictions() != 0 {
		t.Fatal("the visitor must be gone, and not as an eviction")
	}
	_, vr, ok, _ := tr.Apply(Event{ID: "a", Visitor: "v", Name: "webjourney.page_view", Time: t0.Add(time.Minute)})
	if !ok || vr.VisitCount != 1 || vr.FirstTouch.Medium != "direct" {
		t.Fatalf("after Forget the visitor starts afresh (and the old event id is forgotten): %+v applied=%v", vr, ok)
	}
}
