package elasticsearchjourneyexporter // import "github.com/webjourney/webjourney/exporter/elasticsearchjourneyexporter"

import "go.opentelemetry.io/collector/pdata/plog"

// forEachRecord calls f with the position and record of every log record,
// in resource, scope, record order.
func forEachRecord(ld plog.Logs, f func(i int, lr plog.LogRecord)) {
	i := 0
	rls := ld.ResourceLogs()
	for r := range rls.Len() {
		sls := rls.At(r).ScopeLogs()
		for s := range sls.Len() {
			lrs := sls.At(s).LogRecords()
			for l := range lrs.Len() {
				f(i, lrs.At(l))
				i++
			}
		}
	}
}

// selectRecords copies the records whose position is marked in keep, with
// their resource and scope, into new Logs.
func selectRecords(ld plog.Logs, keep []bool) plog.Logs {
	out := plog.NewLogs()
	i := 0
	rls := ld.ResourceLogs()
	for r := range rls.Len() {
		rl := rls.At(r)
		var outRL plog.ResourceLogs
		haveRL := false
		sls := rl.ScopeLogs()
		for s := range sls.Len() {
			sl := sls.At(s)
			var outSL plog.ScopeLogs
			haveSL := false
			lrs := sl.LogRecords()
			for l := range lrs.Len() {
				if keep[i] {
					if !haveRL {
						outRL = out.ResourceLogs().AppendEmpty()
						rl.Resource().CopyTo(outRL.Resource())
						outRL.SetSchemaUrl(rl.SchemaUrl())
						haveRL = true
					}
					if !haveSL {
						outSL = outRL.ScopeLogs().AppendEmpty()
						sl.Scope().CopyTo(outSL.Scope())
						outSL.SetSchemaUrl(sl.SchemaUrl())
						haveSL = true
					}
					lrs.At(l).CopyTo(outSL.LogRecords().AppendEmpty())
				}
				i++
			}
		}
	}
	return out
}
