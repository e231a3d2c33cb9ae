package partnerpostbackexporter // import "github.com/webjourney/webjourney/exporter/partnerpostbackexporter"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/webjourney/webjourney/exporter/partnerpostbackexporter/internal/metadata"
)

// NewFactory creates a factory for the partner_postback exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		Ledger:      configoptional.Default(defaultLedgerConfig()),
		QueueConfig: configoptional.Some(defaultQueueConfig()),
		RetryConfig: configretry.NewDefaultBackOffConfig(),
	}
}

// defaultQueueConfig queues whole requests without batching: credit records
// of one outcome leave the attribution processor in one request, and
// keeping requests whole keeps them together, so that the credits of a
// partner's several touches add up to one postback.
func defaultQueueConfig() exporterhelper.QueueBatchConfig {
	q := exporterhelper.NewDefaultQueueConfig()
	q.Batch = configoptional.None[exporterhelper.BatchConfig]()
	q.NumConsumers = 4
	return q
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	exp, err := newPostbackExporter(c, set)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, set, cfg,
		exp.pushLogs,
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// Each request has the partner's client timeout; a push may also
		// wait for the partner's rate limit, which is the point of it.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{}),
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	)
}
