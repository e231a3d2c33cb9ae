package framing

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smuggled is the request an attacker hides behind an ambiguous one.
// It closes the connection, so that a server that serves it answers at once.
const smuggled = "GET /p.gif?s=shop&url=https%3A%2F%2Fshop.example%2Fsmuggled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

type framingCase struct {
	name string
	raw  string
	want Violation // "" for accepted
	// goServesNext: whether Go's net/http on its own serves the request
	// sent after this one on the same connection
	// (checked by TestWhatGoAloneServes).
	goServesNext bool
}

// framingCases covers every class of ambiguity, each in several shapes,
// and the valid framings that must keep working.
var framingCases = []framingCase{
	// Valid.
	{"get", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "", true},
	{"get http/1.0 keep-alive", "GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n", "", true},
	{"post content-length", "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", "", true},
	{"content-length ows", "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length:\t 5 \t\r\n\r\nhello", "", true},
	{"content-length leading zeros", "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 005\r\n\r\nhello", "", true},
	{"content-length zero", "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "", true},
	{"chunked", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "", true},
	{"chunked upper case", "POST /b HTTP/1.1\r\nHost: x\r\ntransfer-encoding: CHUNKED\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", "", true},
	{"chunked several", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n", "", true},
	{"chunk extension", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;name=\"v a\"\r\nhello\r\n0;x\r\n\r\n", "", true},
	{"trailer", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Checksum: 1\r\n\r\n", "", true},
	{"obs-text value", "GET / HTTP/1.1\r\nHost: x\r\nX-Name: caf\xc3\xa9\r\n\r\n", "", true},
	{"empty value", "GET / HTTP/1.1\r\nHost: x\r\nX-Empty:\r\n\r\n", "", true},
	{"pipelined", "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nokGET /3 HTTP/1.1\r\nHost: x\r\n\r\n", "", true},

	// Content-Length and Transfer-Encoding together (§6.3).
	{"cl then te", "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", TransferEncodingWithContentLength, true},
	{"te then cl", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n", TransferEncodingWithContentLength, true},
	{"te and cl zero", "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", TransferEncodingWithContentLength, true},
	{"get with te and cl", "GET /p.gif HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", TransferEncodingWithContentLength, true},

	// Transfer-Encoding other than one "chunked" (§6.1, §6.3).
	{"te chunked, identity", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", UnsupportedTransferEncoding, false},
	{"te identity", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", UnsupportedTransferEncoding, false},
	{"te gzip, chunked", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", UnsupportedTransferEncoding, false},
	{"te twice", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", UnsupportedTransferEncoding, false},
	{"te xchunked", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", UnsupportedTransferEncoding, false},
	{"te chunked with parameter", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n", UnsupportedTransferEncoding, false},
	{"te space inside", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chun ked\r\n\r\n0\r\n\r\n", UnsupportedTransferEncoding, false},
	{"te empty", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n\r\n", UnsupportedTransferEncoding, false},
	{"te comma", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n", UnsupportedTransferEncoding, false},
	{"te vertical tab", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n", InvalidField, false},
	{"te in http/1.0 with cl", "POST /b HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", TransferEncodingInHTTP10, true},
	{"te in http/1.0", "POST /b HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", TransferEncodingInHTTP10, false},

	// Content-Length repeated or invalid (§6.3, RFC 9110 §8.6).
	{"cl twice equal", "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", DuplicateContentLength, true},
	{"cl twice different", "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", DuplicateContentLength, false},
	{"cl list", "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc", DuplicateContentLength, false},
	{"cl case variants", "POST /b HTTP/1.1\r\nHost: x\r\ncontent-length: 3\r\nCONTENT-LENGTH: 3\r\n\r\nabc", DuplicateContentLength, true},
	{"cl plus", "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", InvalidContentLength, false},
	{"cl negative", "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", InvalidContentLength, false},
	{"cl hex", "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\nabc", InvalidContentLength, false},
	{"cl empty", "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", InvalidContentLength, false},
	{"cl space inside", "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n", InvalidContentLength, false},
	{"cl too long", "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999999999999999\r\n\r\n", InvalidContentLength, false},

	// Field lines (§5).
	{"space before colon te", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", WhitespaceBeforeColon, false},
	{"space before colon cl", "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello", WhitespaceBeforeColon, false},
	{"tab before colon", "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", WhitespaceBeforeColon, false},
	{"folded te", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", ObsoleteLineFolding, true},
	{"folded other field", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n", ObsoleteLineFolding, true},
	{"folded with tab", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\t2\r\n\r\n", ObsoleteLineFolding, true},
	{"fold before first field", "GET / HTTP/1.1\r\n Host: x\r\n\r\n", ObsoleteLineFolding, false},
	{"bare lf everywhere", "GET / HTTP/1.1\nHost: x\n\n", BareLF, true},
	{"bare lf after field", "GET / HTTP/1.1\r\nHost: x\r\nX: y\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", BareLF, true},
	{"bare lf ends head", "GET / HTTP/1.1\r\nHost: x\r\n\n", BareLF, true},
	{"bare cr in value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", InvalidField, false},
	{"bare cr ends head", "GET / HTTP/1.1\r\nHost: x\r\n\rX", InvalidField, false},
	{"nul in value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", InvalidField, false},
	{"no colon", "GET / HTTP/1.1\r\nHost: x\r\nJunk\r\n\r\n", InvalidField, false},
	{"space in name", "GET / HTTP/1.1\r\nHost: x\r\nContent Length: 5\r\n\r\nhello", WhitespaceBeforeColon, false},
	{"non-token name", "GET / HTTP/1.1\r\nHost: x\r\nX(y): 1\r\n\r\n", InvalidField, false},
	{"empty name", "GET / HTTP/1.1\r\nHost: x\r\n: 1\r\n\r\n", InvalidField, false},

	// Request line (§3).
	{"leading empty line", "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", InvalidRequestLine, false},
	{"two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", InvalidRequestLine, false},
	{"http/1.2", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", InvalidRequestLine, true},
	{"http/2.0 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", InvalidRequestLine, false},
	{"lower-case version", "GET / http/1.1\r\nHost: x\r\n\r\n", InvalidRequestLine, false},
	{"tab in target", "GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n", InvalidRequestLine, false},
	{"no version", "GET /\r\nHost: x\r\n\r\n", InvalidRequestLine, false},
	{"bare lf request line", "GET / HTTP/1.1\nHost: x\r\n\r\n", BareLF, true},
	{"space after version", "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", InvalidRequestLine, false},

	// Chunks (§7.1).
	{"chunk size not hex", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", InvalidChunk, false},
	{"chunk size 0x", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n", InvalidChunk, false},
	{"chunk size negative", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n", InvalidChunk, false},
	{"chunk size leading space", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n 3\r\nabc\r\n0\r\n\r\n", InvalidChunk, false},
	{"chunk size trailing space", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n", InvalidChunk, true},
	{"chunk size overflow", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000003\r\nabc\r\n0\r\n\r\n", InvalidChunk, false},
	{"chunk size empty", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\r\nabc\r\n0\r\n\r\n", InvalidChunk, false},
	{"chunk size bare lf", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", BareLF, false},
	{"chunk extension bare lf", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a\nb\r\nabc\r\n0\r\n\r\n", BareLF, false},
	{"chunk extension nul", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a\x00\r\nabc\r\n0\r\n\r\n", InvalidChunk, true},
	{"chunk data too long", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", InvalidChunk, false},
	{"chunk data bare lf", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n", InvalidChunk, false},
	{"last chunk bare lf", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\n", BareLF, true},
	{"trailer content-length", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n", InvalidField, true},
	{"trailer folded", "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n 2\r\n\r\n", ObsoleteLineFolding, true},
}

// feedAll feeds raw in pieces cut at the given offsets and returns the
// first violation and how many bytes were delivered before it.
func feedAll(raw string, cuts []int) (delivered int, v Violation) {
	var p parser
	last := 0
	for _, c := range append(cuts, len(raw)) {
		if c < last {
			continue
		}
		cut, viol, ok := p.feed([]byte(raw[last:c]))
		if !ok {
			return last + cut, viol
		}
		delivered = c
		last = c
	}
	return delivered, ""
}

func TestParser(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 112))
	for _, tc := range framingCases {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.raw
			if tc.want != "" {
				raw += smuggled
			}
			delivered, v := feedAll(raw, nil)
			assert.Equal(t, tc.want, v)
			if tc.want != "" {
				assert.Zero(t, delivered, "nothing of the refused request is delivered")
			} else {
				assert.Equal(t, len(raw), delivered)
			}
			// However the stream is cut into reads, the verdict is the same.
			for range 20 {
				var cuts []int
				for i := 1; i < len(raw); i++ {
					if r.IntN(4) == 0 {
						cuts = append(cuts, i)
					}
				}
				_, v2 := feedAll(raw, cuts)
				assert.Equal(t, tc.want, v2, "cut at %v", cuts)
			}
			everyByte := make([]int, len(raw))
			for i := range everyByte {
				everyByte[i] = i + 1
			}
			_, v3 := feedAll(raw, everyByte)
			assert.Equal(t, tc.want, v3, "one byte at a time")
		})
	}
}

// A refused request after valid ones: the valid ones are delivered whole,
// nothing of the refused one.
func TestParserCutsAtTheRefusedRequest(t *testing.T) {
	first := "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok"
	bad := "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	delivered, v := feedAll(first+bad+smuggled, nil)
	assert.Equal(t, TransferEncodingWithContentLength, v)
	assert.Equal(t, len(first), delivered)

	// The bad head arrives over several reads after the good request: the
	// part of the read holding the good one is delivered.
	delivered, v = feedAll(first+bad+smuggled, []int{len(first) + 10, len(first) + 30})
	assert.Equal(t, TransferEncodingWithContentLength, v)
	assert.Equal(t, len(first)+30, delivered, "bytes of an incomplete head already handed over are harmless: net/http cannot act on them")
}

// messageEnds returns the offsets at which the parser saw requests end,
// feeding one byte at a time, and whether it accepted all of raw.
func messageEnds(raw []byte) (ends []int, ok bool) {
	var p parser
	for i := range raw {
		before := p.state
		if _, _, ok := p.feed(raw[i : i+1]); !ok {
			return ends, false
		}
		if p.state == sRequestStart && before != sRequestStart {
			ends = append(ends, i+1)
		}
	}
	return ends, true
}

// goEnds returns the offsets at which Go's own request parser (what
// net/http's server runs) ends each request it reads whole.
func goEnds(raw []byte) []int {
	cr := &countingReader{r: bytes.NewReader(raw)}
	br := bufio.NewReader(cr)
	var ends []int
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return ends
		}
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return ends
		}
		ends = append(ends, cr.n-br.Buffered())
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += n
	return n, err
}

// Whatever the parser passes, Go frames the same way: every request
// ends at the same byte for both, so no request can hide in another.
func checkAgreesWithGo(t *testing.T, raw []byte) {
	ours, ok := messageEnds(raw)
	theirs := goEnds(raw)
	ours, theirs = append([]int{}, ours...), append([]int{}, theirs...)
	n := min(len(ours), len(theirs))
	require.Equal(t, ours[:n], theirs[:n], "request ends differ for %q", raw)
	if ok {
		// Go may refuse a request the parser passed (it then answers 400
		// and closes), but it must never complete one the parser is
		// still reading.
		require.LessOrEqual(t, len(theirs), len(ours), "Go completed a request the parser still reads: %q", raw)
	}
}

func TestParserAgreesWithGo(t *testing.T) {
	for _, tc := range framingCases {
		checkAgreesWithGo(t, []byte(tc.raw+smuggled))
	}
}

func TestViolationsAreListed(t *testing.T) {
	seen := map[Violation]bool{}
	for _, tc := range framingCases {
		seen[tc.want] = true
	}
	for _, v := range Violations {
		assert.True(t, seen[v], "no case for %s", v)
		assert.True(t, strings.HasPrefix(string(v), "framing_"), v)
	}
}
