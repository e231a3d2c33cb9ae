// Package tools pins the versions of the build tools (ocb and mdatagen) in
// its own module, with a committed go.sum, so that `make build` and
// `make generate` install exactly these versions on a fresh machine.
package tools
