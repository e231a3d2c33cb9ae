// tcstrings.mjs encodes the TC strings of consentgate's tests with IAB
// Europe's own encoder, @iabtcf/core, and prints them as Go constants:
//
//   node testdata/tcstrings.mjs /abs/path/to/node_modules/@iabtcf/core
//
// (scripts/fetch-testdata.sh installs @iabtcf/core into .cache/npm). The
// strings are committed in gate_test.go; run this again only to change them.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.argv[2];
const { GVL, TCModel, TCString } = await import(pathToFileURL(path.join(dir, 'lib', 'mjs', 'index.js')).href);

const named = (ids, kind) =>
  Object.fromEntries(ids.map((id) => [String(id), { id, name: `${kind} ${id}`, description: `${kind} ${id}.`, illustrations: [] }]));
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const vendor = (id) => ({
  id, name: `Vendor ${id}`, purposes: [1, 7, 8, 9, 10], legIntPurposes: [], flexiblePurposes: [],
  specialPurposes: [1], features: [1], specialFeatures: [], policyUrl: `https://vendor${id}.example/privacy`,
  cookieMaxAgeSeconds: 31536000, usesCookies: true, cookieRefresh: false, usesNonCookieAccess: false,
});
const gvl = {
  gvlSpecificationVersion: 3, vendorListVersion: 104, tcfPolicyVersion: 4, lastUpdated: '2024-01-15T16:00:00Z',
  purposes: named(range(1, 11), 'Purpose'), specialPurposes: named([1, 2, 3], 'Special purpose'),
  features: named([1, 2, 3], 'Feature'), specialFeatures: named([1, 2], 'Special feature'), stacks: {},
  dataCategories: named(range(1, 11), 'Data category'),
  vendors: { 10: vendor(10), 31: vendor(31) },
};

function encode(purposes, vendors) {
  const m = new TCModel(new GVL(gvl));
  m.cmpId = 300; m.cmpVersion = 2; m.consentScreen = 1; m.publisherCountryCode = 'DE';
  m.purposeConsents.set(purposes);
  m.vendorConsents.set(vendors);
  m.created = m.lastUpdated = new Date(Date.UTC(2024, 0, 15));
  return TCString.encode(m);
}

const out = {
  tcAll: encode([1, 7, 8], [10]),         // purposes 1, 7, 8; vendor 10
  tcNoPurpose7: encode([1, 8], [10]),     // purpose 7 missing
  tcOtherVendor: encode([1, 7, 8], [31]), // vendor 10 has no consent
};
for (const [k, v] of Object.entries(out)) console.log(`\t${k} = "${v}"`);
