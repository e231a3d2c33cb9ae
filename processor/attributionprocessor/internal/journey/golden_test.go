package journey

// goldenVisitID is the id of the visit of visitor "v1" on site "s1" that
// starts at t0, computed independently:
//
//	sha256(b"s1\x00v1\x00" + struct.pack(">Q", 1741597200000000000)).hexdigest()[:32]
const goldenVisitID = "d3264c7d1d45c2eff837f4f6ac26748a"
