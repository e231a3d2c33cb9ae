// vectors.mjs encodes TCF v2.2 TC strings with IAB Europe's own encoder,
// @iabtcf/core, and prints test vectors for package tcf as one JSON array:
//
//   [{"name": "...", "tc_string": "...",
//     "rules": {"vendor_id": N, "publisher_purposes": bool, "purposes": [..], "min_policy_version": N},
//     "want": {"invalid": "", "storage": bool, "measurement": bool, "basis": ""}}]
//
// Usage: node vectors.mjs /abs/path/to/node_modules/@iabtcf/core
//
// The expected results are NOT obtained by decoding the produced strings.
// They are derived from the inputs given to the encoder, in two steps:
//
//  1. encodedModel() predicts what @iabtcf/core 1.5.6 really writes into
//     the string. Its SemanticPreEncoder and PurposeRestrictionVector change
//     the inputs (read lib/mjs/encoder/SemanticPreEncoder.js and
//     lib/mjs/model/PurposeRestrictionVector.js):
//       - purpose 1 legitimate interest is always cleared (purposes 3-6 are
//         NOT cleared by this version, whatever the policy version);
//       - a vendor consent / legitimate-interest bit is cleared when the
//         vendor is not in the GVL or is deleted, or when it declares no
//         purpose for that legal basis, unless the string is
//         service-specific, the vendor has flexible purposes and a
//         publisher restriction switches it to that basis (type 1 for
//         consent, type 2 for legitimate interest); a vendor that declares
//         only special purposes keeps its legitimate-interest bit;
//       - a publisher restriction is dropped unless the vendor is in the
//         GVL and: type 0 (not allowed) - declares the purpose for consent
//         or LI; type 1 (require consent) - declares it flexible and LI;
//         type 2 (require LI) - declares it flexible and consent;
//       - the policy version written is the GVL's tcfPolicyVersion;
//       - the publisher TC segment is written for service-specific strings,
//         for isForVendors, or when options.segments lists it.
//     (Restriction ranges may also cover ids that are not in the GVL; such
//     vendors never keep a consent or LI bit, so that cannot change a
//     result.)
//  2. evaluate() applies the TCF v2.2 rules package tcf documents to that
//     model: storage needs purpose 1 consent (never LI) and no purpose one
//     treatment; a purpose is allowed by consent, or by legitimate interest
//     where TCF v2.2 allows LI (purpose 2 and 7 and up), with the vendor's
//     bit and publisher restrictions when a vendor is configured.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node vectors.mjs /abs/path/to/@iabtcf/core');
  process.exit(2);
}
const { GVL, TCModel, TCString, PurposeRestriction } = await import(
  pathToFileURL(path.join(dir, 'lib', 'mjs', 'index.js')).href
);

const NOT_ALLOWED = 0;
const REQUIRE_CONSENT = 1;
const REQUIRE_LI = 2;

// ---------------------------------------------------------------------------
// Synthetic Global Vendor List.

const named = (ids, kind) =>
  Object.fromEntries(ids.map((id) => [String(id), { id, name: `${kind} ${id}`, description: `${kind} ${id}.`, illustrations: [] }]));

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

// The vendors the vectors use. 99 is deliberately absent from the GVL.
const VENDORS = {
  // Consent only, no flexible purposes.
  10: { purposes: [1, 7, 8, 9, 10], legIntPurposes: [], flexiblePurposes: [] },
  // Consent for storage, LI for the rest, all flexible.
  20: { purposes: [1], legIntPurposes: [2, 7, 8, 9, 10], flexiblePurposes: [2, 7, 8, 9, 10] },
  // No consent purposes at all: LI only, flexible.
  21: { purposes: [], legIntPurposes: [7, 8, 9, 10], flexiblePurposes: [7, 8, 9, 10] },
  // Consent for everything, flexible, LI declared only for purpose 2.
  30: { purposes: [1, 7, 8, 9, 10], legIntPurposes: [2], flexiblePurposes: [7, 8, 9, 10] },
  // Consent only, flexible: no LI purpose declared.
  31: { purposes: [1, 7, 8, 9, 10], legIntPurposes: [], flexiblePurposes: [7, 8, 9, 10] },
  // LI only, not flexible.
  40: { purposes: [], legIntPurposes: [2, 7, 8, 9, 10], flexiblePurposes: [] },
  // Consent for 1 and 8, LI for 9 and 10, not flexible.
  45: { purposes: [1, 8], legIntPurposes: [9, 10], flexiblePurposes: [] },
  // Deleted from the GVL.
  50: { purposes: [1, 7, 8, 9, 10], legIntPurposes: [2], flexiblePurposes: [], deletedDate: '2023-06-01T00:00:00Z' },
  // Special purposes only (keeps its LI bit, June 2021 policy).
  60: { purposes: [], legIntPurposes: [], flexiblePurposes: [], specialPurposes: [1, 2] },
  // A high id, so that vendor sections switch to range encoding.
  777: { purposes: [1, 7, 8, 9, 10], legIntPurposes: [2, 7, 8, 9, 10], flexiblePurposes: [7, 8, 9, 10] },
};

function gvlJSON(policyVersion) {
  const vendors = {};
  for (const [id, v] of Object.entries(VENDORS)) {
    vendors[id] = {
      id: Number(id),
      name: `Vendor ${id}`,
      purposes: v.purposes,
      legIntPurposes: v.legIntPurposes,
      flexiblePurposes: v.flexiblePurposes,
      specialPurposes: v.specialPurposes ?? [1],
      features: [1],
      specialFeatures: id === '777' ? [1] : [],
      policyUrl: `https://vendor${id}.example/privacy`,
      cookieMaxAgeSeconds: 31536000,
      usesCookies: true,
      cookieRefresh: false,
      usesNonCookieAccess: false,
      ...(v.deletedDate ? { deletedDate: v.deletedDate } : {}),
    };
  }
  return {
    gvlSpecificationVersion: 3,
    vendorListVersion: 100 + policyVersion, // > 0, as go-gdpr requires
    tcfPolicyVersion: policyVersion,
    lastUpdated: '2024-01-15T16:00:00Z',
    purposes: named(range(1, 11), 'Purpose'),
    specialPurposes: named([1, 2, 3], 'Special purpose'),
    features: named([1, 2, 3], 'Feature'),
    specialFeatures: named([1, 2], 'Special feature'),
    stacks: {},
    dataCategories: named(range(1, 11), 'Data category'),
    vendors,
  };
}

const gvls = new Map([2, 3, 4].map((pv) => [pv, gvlJSON(pv)]));

// ---------------------------------------------------------------------------
// Encoding.

const DATE = new Date(Date.UTC(2024, 0, 15)); // fixed, so strings are reproducible

// encode builds a TCModel from a scenario and encodes it.
function encode(sc) {
  const model = new TCModel(new GVL(gvls.get(sc.policy)));
  model.cmpId = 300;
  model.cmpVersion = 2;
  model.consentScreen = 1;
  model.publisherCountryCode = 'DE';
  model.isServiceSpecific = sc.serviceSpecific;
  model.purposeOneTreatment = sc.purposeOneTreatment;
  model.purposeConsents.set(sc.purposeConsents);
  model.purposeLegitimateInterests.set(sc.purposeLI);
  model.specialFeatureOptins.set(sc.specialFeatures);
  model.vendorConsents.set(sc.vendorConsents);
  model.vendorLegitimateInterests.set(sc.vendorLI);
  model.publisherConsents.set(sc.pubConsents);
  model.publisherLegitimateInterests.set(sc.pubLI);
  model.vendorsAllowed.set(sc.vendorsAllowed);
  for (const r of sc.restrictions) {
    for (const v of r.vendors) {
      model.publisherRestrictions.add(v, new PurposeRestriction(r.purpose, r.type));
    }
  }
  model.created = DATE;
  model.lastUpdated = DATE;
  return TCString.encode(model, sc.options);
}

// ---------------------------------------------------------------------------
// What @iabtcf/core writes (see the header comment), derived from inputs.

function liveVendor(gvl, id) {
  const v = gvl.vendors[String(id)];
  return v && v.deletedDate === undefined ? v : undefined;
}

function restrictionKept(gvl, type, purpose, id) {
  const v = liveVendor(gvl, id);
  if (!v) return false;
  if (type === NOT_ALLOWED) return v.purposes.includes(purpose) || v.legIntPurposes.includes(purpose);
  if (v.flexiblePurposes.length === 0) return false;
  if (type === REQUIRE_CONSENT) return v.flexiblePurposes.includes(purpose) && v.legIntPurposes.includes(purpose);
  return v.flexiblePurposes.includes(purpose) && v.purposes.includes(purpose); // REQUIRE_LI
}

function encodedModel(sc) {
  const gvl = gvls.get(sc.policy);
  const restrictions = new Set(); // "purpose-type-vendor"
  for (const r of sc.restrictions) {
    for (const v of r.vendors) {
      if (restrictionKept(gvl, r.type, r.purpose, v)) restrictions.add(`${r.purpose}-${r.type}-${v}`);
    }
  }
  const hasRestrictionType = (id, type) => [...restrictions].some((k) => k.endsWith(`-${type}-${id}`));
  const keepBit = (id, key) => {
    const v = liveVendor(gvl, id);
    if (!v) return false;
    if (v[key].length > 0) return true;
    if (key === 'legIntPurposes' && v.purposes.length === 0 && v.specialPurposes.length > 0) return true;
    if (!sc.serviceSpecific || v.flexiblePurposes.length === 0) return false;
    return hasRestrictionType(id, key === 'purposes' ? REQUIRE_CONSENT : REQUIRE_LI);
  };
  const segments = sc.options?.segments;
  const publisherSegment = Array.isArray(segments)
    ? segments.includes('publisherTC')
    : sc.serviceSpecific || sc.options?.isForVendors === true;
  return {
    policy: gvl.tcfPolicyVersion,
    purposeOneTreatment: sc.purposeOneTreatment,
    purposeConsents: new Set(sc.purposeConsents),
    purposeLI: new Set(sc.purposeLI.filter((p) => p !== 1)),
    vendorConsents: new Set(sc.vendorConsents.filter((id) => keepBit(id, 'purposes'))),
    vendorLI: new Set(sc.vendorLI.filter((id) => keepBit(id, 'legIntPurposes'))),
    restricted: (purpose, type, id) => restrictions.has(`${purpose}-${type}-${id}`),
    publisher: publisherSegment ? { consents: new Set(sc.pubConsents), li: new Set(sc.pubLI) } : null,
  };
}

// ---------------------------------------------------------------------------
// TCF v2.2 decision on the encoded model.

const liAllowed = (p) => p === 2 || p >= 7;

function evaluate(m, rules) {
  const none = (invalid) => ({ invalid, storage: false, measurement: false, basis: '' });
  if (m.policy < rules.min_policy_version) return none('policy_version');
  const v = rules.vendor_id;
  const consent = (p) => {
    const base = rules.publisher_purposes ? m.publisher !== null && m.publisher.consents.has(p) : m.purposeConsents.has(p);
    if (!base) return false;
    if (v === 0) return true;
    return m.vendorConsents.has(v) && !m.restricted(p, NOT_ALLOWED, v) && !m.restricted(p, REQUIRE_LI, v);
  };
  const li = (p) => {
    if (!liAllowed(p)) return false;
    const base = rules.publisher_purposes ? m.publisher !== null && m.publisher.li.has(p) : m.purposeLI.has(p);
    if (!base) return false;
    if (v === 0) return true;
    return m.vendorLI.has(v) && !m.restricted(p, NOT_ALLOWED, v) && !m.restricted(p, REQUIRE_CONSENT, v);
  };
  const storage = !m.purposeOneTreatment && consent(1);
  let basis = 'consent';
  for (const p of rules.purposes) {
    if (consent(p)) continue;
    if (li(p)) {
      basis = 'legitimate_interest';
      continue;
    }
    return { invalid: '', storage, measurement: false, basis: '' };
  }
  return { invalid: '', storage, measurement: true, basis };
}

// ---------------------------------------------------------------------------
// Scenarios.

const ALL = range(1, 11);
const MEAS = [7, 8, 9, 10];

// rule(vendor, publisherPurposes, purposes, minPolicyVersion)
const rule = (vendor_id, publisher_purposes, purposes, min_policy_version = 4) => ({
  vendor_id,
  publisher_purposes,
  purposes,
  min_policy_version,
});

const defaults = {
  policy: 4,
  serviceSpecific: true,
  options: undefined,
  purposeConsents: [],
  purposeLI: [],
  specialFeatures: [],
  purposeOneTreatment: false,
  vendorConsents: [],
  vendorLI: [],
  restrictions: [],
  pubConsents: [],
  pubLI: [],
  vendorsAllowed: [],
};

const scenarios = [
  // --- legal bases ---------------------------------------------------------
  {
    name: 'consent-all',
    purposeConsents: ALL,
    vendorConsents: [10, 20, 30, 45, 777],
    rules: [
      rule(0, false, [8]),
      rule(0, false, MEAS),
      rule(0, false, [9, 10], 2),
      rule(10, false, MEAS),
      rule(20, false, [9, 10]),
      rule(777, false, MEAS), // vendor sections range-encoded (max id 777)
      rule(40, false, [8]), // vendor 40 has no consent bit
      rule(99, false, [8]), // vendor 99 is not in the GVL
    ],
  },
  {
    name: 'consent-all-bitfield-vendors',
    purposeConsents: ALL,
    vendorConsents: [10, 20, 30, 45], // max id 45: bit field encoding
    rules: [rule(0, false, MEAS), rule(30, false, MEAS), rule(45, false, [8]), rule(21, false, [8])],
  },
  {
    name: 'li-only',
    purposeLI: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], // encoder drops purpose 1 LI
    vendorLI: [20, 40, 777],
    rules: [
      rule(0, false, [8]),
      rule(0, false, MEAS),
      rule(20, false, [9, 10]),
      rule(40, false, MEAS),
      rule(777, false, [8]),
      rule(10, false, [8]), // vendor 10 has no LI bit
    ],
  },
  {
    name: 'mixed-bases',
    purposeConsents: [1, 7, 8],
    purposeLI: [2, 9, 10],
    vendorConsents: [10, 20, 30, 45],
    vendorLI: [10, 20, 45, 777], // vendor 10 declares no LI purpose: bit dropped
    rules: [
      rule(0, false, [8]),
      rule(0, false, MEAS),
      rule(0, false, [9, 10]),
      rule(10, false, MEAS),
      rule(10, false, [8]),
      rule(45, false, MEAS),
      rule(20, false, [8]),
      rule(20, false, MEAS),
    ],
  },
  {
    name: 'li-declared-vendor-without-consent-purposes',
    purposeConsents: ALL,
    purposeLI: [2, 7, 8, 9, 10],
    vendorConsents: [21, 40], // both declare no consent purpose: dropped
    vendorLI: [21, 40],
    rules: [rule(40, false, MEAS), rule(21, false, [8]), rule(40, false, [8])],
  },
  // --- objections ------------------------------------------------------------
  {
    name: 'object-li-purposes-9-10',
    purposeConsents: [1, 7, 8],
    purposeLI: [2], // right to object exercised for 7-10
    vendorConsents: [20],
    vendorLI: [20, 40],
    rules: [rule(0, false, [8]), rule(0, false, [9, 10]), rule(0, false, MEAS), rule(20, false, [8])],
  },
  {
    name: 'object-vendor-li',
    purposeLI: [2, 7, 8, 9, 10],
    vendorLI: [20], // objection to vendor 40
    rules: [rule(20, false, [8]), rule(40, false, [8]), rule(0, false, MEAS)],
  },
  {
    name: 'purpose-1-li-only',
    purposeConsents: [7, 8, 9, 10],
    purposeLI: [1, 2], // purpose 1 LI is dropped by the encoder and never counts
    vendorConsents: [10],
    vendorLI: [20],
    rules: [rule(0, false, MEAS), rule(10, false, [8])],
  },
  {
    name: 'special-purpose-only-vendor-li',
    purposeLI: [8],
    vendorLI: [60],
    rules: [rule(60, false, [8]), rule(60, false, [9, 10])],
  },
  // --- publisher restrictions: configured vendor -----------------------------
  {
    name: 'restrict-not-allowed-p8-vendor30',
    purposeConsents: ALL,
    purposeLI: [2, 7, 8, 9, 10],
    vendorConsents: [30, 20],
    vendorLI: [30, 20],
    restrictions: [{ purpose: 8, type: NOT_ALLOWED, vendors: [30] }],
    rules: [
      rule(30, false, [8]),
      rule(30, false, [9, 10]),
      rule(30, false, MEAS),
      rule(0, false, [8]),
      rule(20, false, [8]), // restriction is for another vendor
    ],
  },
  {
    name: 'restrict-not-allowed-p1-vendor10',
    purposeConsents: ALL,
    vendorConsents: [10, 20],
    restrictions: [{ purpose: 1, type: NOT_ALLOWED, vendors: [10] }],
    rules: [rule(10, false, [8]), rule(0, false, [8]), rule(20, false, [8])],
  },
  {
    name: 'restrict-require-li-p8-vendor30',
    purposeConsents: ALL,
    purposeLI: [2, 7, 8, 9, 10],
    vendorConsents: [30],
    vendorLI: [30],
    restrictions: [{ purpose: 8, type: REQUIRE_LI, vendors: [30, 777] }],
    rules: [rule(30, false, [8]), rule(30, false, MEAS), rule(30, false, [9, 10]), rule(0, false, [8])],
  },
  {
    name: 'restrict-require-li-p8-vendor30-no-li-transparency',
    purposeConsents: ALL,
    purposeLI: [2],
    vendorConsents: [30],
    vendorLI: [30],
    restrictions: [{ purpose: 8, type: REQUIRE_LI, vendors: [30] }],
    rules: [rule(30, false, [8]), rule(30, false, [9, 10])],
  },
  {
    name: 'restrict-require-consent-p9-p10-vendor20',
    purposeConsents: [1, 7, 8],
    purposeLI: [2, 7, 8, 9, 10],
    vendorConsents: [20],
    vendorLI: [20, 777],
    restrictions: [
      { purpose: 9, type: REQUIRE_CONSENT, vendors: [20] },
      { purpose: 10, type: REQUIRE_CONSENT, vendors: [20] },
    ],
    rules: [rule(20, false, [9, 10]), rule(20, false, [8]), rule(20, false, MEAS), rule(777, false, [9, 10])],
  },
  {
    name: 'restrict-require-consent-p9-p10-vendor20-with-consent',
    purposeConsents: ALL,
    purposeLI: [2, 7, 8, 9, 10],
    vendorConsents: [20],
    vendorLI: [20],
    restrictions: [
      { purpose: 9, type: REQUIRE_CONSENT, vendors: [20] },
      { purpose: 10, type: REQUIRE_CONSENT, vendors: [20] },
    ],
    rules: [rule(20, false, [9, 10]), rule(20, false, MEAS)],
  },
  {
    name: 'restrict-require-consent-keeps-li-only-vendor-consent',
    purposeConsents: ALL,
    vendorConsents: [21], // kept only because of the type 1 restriction
    restrictions: [{ purpose: 8, type: REQUIRE_CONSENT, vendors: [21] }],
    rules: [rule(21, false, [8]), rule(21, false, [9, 10]), rule(21, false, MEAS)],
  },
  {
    name: 'li-only-vendor-consent-dropped-without-restriction',
    purposeConsents: ALL,
    purposeLI: [8],
    vendorConsents: [21],
    vendorLI: [21],
    rules: [rule(21, false, [8]), rule(21, false, [9, 10])],
  },
  {
    name: 'global-scope-restriction-does-not-keep-consent',
    serviceSpecific: false,
    purposeConsents: ALL,
    vendorConsents: [21],
    restrictions: [{ purpose: 8, type: REQUIRE_CONSENT, vendors: [21] }],
    rules: [rule(21, false, [8]), rule(0, false, [8])],
  },
  {
    name: 'restrict-require-li-keeps-consent-only-vendor-li',
    purposeConsents: [1],
    purposeLI: [7, 8, 9, 10],
    vendorConsents: [31],
    vendorLI: [31, 777], // 31 declares no LI purpose: kept only because of the type 2 restriction
    restrictions: [{ purpose: 8, type: REQUIRE_LI, vendors: [31] }],
    rules: [rule(31, false, [8]), rule(31, false, [9, 10]), rule(31, false, MEAS)],
  },
  {
    name: 'consent-only-vendor-li-dropped-without-restriction',
    purposeConsents: [1, 7],
    purposeLI: [7, 8, 9, 10],
    vendorConsents: [31],
    vendorLI: [31],
    rules: [rule(31, false, [8]), rule(31, false, [7]), rule(0, false, MEAS)],
  },
  // --- publisher restrictions the encoder drops ------------------------------
  {
    name: 'dropped-require-li-for-non-flexible-vendor10',
    purposeConsents: ALL,
    vendorConsents: [10],
    restrictions: [{ purpose: 8, type: REQUIRE_LI, vendors: [10] }],
    rules: [rule(10, false, [8]), rule(10, false, MEAS)],
  },
  {
    name: 'dropped-require-consent-p8-vendor30',
    purposeLI: [8],
    vendorLI: [30],
    restrictions: [{ purpose: 8, type: REQUIRE_CONSENT, vendors: [30] }], // 8 is not an LI purpose of 30
    rules: [rule(30, false, [8])],
  },
  {
    name: 'dropped-restrictions-unknown-and-deleted-vendors',
    purposeConsents: ALL,
    vendorConsents: [10, 99, 50],
    restrictions: [
      { purpose: 8, type: NOT_ALLOWED, vendors: [99, 50] },
      { purpose: 1, type: NOT_ALLOWED, vendors: [99] },
    ],
    rules: [rule(10, false, [8]), rule(99, false, [8]), rule(50, false, [8])],
  },
  // --- publisher restrictions for other vendors -------------------------------
  {
    name: 'restrictions-for-other-vendors-only',
    purposeConsents: ALL,
    purposeLI: [2, 7, 8, 9, 10],
    vendorConsents: [10, 20, 30, 777],
    vendorLI: [20, 30, 777],
    restrictions: [
      { purpose: 8, type: NOT_ALLOWED, vendors: [20, 777] },
      { purpose: 9, type: REQUIRE_LI, vendors: [30, 777] },
      { purpose: 10, type: REQUIRE_CONSENT, vendors: [20] },
      { purpose: 1, type: NOT_ALLOWED, vendors: [30] },
    ],
    rules: [
      rule(10, false, MEAS),
      rule(0, false, MEAS),
      rule(20, false, MEAS),
      rule(30, false, MEAS),
      rule(777, false, [9, 10]),
    ],
  },
  // --- special features -------------------------------------------------------
  {
    name: 'special-features-on',
    purposeConsents: ALL,
    specialFeatures: [1, 2],
    vendorConsents: [10],
    rules: [rule(0, false, MEAS), rule(10, false, [8])],
  },
  {
    name: 'special-features-off',
    purposeConsents: ALL,
    specialFeatures: [],
    vendorConsents: [10],
    rules: [rule(0, false, MEAS), rule(10, false, [8])],
  },
  {
    name: 'special-features-only',
    specialFeatures: [1, 2],
    vendorConsents: [10, 777],
    rules: [rule(0, false, [8]), rule(777, false, MEAS)],
  },
  // --- vendor presence --------------------------------------------------------
  {
    name: 'no-vendors',
    purposeConsents: ALL,
    purposeLI: [2, 7, 8, 9, 10],
    rules: [rule(0, false, MEAS), rule(10, false, [8]), rule(20, false, MEAS)],
  },
  {
    name: 'unknown-and-deleted-vendor-bits-dropped',
    purposeConsents: ALL,
    purposeLI: [2, 7, 8, 9, 10],
    vendorConsents: [50, 99],
    vendorLI: [50, 99],
    rules: [rule(50, false, [8]), rule(99, false, MEAS), rule(0, false, [8])],
  },
  // --- purpose one treatment --------------------------------------------------
  {
    name: 'purpose-one-treatment',
    purposeOneTreatment: true,
    purposeConsents: ALL,
    vendorConsents: [10],
    rules: [rule(0, false, [8]), rule(10, false, MEAS)],
  },
  {
    name: 'purpose-1-consent-missing',
    purposeConsents: [7, 8, 9, 10],
    vendorConsents: [10],
    rules: [rule(0, false, MEAS), rule(10, false, [8])],
  },
  // --- publisher TC segment ---------------------------------------------------
  {
    name: 'publisher-segment-mixed',
    purposeConsents: [],
    pubConsents: [1, 7, 8],
    pubLI: [9, 10],
    vendorConsents: [10, 20],
    vendorLI: [20],
    rules: [
      rule(0, true, [8]),
      rule(0, true, MEAS),
      rule(0, false, [8]), // core purposes are empty
      rule(10, true, [8]),
      rule(10, true, [9, 10]), // vendor 10 has no LI bit
      rule(20, true, MEAS),
    ],
  },
  {
    name: 'publisher-segment-with-core-consent',
    purposeConsents: ALL,
    purposeLI: [2, 7, 8, 9, 10],
    pubConsents: [1, 8],
    pubLI: [],
    vendorConsents: [10],
    rules: [rule(0, true, [8]), rule(0, true, [9, 10]), rule(0, false, [9, 10]), rule(10, true, MEAS)],
  },
  {
    name: 'publisher-segment-li-purpose-1',
    purposeConsents: ALL,
    pubConsents: [8],
    pubLI: [1, 2, 3, 7, 9, 10], // publisher LI for purpose 1 is encoded but never counts
    rules: [rule(0, true, [8]), rule(0, true, MEAS), rule(0, true, [9, 10])],
  },
  {
    name: 'publisher-segment-with-restriction',
    pubConsents: [1, 7, 8, 9, 10],
    pubLI: [7, 8, 9, 10],
    vendorConsents: [30],
    vendorLI: [30],
    restrictions: [{ purpose: 8, type: REQUIRE_LI, vendors: [30] }],
    rules: [rule(30, true, [8]), rule(30, true, MEAS), rule(30, false, [8])],
  },
  {
    name: 'global-with-publisher-segment',
    serviceSpecific: false,
    options: { segments: ['core', 'vendorsDisclosed', 'publisherTC'] },
    purposeConsents: [1],
    pubConsents: [1, 7, 8, 9, 10],
    vendorConsents: [10],
    rules: [rule(0, true, MEAS), rule(10, true, [8]), rule(0, false, [8])],
  },
  {
    name: 'global-for-vendors-all-segments',
    serviceSpecific: false,
    options: { isForVendors: true },
    vendorsAllowed: [10, 20],
    purposeConsents: [1, 8],
    pubConsents: [1, 9, 10],
    pubLI: [8],
    vendorConsents: [10],
    rules: [rule(0, true, [8, 9, 10]), rule(0, false, [8]), rule(10, true, [9, 10]), rule(10, true, [8])],
  },
  {
    name: 'global-without-publisher-segment',
    serviceSpecific: false, // default segments: core + vendorsDisclosed
    purposeConsents: ALL,
    pubConsents: ALL, // not encoded
    vendorConsents: [10],
    rules: [rule(0, true, [8]), rule(10, true, MEAS), rule(0, false, [8]), rule(10, false, MEAS)],
  },
  {
    name: 'service-specific-core-only',
    options: { segments: ['core'] },
    purposeConsents: ALL,
    pubConsents: ALL, // not encoded
    rules: [rule(0, true, [8]), rule(0, false, MEAS)],
  },
  // --- policy versions ----------------------------------------------------------
  {
    name: 'policy-v2',
    policy: 2,
    purposeConsents: ALL,
    purposeLI: [2, 7, 8, 9, 10],
    vendorConsents: [10],
    vendorLI: [20],
    rules: [
      rule(0, false, [8], 4),
      rule(10, false, MEAS, 3),
      rule(0, false, MEAS, 2),
      rule(20, false, [9, 10], 2),
      rule(10, false, [8], 0),
    ],
  },
  {
    name: 'policy-v3',
    policy: 3,
    purposeConsents: [1, 7, 8],
    purposeLI: [9, 10],
    vendorConsents: [45],
    vendorLI: [45],
    rules: [rule(0, false, [8], 4), rule(45, false, MEAS, 2), rule(45, false, MEAS, 3), rule(0, true, [8], 2)],
  },
  {
    name: 'policy-v4',
    policy: 4,
    purposeConsents: [1, 7, 8],
    purposeLI: [9, 10],
    vendorConsents: [45],
    vendorLI: [45],
    rules: [rule(45, false, MEAS, 4), rule(45, false, MEAS, 5), rule(0, false, [8], 2)],
  },
];

// ---------------------------------------------------------------------------

const vectors = [];
const names = new Set();
for (const raw of scenarios) {
  const sc = { ...defaults, ...raw };
  const tc = encode(sc);
  const model = encodedModel(sc);
  for (const r of sc.rules) {
    const name = `${sc.name}/vendor${r.vendor_id}${r.publisher_purposes ? '-pub' : ''}-p${r.purposes.join('.')}-min${r.min_policy_version}`;
    if (names.has(name)) throw new Error(`duplicate vector name ${name}`);
    names.add(name);
    vectors.push({ name, tc_string: tc, rules: r, want: evaluate(model, r) });
  }
}
process.stdout.write(JSON.stringify(vectors, null, 1) + '\n');
