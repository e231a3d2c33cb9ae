package channel

import (
	"fmt"
	"sync"
	"testing"
)

// The registrable-domain cache answers exactly what the lookup does, for
// hosts that collide in its slots and under concurrent use.
func TestRegistrableCache(t *testing.T) {
	hosts := []string{"www.google.com", "shop.example", "a.b.example.co.uk", "203.0.113.7", "localhost", "x.github.io"}
	for i := 0; i < 3000; i++ { // more hosts than slots: collisions
		hosts = append(hosts, fmt.Sprintf("h%d.example%d.com.au", i, i%7))
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 3; round++ {
				for _, h := range hosts {
					rd, icann := registrable(h)
					wrd, wicann := lookupRegistrable(h)
					if rd != wrd || icann != wicann {
						t.Errorf("%s: cached (%q, %v), lookup (%q, %v)", h, rd, icann, wrd, wicann)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
