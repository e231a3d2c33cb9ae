//go:build !race

package salt

const raceEnabled = false
