// Package storageext opens a client of a configured storage extension
// (e.g. file_storage), for the components that keep state across restarts.
package storageext // import "github.com/webjourney/webjourney/internal/storageext"

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// Client returns a client of the storage extension id for the component
// owner (of kind) under name. Errors say what is wrong with id; callers
// prefix the configuration key.
func Client(ctx context.Context, host component.Host, id component.ID, kind component.Kind, owner component.ID, name string) (storage.Client, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("no extension %q is configured", id)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("extension %q is not a storage extension", id)
	}
	return se.GetClient(ctx, kind, owner, name)
}
