// render.mjs renders a Vega spec headlessly for the Go package vegarender.
//
// Usage: node render.mjs VEGA_DIR < request.json > answer.json
// where VEGA_DIR is the directory of the vega npm package and the request is
// {"spec": {...}, "values": {"<data set>": <search response>}, "width": W, "height": H}.
// The answer is {"svg": "<svg ...>", "data": {"<data set>": [rows]},
// "warnings": ["..."]}. Errors go to stderr, with exit status 1.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const vegaDir = process.argv[2];
if (!vegaDir) {
  fail('usage: node render.mjs VEGA_DIR < request.json');
}
// The CommonJS build (package.json "main") loads from an absolute
// directory; it needs no bundler or import map for its vega-* dependencies.
const vega = createRequire(import.meta.url)(vegaDir);

// stdout carries the answer; nothing else may write to it.
console.log = console.info = console.debug = console.error;

const req = JSON.parse(readFileSync(0, 'utf8'));
const spec = req.spec;
const values = req.values || {};
if (!spec || typeof spec !== 'object') {
  fail('request has no spec object');
}

// Do what Kibana does once its searches answer: the data set's `url` (a
// Kibana query object Vega cannot load) is replaced by inline `values`,
// and Vega applies the data set's `format` (e.g. format.property) to them
// exactly as to a fetched document; vega-loader's json reader extracts
// format.property from inline objects too.
const datasets = Array.isArray(spec.data) ? spec.data : [];
const byName = new Map(datasets.map((d) => [d.name, d]));
for (const [name, v] of Object.entries(values)) {
  const d = byName.get(name);
  if (!d) {
    fail(`values given for data set "${name}", which the spec does not have (it has: ${[...byName.keys()].join(', ')})`);
  }
  delete d.url;
  d.values = v;
}
// A Kibana query left without values would reach Vega's loader as an object
// and fail with an obscure message; name the data set instead.
for (const d of datasets) {
  if (d.url && typeof d.url === 'object' && !('signal' in d.url)) {
    fail(`data set "${d.name}" has a Kibana url (an Elasticsearch query); give its search response in values`);
  }
}

// Size the view as Kibana does (VegaParser._compileWithAutosize and the
// view's resize): an autosize left unset, or set to a bare type, becomes
// {type: "fit", contains: "padding"}, so the whole picture, padding
// included, is the panel's size; only autosize "none" or a signal keeps the
// spec's own width/height. Vega's own default, "pad", would instead grow
// the picture around wide strokes and labels.
const warnings = [];
let resize = true;
let autosize = spec.autosize;
if (autosize && typeof autosize === 'object' && 'signal' in autosize) {
  resize = false;
} else {
  const fit = { type: 'fit', contains: 'padding' };
  if (typeof autosize === 'string') {
    resize = autosize !== 'none';
    autosize = { ...fit, type: autosize };
  } else if (autosize && typeof autosize === 'object') {
    autosize = { ...fit, ...autosize };
    resize = Boolean(autosize.type && autosize.type !== 'none');
  } else {
    autosize = fit;
  }
  spec.autosize = autosize;
}
const sized = (v) => v && v !== 'container';
if (resize && (sized(spec.width) || sized(spec.height))) {
  warnings.push('"width" and "height" params are ignored because "autosize" is enabled');
}

// Vega logs a failing transform or expression instead of rejecting
// runAsync (Kibana shows these in the panel); collect them so that a broken
// spec fails the render, and hand warnings back for the caller to judge.
const errors = [];
const logger = vega.logger(vega.Warn, undefined, (_method, level, args) => {
  const msg = [...args].map((a) => (a && a.message ? a.message : String(a))).join(' ');
  (level === 'ERROR' ? errors : warnings).push(msg);
});

try {
  const view = new vega.View(vega.parse(spec), { renderer: 'none', logger });
  if (resize) {
    view.width(req.width).height(req.height);
  }
  await view.runAsync();
  if (errors.length === 0) {
    const svg = await view.toSVG();
    if (errors.length === 0) {
      const data = {};
      for (const d of datasets) {
        data[d.name] = jsonSafe(view.data(d.name), new Set());
      }
      process.stdout.write(JSON.stringify({ svg, data, warnings }));
    }
  }
} catch (err) {
  errors.push(err && err.message ? err.message : String(err));
}
if (errors.length > 0) {
  fail(`vega: ${errors.join('; ')}`);
}

// jsonSafe copies a data set so that JSON.stringify keeps its meaning: Dates
// become ISO strings, non-finite numbers null, and a reference back to an
// enclosing object (hierarchy transforms link parents and children) null.
function jsonSafe(v, ancestors) {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (v === null || typeof v !== 'object') {
    return typeof v === 'function' || typeof v === 'symbol' || v === undefined ? null : v;
  }
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (ancestors.has(v)) return null;
  ancestors.add(v);
  let out;
  if (Array.isArray(v)) {
    out = v.map((x) => jsonSafe(x, ancestors));
  } else {
    out = {};
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'function' || typeof x === 'symbol' || x === undefined) continue;
      out[k] = jsonSafe(x, ancestors);
    }
  }
  ancestors.delete(v);
  return out;
}

function fail(msg) {
  process.stderr.write(msg + '\n');
  process.exit(1);
}
