package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter/internal/metadata"
	"github.com/webjourney/webjourney/internal/journeystore"
)

const (
	defaultEndpoint = "http://localhost:9200"
	defaultTimeout  = 30 * time.Second
	// defaultDeadLetterDays gives an operator a month to look at what was
	// refused, and keeps the personal data in it no longer.
	defaultDeadLetterDays = 30
	// defaultTombstoneDays is 13 months and a few days: the longest a
	// visitor cookie lives.
	defaultTombstoneDays = 400
)

// NewFactory creates a factory for the elasticsearch_journey exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = defaultTimeout
	// Bulk bodies of repetitive JSON shrink several times under gzip, and
	// Elasticsearch accepts gzip request bodies out of the box.
	client.Compression = configcompression.TypeGzip

	return &Config{
		Endpoints:    []string{defaultEndpoint},
		IndexPrefix:  journeystore.DefaultPrefix,
		ClientConfig: client,
		QueueConfig:  configoptional.Some(defaultQueueConfig()),
		RetryConfig:  configretry.NewDefaultBackOffConfig(),
		Retention:    RetentionConfig{CheckInterval: time.Hour},
		DeadLetter:   DeadLetterConfig{RetentionDays: defaultDeadLetterDays},
		Erasure:      ErasureConfig{TombstoneDays: defaultTombstoneDays},
	}
}

// defaultQueueConfig batches in the exporter queue: the distribution runs no
// batch processor, so this is where single-event beacons become bulk
// requests. A batch leaves after 1s or at 1000 events, and never exceeds
// 5000 events (about the 5 MB a bulk request is cut at). The queue holds
// 50000 events (minutes of an Elasticsearch outage for a busy site, bounded
// memory) and 4 consumers: one monthly index has one primary shard, which
// gains little from more concurrent bulk requests.
func defaultQueueConfig() exporterhelper.QueueBatchConfig {
	q := exporterhelper.NewDefaultQueueConfig()
	q.Sizer = exporterhelper.RequestSizerTypeItems
	q.QueueSize = 50_000
	q.NumConsumers = 4
	q.Batch = configoptional.Some(exporterhelper.BatchConfig{
		FlushTimeout: time.Second,
		Sizer:        exporterhelper.RequestSizerTypeItems,
		MinSize:      1000,
		MaxSize:      5000,
	})
	return q
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	exp, err := newEventsExporter(c, set)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, set, cfg,
		exp.pushLogs,
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// The squashed HTTP client's `timeout` bounds each attempt. The
		// http.Client itself is not used (only its Transport), so the
		// deadline comes from here, through the push context.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: c.ClientConfig.Timeout}),
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	)
}
