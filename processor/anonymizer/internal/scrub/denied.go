package scrub

// DeniedName reports whether a property name is one the query-parameter
// deny lists (built-in or configured) remove: a property named "token" or
// "api_key" holds a secret as surely as a query parameter does.
func (s *Scrubber) DeniedName(name string) bool {
	return s.decide(name, "", false) == remove
}
