package framing // import "github.com/webjourney/webjourney/receiver/pixelreceiver/internal/framing"

// Violation is why the framing of a request was refused. It is the
// "reason" attribute of the receiver's rejection counter, so the set is
// small and fixed.
type Violation string

// The violations, in the order of RFC 9112's sections.
const (
	// InvalidRequestLine: not "method SP target SP HTTP/1.0|HTTP/1.1 CRLF"
	// (a leading empty line, two spaces, another version, a control
	// character in the target).
	InvalidRequestLine Violation = "framing_invalid_request_line"
	// BareLF: a line of the head, of a chunk or of the trailer ends in LF
	// without CR (§2.2: a recipient may accept it, so a proxy in front and
	// this server could disagree on where a field ends).
	BareLF Violation = "framing_bare_lf"
	// WhitespaceBeforeColon: "Transfer-Encoding : chunked" (§5.1: MUST
	// reject with 400).
	WhitespaceBeforeColon Violation = "framing_whitespace_before_colon"
	// ObsoleteLineFolding: a field line starting with a space or tab
	// continues the previous one (§5.2).
	ObsoleteLineFolding Violation = "framing_obsolete_line_folding"
	// InvalidField: a field name that is not a token, a missing colon, a
	// control character (a bare CR, NUL, ...) in a value.
	InvalidField Violation = "framing_invalid_field"
	// TransferEncodingWithContentLength: both, which §6.3 calls a likely
	// smuggling attempt that must at least close the connection.
	TransferEncodingWithContentLength Violation = "framing_transfer_encoding_with_content_length"
	// UnsupportedTransferEncoding: anything but one Transfer-Encoding field
	// whose value is "chunked" (§6.3: chunked not final means 400).
	UnsupportedTransferEncoding Violation = "framing_unsupported_transfer_encoding"
	// TransferEncodingInHTTP10: §6.1: the framing of an HTTP/1.0 message
	// with Transfer-Encoding is faulty, even with a Content-Length.
	TransferEncodingInHTTP10 Violation = "framing_transfer_encoding_in_http10"
	// DuplicateContentLength: more than one Content-Length field, or a
	// list ("5, 5"), equal or not.
	DuplicateContentLength Violation = "framing_duplicate_content_length"
	// InvalidContentLength: not 1 to 18 decimal digits.
	InvalidContentLength Violation = "framing_invalid_content_length"
	// InvalidChunk: a chunk size that is not 1 to 15 hex digits, an
	// extension with control characters, chunk data not followed by CRLF.
	InvalidChunk Violation = "framing_invalid_chunk"
)

// Violations lists every Violation, for documentation and tests.
var Violations = []Violation{
	InvalidRequestLine, BareLF, WhitespaceBeforeColon, ObsoleteLineFolding, InvalidField,
	TransferEncodingWithContentLength, UnsupportedTransferEncoding, TransferEncodingInHTTP10,
	DuplicateContentLength, InvalidContentLength, InvalidChunk,
}

// state is where the parser is in the byte stream of a connection.
type state uint8

const (
	sRequestStart state = iota // first byte of a request (its method)
	sMethod
	sTarget
	sVersion
	sRequestLineLF
	sFieldStart // first byte of a field line, or CR of the empty line
	sFieldName
	sFieldValue
	sFieldLF // after the CR ending a field line
	sHeadLF  // after the CR of the empty line ending the head or trailer
	sBody    // Content-Length bytes
	sChunkSize
	sChunkExt
	sChunkSizeLF
	sChunkData
	sChunkDataCR
	sChunkDataLF
)

// field is the framing field whose value is being read.
type field uint8

const (
	fieldOther field = iota
	fieldContentLength
	fieldTransferEncoding
)

const (
	maxLengthDigits = 18 // fits int64; Go's server takes at most 2^63-1
	maxChunkDigits  = 15 // fits int64; Go's chunked reader takes at most 16
	maxNameKept     = len("transfer-encoding")
	maxTEValueKept  = len("chunked")
)

// parser follows the HTTP/1.1 message framing of one connection's request
// stream (RFC 9112), only as far as needed to find where each request
// ends, and refuses anything ambiguous. It does not allocate and keeps no
// bytes of the stream beyond a few of the current field.
type parser struct {
	state   state
	trailer bool // reading the trailer section of a chunked body

	// The request line: whether the target had a byte, and the version,
	// checked against "HTTP/1.x".
	targetSeen bool
	version    [len("HTTP/1.1")]byte
	nVersion   int

	// The current field name, lower-cased, while it may still be a
	// framing field.
	name  [maxNameKept]byte
	nName int
	field field

	// Framing fields of the current head.
	contentLengths    int
	transferEncodings int
	length            int64 // Content-Length
	lengthDigits      int
	lengthDone        bool // digits ended (trailing whitespace only now)
	teValue           [maxTEValueKept]byte
	nTE               int
	teTooLong         bool
	teStarted         bool
	teTrailingSpace   bool
	http10            bool

	remaining   int64 // body or chunk bytes left
	chunkDigits int
}

// tokenChar marks the characters of an RFC 9110 token (method, field name).
var tokenChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// fieldValueChar marks what a field value may contain: visible ASCII,
// space, tab and obs-text (bytes >= 0x80). No other control character.
var fieldValueChar = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = true
	}
	for c := 0x80; c <= 0xff; c++ {
		t[c] = true
	}
	t['\t'] = true
	return t
}()

// targetChar marks what a request target may contain: no space, no
// control character.
var targetChar = func() (t [256]bool) {
	for c := 0x21; c < 0x7f; c++ {
		t[c] = true
	}
	for c := 0x80; c <= 0xff; c++ {
		t[c] = true
	}
	return t
}()

// feed parses the next bytes of the stream. It returns ok true when b is
// fine; otherwise the violation, and the offset in b at which the refused
// request began (0 when it began in an earlier call).
func (p *parser) feed(b []byte) (cut int, v Violation, ok bool) {
	start := 0 // where the current request began in b
	for i := 0; i < len(b); {
		c := b[i]
		switch p.state {
		case sRequestStart:
			start = i
			if !tokenChar[c] {
				return start, InvalidRequestLine, false
			}
			p.state = sMethod
		case sMethod:
			if i = skip(b, i, &tokenChar); i == len(b) {
				continue
			}
			if b[i] != ' ' {
				return start, InvalidRequestLine, false
			}
			p.state = sTarget
		case sTarget:
			// Most of a request line is its target: skip it as a run.
			j := skip(b, i, &targetChar)
			p.targetSeen = p.targetSeen || j > i
			if i = j; i == len(b) {
				continue
			}
			if b[i] != ' ' || !p.targetSeen {
				return start, InvalidRequestLine, false
			}
			p.state = sVersion
		case sVersion:
			switch {
			case c == '\r':
				if v := string(p.version[:p.nVersion]); v != "HTTP/1.1" && v != "HTTP/1.0" {
					return start, InvalidRequestLine, false
				}
				p.http10 = p.version[7] == '0'
				p.state = sRequestLineLF
			case c == '\n':
				return start, BareLF, false
			case p.nVersion == len(p.version):
				return start, InvalidRequestLine, false
			default:
				p.version[p.nVersion] = c
				p.nVersion++
			}
		case sRequestLineLF:
			if c != '\n' {
				return start, InvalidRequestLine, false
			}
			p.state = sFieldStart
		case sFieldStart:
			// The field before is checked only now: a space or tab here
			// folds more into its value.
			if c == ' ' || c == '\t' {
				return start, ObsoleteLineFolding, false
			}
			if v, ok := p.endValue(); !ok {
				return start, v, false
			}
			switch {
			case c == '\r':
				p.state = sHeadLF
			case c == '\n':
				return start, BareLF, false
			case tokenChar[c]:
				p.name[0], p.nName, p.field = c|0x20, 1, fieldOther
				p.state = sFieldName
			default:
				return start, InvalidField, false
			}
		case sFieldName:
			switch {
			case tokenChar[c]:
				if p.nName >= 0 && p.nName < len(p.name) {
					p.name[p.nName] = c | 0x20
					p.nName++
				} else {
					p.nName = -1 // longer than any framing field
				}
			case c == ':':
				if v, ok := p.endName(); !ok {
					return start, v, false
				}
				p.state = sFieldValue
			case c == ' ' || c == '\t':
				return start, WhitespaceBeforeColon, false
			default:
				return start, InvalidField, false
			}
		case sFieldValue:
			if p.field == fieldOther {
				if i = skip(b, i, &fieldValueChar); i == len(b) {
					continue
				}
				c = b[i]
			} else if fieldValueChar[c] {
				if v, ok := p.valueByte(c); !ok {
					return start, v, false
				}
				break
			}
			switch c {
			case '\r':
				p.state = sFieldLF
			case '\n':
				return start, BareLF, false
			default:
				return start, InvalidField, false
			}
		case sFieldLF:
			if c != '\n' {
				return start, InvalidField, false // a bare CR
			}
			p.state = sFieldStart
		case sHeadLF:
			if c != '\n' {
				return start, InvalidField, false
			}
			if p.trailer {
				p.reset()
			} else if v, ok := p.endHead(); !ok {
				return start, v, false
			}
		case sBody, sChunkData:
			n := min(p.remaining, int64(len(b)-i))
			p.remaining -= n
			i += int(n)
			if p.remaining > 0 {
				continue
			}
			if p.state == sBody {
				p.reset()
			} else {
				p.state = sChunkDataCR
			}
			continue
		case sChunkSize:
			switch {
			case isHex(c):
				if p.chunkDigits == maxChunkDigits {
					return start, InvalidChunk, false
				}
				p.remaining = p.remaining<<4 | int64(unhex(c))
				p.chunkDigits++
			case p.chunkDigits == 0:
				return start, InvalidChunk, false
			case c == ';':
				p.state = sChunkExt
			case c == '\r':
				p.state = sChunkSizeLF
			case c == '\n':
				return start, BareLF, false
			default:
				return start, InvalidChunk, false
			}
		case sChunkExt:
			// Extensions mean nothing to the receiver; they only must not
			// hide a line end.
			switch {
			case c == '\r':
				p.state = sChunkSizeLF
			case c == '\n':
				return start, BareLF, false
			case !fieldValueChar[c]:
				return start, InvalidChunk, false
			}
		case sChunkSizeLF:
			switch {
			case c != '\n':
				return start, InvalidChunk, false
			case p.remaining == 0:
				// The last chunk: a trailer section follows.
				p.trailer = true
				p.state = sFieldStart
			default:
				p.state = sChunkData
			}
		case sChunkDataCR:
			if c != '\r' {
				return start, InvalidChunk, false
			}
			p.state = sChunkDataLF
		case sChunkDataLF:
			if c != '\n' {
				return start, InvalidChunk, false
			}
			p.chunkDigits = 0
			p.state = sChunkSize
		}
		i++
	}
	return 0, "", true
}

// skip returns the index of the first byte at or after i that is not in
// the class.
func skip(b []byte, i int, class *[256]bool) int {
	for i < len(b) && class[b[i]] {
		i++
	}
	return i
}

// reset prepares for the next request on the connection.
func (p *parser) reset() { *p = parser{} }

// endName recognises the framing fields; in a trailer they are refused.
func (p *parser) endName() (Violation, bool) {
	p.field = fieldOther
	if p.nName < 0 {
		return "", true
	}
	switch string(p.name[:p.nName]) {
	case "content-length":
		p.field = fieldContentLength
		p.contentLengths++
		p.lengthDigits, p.lengthDone = 0, false
	case "transfer-encoding":
		p.field = fieldTransferEncoding
		p.transferEncodings++
		p.nTE, p.teTooLong, p.teStarted, p.teTrailingSpace = 0, false, false, false
	default:
		return "", true
	}
	if p.trailer {
		// Framing fields in a trailer mean nothing to Go; to a proxy they
		// might.
		return InvalidField, false
	}
	return "", true
}

// valueByte takes one byte of a framing field's value.
func (p *parser) valueByte(c byte) (Violation, bool) {
	switch p.field {
	case fieldContentLength:
		switch {
		case c == ' ' || c == '\t':
			p.lengthDone = p.lengthDigits > 0
		case isDigit(c) && !p.lengthDone:
			if p.lengthDigits == maxLengthDigits {
				return InvalidContentLength, false
			}
			p.length = p.length*10 + int64(c-'0')
			p.lengthDigits++
		case c == ',':
			return DuplicateContentLength, false
		default:
			return InvalidContentLength, false
		}
	case fieldTransferEncoding:
		switch {
		case c == ' ' || c == '\t':
			p.teTrailingSpace = p.teStarted
		case p.teTrailingSpace || p.nTE == len(p.teValue):
			p.teTooLong = true
		default:
			p.teStarted = true
			p.teValue[p.nTE] = c | 0x20
			p.nTE++
		}
	}
	return "", true
}

// endValue checks a complete framing field (a no-op after other fields
// and at the start of a head).
func (p *parser) endValue() (Violation, bool) {
	switch p.field {
	case fieldContentLength:
		if p.lengthDigits == 0 {
			return InvalidContentLength, false
		}
	case fieldTransferEncoding:
		if p.teTooLong || string(p.teValue[:p.nTE]) != "chunked" {
			return UnsupportedTransferEncoding, false
		}
	}
	p.field = fieldOther
	return "", true
}

// endHead decides how the body is framed, or refuses the head.
func (p *parser) endHead() (Violation, bool) {
	switch {
	case p.transferEncodings > 0 && p.http10:
		return TransferEncodingInHTTP10, false
	case p.transferEncodings > 0 && p.contentLengths > 0:
		return TransferEncodingWithContentLength, false
	case p.transferEncodings > 1:
		return UnsupportedTransferEncoding, false
	case p.transferEncodings == 1:
		p.remaining, p.chunkDigits = 0, 0
		p.state = sChunkSize
	case p.contentLengths > 1:
		return DuplicateContentLength, false
	case p.contentLengths == 1 && p.length > 0:
		p.remaining = p.length
		p.state = sBody
	default:
		p.reset()
	}
	return "", true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'f' }

func unhex(c byte) byte {
	if isDigit(c) {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}
