package scrub

// DeniedName reports whether a property or attribute name is one the
// query-parameter lists (built-in or configured) remove: a property named
// "token" or "customer_name" holds a secret or a person's details as
// surely as a query parameter does, and allow_params / deny_params apply
// to it the same way.
func (s *Scrubber) DeniedName(name string) bool {
	return s.decide(name, "", false) == remove
}
