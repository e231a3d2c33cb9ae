package attributionprocessor

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/webjourney/webjourney/processor/attributionprocessor/internal/metadata"
)

// NewFactory returns the factory of the attribution processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		processor.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("attribution: unexpected config type %T", cfg)
	}
	p, err := newProcessor(set, c)
	if err != nil {
		return nil, err
	}
	if c.EmitInterval > 0 {
		p.emitter = newEmitter(p, next, c.EmitInterval)
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, p.processLogs,
		// Events are annotated in place and entity records appended.
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}),
		processorhelper.WithStart(func(ctx context.Context, host component.Host) error {
			if err := p.persist.start(ctx, host); err != nil {
				return err
			}
			if p.emitter != nil {
				p.emitter.start()
			}
			return nil
		}),
		processorhelper.WithShutdown(func(ctx context.Context) error {
			// Pending records first: they are sent before the state is
			// saved, while the pipeline behind us is still up.
			if p.emitter != nil {
				p.emitter.shutdown(ctx)
			}
			err := p.persist.shutdown(ctx)
			p.telemetry.Shutdown()
			return err
		}))
}
