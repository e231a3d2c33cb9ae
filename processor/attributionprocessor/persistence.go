package attributionprocessor

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"

	"github.com/webjourney/webjourney/internal/storageext"
	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/metadata"
)

// persistence keeps the journey state in a storage extension: loaded at
// start, saved every checkpoint_interval and at shutdown, one key per
// journey state ("journey/_default", "journey/site/<id>"). Without a
// storage extension it does nothing and a restart starts every visitor
// afresh (new visits; the exporter's versioning still orders snapshots).
type persistence struct {
	id        component.ID
	cfg       *Config
	states    []*siteState
	telemetry *metadata.TelemetryBuilder
	logger    *zap.Logger

	client storage.Client
	stop   chan struct{}
	wg     sync.WaitGroup
}

func newPersistence(id component.ID, cfg *Config, states []*siteState, tb *metadata.TelemetryBuilder, logger *zap.Logger) *persistence {
	return &persistence{id: id, cfg: cfg, states: states, telemetry: tb, logger: logger}
}

func stateKey(st *siteState) string { return "journey/" + st.name }

func (ps *persistence) start(ctx context.Context, host component.Host) error {
	id := ps.cfg.Storage
	if id == nil {
		return nil
	}
	client, err := storageext.Client(ctx, host, *id, component.KindProcessor, ps.id, "journeys")
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	ps.client = client
	for _, st := range ps.states {
		data, err := client.Get(ctx, stateKey(st))
		if err != nil {
			ps.failed(ctx, "load", st, err)
			continue
		}
		if data == nil {
			continue
		}
		// A state that cannot be read (e.g. written by an incompatible
		// version) costs the open journeys, not the start-up.
		if err := st.tracker.Restore(bytes.NewReader(data)); err != nil {
			ps.failed(ctx, "restore", st, err)
			continue
		}
		ps.logger.Info("journey state restored", zap.String("state", st.name), zap.Int("visitors", st.tracker.Len()))
	}
	if ps.cfg.CheckpointInterval > 0 {
		ps.stop = make(chan struct{})
		ps.wg.Add(1)
		go ps.loop(ps.cfg.CheckpointInterval)
	}
	return nil
}

func (ps *persistence) loop(every time.Duration) {
	defer ps.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ps.stop:
			return
		case <-t.C:
			ps.save(context.Background())
		}
	}
}

func (ps *persistence) save(ctx context.Context) {
	for _, st := range ps.states {
		var buf bytes.Buffer
		if err := st.tracker.Snapshot(&buf); err != nil {
			ps.failed(ctx, "snapshot", st, err)
			continue
		}
		if err := ps.client.Set(ctx, stateKey(st), buf.Bytes()); err != nil {
			ps.failed(ctx, "save", st, err)
		}
	}
}

func (ps *persistence) failed(ctx context.Context, op string, st *siteState, err error) {
	ps.telemetry.ProcessorAttributionPersistenceErrors.Add(ctx, 1)
	ps.logger.Error("journey state "+op+" failed", zap.String("state", st.name), zap.Error(err))
}

func (ps *persistence) shutdown(ctx context.Context) error {
	if ps.client == nil {
		return nil
	}
	if ps.stop != nil {
		close(ps.stop)
		ps.wg.Wait()
	}
	ps.save(ctx)
	err := ps.client.Close(ctx)
	ps.client = nil
	return err
}
