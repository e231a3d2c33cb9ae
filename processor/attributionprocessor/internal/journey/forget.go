package journey

// Forget drops everything held about the visitor, for an erasure
// request: the visitor's next event starts a first visit with no
// history. It reports whether the visitor was held. A forgotten visitor
// is not counted as an eviction.
func (t *Tracker) Forget(visitor string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.visitors.Remove(visitor)
}
